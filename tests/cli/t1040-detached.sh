#!/bin/bash
# Detached containers: run -d and start hand the process to a monitor that
# outlives the CLI (it holds no store lock and no caller folder), logs to
# the json-file log and records the exit; ps, logs -f, stop, kill, wait and
# rm -f work from other strata processes, also at once after the start (the
# start returns only when the runtime's container exists); a monitor killed
# with -9 is recovered by the next write command; dockerd 20.10 lists the
# containers afterwards as exited.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

[ "$(id -u)" -eq 0 ] || skip_all "containers need root (uid $(id -u))"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi
D=$TRASH/d
R=$D/root
s() { strata --data-root "$R" "$@"; }
status() { s ps -a --filter "name=^$1\$" --format '{{.Status}}'; }
monitor() { cat "$R/tmp/strata-$1/monitor.pid"; }
mount_id() { cat "$R/image/overlay2/layerdb/mounts/$1/mount-id"; }
# other containers still run: only this one's rootfs must be gone
mounted() { grep -q " $R/overlay2/$1/merged " /proc/mounts; }
exit_code() { grep -o '"ExitCode":[0-9]*' "$R/containers/$1/config.v2.json"; }
# what a test left running is stopped with it
cleanup_runc() { for id in $(runc list -q 2>/dev/null); do [ -e "$R/containers/$id" ] && runc delete -f "$id"; done; }
test_atexit cleanup_runc

test_expect_success 'setup' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import base.tar bb:1 >/dev/null
'

