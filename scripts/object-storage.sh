#!/usr/bin/env bash
# The dataset on object storage, tested against real servers on 127.0.0.1:
#  - S3: moto's standalone server (pinned in tests/python/requirements.txt, in the virtualenv
#    scripts/python-readers.sh also uses);
#  - Azure Blob Storage: Azurite (npm, pinned below, installed under $HOME/.cache/simcash).
# For each, a bucket (container) is made and the integration tests in tests/it/cloud.rs
# (ignored by a plain `cargo test`) run against it: run, sql, list, replay, experiment run,
# gc, racing writers and two sweep shards writing at once. On S3, deltalake and polars also
# read a dataset simcash wrote (tests/python/test_s3_readers.py). Servers stop on exit.
# A part whose tools are missing (python3, node/npm, the package index) prints SKIPPED.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simcash/target}"
venv="${SIMCASH_VENV:-$HOME/.cache/simcash/venv}"
azurite_version=3.35.0
azurite_dir="$HOME/.cache/simcash/azurite-$azurite_version"
started=$SECONDS
failed=0
pids=()
logs="$(mktemp -d)"
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$logs"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the tests/it/cloud.rs suite against $SIMCASH_TEST_ROOT; shows the server log on failure.
cloud_tests() {
    local name=$1 log=$2
    if cargo test --test it cloud:: -- --ignored; then
        echo "object-storage: $name: tests passed"
    else
        echo "object-storage: $name: FAILED; the server's log:"
        tail -n 40 "$log"
        failed=1
    fi
}

cargo test --no-run --quiet
bin="$CARGO_TARGET_DIR/debug/simcash"

s3() {
    # ensure_venv exits the whole script when Python is missing; run it in a subshell.
    if ! (source scripts/venv.sh; ensure_venv object-storage "$venv" tests/python/requirements.txt) ||
        [ ! -x "$venv/bin/moto_server" ]; then
        echo "object-storage: s3: SKIPPED: no virtualenv with moto"
        return
    fi
    local py="$venv/bin/python" port log="$logs/moto.log"
    port="$(free_port)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    pids+=($!)
    (
        export AWS_ENDPOINT="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
        export AWS_ACCESS_KEY_ID=simcash-test AWS_SECRET_ACCESS_KEY=simcash-test
        export SIMCASH_TEST_ROOT=s3://simcash-test
        "$py" - <<'PY'
import os, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"], region_name="us-east-1")
for attempt in range(100):
    try:
        s3.create_bucket(Bucket="simcash-test")
        break
    except Exception:
        if attempt == 99:
            raise
        time.sleep(0.1)
PY
        echo "object-storage: s3: moto on 127.0.0.1:$port after $((SECONDS - started)) s"
        cloud_tests s3 "$log"
        # Other readers on the same kind of root: two CLI runs and an experiment, read back.
        root=s3://simcash-test/readers
        for seed in 1 2; do
            "$bin" run --seed "$seed" --simulation-id "sim-s$seed" --data "$root" >/dev/null 2>&1 || failed=1
        done
        "$bin" experiment run tests/data/experiments/exp1.yaml --data "$root" >/dev/null 2>&1 || failed=1
        "$py" tests/python/test_s3_readers.py --bin "$bin" --root "$root" || failed=1
        exit $failed
    ) || failed=1
}

azure() {
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        echo "object-storage: azure: SKIPPED: node/npm not found"
        return
    fi
    if [ ! -x "$azurite_dir/node_modules/.bin/azurite-blob" ]; then
        echo "object-storage: azure: installing azurite@$azurite_version into $azurite_dir"
        mkdir -p "$azurite_dir"
        if ! npm install --prefix "$azurite_dir" --no-audit --no-fund --silent "azurite@$azurite_version"; then
            if ! npm view azurite@"$azurite_version" version >/dev/null 2>&1; then
                echo "object-storage: azure: SKIPPED: the npm registry cannot be reached"
                return
            fi
            echo "object-storage: azure: FAILED: npm could not install azurite"
            failed=1
            return
        fi
    fi
    local port log="$logs/azurite.log"
    port="$(free_port)"
    "$azurite_dir/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence \
        --skipApiVersionCheck >"$log" 2>&1 &
    pids+=($!)
    python3 tests/python/azurite_container.py "http://127.0.0.1:$port" simcash-test
    echo "object-storage: azure: Azurite on 127.0.0.1:$port after $((SECONDS - started)) s"
    (
        export AZURE_STORAGE_USE_EMULATOR=true AZURITE_BLOB_STORAGE_URL="http://127.0.0.1:$port"
        export SIMCASH_TEST_ROOT=az://simcash-test
        cloud_tests azure "$log"
        exit $failed
    ) || failed=1
}

s3
azure
if [ $failed = 0 ]; then
    echo "object-storage: passed in $((SECONDS - started)) s"
else
    echo "object-storage: FAILED"
    exit 1
fi
