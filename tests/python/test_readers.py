"""Reads a simcash dataset and `simcash export` files with deltalake, pandas, polars, pyarrow and
DuckDB, and checks counts and sums against `simcash sql --format json` on the same data.

Run by scripts/python-readers.sh:
    test_readers.py --bin PATH/simcash --data DATASET --exports DIR

Every table of the dataset is a Delta Lake table (`<table>/_delta_log/`, data files in
`experiment_id=<id>/part-<hex>.parquet`), read as docs/notebooks/README.md tells researchers
to: deltalake (to pyarrow and to pandas), polars' `scan_delta`, and DuckDB over the Arrow
table deltalake returns. Never the Parquet files alone: the log says which files are live
(compaction leaves replaced files behind until `simcash gc`). `simulation_id` and `iteration`
are columns of the files; no column is unsigned (`iteration` is Int64).
Every simulation in the dataset this script is given is committed, so reading the Delta
tables equals reading the views; on a dataset with crashed runs, join on `simulations` first.
Prints one line per check and closes with `python-readers: N passed, M failed`.
"""

import argparse
import json
import math
import re
import subprocess
import sys
import traceback
from pathlib import Path

import deltalake
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.json as pajson
import pyarrow.parquet as pq
from deltalake import DeltaTable

ARGS = None
RESULTS = []

# Every physical table of the dataset (schemas/<table>.json); `sweep_points` only after a sweep.
TABLES = ["events", "agent_ticks", "ticks", "simulations", "experiments", "iterations", "policy_evaluations",
          "sweep_points"]
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


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
    e["ticks_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, COUNT(*) AS n, SUM(total_cost) AS c, SUM(num_settlements) AS k FROM ticks GROUP BY simulation_id"),
        "simulation_id", ("n", "c", "k"))
    e["iterations"] = keyed(simcash_sql(
        "SELECT experiment_id, iteration, agent, cost, accepted FROM experiment_iterations"),
        ("experiment_id", "iteration", "agent"), ("cost", "accepted"))
    e["evaluations"] = keyed(simcash_sql(
        "SELECT experiment_id, iteration, agent, sample, old_cost, new_cost, delta FROM policy_evaluations"),
        ("experiment_id", "iteration", "agent", "sample"), ("old_cost", "new_cost", "delta"))
    e["experiments"] = keyed(simcash_sql(
        "SELECT experiment_id, status, iterations, num_samples FROM experiments"),
        "experiment_id", ("status", "iterations", "num_samples"))
    e["tx_per_sim"] = keyed(simcash_sql(
        "SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s, SUM(CASE WHEN status = 'settled' THEN 1 ELSE 0 END) AS settled "
        "FROM transactions GROUP BY simulation_id"),
        "simulation_id", ("n", "s", "settled"))
    assert len(e["events_per_sim"]) >= 6, f"the dataset should hold several simulations: {e['events_per_sim']}"
    assert len(e["iterations"]) >= 2, "the dataset should hold an experiment's iterations"
    assert e["evaluations"] and e["experiments"], "the dataset should hold an experiment's evaluations"
    return e


# --- reading the Delta tables ------------------------------------------------------------------

def table_dir(name):
    return str(Path(ARGS.data) / name)


def delta(name):
    return DeltaTable(table_dir(name))


def arrow_type(t):
    """The Arrow type a Delta reader returns for a type of schemas/<table>.json. Delta has no
    dictionary type: dictionary-encoded strings in the files come back as plain strings."""
    if t == "Utf8" or re.fullmatch(r"Dictionary\(\w+, Utf8\)", t):
        return pa.string()
    if m := re.fullmatch(r"List\((.+)\)", t):
        return pa.list_(arrow_type(m.group(1)))
    if t == 'Timestamp(µs, "UTC")':
        return pa.timestamp("us", tz="UTC")
    return {"Int64": pa.int64(), "Int16": pa.int16(), "Int32": pa.int32(), "Float64": pa.float64(),
            "Boolean": pa.bool_()}[t]


def type_name(t):
    """An Arrow type as text, list element names left out (deltalake calls them `element`)."""
    return f"list<{type_name(t.value_type)}>" if pa.types.is_list(t) else str(t)


