#!/bin/bash
# One damaged image costs only itself: listings skip it with a warning,
# commands on other images work, a command that names it fails with what is
# wrong, rmi removes it, and check --repair leaves a store where every intact
# image works under strata and dockerd.  Readers beside a writer never fail
# because of an image they did not ask for, and check waits for writers
# instead of reporting their staging.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/dockerd.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root)"

A=$TEST_FIXTURES/corpus/images/docker-archive/ggcr-whiteout_image.tar
B=$TEST_FIXTURES/corpus/images/docker-archive/ggcr-test_image_1.tar
NAME_A=bazel/pkg/v1/mutate:whiteout_image
NAME_B=bazel/v1/tarball:test_image_1
S() { local r=$1; shift; strata --data-root "$r" "$@"; }
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

test_expect_success 'set-up: two images' '
	S s load -i "$A" >/dev/null && S s load -i "$B" >/dev/null &&
	IMG_A=$(S s images -q --no-trunc $NAME_A) && IMG_B=$(S s images -q --no-trunc $NAME_B) &&
	test -n "$IMG_A" && test -n "$IMG_B" &&
	I=image/$(ls s/image) && CFG_A=$I/imagedb/content/sha256/${IMG_A#sha256:} &&
	S s images >images.ref && S s inspect $NAME_B >inspect-b.ref && S s history $NAME_B >history-b.ref &&
	S s save $NAME_B >b.ref.tar
'

# damage CMD: $C is a fresh copy of the store with CMD run inside it
damage() { C=$TRASH/c && rm -rf "$C" && cp -a s "$C" && (cd "$C" && eval "$1"); }
# the other image is untouched by the damage
other_image_works() {
	grep -v "^bazel/pkg" images.ref | tr -s " " >expect && S "$C" images 2>err | tr -s " " >out && test_cmp expect out &&
	grep -q "^WARNING: skipped damaged image $IMG_A: " err &&
	S "$C" inspect $NAME_B | sed "s|$C/|$TRASH/s/|g" >out && test_cmp inspect-b.ref out &&
	S "$C" history $NAME_B >out && test_cmp history-b.ref out &&
	S "$C" save $NAME_B >b.tar && cmp b.ref.tar b.tar
}

for how in flipped empty; do
	case $how in
	flipped) cmd='python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,\"rb\").read()); b[10]^=1; open(p,\"wb\").write(b)" $CFG_A' ;;
	empty) cmd=': >$CFG_A' ;;
	esac
	test_expect_success "a $how config: the other image works, naming the damaged one says why" "
		damage '$cmd' && other_image_works &&
		must_fail S \"\$C\" inspect $NAME_A 2>err &&
		grep -q \"^Error: image \$IMG_A is damaged: image config .* is corrupted\" err &&
		must_fail S \"\$C\" save $NAME_A >/dev/null 2>err && grep -q \"is damaged\" err
	"
	test_expect_success "a $how config: rmi removes it, check --repair cleans what it left" "
		S \"\$C\" rmi $NAME_A >out &&
		printf 'Untagged: %s\nDeleted: %s\n' $NAME_A \$IMG_A >expect && test_cmp expect out &&
		S \"\$C\" images 2>err | tr -s ' ' >out && test ! -s err && grep -v '^bazel/pkg' images.ref | tr -s ' ' >expect && test_cmp expect out &&
		S \"\$C\" check --repair >/dev/null && S \"\$C\" check >out && echo '1 images, 1 layers checked: 0 problems' >expect &&
		test_cmp expect out && S \"\$C\" save $NAME_B >b.tar && cmp b.ref.tar b.tar
	"
done

