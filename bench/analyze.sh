#!/bin/bash
# Benchmark: strata analyze vs what dive does (dive is not packaged here, so
# its work is stood in for by `docker save` through a dockerd and a Python
# walk of every layer tar building the same file trees, bench/dive-walk.py),
# on the same image: LAYERS layers, ENTRIES entries (default 40, 20000).
# Each tool's store is on its own freshly made ext4 loop mount; loading is
# not timed; each side runs warm, 3 times, and its fastest run is kept (the
# machine is shared: one slow sample says little).  Prints wall time, CPU
# time, peak RSS and the ratio.
#
# usage (root): [ARCHIVE=FILE] [RUN=strata] bench/analyze.sh [LAYERS=40] [ENTRIES=20000] [MAX_FILE_BYTES=3000]
# e.g. the large case, strata only: RUN=strata bench/analyze.sh 100 1000000 20000
# Needs: build/strata, dockerd (docker.io), python3, e2fsprogs.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
LAYERS=${1:-40}
ENTRIES=${2:-20000}
MAXB=${3:-3000}
IMG=bench/analyze:latest

A=${ARCHIVE:-$W/archive.tar}
if [ ! -s "$A" ]; then
	echo "== making the image ($LAYERS layers, $ENTRIES entries)"
	python3 bench/make-analyze-image.py "$A" "$LAYERS" "$ENTRIES" "$IMG" "$MAXB"
fi

echo "== strata load (not timed), strata analyze"
fresh_fs strata
R=$W/fs-strata/root
"$STRATA" --data-root "$R" load -q -i "$A" >/dev/null
"$STRATA" --data-root "$R" analyze --format json "$IMG" >"$W/strata.json" # warms the page cache
read -r s_wall s_cpu s_rss < <(best 3 -- "$STRATA" --data-root "$R" analyze --format json "$IMG")
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("strata: %d layers, size %d, wasted %d bytes in %d inodes" % (len(j["layers"]), j["size"], j["wasted_bytes"], len(j["wasted"])))' "$W/strata.json"

if [ "${RUN:-}" = strata ]; then
	echo "strata analyze: wall ${s_wall}s cpu ${s_cpu}s peak RSS $((s_rss / 1024)) MB"
	exit 0
fi
echo "== docker load (not timed), docker save | dive-walk.py"
fresh_fs docker
start_dockerd "$W/fs-docker"
$DOCKER load -q -i "$A" >/dev/null
read -r d_wall d_cpu d_rss < <(best 3 --daemon "$DPID" -- sh -c \
	"$DOCKER save $IMG | python3 bench/dive-walk.py >$W/walk.out")
echo "dive-walk: $(cat "$W/walk.out") (entries, paths written more than once, their older bytes)"

python3 - "$s_wall" "$s_cpu" "$s_rss" "$d_wall" "$d_cpu" "$d_rss" <<'PY'
import sys
sw, sc, sr, dw, dc, dr = map(float, sys.argv[1:])
print()
print(f"{'':16} {'wall s':>9} {'cpu s':>9} {'peak RSS MB':>12}")
print(f"{'strata analyze':16} {sw:9.3f} {sc:9.3f} {sr/1024:12.1f}")
print(f"{'save + walk':16} {dw:9.3f} {dc:9.3f} {dr/1024:12.1f}")
print(f"{'ratio':16} {dw/sw:8.1f}x {dc/sc:8.1f}x  (save + walk / strata)")
PY
