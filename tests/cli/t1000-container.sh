#!/bin/bash
# Containers without a daemon: run (exit status, output, options, docker's
# 125/126/127), create + start, ps (columns, filters, formats), logs, diff,
# export, commit, rm and container prune on a store strata made.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/busybox.sh"

[ "$(id -u)" -eq 0 ] || skip_all "containers need root (uid $(id -u))"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
R=$TRASH/root
s() { strata --data-root "$R" "$@"; }

test_expect_success 'setup: a busybox image' '
	mkdir -p "$TRASH/rootfs/etc" &&
	echo "app:x:1000:1000::/home/app:/bin/sh" >"$TRASH/rootfs/etc/passwd" &&
	echo "app:x:1000:" >"$TRASH/rootfs/etc/group" &&
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import -c "ENV BASE=1" base.tar bb:1 >/dev/null
'

test_expect_success 'run: output and the exit status of the process' '
	test_expect_code 3 s run --name r1 bb:1 sh -c "echo out; echo err >&2; exit 3" >out 2>err &&
	echo out >expect && test_cmp expect out &&
	echo err >expect && test_cmp expect err
'

test_expect_success 'run: -e, --env-file, -w, -u, -h and the image Env' '
	printf "# comment\nFROMFILE=yes\n\n" >envfile &&
	s run --rm -e A=1 --env-file envfile -w /work -u app -h myhost bb:1 \
		sh -c "echo \$A \$FROMFILE \$BASE; pwd; id -u; id -g; hostname" >out &&
	printf "1 yes 1\n/work\n1000\n1000\nmyhost\n" >expect && test_cmp expect out
'

test_expect_success 'run: --entrypoint, -v HOST:CTR:ro, --read-only' '
	mkdir -p host && echo shared >host/f &&
	s run --rm --entrypoint /bin/cat bb:1 /etc/hostname >out && test_line_count out 1 &&
	s run --rm -v "$TRASH/host:/mnt:ro" bb:1 cat /mnt/f >out &&
	echo shared >expect && test_cmp expect out &&
	must_fail s run --rm -v "$TRASH/host:/mnt:ro" bb:1 sh -c "echo x >/mnt/g" 2>err &&
	test ! -e host/g &&
	must_fail s run --rm --read-only bb:1 sh -c "echo x >/newfile" 2>err &&
	grep -q "Read-only file system" err
'

test_expect_success 'run --rm leaves no container' '
	s run --rm --name gone bb:1 sh -c true &&
	s ps -a --format "{{.Names}}" >out &&
	echo r1 >expect && test_cmp expect out
'

test_expect_success 'run: docker exit codes 125, 126, 127' '
	test_expect_code 125 s run nosuch:1 true 2>err &&
	grep -q "No such image: nosuch:1" err &&
	test_expect_code 127 s run --rm bb:1 nosuchcmd 2>err &&
	grep -q "exec: \"nosuchcmd\": executable file not found in \$PATH" err &&
	test_expect_code 126 s run --rm bb:1 /etc/passwd 2>err &&
	grep -q "permission denied" err &&
	test_expect_code 125 s run --name r1 bb:1 sh 2>err &&
	grep -q "The container name \"/r1\" is already in use" err &&
	# one final dot: reportError trims the dot the message ends with
	grep -q "to be able to reuse that name\.$" err && ! grep -q "\.\.$" err
'

