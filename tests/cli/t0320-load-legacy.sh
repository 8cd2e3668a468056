#!/bin/bash
# strata load of legacy (pre-1.10) archives: `repositories` + <v1id>/json +
# <v1id>/layer.tar, no manifest.json.  dockerd 20.10 (legacyLoad) is the
# oracle: one image per v1 folder with its parent recorded, configs built by
# MakeConfigFromV1Config, a 0-byte layer.tar registered as a layer whose diff
# ID is sha256("") (not skipped, no empty_layer), nothing printed.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_LIB_DIR/dockerd.sh"

CORPUS=$TEST_FIXTURES/corpus/images
LEGACY=$CORPUS/docker-archive/moby-emptyLayer-legacy.tar
VERIFY=$VERIFY_STORE
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

S() { local r=$1; shift; strata --data-root "$r" "$@"; }
ids_of() { ls "$1/image/overlay2/imagedb/content/sha256" | sed 's/^/sha256:/' | LC_ALL=C sort; }
tags_of() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]+"/image/overlay2/repositories.json"))["Repositories"]; print("\n".join(sorted(f"{k}={v}" for m in r.values() for k,v in m.items())))' "$1"; }
diffs_of() { python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]+"/image/overlay2/imagedb/content/sha256/"+sys.argv[2][7:]))["rootfs"]["diff_ids"]))' "$1" "$2"; }
verify() { python3 "$VERIFY" "$1" >"$TRASH/verify.out" 2>&1 || { cat "$TRASH/verify.out"; false; }; }

# Determined with dockerd 20.10.24 (docker load of the corpus archive).
TOP=sha256:a9e31d6f186fbbe2468c9961316dba93971266d344ba960f68911df6e29b564c
MID=sha256:c815505e38713d48fe3a497a874d725ba8fd8df1e5c1e7273adc7dff6baa3af6
BASE=sha256:e93bb34ecc6eb92603a2ef4ce8f2bb5c41673f69f92b4e4ed661386a2d31696d
D0=sha256:f624397841595b2369935cbd47fde10171ff91347afa9a5c793275d3765e8e0d
D1=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
D2=sha256:3b90aed61465a1f294fdd312108c1e7f476b3e1b7246c8eebc0f537dec42f2de