def layout(E):
    """Each table: a Delta table at <table>/, partitioned by experiment_id only, whose data
    files sit in experiment_id=<id>/ (checkpoints in _delta_log/), and whose Arrow schema
    (deltalake's) is schemas/<table>.json."""
    present = [t for t in TABLES if Path(table_dir(t)).is_dir()]
    assert set(TABLES) - set(present) <= {"sweep_points"}, f"tables missing from the dataset: {set(TABLES) - set(present)}"
    for name in present:
        root = Path(table_dir(name))
        check(f"{name}: a Delta table", (root / "_delta_log").is_dir() and DeltaTable.is_deltatable(str(root)), True)
        dt = DeltaTable(str(root))
        check(f"{name}: partition columns", dt.metadata().partition_columns, ["experiment_id"])
        # Parquet files in _delta_log/ are the log's checkpoints, not data.
        data = [f.relative_to(root) for f in root.rglob("*.parquet") if f.relative_to(root).parts[0] != "_delta_log"]
        bad = sorted(str(f) for f in data if len(f.parts) != 2 or not f.parts[0].startswith("experiment_id="))
        check(f"{name}: data files in experiment_id=<id>/", bad, [])
        spec = json.loads((SCHEMAS / f"{name}.json").read_text())
        assert spec["schema_version"] == "3", spec["schema_version"]
        want = {c["name"]: arrow_type(c["type"]) for c in spec["columns"] + spec["partition_columns"]}
        got = {f.name: f.type for f in dt.to_pyarrow_table().schema}
        check(f"{name}: deltalake schema = schemas/{name}.json",
              {k: type_name(v) for k, v in got.items()}, {k: type_name(v) for k, v in want.items()})
        unsigned = [f"{n}: {t}" for n, t in got.items() if pa.types.is_unsigned_integer(t)]
        check(f"{name}: no unsigned column", unsigned, [])


