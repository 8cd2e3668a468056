#!/bin/bash
# strata build without a dockerd: Dockerfiles from a folder, -f and stdin,
# reproducible builds with SOURCE_DATE_EPOCH (two fresh roots, the same
# image IDs and save archives byte for byte), and bad input: each refused
# with docker's message and exit code, no tag moved, the store still valid.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/busybox.sh"

make_busybox_rootfs rootfs 2>err || skip_all "$(cat err)"
tar -C rootfs -cf base.tar .
R=$TRASH/root
# RUN needs root and an OCI runtime, as the containers it runs in
if [ "$(id -u)" -eq 0 ] && { command -v runc || command -v crun; } >/dev/null 2>&1; then
	test_set_prereq RUNTIME
else
	test_prereq_missing RUNTIME "RUN needs root and runc or crun"
fi
test_expect_success 'a base image' '
	strata --data-root "$R" import base.tar busybox:local >id &&
	strata --data-root "$R" tag busybox:local keep:1
'

mkdir ctx
cat >ctx/Dockerfile <<-\EOF
	FROM busybox:local
	COPY sub/ /new/dir/
	LABEL a=1
	CMD ["sh"]
EOF
mkdir -p ctx/sub && echo data >ctx/sub/file

test_expect_success 'the Dockerfile of a folder, -f relative to the current folder, stdin (no context)' '
	strata --data-root "$R" build -q -t one ctx >id1 &&
	mkdir other && cp ctx/Dockerfile other/Other &&
	strata --data-root "$R" build -q -f other/Other ctx >id2 && test_cmp id1 id2 &&
	grep -v COPY ctx/Dockerfile >nocopy && strata --data-root "$R" build -q - <nocopy >id3 &&
	! strata --data-root "$R" build - <ctx/Dockerfile >out 2>err &&
	echo "COPY failed: file not found in build context or excluded by .dockerignore: stat sub/: file does not exist" >want &&
	test_cmp want err &&
	strata --data-root "$R" history --no-trunc --format "{{.CreatedBy}}" one >h &&
	head -n 3 h | sed "s/dir:[0-9a-f]*/dir:H/" >got &&
	printf "%s\n" "/bin/sh -c #(nop)  CMD [\"sh\"]" "/bin/sh -c #(nop)  LABEL a=1" "/bin/sh -c #(nop) COPY dir:H in /new/dir/ " >want &&
	test_cmp want got
'

test_expect_success 'SOURCE_DATE_EPOCH: the same IDs and save archives in two fresh roots' '
	for r in r1 r2; do
		SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/$r" import base.tar busybox:local >/dev/null &&
		SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/$r" build -q -t rep:1 ctx >$r.id &&
		strata --data-root "$TRASH/$r" save rep:1 >$r.tar || return 1
	done &&
	test_cmp r1.id r2.id && cmp r1.tar r2.tar &&
	cfg=$TRASH/r1/image/overlay2/imagedb/content/sha256/$(cut -c8- r1.id) &&
	grep -q "\"created\":\"2023-11-14T22:13:20Z\"" "$cfg"
'

test_expect_success RUNTIME 'SOURCE_DATE_EPOCH with RUN: the same IDs and save archives in two fresh roots' '
	mkdir -p repro && echo f >repro/f &&
	printf "FROM busybox:local\nCOPY f /f\nRUN mkdir -p /opt/x && echo hi >/opt/x/y\nCMD [\"sh\"]\n" >repro/Dockerfile &&
	for r in p1 p2; do
		SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/$r" import base.tar busybox:local >/dev/null &&
		SOURCE_DATE_EPOCH=1700000000 strata --data-root "$TRASH/$r" build -q -t rep:2 repro >$r.id &&
		strata --data-root "$TRASH/$r" save rep:2 >$r.tar || return 1
		sleep 1
	done &&
	test_cmp p1.id p2.id && cmp p1.tar p2.tar
'

# refused NAME STATUS MESSAGE: the last build's status and stderr; keep:1 unmoved
refused() {
	echo "$3" >want.err && test_cmp want.err err && test "$rc" = "$2" &&
	strata --data-root "$R" images -q --no-trunc keep:1 >k && test_cmp id k
}
bad() {
	mkdir -p "bad/$1" && cat >"bad/$1/Dockerfile"
}
bad run <<-\EOF
	FROM busybox:local
	RUN exit 3
