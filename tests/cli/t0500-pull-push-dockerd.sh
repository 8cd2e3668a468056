#!/bin/bash
# strata pull / push against a real docker-registry and real dockerds:
#  - images pushed by dockerd (single layer; multi-layer with whiteouts,
#    hard links, empty layers) -> strata pull gives the image ID, diff IDs,
#    chain IDs, sizes and tar-split JSON content of `docker pull`;
#  - a dockerd started on the strata store runs the image and pushes it to
#    another repository with "Mounted from" / "Layer already exists";
#  - strata push -> `docker pull` by a fresh dockerd: same image ID, runs.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"

VERIFY=$VERIFY_STORE
export DOCKER_BUILDKIT=0
D=$(mktemp -d /tmp/s5.XXXX)   # short: unix socket paths
test_atexit "rm -rf '$D'"

store_ok() {
	strata --data-root "$1" check >check.out 2>&1 || { cat check.out; return 1; }
	python3 "$VERIFY" "$1" >verify.out 2>&1 || { cat verify.out; return 1; }
}

# tar-split content must match dockerd's exactly, including the final empty
# segment dockerd leaves out when a gzip'd layer has bytes after its archive end.

# layer_facts ROOT IMAGE: per layer "chain diff size parent" + decompressed tar-split
layer_facts() {
	local root=$1 id=$2 c l=$1/image/overlay2/layerdb/sha256
	for c in $(store_chain_ids "$root" "$id"); do
		printf '%s %s %s %s\n' "$c" "$(cat $l/$c/diff)" "$(cat $l/$c/size)" "$(cat $l/$c/parent 2>/dev/null)"
		gzip -dc "$l/$c/tar-split.json.gz" | sha256sum
	done
}

test_expect_success 'start a registry and a build dockerd; build and push images' '
	registry_start "$TRASH/reg" &&
	dockerd_start "$D/b" &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | docker import - busybox:local >/dev/null &&
	docker build -q -t seed "$TEST_FIXTURES/parity/seed" >/dev/null &&
	docker build -q -t size "$TEST_FIXTURES/docker-20.10/inputs/size" >/dev/null &&
	for i in busybox:local seed size; do
		n=${i%%:*} &&
		docker tag $i $REGISTRY/d/$n:v1 &&
		docker push $REGISTRY/d/$n:v1 >push-$n.out || return 1
	done &&
	dockerd_stop "$D/b"
'

test_expect_success 'docker pull of the same images in a fresh dockerd (the reference)' '
	dockerd_start "$D/p" &&
	for n in busybox seed size; do
		docker pull -q $REGISTRY/d/$n:v1 >/dev/null &&
		docker image inspect -f "{{.Id}}" $REGISTRY/d/$n:v1 >docker-$n.id || return 1
	done &&
	dockerd_stop "$D/p"
'

test_expect_success 'strata pull: same image ID, diff IDs, chain IDs, sizes, tar-split content' '
	for n in busybox seed size; do
		strata --data-root "$D/s/root" pull $REGISTRY/d/$n:v1 >pull-$n.out &&
		strata --data-root "$D/s/root" images -q --no-trunc $REGISTRY/d/$n:v1 >strata-$n.id &&
		test_cmp docker-$n.id strata-$n.id &&
		layer_facts "$D/p/root" "$(cat docker-$n.id)" >want &&
		layer_facts "$D/s/root" "$(cat strata-$n.id)" >got &&
		test_cmp want got || return 1
	done &&
	grep -q "^Status: Downloaded newer image for $REGISTRY/d/seed:v1$" pull-seed.out &&
	grep -q ": Already exists$" pull-seed.out &&
	store_ok "$D/s/root"
'

test_expect_success 'distribution metadata and references as docker pull wrote them' '
	for f in $(cd "$D/p/root/image/overlay2" && find distribution -type f); do
		test -f "$D/s/root/image/overlay2/$f" || { echo "missing $f"; return 1; }
	done &&
	python3 - "$D/p/root/image/overlay2/repositories.json" "$D/s/root/image/overlay2/repositories.json" <<-\PY
	import json, sys
	a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
	assert a == b, (a, b)
	PY
'

test_expect_success 'dockerd on the strata store runs the image and pushes with mounts' '
	dockerd_start "$D/s" &&
	docker run --rm --network none $REGISTRY/d/seed:v1 cat /opt/a/hello.txt >run.out &&
	echo hello >expect && test_cmp expect run.out &&
	docker tag $REGISTRY/d/seed:v1 $REGISTRY/other/seed:v1 &&
	docker push $REGISTRY/other/seed:v1 >dpush.out &&
	grep -q ": Mounted from d/seed$" dpush.out &&
	docker push $REGISTRY/d/seed:v1 >dpush2.out &&
	grep -q ": Layer already exists$" dpush2.out &&
	! grep -q ": Pushed$" dpush2.out &&
	dockerd_stop "$D/s" &&
	store_ok "$D/s/root"
'

test_expect_success 'strata push of an imported + tagged image -> docker pull by a fresh dockerd' '
	echo "#!/bin/sh" >bb/hi && echo "echo strata-pushed" >>bb/hi && chmod 755 bb/hi &&
	tar -C bb -cf - . | strata --data-root "$D/t/root" import -c "CMD [\"/hi\"]" - mine:1 >mine.id &&
	strata --data-root "$D/t/root" tag mine:1 $REGISTRY/s/mine:1 &&
	strata --data-root "$D/t/root" push $REGISTRY/s/mine:1 >push.out &&
	grep -q ": Pushed$" push.out &&
	strata --data-root "$D/t/root" push $REGISTRY/s/mine:1 >push2.out &&
	grep -q ": Layer already exists$" push2.out && ! grep -q ": Pushed$" push2.out &&
	strata --data-root "$D/t/root" tag mine:1 $REGISTRY/s/copy:1 &&
	strata --data-root "$D/t/root" push $REGISTRY/s/copy:1 >push3.out &&
	grep -q ": Mounted from s/mine$" push3.out &&
	grep -q "POST /v2/s/copy/blobs/uploads/?from=s%2Fmine&mount=" "$TRASH/reg/registry.log" &&
	store_ok "$D/t/root" &&
	dockerd_start "$D/q" &&
	docker pull $REGISTRY/s/mine:1 >dpull.out &&
	docker image inspect -f "{{.Id}}" $REGISTRY/s/mine:1 >got &&
	test_cmp mine.id got &&
	docker run --rm --network none $REGISTRY/s/mine:1 >run.out &&
	echo strata-pushed >expect && test_cmp expect run.out &&
	dockerd_stop "$D/q"
'

test_done
