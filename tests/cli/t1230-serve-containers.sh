#!/bin/bash
# strata serve's container endpoints through the docker 20.10 client, each
# command run against strata serve and against a dockerd holding the same
# image (strata save -> docker load): same output, same exit status.
# run --rm (output, exit status, a command that cannot run, removal), run -d
# with logs, logs --tail, stop, kill, wait, rm; create + start -a; ps with
# filters and formats; inspect; diff; export; commit; container prune.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
command -v curl >/dev/null 2>&1 || skip_all "curl not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
D=$TRASH/d
S=$TRASH/s
DCLI=/usr/bin/docker
# both NAME ARGS...: the docker client against dockerd (NAME.d, NAME.d.rc) and strata serve (NAME.s, NAME.s.rc)
both() {
	local name=$1
	shift
	DOCKER_HOST=unix://$D/docker.sock "$DCLI" "$@" >"$name.d" 2>"$name.d.err"
	echo $? >"$name.d.rc"
	DOCKER_HOST=unix://$S/strata.sock "$DCLI" "$@" >"$name.s" 2>"$name.s.err"
	echo $? >"$name.s.rc"
}
same() { # same stdout and status; same stderr too with --err
	test_cmp "$1.d" "$1.s" && test_cmp "$1.d.rc" "$1.s.rc" &&
	{ [ "${2:-}" != --err ] || test_cmp "$1.d.err" "$1.s.err"; }
}
# what a failed case left running is stopped with the test (the monitors then unmount)
cleanup_runc() { for id in $(runc list -q 2>/dev/null); do [ -e "$S/root/containers/$id" ] && runc delete -f "$id"; done; sleep 0.5; }
test_atexit cleanup_runc
untime() { sed -E "s/(Less than a second|About a minute|[0-9]+ seconds?) ago/T ago/g; s/Up (Less than a second|[0-9]+ seconds?)/Up T/g" "$@"; }

test_expect_success 'the same image in dockerd and in strata serve' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	mkdir -p "$S" &&
	strata --data-root "$S/root" import base.tar bb:1 >/dev/null &&
	strata --data-root "$S/root" save -o bb.tar bb:1 &&
	dockerd_start "$D" && docker load -i bb.tar >/dev/null &&
	serve_start "$S"
'

test_expect_success 'run --rm: output, exit status, removal' '
	both r1 run --rm --network none bb:1 sh -c "echo out; echo err >&2; exit 3" &&
	same r1 --err && echo 3 >expect && test_cmp expect r1.s.rc &&
	both ps0 ps -aq && same ps0 && ! test -s ps0.s
'

test_expect_success 'run --rm of a command that cannot run: 127, removed' '
	both r2 run --rm --network none bb:1 /nonexistent &&
	test_cmp r2.d.rc r2.s.rc && echo 127 >expect && test_cmp expect r2.s.rc &&
	grep -q "no such file or directory" r2.s.err &&
	sleep 0.5 && both ps1 ps -aq && same ps1 && ! test -s ps1.s
'

test_expect_success 'run -d, logs, logs --tail, ps, stop, rm' '
	both id run -d --network none --name web bb:1 sh -c "echo one; echo two >&2; sleep 0.3; echo three; sleep 100" &&
	test_cmp id.d.rc id.s.rc && test "$(wc -c <id.s)" = 65 &&
	for i in $(seq 100); do
		both l0 logs web && grep -q three l0.d && grep -q three l0.s && break
		sleep 0.2
	done &&
	both l1 logs web && same l1 --err &&
	both l2 logs --tail 1 web && same l2 &&
	both ps2 ps --format "{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Status}}" &&
	untime ps2.d >a && untime ps2.s >b && test_cmp a b &&
	both in1 inspect -f "{{.Name}} {{.State.Status}} {{.State.Running}} {{.Config.Image}} {{json .Config.Cmd}} {{.HostConfig.NetworkMode}}" web &&
	same in1 &&
	both st stop -t 1 web && same st &&
	both w wait web && same w &&
	both ps3 ps -a --filter status=exited --format "{{.Names}} {{.State}}" && same ps3 &&
	both rm rm web && same rm &&
	both ps4 ps -aq && same ps4
'

test_expect_success 'create, start -a, diff, export, commit, kill, container prune' '
	both c create --network none --name c1 bb:1 sh -c "echo made >/made; rm /bin/cat; echo created" &&
	test_cmp c.d.rc c.s.rc &&
	both sa start -a c1 && same sa &&
	both df diff c1 && sort df.d >a && sort df.s >b && test_cmp a b &&
	both ex export c1 && tar -tf ex.d | sort >a && tar -tf ex.s | sort >b && test_cmp a b &&
	both cm commit -m note -c "CMD [\"cat\", \"/made\"]" c1 made:1 && test_cmp cm.d.rc cm.s.rc &&
	both h history --format "{{.CreatedBy}}|{{.Comment}}" made:1 && same h &&
	both ci inspect -f "{{json .Config.Cmd}}" made:1 && same ci &&
	both sdf system df --format "{{.Type}} {{.TotalCount}} {{.Active}}" && same sdf &&
	both sdv system df -v --format "{{range .Containers}}{{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Size}}|{{end}}" &&
	same sdv &&
	both k run -d --network none --name k1 bb:1 sleep 100 &&
	for i in $(seq 100); do
		both kr inspect -f "{{.State.Running}}" k1 && grep -q true kr.d && grep -q true kr.s && break
		sleep 0.2
	done &&
	both kk kill k1 && same kk &&
	both kw wait k1 && same kw &&
	both pr container prune -f && grep -c "^[0-9a-f]\{64\}$" pr.d >a && grep -c "^[0-9a-f]\{64\}$" pr.s >b && test_cmp a b &&
	both ps5 ps -aq && same ps5
