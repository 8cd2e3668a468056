#!/bin/bash
# strata load / save without a dockerd: the image corpus against EXPECTED.md,
# the reference seed archive rebuilt byte for byte, round trips, OCI output,
# and hostile archives (RELIABILITY §4.1 rows 16, 19) refused with the store
# left exactly as it was.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"

CORPUS=$TEST_FIXTURES/corpus/images
REF=$TEST_FIXTURES/docker-20.10
VERIFY=$VERIFY_STORE

# image_ok ROOT ID DIFF...: the config is stored under its ID, its diff IDs are
# DIFF..., and every layer's layerdb entry (chain ID) records that diff ID.
image_ok() {
	local root=$1 id=${2#sha256:}
	shift 2
	python3 - "$root" "$id" "$@" <<'PY'
import hashlib, json, os, sys
root, hexid, want = sys.argv[1], sys.argv[2], sys.argv[3:]
img = os.path.join(root, 'image/overlay2')
raw = open(os.path.join(img, 'imagedb/content/sha256', hexid), 'rb').read()
assert hashlib.sha256(raw).hexdigest() == hexid, 'config digest'
diffs = json.loads(raw)['rootfs']['diff_ids']
assert diffs == want, (diffs, want)
chain = None
for d in diffs:
    chain = d if chain is None else 'sha256:' + hashlib.sha256((chain + ' ' + d).encode()).hexdigest()
    got = open(os.path.join(img, 'layerdb/sha256', chain[7:], 'diff')).read().strip()
    assert got == d, (chain, got, d)
PY
}
tags_of() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]+"/image/overlay2/repositories.json"))["Repositories"]; print("\n".join(sorted(f"{k}={v}" for m in r.values() for k,v in m.items())))' "$1"; }
verify() { python3 "$VERIFY" "$1" >"$TRASH/verify.out" 2>&1 || { cat "$TRASH/verify.out"; false; }; }
S() { local r=$1; shift; strata --data-root "$r" "$@"; }

test_expect_success 'corpus: cimage-almostempty' '
	S r1 load -i "$CORPUS/docker-archive/cimage-almostempty.tar" >out &&
	echo "Loaded image: emptyimage:latest" >expect && test_cmp expect out &&
	image_ok r1 9d7f147c0d0c4d4538a04c7ef385809e56eb1aac7bf800fbe976612188025b68 \
		sha256:0b916d257bd406111a3fced53f81b47de9a30f7c7d514a89769b3483aaddca7e &&
	verify r1
'
test_expect_success 'corpus: Docker 25 hybrid archive, untagged' '
	S r2 load -i "$CORPUS/docker-archive/ggcr-hello-world-v25.tar" >out &&
	echo "Loaded image ID: sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44" >expect &&
	test_cmp expect out &&
	image_ok r2 ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44 \
		sha256:12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43 &&
	verify r2
'
test_expect_success 'corpus: layer.tar stored as a symlink' '
	S r3 load -i "$CORPUS/docker-archive/ggcr-test_link.tar" >out &&
	printf "Loaded image: bazel/v1/tarball:test_image_1\nLoaded image: bazel/v1/tarball:test_image_3\n" >expect &&
	test_cmp expect out &&
	image_ok r3 6e0b05049ed9c17d02e1a55e80d6599dbfcce7f4f4b022e3c673e685789c470e \
		sha256:8897395fd26dc44ad0e2a834335b33198cb41ac4d98dfddf58eced3853fa7b17 &&
	image_ok r3 d4c9adacde69c3d92446e0484cea29493e9fd573cf0c8febfc700d80c46697a4 \
		sha256:8897395fd26dc44ad0e2a834335b33198cb41ac4d98dfddf58eced3853fa7b17 \
		sha256:6b617a2706576ed038acdc3aa668cac62010386a5a3d227d83aada32085c9f29 &&
	S r3 load -i "$CORPUS/docker-archive/ggcr-test_image_1.tar" >out &&
	echo "Loaded image: bazel/v1/tarball:test_image_1" >expect && test_cmp expect out &&
	verify r3
'
test_expect_success 'corpus: three layers with whiteouts' '
	S r4 load -i "$CORPUS/docker-archive/ggcr-whiteout_image.tar" >out &&
	image_ok r4 decb630649c3e1256345d416b228d6c3ceb387a55120ad44dc3ec992976d28b9 \
		sha256:891f36a008624b6450292efb6ff06b633a179c7cc08456fefcc08c2b34f3b31c \
		sha256:88d2a7b2ae6dddeb3490c9370cfc070aaa1aab9c22a6fb03523787d8b21c17db \
		sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652 &&
	verify r4 && S r4 check
'

# refused: every case starts from r4 and must leave it unchanged
refused() {
	local what=$1 pattern=$2
	shift 2
	store_listing r4 >before &&
	must_fail S r4 load "$@" 2>err &&
	test_line_count err 1 && grep -q "$pattern" err &&
	store_listing r4 >after && test_cmp before after &&
	S r4 check >/dev/null
}
test_expect_success 'corpus: tag without a tag is refused as by dockerd' '
	refused bundle "invalid tag \"test_image_2\"" -i "$CORPUS/docker-archive/ggcr-test_bundle.tar"
