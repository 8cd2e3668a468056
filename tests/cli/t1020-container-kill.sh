#!/bin/bash
# A foreground run whose strata is killed with -9, and containers half
# created or half removed: the next write command kills the runtime's
# container, records the exit, undoes the mounts and removes the halves;
# strata check is clean afterwards without --repair.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/busybox.sh"

[ "$(id -u)" -eq 0 ] || skip_all "containers need root (uid $(id -u))"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
R=$TRASH/root
s() { strata --data-root "$R" "$@"; }

test_expect_success 'setup' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import base.tar bb:1 >/dev/null
'

test_expect_success 'strata killed with -9 while its container runs' '
	{ "$STRATA_BIN" --data-root "$R" run --name k1 bb:1 sh -c "echo started; exec /bin/busybox sleep 1000" \
		>run.out 2>&1 & } &&
	PID=$! && # strata itself, not a subshell: it is the one killed
	test_atexit "kill -9 $PID" &&
	for i in $(seq 100); do grep -q started run.out 2>/dev/null && break; sleep 0.1; done &&
	grep -q started run.out &&
	ID=$(s ps -q --no-trunc) && test ${#ID} -eq 64 && test_atexit "runc delete -f $ID" &&
	grep -q "$R/overlay2/.*/merged" /proc/mounts &&
	kill -9 $PID && wait $PID; test -d "$R/tmp/strata-$ID"
'

test_expect_success 'the next write command cleans up after it' '
	s tag bb:1 bb:2 &&
	! grep -q "$R/" /proc/mounts &&
	test ! -e "$R/tmp/strata-$ID" &&
	! runc state "$ID" >/dev/null 2>&1 &&
	s ps -a --format "{{.Names}} {{.State}} {{.Status}}" >out &&
	grep -q "^k1 exited Exited (137) " out &&
	s check >/dev/null &&
	s rm k1 >/dev/null && s check >/dev/null
'

test_expect_success 'half created and half removed containers are removed' '
	A=$(s create bb:1 sh) && B=$(s create bb:1 sh) &&
	MA=$(cat "$R/image/overlay2/layerdb/mounts/$A/mount-id") &&
	rm "$R/containers/$A/config.v2.json" &&
	rm -r "$R/containers/$B" &&
	s tag bb:1 bb:3 &&
	test ! -e "$R/containers/$A" && test ! -e "$R/image/overlay2/layerdb/mounts/$A" &&
	test ! -e "$R/overlay2/$MA" && test ! -e "$R/overlay2/$MA-init" &&
	test ! -e "$R/image/overlay2/layerdb/mounts/$B" &&
	s ps -a -q >out && test_line_count out 0 &&
	s check >/dev/null
'
test_done
