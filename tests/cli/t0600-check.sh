#!/bin/bash
# strata check: every kind of damage it knows is reported with its exact
# line, --repair fixes what it may (orphans, leftovers, dangling references,
# l/ links) and only that, and the store is clean afterwards.  Each case
# damages a fresh copy of one store (a three-layer image from the corpus).
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root, overlay2 whiteouts)"

S() { local r=$1; shift; strata --data-root "$r" "$@"; }
ZERO=$(printf %064d 0)
ONE=$(printf %064d 1)

test_expect_success 'set-up: the corpus whiteout image, check is clean' '
	S s load -i "$TEST_FIXTURES/corpus/images/docker-archive/ggcr-whiteout_image.tar" >/dev/null &&
	S s check >out &&
	echo "1 images, 3 layers checked: 0 problems" >expect && test_cmp expect out
'
IMG=decb630649c3e1256345d416b228d6c3ceb387a55120ad44dc3ec992976d28b9
DRV=$(ls s/image)
I=image/$DRV
L=$I/layerdb/sha256
read -r B M T < <(store_chain_ids s "$IMG" | tr '\n' ' ')
cache_of() { cat "s/$L/$1/cache-id"; }
BC=$(cache_of "$B") MC=$(cache_of "$M") TC=$(cache_of "$T")
if [ "$DRV" = overlay2 ]; then
	test_set_prereq OVERLAY2
	TLINK=$(cat "s/overlay2/$TC/link") MLINK=$(cat "s/overlay2/$MC/link") BLINK=$(cat "s/overlay2/$BC/link")
else
	test_prereq_missing OVERLAY2 "strata chose $DRV for a new store here"
fi
SUMMARY="1 images, 3 layers checked"

# damage CMD: $C is a fresh copy of the store with CMD run inside it
damage() {
	C=$TRASH/c && rm -rf "$C" && cp -a s "$C" && (cd "$C" && eval "$1")
}
# check_is STATUS [ARGS]: strata check ARGS on $C exits STATUS and prints
# exactly the lines of the file expect
check_is() {
	local want=$1 rc
	shift
	S "$C" check "$@" >out 2>err
	rc=$?
	test_cmp expect out || return 1
	test_must_be_empty err || return 1
	[ "$rc" -eq "$want" ] || { echo "check $* exited $rc, expected $want"; return 1; }
}
test_must_be_empty() { [ ! -s "$1" ] || { echo "$1 is not empty:"; cat "$1"; return 1; }; }
lines() { printf '%s\n' "$@" >expect; }
# found LINE... : check reports exactly LINEs (and the summary) and exits 1
found() {
	lines "$@" "$SUMMARY: $# problems" && check_is 1
}
# repaired LINE... : --repair fixes each of them, a second check is clean
repaired() {
	local l args=()
	for l in "$@"; do args+=("$l (repaired)"); done
	lines "${args[@]}" "$SUMMARY: $# problems, $# repaired" && check_is 0 --repair &&
	lines "$SUMMARY: 0 problems" && check_is 0
}
# kept LINE... : --repair leaves them (they are reported the same, exit 1)
kept() {
	store_listing "$C" >before &&
	lines "$@" "$SUMMARY: $# problems, 0 repaired" && check_is 1 --repair &&
	store_listing "$C" >after && test_cmp before after
}

# ---- imagedb ----------------------------------------------------------------
test_expect_success 'a file in imagedb/content/sha256 that is no image ID' '
	damage "touch $I/imagedb/content/sha256/README" &&
	found "image sha256:README: unexpected file in imagedb/content/sha256" &&
	kept "image sha256:README: unexpected file in imagedb/content/sha256"
