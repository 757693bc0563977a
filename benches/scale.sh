#!/usr/bin/env bash
# Sweep-scale benchmarks of the Delta dataset (issue 13), on the release build.
#
#   benches/scale.sh [WORKDIR]      # default WORKDIR: $CARGO_TARGET_DIR/scale (or target/scale)
#
# 1. A sweep of 10,000 simulations of the embedded default scenario (seeds 1..10000):
#    wall time of `simcash sweep` (simulate + persist + the automatic compaction), bytes on
#    disk per event, before and after `simcash gc` deletes the files compaction replaced.
# 2. Fresh `simcash sql` processes on that dataset (median of 5): the sweep_points summary,
#    the event-type GROUP BY over every event, and one simulation's events.
# 3. A sweep of 100,000 simulations of the exp2 scenario: wall time, and the summary query.
#
# Set SCALE_SKIP_100K=1 to skip part 3 (it takes a few minutes and ~1 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
target=${CARGO_TARGET_DIR:-$repo/target}
work=${1:-$target/scale}
cargo build --release --quiet --bin simcash
bin=$target/release/simcash
rm -rf "$work" && mkdir -p "$work"

seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
median_ms() { # median wall time of 5 runs of a command, in milliseconds
  local t=()
  for _ in 1 2 3 4 5; do t+=("$(seconds "$@")"); done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 3p | awk '{printf "%.0f", $1 * 1000}'
}
sql() { "$bin" sql --data "$1" --format csv "$2"; }
json() { "$bin" sql --data "$1" --format json "$2"; }
per_event() { echo "scale=2; $1 / $events" | bc; }
# Runs a sweep of COUNT seeds of SCENARIO into $work/NAME and reports its wall time, events,
# files and bytes per event; sets d and events.
sweep() { # name scenario count
  printf 'name: %s\nscenario: %s\nseeds: {from: 1, count: %s}\n' "$1" "$2" "$3" >"$work/$1.yaml"
  d=$work/$1
  local wall bytes
  wall=$(seconds "$bin" sweep "$work/$1.yaml" --data "$d")
  events=$(sql "$d" "SELECT count(*) AS n FROM simulation_events" | tail -1)
  bytes=$(du -sb "$d" | cut -f1)
  echo "sweep (simulate + persist + compact): ${wall} s"
  echo "events: $events; bytes: $bytes; parquet files: $(find "$d" -name '*.parquet' | wc -l); bytes/event: $(per_event "$bytes")"
}
summary="SELECT configuration, avg(total_cost) FROM sweep_points GROUP BY 1"

echo "== 10,000 simulations of the embedded default"
sweep default10k "$repo/scenarios/default.yaml" 10000
echo "sweep_points summary: $(median_ms sql "$d" "$summary") ms"
echo "event-type GROUP BY: $(median_ms sql "$d" "SELECT event_type, count(*) FROM simulation_events GROUP BY 1") ms"
"$bin" gc --data "$d" --min-age 0 --retention 0 >/dev/null   # vacuum the files compaction replaced
live=$(du -sb "$d" | cut -f1)
echo "after gc (vacuum): bytes: $live; bytes/event: $(per_event "$live")"
one="SELECT * FROM simulation_events WHERE simulation_id = 'sim-p0000-s4321'"
echo "one simulation's events ($(json "$d" "$one" | wc -l) rows): $(median_ms json "$d" "$one") ms"

if [[ -z ${SCALE_SKIP_100K:-} ]]; then
  echo "== 100,000 simulations of exp2"
  sweep exp2_100k "$repo/tests/data/simcash/scenarios/exp2_12period.yaml" 100000
  echo "sweep_points summary: $(median_ms sql "$d" "$summary") ms"
fi
