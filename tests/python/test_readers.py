"""Reads a simcash dataset and `simcash export` files with pyarrow, pandas, polars and DuckDB,
and checks counts and sums against `simcash sql --format json` on the same data.

Run by scripts/python-readers.sh:
    test_readers.py --bin PATH/simcash --data DATASET --exports DIR

The dataset is read directly with hive partitioning and explicit partition types (ids are
strings, iteration an unsigned integer), as docs/notebooks/README.md tells researchers to.
Every simulation in the dataset this script is given is committed, so reading the physical
files equals reading the views; on a dataset with crashed runs, join on `simulations` first.
Prints one line per check and closes with `python-readers: N passed, M failed`.
"""

import argparse
import json
import math
import subprocess
import sys
import traceback
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.json as pajson
import pyarrow.parquet as pq

ARGS = None
RESULTS = []

# Partition types of the simulation tables and the experiment tables.
SIM_PARTS = pa.schema([("experiment_id", pa.string()), ("iteration", pa.uint32()), ("simulation_id", pa.string())])
ITER_PARTS = pa.schema([("experiment_id", pa.string()), ("iteration", pa.uint32())])
PL_SIM_PARTS = {"experiment_id": pl.String, "iteration": pl.UInt32, "simulation_id": pl.String}
DUCK_SIM_PARTS = "{'experiment_id': 'VARCHAR', 'iteration': 'UINTEGER', 'simulation_id': 'VARCHAR'}"
DUCK_ITER_PARTS = "{'experiment_id': 'VARCHAR', 'iteration': 'UINTEGER'}"


def simcash_sql(query):
    """Rows of `simcash sql --format json` (one JSON object per line)."""
    out = subprocess.run(
        [ARGS.bin, "sql", "--data", ARGS.data, "--format", "json", query],
        check=True, capture_output=True, text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def keyed(rows, key, value):
    """{key: value} from rows (dicts), with integer-valued floats made ints."""
    out = {}
    for r in rows:
        v = r.get(value) if isinstance(value, str) else tuple(r.get(c) for c in value)
        out[r[key] if isinstance(key, str) else tuple(r[c] for c in key)] = norm(v)
    return out


def norm(v):
    if isinstance(v, tuple):
        return tuple(norm(x) for x in v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def frame_dict(df, key, value):
    """{key: value} from a pandas DataFrame."""
    return keyed(df.to_dict("records"), key, value)


def check(name, got, want):
    if got == want:
        RESULTS.append((name, True, ""))
        print(f"ok    {name}")
    else:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)} \
            if isinstance(got, dict) and isinstance(want, dict) else (got, want)
        RESULTS.append((name, False, str(diff)))
        print(f"FAIL  {name}: got != want: {str(diff)[:2000]}")


def run(name, fn):
    try:
        fn()
    except Exception:  # a reader that raises is a failed check, not a crashed script
        RESULTS.append((name, False, traceback.format_exc()))
        print(f"FAIL  {name}: raised\n{traceback.format_exc()}")


# --- what simcash sql says -------------------------------------------------------------------

def expectations():
    e = {}
    e["events_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s FROM simulation_events GROUP BY simulation_id"),
        "simulation_id", ("n", "s"))
    e["amount_per_type"] = keyed(simcash_sql(
        "SELECT CAST(event_type AS VARCHAR) AS t, COUNT(*) AS n, SUM(amount) AS s FROM simulation_events GROUP BY 1"),
        "t", ("n", "s"))
    e["cost_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, experiment_id, iteration, total_cost FROM simulations"),
        "simulation_id", ("experiment_id", "iteration", "total_cost"))
    e["balance_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, COUNT(*) AS n, SUM(balance) AS b FROM agent_ticks GROUP BY simulation_id"),
        "simulation_id", ("n", "b"))
    e["iterations"] = keyed(simcash_sql(
        "SELECT experiment_id, iteration, agent, cost, accepted FROM experiment_iterations"),
        ("experiment_id", "iteration", "agent"), ("cost", "accepted"))
    e["tx_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s, SUM(CASE WHEN status = 'settled' THEN 1 ELSE 0 END) AS settled "
        "FROM transactions GROUP BY simulation_id"),
        "simulation_id", ("n", "s", "settled"))
    assert len(e["events_per_sim"]) >= 6, f"the dataset should hold several simulations: {e['events_per_sim']}"
    assert len(e["iterations"]) >= 2, "the dataset should hold an experiment's iterations"
    return e


# --- reading the dataset directly --------------------------------------------------------------

def table_dir(name):
    return str(Path(ARGS.data) / name)