EOF
bad heredoc <<-\EOF
	FROM busybox:local
	RUN <<EOT
	echo hi
	EOT
EOF
bad nobase <<-\EOF
	FROM nonexist:1
EOF
bad empty </dev/null

test_expect_success RUNTIME 'a failing RUN: its status and message, the tag not moved' '
	strata --data-root "$R" build -t keep:1 bad/run >out 2>err; rc=$? &&
	refused run 3 "The command '"'"'/bin/sh -c exit 3'"'"' returned a non-zero code: 3" &&
	grep -q "^ ---> Running in " out && ! grep -q "^Removing intermediate" out &&
	strata --data-root "$R" build --force-rm bad/run >out 2>err; rc=$? &&
	refused run 3 "The command '"'"'/bin/sh -c exit 3'"'"' returned a non-zero code: 3" &&
	grep -q "^Removing intermediate container" out
'
test_expect_success '--rm=false keeps the containers of metadata steps, created and never started' '
	K=$TRASH/keep-meta &&
	strata --data-root "$K" import base.tar busybox:local >/dev/null &&
	printf "FROM busybox:local\nLABEL a=b\nENV X=1\n" >kept.df &&
	strata --data-root "$K" build --rm=false -f kept.df ctx >out &&
	! grep -q "^Removing intermediate" out &&
	sed -n "s/^ ---> Running in //p" out >ran && test_line_count ran 2 &&
	strata --data-root "$K" ps -a -q >ps && tac ran >want && test_cmp want ps &&
	strata --data-root "$K" ps -a --no-trunc --format "{{.State}} {{.Command}}" >ps &&
	printf "%s\n" "created \"/bin/sh -c '"'"'#(nop) '"'"' '"'"'ENV X=1'"'"'\"" \
		"created \"/bin/sh -c '"'"'#(nop) '"'"' '"'"'LABEL a=b'"'"'\"" >want &&
	test_cmp want ps &&
	strata --data-root "$K" ps -a --no-trunc --format "{{.Image}}" | tail -n 1 >img &&
	strata --data-root "$K" images -q --no-trunc busybox:local >want && test_cmp want img &&
	printf "FROM scratch\nLABEL a=b\n" | strata --data-root "$K" build --rm=false - >out &&
	strata --data-root "$K" ps -a --format "{{.Image}}" | head -n 1 >img &&
	echo "<no image>" >want && test_cmp want img &&
	strata --data-root "$K" build --rm=false --force-rm --no-cache -f kept.df ctx >out &&
	test $(grep -c "^Removing intermediate container" out) = 2 &&
	strata --data-root "$K" ps -a -q >ps && test_line_count ps 3 &&
	strata --data-root "$K" rm $(cat ps) >/dev/null &&
	strata --data-root "$K" check >out 2>&1 || { cat out; false; }
'
test_expect_success RUNTIME '--rm=false keeps the RUN and WORKDIR containers with their changes' '
	K=$TRASH/keep-run &&
	strata --data-root "$K" import base.tar busybox:local >/dev/null &&
	printf "FROM busybox:local\nRUN echo one >/one\nWORKDIR /new/dir\nRUN exit 3\n" >kept.df &&
	strata --data-root "$K" build --rm=false -f kept.df ctx >out 2>err; rc=$? &&
	test $rc = 3 && ! grep -q "^Removing intermediate" out &&
	sed -n "s/^ ---> Running in //p" out >ran && test_line_count ran 3 &&
	strata --data-root "$K" ps -a --format "{{.ID}} {{.State}} {{.Status}}" >ps &&
	sed -E "s/ (ago|seconds?|second ago).*//; s/ (Less than a|[0-9]+)$//" ps >got &&
	printf "%s\n" "$(sed -n 3p ran) exited Exited (3)" "$(sed -n 2p ran) created Created" \
		"$(sed -n 1p ran) exited Exited (0)" >want &&
	test_cmp want got &&
	strata --data-root "$K" diff "$(sed -n 1p ran)" >d1 && echo "A /one" >want && test_cmp want d1 &&
	strata --data-root "$K" diff "$(sed -n 2p ran)" >d2 && printf "A /new\nA /new/dir\n" >want && test_cmp want d2 &&
	strata --data-root "$K" build --no-cache --force-rm -f kept.df ctx >out 2>err; rc=$? &&
	test $rc = 3 && test $(grep -c "^Removing intermediate container" out) = 3 &&
	strata --data-root "$K" ps -a -q >ps && test_line_count ps 3 &&
	strata --data-root "$K" check >out 2>&1 || { cat out; false; }