'
test_expect_success 'config bytes that no longer hash to the image ID' '
	damage "printf \" \" >>$I/imagedb/content/sha256/$IMG" &&
	sum=$(sha256sum "$C/$I/imagedb/content/sha256/$IMG" | cut -c1-64) &&
	tags=$(S s images --format "{{.Repository}}:{{.Tag}}" | LC_ALL=C sort) &&
	# dockerd drops such an image at start: its layers and tags are left over
	lines "image sha256:$IMG: image config '\''$C/$I/imagedb/content/sha256/$IMG'\'' is corrupted: its sha256 is $sum" \
		$(for l in $(printf "%s\n" $B $M $T | LC_ALL=C sort); do echo "layer@sha256:$l:@no@image@or@container@uses@this@layer"; done) \
		$(for c in $(printf "%s\n" $BC $MC $TC | LC_ALL=C sort); do echo "$DRV/$c:@folder@that@no@layer@or@container@uses"; done) \
		$(for t in $tags; do echo "repositories.json:@$t@points@at@missing@image@sha256:$IMG"; done) \
		"$SUMMARY: 8 problems" &&
	sed -i "s/@/ /g" expect &&
	check_is 1
'
test_expect_success 'repair removes a damaged config with its tags and layers, and says how to get it back' '
	damage "printf \" \" >>$I/imagedb/content/sha256/$IMG" &&
	sum=$(sha256sum "$C/$I/imagedb/content/sha256/$IMG" | cut -c1-64) &&
	S "$C" check --repair >out; echo "exit $?" >>out &&
	grep -x "image sha256:$IMG: image config '\''$C/$I/imagedb/content/sha256/$IMG'\'' is corrupted: its sha256 is $sum; removed it with its tags: load or pull the image again (repaired)" out &&
	grep -x "exit 0" out &&
	test ! -e "$C/$I/imagedb/content/sha256/$IMG" &&
	lines "0 images, 0 layers checked: 0 problems" && check_is 0 &&
	S "$C" load -i "$TEST_FIXTURES/corpus/images/docker-archive/ggcr-whiteout_image.tar" >/dev/null &&
	lines "$SUMMARY: 0 problems" && check_is 0
'
test_expect_success 'an empty config file is a damaged config too' '
	damage ": >$I/imagedb/content/sha256/$IMG" &&
	S "$C" check --repair >out &&
	grep "^image sha256:$IMG: .*; removed it with its tags: load or pull the image again (repaired)$" out &&
	lines "0 images, 0 layers checked: 0 problems" && check_is 0
'
test_expect_success 'a leftover of an interrupted config write' '
	damage "printf {} >$I/imagedb/content/sha256/.tmp-$ONE.4242" &&
	found "imagedb/content/sha256/.tmp-$ONE.4242: leftover of an interrupted image write" &&
	repaired "imagedb/content/sha256/.tmp-$ONE.4242: leftover of an interrupted image write" &&
	test ! -e "$C/$I/imagedb/content/sha256/.tmp-$ONE.4242"
'
test_expect_success 'a config with a malformed diff ID' '
	damage "python3 -c \"
