#!/bin/bash
# The seed article's walk-through, end to end, without a daemon:
#   local registry on 127.0.0.1 -> busybox-static rootfs imported as a base ->
#   tag -> push (and push again to a sibling repository: "Mounted from") ->
#   pull into a second data root -> images --digests, inspect, history and
#   the store tree (imagedb, layerdb, distribution, repositories.json) ->
#   strata build of the seed's test image (parent chain, empty layers, the
#   layerdb chain each RUN/COPY made) -> the opening problem: a later RUN
#   that deletes does not shrink the image, one RUN does -> strata analyze
#   names the wasted bytes, strata squash removes them in place.
# Run as root on a fresh machine after `make` (scripts/install-deps.sh first).
# Everything lives in a temp dir that is removed at the end (KEEP=1 keeps it).
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
STRATA=${STRATA:-$HERE/build/strata}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
WORK=$(mktemp -d /tmp/strata-walkthrough.XXXXXX)
REG_PID=

section() { printf '\n==== %s ====\n' "$*"; }
run() {
	local shown=("$@")
	[ "$1" = S ] && shown=(strata --data-root "$A" "${@:2}")
	[ "$1" = "$STRATA" ] && shown=(strata "${@:2}")
	printf '$ %s\n' "${shown[*]}"
	"$@"
}

cleanup() {
	if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
		kill "$REG_PID"
		wait "$REG_PID" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "run as root (layer files are owned by root)" >&2; exit 1; }
[ -x "$STRATA" ] || { echo "build strata first (make)" >&2; exit 1; }
command -v docker-registry >/dev/null || { echo "apt-get install docker-registry" >&2; exit 1; }
[ -x "$BUSYBOX_BIN" ] || { echo "apt-get install busybox-static" >&2; exit 1; }

section "1. a local registry on 127.0.0.1"
PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$WORK/registry/data"
cat >"$WORK/registry/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/registry/data
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v2/', timeout=1)" \
		2>/dev/null && break
	sleep 0.1
done
REG=127.0.0.1:$PORT
echo "registry $REG (pid $REG_PID)"

A=$WORK/root-a   # the "build" machine
B=$WORK/root-b   # the machine that pulls
S() { "$STRATA" --data-root "$A" "$@"; }

section "2. a busybox-static rootfs, imported as the base image"
mkdir -p "$WORK/rootfs/bin"
cp "$BUSYBOX_BIN" "$WORK/rootfs/bin/busybox"
for a in cat cp echo ln ls mkdir mv rm sh touch; do ln -s busybox "$WORK/rootfs/bin/$a"; done
echo '$ tar -C rootfs -cf - . | strata import - busybox:local'
tar -C "$WORK/rootfs" -cf - . | S import -c 'CMD ["/bin/sh"]' - busybox:local
run S images

section "3. tag and push"
run S tag busybox:local "$REG/ref/seed-image:v1"
run S push "$REG/ref/seed-image:v1"

section "4. push again to a sibling repository: the layer is mounted, not uploaded"
run S tag busybox:local "$REG/other/seed-copy:v1"
run S push "$REG/other/seed-copy:v1"
echo "registry log, mount request:"
grep -o 'POST /v2/other/seed-copy/blobs/uploads/?from=[^ "]*' "$WORK/registry/log" || true

section "5. pull into a second data root"
run "$STRATA" --data-root "$B" pull "$REG/ref/seed-image:v1"

section "6. images --digests, inspect, history"
run "$STRATA" --data-root "$B" images --digests
run "$STRATA" --data-root "$B" inspect "$REG/ref/seed-image:v1"
run "$STRATA" --data-root "$B" history "$REG/ref/seed-image:v1"