'
test_expect_success 'a .dockerignore in a context archive leaves out only the Dockerfile and itself, as dockerd' '
	mkdir -p ign && echo s >ign/secret && echo l >ign/a.log &&
	printf "secret\n*.log\n.dockerignore\nDockerfile\n" >ign/.dockerignore &&
	printf "FROM busybox:local\nCOPY . /all/\n" >ign/Dockerfile &&
	tar -C ign -cf ign.tar . &&
	strata --data-root "$R" build -q -t ign:1 - <ign.tar >/dev/null &&
	strata --data-root "$R" save ign:1 >ign-saved.tar &&
	python3 - ign-saved.tar <<-\PY &&
	import io, json, sys, tarfile
	outer = tarfile.open(sys.argv[1])
	top = json.load(outer.extractfile("manifest.json"))[0]["Layers"][-1]
	names = [m.name for m in tarfile.open(fileobj=io.BytesIO(outer.extractfile(top).read()))]
	assert names == ["all", "all/a.log", "all/secret"], names
	PY
	printf "FROM busybox:local\nCOPY Dockerfile /d\n" >ign/Dockerfile && tar -C ign -cf ign.tar . &&
	strata --data-root "$R" build -t keep:1 - <ign.tar >out 2>err; rc=$? &&
	refused ign 1 "COPY failed: file not found in build context or excluded by .dockerignore: stat Dockerfile: file does not exist"
'
if [ -x /usr/bin/time ]; then
	test_set_prereq TIME
else
	test_prereq_missing TIME "GNU time (/usr/bin/time) measures the peak RSS"
fi
# build_small CTX TAG: build CTX as TAG with a peak RSS below 120 MB, saved to CTX.tar
build_small() {
	/usr/bin/time -f %M -o rss "$STRATA_BIN" --data-root "$R" build -q -t "$2" "$1" >/dev/null &&
	test "$(tail -n 1 rss)" -lt 122880 &&
	strata --data-root "$R" save "$2" >"$1.tar"
}
test_expect_success TIME 'COPY of a 160 MB file: its layer is streamed (peak RSS far below the size), the diff ID of its bytes' '
	mkdir -p bigctx && dd if=/dev/zero of=bigctx/blob bs=1M count=160 2>/dev/null &&
	printf "FROM busybox:local\nCOPY blob /blob\n" >bigctx/Dockerfile &&
	build_small bigctx big:1 &&
	python3 - bigctx.tar <<-\PY
	import hashlib, json, sys, tarfile
	outer = tarfile.open(sys.argv[1])
	m = json.load(outer.extractfile("manifest.json"))[0]
	cfg = json.load(outer.extractfile(m["Config"]))
	h = hashlib.sha256()
	f = outer.extractfile(m["Layers"][-1])
	for chunk in iter(lambda: f.read(1 << 20), b""):
	    h.update(chunk)
	assert cfg["rootfs"]["diff_ids"][-1] == "sha256:" + h.hexdigest(), cfg["rootfs"]
	f = outer.extractfile(m["Layers"][-1])
	names = [(x.name, x.size) for x in tarfile.open(fileobj=f, mode="r|")]
	assert names == [("blob", 160 << 20)], names
	PY
'
test_expect_success TIME 'ADD extracting a 160 MB member: the member is not held in memory either' '
	mkdir -p bigadd && tar -C bigctx -czf bigadd/blob.tgz blob &&
	printf "FROM busybox:local\nADD blob.tgz /x/\n" >bigadd/Dockerfile &&
	build_small bigadd bigadd:1 &&
	python3 - bigadd.tar <<-\PY
	import json, sys, tarfile
	outer = tarfile.open(sys.argv[1])
	m = json.load(outer.extractfile("manifest.json"))[0]
	layer = tarfile.open(fileobj=outer.extractfile(m["Layers"][-1]), mode="r|")
	seen = []
	for x in layer:
	    seen.append((x.name, x.size))
	    if x.isfile():
	        f = layer.extractfile(x)
	        for chunk in iter(lambda: f.read(1 << 20), b""):
	            assert not chunk.strip(b"\0"), "the member data changed"
	assert seen == [("x", 0), ("x/blob", 160 << 20)], seen
	PY
