#!/bin/bash
# strata squash: the squashed image's merged root filesystem equals the
# original's (whiteouts, opaque folders, a folder replaced by a file, hard
# links whose first name is hidden), history and config as the issue says,
# the size is the merged tree's and the old size less the squashed layers'
# waste (a file the range rewrote unchanged counted too), kept base layers
# are shared, the new layer's files are the layers' own inodes where those
# are exactly what its tar says and copies where not (a fractional mtime, an
# xattr the tar leaves out), removing the original leaves the squashed image
# whole, check --deep passes and dockerd runs the result; bad input fails
# cleanly.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
D=$TRASH/d
R=$D/root
TREE="python3 $TEST_LIB_DIR/layertree.py"

# archive.write(OUT, LAYER_TARS, NAME:TAG, CONFIG): a docker-archive of those layers
cat >archive.py <<\PY
import hashlib, io, json, tarfile
def write(out, layers, ref, config):
    config["rootfs"] = {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}
    cfg = json.dumps(config).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    with tarfile.open(out, "w") as t:
        def add(n, d):
            i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
        add(cid + ".json", cfg)
        names = [hashlib.sha256(l).hexdigest() + "/layer.tar" for l in layers]
        for n, l in zip(names, layers):
            add(n, l)
        add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": [ref], "Layers": names}]).encode())
PY

test_expect_success 'an image of four layers with every kind of hiding' '
	python3 - "$TRASH/rootfs" img.tar <<-\PY &&
	import io, os, sys, tarfile
	rootfs, out = sys.argv[1:3]
	def tar(entries):
	    b = io.BytesIO()
	    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
	        for e in entries:
	            if isinstance(e, str):  # a path of the busybox rootfs
	                t.add(os.path.join(rootfs, e), arcname=e, recursive=False)
	                continue
	            name, kind, arg = e
	            i = tarfile.TarInfo(name)
	            i.mtime, i.mode = 1700000000, 0o755 if kind == "dir" else 0o644
	            if kind == "dir":
	                i.type = tarfile.DIRTYPE
	            elif kind == "link":
	                i.type, i.linkname = tarfile.LNKTYPE, arg
	            elif kind == "sym":
	                i.type, i.linkname = tarfile.SYMTYPE, arg
	            elif kind == "chmod":
	                i.mode, kind, arg = 0o600, "file", arg
	            data = arg.encode() if kind == "file" else b""
	            i.size = len(data)
	            t.addfile(i, io.BytesIO(data))
	    return b.getvalue()
	base = sorted(os.path.relpath(os.path.join(d, n), rootfs)
	              for d, ds, fs in os.walk(rootfs) for n in ds + fs)
	layers = [
	    tar(base),
	    tar([("a", "dir", ""), ("a/f1", "file", "x" * 1000), ("a/d", "dir", ""), ("a/d/x", "file", "xx"),
	         ("hl1", "file", "h" * 300), ("hl2", "link", "hl1"), ("big", "file", "b" * 5000),
	         ("keep", "file", "k" * 700), ("dirfile", "dir", ""), ("dirfile/child", "file", "c" * 50),
	         ("same", "file", "s" * 400)]),
	    tar([("a/.wh.f1", "file", ""), ("a/f2", "file", "two"), ("big", "file", "B" * 6000),
	         ("a/d/.wh..wh..opq", "file", ""), ("a/d/y", "file", "yy"), ("keep", "chmod", "k" * 700),
	         ("same", "file", "s" * 400), ("tmp2", "file", "t" * 123)]),
	    tar([("dirfile", "file", "now a file"), (".wh.hl1", "file", ""), ("c", "file", "see"),
	         (".wh.tmp2", "file", ""), ("s", "sym", "c")]),
	]
	sys.path.insert(0, ".")
	import archive
	archive.write(out, layers, "sq/orig:1", {
	    "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
	    "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
	    "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "layer %d" % i} for i in range(4)] +
	               [{"created": "2023-11-14T22:13:20Z", "created_by": "CMD", "empty_layer": True}]})
	PY
	strata --data-root "$R" load -q -i img.tar &&
	strata --data-root "$R" save sq/orig:1 >orig.tar &&
	$TREE orig.tar sq/orig:1 >orig.tree &&
	grep -q "^hl2 file 644 0:0 300 " orig.tree && ! grep -q "^a/f1 \|^a/d/x \|^hl1 " orig.tree
'