test_expect_success 'rmi of a damaged image by ID needs -f while two names point at it' '
	damage ": >\$CFG_A" && S "$C" tag $NAME_A second:1 2>/dev/null;
	# tag resolves the source: a damaged source is refused with the reason
	must_fail S "$C" tag $NAME_A second:1 2>err && grep -q "is damaged" err &&
	python3 -c "import json,sys; p=sys.argv[1]; r=json.load(open(p)); r[\"Repositories\"][\"second\"]={\"second:1\": sys.argv[2]}; json.dump(r, open(p,\"w\"))" "$C/$I/repositories.json" "$IMG_A" &&
	must_fail S "$C" rmi ${IMG_A#sha256:} 2>err &&
	grep -q "^Error.*conflict: unable to delete ${IMG_A:7:12} (must be forced) - image is referenced in multiple repositories" err &&
	S "$C" rmi -f ${IMG_A:7:12} >out &&
	printf "Untagged: %s\nUntagged: second:1\nDeleted: %s\n" $NAME_A $IMG_A >expect && LC_ALL=C sort expect >e && LC_ALL=C sort out >o &&
	test_cmp e o
'

test_expect_success 'a hostile cache-id: the other image works, check --repair restores it' '
	T=$(store_chain_ids s "$IMG_A" | tail -n 1) &&
	damage "printf ../../../../tmp/x >$I/layerdb/sha256/$T/cache-id" && other_image_works &&
	must_fail S "$C" inspect $NAME_A 2>err && grep -q "is damaged" err &&
	S "$C" check --repair >/dev/null && S "$C" check >out && grep -q ": 0 problems$" out &&
	S "$C" images | tr -s " " >out && tr -s " " <images.ref >expect && test_cmp expect out &&
	S "$C" save $NAME_A >/dev/null
'

test_expect_success DOCKERD 'after repair, dockerd lists and saves the intact image' '
	damage ": >\$CFG_A" && S "$C" rmi $NAME_A >/dev/null && S "$C" check --repair >/dev/null &&
	mkdir -p d && cp -a "$C" d/root &&
	dockerd_start d && docker images --format "{{.Repository}}:{{.Tag}} {{.ID}}" >out &&
	echo "$NAME_B ${IMG_B:7:12}" >expect && test_cmp expect out &&
	docker save $NAME_B >/dev/null && dockerd_stop d
'

# a loop of loads and removals of image A in the background, up to N rounds
writer_loop() {
	for _ in $(seq 40); do
		S s load -i "$A" >/dev/null && S s rmi $NAME_A >/dev/null || { echo "writer failed" >writer.err; return 1; }
	done
}

test_expect_success 'a truncated container config: info counts the other containers and says which it skipped, inspect and ps skip it' '
	damage "mkdir -p containers/$(printf %064d 1) containers/$(printf %064d 2) $I/layerdb/mounts/$(printf %064d 1) &&
		printf %064d 9 >$I/layerdb/mounts/$(printf %064d 1)/mount-id" &&
	echo "{\"ID\":\"$(printf %064d 1)\",\"Image\":\"$IMG_B\",\"State\":{\"Running\":false}}" \
		>"$C/containers/$(printf %064d 1)/config.v2.json" &&
	echo "{\"ID\":\"$(printf %064d 2)\",\"Image\":\"$IMG_B\",\"Sta" \
		>"$C/containers/$(printf %064d 2)/config.v2.json" &&
	S "$C" info >out 2>err &&
	grep -qx " Containers: 1" out && grep -qx "  Stopped: 1" out && grep -qx " Images: 2" out &&
	grep -q "^WARNING: skipped damaged container $(printf %064d 2): .*config" err &&
	test_line_count err 1 &&
	S "$C" info --format "{{.Containers}} {{len .Warnings}}" >out 2>err &&
	echo "1 1" >expect && test_cmp expect out && test_line_count err 1 &&
	S "$C" inspect --format "{{.Id}}" $NAME_B >out && echo "$IMG_B" >expect && test_cmp expect out &&
	S "$C" ps -a -q --no-trunc >out && printf "%064d\n" 1 >expect && test_cmp expect out &&
	S s info --format "{{.Containers}} {{json .Warnings}}" >out 2>err &&
	echo "0 null" >expect && test_cmp expect out && test_line_count err 0
'

test_expect_success 'readers of image B beside loads and removals of image A never fail' '
	rm -f writer.err && { writer_loop & } && wpid=$! && fails=0 rounds=0 &&
	while kill -0 $wpid 2>/dev/null; do
		S s images >/dev/null 2>>reader.err || fails=$((fails + 1))
		S s inspect $NAME_B >/dev/null 2>>reader.err || fails=$((fails + 1))
		S s history $NAME_B >/dev/null 2>>reader.err || fails=$((fails + 1))
		rounds=$((rounds + 1))
	done &&
	wait $wpid && test ! -e writer.err &&
	say "$rounds rounds of readers, $fails failures" &&
	{ test $fails -eq 0 || { cat reader.err; false; }; } &&
	test $rounds -gt 5
'

test_expect_success 'check beside loads and removals reports nothing' '
	S s load -i "$A" >/dev/null && S s rmi $NAME_A >/dev/null &&
	rm -f writer.err && { writer_loop & } && wpid=$! && reports=0 rounds=0 &&
	while kill -0 $wpid 2>/dev/null; do
		S s check >check.out 2>&1 || { reports=$((reports + 1)); cat check.out >>check.all; }
		rounds=$((rounds + 1))
	done &&
	wait $wpid && test ! -e writer.err &&
	say "$rounds checks, $reports with problems" &&
	{ test $reports -eq 0 || { head -20 check.all; false; }; } &&
	test $rounds -gt 5
'
test_done