'
test_expect_success 'a heredoc is a parse error' '
	strata --data-root "$R" build -t keep:1 bad/heredoc >out 2>err; rc=$? &&
	refused heredoc 1 "Error response from daemon: dockerfile parse error line 2: heredocs (<<EOF) are not supported by the classic builder of docker 20.10"
'
test_expect_success 'a missing base image' '
	strata --data-root "$R" build -t keep:1 bad/nobase >out 2>err; rc=$? &&
	refused nobase 1 "No such image: nonexist:1"
'
test_expect_success 'an empty Dockerfile' '
	strata --data-root "$R" build -t keep:1 bad/empty >out 2>err; rc=$? &&
	refused empty 1 "Error response from daemon: the Dockerfile (Dockerfile) cannot be empty"
'
test_expect_success 'a missing context and a missing Dockerfile' '
	strata --data-root "$R" build nope >out 2>err; rc=$? &&
	refused ctx 1 "unable to prepare context: path \"nope\" not found" &&
	strata --data-root "$R" build -f nope ctx >out 2>err; rc=$? &&
	refused file 1 "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat $TRASH/nope: no such file or directory"
'
test_expect_success 'an invalid tag is a flag error (125)' '
	strata --data-root "$R" build -t "Bad:x" ctx >out 2>err; rc=$? &&
	test $rc = 125 && grep -q "^invalid argument \"Bad:x\" for \"-t, --tag\" flag: " err
'
test_expect_success RUNTIME 'a failing quiet build shows its transcript on stderr' '
	strata --data-root "$R" build -q bad/run >out 2>err; rc=$? &&
	test $rc = 3 && test_line_count out 0 &&
	grep -q "^Step 1/2 : FROM busybox:local" err &&
	tail -n 1 err >last && echo "The command '"'"'/bin/sh -c exit 3'"'"' returned a non-zero code: 3" >want &&
	test_cmp want last
'
test_expect_success 'a symlink out of the context is never followed out of it' '
	mkdir -p esc/d && ln -s /etc/hostname esc/out && ln -s /etc/hostname esc/d/out &&
	printf "FROM busybox:local\nCOPY out /o\n" >esc/Dockerfile &&
	strata --data-root "$R" build esc >out 2>err; rc=$? &&
	refused esc 1 "COPY failed: file not found in build context or excluded by .dockerignore: stat out: file does not exist" &&
	printf "FROM busybox:local\nCOPY d /d/\n" >esc/Dockerfile &&
	strata --data-root "$R" build -q -t esc:1 esc >/dev/null &&
	strata --data-root "$R" save esc:1 >esc.tar &&
	python3 - esc.tar <<-\PY
	import io, json, sys, tarfile
	outer = tarfile.open(sys.argv[1])
	top = json.load(outer.extractfile("manifest.json"))[0]["Layers"][-1]
	members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(outer.extractfile(top).read()))}
	m = members["d/out"]
	assert m.issym() and m.linkname == "/etc/hostname" and m.size == 0, m
	PY
'
test_expect_success 'ADD extracts a local .tar.gz; bzip2 is refused, not copied unextracted; COPY of a URL is refused' '
	mkdir -p arch && tar -C rootfs -czf arch/a.tgz bin/cat &&
	printf "FROM busybox:local\nADD a.tgz /x/\n" >arch/Dockerfile &&
	strata --data-root "$R" build -q -t arch:1 arch >/dev/null &&
	strata --data-root "$R" save arch:1 >arch.tar &&
	python3 - arch.tar <<-\PY &&
	import io, json, sys, tarfile
	outer = tarfile.open(sys.argv[1])
	top = json.load(outer.extractfile("manifest.json"))[0]["Layers"][-1]
	names = [m.name for m in tarfile.open(fileobj=io.BytesIO(outer.extractfile(top).read()))]
	assert names == ["x", "x/bin", "x/bin/cat"], names
	PY
	# a bzip2 archive (made by hand: its magic is all strata looks at)
	printf "BZh91AY&SY" >arch/a.bz2 &&
	printf "FROM busybox:local\nADD a.bz2 /x/\n" >arch/Dockerfile &&
	strata --data-root "$R" build -t keep:1 arch >out 2>err; rc=$?
	refused add 1 "ADD of the bzip2 or xz archive a.bz2 is not supported (strata reads gzip and zstd)" &&
	printf "FROM busybox:local\nCOPY http://127.0.0.1:1/f /x\n" >arch/Dockerfile &&
	strata --data-root "$R" build -t keep:1 arch >out 2>err; rc=$? &&
	refused url 1 "$(printf "COPY failed: source can\047t be a URL for COPY")"
