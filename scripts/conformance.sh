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
kit="$(cd "$kit" && pwd)"
failed=0
# Every golden stream of the kit: simcash must reproduce each one.
for name in exp1_2period exp2_12period exp3_joint bis_liquidity_delay_tradeoff test_minimal_eod advanced_policy_crisis; do
    if (cd "$kit" && "$bin" run "scenarios/$name.yaml" --events "$out/$name.jsonl" >/dev/null 2>"$out/$name.err") \
        && python3 "$kit/compare_events.py" "$kit/golden/$name.jsonl" "$out/$name.jsonl" >"$out/$name.cmp"; then
        echo "conformance: $name: $(cat "$out/$name.cmp")"
    else
        echo "conformance: $name: FAILED"
        cat "$out/$name.err" "$out/$name.cmp" 2>/dev/null || true
        failed=1
    fi
done

# Replay identity on every kit scenario simcash runs: `replay -v` must print exactly what
# `run -v` printed, and write the same event stream.
data="$out/data"
for scenario in "$kit"/scenarios/*.yaml; do
    name="$(basename "$scenario" .yaml)"
    if ! (cd "$kit" && "$bin" run "scenarios/$name.yaml" -v --data "$data" --simulation-id "sim-$name" \
            --events "$out/$name.live.jsonl" >"$out/$name.live.txt" 2>"$out/$name.run.err"); then
        echo "replay: $name: the run stops with an error (as SimCash's does): $(grep -m1 '^error' "$out/$name.run.err" || true)"
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
exit $failed