section "7. the store on disk: $B"
(cd "$B" && find image overlay2 -path "*/diff/*" -prune -o -print | sort)
IMG=$(ls -d "$B"/image/* | head -n1)
for f in "$IMG/repositories.json" \
	"$IMG"/distribution/diffid-by-digest/sha256/* \
	"$IMG"/distribution/v2metadata-by-diffid/sha256/* \
	"$IMG"/layerdb/sha256/*/diff "$IMG"/layerdb/sha256/*/size "$IMG"/layerdb/sha256/*/cache-id; do
	printf '\n--- %s\n' "${f#"$B"/}"
	cat "$f"
	echo
done
printf '\n--- the image config (its sha256 is the image ID)\n'
cat "$IMG"/imagedb/content/sha256/*
echo
printf '\n--- tar-split.json.gz (first lines)\n'
gzip -dc "$IMG"/layerdb/sha256/*/tar-split.json.gz | head -n 3 | cut -c1-160

section "8. build the seed's test image: LABEL, two RUNs that add files, COPY a script, CMD"
mkdir -p "$WORK/ctx"
cat >"$WORK/ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox:local
LABEL maintainer="seed" purpose="layers demo"
RUN mkdir -p /opt && echo "first run" >/opt/one.txt
RUN echo "second run" >/opt/two.txt
COPY startService.sh /startService.sh
CMD ["/bin/sh", "/startService.sh"]
DOCKERFILE
printf '#!/bin/sh\ncat /opt/one.txt /opt/two.txt\n' >"$WORK/ctx/startService.sh"
cat "$WORK/ctx/Dockerfile"
run S build -t seed-image:latest "$WORK/ctx"
echo '(build it again: every step comes from the cache)'
run S build -t seed-image:latest "$WORK/ctx"

section "9. images -a (the intermediate images) and --digests (none for a built image)"
run S images -a
run S images --digests seed-image

section "10. the parent chain in imagedb/metadata: one image per instruction"
IMA=$(ls -d "$A"/image/* | head -n1)
id=$(S images -q --no-trunc seed-image:latest)
while [ -n "$id" ]; do
	hex=${id#sha256:}
	by=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["history"][-1].get("created_by", "(base)"))' \
		"$IMA/imagedb/content/sha256/$hex")
	printf '%.19s  %s\n' "$id" "$by"
	id=$(cat "$IMA/imagedb/metadata/sha256/$hex/parent" 2>/dev/null || true)
done

section "11. history: metadata steps are empty layers, RUN and COPY add one"
run S history seed-image:latest
python3 - "$IMA/imagedb/content/sha256/$(S images -q --no-trunc seed-image:latest | cut -c8-)" <<'PY'
import json, sys
for h in json.load(open(sys.argv[1]))["history"]:
    print("empty_layer" if h.get("empty_layer") else "layer      ", h.get("created_by", h.get("comment", "")))
PY

section "12. which layerdb chain each RUN and COPY made"
run S inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' seed-image:latest
for c in "$IMA"/layerdb/sha256/*; do
	printf '%.19s  diff %.19s  size %s  parent %.19s\n' "sha256:${c##*/}" "$(cat "$c/diff")" \
		"$(cat "$c/size")" "$(cat "$c/parent" 2>/dev/null || echo -)"
done

echo "the image runs its CMD:"
run S run --rm seed-image:latest

section "13. the opening problem: deleting in a later RUN does not shrink the image"
mkdir -p "$WORK/big" "$WORK/fixed"
cat >"$WORK/big/Dockerfile" <<'DOCKERFILE'
FROM busybox:local
RUN busybox dd if=/dev/zero of=/big.bin bs=1024 count=5120 2>/dev/null
RUN rm /big.bin
DOCKERFILE
cat >"$WORK/fixed/Dockerfile" <<'DOCKERFILE'
FROM busybox:local
RUN busybox dd if=/dev/zero of=/big.bin bs=1024 count=5120 2>/dev/null && rm /big.bin
DOCKERFILE
cat "$WORK/big/Dockerfile"
run S build -q -t grows:latest "$WORK/big"
echo "the rm is a layer of its own (a whiteout); the 5 MB stay in the layer below it:"
run S history grows:latest
echo
cat "$WORK/fixed/Dockerfile"
run S build -q -t fixed:latest "$WORK/fixed"
run S history fixed:latest
run S images grows
run S images fixed

section "14. why it does not shrink, and fixing it in place"
echo "strata analyze reads only the layers' tar-split: which bytes each layer adds that a later one hides"
run S analyze --top 3 grows:latest
echo "strata squash merges the layers above the base into one, straight from the driver folders:"
run S squash --keep-base busybox:local -t grows:squashed grows:latest
run S images grows

section "15. check both stores"
run S check
run "$STRATA" --data-root "$B" check

section "done: stopping the registry (pid $REG_PID)"
