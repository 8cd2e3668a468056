#!/bin/bash
# Containers on a pseudo-terminal, as docker 20.10's run -t / -it and
# create -t + start -a -i: the runtime's pty carries the output as the tty
# writes it ("\r\n"), logged as stdout; typed input and ^C reach the
# process; the window size of the caller's terminal is the container's, also
# after a resize; the caller's terminal is raw only while input is attached
# and is restored afterwards; -it without a terminal is refused as docker
# refuses it; -dt logs what the process wrote.  A dockerd 20.10 writes the
# same Config and HostConfig for create -t and starts and removes strata's
# tty container.  The caller's terminal is a pty driven by tests/lib/ptyrun.py.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

[ "$(id -u)" -eq 0 ] || skip_all "containers need root (uid $(id -u))"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 (for the pty driver) not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi
D=$TRASH/d
R=$D/root
s() { strata --data-root "$R" "$@"; }
# ptyrun [OPTIONS] -- strata ARGS: strata on a terminal of its own
ptyrun() { python3 "$TEST_LIB_DIR/ptyrun.py" "$@"; }
cid() { s ps -a --no-trunc --filter "name=^$1\$" --format '{{.ID}}'; }
cleanup_runc() { for id in $(runc list -q 2>/dev/null); do [ -e "$R/containers/$id" ] && runc delete -f "$id"; done; }
test_atexit cleanup_runc

test_expect_success 'setup: a busybox image with tty and stty' '
	for a in tty stty sleep; do ln -sfn busybox "$TRASH/rootfs/bin/$a" || return 1; done &&
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import base.tar bb:1 >/dev/null
'

test_expect_success 'run -t without a terminal: the pty output with \r\n, the exit status, TERM' '
	test_expect_code 3 s run -t --name t1 bb:1 sh -c "tty; echo \$TERM; exit 3" </dev/null >out 2>err &&
	printf "/dev/pts/0\r\nxterm\r\n" >expect && test_cmp expect out &&
	test ! -s err &&
	grep -q "\"Tty\":true" "$R/containers/$(cid t1)/config.v2.json"
'

test_expect_success 'the log has it all as stdout, \r\n included, as dockerd logs a tty' '
	s logs t1 >out 2>err &&
	printf "/dev/pts/0\r\nxterm\r\n" >expect && test_cmp expect out && test ! -s err &&
	sed "s/,\"time\":.*//" "$R/containers/$(cid t1)/$(cid t1)-json.log" >log &&
	printf "%s\n" "{\"log\":\"/dev/pts/0\\r\\n\",\"stream\":\"stdout\"" \
		"{\"log\":\"xterm\\r\\n\",\"stream\":\"stdout\"" >expect &&
	test_cmp expect log
'

test_expect_success 'run -it with stdin not a terminal: docker refuses it, nothing is created' '
	s ps -a -q >before &&
	echo x | test_expect_code 1 s run -it --name no bb:1 true >out 2>err &&
	echo "the input device is not a TTY" >expect && test_cmp expect err &&
	s ps -a -q >after && test_cmp before after
'

test_expect_success 'run -t on a terminal: the window size is the caller'"'"'s; no raw mode without -i' '
	ptyrun --size 33x111 --check-restored -- "$STRATA_BIN" --data-root "$R" run --rm -t bb:1 \
		sh -c "stty size; tty" >out &&
	printf "33 111\r\r\n/dev/pts/0\r\r\n" >expect && test_cmp expect out
'

test_expect_success 'run -it on a terminal: typed input, a resize and ^D reach the process; the terminal is restored' '
	test_expect_code 7 ptyrun --size 30x100 --check-restored --expect ready \
		--send "hello\n" --expect "got hello" \
		--resize 50x132 --send-until "x\n" "size 50 132" --send "\x04" -- \
		"$STRATA_BIN" --data-root "$R" run -it --name it bb:1 \
		sh -c "stty size; echo ready; read x; echo got \$x; while read x; do echo \"size \$(stty size)\"; done; echo bye; exit 7" >out &&
	# raw: what the container'"'"'s pty writes comes through as it is (one \r)
	head -3 out >head &&
	printf "30 100\r\nready\r\nhello\r\n" >expect && test_cmp expect head &&
	grep -q "^got hello.$" out && grep -q "^size 50 132.$" out && tail -1 out | grep -q "^bye.$" &&
	s ps -a --filter name=it --format "{{.Status}}" | grep -q "^Exited (7) "
