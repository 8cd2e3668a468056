#!/bin/bash
# A pull that fills the disk gives back all the space it used: its partial
# downloads are kept only when the transfer broke (for the next pull to
# resume), never after ENOSPC, bad data or a refusal.  The store is a 64 MB
# ext4 loop filesystem; the image's one layer is 80 MB of random bytes.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v mkfs.ext4 >/dev/null 2>&1 || skip_all "mkfs.ext4 (e2fsprogs) not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (loop mount)"

used_kb() { df --output=used "$1" | tail -n 1 | tr -d " "; }

test_expect_success 'set-up: an 80 MB image in a local registry, a 64 MB filesystem' '
	registry_start "$TRASH/reg" &&
	mkdir rootfs && head -c $((80 << 20)) /dev/urandom >rootfs/big &&
	tar -C rootfs -cf - . | strata --data-root src import - $REGISTRY/t/big:1 >/dev/null &&
	strata --data-root src push $REGISTRY/t/big:1 >/dev/null &&
	truncate -s 64M fs.img && mkfs.ext4 -q -F fs.img && mkdir mnt &&
	if mount -o loop fs.img mnt; then test_atexit "umount \"$TRASH/mnt\""; else false; fi &&
	strata --data-root mnt/root images >/dev/null && before=$(used_kb mnt)
'

test_expect_success 'the pull fails on the full disk and leaves the space as it was' '
	test_expect_code 1 strata --data-root mnt/root pull $REGISTRY/t/big:1 >out 2>err &&
	grep -qi "no space left on device" err &&
	after=$(used_kb mnt) && say "used: ${before} KB before, ${after} KB after" &&
	test $((after - before)) -lt 1024 &&
	test -z "$(ls mnt/root/image/*/layerdb/tmp 2>/dev/null)" &&
	strata --data-root mnt/root check >out && grep -q "^0 images, 0 layers checked: 0 problems$" out
'
test_done