'

# ptyboth NAME PTYRUN-ARGS... -- docker ARGS...: both, with the client on a terminal (tests/lib/ptyrun.py)
ptyboth() {
	local name=$1
	shift
	DOCKER_HOST=unix://$D/docker.sock python3 "$TEST_LIB_DIR/ptyrun.py" "$@" >"$name.d" 2>"$name.d.err"
	echo $? >"$name.d.rc"
	DOCKER_HOST=unix://$S/strata.sock python3 "$TEST_LIB_DIR/ptyrun.py" "$@" >"$name.s" 2>"$name.s.err"
	echo $? >"$name.s.rc"
}

test_expect_success 'run -t: the raw tty stream (no frames), \r\n, exit status; -dt: logs raw' '
	both t1 run -t --rm --network none bb:1 sh -c "tty; echo hi; exit 3" </dev/null &&
	same t1 --err && printf "/dev/pts/0\r\nhi\r\n" >expect && test_cmp expect t1.s &&
	both t2 run -dt --name tl --network none bb:1 sh -c "echo one; exit 2" &&
	both t2w wait tl && same t2w &&
	both t2l logs tl && same t2l && printf "one\r\n" >expect && test_cmp expect t2l.s &&
	both t2r rm tl && same t2r
'

test_expect_success 'run -it on a terminal: stdin on the attach, the window size through /resize, the exit status' '
	# dockerd resizes after the start: the process waits before it looks
	ptyboth t3 --size 30x100 --check-restored --expect ready --send "hello\n" --expect "got hello" \
		--resize 50x132 --send-until "x\n" "size 50 132" --send "\x04" -- \
		"$DCLI" run -it --rm --network none bb:1 \
		sh -c "sleep 1; stty size; echo ready; read x; echo got \$x; while read x; do echo \"size \$(stty size)\"; done; echo bye; exit 7" &&
	# the lines typed until the new size showed are as many as it took
	for f in t3.d t3.s; do grep -v -e "^x.$" -e "^size 30 100.$" $f >$f.seen || return 1; done &&
	test_cmp t3.d.seen t3.s.seen && test_cmp t3.d.rc t3.s.rc && echo 7 >expect && test_cmp expect t3.s.rc &&
	grep -q "^size 50 132.$" t3.s && tail -1 t3.s | grep -q "^bye.$"
'

test_expect_success 'create -t + start -a; resize of a stopped container is 409 as in dockerd' '
	both t4 create -t --name ct --network none bb:1 sh -c "tty" &&
	both t4a start -a ct </dev/null && same t4a && printf "/dev/pts/0\r\n" >expect && test_cmp expect t4a.s &&
	curl -s --unix-socket "$D/docker.sock" -X POST "http://d/containers/ct/resize?h=10&w=20" -w " %{http_code}" |
		sed "s/[0-9a-f]\{64\}/ID/" >t4r.d &&
	serve_curl "/containers/ct/resize?h=10&w=20" -X POST -w " %{http_code}" | sed "s/[0-9a-f]\{64\}/ID/" >t4r.s &&
	test_cmp t4r.d t4r.s && grep -q " 409$" t4r.s &&
	both t4d rm ct && same t4d
'

test_expect_success 'errors as dockerd: no such container, a bad body' '
	both e1 logs nosuch && same e1 --err &&
	both e2 rm nosuch && same e2 --err &&
	serve_curl /containers/create -X POST -H "Content-Type: application/json" -d "{\"Image\":\"bb:1\",\"Cmd\":5}" \
		-w " %{http_code}" >out && grep -q " 400$" out &&
	serve_curl /containers/create -X POST -H "Content-Type: application/json" -d "{" -w " %{http_code}" >out &&
	grep -q " 400$" out
'

test_expect_success 'docker-py: containers.run, create, logs, wait, remove' '
	/usr/bin/python3 -c "import docker" 2>/dev/null || { echo "python3-docker missing" >&2; return 1; }
	/usr/bin/python3 "$TEST_REPO/tests/cli/t1230-serve-containers.py" >py.out &&
	echo ok >expect && test_cmp expect py.out
'

test_expect_success 'strata check is clean; the server stops cleanly' '
	serve_stop "$S" &&
	strata --data-root "$S/root" check
'

test_done
