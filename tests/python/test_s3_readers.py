"""Reads a simcash dataset stored on S3 (moto's server, started by scripts/object-storage.sh) directly
with pyarrow and polars, and checks per-simulation event counts and sums against
`simcash sql` on the same S3 root.

    test_s3_readers.py --bin PATH/simcash --root s3://BUCKET/PREFIX

The endpoint and credentials come from the AWS_* variables scripts/object-storage.sh exports. Reading
the physical files equals reading the views here because every simulation is committed.
Prints one line per check; exits 1 when any fails.
"""

import argparse
import json
import os
import subprocess
import sys

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

SIM_PARTS = pa.schema([("experiment_id", pa.string()), ("iteration", pa.uint32()), ("simulation_id", pa.string())])
PL_SIM_PARTS = {"experiment_id": pl.String, "iteration": pl.UInt32, "simulation_id": pl.String}


def simcash_sql(args, query):
    out = subprocess.run([args.bin, "sql", "--data", args.root, "--format", "json", query],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--root", required=True)
    args = p.parse_args()
    endpoint = os.environ["AWS_ENDPOINT"]
    bucket_prefix = args.root.removeprefix("s3://").rstrip("/")

    want = {r["simulation_id"]: (r["n"], r["amount"]) for r in simcash_sql(
        args, "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS amount FROM simulation_events GROUP BY simulation_id")}
    failures = 0

    def check(name, got):
        nonlocal failures
        ok = got == want
        failures += not ok
        print(f"s3-readers: {'ok' if ok else 'FAILED'}: {name}" + ("" if ok else f": got {got}, want {want}"))

    # pyarrow: its own S3 filesystem, hive partitioning with explicit types.
    fs = pafs.S3FileSystem(endpoint_override=endpoint, scheme="http", region=os.environ["AWS_REGION"],
                           access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    events = ds.dataset(f"{bucket_prefix}/events", filesystem=fs, format="parquet",
                        partitioning=ds.partitioning(SIM_PARTS, flavor="hive")).to_table(columns=["simulation_id", "amount"])
    grouped = events.group_by("simulation_id").aggregate([([], "count_all"), ("amount", "sum")])
    got = {s: (n, a) for s, n, a in zip(grouped["simulation_id"].to_pylist(), grouped["count_all"].to_pylist(),
                                          grouped["amount_sum"].to_pylist())}
    check("pyarrow S3FileSystem, events per simulation", got)

    # polars: object-store URLs with storage options.
    opts = {"aws_endpoint_url": endpoint, "aws_allow_http": "true", "aws_region": os.environ["AWS_REGION"],
            "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"]}
    frame = (pl.scan_parquet(f"{args.root.rstrip('/')}/events/**/*.parquet", hive_partitioning=True,
                             hive_schema=PL_SIM_PARTS, storage_options=opts)
             .group_by("simulation_id").agg(pl.len().alias("n"), pl.col("amount").sum().alias("amount")).collect())
    got = {r["simulation_id"]: (r["n"], r["amount"]) for r in frame.to_dicts()}
    check("polars scan_parquet s3://, events per simulation", got)
    if not want or len(want) < 2:
        print(f"s3-readers: FAILED: expected at least two simulations, simcash sql saw {len(want)}")
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