'
test_expect_success 'corpus: legacy archive loads (t0320 checks it in depth)' '
	S r6 load -i "$CORPUS/docker-archive/moby-emptyLayer-legacy.tar" >out && test ! -s out &&
	test "$(tags_of r6)" = "matthughes/library-centos:6-2015.03.20=sha256:a9e31d6f186fbbe2468c9961316dba93971266d344ba960f68911df6e29b564c"
'
test_expect_success 'corpus: OCI layout with placeholder blobs refused' '
	refused placeholder "content does not match its descriptor" -i "$CORPUS/oci-layout/cimage-delete_image_multiple_images"
'
if [ "$(uname -m)" = x86_64 ]; then test_set_prereq AMD64; else test_prereq_missing AMD64 "the layout has no $(uname -m) image"; fi
test_expect_success AMD64 'corpus: OCI layout folder, nested indexes, host platform, artifacts skipped' '
	S r5 load -i "$CORPUS/oci-layout/regclient-testrepo" >out &&
	for id in 92e1351053a20d03653de6d9ff2064abfe3adc2105b1cf492b201813a3f12dae \
		79f0b6d4f769ba152915c536b1108023487f946761673f20b46e38b256312632 \
		bb4828702beda05e2dee1a86d002928c0e3c1a7ac23ee338e54d425dac06843b \
		03d7b3c657a4af5b4ff7967bf843d04a93008f28d658a7df3f679b2c7e519639 \
		265cf623914b139bb063c377e702759275910c1013005615cb400323d00608c1 \
		2097cbe98aab004aa60148c1b49515a86cd1ff514310dcf8654313259aad0b12; do
		grep -qx "Loaded image ID: sha256:$id" out || return 1
	done &&
	test_line_count out 6 &&
	image_ok r5 2097cbe98aab004aa60148c1b49515a86cd1ff514310dcf8654313259aad0b12 \
		sha256:d619c4d83d9147229dc5eb5b2c4c8554bb7843e7ccf0f5c8685283f47bba0475 \
		sha256:3a904016e626ab65cf5b0924b39c1a8d20ea027715c2df5ad120601ed8437678 \
		sha256:b75ad948784ce526a8c7952ffbe67972d75f64ebc73b3688f67d0750fe91bee0 \
		sha256:2693404dabb9fdfa1676263e0229675e944360869e48737dc4f23fc8ea0c383c \
		sha256:357f08491737fbc2a434c2d53aa8d41f67e0115ad49aa3341bc2f42c216273a4 &&
	verify r5
'

# ---- the reference seed archive (docker save of seed-image:latest) ----
SEED=$REF/save/seed-archive-extracted
test_expect_success 'seed: rebuild the reference archive folder' '
	make_busybox_rootfs bb && tar -C bb -cf bb.tar . &&
	cp -r "$SEED" seed && chmod -R u+w seed &&
	cp bb.tar seed/7dda06bf84e94537cbb1d340db99c11d44960d8733e6fc86a4418be9b09ff002/layer.tar &&
	test "$(sha256sum <bb.tar | cut -c1-64)" = 7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82 &&
	test_set_prereq SEED
'
test_expect_success SEED 'seed: load it, save it: headers and bytes as docker save' '
	S rs load -i seed >out && echo "Loaded image: seed-image:latest" >expect && test_cmp expect out &&
	S rs save seed-image:latest >seed.tar &&
	python3 "$TEST_LIB_DIR/tarhdrs.py" seed.tar >hdrs &&
	test_cmp "$REF/save/seed.tar.headers.txt" hdrs &&
	mkdir x && tar -C x -xf seed.tar && diff -r seed x &&
	python3 "$TEST_LIB_DIR/v1id.py" x >v1 && ! grep MISMATCH v1 &&
	verify rs
'
test_expect_success SEED 'seed: save twice and -o give the same bytes; -o file is 0600 as docker'"'"'s' '
	S rs save -o seed2.tar seed-image:latest && cmp seed.tar seed2.tar &&
	test "$(stat -c %a seed2.tar)" = 600 &&
	S rs save seed-image >seed3.tar && cmp seed.tar seed3.tar
'
test_expect_success SEED 'seed: load from stdin and gzip; round trip gives the same archive' '
	S rt1 load <seed.tar >out && test_cmp expect out &&
	gzip -c seed.tar >seed.tgz && S rt2 load -i seed.tgz >out && test_cmp expect out &&
	S rt2 save seed-image:latest | cmp - seed.tar &&
	verify rt1 && verify rt2 &&
	test -z "$(ls rt1/image/overlay2/layerdb/tmp)"
'
if command -v zstd >/dev/null; then test_set_prereq ZSTD; else test_prereq_missing ZSTD "zstd not installed"; fi
test_expect_success SEED,ZSTD 'seed: load a zstd archive' '
	echo "Loaded image: seed-image:latest" >expect &&
	zstd -q -c seed.tar >seed.tzst && S rt3 load -q -i seed.tzst >out && test_cmp expect out
