#!/usr/bin/env bash
# Reads a simcash dataset with the real Python tools: deltalake (to pyarrow and pandas), polars'
# scan_delta and DuckDB over deltalake's Arrow tables read the dataset's Delta tables, and
# pyarrow, pandas, polars and DuckDB the files of `simcash export`; every count and sum is
# checked against `simcash sql` on the same data, and each table's schema against
# schemas/<table>.json (tests/python/test_readers.py). Then
# docs/notebooks/simcash_quickstart.ipynb is executed with nbclient; any failing cell fails.
#
# The pinned packages (tests/python/requirements.txt) go into a virtualenv outside the clone,
# $SIMCASH_VENV or $HOME/.cache/simcash/venv, reused while the pins are unchanged. Skipped,
# with a message and exit 0, where python3 or its venv module is missing or the package index
# cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simcash/target}"
venv="${SIMCASH_VENV:-$HOME/.cache/simcash/venv}"
req=tests/python/requirements.txt
started=$SECONDS

source scripts/venv.sh
ensure_venv python-readers "$venv" "$req"
py="$venv/bin/python"
echo "python-readers: environment ready after $((SECONDS - started)) s"

# `cargo test --no-run` builds the binary with the test suite's features (see conformance.sh).
cargo test --no-run --quiet
bin="$CARGO_TARGET_DIR/debug/simcash"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$work/data"
# A small dataset: a few CLI runs of test scenarios, one small experiment and a small sweep.
for seed in 1 2; do
    "$bin" run --seed "$seed" --simulation-id "sim-default-s$seed" --data "$data" >/dev/null 2>>"$work/build.log"
done
for name in exp2_12period target2_lsm_features_test bis_liquidity_delay_tradeoff; do
    "$bin" run "tests/data/simcash/scenarios/$name.yaml" --simulation-id "sim-$name" --data "$data" >/dev/null 2>>"$work/build.log"
done
"$bin" experiment run tests/data/experiments/exp1.yaml --data "$data" >/dev/null 2>>"$work/build.log"
(cd tests/data/sweeps && "$bin" sweep grid.yaml --data "$data" >/dev/null 2>>"$work/build.log")
# The CLI runs' files are re-added without their group tag (marked committed): every reader
# must see each file once.
"$bin" compact --small-size 0 --data "$data" >/dev/null 2>>"$work/build.log"
# One export in each format, and a partitioned one.
exports="$work/exports"
for format in parquet arrow csv jsonl; do
    "$bin" export --data "$data" --table simulation_events --format "$format" -o "$exports/events.$format" 2>>"$work/build.log"
done
"$bin" export --data "$data" --table transactions --partition-by experiment_id,simulation_id -o "$exports/transactions" 2>>"$work/build.log"
echo "python-readers: dataset and exports built after $((SECONDS - started)) s"

failed=0
"$py" tests/python/test_readers.py --bin "$bin" --data "$data" --exports "$exports" || failed=1

# The notebook, executed as a researcher would run it (cwd: its folder).
if SIMCASH_DATA="$data" "$py" tests/python/run_notebook.py docs/notebooks/simcash_quickstart.ipynb "$work/quickstart.executed.ipynb"; then
    echo "python-readers: notebook: all cells ran"
else
    echo "python-readers: notebook: FAILED"
    failed=1
fi
echo "python-readers: done in $((SECONDS - started)) s"
exit $failed
