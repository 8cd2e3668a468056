#!/bin/bash
# Benchmark: strata load vs docker load of the same multi-layer archive
# (gzip'd layers cut from a copy of /usr, >= 500 MB uncompressed), each into
# a fresh store on its own freshly made ext4 loop mount, in one run.
# Prints wall time, CPU time (user+sys), peak RSS and the ratios, and the
# floor: the same layer tars extracted by GNU tar into separate folders (in
# parallel, one per CPU; gzip'd ones through igzip when installed) + sync,
# on an equally fresh filesystem.
#
# usage (root): [COMPRESS=gzip|none] [ARCHIVE=FILE] bench/load.sh [SRC_DIR=/usr] [LAYERS=6]
# (RUN=strata runs strata only)
# Needs: build/strata, dockerd (docker.io), python3, e2fsprogs.
set -eu
cd "$(dirname "$0")/.."
SRC=${1:-/usr}
LAYERS=${2:-6}
. bench/lib.sh

# ARCHIVE=FILE reuses an archive made earlier (it is made when missing).
A=${ARCHIVE:-$W/archive.tar}
if [ ! -s "$A" ]; then
	echo "== making the archive from $SRC ($LAYERS ${COMPRESS:-gzip} layers)"
	COMPRESS=${COMPRESS:-gzip} python3 bench/make-archive.py "$SRC" "$A" "$LAYERS" bench/usr:latest
fi
cat "$A" >/dev/null # same warm page cache for both tools

echo "== strata load"
fresh_fs strata
read -r s_wall s_cpu s_rss < <(python3 bench/measure.py -- "$STRATA" --data-root "$W/fs-strata/root" load -q -i "$A")

if [ "${RUN:-}" = strata ]; then
	echo "strata: wall ${s_wall}s cpu ${s_cpu}s peak RSS $((s_rss / 1024)) MB"
	exit 0
fi
echo "== floor: tar -x of each layer into its own folder + sync"
mkdir -p "$W/layers" && tar -C "$W/layers" -xf "$A"
fresh_fs floor
cat >"$W/floor.sh" <<'SH'
#!/bin/bash
# extract layer tar $2 into folder $1/<n>
set -e
dir=$1/$(basename "$(dirname "$2")") && mkdir -p "$dir"
if [ "$(head -c 2 "$2" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
	if command -v igzip >/dev/null; then igzip -dc "$2"; else gzip -dc "$2"; fi | tar -C "$dir" -xf -
else
	tar -C "$dir" -xf "$2"
fi
SH
chmod +x "$W/floor.sh"
ls "$W"/layers/*/layer.tar | cat >/dev/null
read -r f_wall f_cpu f_rss < <(python3 bench/measure.py -- sh -c \
	"ls '$W'/layers/*/layer.tar | xargs -P $(nproc) -n 1 '$W/floor.sh' '$W/fs-floor' && sync")

echo "== docker load"
fresh_fs docker
start_dockerd "$W/fs-docker"
read -r d_wall d_cpu d_rss < <(python3 bench/measure.py --daemon "$DPID" -- $DOCKER load -q -i "$A")

python3 - "$s_wall" "$s_cpu" "$s_rss" "$d_wall" "$d_cpu" "$d_rss" "$f_wall" "$f_cpu" "$f_rss" <<'PY'
import sys
sw, sc, sr, dw, dc, dr, fw, fc, fr = map(float, sys.argv[1:])
print()
print(f"{'':10} {'wall s':>9} {'cpu s':>9} {'peak RSS MB':>12}")
print(f"{'strata':10} {sw:9.2f} {sc:9.2f} {sr/1024:12.1f}")
print(f"{'dockerd':10} {dw:9.2f} {dc:9.2f} {dr/1024:12.1f}")
print(f"{'floor':10} {fw:9.2f} {fc:9.2f} {fr/1024:12.1f}   (tar -x + sync)")
print(f"{'ratio':10} {dw/sw:8.2f}x {dc/sc:8.2f}x {100*sr/dr:11.1f}%  (docker/strata; strata RSS as % of dockerd's)")
print(f"strata is {sw/fw:.2f}x the floor's wall time")
PY
