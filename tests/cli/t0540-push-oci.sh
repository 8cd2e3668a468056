#!/bin/bash
# strata push of images pulled as OCI, against a real docker-registry on
# 127.0.0.1: the pushed manifest is an OCI image manifest (OCI config type;
# a skipped/mounted layer keeps the source's media type, zstd included; a
# layer strata compressed is tar+gzip), found statelessly by asking the
# registry for the manifest behind the image's digest reference (through an
# OCI index too).  Docker schema 2 images, another registry host and a source
# manifest the registry no longer has still push schema 2.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v zstd >/dev/null 2>&1 || skip_all "zstd not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root, overlay2 whiteouts)"

FIX=$TEST_REPO/tests/fixtures/pull
VERIFY=$VERIFY_STORE
regtool() { python3 "$FIX/regtool.py" "$@"; }

MT_OCI=application/vnd.oci.image.manifest.v1+json
MT_OCI_CONFIG=application/vnd.oci.image.config.v1+json
MT_OCI_GZIP=application/vnd.oci.image.layer.v1.tar+gzip
MT_OCI_ZSTD=application/vnd.oci.image.layer.v1.tar+zstd
MT_V2=application/vnd.docker.distribution.manifest.v2+json
MT_V2_CONFIG=application/vnd.docker.container.image.v1+json
MT_V2_LAYER=application/vnd.docker.image.rootfs.diff.tar.gzip

store_ok() {
	strata --data-root "$1" check >check.out 2>&1 || { cat check.out; return 1; }
	python3 "$VERIFY" "$1" >verify.out 2>&1 || { cat verify.out; return 1; }
}

# pushed_digest OUT: the digest on push's last line ("TAG: digest: D size: N")
pushed_digest() { tail -n1 "$1" | sed -n 's/^[^ ]*: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p'; }

# check_manifest REG REPO DIGEST OUT MT CONFIG-MT CONFIG-DIGEST LAYER-MT...:
# GET the manifest by digest and check its Content-Type, bytes (Go's 3-space
# MarshalIndent, no trailing newline, dockerd's key order), media types and
# config digest; the size push printed is its length.  Layer digests go to
# manifest.layers, one a line.
check_manifest() {
	python3 - "$@" <<-\PY
	import hashlib, json, sys, urllib.request
	reg, repo, dg, out, mt, cmt, cdg = sys.argv[1:8]
	lmts = sys.argv[8:]
	acc = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
	                 "application/vnd.docker.distribution.manifest.list.v2+json",
	                 "application/vnd.oci.image.manifest.v1+json",
	                 "application/vnd.oci.image.index.v1+json"])
	r = urllib.request.urlopen(urllib.request.Request(
	    f"http://{reg}/v2/{repo}/manifests/{dg}", headers={"Accept": acc}), timeout=30)
	raw = r.read()
	ct = r.headers.get("Content-Type").split(";")[0]
	assert "sha256:" + hashlib.sha256(raw).hexdigest() == dg, "digest"
	assert ct == mt, ("content-type", ct)
	m = json.loads(raw)
	assert raw == json.dumps(m, indent=3).encode(), raw
	assert list(m) == ["schemaVersion", "mediaType", "config", "layers"], list(m)
	assert m["schemaVersion"] == 2 and m["mediaType"] == mt, m
	for d in [m["config"]] + m["layers"]:
	    assert list(d) == ["mediaType", "size", "digest"], d
	assert m["config"]["mediaType"] == cmt, m["config"]
	assert m["config"]["digest"] == cdg, m["config"]
	got = [l["mediaType"] for l in m["layers"]]
	assert got == lmts, (got, lmts)
	last = open(out).read().splitlines()[-1]
	assert last.endswith(f"digest: {dg} size: {len(raw)}"), last
	open("manifest.layers", "w").write("".join(l["digest"] + "\n" for l in m["layers"]))
	PY
}

test_expect_success 'setup: a registry with a schema 2 image, an OCI zstd image, an OCI copy and an OCI index' '
	registry_start "$TRASH/reg" &&
	REG=$REGISTRY &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - $REG/t/bb:1 >id &&
	strata --data-root src push $REG/t/bb:1 >out &&
	pushed_digest out >bb.digest && test -s bb.digest &&
	plat=$(python3 -c "import json,sys;c=json.load(open(sys.argv[1]));print(c[\"os\"]+\"/\"+c[\"architecture\"])" \
		"$(store_config_path src "$(cat id)")") &&
	mkdir -p zw && regtool zstd-image $REG t/z zstd zw >z.out &&
	read -r zman zcfg zdiff <z.out &&
	regtool get-manifest $REG t/z zstd >z.json &&
	zblob=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[\"layers\"][0][\"digest\"])" z.json) &&
	regtool oci-copy $REG t/bb 1 oci1 >oci1.digest &&
	regtool index $REG t/bb ociidx oci $plat=oci1 >idx.digest
'

