#!/bin/bash
# rmi conflict rules with containers, compared with docker on the same store:
# a tag of an image a container uses (must force), the image ID (stopped
# container), and -f untagging while the container keeps the image.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
D=$TRASH/d
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"

capture() { # NAME ARGS...: docker's stdout, stderr and status
	local name=$1
	shift
	docker "$@" >"$TRASH/$name.out" 2>"$TRASH/$name.err"
	echo $? >"$TRASH/$name.rc"
}
same_as_docker() { # NAME ROOT ARGS...
	local name=$1 root=$2
	shift 2
	strata --data-root "$root" "$@" >"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
	test_cmp "$TRASH/$name.out" "$name.out" &&
		test_cmp "$TRASH/$name.err" "$name.err" &&
		test_cmp "$TRASH/$name.rc" "$name.rc"
}

test_expect_success 'dockerd: an image with a stopped container' '
	dockerd_start "$D" &&
	tar -C "$TRASH/rootfs" -cf - . | docker import - b:1 >/dev/null &&
	docker tag b:1 b:2 &&
	docker create --network none --name c1 b:1 sh >/dev/null &&
	ID=$(docker inspect --format "{{.Id}}" b:1) && ID=${ID#sha256:} &&
	echo "$ID" >"$TRASH/id" &&
	docker rmi b:2 >/dev/null &&
	capture rmi-tag rmi b:1 &&
	capture rmi-id rmi "${ID:0:12}" &&
	dockerd_stop "$D" &&
	cp -a "$D/root" "$TRASH/copy" &&
	dockerd_start "$D" &&
	capture rmi-force rmi -f b:1 &&
	capture images-after images -a --format "{{.Repository}}:{{.Tag}} {{.ID}}" &&
	dockerd_stop "$D"
'
ID=$(cat "$TRASH/id" 2>/dev/null)

test_expect_success 'rmi of the only tag of a used image: must force' '
	same_as_docker rmi-tag "$TRASH/copy" rmi b:1 &&
	grep -q "container .* is using its referenced image" rmi-tag.err
'
test_expect_success 'rmi of the image ID: used by a stopped container' '
	same_as_docker rmi-id "$TRASH/copy" rmi "${ID:0:12}" &&
	grep -q "image is being used by stopped container" rmi-id.err
'
test_expect_success 'rmi -f untags; the container keeps the image' '
	same_as_docker rmi-force "$TRASH/copy" rmi -f b:1 &&
	same_as_docker images-after "$TRASH/copy" images -a --format "{{.Repository}}:{{.Tag}} {{.ID}}"
'
test_done
