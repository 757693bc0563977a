#!/usr/bin/env bash
# `simcash report` in a real browser: headless Chromium (Debian's `chromium`, installed here
# when missing and apt-get can) opens a simulation, a sweep and an experiment report, and
# `simcash serve`'s index and a report it serves; the
# check fails on any console message or failed load, and unless the screenshots show the
# charts' series colours (blank or unstyled charts do not).
#
#   scripts/report-pictures.sh            # check
#   scripts/report-pictures.sh --update   # also refresh the README's pictures in docs/images/
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simcash/target}"

if ! command -v chromium >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "report-pictures: installing chromium"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    else
        echo "report-pictures: SKIPPED: chromium not found and apt-get not usable"
        exit 0
    fi
fi
cargo build --quiet --bin simcash
bin=$CARGO_TARGET_DIR/debug/simcash
work=$(mktemp -d)
serve_pid=
trap 'if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
cp tests/data/sweeps/grid.yaml tests/data/sweeps/tiny.yaml "$work/"
experiment=$repo/tests/data/experiments/exp2.yaml
(
    cd "$work"
    "$bin" run --simulation-id sim-report >/dev/null 2>&1
    "$bin" sweep grid.yaml >/dev/null 2>&1
    "$bin" report sim-report -o simulation.html
    "$bin" report tiny-grid -o sweep.html
    "$bin" experiment run "$experiment" --max-iterations 6 >/dev/null 2>&1
    "$bin" report exp2 -o experiment.html
)

# `simcash serve` on a free port: its index and a report page are checked like the files.
(cd "$work" && exec "$bin" serve --port 0 2>"$work/serve.log") &
serve_pid=$!
for _ in $(seq 50); do grep -q "http://" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*/' "$work/serve.log")

failed=0
# Each page and how many series colours its screenshot must show (the sweep's charts have one line).
for page in simulation:2 sweep:1 experiment:2 served-index:0 served-report:2; do
    colours=${page#*:} page=${page%%:*}
    case $page in
        served-index) address=$url ;;
        served-report) address=${url}report/sim-report ;;
        *) address=file://$work/$page.html ;;
    esac
    log=$work/$page.log
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 \
        --window-size=1000,1500 --screenshot="$work/$page.png" "$address" 2>"$log" >/dev/null
    if grep -E "CONSOLE|Failed to load|ERR_" "$log"; then
        echo "report-pictures: $page: the browser reported the lines above"
        failed=1
    fi
    # Pixels of the first series colours (#0072B2, #D55E00): charts were drawn and styled (a
    # line across a chart is over a thousand pixels; the legend's swatch about fifty).
    if ! python3 - "$work/$page.png" "$colours" <<'PY'
import struct, sys, zlib

def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG colour type {colour}"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), width * bpp, bytearray(width * bpp), []
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(line)
        prev = line
    return out, bpp

rows, bpp = pixels(sys.argv[1])
near = lambda px, rgb: all(abs(px[i] - rgb[i]) < 40 for i in range(3))
counts = [0, 0]
for line in rows:
    for x in range(0, len(line), bpp):
        px = line[x:x + 3]
        for k, rgb in enumerate([(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)]):
            counts[k] += near(px, rgb)
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: {counts[0]} blue and {counts[1]} vermilion pixels")
wanted = counts[:int(sys.argv[2])]
sys.exit(0 if not wanted or min(wanted) > 1000 else 1)
PY
    then
        echo "report-pictures: $page: the charts look blank"
        failed=1
    fi
done
if [ "${1:-}" = "--update" ]; then
    cp "$work/simulation.png" docs/images/report-simulation.png
    cp "$work/sweep.png" docs/images/report-sweep.png
    cp "$work/experiment.png" docs/images/report-experiment.png
    echo "report-pictures: docs/images updated"
fi
[ "$failed" = 0 ] && echo "report-pictures: PASSED"
exit "$failed"
