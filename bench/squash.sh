#!/bin/bash
# Benchmark: strata squash of a generated image (LAYERS uncompressed layers,
# about TOTAL_MB in all, bench/make-squash-image.py) against
#  - the usual flatten: docker create + docker export | docker import;
#  - docker-squash's path, save -> squash -> load: the docker-squash package
#    is not in Debian, so it is stood in for by `docker save`, a Python merge
#    of the saved layers into one layer tar (bench/flatten-save.py) and
#    `docker load`;
#  - the floor: tar -x of the merged tree (the squashed layer) + sync.
# Every tool has its own freshly made ext4 loop mount (dockerd one each);
# loading the image is not timed; every timed command ends with sync; each is
# run twice (its output removed in between) and the faster run kept.
# Prints wall time, CPU time, peak RSS and the ratios.
#
# usage (root): [ARCHIVE=FILE] [RUN=strata] bench/squash.sh [LAYERS=10] [TOTAL_MB=1024]
# Needs: build/strata, dockerd (docker.io), python3, e2fsprogs.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
LAYERS=${1:-10}
TOTAL_MB=${2:-1024}
IMG=bench/squash:latest
RUNS=2

A=${ARCHIVE:-$W/archive.tar}
if [ ! -s "$A" ]; then
	echo "== making the image ($LAYERS layers, about $TOTAL_MB MB)"
	python3 bench/make-squash-image.py "$A" "$LAYERS" "$TOTAL_MB" "$IMG"
fi

# runs CLEANUP MEASURE-ARGS...: best of $RUNS, CLEANUP (a command line) after each
runs() {
	local undo=$1 i
	shift
	for i in $(seq "$RUNS"); do
		python3 bench/measure.py "$@"
		sh -c "$undo" >/dev/null
	done | sort -n | head -1
}

echo "== strata load (not timed), strata squash"
fresh_fs strata
R=$W/fs-strata/root
"$STRATA" --data-root "$R" load -q -i "$A" >/dev/null
cat "$A" >/dev/null
read -r s_wall s_cpu s_rss < <(runs "'$STRATA' --data-root '$R' rmi bench/squash:flat" \
	-- sh -c "'$STRATA' --data-root '$R' squash -t bench/squash:flat $IMG >/dev/null && sync")
"$STRATA" --data-root "$R" squash -t bench/squash:flat "$IMG" >/dev/null
"$STRATA" --data-root "$R" inspect --format '{{.Size}}' "$IMG" bench/squash:flat | tr '\n' ' ' >"$W/sizes"
echo "strata: image size, squashed size: $(cat "$W/sizes")"
if [ "${RUN:-}" = strata ]; then
	echo "strata squash: wall ${s_wall}s cpu ${s_cpu}s peak RSS $((s_rss / 1024)) MB"
	exit 0
fi
# the merged tree as one tar, for the floor: the squashed layer
"$STRATA" --data-root "$R" save bench/squash:flat | tar -C "$W" -xf - --wildcards '*/layer.tar'
MERGED=$(ls "$W"/*/layer.tar)

echo "== floor: tar -x of the merged tree + sync"
fresh_fs floor
cat "$MERGED" >/dev/null
read -r f_wall f_cpu f_rss < <(runs "rm -rf '$W/fs-floor/t' && sync" \
	-- sh -c "mkdir '$W/fs-floor/t' && tar -C '$W/fs-floor/t' -xf '$MERGED' && sync")

echo "== docker load (not timed), docker export | docker import"
fresh_fs docker
start_dockerd "$W/fs-docker"
$DOCKER load -q -i "$A" >/dev/null
cat "$A" >/dev/null
read -r e_wall e_cpu e_rss < <(runs "$DOCKER rm sqc; $DOCKER rmi bench/squash:exp" --daemon "$DPID" -- sh -c \
	"$DOCKER create --name sqc $IMG >/dev/null && $DOCKER export sqc | $DOCKER import - bench/squash:exp >/dev/null && sync")
stop_dockerd

echo "== docker load (not timed), docker save -> flatten-save.py -> docker load"
fresh_fs docker2
start_dockerd "$W/fs-docker2"
$DOCKER load -q -i "$A" >/dev/null
T=$W/fs-docker2
read -r l_wall l_cpu l_rss < <(runs "rm -f '$T/saved.tar' '$T/flat.tar'; $DOCKER rmi bench/squash:sl" --daemon "$DPID" -- sh -c \
	"$DOCKER save $IMG >'$T/saved.tar' && python3 bench/flatten-save.py '$T/saved.tar' '$T/flat.tar' bench/squash:sl && $DOCKER load -q -i '$T/flat.tar' >/dev/null && sync")
stop_dockerd

python3 - "$s_wall" "$s_cpu" "$s_rss" "$e_wall" "$e_cpu" "$e_rss" "$l_wall" "$l_cpu" "$l_rss" \
	"$f_wall" "$f_cpu" "$f_rss" <<'PY'
import sys
v = list(map(float, sys.argv[1:]))
rows = [("strata squash", v[0:3]), ("export|import", v[3:6]), ("save>sq>load *", v[6:9]), ("floor", v[9:12])]
print()
print(f"{'':16} {'wall s':>9} {'cpu s':>9} {'peak RSS MB':>12}")
for name, (w, c, r) in rows:
    print(f"{name:16} {w:9.2f} {c:9.2f} {r/1024:12.1f}")
sw = v[0]
print(f"export|import / strata: {v[3]/sw:.2f}x   save>sq>load / strata: {v[6]/sw:.2f}x   "
      f"strata / floor: {sw/v[9]:.2f}x")
print("* docker-squash stood in for by docker save + bench/flatten-save.py + docker load; "
      "floor: tar -x of the merged tree + sync")
PY