test_expect_success 'OCI zstd image: pull, tag, push -> OCI manifest, the mounted zstd layer keeps tar+zstd' '
	strata --data-root s1 pull $REG/t/z:zstd >out &&
	test ! -e s1/image/overlay2/imagedb/metadata/sha256/${zcfg#sha256:} &&
	strata --data-root s1 tag $REG/t/z:zstd $REG/t/z2:1 &&
	strata --data-root s1 push $REG/t/z2:1 >out &&
	grep -q "^The push refers to repository \[$REG/t/z2\]$" out &&
	grep -q "^${zdiff:7:12}: Mounted from t/z$" out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/z2 $d out $MT_OCI $MT_OCI_CONFIG $zcfg $MT_OCI_ZSTD &&
	echo $zblob >expect && test_cmp expect manifest.layers &&
	grep -q "\"$REG/t/z2@$d\":\"$zcfg\"" s1/image/overlay2/repositories.json &&
	echo $d >z2.digest &&
	store_ok s1
'

test_expect_success 'push again: layer already exists, the same OCI manifest' '
	strata --data-root s1 push $REG/t/z2:1 >out &&
	grep -q "^${zdiff:7:12}: Layer already exists$" out &&
	test "$(pushed_digest out)" = "$(cat z2.digest)" &&
	store_ok s1
'

test_expect_success 'OCI gzip image: pushed as OCI, mounted layers keep tar+gzip and their digests' '
	strata --data-root s2 pull $REG/t/bb:oci1 >out &&
	grep -q "^Digest: $(cat oci1.digest)$" out &&
	strata --data-root s2 tag $REG/t/bb:oci1 $REG/t/o2:1 &&
	strata --data-root s2 push $REG/t/o2:1 >out &&
	grep -q "Mounted from t/bb$" out && ! grep -q "Pushed$" out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/o2 $d out $MT_OCI $MT_OCI_CONFIG $(cat id) $MT_OCI_GZIP &&
	regtool get-manifest $REG t/bb oci1 |
		python3 -c "import json,sys;[print(l[\"digest\"]) for l in json.load(sys.stdin)[\"layers\"]]" >expect &&
	test_cmp expect manifest.layers &&
	store_ok s2
'

test_expect_success 'image pulled through an OCI index: the platform entry decides, pushed as OCI' '
	strata --data-root s3 pull $REG/t/bb:ociidx >out &&
	grep -q "^Digest: $(cat idx.digest)$" out &&
	grep -q "\"$REG/t/bb@$(cat idx.digest)\":\"$(cat id)\"" s3/image/overlay2/repositories.json &&
	strata --data-root s3 tag $REG/t/bb:ociidx $REG/t/i2:1 &&
	strata --data-root s3 push $REG/t/i2:1 >out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/i2 $d out $MT_OCI $MT_OCI_CONFIG $(cat id) $MT_OCI_GZIP &&
	store_ok s3
'

test_expect_success 'Docker schema 2 image: still schema 2 (the same manifest as the first push)' '
	strata --data-root s4 pull $REG/t/bb:1 >out &&
	strata --data-root s4 tag $REG/t/bb:1 $REG/t/d2:1 &&
	strata --data-root s4 push $REG/t/d2:1 >out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/d2 $d out $MT_V2 $MT_V2_CONFIG $(cat id) $MT_V2_LAYER &&
	test "$d" = "$(cat bb.digest)" &&
	strata --data-root src tag $REG/t/bb:1 $REG/t/d3:1 &&
	strata --data-root src push $REG/t/d3:1 >out &&
	check_manifest $REG t/d3 $(pushed_digest out) out $MT_V2 $MT_V2_CONFIG $(cat id) $MT_V2_LAYER &&
	store_ok s4 && store_ok src
'

test_expect_success 'another registry host: schema 2 (the source cannot be asked there)' '
	registry_start "$TRASH/reg2" &&
	REG2=$REGISTRY && REGISTRY=$REG &&
	strata --data-root s1 tag $REG/t/z:zstd $REG2/t/z:1 &&
	strata --data-root s1 push $REG2/t/z:1 >out &&
	grep -q "^${zdiff:7:12}: Pushed$" out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG2 t/z $d out $MT_V2 $MT_V2_CONFIG $zcfg $MT_V2_LAYER &&
	grep -q "\"$REG2/t/z@$d\":\"$zcfg\"" s1/image/overlay2/repositories.json &&
	store_ok s1
'

test_expect_success 'source manifest gone from the registry: schema 2' '
	strata --data-root s6 pull $REG/t/bb@$(cat oci1.digest) >out &&
	python3 - "$REG" "$(cat oci1.digest)" <<-\PY &&
	import sys, urllib.request
	r = urllib.request.Request(f"http://{sys.argv[1]}/v2/t/bb/manifests/{sys.argv[2]}", method="DELETE")
	assert urllib.request.urlopen(r, timeout=30).status == 202
	PY
	strata --data-root s6 tag $REG/t/bb@$(cat oci1.digest) $REG/t/gone:1 &&
	strata --data-root s6 push $REG/t/gone:1 >out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/gone $d out $MT_V2 $MT_V2_CONFIG $(cat id) $MT_V2_LAYER &&
	store_ok s6
'

test_expect_success 'a layer that cannot be mounted is compressed by strata: tar+gzip in the OCI manifest' '
	strata --data-root s5 pull $REG/t/z:zstd >out &&
	python3 - "$REG" "$zblob" <<-\PY &&
	import sys, urllib.request
	r = urllib.request.Request(f"http://{sys.argv[1]}/v2/t/z/blobs/{sys.argv[2]}", method="DELETE")
	assert urllib.request.urlopen(r, timeout=30).status == 202
	PY
	strata --data-root s5 tag $REG/t/z:zstd $REG/t/z3:1 &&
	strata --data-root s5 push $REG/t/z3:1 >out &&
	grep -q "^${zdiff:7:12}: Pushed$" out &&
	d=$(pushed_digest out) && test -n "$d" &&
	check_manifest $REG t/z3 $d out $MT_OCI $MT_OCI_CONFIG $zcfg $MT_OCI_GZIP &&
	! grep -q "^$zblob$" manifest.layers &&
	strata --data-root s7 pull $REG/t/z3:1 >out &&
	strata --data-root s7 images -q --no-trunc $REG/t/z3:1 >got &&
	echo $zcfg >expect && test_cmp expect got &&
	store_ok s5 && store_ok s7
'

test_done