'

test_expect_success 'run -it: ^C is the pty'"'"'s interrupt for the process, not a signal to strata' '
	test_expect_code 9 ptyrun --check-restored --expect ready --send "\x03" -- \
		"$STRATA_BIN" --data-root "$R" run -it --rm bb:1 \
		sh -c "trap \"echo got-int; exit 9\" INT; echo ready; read x; echo not-interrupted" >out &&
	grep -q "got-int" out && ! grep -q not-interrupted out
'

test_expect_success 'run -dt: the output is in the logs afterwards; stop reaches a shell on a tty' '
	ID=$(s run -dt --name d1 bb:1 sh -c "echo one; tty; exit 5") &&
	test "$(s wait d1)" = 5 &&
	s logs d1 >out &&
	printf "one\r\n/dev/pts/0\r\n" >expect && test_cmp expect out &&
	s run -dit --name d2 bb:1 sh >/dev/null &&
	s ps --format "{{.Names}}" >out && grep -qx d2 out &&
	s stop -t 1 d2 >/dev/null &&
	s ps -a --filter name=d2 --format "{{.Status}}" | grep -q "^Exited (137) "
'

test_expect_success 'create -t, start -a; create -it, start -a -i on a terminal' '
	s create -t --name c1 bb:1 sh -c "tty; echo started" >/dev/null &&
	s start -a c1 </dev/null >out &&
	printf "/dev/pts/0\r\nstarted\r\n" >expect && test_cmp expect out &&
	s create -it --name c2 bb:1 sh -c "echo ready; read x; echo got \$x; exit 4" >/dev/null &&
	test_expect_code 4 ptyrun --check-restored --expect ready --send "yo\n" --expect "got yo" -- \
		"$STRATA_BIN" --data-root "$R" start -a -i c2 >out &&
	printf "ready\r\nyo\r\ngot yo\r\n" >expect && test_cmp expect out
'

test_expect_success 'no console socket is left in /tmp; strata check is clean' '
	! ls -d /tmp/strata-pty-* 2>/dev/null | grep -q . &&
	s check >/dev/null
'

test_expect_success DOCKERD 'dockerd 20.10 writes the same Config and HostConfig for create -t' '
	s create -t --network none --name same bb:1 sh -c "tty" >/dev/null &&
	S=$(cid same) &&
	dockerd_start "$D" &&
	docker create -t --network none --name dsame bb:1 sh -c "tty" >/dev/null &&
	DS=$(docker inspect --format "{{.Id}}" dsame) &&
	for f in "$R/containers/$S/config.v2.json" "$R/containers/$DS/config.v2.json"; do
		python3 -c "import json, sys; c = json.load(open(sys.argv[1]))[\"Config\"]; c.pop(\"Hostname\"); print(json.dumps(c))" "$f" || return 1
	done >configs &&
	test_line_count configs 2 && test "$(sed -n 1p configs)" = "$(sed -n 2p configs)" &&
	test_cmp "$R/containers/$DS/hostconfig.json" "$R/containers/$S/hostconfig.json"
'

test_expect_success DOCKERD 'dockerd lists, starts and removes strata'"'"'s tty container' '
	docker ps -a --format "{{.Names}} {{.Status}}" >out &&
	grep -q "^t1 Exited (3) " out && grep -q "^same Created$" out &&
	docker start -a same </dev/null >out &&
	printf "/dev/pts/0\r\n" >expect && test_cmp expect out &&
	docker logs t1 >out &&
	printf "/dev/pts/0\r\nxterm\r\n" >expect && test_cmp expect out &&
	docker rm same t1 dsame >/dev/null &&
	dockerd_stop "$D" &&
	s ps -a --format "{{.Names}}" >out && ! grep -qx -e same -e t1 out &&
	s check >/dev/null
'

test_done