test_expect_success 'squash every layer: same tree, one layer, history and size as defined' '
	strata --data-root "$R" squash -t sq/all:1 sq/orig:1 >id &&
	grep -q "^sha256:[0-9a-f]\{64\}$" id &&
	strata --data-root "$R" save sq/all:1 >all.tar &&
	$TREE all.tar sq/all:1 >all.tree &&
	test_cmp orig.tree all.tree &&
	strata --data-root "$R" inspect --format "{{len .RootFS.Layers}}" sq/all:1 >n && echo 1 >expect && test_cmp expect n &&
	strata --data-root "$R" history --format "{{.CreatedBy}}|{{.Comment}}|{{.Size}}" --no-trunc sq/all:1 >hist &&
	head -n 1 hist | grep -q "^strata squash|create new from sha256:" &&
	test_line_count hist 6 &&
	tail -n 5 hist | grep -c "|0B$" >empties && echo 5 >expect && test_cmp expect empties &&
	strata --data-root "$R" inspect --format "{{json .Config.Cmd}} {{json .Config.Env}}" sq/all:1 >cfg &&
	echo "[\"/bin/sh\"] [\"PATH=/bin\"]" >expect && test_cmp expect cfg &&
	$TREE --size all.tar sq/all:1 >want.size &&
	strata --data-root "$R" inspect --format "{{.Size}}" sq/all:1 >got.size &&
	test_cmp want.size got.size &&
	strata --data-root "$R" inspect --format "{{.Size}}" sq/orig:1 >orig.size &&
	test "$(cat got.size)" -lt "$(cat orig.size)" &&
	strata --data-root "$R" analyze --format json sq/orig:1 >orig.json &&
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"size\"] - json.load(open(sys.argv[1]))[\"wasted_bytes\"])" orig.json >expect &&
	test_cmp expect got.size
'

test_expect_success 'squash --from 2 and --keep-base: the base layers are shared, the tree the same' '
	strata --data-root "$R" squash --from 2 -m "two kept" -t sq/from2:1 sq/orig:1 >/dev/null &&
	strata --data-root "$R" save sq/from2:1 >from2.tar &&
	$TREE from2.tar sq/from2:1 >from2.tree &&
	test_cmp orig.tree from2.tree &&
	strata --data-root "$R" inspect --format "{{range .RootFS.Layers}}{{.}} {{end}}" sq/orig:1 >o.layers &&
	strata --data-root "$R" inspect --format "{{range .RootFS.Layers}}{{.}} {{end}}" sq/from2:1 >f.layers &&
	test "$(cut -d" " -f1-2 o.layers)" = "$(cut -d" " -f1-2 f.layers)" &&
	test "$(wc -w <f.layers)" = 3 &&
	python3 -c "import json,sys; a = json.load(open(sys.argv[1])); print(a[\"size\"] - sum(l[\"wasted_bytes\"] for l in a[\"layers\"][2:]))" orig.json >from2.size &&
	strata --data-root "$R" inspect --format "{{.Size}}" sq/from2:1 >got.size &&
	test_cmp from2.size got.size &&
	strata --data-root "$R" history --format "{{.Comment}}" sq/from2:1 | head -n 1 >c && echo "two kept" >expect &&
	test_cmp expect c &&
	strata --data-root "$R" tag sq/from2:1 sq/base:1 &&
	strata --data-root "$R" squash --keep-base sq/all:1 sq/orig:1 2>err && false ||
	grep -q "is not a base of image" err
'

test_expect_success 'vfs: the same trees from full copies (naive diff against the kept base)' '
	V=$TRASH/vfs &&
	strata --data-root "$V" --storage-driver vfs load -q -i img.tar &&
	strata --data-root "$V" squash -t v/all:1 sq/orig:1 >/dev/null &&
	strata --data-root "$V" squash --from 2 -t v/from2:1 sq/orig:1 >/dev/null &&
	strata --data-root "$V" save v/all:1 v/from2:1 >v.tar &&
	$TREE v.tar v/all:1 >v-all.tree && test_cmp orig.tree v-all.tree &&
	$TREE v.tar v/from2:1 >v-from2.tree && test_cmp orig.tree v-from2.tree &&
	# vfs sizes a layer as dockerd does (its naive diff): the squash shrinks it by the same waste
	strata --data-root "$V" inspect --format "{{.Size}} {{.Id}}" sq/orig:1 v/from2:1 >v.sizes &&
	echo $(($(head -n 1 v.sizes | cut -d" " -f1) - $(cat orig.size) + $(cat from2.size))) >expect &&
	tail -n 1 v.sizes | cut -d" " -f1 >got.size &&
	test_cmp expect got.size &&
	strata --data-root "$V" check --deep