'
test_expect_success SEED 'seed: save by ID has RepoTags null and no repositories' '
	S rs save 156c48630dd2 >byid.tar &&
	tar -xOf byid.tar manifest.json >m.json &&
	grep -q "\"RepoTags\":null" m.json && ! tar -tf byid.tar | grep -q repositories &&
	test_cmp "$REF/save/manifest-save-by-id.json" m.json
'
test_expect_success SEED 'seed: two images sharing a layer: symlinked layer.tar, every tag in repositories' '
	S rs load -i "$CORPUS/docker-archive/cimage-almostempty.tar" >/dev/null &&
	S rs tag seed-image:latest alias:1 &&
	S rs save seed-image:latest alias:1 emptyimage >multi.tar &&
	tar -xOf multi.tar repositories >repos &&
	echo "{\"alias\":{\"1\":\"2337962c72dbe44da0f7d67506a80a7356c563b1612ac9b1e1f94fab82578a2b\"},\"emptyimage\":{\"latest\":\"c7b98db321d22702b8dd264fa7d58936951867854969a873d3dd20520eadca8f\"},\"seed-image\":{\"latest\":\"2337962c72dbe44da0f7d67506a80a7356c563b1612ac9b1e1f94fab82578a2b\"}}" >expect &&
	test_cmp expect repos &&
	S rm1 load -i multi.tar >out &&
	printf "Loaded image: seed-image:latest\nLoaded image: alias:1\nLoaded image: emptyimage:latest\n" >expect &&
	test_cmp expect out && verify rm1
'
test_expect_success SEED 'save --format oci: load gives the same image' '
	S rs save --format oci -o oci.tar seed-image:latest &&
	tar -tf oci.tar >list && grep -qx oci-layout list && grep -qx index.json list &&
	S ro load -i oci.tar >out && echo "Loaded image: seed-image:latest" >expect && test_cmp expect out &&
	image_ok ro 156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0 \
		$(python3 -c "import json;print(\" \".join(json.load(open(\"seed/156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0.json\"))[\"rootfs\"][\"diff_ids\"]))") &&
	S ro save seed-image:latest | cmp - seed.tar
'
if command -v skopeo >/dev/null; then test_set_prereq SKOPEO; else test_prereq_missing SKOPEO "skopeo not installed"; fi
test_expect_success SEED,SKOPEO 'save --format oci: skopeo inspects the archive' '
	skopeo inspect oci-archive:oci.tar >sk && grep -q "\"Architecture\": \"amd64\"" sk
'
test_expect_success SEED 'save: errors as docker' '
	must_fail S rs save nosuch:tag 2>err && grep -q "reference does not exist" err &&
	must_fail S rs save --format foo seed-image 2>err
'

# ---- generated archives ----
FX=$TRASH/fx
test_expect_success 'generate archives' 'python3 "$TEST_REPO/tests/fixtures/archives/gen.py" "$FX"'
test_expect_success 'a tag moved from another image is reported as by dockerd' '
	S rg load -i "$FX/two-layer.tar" >out && grep -qx "Loaded image: gen/two:1" out &&
	old=$(tags_of rg | sed -n "s,^gen/two:1=,,p") &&
	S rg load -i "$FX/other.tar" >out &&
	new=$(tags_of rg | sed -n "s,^gen/two:1=,,p") &&
	printf "The image gen/two:1 already exists, renaming the old one with ID %s to empty string\nLoaded image: gen/two:1\n" "$old" >expect &&
	test_cmp expect out && test "$old" != "$new" && verify rg
'
test_expect_success 'big layers before the manifest and their parent: staged once, then registered' '
	S rg load -i "$FX/staged.tar" >out && grep -qx "Loaded image: gen/staged:1" out &&
	test -z "$(ls rg/image/overlay2/layerdb/tmp)" && verify rg && S rg check
'
test_expect_success 'OCI layout tar with a full reference in ref.name' '
	S rg load -i "$FX/hybrid-oci.tar" >out && grep -qx "Loaded image: gen/oci:v1" out && verify rg
'
for c in member-dotdot:"path leaves" member-absolute:"absolute path" manifest-dotdot:"path leaves" \
	manifest-symlink:"manifest.json" layer-symlink-out:"outside the archive" \
	layer-symlink-abs:"outside the archive" layer-below-symlink:"below symlink" \
	bad-diffid:"diff ID mismatch" bad-config-digest:"digest mismatch" \
	missing-layer:"missing" count-mismatch:"layers length mismatch" bad-tag:"invalid tag" \
	not-a-tar:"invalid archive"; do
	name=${c%%:*} pat=${c#*:}
	test_expect_success "hostile: $name refused, store unchanged" "
		refused $name '$pat' -i '$FX/$name.tar' &&
		test -z \"\$(ls r4/image/overlay2/layerdb/tmp 2>/dev/null)\"
	"
done
test_expect_success 'hostile: a rolled-back load keeps layers other images share' '
	S rg load -i "$FX/bad-diffid.tar" 2>err; test $? = 1 &&
	S rg check && verify rg
'
test_done