test_expect_success 'create, then start -a' '
	ID=$(s create --name c1 bb:1 sh -c "echo started; mkdir /x; echo a >/x/a; rm /bin/cat") &&
	test ${#ID} -eq 64 &&
	s ps -a --format "{{.Names}} {{.State}} {{.Status}}" >out &&
	printf "c1 created Created\nr1 exited Exited (3) %s\n" "$(sed -n "2s/.*Exited (3) //p" out)" >expect &&
	test_cmp expect out &&
	s start -a c1 >out && echo started >expect && test_cmp expect out
'

test_expect_success 'ps: columns, -q, --no-trunc, filters' '
	s ps >out && test_line_count out 1 &&
	head -1 out | grep -q "^CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES$" &&
	s ps -a >out && test_line_count out 3 &&
	grep -q "bb:1      \"sh -c .echo started…\"" out &&
	s ps -a -q >out && test_line_count out 2 &&
	s ps -a -q --no-trunc >out && grep -q "^$ID$" out &&
	s ps -a -f name=c --format "{{.Names}}" >out && echo c1 >expect && test_cmp expect out &&
	s ps -a -f status=exited --format "{{.Names}}" >out && printf "c1\nr1\n" >expect && test_cmp expect out &&
	s ps -f ancestor=bb:1 -a -q >out && test_line_count out 2 &&
	s ps -a -f ancestor=nosuch -q >out && test_line_count out 0 &&
	must_fail s ps -f bogus=1 2>err && grep -q "Invalid filter .bogus." err &&
	s ps -a -s --format "{{.Size}}" >out && grep -q "^[0-9.]*[kM]*B (virtual 1.98MB)$" out
'

test_expect_success 'logs, --tail, -t' '
	s logs r1 >out 2>err && echo out >expect && test_cmp expect out && echo err >expect && test_cmp expect err &&
	s logs --tail 1 c1 >out && echo started >expect && test_cmp expect out &&
	s logs --tail 0 c1 >out && test_line_count out 0 &&
	s logs -t c1 >out && grep -q "^20[0-9-]*T[0-9:]*\.[0-9]\{9\}Z started$" out &&
	must_fail s logs nosuch 2>err && grep -q "No such container: nosuch" err
'

test_expect_success 'diff: A/C/D lines' '
	s diff c1 >out &&
	printf "C /bin\nD /bin/cat\nA /x\nA /x/a\n" >expect && test_cmp expect out
'

test_expect_success 'export: the whole root file system' '
	s export c1 >c1.tar && tar -tf c1.tar >list &&
	grep -q "^x/a$" list && grep -q "^bin/busybox$" list && ! grep -q "^bin/cat$" list &&
	grep -q "^\.dockerenv$" list &&
	s export -o c1b.tar c1 && cmp c1.tar c1b.tar
'

test_expect_success 'commit: config, history, parent, tag' '
	IMG=$(s commit -a "A U" -m "a message" -c "CMD [\"ls\", \"/x\"]" c1 committed:1) &&
	s inspect --format "{{.Author}}|{{json .Config.Cmd}}|{{.Parent}}|{{len .RootFS.Layers}}" committed:1 >out &&
	BASE=$(s inspect --format "{{.Id}}" bb:1) &&
	echo "A U|[\"ls\",\"/x\"]|$BASE|2" >expect && test_cmp expect out &&
	s history --no-trunc --format "{{.CreatedBy}}|{{.Comment}}" committed:1 | head -1 >out &&
	echo "sh -c echo started; mkdir /x; echo a >/x/a; rm /bin/cat|a message" >expect && test_cmp expect out &&
	s run --rm committed:1 >out && echo a >expect && test_cmp expect out
'

test_expect_success 'rm: running refused, missing named, removed ones gone' '
	must_fail s rm nosuch 2>err && grep -q "^Error: No such container: nosuch$" err &&
	s rm c1 >out && echo c1 >expect && test_cmp expect out &&
	test ! -e "$R/containers/$ID" && test ! -e "$R/image/overlay2/layerdb/mounts/$ID" &&
	s check >/dev/null
'

test_expect_success 'container prune -f' '
	s create --name p1 bb:1 sh >/dev/null &&
	s container prune -f >out &&
	grep -q "^Deleted Containers:$" out && grep -q "^Total reclaimed space: " out &&
	s ps -a -q >out && test_line_count out 0 &&
	s check >/dev/null
'
test_done