test_expect_success 'corpus legacy archive: dockerd 20.10 IDs, tag, parents, empty layer' '
	S r1 load -i "$LEGACY" >out && test ! -s out &&
	printf "%s\n" "$TOP" "$MID" "$BASE" | LC_ALL=C sort >expect && ids_of r1 >got && test_cmp expect got &&
	echo "matthughes/library-centos:6-2015.03.20=$TOP" >expect && tags_of r1 >got && test_cmp expect got &&
	test "$(diffs_of r1 $TOP)" = "$D0 $D1 $D2" &&
	test "$(diffs_of r1 $BASE)" = "$D0" &&
	printf %s "$MID" >expect && test_cmp expect r1/image/overlay2/imagedb/metadata/sha256/${TOP#sha256:}/parent &&
	printf %s "$BASE" >expect && test_cmp expect r1/image/overlay2/imagedb/metadata/sha256/${MID#sha256:}/parent &&
	! grep -q empty_layer r1/image/overlay2/imagedb/content/sha256/${TOP#sha256:} &&
	S r1 check --deep >/dev/null && verify r1
'
test_expect_success DOCKERD 'corpus legacy archive: docker load gives the same store' '
	dockerd_start "$TRASH/da" &&
	docker load -i "$LEGACY" >dout &&
	dockerd_stop "$TRASH/da" &&
	ids_of "$TRASH/da/root" >expect && ids_of r1 >got && test_cmp expect got &&
	tags_of "$TRASH/da/root" >expect && tags_of r1 >got && test_cmp expect got &&
	test_cmp dout out &&
	(cd "$TRASH/da/root/image/overlay2" && find imagedb -type f | LC_ALL=C sort | xargs sha256sum) >expect &&
	(cd r1/image/overlay2 && find imagedb -type f | LC_ALL=C sort | xargs sha256sum) >got && test_cmp expect got
'

# mk_legacy OUT MODE: base (docker 1.6.2: re-marshalled) = busybox, top
# (docker 1.9.1: kept as written) adds /hello.txt; MODE loop|missing|unsafe breaks it.
mk_legacy() {
	python3 - "$1" "$2" "$TRASH/rootfs" <<'PY'
import io, json, os, sys, tarfile
out, mode, rootfs = sys.argv[1:4]
B, T = "b" * 64, "c" * 64
def layer_of(files=None, root=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        if root:
            t.add(root, arcname=".")
        for name, data in (files or {}).items():
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1500000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
base = {"id": B, "comment": "base <&>", "created": "2015-06-01T10:00:00.120000000+02:00",
        "container_config": {"Cmd": "/bin/sh", "Env": ["A=1"], "Unknown": 1, "Image": ""},
        "config": {"Cmd": ["/bin/sh"], "Labels": {"z": "1", "a": "2"}},
        "docker_version": "1.6.2", "architecture": "amd64", "os": "linux", "Size": 5}
top = '{"id":"%s", "parent":"%s","created":"2016-01-02T03:04:05Z","container":"x",\n' \
      ' "container_config":{"Cmd":["/bin/sh","-c","echo hi \\u003e /hello.txt && true"],"Image":"a\\/b"},\n' \
      ' "config":{"Cmd":["/bin/cat","/hello.txt"],"Env":["PATH=/bin"]},"author":"me <m@e>",\n' \
      ' "docker_version":"1.9.1","architecture":"amd64","os":"linux","Size":12,"layer_id":"x","extra":[1, 2.50]}' % (T, B)
if mode == "loop":
    base["parent"] = T
elif mode == "missing":
    base["parent"] = "d" * 64
elif mode == "unsafe":
    base["parent"] = "../etc"
members = [("repositories", json.dumps({"legacy/two": {"v1": T}}).encode()),
           (B + "/VERSION", b"1.0"), (B + "/json", json.dumps(base).encode()),
           (B + "/layer.tar", layer_of(root=rootfs)),
           (T + "/VERSION", b"1.0"), (T + "/json", top.encode()),
           (T + "/layer.tar", layer_of({"hello.txt": b"hello legacy\n"}))]
with tarfile.open(out, "w") as t:
    for name, data in members:
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1500000000
        t.addfile(ti, io.BytesIO(data))
PY
}

test_expect_success 'hand-made legacy archive (two layers) loads, check --deep and verify_store pass' '
	make_busybox_rootfs "$TRASH/rootfs" &&
	mk_legacy two.tar ok &&
	S r2 load -i two.tar >out && test ! -s out &&
	test "$(ids_of r2 | wc -l)" = 2 &&
	tags_of r2 >tags && grep -q "^legacy/two:v1=sha256:" tags &&
	S r2 check --deep >/dev/null && verify r2
'
test_expect_success DOCKERD 'hand-made legacy archive: docker load gives the same images' '
	dockerd_start "$TRASH/db" &&
	docker load -i two.tar >dout &&
	dockerd_stop "$TRASH/db" &&
	ids_of "$TRASH/db/root" >expect && ids_of r2 >got && test_cmp expect got &&
	tags_of "$TRASH/db/root" >expect && tags_of r2 >got && test_cmp expect got
'
test_expect_success DOCKERD 'dockerd started on a strata store runs the legacy image' '
	S "$TRASH/dc/root" load -i two.tar &&
	dockerd_start "$TRASH/dc" &&
	docker run --rm --network none legacy/two:v1 >run.out &&
	docker run --rm --network none legacy/two:v1 ls /bin/busybox >>run.out &&
	dockerd_stop "$TRASH/dc" &&
	printf "hello legacy\n/bin/busybox\n" >expect && test_cmp expect run.out
'
for mode in loop missing unsafe; do
	test_expect_success "legacy archive with a $mode parent is refused, store unchanged" '
		mk_legacy bad-$mode.tar $mode &&
		store_listing r2 >before &&
		must_fail S r2 load -i bad-$mode.tar 2>err &&
		test_line_count err 1 && cat err &&
		store_listing r2 >after && test_cmp before after &&
		S r2 check >/dev/null
	'
done
test_done
