#!/usr/bin/env bash
# The dataset on object storage, tested against a real S3-compatible server: moto's
# standalone server (pinned in tests/python/requirements.txt, in the virtualenv that
# scripts/python-readers.sh also uses) is started on 127.0.0.1 on a free port, a bucket is
# made, and the integration tests in tests/it/s3.rs (ignored by a plain `cargo test`) run
# against s3://simcash-test/…: run, sql, list, replay, experiment run, gc, and two sweep
# shards writing at once. Then pyarrow and polars read a dataset simcash wrote to S3
# (tests/python/test_s3_readers.py). The server is stopped on exit.
# Skipped, with a message and exit 0, where python3 or the package index is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simcash/target}"
venv="${SIMCASH_VENV:-$HOME/.cache/simcash/venv}"
started=$SECONDS

source scripts/venv.sh
ensure_venv s3 "$venv" tests/python/requirements.txt
py="$venv/bin/python"

port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT

export AWS_ENDPOINT="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=simcash-test AWS_SECRET_ACCESS_KEY=simcash-test
export SIMCASH_TEST_S3=s3://simcash-test
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
echo "s3: moto server on 127.0.0.1:$port, bucket ready after $((SECONDS - started)) s"

failed=0
cargo test --test it s3:: -- --ignored || failed=1

# Other readers on the same kind of root: two CLI runs and an experiment, read back from S3.
bin="$CARGO_TARGET_DIR/debug/simcash"
root=s3://simcash-test/readers
for seed in 1 2; do
    "$bin" run --seed "$seed" --simulation-id "sim-s$seed" --data "$root" >/dev/null 2>&1 || failed=1
done
"$bin" experiment run tests/data/experiments/exp1.yaml --data "$root" >/dev/null 2>&1 || failed=1
"$py" tests/python/test_s3_readers.py --bin "$bin" --root "$root" || failed=1

if [ $failed = 0 ]; then
    echo "s3: passed in $((SECONDS - started)) s"
else
    echo "s3: FAILED; the server's log:"
    tail -n 40 "$log"
    exit 1
fi
