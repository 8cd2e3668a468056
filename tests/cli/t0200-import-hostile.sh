#!/bin/bash
# strata import: a busybox rootfs becomes an image dockerd runs; hostile
# layer tars (RELIABILITY §4.1) are refused or contained: nothing outside
# the layer changes, nothing half-applied stays in the store.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_LIB_DIR/store.sh"

VERIFY=$VERIFY_STORE
CANARY=$TRASH/canary
HOSTILE=$TRASH/hostile

# Names, types, modes, link targets and file contents; metadata files' own
# mtimes are when strata wrote them and may differ.
content_listing() {
	(cd "$1" && find image overlay2 -printf '%y %m %p %l\n' | LC_ALL=C sort &&
		find image overlay2 -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
tar -C "$TRASH/rootfs" -cf "$TRASH/bb.tar" . || skip_all "tar failed"

test_expect_success 'import a busybox rootfs' '
	strata --data-root "$TRASH/s" import "$TRASH/bb.tar" busybox:local >out &&
	grep -q "^sha256:[0-9a-f]\{64\}$" out &&
	strata --data-root "$TRASH/s" images --format "{{.Repository}}:{{.Tag}} {{.Size}}" >images &&
	echo "busybox:local 1.98MB" >expect &&
	test_cmp expect images
'

test_expect_success 'the import keeps the input tar as the layer (diff ID of the tar bytes)' '
	want=$(sha256sum "$TRASH/bb.tar" | cut -c1-64) &&
	strata --data-root "$TRASH/s" inspect --format "{{index .RootFS.Layers 0}}" busybox:local >got &&
	echo "sha256:$want" >expect &&
	test_cmp expect got
'

test_expect_success 'the imported store passes verify_store.py and strata check --deep' '
	python3 "$VERIFY" "$TRASH/s" &&
	strata --data-root "$TRASH/s" check --deep
'

test_expect_success 'gzip and zstd input give the same layer and the same image' '
	gzip -c "$TRASH/bb.tar" >"$TRASH/bb.tar.gz" &&
	zstd -q -c "$TRASH/bb.tar" >"$TRASH/bb.tar.zst" &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/g" import "$TRASH/bb.tar.gz" >a &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/z" import - <"$TRASH/bb.tar.zst" >b &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/p" import "$TRASH/bb.tar" >c &&
	test_cmp a b && test_cmp a c
'

test_expect_success 'SOURCE_DATE_EPOCH makes the same input give a byte-identical data root' '
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/r1" import -m "rootfs" -c "CMD [\"/bin/sh\"]" "$TRASH/bb.tar" base:1 >/dev/null &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/r2" import -m "rootfs" -c "CMD [\"/bin/sh\"]" "$TRASH/bb.tar" base:1 >/dev/null &&
	content_listing "$TRASH/r1" >l1 &&
	content_listing "$TRASH/r2" >l2 &&
	test_cmp l1 l2
'

test_expect_success 'import -m and -c go into the config as docker writes them' '
	strata --data-root "$TRASH/r1" inspect --format "{{.Comment}}|{{json .Config.Cmd}}" base:1 >got &&
	echo "rootfs|[\"/bin/sh\"]" >expect &&
	test_cmp expect got
'

test_expect_success 'a missing input file fails cleanly and writes no layer' '
	must_fail strata --data-root "$TRASH/s" import "$TRASH/nonexistent.tar" 2>err &&
	test_line_count err 1 &&
	strata --data-root "$TRASH/s" check
'

test_expect_success 'a tar naming one path twice is refused (tar-split could not rebuild it)' '
	python3 -c "
import io, sys, tarfile
with tarfile.open(sys.argv[1], \"w\") as tf:
    for n in (\"a/b\", \"./a//b\"):
        ti = tarfile.TarInfo(n); ti.size = 1; tf.addfile(ti, io.BytesIO(b\"x\"))
" "$TRASH/dup.tar" &&
	must_fail strata --data-root "$TRASH/dup" import "$TRASH/dup.tar" 2>err &&
	grep -q "duplicate path" err &&
	strata --data-root "$TRASH/dup" check
'

# ---- hostile layers --------------------------------------------------------
mkdir -p "$CANARY/dir" && echo canary >"$CANARY/file" && ln -s file "$CANARY/link"
python3 "$TEST_REPO/tests/fixtures/hostile/gen.py" "$HOSTILE" "$CANARY" >/dev/null ||
	skip_all "cannot generate hostile tars"
canary_before=$(store_listing "$CANARY")

while read -r name expect; do
	[ -n "$name" ] || continue
	test_expect_success "hostile $name: $expect, canary untouched, store clean" '
		R=$TRASH/h-$name &&
		strata --data-root "$R" import "$HOSTILE/$name.tar" h:1 >out 2>err
		rc=$?
		if [ "$expect" = refuse ]; then
			test $rc -ne 0 && ! _is_crash $rc && test_line_count err 1 && grep -q "^Error: " err
		else
			! _is_crash $rc
		fi &&
		test "$(store_listing "$CANARY")" = "$canary_before" &&
		strata --data-root "$R" check >check.out || { cat check.out; false; }
		if [ "$expect" = refuse ]; then
			test -z "$(ls -A "$R/image/overlay2/layerdb/tmp" 2>/dev/null)" &&
			test -z "$(ls "$R/overlay2" | grep -v "^l$")"
		fi
	'
done <"$HOSTILE/expect.txt"

# ---- dockerd runs what strata imported -------------------------------------
# the rest needs a dockerd (and the stores it writes): each test skips with the reason
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi
D=$TRASH/d
test_expect_success DOCKERD 'dockerd started on a strata-imported store runs the image' '
	strata --data-root "$D/root" import "$TRASH/bb.tar" busybox:local >/dev/null &&
	python3 "$VERIFY" "$D/root" &&
	dockerd_start "$D" &&
	docker images --format "{{.Repository}}:{{.Tag}} {{.Size}}" >images &&
	echo "busybox:local 1.98MB" >expect &&
	test_cmp expect images &&
	docker run --rm --network none busybox:local sh -c "echo ran" >ran &&
	echo ran >expect && test_cmp expect ran
'

test_expect_success DOCKERD 'while dockerd runs, strata reads but refuses to write' '
	strata --data-root "$D/root" images -q >/dev/null &&
	must_fail strata --data-root "$D/root" tag busybox:local other:1 2>err &&
	grep -q "in use by a running dockerd" err
'

# ---- strata check on a store dockerd wrote ---------------------------------
test_expect_success DOCKERD 'dockerd builds a layer on top, then stops' '
	mkdir -p ctx && printf "FROM busybox:local\nCOPY f.txt /f.txt\nRUN rm /bin/cat\n" >ctx/Dockerfile &&
	echo small >ctx/f.txt &&
	DOCKER_BUILDKIT=0 docker build --network none -q -t small:1 ctx >/dev/null &&
	dockerd_stop "$D"
'

test_expect_success DOCKERD 'strata check --deep is clean on the store dockerd wrote' '
	strata --data-root "$D/root" check --deep >out || { cat out; false; }
'

copy_store() { rm -rf "$TRASH/c-$1" && cp -a "$D/root" "$TRASH/c-$1" && C=$TRASH/c-$1; }
top_cache() { cat "$C/image/overlay2/layerdb/sha256/$(ls "$C/image/overlay2/layerdb/sha256" | head -n 1)/cache-id"; }

test_expect_success DOCKERD 'a flipped byte in a layer file is found by check --deep' '
	copy_store flip &&
	f=$(find "$C/overlay2" -path "*/diff/f.txt" | head -n 1) &&
	printf X | dd of="$f" bs=1 seek=0 conv=notrunc 2>/dev/null &&
	strata --data-root "$C" check >out && 
	test_expect_code 1 strata --data-root "$C" check --deep >out &&
	grep -q "f.txt" out
'

test_expect_success DOCKERD 'a deleted l/ link is reported and --repair restores it' '
	copy_store link &&
	l=$(ls "$C/overlay2/l" | head -n 1) &&
	rm "$C/overlay2/l/$l" &&
	test_expect_code 1 strata --data-root "$C" check >out &&
	grep -q "$l" out &&
	strata --data-root "$C" check --repair >out &&
	test -L "$C/overlay2/l/$l" &&
	strata --data-root "$C" check
'

test_expect_success DOCKERD 'a truncated tar-split.json.gz is reported' '
	copy_store trunc &&
	ts=$(ls "$C"/image/overlay2/layerdb/sha256/*/tar-split.json.gz | head -n 1) &&
	truncate -s 20 "$ts" &&
	test_expect_code 1 strata --data-root "$C" check >out &&
	grep -q "tar-split.json.gz is damaged" out
'

test_expect_success DOCKERD 'layerdb/tmp leftovers and orphan driver folders are reported and repaired' '
	copy_store orphan &&
	mkdir -p "$C/image/overlay2/layerdb/tmp/write-set-dead" &&
	mkdir -p "$C/overlay2/0000000000000000000000000000000000000000000000000000000000000000/diff" &&
	test_expect_code 1 strata --data-root "$C" check >out &&
	grep -q "layerdb/tmp/write-set-dead" out &&
	grep -q "overlay2/0000000000000000000000000000000000000000000000000000000000000000" out &&
	strata --data-root "$C" check --repair &&
	strata --data-root "$C" check &&
	python3 "$VERIFY" "$C"
'

test_expect_success DOCKERD 'repair never removes what an image uses' '
	copy_store keep &&
	store_listing "$C" >before &&
	strata --data-root "$C" check --repair &&
	store_listing "$C" >after &&
	test_cmp before after
'
test_expect_success 'import --platform: normalised as dockerd, linux only' '
	mkdir -p plat && echo x >plat/f && tar -C plat -cf plat.tar f &&
	R=$TRASH/plat-root &&
	strata --data-root "$R" import --platform linux/aarch64 plat.tar p:arm64 >/dev/null &&
	strata --data-root "$R" inspect --format "{{.Os}}/{{.Architecture}}" p:arm64 >out &&
	echo linux/arm64 >expect && test_cmp expect out &&
	strata --data-root "$R" import --platform linux/arm plat.tar p:arm >/dev/null &&
	strata --data-root "$R" inspect --format "{{.Architecture}}/{{.Variant}}" p:arm >out &&
	echo arm/v7 >expect && test_cmp expect out &&
	test_expect_code 1 strata --data-root "$R" import --platform windows/amd64 plat.tar p:w 2>err &&
	grep -q "operating system .windows. is not supported" err &&
	test_expect_code 1 strata --data-root "$R" import --platform bogus plat.tar p:w 2>err &&
	grep -q "\"bogus\": unknown operating system or architecture: invalid argument" err &&
	strata --data-root "$R" import --platform arm64 plat.tar p:a >/dev/null &&
	strata --data-root "$R" inspect --format "{{.Os}}/{{.Architecture}}" p:a >out &&
	echo linux/arm64 >expect && test_cmp expect out
'
test_expect_success 'import URL: downloaded, then imported as the same file is' '
	files_start "$TRASH/files" &&
	cp "$TRASH/bb.tar" "$TRASH/files/www/bb.tar" &&
	R=$TRASH/url-root &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$R" import -m m "$FILES_URL/bb.tar" u:1 >out &&
	SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/url-file" import -m m "$TRASH/bb.tar" >file-id &&
	{ echo "Downloading from $FILES_URL/bb.tar" && cat file-id; } >expect && test_cmp expect out &&
	strata --data-root "$R" import "$FILES_URL/bb.tar" >out &&
	strata --data-root "$R" history --no-trunc --format "{{.Comment}}" "$(tail -n 1 out)" >c &&
	echo "Imported from $FILES_URL/bb.tar" >expect && test_cmp expect c
'
test_expect_success 'import of a bad URL: the error, exit 1, nothing stored' '
	R=$TRASH/url-root &&
	strata --data-root "$R" images -q --no-trunc >before &&
	test_expect_code 1 strata --data-root "$R" import "$FILES_URL/nope.tar" >out 2>err &&
	test_cmp /dev/null out &&
	grep -q "^Error: failed to GET $FILES_URL/nope.tar with status 404 File not found: <!DOCTYPE HTML>" err &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	test_expect_code 1 strata --data-root "$R" import "http://127.0.0.1:$port/x.tar" 2>err &&
	grep -q "^Error: Get \"http://127.0.0.1:$port/x.tar\": .*connect" err &&
	test_expect_code 1 strata --data-root "$R" import "ftp://127.0.0.1:$port/x.tar" 2>err &&
	echo "Error: Get \"ftp://127.0.0.1:$port/x.tar\": unsupported protocol scheme \"ftp\"" >expect &&
	test_cmp expect err &&
	echo "not a tar" >"$TRASH/files/www/junk.tar" &&
	test_expect_code 1 strata --data-root "$R" import "$FILES_URL/junk.tar" >/dev/null 2>err &&
	grep -q "^Error: .*junk.tar.*tar" err &&
	strata --data-root "$R" images -q --no-trunc >after && test_cmp before after &&
	find "$R" -path "$R/*/tmp/*" >left && test_cmp /dev/null left &&
	strata --data-root "$R" check >/dev/null
'
test_done