'
# kill_mid_run ROOT OUT BUILD-ARGS...: strata build killed with -9 once its RUN
# printed "started" (OUT holds the transcript); ID is then the RUN's container
kill_mid_run() {
	local root=$1 out=$2 pid short
	shift 2
	{ "$STRATA_BIN" --data-root "$root" build "$@" >"$out" 2>&1 & }
	pid=$! # strata itself, not a subshell: it is the one killed
	test_atexit "kill -9 $pid"
	for _ in $(seq 300); do grep -q started "$out" 2>/dev/null && break; sleep 0.1; done
	grep -q started "$out" &&
	short=$(sed -n "s/^ ---> Running in //p" "$out") && test ${#short} -eq 12 &&
	ID=$(ls "$root/containers" | grep "^$short") && test ${#ID} -eq 64 && test_atexit "runc delete -f $ID" &&
	kill -9 $pid && { wait $pid; test $? -eq 137; }
}
test_expect_success RUNTIME 'a build killed with -9 mid-RUN: no tag moved, the next write command removes its container' '
	mkdir -p killed && printf "FROM busybox:local\nRUN echo started; exec sleep 1000\n" >killed/Dockerfile &&
	strata --data-root "$R" tag busybox:local killed:1 &&
	strata --data-root "$R" images -q --no-trunc killed:1 >before &&
	kill_mid_run "$R" kill.out -t killed:1 killed &&
	test -e "$R/containers/$ID" &&
	MID=$(cat "$R/image/overlay2/layerdb/mounts/$ID/mount-id") &&
	strata --data-root "$R" tag busybox:local after-kill:1 &&
	strata --data-root "$R" ps -a -q --no-trunc >ps && ! grep -q "$ID" ps &&
	test ! -e "$R/containers/$ID" && test ! -e "$R/image/overlay2/layerdb/mounts/$ID" &&
	test ! -e "$R/overlay2/$MID" && test ! -e "$R/overlay2/$MID-init" &&
	test ! -e "$R/tmp/strata-$ID" && ! grep -q "$R/" /proc/mounts &&
	! runc state "$ID" >/dev/null 2>&1 &&
	strata --data-root "$R" images -q --no-trunc killed:1 >after && test_cmp before after &&
	strata --data-root "$R" check >out 2>&1 || { cat out; false; }
'
test_expect_success RUNTIME 'a --rm=false build killed with -9 mid-RUN: the next write command keeps its container, exited' '
	K=$TRASH/keep-killed &&
	strata --data-root "$K" import base.tar busybox:local >/dev/null &&
	kill_mid_run "$K" kkill.out --rm=false killed &&
	strata --data-root "$K" tag busybox:local after-kill:1 &&
	strata --data-root "$K" ps -a -q --no-trunc >ps && echo "$ID" >want && test_cmp want ps &&
	strata --data-root "$K" ps -a --format "{{.State}}" >state && echo exited >want && test_cmp want state &&
	test ! -e "$K/tmp/strata-$ID" && ! grep -q "$K/" /proc/mounts && ! runc state "$ID" >/dev/null 2>&1 &&
	strata --data-root "$K" check >out 2>&1 || { cat out; false; }
'
test_expect_success 'a context archive left by a killed build is removed by the next write command' '
	mkdir -p "$R/tmp/strata-context-dead12" && echo x >"$R/tmp/strata-context-dead12/f" &&
	strata --data-root "$R" tag busybox:local after-kill:2 &&
	test ! -e "$R/tmp/strata-context-dead12"
'
test_expect_success 'the store is still valid' '
	strata --data-root "$R" check >out 2>&1 || { cat out; false; }
'
test_done