test_expect_success 'run -d returns at once; ps from another strata shows Up' '
	ID=$(s run -d --name up bb:1 /bin/busybox sleep 100) &&
	test ${#ID} -eq 64 &&
	status up >out && grep -q "^Up " out &&
	s ps --format "{{.Names}} {{.State}}" >out && grep -qx "up running" out &&
	runc state "$ID" >/dev/null
'

test_expect_success 'the monitor holds neither the store lock nor a folder outside the store' '
	M=$(monitor "$ID") && kill -0 "$M" &&
	test "$(readlink /proc/$M/cwd)" = / &&
	flock -n -x "$R" true &&
	s tag bb:1 bb:while-up &&
	for fd in /proc/$M/fd/*; do readlink "$fd"; done >fds &&
	! grep -v -e "^/dev/null$" -e "^pipe:" -e "^$R$" -e "^$R/" fds
'

test_expect_success 'a folder the CLI ran in can go away' '
	mkdir cwd && (cd cwd && s run -d --name cwd bb:1 /bin/busybox sleep 100 >/dev/null) &&
	rm -r cwd &&
	status cwd >out && grep -q "^Up " out
'

test_expect_success 'logs -f follows the output until the container ends' '
	s run -d --name f bb:1 sh -c "echo one; /bin/busybox sleep 1; echo two >&2; echo three" >/dev/null &&
	s logs -f f >out 2>err &&
	printf "one\nthree\n" >expect && test_cmp expect out &&
	echo two >expect && test_cmp expect err &&
	status f >out && grep -q "^Exited (0) " out
'

test_expect_success 'stop -t 1 of a process that ignores SIGTERM: Exited (137) after the timeout' '
	MID=$(mount_id "$ID") && mounted "$MID" &&
	start=$(date +%s) &&
	s stop -t 1 up >out &&
	end=$(date +%s) &&
	echo up >expect && test_cmp expect out &&
	test $((end - start)) -le 5 &&
	status up >out && grep -q "^Exited (137) " out &&
	test "$(exit_code "$ID")" = "\"ExitCode\":137" &&
	test ! -e "$R/tmp/strata-$ID" && ! runc state "$ID" >/dev/null 2>&1 &&
	! mounted "$MID" &&
	grep -q "\"HasBeenManuallyStopped\":true" "$R/containers/$ID/config.v2.json" &&
	s stop up >out && test_cmp expect out
'

test_expect_success 'stop of a shell that exits on SIGTERM: Exited (143)' '
	s run -d --name term bb:1 sh -c "trap \"exit 143\" TERM; while :; do /bin/busybox sleep 0.1; done" >/dev/null &&
	s stop -t 10 term >/dev/null &&
	status term >out && grep -q "^Exited (143) " out
'

test_expect_success 'kill -s USR1 reaches the process; kill -s KILL returns once it is recorded' '
	s run -d --name k bb:1 sh -c "trap \"echo got usr1\" USR1; echo ready; while :; do /bin/busybox sleep 0.1; done" >/dev/null &&
	for i in $(seq 50); do s logs k | grep -q ready && break; sleep 0.1; done &&
	s kill -s USR1 k >out && echo k >expect && test_cmp expect out &&
	for i in $(seq 50); do s logs k | grep -q "got usr1" && break; sleep 0.1; done &&
	s logs k | grep -q "got usr1" &&
	status k >out && grep -q "^Up " out &&
	s kill -s KILL k >/dev/null &&
	status k >out && grep -q "^Exited (137) " out &&
	test_expect_code 1 s kill k 2>err &&
	grep -q "is not running" err &&
	test_expect_code 1 s kill -s NOPE k 2>err && grep -q "Invalid signal: NOPE" err
'

test_expect_success 'wait prints the exit code' '
	s run -d --name w bb:1 sh -c "/bin/busybox sleep 1; exit 3" >/dev/null &&
	s wait w >out && echo 3 >expect && test_cmp expect out &&
	s wait w >out && test_cmp expect out
'

test_expect_success 'kill and rm -f right after the start (no race with the runtime)' '
	for i in 1 2 3 4 5; do
		s run -d --name r$i bb:1 /bin/busybox sleep 100 >/dev/null &&
		s kill r$i >/dev/null &&
		status r$i >out && grep -q "^Exited (137) " out || return 1
		X=$(s run -d bb:1 /bin/busybox sleep 100) && MID=$(mount_id "$X") &&
		s rm -f "$X" >out && echo "$X" >expect && test_cmp expect out &&
		test ! -e "$R/containers/$X" && ! runc state "$X" >/dev/null 2>&1 &&
		test ! -e "$R/tmp/strata-$X" && ! mounted "$MID" && test ! -e "$R/overlay2/$MID" || return 1
	done &&
	s check >/dev/null
'

test_expect_success 'start (without -a) runs a stopped container detached' '
	s create --name st bb:1 sh -c "echo started; exec /bin/busybox sleep 100" >/dev/null &&
	s start st >out && echo st >expect && test_cmp expect out &&
	status st >out && grep -q "^Up " out &&
	s start st >out && echo st >expect && test_cmp expect out &&
	for i in $(seq 50); do s logs st | grep -q started && break; sleep 0.1; done &&
	s logs st >out && echo started >expect && test_cmp expect out &&
	s rm -f st >/dev/null && test -z "$(status st)"
'

test_expect_success 'a start that fails reports the runtime error and records it (127 as docker)' '
	test_expect_code 127 s run -d --name bad bb:1 /nonexistent 2>err &&
	grep -q "no such file or directory" err &&
	X=$(s ps -a -q --no-trunc --filter name=^bad\$) && test ${#X} -eq 64 &&
	test "$(exit_code "$X")" = "\"ExitCode\":127" &&
	test ! -e "$R/tmp/strata-$X" && ! mounted "$(mount_id "$X")" &&
	s rm bad >/dev/null
'

test_expect_success 'run -d --rm: the monitor removes the container when it ends' '
	X=$(s run -d --rm bb:1 sh -c "exit 0") &&
	for i in $(seq 50); do test -e "$R/containers/$X" || break; sleep 0.1; done &&
	test ! -e "$R/containers/$X"
'

test_expect_success 'a monitor killed with -9: the next write command recovers the container' '
	X=$(s run -d --name mk bb:1 /bin/busybox sleep 100) && MID=$(mount_id "$X") &&
	M=$(monitor "$X") && kill -9 "$M" &&
	for i in $(seq 50); do kill -0 "$M" 2>/dev/null || break; sleep 0.1; done &&
	test_expect_code 1 s wait mk 2>err && grep -q "monitor of container $X died" err &&
	test_expect_code 1 s logs -f mk 2>err && grep -q "monitor of container $X died" err &&
	s tag bb:1 bb:after-kill &&
	test ! -e "$R/tmp/strata-$X" && ! runc state "$X" >/dev/null 2>&1 &&
	! mounted "$MID" &&
	status mk >out && grep -q "^Exited (137) " out &&
	s check >/dev/null
'

test_expect_success 'all stopped: strata ps -a' '
	s stop cwd >/dev/null &&
	! grep -q " $R/overlay2/" /proc/mounts &&
	s ps -a --format "{{.Names}} {{.State}}" | sort >strata-ps &&
	! grep -v " exited$" strata-ps
'

test_expect_success DOCKERD 'dockerd 20.10 on the store lists them as exited and starts one' '
	dockerd_start "$D" &&
	docker ps -a --format "{{.Names}} {{.State}}" | sort >docker-ps &&
	docker logs f >docker-logs 2>/dev/null &&
	docker start w >/dev/null && docker wait w >docker-wait &&
	dockerd_stop "$D" &&
	test_cmp strata-ps docker-ps &&
	printf "one\nthree\n" >expect && test_cmp expect docker-logs &&
	echo 3 >expect && test_cmp expect docker-wait
'

test_done