def deltalake_pyarrow(E):
    events = delta("events").to_pyarrow_table(columns=["simulation_id", "iteration", "event_type", "amount"])
    assert events.schema.field("iteration").type == pa.int64(), events.schema
    assert events.schema.field("simulation_id").type == pa.string(), events.schema
    per_sim = events.group_by("simulation_id").aggregate([([], "count_all"), ("amount", "sum")]).to_pandas()
    check("deltalake→pyarrow events per simulation",
          frame_dict(per_sim, "simulation_id", ("count_all", "amount_sum")), E["events_per_sim"])
    per_type = events.group_by("event_type").aggregate([([], "count_all"), ("amount", "sum")]).to_pandas()
    check("deltalake→pyarrow SUM(amount) per event_type",
          frame_dict(per_type, "event_type", ("count_all", "amount_sum")), E["amount_per_type"])
    sims = delta("simulations").to_pyarrow_table()
    assert sims.schema.field("iteration").type == pa.int64(), sims.schema
    assert sims.schema.field("started_at").type == pa.timestamp("us", tz="UTC"), sims.schema
    check("deltalake→pyarrow total_cost per simulation",
          frame_dict(sims.to_pandas(), "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    iters = delta("iterations").to_pyarrow_table()
    assert iters.schema.field("iteration").type == pa.int64(), iters.schema
    check("deltalake→pyarrow iterations rows",
          frame_dict(iters.to_pandas(), ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])
    # A filter on the partition column: deltalake prunes files by experiment_id.
    exp = next(iter(E["experiments"]))
    one = delta("simulations").to_pyarrow_table(columns=["simulation_id"], filters=[("experiment_id", "=", exp)])
    check("deltalake→pyarrow simulations of one experiment (partition filter)",
          sorted(one["simulation_id"].to_pylist()), sorted(k for k, v in E["cost_per_sim"].items() if v[0] == exp))


def deltalake_pandas(E):
    events = delta("events").to_pandas(columns=["simulation_id", "event_type", "amount"])
    per_sim = events.groupby("simulation_id", observed=True).agg(n=("event_type", "size"), s=("amount", "sum")).reset_index()
    check("deltalake→pandas events per simulation", frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = events.groupby("event_type").agg(n=("simulation_id", "size"), s=("amount", lambda a: a.sum(min_count=1))).reset_index()
    check("deltalake→pandas SUM(amount) per event_type", frame_dict(per_type, "event_type", ("n", "s")), E["amount_per_type"])
    ticks = delta("agent_ticks").to_pandas(columns=["simulation_id", "balance"])
    per_sim = ticks.groupby("simulation_id").agg(n=("balance", "size"), b=("balance", "sum")).reset_index()
    check("deltalake→pandas agent_ticks per simulation", frame_dict(per_sim, "simulation_id", ("n", "b")), E["balance_per_sim"])
    iters = delta("iterations").to_pandas()
    assert str(iters["iteration"].dtype) == "int64", iters.dtypes
    check("deltalake→pandas iterations rows",
          frame_dict(iters, ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])
    exps = delta("experiments").to_pandas()
    check("deltalake→pandas experiments rows",
          frame_dict(exps, "experiment_id", ("status", "iterations", "num_samples")), E["experiments"])


def polars_scan_delta(E):
    events = pl.scan_delta(table_dir("events"))
    per_sim = events.group_by("simulation_id").agg(pl.len().alias("n"), pl.col("amount").sum().alias("s")).collect()
    check("polars scan_delta events per simulation", frame_dict(per_sim.to_pandas(), "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = (events.with_columns(pl.col("event_type").cast(pl.String))
                .group_by("event_type")
                .agg(pl.len().alias("n"), pl.when(pl.col("amount").count() > 0).then(pl.col("amount").sum()).alias("s"))
                .collect())
    check("polars scan_delta SUM(amount) per event_type", frame_dict(per_type.to_pandas(), "event_type", ("n", "s")), E["amount_per_type"])
    sims = pl.scan_delta(table_dir("simulations")).select("simulation_id", "experiment_id", "iteration", "total_cost").collect()
    assert sims.schema["iteration"] == pl.Int64, sims.schema
    check("polars scan_delta total_cost per simulation",
          frame_dict(sims.to_pandas(), "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    ticks = (pl.scan_delta(table_dir("ticks")).group_by("simulation_id")
             .agg(pl.len().alias("n"), pl.col("total_cost").sum().alias("c"), pl.col("num_settlements").sum().alias("k"))
             .collect())
    check("polars scan_delta ticks per simulation", frame_dict(ticks.to_pandas(), "simulation_id", ("n", "c", "k")), E["ticks_per_sim"])
    iters = pl.scan_delta(table_dir("iterations")).collect()
    check("polars scan_delta iterations rows",
          frame_dict(iters.to_pandas(), ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])


def duckdb_over_delta(E):
    """DuckDB over the Arrow tables deltalake returns (registered by name; DuckDB's own Delta
    reader is an extension download)."""
    con = duckdb.connect()
    for name in ["events", "simulations", "iterations", "policy_evaluations", "agent_ticks"]:
        con.register(name, delta(name).to_pyarrow_table())
    per_sim = con.sql("SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s FROM events GROUP BY 1").df()
    check("duckdb over deltalake events per simulation", frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    per_type = con.sql("SELECT event_type AS t, COUNT(*) AS n, SUM(amount) AS s FROM events GROUP BY 1").df()
    check("duckdb over deltalake SUM(amount) per event_type", frame_dict(per_type, "t", ("n", "s")), E["amount_per_type"])
    sims = con.sql("SELECT simulation_id, experiment_id, iteration, total_cost, typeof(iteration) AS it FROM simulations").df()
    assert set(sims["it"]) == {"BIGINT"}, set(sims["it"])
    check("duckdb over deltalake total_cost per simulation",
          frame_dict(sims, "simulation_id", ("experiment_id", "iteration", "total_cost")), E["cost_per_sim"])
    # A join across tables, on the columns the files now hold.
    balances = con.sql("SELECT a.simulation_id, COUNT(*) AS n, SUM(a.balance) AS b FROM agent_ticks a "
                       "JOIN simulations s USING (experiment_id, iteration, simulation_id) GROUP BY 1").df()
    check("duckdb over deltalake agent_ticks ⋈ simulations", frame_dict(balances, "simulation_id", ("n", "b")), E["balance_per_sim"])
    iters = con.sql("SELECT experiment_id, iteration, agent, cost, accepted FROM iterations").df()
    check("duckdb over deltalake iterations rows",
          frame_dict(iters, ("experiment_id", "iteration", "agent"), ("cost", "accepted")), E["iterations"])
    evals = con.sql("SELECT experiment_id, iteration, agent, sample, old_cost, new_cost, delta FROM policy_evaluations").df()
    check("duckdb over deltalake policy_evaluations rows",
          frame_dict(evals, ("experiment_id", "iteration", "agent", "sample"), ("old_cost", "new_cost", "delta")),
          E["evaluations"])
    # deltalake's lazy pyarrow dataset (what the notebook registers): DuckDB reads only the
    # columns and experiment_id partitions a query needs.
    con.register("events_lazy", delta("events").to_pyarrow_dataset())
    per_sim = con.sql("SELECT simulation_id, COUNT(*) AS n, SUM(amount) AS s FROM events_lazy GROUP BY 1").df()
    check("duckdb over deltalake's pyarrow dataset events per simulation",
          frame_dict(per_sim, "simulation_id", ("n", "s")), E["events_per_sim"])
    # The replacement scan of a Python variable holding the Arrow table works too.
    ticks = delta("ticks").to_pyarrow_table(columns=["simulation_id", "total_cost", "num_settlements"])
    per_sim = duckdb.sql("SELECT simulation_id, COUNT(*) AS n, SUM(total_cost) AS c, SUM(num_settlements) AS k "
                         "FROM ticks GROUP BY 1").df()
    check("duckdb over deltalake ticks per simulation (replacement scan)",
          frame_dict(per_sim, "simulation_id", ("n", "c", "k")), E["ticks_per_sim"])


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
    print(f"python-readers: deltalake {deltalake.__version__}, pyarrow {pa.__version__}, pandas {pd.__version__}, "
          f"polars {pl.__version__}, duckdb {duckdb.__version__}")
    E = expectations()
    for name, fn in [("layout", layout), ("deltalake→pyarrow", deltalake_pyarrow), ("deltalake→pandas", deltalake_pandas),
                     ("polars scan_delta", polars_scan_delta), ("duckdb over deltalake", duckdb_over_delta),
                     ("exports", exports)]:
        run(name, lambda: fn(E))
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"python-readers: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
