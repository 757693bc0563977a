"""Reads a simcash dataset stored on S3 (moto's server, started by scripts/object-storage.sh) with
deltalake (to pyarrow) and polars' scan_delta, and checks per-simulation event counts and sums
against `simcash sql` on the same S3 root.

    test_s3_readers.py --bin PATH/simcash --root s3://BUCKET/PREFIX

The endpoint and credentials come from the AWS_* variables scripts/object-storage.sh exports;
both readers take them as Delta storage options. Each table is a Delta table
(`<root>/<table>/_delta_log/`), read through its log, never by listing the Parquet files
(compaction leaves replaced files behind until `simcash gc`). Reading the Delta tables equals
reading the views here because every simulation is committed.
Prints one line per check; exits 1 when any fails.
"""

import argparse
import json
import os
import subprocess
import sys

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable


def simcash_sql(args, query):
    out = subprocess.run([args.bin, "sql", "--data", args.root, "--format", "json", query],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--root", required=True)
    args = p.parse_args()
    events_uri = f"{args.root.rstrip('/')}/events"

    want = {r["simulation_id"]: (r["n"], r["amount"]) for r in simcash_sql(
        args, "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS amount FROM simulation_events GROUP BY simulation_id")}
    failures = 0

    def check(name, got):
        nonlocal failures
        ok = got == want
        failures += not ok
        print(f"s3-readers: {'ok' if ok else 'FAILED'}: {name}" + ("" if ok else f": got {got}, want {want}"))

    def attempt(name, fn):
        nonlocal failures
        try:
            check(name, fn())
        except Exception as e:  # a reader that raises is a failed check
            failures += 1
            print(f"s3-readers: FAILED: {name}: raised {type(e).__name__}: {e}")

    # The object_store options both deltalake and polars' scan_delta (through deltalake) take.
    opts = {"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT"], "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": os.environ["AWS_REGION"], "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"]}

    def deltalake_pyarrow():
        events = DeltaTable(events_uri, storage_options=opts).to_pyarrow_table(columns=["simulation_id", "iteration", "amount"])
        assert events.schema.field("iteration").type == pa.int64(), events.schema
        grouped = events.group_by("simulation_id").aggregate([([], "count_all"), ("amount", "sum")])
        return {s: (n, a) for s, n, a in zip(grouped["simulation_id"].to_pylist(), grouped["count_all"].to_pylist(),
                                              grouped["amount_sum"].to_pylist())}
    attempt("deltalake s3:// to pyarrow, events per simulation", deltalake_pyarrow)

    def polars_scan_delta():
        frame = (pl.scan_delta(events_uri, storage_options=opts)
                 .group_by("simulation_id").agg(pl.len().alias("n"), pl.col("amount").sum().alias("amount")).collect())
        return {r["simulation_id"]: (r["n"], r["amount"]) for r in frame.to_dicts()}
    attempt("polars scan_delta s3://, events per simulation", polars_scan_delta)

    if not want or len(want) < 2:
        print(f"s3-readers: FAILED: expected at least two simulations, simcash sql saw {len(want)}")
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
