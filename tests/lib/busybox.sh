# shellcheck shell=bash
# make_busybox_rootfs DIR: the seed base rootfs of the reference (§1):
#   DIR/            0755
#   DIR/bin/        0755
#   DIR/bin/busybox 0755, a copy of Debian busybox-static's /bin/busybox
#   DIR/bin/{cat,cp,echo,ln,ls,mkdir,mv,rm,sh,touch} -> busybox
# All owned by 0:0 when run as root, every mtime = BUSYBOX_MTIME (default
# 1795876899, the one in the reference's import layer).  `tar -C DIR -cf - .`
# of it reproduces the reference diff ID 7ef32d21... only with the same busybox
# binary (1,982,256 bytes, 1:1.35.0-4+deb12u1) and the same readdir order.

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
BUSYBOX_MTIME=${BUSYBOX_MTIME:-1795876899}
BUSYBOX_APPLETS="cat cp echo ln ls mkdir mv rm sh touch"

make_busybox_rootfs() {
	local dir=$1 a
	if [ ! -x "$BUSYBOX_BIN" ]; then
		echo "make_busybox_rootfs: $BUSYBOX_BIN missing (apt-get install busybox-static)" >&2
		return 1
	fi
	# a dynamically linked busybox would not run inside the image
	if ! python3 - "$BUSYBOX_BIN" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read(65536)
# ELF64 little-endian: e_phoff @32, e_phentsize @54, e_phnum @56; PT_INTERP = 3
phoff, = struct.unpack_from('<Q', b, 32)
entsz, num = struct.unpack_from('<HH', b, 54)
sys.exit(any(struct.unpack_from('<I', b, phoff + i * entsz)[0] == 3 for i in range(num)))
PY
	then
		echo "make_busybox_rootfs: $BUSYBOX_BIN is not a static executable" >&2
		return 1
	fi
	mkdir -p "$dir/bin" || return 1
	chmod 0755 "$dir" "$dir/bin"
	cp "$BUSYBOX_BIN" "$dir/bin/busybox" || return 1
	chmod 0755 "$dir/bin/busybox"
	for a in $BUSYBOX_APPLETS; do
		ln -sfn busybox "$dir/bin/$a" || return 1
	done
	if [ "$(id -u)" -eq 0 ]; then
		chown -hR 0:0 "$dir"
	fi
	for a in $BUSYBOX_APPLETS; do
		touch -h -d "@$BUSYBOX_MTIME" "$dir/bin/$a"
	done
	touch -d "@$BUSYBOX_MTIME" "$dir/bin/busybox" "$dir/bin" "$dir"
}
