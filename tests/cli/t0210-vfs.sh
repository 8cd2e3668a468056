#!/bin/bash
# The vfs driver (hosts without overlayfs): strata writes vfs/dir/<id> as
# dockerd does; dockerd runs the image from that store and its docker save
# is byte-identical to strata save; rmi releases the copies.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

make_busybox_rootfs "$TRASH/rootfs" && tar -C "$TRASH/rootfs" -cf "$TRASH/bb.tar" . ||
	skip_all "cannot build a busybox rootfs"
printf 'FROM-layer' >"$TRASH/f" && tar -C "$TRASH" -cf "$TRASH/top.tar" f

D=$TRASH/d
R=$D/root
test_expect_success 'import into a new vfs store' '
	strata --data-root "$R" --storage-driver vfs import "$TRASH/bb.tar" bb:1 >/dev/null &&
	test -d "$R/image/vfs/imagedb" && test -d "$R/vfs/dir" && ! test -e "$R/overlay2" &&
	test "$(stat -c %a "$R/vfs")" = 710 && test "$(stat -c %a "$R/vfs/dir")" = 710 &&
	strata --data-root "$R" images --format "{{.Repository}}:{{.Tag}} {{.Size}}" >out &&
	echo "bb:1 1.98MB" >expect && test_cmp expect out
'
test_expect_success 'the driver is detected on the next command, check --deep is clean' '
	strata --data-root "$R" inspect --format "{{.GraphDriver.Name}}" bb:1 >out &&
	echo vfs >expect && test_cmp expect out &&
	strata --data-root "$R" check --deep
'
test_expect_success 'asking for the other driver is refused' '
	must_fail strata --data-root "$R" --storage-driver overlay2 images 2>err &&
	grep -q "uses the vfs storage driver" err
'
test_expect_success 'strata save of a vfs image' '
	strata --data-root "$R" save -o "$TRASH/bb-save.tar" bb:1
'
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi
test_expect_success DOCKERD 'dockerd (vfs) runs it and saves the same bytes' '
	dockerd_start "$D" --storage-driver vfs &&
	docker run --rm --network none bb:1 sh -c "echo ran" >ran &&
	echo ran >expect && test_cmp expect ran &&
	docker save bb:1 >"$TRASH/docker-save.tar" &&
	dockerd_stop "$D" &&
	cmp "$TRASH/bb-save.tar" "$TRASH/docker-save.tar"
'
test_expect_success 'rmi releases the vfs copy' '
	strata --data-root "$R" rmi bb:1 >/dev/null &&
	test -z "$(ls "$R/vfs/dir")" &&
	test -z "$(ls "$R/image/vfs/layerdb/sha256")"
'
test_done
