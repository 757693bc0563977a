#!/usr/bin/env bash
# Fuzzes simcash's input parsers for a bounded time (issue 16): scenario YAML, policy JSON,
# experiment and sweep files, and an external proposer's answer (fuzz/fuzz_targets/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]    # default 50 (five targets: ~4 minutes)
#
# cargo-fuzz on the stable toolchain with `--sanitizer none`: libFuzzer's coverage guidance
# and its crash, timeout and allocation checks, without a sanitizer (which needs nightly;
# safe Rust's memory errors are panics, which this catches). Seeds are the test inputs in
# tests/data and the embedded default scenario; new inputs go to a temporary corpus. Fails
# on any panic, crash, timeout (10 s for one input), allocation over 1 GB or RSS over 2 GB,
# printing the failing input. Prints the executions of each target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-50}
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
cargo fuzz build -s none
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
d=tests/data
declare -A seeds=(
  [scenario_yaml]="$d/simcash/scenarios $d/malformed $d/sweeps $d/stress scenarios"
  [policy_json]="$d/simcash/simulator/policies $d/policies $d/sweeps"
  [proposer_answer]="$d/simcash/simulator/policies $d/policies $d/sweeps"
  [experiment_yaml]="$d/experiments"
  [sweep_yaml]="$d/sweeps"
)
failed=0
for target in scenario_yaml policy_json proposer_answer experiment_yaml sweep_yaml; do
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
  # shellcheck disable=SC2086 # the seed directories are a list
  if cargo fuzz run -s none "$target" "$work/corpus/$target" ${seeds[$target]} -- \
      -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=1024 -rss_limit_mb=2048 \
      -artifact_prefix="$work/artifacts/$target/" -print_final_stats=1 >"$work/$target.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz $target: ok, $runs inputs in ${seconds} s, corpus $(find "$work/corpus/$target" -type f | wc -l) new"
  else
    failed=1
    echo "fuzz $target: FAILED"
    tail -40 "$work/$target.log"
    for f in "$work/artifacts/$target"/*; do
      [[ -f $f ]] && { echo "--- failing input $(basename "$f") (base64):"; base64 "$f"; }
    done
  fi
done
exit $failed
