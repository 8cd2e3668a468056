#!/bin/bash
# strata load / save against a real dockerd 20.10:
#   docker save (busybox-static import + one build step) -> strata load into a
#   fresh root: same image ID, diff IDs, chain IDs, sizes; a dockerd started
#   on that root runs the image and its docker save is byte-identical to the
#   original archive; strata save -> docker load into a fresh dockerd gives
#   the same IDs.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_LIB_DIR/store.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
VERIFY=$VERIFY_STORE

D1=$TRASH/d1
build() {
	dockerd_start "$D1" || return 77
	make_busybox_rootfs "$TRASH/rootfs" &&
		tar -C "$TRASH/rootfs" -cf - . | docker import - busybox:local >/dev/null &&
		mkdir -p "$TRASH/ctx" &&
		printf 'FROM busybox:local\nRUN mkdir -p /opt && echo hi >/opt/hi\nCOPY f.txt /f.txt\n' >"$TRASH/ctx/Dockerfile" &&
		echo small >"$TRASH/ctx/f.txt" &&
		DOCKER_BUILDKIT=0 docker build --network none -q -t small:1 "$TRASH/ctx" >/dev/null &&
		docker save small:1 busybox:local >"$TRASH/docker.tar" &&
		docker save small:1 >"$TRASH/small.tar" &&
		ID=$(docker inspect --format '{{.Id}}' small:1) &&
		docker inspect --format '{{json .RootFS.Layers}} {{.Size}}' small:1 >"$TRASH/d1.inspect" &&
		dockerd_stop "$D1"
}
build 2>"$TRASH/build.err"
rc=$?
[ $rc -eq 77 ] && skip_all "dockerd does not start here: $(tail -n 3 "$TRASH/build.err" | tr '\n' ' ')"
test_expect_success 'dockerd built and saved an image' '
	if [ $rc -ne 0 ]; then cat "$TRASH/build.err"; false; fi && test -n "$ID"
'
[ $rc -eq 0 ] || test_done

D2=$TRASH/d2
R=$D2/root
test_expect_success 'strata load of docker save into a fresh root' '
	strata --data-root "$R" load -i docker.tar >out &&
	grep -qx "Loaded image: small:1" out && grep -qx "Loaded image: busybox:local" out &&
	test -f "$(store_config_path "$R" "$ID")" &&
	python3 "$VERIFY" "$R" >v.out 2>&1 || { cat v.out; false; }
'
test_expect_success 'same diff IDs, chain IDs and sizes as dockerd' '
	for c in $(store_chain_ids "$R" "$ID"); do
		test -d "$R/image/overlay2/layerdb/sha256/$c" || return 1
	done &&
	strata --data-root "$R" images --no-trunc >imgs && grep -q "${ID#sha256:}" imgs &&
	python3 - "$R" "$ID" d1.inspect <<-\PY
	import hashlib, json, os, sys
	root, iid, insp = sys.argv[1], sys.argv[2][7:], open(sys.argv[3]).read().split()
	layers, size = json.loads(insp[0]), int(insp[1])
	img = os.path.join(root, "image/overlay2")
	cfg = json.load(open(os.path.join(img, "imagedb/content/sha256", iid)))
	assert cfg["rootfs"]["diff_ids"] == layers
	chain, total = None, 0
	for d in layers:
	    chain = d if chain is None else "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
	    total += int(open(os.path.join(img, "layerdb/sha256", chain[7:], "size")).read())
	assert total == size, (total, size)
	PY
'
test_expect_success 'dockerd on the strata-loaded root runs it and saves the same bytes' '
	dockerd_start "$D2" &&
	docker run --rm --network none small:1 sh -c true &&
	docker run --rm --network none small:1 cat /f.txt >f && echo small >expect && test_cmp expect f &&
	docker save small:1 >resaved.tar &&
	dockerd_stop "$D2" &&
	cmp small.tar resaved.tar
'
test_expect_success 'strata save of the loaded image equals docker save' '
	strata --data-root "$R" save small:1 >strata.tar && cmp small.tar strata.tar
'
D3=$TRASH/d3
test_expect_success 'strata save -> docker load into a fresh dockerd: same IDs' '
	strata --data-root "$R" save small:1 busybox:local >both.tar &&
	dockerd_start "$D3" &&
	docker load -i both.tar >out &&
	grep -qx "Loaded image: small:1" out &&
	test "$(docker inspect --format "{{.Id}}" small:1)" = "$ID" &&
	docker inspect --format "{{json .RootFS.Layers}} {{.Size}}" small:1 >d3.inspect &&
	test_cmp d1.inspect d3.inspect &&
	docker run --rm --network none small:1 sh -c true &&
	dockerd_stop "$D3"
'
if command -v skopeo >/dev/null; then
	test_set_prereq SKOPEO
else
	test_prereq_missing SKOPEO "skopeo not installed"
fi
test_expect_success SKOPEO 'strata save --format oci is read by skopeo' '
	strata --data-root "$R" save --format oci -o oci.tar small:1 &&
	skopeo inspect oci-archive:oci.tar >sk && grep -q "\"Os\": \"linux\"" sk
'
test_done
