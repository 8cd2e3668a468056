#!/bin/bash
# Benchmark: strata pull/push vs docker pull/push of the same multi-layer
# image (gzip'd layers cut from /usr/share, >= 500 MB uncompressed) through
# a local docker-registry on 127.0.0.1, side by side in one run.
#
#   seed:  the archive -> `strata load` (scratch root) -> `strata push` to the
#          source registry REG as REG/bench/usr:latest (not timed)
#   pull:  `strata --data-root MNT/root pull` vs `docker pull` by a fresh
#          dockerd, each on its own freshly made ext4 loop mount
#   push:  the pulled image, tagged into a new repository, pushed by each tool
#          from its own store to its own new, empty registry (storage on a
#          fresh ext4 loop mount), so every layer is uploaded, none mounted
#          or skipped; dockerd is restarted first so its peak RSS is the
#          push's alone
#
# Prints wall time, CPU time (user+sys; dockerd's includes containerd) and
# peak RSS (dockerd + containerd + the client) for each tool, and the ratios,
# and the pull floor: every layer blob downloaded from the same registry with
# curl and inflated (ISA-L igzip -d when installed, else gzip -d) straight into
# GNU tar -x, one pipeline per layer, one per CPU at a time, + sync, on an
# equally fresh filesystem.
#
# usage (root): [ARCHIVE=FILE] [RUN=strata] bench/pull-push.sh [SRC_DIR=/usr/share] [LAYERS=6]
#   ARCHIVE=FILE  reuse a docker-archive made earlier by bench/make-archive.py
#                 (made, and kept, there when missing)
#   RUN=strata    strata only (e.g. under perf)
# Needs: build/strata, dockerd + containerd (docker.io), docker-registry,
# python3, e2fsprogs.  Everything listens on 127.0.0.1 only; everything it
# starts is stopped by PID, every mount unmounted, on any exit.
set -eu
cd "$(dirname "$0")/.."
SRC=${1:-/usr/share}
LAYERS=${2:-6}
REPO=$PWD
W=$(mktemp -d /tmp/spp.XXXXXX) # short: unix socket paths
# a private copy: other work may rebuild build/strata during the run
cp build/strata "$W/strata"
STRATA=$W/strata
export HOME=$W/home DOCKER_CONFIG=$W/home/.docker
mkdir -p "$DOCKER_CONFIG"
printf '{}\n' >"$W/strata.json"
S() { "$STRATA" --config "$W/strata.json" "$@"; }

# tests/lib/dockerd.sh: registry_start/stop, dockerd_start/stop (by PID);
# their clean-ups are collected here through test_atexit.
CLEANUPS=()
test_atexit() { CLEANUPS+=("$1"); }
. tests/lib/dockerd.sh
cleanup() {
	local i m
	set +e
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[i]}" >/dev/null 2>&1; done
	for m in "$W"/fs-*; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fresh_fs() {
	truncate -s 12G "$W/$1.img"
	mkfs.ext4 -q -F "$W/$1.img"
	mkdir -p "$W/fs-$1"
	mount -o loop "$W/$1.img" "$W/fs-$1"
}
drop_fs() {
	umount "$W/fs-$1" && rm -f "$W/$1.img" && rmdir "$W/fs-$1"
}
warm() { find "$1" -type f -exec cat {} + >/dev/null; } # same warm page cache for both tools

A=${ARCHIVE:-$W/archive.tar}
if [ ! -s "$A" ]; then
	echo "== making the archive from $SRC ($LAYERS gzip layers) -> $A"
	python3 bench/make-archive.py "$SRC" "$A" "$LAYERS" bench/usr:latest
fi

echo "== seeding the source registry (strata load + strata push; not timed)"
registry_start "$W/reg-src"
REG=$REGISTRY
fresh_fs seed
S --data-root "$W/fs-seed/root" load -q -i "$A" >/dev/null
S --data-root "$W/fs-seed/root" tag bench/usr:latest "$REG/bench/usr:latest"
S --data-root "$W/fs-seed/root" push "$REG/bench/usr:latest" >"$W/seed-push.log"
drop_fs seed

