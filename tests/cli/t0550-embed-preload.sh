#!/bin/bash
# examples/preload.c, the embedding example, as a Yocto or Buildroot recipe
# would use it: `make install DESTDIR=... PREFIX=/usr` into a staging
# folder, the program built from that staging folder alone (pkg-config with
# PKG_CONFIG_SYSROOT_DIR) against libstrata.so, then run to pull an image
# from a local registry into a new data root, which strata reads back.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v pkg-config >/dev/null 2>&1 || skip_all "pkg-config not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root)"

DEST=$TRASH/dest
LIB=$DEST/usr/lib
SAN=${STRATA_SANITIZE:-}
spc() { PKG_CONFIG_PATH=$LIB/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST pkg-config "$@"; }

test_expect_success 'make install DESTDIR=... PREFIX=/usr' '
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s -C "$TEST_REPO" install DESTDIR="$DEST" PREFIX=/usr ${SAN:+SANITIZE=$SAN} &&
	test -x "$DEST/usr/bin/strata" &&
	test -f "$LIB/libstrata.a" &&
	test -f "$LIB/libstrata.so.0" &&
	test "$(readlink "$LIB/libstrata.so")" = libstrata.so.0 &&
	test -f "$DEST/usr/include/strata/strata.h" &&
	grep -qx "prefix=/usr" "$LIB/pkgconfig/strata.pc"
'

test_expect_success 'pkg-config describes the staged library' '
	test "$(spc --modversion strata)" = "$(strata --version | sed "s/^strata version //")" &&
	spc --cflags strata | grep -Eq -- "(^| )-I$DEST/usr/include( |$)" &&
	spc --libs strata >libs &&
	grep -q -- "-L$LIB " libs && grep -q -- "-lstrata" libs
'

test_expect_success 'examples/preload.c builds against the installed libstrata.so' '
	cc ${SAN:+-fsanitize=$SAN} -std=c99 -Wall -Wextra -Werror -o preload \
		"$TEST_REPO/examples/preload.c" $(spc --cflags --libs strata) &&
	readelf -d preload | grep -q "(NEEDED).*\[libstrata.so.0\]" &&
	! nm --defined-only preload | grep -q " strata_" &&
	LD_LIBRARY_PATH=$LIB ldd ./preload | grep -q "libstrata.so.0 => $LIB/libstrata.so.0"
'

test_expect_success 'a local registry with a busybox image pushed by strata' '
	registry_start "$TRASH/reg" &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - $REGISTRY/embed/bb:1 >id &&
	strata --data-root src push $REGISTRY/embed/bb:1 >push.out
'

test_expect_success 'preload pulls the image into a new data root and lists it' '
	LD_LIBRARY_PATH=$LIB ./preload "$TRASH/root" $REGISTRY/embed/bb:1 >preload.out 2>err &&
	grep -qx "libstrata $(spc --modversion strata)" preload.out &&
	grep -qx "[0-9a-f]\{12\}: Pull complete" preload.out &&
	grep -qx "pulled $REGISTRY/embed/bb:1" preload.out &&
	grep -qx "image $(cat id) size [1-9][0-9]*" preload.out &&
	grep -qx "tag $REGISTRY/embed/bb:1" preload.out &&
	test "$(grep -c "^layer " preload.out)" = 1 &&
	grep -q "^layer 0 chain sha256:7ef32d21e68c[0-9a-f]* diff sha256:7ef32d21e68c[0-9a-f]* size [1-9][0-9]* cache-id [0-9a-f]\{64\}$" preload.out
'

test_expect_success 'the layer is where its cache-id says, and strata sees the image' '
	driver=$(ls "$TRASH/root/image") &&
	cache=$(sed -n "s/^layer 0 .* cache-id //p" preload.out) &&
	test -d "$TRASH/root/$driver/$cache" &&
	strata --data-root "$TRASH/root" images --format "{{.Repository}}:{{.Tag}} {{.ID}}" >images &&
	echo "$REGISTRY/embed/bb:1 $(cut -c8-19 id)" >want &&
	test_cmp want images &&
	strata --data-root "$TRASH/root" check
'

test_expect_success 'preload reports a failure with its error name' '
	test_expect_code 1 env LD_LIBRARY_PATH=$LIB ./preload "$TRASH/root" $REGISTRY/embed/none:1 >out 2>err &&
	grep -q "^preload: $REGISTRY/embed/none:1: .*(STRATA_ERR_NOT_FOUND)$" err
'

test_done