'

test_expect_success 'the new layer shares the inodes that are its files, copies the others' '
	python3 - sh.tar <<-\PY &&
	import io, sys, tarfile
	def tar(entries):
	    b = io.BytesIO()
	    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
	        for name, data, mtime, pax in entries:
	            i = tarfile.TarInfo(name)
	            i.size, i.mtime, i.mode, i.pax_headers = len(data), mtime, 0o644, pax
	            t.addfile(i, io.BytesIO(data))
	    return b.getvalue()
	layers = [tar([("shared", b"s" * 500, 1700000000, {}),
	               ("frac", b"f" * 300, 1700000000.25, {}),
	               ("noted", b"n" * 200, 1700000000, {"SCHILY.xattr.user.note": "x"})]),
	          tar([("top", b"t" * 100, 1700000000, {})])]
	sys.path.insert(0, ".")
	import archive
	archive.write(sys.argv[1], layers, "sh/orig:1", {"architecture": "amd64", "os": "linux", "config": {}})
	PY
	strata --data-root "$R" load -q -i sh.tar &&
	strata --data-root "$R" save sh/orig:1 >sh-orig.tar && $TREE sh-orig.tar sh/orig:1 >sh-orig.tree &&
	strata --data-root "$R" squash -t sh/flat:1 sh/orig:1 >/dev/null &&
	low=$(strata --data-root "$R" inspect --format "{{.GraphDriver.Data.LowerDir}}" sh/orig:1) &&
	new=$(strata --data-root "$R" inspect --format "{{.GraphDriver.Data.UpperDir}}" sh/flat:1) &&
	python3 - "$low" "$new" <<-\PY &&
	import os, sys
	low, new = sys.argv[1], sys.argv[2]
	st = lambda d, n: os.stat(os.path.join(d, n))
	# the same inode where it is the file the new tar describes
	assert st(low, "shared").st_ino == st(new, "shared").st_ino, "shared not linked"
	# a fractional mtime and a user xattr the tar does not carry: copies, as the tar says
	assert st(low, "frac").st_mtime_ns % 10**9 == 250000000
	assert st(new, "frac").st_ino != st(low, "frac").st_ino and st(new, "frac").st_mtime_ns % 10**9 == 0
	assert os.listxattr(os.path.join(low, "noted")) == ["user.note"]
	assert st(new, "noted").st_ino != st(low, "noted").st_ino and os.listxattr(os.path.join(new, "noted")) == []
	PY
	strata --data-root "$R" rmi sh/orig:1 >/dev/null &&
	strata --data-root "$R" save sh/flat:1 >sh-flat.tar && $TREE sh-flat.tar sh/flat:1 >sh-flat.tree &&
	test_cmp sh-orig.tree sh-flat.tree &&
	strata --data-root "$R" check --deep
'

test_expect_success 'the store checks clean, deep too' '
	strata --data-root "$R" check --deep
'

test_expect_success 'bad input: clear errors, nothing written' '
	store_before=$(find "$R" | sort | md5sum) &&
	test_expect_code 1 strata --data-root "$R" squash --from 4 sq/orig:1 2>err &&
	grep -q "nothing to squash" err &&
	test_expect_code 1 strata --data-root "$R" squash nosuch:1 2>err &&
	grep -q "No such image: nosuch:1" err &&
	test_expect_code 125 strata --data-root "$R" squash --from x sq/orig:1 2>err &&
	grep -q "invalid argument" err &&
	test_expect_code 1 strata --data-root "$R" squash -t "bad@sha256:$(printf %064d 0)" sq/orig:1 2>err &&
	test "$store_before" = "$(find "$R" | sort | md5sum)"
'

if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

test_expect_success DOCKERD 'dockerd runs the squashed images on strata store' '
	dockerd_start "$D" &&
	docker run --rm --pull never --network none sq/all:1 cat /a/f2 /c /dirfile >out &&
	printf "twoseenow a file" >expect && test_cmp expect out &&
	docker run --rm --pull never --network none sq/from2:1 sh -c "test ! -e /a/f1 && test ! -e /a/d/x && cat /a/d/y" >out &&
	printf yy >expect && test_cmp expect out &&
	dockerd_stop "$D"
'
test_done