def pyarrow_dataset(E):
    part = ds.partitioning(SIM_PARTS, flavor="hive")
    events = ds.dataset(table_dir("events"), format="parquet", partitioning=part).to_table(
        columns=["simulation_id", "event_type", "amount", "iteration"])
    assert events.schema.field("iteration").type == pa.uint32()
    per_sim = events.group_by("simulation_id").aggregate([([], "count_all"), ("amount", "sum")]).to_pandas()
    check("pyarrow.dataset events per simulation",
          frame_dict(per_sim, "simulation_id", ("count_all", "amount_sum")), E["events_per_sim"])
    t = events.set_column(1, "event_type", events["event_type"].cast(pa.string()))
    per_type = t.group_by("event_type").aggregate([([], "count_all"), ("amount", "sum")]).to_pandas()
    check("pyarrow.dataset SUM(amount) per event_type",
          frame_dict(per_type, "event_type", ("count_all", "amount_sum")), E["amount_per_type"])
    sims = ds.dataset(table_dir("simulations"), format="parquet", partitioning=part).to_table().to_pandas()
    check("pyarrow.dataset total_cost per simulation",
          frame_dict(sims, "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    iters = ds.dataset(table_dir("iterations"), format="parquet",
                       partitioning=ds.partitioning(ITER_PARTS, flavor="hive")).to_table().to_pandas()
    check("pyarrow.dataset iterations rows",
          frame_dict(iters, ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])


def pandas_direct(E):
    part = ds.partitioning(SIM_PARTS, flavor="hive")
    events = pd.read_parquet(table_dir("events"), columns=["simulation_id", "event_type", "amount"], partitioning=part)
    per_sim = events.groupby("simulation_id", observed=True).agg(n=("event_type", "size"), s=("amount", "sum")).reset_index()
    check("pandas events per simulation", frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    events["event_type"] = events["event_type"].astype(str)
    per_type = events.groupby("event_type").agg(n=("simulation_id", "size"), s=("amount", lambda a: a.sum(min_count=1))).reset_index()
    check("pandas SUM(amount) per event_type", frame_dict(per_type, "event_type", ("n", "s")), E["amount_per_type"])
    ticks = pd.read_parquet(table_dir("agent_ticks"), columns=["simulation_id", "balance"], partitioning=part)
    per_sim = ticks.groupby("simulation_id").agg(n=("balance", "size"), b=("balance", "sum")).reset_index()
    check("pandas agent_ticks per simulation", frame_dict(per_sim, "simulation_id", ("n", "b")), E["balance_per_sim"])
    iters = pd.read_parquet(table_dir("iterations"), partitioning=ds.partitioning(ITER_PARTS, flavor="hive"))
    check("pandas iterations rows",
          frame_dict(iters, ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])


def polars_direct(E):
    def scan(name, schema):
        return pl.scan_parquet(f"{table_dir(name)}/**/*.parquet", hive_partitioning=True, hive_schema=schema)
    events = scan("events", PL_SIM_PARTS)
    per_sim = events.group_by("simulation_id").agg(pl.len().alias("n"), pl.col("amount").sum().alias("s")).collect()
    check("polars events per simulation", frame_dict(per_sim.to_pandas(), "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = (events.with_columns(pl.col("event_type").cast(pl.String))
                .group_by("event_type")
                .agg(pl.len().alias("n"), pl.when(pl.col("amount").count() > 0).then(pl.col("amount").sum()).alias("s"))
                .collect())
    check("polars SUM(amount) per event_type", frame_dict(per_type.to_pandas(), "event_type", ("n", "s")), E["amount_per_type"])
    sims = scan("simulations", PL_SIM_PARTS).select("simulation_id", "experiment_id", "iteration", "total_cost").collect()
    assert sims.schema["iteration"] == pl.UInt32, sims.schema
    check("polars total_cost per simulation",
          frame_dict(sims.to_pandas(), "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    iters = scan("iterations", {"experiment_id": pl.String, "iteration": pl.UInt32}).collect()
    check("polars iterations rows",
          frame_dict(iters.to_pandas(), ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])


def duckdb_direct(E):
    con = duckdb.connect()

    def src(name, types):
        return f"read_parquet('{table_dir(name)}/**/*.parquet', hive_partitioning = true, hive_types = {types})"
    per_sim = con.sql(f"SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s FROM {src('events', DUCK_SIM_PARTS)} GROUP BY 1").df()
    check("duckdb events per simulation", frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = con.sql(f"SELECT CAST(event_type AS VARCHAR) AS t, COUNT(*) AS n, SUM(amount) AS s FROM {src('events', DUCK_SIM_PARTS)} GROUP BY 1").df()
    check("duckdb SUM(amount) per event_type", frame_dict(per_type, "t", ("n", "s")), E["amount_per_type"])
    sims = con.sql(f"SELECT simulation_id, experiment_id, iteration, total_cost, typeof(iteration) AS it FROM {src('simulations', DUCK_SIM_PARTS)}").df()
    assert set(sims["it"]) == {"UINTEGER"}, set(sims["it"])
    check("duckdb total_cost per simulation",
          frame_dict(sims, "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    iters = con.sql(f"SELECT experiment_id, iteration, agent, cost, accepted FROM {src('iterations', DUCK_ITER_PARTS)}").df()
    check("duckdb iterations rows",
          frame_dict(iters, ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])


# --- reading the exports ----------------------------------------------------------------------

def by_sim_and_type(df, name, E):
    """The two event checks on a pandas frame of simulation_events."""
    df = df.copy()
    df["event_type"] = df["event_type"].astype(str)
    per_sim = df.groupby("simulation_id").agg(n=("event_type", "size"), s=("amount", lambda a: a.sum(min_count=1))).reset_index()
    check(f"{name}: events per simulation", frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = df.groupby("event_type").agg(n=("simulation_id", "size"), s=("amount", lambda a: a.sum(min_count=1))).reset_index()
    check(f"{name}: SUM(amount) per event_type", frame_dict(per_type, "event_type", ("n", "s")), E["amount_per_type"])


def duckdb_over_arrow(path):
    """DuckDB reads Arrow IPC through pyarrow (its own reader is an extension download)."""
    arrow_table = feather.read_table(path)
    return duckdb.sql("SELECT simulation_id, event_type, amount FROM arrow_table").df()


def exports(E):
    x = Path(ARGS.exports)
    cols = ["simulation_id", "event_type", "amount"]
    readers = {
        "parquet": {
            "pyarrow": lambda p: pq.read_table(p, columns=cols).to_pandas(),
            "pandas": lambda p: pd.read_parquet(p, columns=cols),
            "polars": lambda p: pl.read_parquet(p, columns=cols).to_pandas(),
            "duckdb": lambda p: duckdb.sql(f"SELECT simulation_id, event_type, amount FROM read_parquet('{p}')").df(),
        },
        "arrow": {
            "pyarrow": lambda p: feather.read_table(p, columns=cols).to_pandas(),
            "pandas": lambda p: pd.read_feather(p, columns=cols),
            "polars": lambda p: pl.read_ipc(p, columns=cols).to_pandas(),
            "duckdb": duckdb_over_arrow,
        },
        "csv": {
            "pyarrow": lambda p: pacsv.read_csv(p).select(cols).to_pandas(),
            "pandas": lambda p: pd.read_csv(p, usecols=cols),
            "polars": lambda p: pl.read_csv(p, columns=cols, infer_schema_length=None).to_pandas(),
            "duckdb": lambda p: duckdb.sql(f"SELECT simulation_id, event_type, amount FROM read_csv('{p}', sample_size = -1)").df(),
        },
        "jsonl": {
            "pyarrow": lambda p: pajson.read_json(p).select(cols).to_pandas(),
            "pandas": lambda p: pd.read_json(p, lines=True)[cols],
            "polars": lambda p: pl.read_ndjson(p, infer_schema_length=None).select(cols).to_pandas(),
            "duckdb": lambda p: duckdb.sql(f"SELECT simulation_id, event_type, amount FROM read_json('{p}', format = 'newline_delimited', sample_size = -1)").df(),
        },
    }
    for fmt, libs in readers.items():
        path = str(x / f"events.{fmt}")
        for lib, read in libs.items():
            name = f"export {fmt} via {lib}"
            run(name, lambda: by_sim_and_type(read(path), name, E))

    # The partitioned export: transactions/experiment_id=…/simulation_id=…/part-0.parquet.
    root = str(x / "transactions")
    parts = pa.schema([("experiment_id", pa.string()), ("simulation_id", pa.string())])

    def tx_check(df, lib):
        df = df.copy()
        df["settled"] = (df["status"] == "settled").astype(int)
        g = df.groupby("simulation_id").agg(n=("status", "size"), s=("amount", "sum"), settled=("settled", "sum")).reset_index()
        check(f"partitioned export via {lib}: transactions per simulation",
              frame_dict(g, "simulation_id", ("n", "s", "settled")), E["tx_per_sim"])
    run("partitioned pyarrow", lambda: tx_check(
        ds.dataset(root, format="parquet", partitioning=ds.partitioning(parts, flavor="hive")).to_table().to_pandas(), "pyarrow"))
    run("partitioned pandas", lambda: tx_check(
        pd.read_parquet(root, partitioning=ds.partitioning(parts, flavor="hive")), "pandas"))
    run("partitioned polars", lambda: tx_check(pl.scan_parquet(
        f"{root}/**/*.parquet", hive_partitioning=True,
        hive_schema={"experiment_id": pl.String, "simulation_id": pl.String}).collect().to_pandas(), "polars"))
    run("partitioned duckdb", lambda: tx_check(duckdb.sql(
        f"SELECT * FROM read_parquet('{root}/**/*.parquet', hive_partitioning = true, "
        f"hive_types = {{'experiment_id': 'VARCHAR', 'simulation_id': 'VARCHAR'}})").df(), "duckdb"))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--exports", required=True)
    ARGS = p.parse_args()
    print(f"python-readers: pyarrow {pa.__version__}, pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}")
    E = expectations()
    for name, fn in [("pyarrow.dataset", pyarrow_dataset), ("pandas", pandas_direct),
                     ("polars", polars_direct), ("duckdb", duckdb_direct), ("exports", exports)]:
        run(name, lambda: fn(E))
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"python-readers: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
