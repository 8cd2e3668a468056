#!/bin/bash
# A command killed at any point leaves nothing that the next write command
# does not finish or roll back: after it, `strata check` is clean without
# --repair, and the images are the ones a clean run gives.  The kill points
# are every rename, fsync and syncfs of load, tag and rmi (strace's fault
# injection kills the process at the Nth one), plus leftovers written by hand;
# dockerd then reads a store recovered after a killed load.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/crashpoints.sh"
. "$TEST_LIB_DIR/dockerd.sh"

A=$TEST_FIXTURES/corpus/images/docker-archive/ggcr-whiteout_image.tar
B=$TEST_FIXTURES/corpus/images/docker-archive/ggcr-test_image_1.tar
S() { strata --data-root "$@"; }
clean() { # ROOT SUMMARY: check passes without --repair
	echo "$2: 0 problems" >expect && S "$1" check >out && test_cmp expect out
}

test_expect_success 'set-up: the images and their IDs from clean runs' '
	S ref load -i "$A" >load-a.out && S ref load -i "$B" >load-b.out &&
	S ref images -q --no-trunc | LC_ALL=C sort >ids.ref &&
	test_line_count ids.ref 2 &&
	IMG_A=$(S ref images -q --no-trunc bazel/pkg/v1/mutate:whiteout_image) && test -n "$IMG_A" &&
	IMG_B=$(grep -v -x "$IMG_A" ids.ref) && test -n "$IMG_B" &&
	S ref check >check.ref && grep -q "^2 images, [0-9]* layers checked: 0 problems$" check.ref &&
	SUM=$(sed "s/: 0 problems//" check.ref)
'

test_expect_success 'leftovers of dead writers are gone after the next write command' '
	S s load -i "$A" >/dev/null && S s load -i "$B" >/dev/null &&
	I=s/image/$(ls s/image) &&
	mkdir -p $I/layerdb/tmp/write-set-0123456789abcdef-4242/x $I/layerdb/tmp/load-4242 &&
	printf partial >$I/layerdb/tmp/pull-$(printf %064d 7).partial &&
	printf {} >$I/imagedb/content/sha256/.tmp-$(printf %064d 1).4242 &&
	printf {} >$I/.tmp-repositories.json.4242 &&
	must_fail S s check >/dev/null &&
	S s tag "$IMG_A" x:1 &&
	clean s "$SUM" &&
	echo pull-$(printf %064d 7).partial >expect && ls $I/layerdb/tmp >out && test_cmp expect out
'

test_expect_success 'an image removal interrupted after its config went is finished' '
	chains=$(store_chain_ids s "$IMG_A" | tac) && T=$(echo "$chains" | head -n 1) &&
	caches=$(for c in $chains; do cat $I/layerdb/sha256/$c/cache-id; echo; done) &&
	{ echo "$IMG_A"; for c in $chains; do echo sha256:$c; done; } >$I/layerdb/tmp/release-4242 &&
	# rmi -f untags first (both its names), then records the intent and removes the config
	python3 -c "import json,sys; p=sys.argv[1]; r=json.load(open(p)); [r[\"Repositories\"].pop(n) for n in (\"bazel/pkg/v1/mutate\", \"x\")]; json.dump(r, open(p, \"w\"))" $I/repositories.json &&
	rm $I/imagedb/content/sha256/${IMG_A#sha256:} && rm -rf $I/imagedb/metadata/sha256/${IMG_A#sha256:} &&
	mv $I/layerdb/sha256/$T $I/layerdb/sha256/$T-4242-removing &&
	S s tag "$IMG_B" y:1 &&
	for c in $caches; do test -z "$(find s -mindepth 1 -maxdepth 3 -name "$c")" || return 1; done &&
	test -z "$(ls $I/layerdb/tmp | grep -v partial)" &&
	S s check >out && grep -q "^1 images, [0-9]* layers checked: 0 problems$" out
'
test_expect_success 'a release intent whose image is still there removes nothing' '
	rm -rf s && S s load -i "$A" >/dev/null &&
	{ echo "$IMG_A"; store_chain_ids s "$IMG_A" | tac | sed s/^/sha256:/; } >$I/layerdb/tmp/release-4242 &&
	S s tag "$IMG_A" z:1 && test ! -e $I/layerdb/tmp/release-4242 &&
	S s save "$IMG_A" >/dev/null && S s check >out && grep -q ": 0 problems$" out
'

test_expect_success STRACE 'load killed at every rename and fsync: the next load gives the same images' '
	AFTER="S s load -i \"\$A\" >out && test_cmp load-a.out out && S s load -i \"\$B\" >out && test_cmp load-b.out out" &&
	VERIFY="S s images -q --no-trunc | LC_ALL=C sort >ids && test_cmp ids.ref ids && clean s \"\$SUM\"" &&
	sweep "mkdir base" load -i "$A"
'
test_expect_success STRACE 'tag killed at every point: the next write leaves a clean store' '
	AFTER="S s tag \"\$IMG_A\" after:1" &&
	VERIFY="clean s \"\$SUM\" && S s images --format \"{{.Repository}}:{{.Tag}}\" | grep -q -x after:1" &&
	sweep "S base load -i \"\$A\" >/dev/null && S base load -i \"\$B\" >/dev/null" tag "$IMG_A" new:1
'
test_expect_success STRACE 'rmi killed at every point: the next write finishes the removal or keeps the image whole' '
	AFTER="S s tag \"\$IMG_B\" after:1" &&
	VERIFY="S s check >out && grep -q -x -e \"\$SUM: 0 problems\" -e \"1 images, [0-9]* layers checked: 0 problems\" out &&
		S s images -q --no-trunc >ids && grep -q -x \"\$IMG_B\" ids &&
		{ ! grep -q -x \"\$IMG_A\" ids || S s save \"\$IMG_A\" >/dev/null; }" &&
	sweep "S base load -i \"\$A\" >/dev/null && S base load -i \"\$B\" >/dev/null" rmi -f "$IMG_A"
'
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

test_expect_success STRACE,DOCKERD 'dockerd reads what the next write recovered after a killed load' '
	rm -rf d && mkdir -p d && S d/root load -i "$A" >/dev/null &&
	how=$(killed_at 10 d/root load -i "$B") && test "$how" = killed &&
	S d/root load -i "$B" >out && test_cmp load-b.out out && clean d/root "$SUM" &&
	dockerd_start d &&
	docker images -q --no-trunc | LC_ALL=C sort >ids && test_cmp ids.ref ids &&
	docker save "$IMG_A" "$IMG_B" >saved.tar && test -s saved.tar &&
	dockerd_stop d
'
test_done