IMG=$REG/bench/usr:latest
# manifest facts from a registry: "LAYERS COMPRESSED_BYTES CONFIG_DIGEST"
manifest_facts() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys, urllib.request
reg, repo, tag = sys.argv[1:]
req = urllib.request.Request(f"http://{reg}/v2/{repo}/manifests/{tag}", headers={"Accept":
      "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
m = json.load(urllib.request.urlopen(req))
print(len(m["layers"]), sum(l["size"] for l in m["layers"]), m["config"]["digest"])
PY
}
read -r src_layers src_bytes src_config < <(manifest_facts "$REG" bench/usr latest)
echo "   $IMG: $src_layers layers, $((src_bytes / 1000000)) MB compressed, config $src_config"

# ---- pull ------------------------------------------------------------------
echo "== floor: curl | igzip -d | tar -x of each layer blob into its own folder + sync"
python3 - "$REG" bench/usr latest >"$W/blobs" <<'PY'
import json, sys, urllib.request
reg, repo, tag = sys.argv[1:]
req = urllib.request.Request(f"http://{reg}/v2/{repo}/manifests/{tag}", headers={"Accept":
      "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
for l in json.load(urllib.request.urlopen(req))["layers"]:
    print(f"http://{reg}/v2/{repo}/blobs/{l['digest']}")
PY
fresh_fs floor
cat >"$W/floor.sh" <<'SH'
#!/bin/bash
# download blob URL $2, inflate it, extract it into $1/<digest>
set -eo pipefail
dir=$1/${2##*:} && mkdir -p "$dir"
if command -v igzip >/dev/null; then inflate="igzip -dc"; else inflate="gzip -dc"; fi
curl -sf "$2" | $inflate | tar -C "$dir" -xf -
SH
chmod +x "$W/floor.sh"
warm "$W/reg-src/data"
read -r fp_wall fp_cpu fp_rss < <(python3 bench/measure.py -- sh -c \
	"xargs -P $(nproc) -n 1 '$W/floor.sh' '$W/fs-floor' <'$W/blobs' && sync")
command -v igzip >/dev/null && inflater=igzip || inflater="gzip (igzip not installed)"
echo "   floor: wall ${fp_wall}s cpu ${fp_cpu}s (curl | $inflater | tar -x, + sync)"
drop_fs floor

echo "== strata pull"
fresh_fs strata
warm "$W/reg-src/data"
read -r sp_wall sp_cpu sp_rss < <(python3 bench/measure.py -- "$STRATA" --config "$W/strata.json" \
	--data-root "$W/fs-strata/root" pull -q "$IMG")
s_facts=$(S --data-root "$W/fs-strata/root" inspect -f '{{.Id}} {{.Size}} {{len .RootFS.Layers}}' "$IMG")
echo "   strata: wall ${sp_wall}s cpu ${sp_cpu}s peak RSS $((sp_rss / 1024)) MB; image $s_facts"
S --data-root "$W/fs-strata/root" check >/dev/null || { echo "strata check failed after pull" >&2; exit 1; }

if [ "${RUN:-}" != strata ]; then
	echo "== docker pull"
	fresh_fs docker
	D=$W/fs-docker
	dockerd_start "$D"
	warm "$W/reg-src/data"
	read -r dp_wall dp_cpu dp_rss < <(python3 bench/measure.py --daemon "$(cat "$D/dockerd.spawned-pid")" -- \
		/usr/bin/docker pull -q "$IMG")
	d_facts=$(/usr/bin/docker image inspect -f '{{.Id}} {{.Size}} {{len .RootFS.Layers}}' "$IMG")
	echo "   docker: wall ${dp_wall}s cpu ${dp_cpu}s peak RSS $((dp_rss / 1024)) MB; image $d_facts"
	[ "$s_facts" = "$d_facts" ] || { echo "strata and docker pulled different images" >&2; exit 1; }
fi
[ "${s_facts%% *}" = "$src_config" ] || { echo "pulled image ID is not the registry's config digest" >&2; exit 1; }

# ---- push ------------------------------------------------------------------
# each tool to its own new, empty registry (storage on a fresh mount), so
# nothing is mounted from bench/usr or found already there
echo "== strata push"
fresh_fs rstrata
registry_start "$W/fs-rstrata"
RS=$REGISTRY
S --data-root "$W/fs-strata/root" tag "$IMG" "$RS/bench/strata-push:latest"
read -r su_wall su_cpu su_rss < <(python3 bench/measure.py -- "$STRATA" --config "$W/strata.json" \
	--data-root "$W/fs-strata/root" push "$RS/bench/strata-push:latest")
read -r n bytes cfg < <(manifest_facts "$RS" bench/strata-push latest)
echo "   strata: wall ${su_wall}s cpu ${su_cpu}s peak RSS $((su_rss / 1024)) MB; pushed $n layers, $((bytes / 1000000)) MB compressed"
[ "$n" = "$src_layers" ] && [ "$cfg" = "$src_config" ] || { echo "strata push: wrong manifest" >&2; exit 1; }

if [ "${RUN:-}" = strata ]; then
	echo "strata pull: wall ${sp_wall}s cpu ${sp_cpu}s peak RSS $((sp_rss / 1024)) MB ($(python3 -c "print(f'{$sp_wall/$fp_wall:.2f}')")x the floor's ${fp_wall}s)"
	echo "strata push: wall ${su_wall}s cpu ${su_cpu}s peak RSS $((su_rss / 1024)) MB"
	exit 0
fi

echo "== docker push"
fresh_fs rdocker
registry_start "$W/fs-rdocker"
RD=$REGISTRY
dockerd_stop "$D" # a fresh dockerd: its peak RSS is the push's alone
dockerd_start "$D"
/usr/bin/docker tag "$IMG" "$RD/bench/docker-push:latest"
read -r du_wall du_cpu du_rss < <(python3 bench/measure.py --daemon "$(cat "$D/dockerd.spawned-pid")" -- \
	/usr/bin/docker push "$RD/bench/docker-push:latest")
read -r n bytes cfg < <(manifest_facts "$RD" bench/docker-push latest)
echo "   docker: wall ${du_wall}s cpu ${du_cpu}s peak RSS $((du_rss / 1024)) MB; pushed $n layers, $((bytes / 1000000)) MB compressed"
[ "$n" = "$src_layers" ] && [ "$cfg" = "$src_config" ] || { echo "docker push: wrong manifest" >&2; exit 1; }
# every blob (layers + config) really uploaded by both, none mounted
for r in rstrata rdocker; do
	up=$(grep -c '"PUT /v2/bench/[a-z-]*/blobs/uploads/' "$W/fs-$r/registry.log" || true)
	mnt=$(grep -c 'mount=' "$W/fs-$r/registry.log" || true)
	echo "   registry for ${r#r}: $up blob uploads completed, $mnt mount requests"
	[ "$up" -ge "$src_layers" ] && [ "$mnt" = 0 ] || { echo "push to $r did not upload everything" >&2; exit 1; }
done

python3 - "$s_facts" "$src_bytes" "$sp_wall" "$sp_cpu" "$sp_rss" "$dp_wall" "$dp_cpu" "$dp_rss" \
	"$su_wall" "$su_cpu" "$su_rss" "$du_wall" "$du_cpu" "$du_rss" "$fp_wall" "$fp_cpu" <<'PY'
import sys
facts, comp = sys.argv[1], int(sys.argv[2])
v = list(map(float, sys.argv[3:15]))
fw, fc = map(float, sys.argv[15:17])
size, nl = int(facts.split()[1]), facts.split()[2]
print()
print(f"image: {nl} gzip layers, {size/1e6:.0f} MB uncompressed, {comp/1e6:.0f} MB compressed")
print(f"{'':14} {'wall s':>9} {'cpu s':>9} {'peak RSS MB':>12}")
for phase, (sw, sc, sr, dw, dc, dr) in (("pull", v[0:6]), ("push", v[6:12])):
    print(f"{phase + ' strata':14} {sw:9.2f} {sc:9.2f} {sr/1024:12.1f}")
    print(f"{phase + ' dockerd':14} {dw:9.2f} {dc:9.2f} {dr/1024:12.1f}")
    print(f"{phase + ' ratio':14} {dw/sw:8.2f}x {dc/sc:8.2f}x {100*sr/dr:11.1f}%")
    if phase == "pull":
        print(f"{'pull floor':14} {fw:9.2f} {fc:9.2f}   (curl | inflate | tar -x, + sync)")
print("(ratio: docker/strata for wall and CPU; strata's peak RSS as % of dockerd's)")
print(f"strata pull is {v[0]/fw:.2f}x the pull floor's wall time")
PY