import hashlib, json, os, sys
d = \\\"$I/imagedb/content/sha256\\\"
cfg = json.load(open(os.path.join(d, \\\"$IMG\\\")))
cfg[\\\"rootfs\\\"][\\\"diff_ids\\\"] = [\\\"sha256:nothex\\\"]
raw = json.dumps(cfg, separators=(\\\",\\\", \\\":\\\")).encode()
open(os.path.join(d, hashlib.sha256(raw).hexdigest()), \\\"wb\\\").write(raw)
print(hashlib.sha256(raw).hexdigest())\" >../bad.id" &&
	BAD=$(cat "$TRASH/bad.id") &&
	lines "image sha256:$BAD: malformed diff ID in rootfs" "2 images, 3 layers checked: 1 problems" &&
	check_is 1
'
test_expect_success 'an image whose layer is gone' '
	damage "rm -r $L/$T" &&
	lines "image sha256:$IMG: layer sha256:$T (diff $(cat s/$L/$T/diff)) is missing" \
		"$DRV/$TC: folder that no layer or container uses" \
		"1 images, 2 layers checked: 2 problems" && check_is 1 &&
	lines "image sha256:$IMG: layer sha256:$T (diff $(cat s/$L/$T/diff)) is missing" \
		"$DRV/$TC: folder that no layer or container uses (repaired)" \
		"1 images, 2 layers checked: 2 problems, 1 repaired" && check_is 1 --repair &&
	test ! -e "$C/$DRV/$TC"
'

# ---- imagedb/metadata -------------------------------------------------------
test_expect_success 'metadata of an image that does not exist' '
	damage "mkdir -p $I/imagedb/metadata/sha256/$ZERO && printf x >$I/imagedb/metadata/sha256/$ZERO/lastUpdated" &&
	found "image metadata $ZERO: metadata of an image that does not exist" &&
	repaired "image metadata $ZERO: metadata of an image that does not exist" &&
	test ! -e "$C/$I/imagedb/metadata/sha256/$ZERO"
'
test_expect_success 'a parent image that does not exist' '
	damage "mkdir -p $I/imagedb/metadata/sha256/$IMG && printf sha256:$ZERO >$I/imagedb/metadata/sha256/$IMG/parent" &&
	found "image metadata $IMG: parent image sha256:$ZERO does not exist" &&
	kept "image metadata $IMG: parent image sha256:$ZERO does not exist"
'

# ---- layerdb ----------------------------------------------------------------
test_expect_success 'a leftover of an interrupted layer removal' '
	damage "cp -a $L/$T $L/removing-1" &&
	found "layer sha256:removing-1: leftover of an interrupted layer removal" &&
	repaired "layer sha256:removing-1: leftover of an interrupted layer removal" &&
	test -d "$C/$DRV/$TC"
'
test_expect_success 'a layer record without its diff file: its driver folder stays' '
	damage "rm $L/$T/diff" &&
	line="layer sha256:$T: layer sha256:$T is damaged: open '\''layerdb/sha256/$T/diff'\'': no such file or directory" &&
	found "$line" && kept "$line"
'
test_expect_success 'a damaged cache-id: every driver folder stays, repair restores the derived one' '
	damage "printf ../../../../tmp/x >$L/$T/cache-id" &&
	line="layer sha256:$T: layer sha256:$T is damaged: malformed cache-id" &&
	found "$line" "$DRV/$TC: folder that no layer or container uses (kept while a layer'\''s cache-id is damaged)" &&
	lines "$line; restored cache-id $TC, whose folder rebuilds the layer'\''s diff ID (repaired)" \
		"$SUMMARY: 1 problems, 1 repaired" && check_is 0 --repair &&
	printf %s "$TC" >expect && test_cmp expect "$C/$L/$T/cache-id" &&
	lines "$SUMMARY: 0 problems" && check_is 0
'
test_expect_success 'a damaged cache-id that is not derived: repair finds the folder that rebuilds the layer' '
	damage "cp -a $DRV/$TC $DRV/$ONE && rm -r $DRV/$TC && printf $ONE >$L/$T/cache-id" &&
	if test_have_prereq OVERLAY2; then
		# the l/ link of the moved folder still names the old one
		ln -sfn "../$ONE/diff" "$C/overlay2/l/$TLINK"
	fi &&
	lines "$SUMMARY: 0 problems" && check_is 0 &&
	printf "" >"$C/$L/$T/cache-id" &&
	line="layer sha256:$T: layer sha256:$T is damaged: malformed cache-id" &&
	lines "$line; restored cache-id $ONE, whose folder rebuilds the layer'\''s diff ID (repaired)" \
		"$SUMMARY: 1 problems, 1 repaired" && check_is 0 --repair &&
	printf %s "$ONE" >expect && test_cmp expect "$C/$L/$T/cache-id"
'
test_expect_success 'a damaged cache-id that no folder proves is kept, and so are the folders' '
	damage "printf x/y >$L/$B/cache-id && test -s $DRV/$BC/diff/foo.txt && printf X >>$DRV/$BC/diff/foo.txt" &&
	line="layer sha256:$B: layer sha256:$B is damaged: malformed cache-id" &&
	kept "$line" "$DRV/$BC: folder that no layer or container uses (kept while a layer'\''s cache-id is damaged)"
'
test_expect_success 'a leftover of a layer removal keeps its whole name in the report' '
	damage "mv $L/$T $L/$T-removing" &&
	lines "image sha256:$IMG: layer sha256:$T (diff $(cat s/$L/$T/diff)) is missing" \
		"layer sha256:$T-removing: leftover of an interrupted layer removal" \
		"$DRV/$TC: folder that no layer or container uses" \
		"1 images, 2 layers checked: 3 problems" && check_is 1
'
test_expect_success 'a chain ID that does not match its parent and diff' '
	damage "printf sha256:$B >$L/$T/parent" &&
	d=$(cat s/$L/$T/diff) &&
	want=sha256:$(printf "sha256:%s %s" "$B" "$d" | sha256sum | cut -c1-64) &&
	line="layer sha256:$T: chain ID does not match parent sha256:$B + diff $d (expected $want)" &&
	if test_have_prereq OVERLAY2; then
		found "$line" "overlay2/$TC: overlay2/$TC/lower is '\''l/$MLINK:l/$BLINK'\'', the parent chain gives '\''l/$BLINK'\''" &&
		kept "$line" "overlay2/$TC: overlay2/$TC/lower is '\''l/$MLINK:l/$BLINK'\'', the parent chain gives '\''l/$BLINK'\''"
	else
		found "$line" && kept "$line"
	fi
'
test_expect_success 'a parent layer that is missing' '
	damage "printf sha256:$ONE >$L/$T/parent" &&
	d=$(cat s/$L/$T/diff) &&
	want=sha256:$(printf "sha256:%s %s" "$ONE" "$d" | sha256sum | cut -c1-64) &&
	l1="layer sha256:$T: chain ID does not match parent sha256:$ONE + diff $d (expected $want)" &&
	l2="layer sha256:$T: parent layer sha256:$ONE is missing" &&
	if test_have_prereq OVERLAY2; then
		# without a parent record the driver check sees a base layer
		found "$l1" "$l2" "overlay2/$TC: overlay2/$TC has a lower file but no parent"
	else
		found "$l1" "$l2"
	fi
'
test_expect_success 'a layer no image uses' '
	damage "mkdir $L/$ONE $DRV/$ONE && printf sha256:$ONE >$L/$ONE/diff && printf 0 >$L/$ONE/size &&
		printf $ONE >$L/$ONE/cache-id && cp $L/$B/tar-split.json.gz $L/$ONE/" &&
	lines "layer sha256:$ONE: no image or container uses this layer" \
		"$DRV/$ONE: folder that no layer or container uses" \
		"1 images, 4 layers checked: 2 problems" && check_is 1 &&
	lines "layer sha256:$ONE: no image or container uses this layer (repaired)" \
		"1 images, 4 layers checked: 1 problems, 1 repaired" && check_is 0 --repair &&
	test ! -e "$C/$L/$ONE" && test ! -e "$C/$DRV/$ONE" && test -d "$C/$DRV/$TC" &&
	lines "$SUMMARY: 0 problems" && check_is 0
'
test_expect_success 'a layer whose driver folder is gone' '
	damage "rm -r $DRV/$TC" &&
	found "layer sha256:$T: driver folder $DRV/$TC is missing" &&
	kept "layer sha256:$T: driver folder $DRV/$TC is missing"
'

# ---- overlay2 folders ----------------------------------------------------------
test_expect_success OVERLAY2 'a missing l/ link is restored from the link file' '
	damage "rm overlay2/l/$TLINK" &&
	found "overlay2/$TC: overlay2/l/$TLINK does not point to ../$TC/diff" &&
	lines "overlay2/$TC: its l/ link was missing (restored from the link file) (repaired)" \
		"$SUMMARY: 1 problems, 1 repaired" && check_is 0 --repair &&
	test "$(readlink "$C/overlay2/l/$TLINK")" = "../$TC/diff" &&
	lines "$SUMMARY: 0 problems" && check_is 0
'
test_expect_success OVERLAY2 'an l/ link pointing at another layer is reported, not guessed at' '
	damage "ln -sfn ../$BC/diff overlay2/l/$TLINK" &&
	found "overlay2/$TC: overlay2/l/$TLINK does not point to ../$TC/diff" &&
	kept "overlay2/$TC: overlay2/l/$TLINK does not point to ../$TC/diff"
'
test_expect_success OVERLAY2 'a layer folder with the wrong mode' '
	damage "chmod 0755 overlay2/$TC" &&
	found "overlay2/$TC: overlay2/$TC has mode 0755, not 0710" &&
	kept "overlay2/$TC: overlay2/$TC has mode 0755, not 0710"
'
test_expect_success OVERLAY2 'a layer folder without diff/' '
	damage "rm -r overlay2/$TC/diff" &&
	found "overlay2/$TC: overlay2/$TC/diff is missing or not a folder" &&
	kept "overlay2/$TC: overlay2/$TC/diff is missing or not a folder"
'
test_expect_success OVERLAY2 'a base layer with a lower file' '
	damage "printf l/$TLINK >overlay2/$BC/lower" &&
	# the lower of the layer above is now also off: it is derived from this one
	found "overlay2/$BC: overlay2/$BC has a lower file but no parent" \
		"overlay2/$MC: overlay2/$MC/lower is '\''l/$BLINK'\'', the parent chain gives '\''l/$BLINK:l/$TLINK'\''" &&
	kept "overlay2/$BC: overlay2/$BC has a lower file but no parent" \
		"overlay2/$MC: overlay2/$MC/lower is '\''l/$BLINK'\'', the parent chain gives '\''l/$BLINK:l/$TLINK'\''"
'
test_expect_success OVERLAY2 'a lower file that is not the parent chain' '
	damage "printf l/$BLINK >overlay2/$TC/lower" &&
	found "overlay2/$TC: overlay2/$TC/lower is '\''l/$BLINK'\'', the parent chain gives '\''l/$MLINK:l/$BLINK'\''" &&
	kept "overlay2/$TC: overlay2/$TC/lower is '\''l/$BLINK'\'', the parent chain gives '\''l/$MLINK:l/$BLINK'\''"
'
test_expect_success OVERLAY2 'a layer with a parent but no work/' '
	damage "rmdir overlay2/$TC/work" &&
	found "overlay2/$TC: overlay2/$TC/work is missing" &&
	kept "overlay2/$TC: overlay2/$TC/work is missing"
'

# ---- tar-split ----------------------------------------------------------------
test_expect_success 'a layer without tar-split.json.gz' '
	damage "rm $L/$T/tar-split.json.gz" &&
	found "layer sha256:$T: tar-split.json.gz is missing: save and push cannot rebuild this layer" &&
	kept "layer sha256:$T: tar-split.json.gz is missing: save and push cannot rebuild this layer"
'
test_expect_success 'a tar-split.json.gz stored uncompressed' '
	damage "gzip -dc $L/$T/tar-split.json.gz >ts && mv ts $L/$T/tar-split.json.gz" &&
	found "layer sha256:$T: tar-split.json.gz is damaged: tar-split.json.gz is not gzip (dockerd: gzip: invalid header)" &&
	kept "layer sha256:$T: tar-split.json.gz is damaged: tar-split.json.gz is not gzip (dockerd: gzip: invalid header)"
'
test_expect_success 'a truncated tar-split.json.gz' '
	damage "truncate -s 20 $L/$T/tar-split.json.gz" &&
	found "layer sha256:$T: tar-split.json.gz is damaged: gzip: unexpected end of compressed data" &&
	kept "layer sha256:$T: tar-split.json.gz is damaged: gzip: unexpected end of compressed data"
'
test_expect_success 'a tar-split.json.gz that is whole gzip but holds a damaged line' '
	cat >"$TRASH/bad-line.py" <<-\PY &&
	import gzip, sys
	lines = gzip.open(sys.argv[1]).read().split(b"\n")
	lines[0] = lines[0].replace(b"\"type\":2", b"\"type\":7")
	gzip.open(sys.argv[1], "wb").write(b"\n".join(lines))
	PY
	damage "python3 $TRASH/bad-line.py $L/$T/tar-split.json.gz" &&
	S "$C" check >out; test $? = 1 &&
	grep -q "^layer sha256:$T: tar-split.json.gz is damaged: tar-split: entry [0-9]*: " out
'
test_expect_success 'check --deep: a layer file whose bytes changed' '
	damage "test -s $DRV/$BC/diff/foo.txt && printf X | dd of=$DRV/$BC/diff/foo.txt conv=notrunc 2>/dev/null" &&
	lines "$SUMMARY: 0 problems" && check_is 0 &&
	line="layer sha256:$B: cannot rebuild the layer tar: rebuild layer sha256:$B: tar-split: file integrity checksum failed for ./foo.txt" &&
	lines "$line" "$SUMMARY: 1 problems" && check_is 1 --deep &&
	lines "$line" "$SUMMARY: 1 problems, 0 repaired" && check_is 1 --deep --repair
'

# ---- leftovers ------------------------------------------------------------------
test_expect_success 'a leftover in layerdb/tmp' '
	damage "mkdir -p $I/layerdb/tmp/write-set-1/x" &&
	found "layerdb/tmp/write-set-1: leftover of an interrupted layer registration" &&
	repaired "layerdb/tmp/write-set-1: leftover of an interrupted layer registration" &&
	test -z "$(ls "$C/$I/layerdb/tmp")"
'
test_expect_success 'a driver folder no layer uses' '
	damage "mkdir -p $DRV/$ONE/diff" &&
	found "$DRV/$ONE: folder that no layer or container uses" &&
	repaired "$DRV/$ONE: folder that no layer or container uses" &&
	test ! -e "$C/$DRV/$ONE"
'

# ---- references and distribution ------------------------------------------------
test_expect_success 'a reference to an image that does not exist' '
	damage "printf %s \"{\\\"Repositories\\\":{\\\"x\\\":{\\\"x:1\\\":\\\"sha256:$ZERO\\\"}}}\" >$I/repositories.json" &&
	found "repositories.json: x:1 points at missing image sha256:$ZERO" &&
	repaired "repositories.json: x:1 points at missing image sha256:$ZERO" &&
	printf "{\"Repositories\":{}}" >expect && test_cmp expect "$C/$I/repositories.json"
'
test_expect_success 'a repositories.json that is not JSON' '
	damage "printf { >$I/repositories.json" &&
	line="repositories.json: '\''$C/$I/repositories.json'\'' is damaged: repositories.json is not valid JSON: string or '\''}'\'' expected near end of file (line 1, column 1) (dockerd would lose these tags; fix or restore the file)" &&
	found "$line" && kept "$line"
'
test_expect_success 'distribution: a file name that is no digest' '
	damage "mkdir -p $I/distribution/diffid-by-digest/sha256 && touch $I/distribution/diffid-by-digest/sha256/odd" &&
	found "distribution/diffid-by-digest/sha256/odd: unexpected file name" &&
	kept "distribution/diffid-by-digest/sha256/odd: unexpected file name"
'
test_expect_success 'distribution: diffid-by-digest without a diff ID' '
	damage "mkdir -p $I/distribution/diffid-by-digest/sha256 && printf nope >$I/distribution/diffid-by-digest/sha256/$ONE" &&
	found "distribution/diffid-by-digest/sha256/$ONE: does not hold a diff ID" &&
	kept "distribution/diffid-by-digest/sha256/$ONE: does not hold a diff ID"
'
test_expect_success 'distribution: v2metadata that is not a JSON array' '
	damage "mkdir -p $I/distribution/v2metadata-by-diffid/sha256 && printf {} >$I/distribution/v2metadata-by-diffid/sha256/$ONE" &&
	found "distribution/v2metadata-by-diffid/sha256/$ONE: is not a JSON array" &&
	kept "distribution/v2metadata-by-diffid/sha256/$ONE: is not a JSON array"
'
test_expect_success 'repair never removes what an image uses' '
	damage : && store_listing "$C" >before &&
	lines "$SUMMARY: 0 problems, 0 repaired" && check_is 0 --repair &&
	store_listing "$C" >after && test_cmp before after
'
test_done
