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
# best ARGS...: the fastest of 3 runs of measure.py ARGS, as "WALL CPU RSS"
best() {
	for _ in 1 2 3; do python3 bench/measure.py "$@"; done | sort -n | head -1
}
LAYERS=${1:-40}
ENTRIES=${2:-20000}
MAXB=${3:-3000}
STRATA=$PWD/build/strata
W=$(mktemp -d /tmp/strata-bench.XXXXXX)
DPID=
IMG=bench/analyze:latest

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && sleep 3
	for m in "$W"/fs-*; do mountpoint -q "$m" && umount -l "$m"; done
	rm -rf "$W"
}
trap cleanup EXIT

fresh_fs() {
	truncate -s 40G "$W/$1.img"
	mkfs.ext4 -q -F "$W/$1.img"
	mkdir -p "$W/fs-$1"
	mount -o loop "$W/$1.img" "$W/fs-$1"
}

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
read -r s_wall s_cpu s_rss < <(best -- "$STRATA" --data-root "$R" analyze --format json "$IMG")
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("strata: %d layers, size %d, wasted %d bytes in %d inodes" % (len(j["layers"]), j["size"], j["wasted_bytes"], len(j["wasted"])))' "$W/strata.json"

if [ "${RUN:-}" = strata ]; then
	echo "strata analyze: wall ${s_wall}s cpu ${s_cpu}s peak RSS $((s_rss / 1024)) MB"
	exit 0
fi
echo "== docker load (not timed), docker save | dive-walk.py"
fresh_fs docker
D=$W/fs-docker
dockerd --data-root "$D/root" --exec-root "$D/exec" --pidfile "$D/pid" -H "unix://$D/sock" \
	--iptables=false --bridge=none --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 60); do /usr/bin/docker -H "unix://$D/sock" info >/dev/null 2>&1 && break; sleep 0.5; done
/usr/bin/docker -H "unix://$D/sock" load -q -i "$A" >/dev/null
read -r d_wall d_cpu d_rss < <(best --daemon "$DPID" -- sh -c \
	"/usr/bin/docker -H unix://$D/sock save $IMG | python3 bench/dive-walk.py >$W/walk.out")
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
