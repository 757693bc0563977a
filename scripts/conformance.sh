#!/usr/bin/env bash
# Runs simcash on SimCash's example scenarios and compares each event stream with the stream
# SimCash itself recorded, using the kit's compare_events.py. Needs ../shared/simcash (the
# compatibility kit); skipped with a message where it is absent. The same comparisons
# also run inside `cargo test` on copies under tests/data/simcash.
set -euo pipefail
cd "$(dirname "$0")/.."
kit="${SIMCASH_KIT:-../shared/simcash}"
if [ ! -d "$kit" ]; then
    echo "conformance: skipped, SimCash kit not found at $kit (set SIMCASH_KIT to point at it)"
    exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simcash/target}"
# `cargo test --no-run` builds the binary with the same features as the test suite, so the
# dependencies `cargo test` compiled are reused (a plain `cargo build` would resolve
# dev-dependency features differently and rebuild DataFusion).
cargo test --no-run --quiet
bin="$CARGO_TARGET_DIR/debug/simcash"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
touch "$out/.start"
kit="$(cd "$kit" && pwd)"
failed=0
# Every golden stream of the kit: simcash must reproduce each one. `--no-persist` and temporary
# outputs: nothing is written into the kit.
agreed=0
total=0
for golden in "$kit"/golden/*.jsonl; do
    name="$(basename "$golden" .jsonl)"
    total=$((total + 1))
    if (cd "$kit" && "$bin" run "scenarios/$name.yaml" --no-persist --events "$out/$name.jsonl" >/dev/null 2>"$out/$name.err") \
        && python3 "$kit/compare_events.py" "$golden" "$out/$name.jsonl" >"$out/$name.cmp"; then
        echo "conformance: $name: $(cat "$out/$name.cmp")"
        agreed=$((agreed + 1))
    else
        echo "conformance: $name: FAILED"
        cat "$out/$name.err" "$out/$name.cmp" 2>/dev/null | head -20 || true
        failed=1
    fi
done
echo "conformance: $agreed of $total goldens agree"

# Scenarios on which SimCash itself aborts: simcash must stop with exit 1 and this message
# (and write nothing). Any other kit scenario that stops with an error fails this script.
declare -A aborts=(
    [suboptimal_policies_25day]="posts 3392258 of collateral but only 2465526 of capacity remains"  # ENGINE-SPEC Q-20
    [policy_efficient_memory_adaptive]="which leaves a part of 0"  # SimCash panics: "amount must be positive"
)
for scenario in "$kit"/stress/*.yaml; do
    name="$(basename "$scenario" .yaml)"
    set +e
    (cd "$kit" && "$bin" run "stress/$name.yaml" --no-persist >/dev/null 2>"$out/$name.err")
    code=$?
    set -e
    expected="${aborts[$name]:-}"
    if [ "$code" = 1 ] && [ -n "$expected" ] && grep -qF "$expected" "$out/$name.err"; then
        echo "stress: $name: stops as SimCash does: $(grep -m1 '^error' "$out/$name.err")"
    else
        echo "stress: $name: FAILED (exit $code): $(head -3 "$out/$name.err")"
        failed=1
    fi
done

# Replay identity on every kit scenario simcash runs: `replay -v` must print exactly what
# `run -v` printed, and write the same event stream.
data="$out/data"
for scenario in "$kit"/scenarios/*.yaml; do
    name="$(basename "$scenario" .yaml)"
    set +e
    (cd "$kit" && "$bin" run "scenarios/$name.yaml" -v --data "$data" --simulation-id "sim-$name" \
        --events "$out/$name.live.jsonl" >"$out/$name.live.txt" 2>"$out/$name.run.err")
    code=$?
    set -e
    if [ "$code" != 0 ]; then
        expected="${aborts[$name]:-}"
        if [ "$code" = 1 ] && [ -n "$expected" ] && grep -qF "$expected" "$out/$name.run.err"; then
            echo "replay: $name: the run stops as SimCash's does: $(grep -m1 '^error' "$out/$name.run.err")"
        else
            echo "replay: $name: FAILED, the run stops (exit $code): $(head -3 "$out/$name.run.err")"
            failed=1
        fi
        continue
    fi
    if "$bin" replay "sim-$name" -v --data "$data" --events "$out/$name.replay.jsonl" >"$out/$name.replay.txt" \
        && cmp -s "$out/$name.live.txt" "$out/$name.replay.txt" \
        && cmp -s "$out/$name.live.jsonl" "$out/$name.replay.jsonl"; then
        echo "replay: $name: identical ($(wc -l <"$out/$name.live.txt") lines)"
    else
        echo "replay: $name: DIFFERS"
        diff "$out/$name.live.txt" "$out/$name.replay.txt" | head -20 || true
        failed=1
    fi
done
# Nothing may have been written into the kit.
if [ -n "$(find "$kit" -newer "$out/.start" -print -quit)" ]; then
    echo "conformance: FAILED, files in the kit changed: $(find "$kit" -newer "$out/.start" | head -5)"
    failed=1
fi
exit $failed
