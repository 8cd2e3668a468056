#!/bin/bash
# tar-split as dockerd 20.10 writes it, for tars other tools make:
#  - layers written by Python's tarfile (padded to its 10240-byte record
#    after the end-of-archive blocks), compressed by skopeo (klauspost's
#    pgzip: a sync flush and an empty final block) and pulled by dockerd and
#    by strata: the same decompressed tar-split.json.gz (segments after the
#    archive end cut where Go's gzip reader hands its window out, and the
#    empty last read), and strata push gives docker push's blob digests;
#  - tars where every header is a PAX extended header (non-ASCII names), and
#    one that is only a PAX header with no entry after it, imported by
#    docker import and strata import: the same diff ID and tar-split.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v skopeo >/dev/null 2>&1 || skip_all "skopeo not installed (apt-get install skopeo)"
S() { strata --data-root "$TRASH/s" "$@"; }
# tar-split of the layer with diff ID $2 in the data root $1, decompressed
tarsplit_of() {
	local l
	for l in "$1"/image/overlay2/layerdb/sha256/*; do
		if [ "$(cat "$l/diff")" = "$2" ]; then
			gzip -dc "$l/tar-split.json.gz"
			return
		fi
	done
	echo "no layer $2 in $1" >&2
	return 1
}

# SIZE of the second file: the archive end falls before, across and on the
# 32 KiB boundaries of Go's inflate window (163840 = 5 * 32768)
SIZES="100 30000 160000 300000"

test_expect_success 'Python tarfile layers in docker-archives, PAX-only tars' '
	for size in $SIZES; do
		python3 - "py$size.tar" "$size" <<-\EOF || return 1
		import hashlib, io, json, sys, tarfile
		out, size = sys.argv[1], int(sys.argv[2])
		buf = io.BytesIO()
		with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
		    for name, data in [("hello.txt", b"hello\n"), ("big", bytes(range(256)) * (size // 256) + b"z" * (size % 256))]:
		        ti = tarfile.TarInfo(name); ti.mtime = 1700000000; ti.size = len(data); ti.mode = 0o644
		        t.addfile(ti, io.BytesIO(data))
		layer = buf.getvalue()
		assert len(layer) % tarfile.RECORDSIZE == 0
		open(out + ".diffid", "w").write("sha256:" + hashlib.sha256(layer).hexdigest() + "\n")
		cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
		                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
		cid = hashlib.sha256(cfg).hexdigest()
		man = json.dumps([{"Config": cid + ".json", "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]}]).encode()
		with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
		    for n, d in [(cid + ".json", cfg), ("l/layer.tar", layer), ("manifest.json", man)]:
		        ti = tarfile.TarInfo(n); ti.size = len(d); ti.mtime = 1700000000
		        t.addfile(ti, io.BytesIO(d))
		EOF
	done &&
	python3 - <<-\EOF
	import io, tarfile
	buf = io.BytesIO()
	with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
	    for name, data in [("h\u00e9llo.txt", b"hello\n"), ("d\u00efr", None), ("d\u00efr/w\u00f6rld.txt", b"x" * 3000)]:
	        ti = tarfile.TarInfo(name); ti.mtime = 1700000000
	        if data is None:
	            ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
	        else:
	            ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
	open("paxall.tar", "wb").write(buf.getvalue())
	buf = io.BytesIO()
	with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
	    ti = tarfile.TarInfo("p\u00e4th"); ti.mtime = 1700000000; ti.size = 0
	    t.addfile(ti)
	b = buf.getvalue()
	assert b[156:157] == b"x"
	# the PAX header and its record, then the end of the archive: no entry
	open("paxhdr.tar", "wb").write(b[:1024] + b"\0" * 1024)
	EOF
'

test_expect_success 'skopeo pushes them; dockerd pulls, pushes again and imports' '
	registry_start "$TRASH/reg" &&
	for size in $SIZES; do
		skopeo copy -q docker-archive:py$size.tar docker://$REGISTRY/py$size:1 --dest-tls-verify=false || return 1
	done &&
	dockerd_start "$TRASH/d" &&
	for size in $SIZES; do
		docker pull -q $REGISTRY/py$size:1 >/dev/null &&
		docker tag $REGISTRY/py$size:1 $REGISTRY/d$size:1 &&
		docker push $REGISTRY/d$size:1 >/dev/null &&
		docker inspect --format "{{.Id}}" $REGISTRY/py$size:1 >py$size.docker-id || return 1
	done &&
	for t in paxall paxhdr; do
		docker import $t.tar $t:1 >/dev/null &&
		docker inspect --format "{{index .RootFS.Layers 0}}" $t:1 >$t.docker-diffid || return 1
	done &&
	dockerd_stop "$TRASH/d"
'

test_expect_success 'strata pulls them: the same image IDs and tar-split' '
	for size in $SIZES; do
		S pull -q $REGISTRY/py$size:1 >/dev/null &&
		S inspect --format "{{.Id}}" $REGISTRY/py$size:1 >id && test_cmp py$size.docker-id id &&
		tarsplit_of "$TRASH/d/root" $(cat py$size.tar.diffid) >want &&
		tarsplit_of "$TRASH/s" $(cat py$size.tar.diffid) >got &&
		test_cmp want got || return 1
	done
'

test_expect_success 'strata push gives the blob digests of docker push' '
	for size in $SIZES; do
		S tag $REGISTRY/py$size:1 $REGISTRY/s$size:1 &&
		S push $REGISTRY/s$size:1 >/dev/null &&
		d=$(find "$TRASH/reg/data/docker/registry/v2/repositories/d$size/_layers" -name link -exec cat {} + | sort) &&
		s=$(find "$TRASH/reg/data/docker/registry/v2/repositories/s$size/_layers" -name link -exec cat {} + | sort) &&
		test -n "$d" && test "$d" = "$s" || return 1
	done
'

test_expect_success 'PAX-only tars: docker import`s diff ID and tar-split' '
	for t in paxall paxhdr; do
		S import $t.tar $t:1 >/dev/null &&
		S inspect --format "{{index .RootFS.Layers 0}}" $t:1 >diffid && test_cmp $t.docker-diffid diffid &&
		tarsplit_of "$TRASH/d/root" $(cat diffid) >want &&
		tarsplit_of "$TRASH/s" $(cat diffid) >got &&
		test_cmp want got || return 1
	done
'

test_done
