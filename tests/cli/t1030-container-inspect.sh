#!/bin/bash
# inspect of containers against docker 20.10 on the same store: containers
# made by strata and by dockerd (created, and run to their exit), inspected
# by name, ID prefix, with --type container, without --type (a container
# first, then an image), with --size and --format; stdout, stderr and the
# exit status compared byte for byte.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
D=$TRASH/d
R=$D/root
s() { strata --data-root "$R" "$@"; }
mkdir -p want got host

# NAME|ARGS (eval'ed)
cases() {
	cat <<'EOF2'
strata-created|inspect s1
strata-created-type|inspect --type container s1
strata-bind|inspect s2
strata-run|inspect s3
docker-created|inspect --type=container d1
docker-bind|inspect d2
docker-run|inspect d3
by-prefix|inspect --type container $(cat d1.id | cut -c1-12)
size|inspect -s d1 s3
format|inspect --format '{{.State.Status}} {{.State.ExitCode}} {{.Name}} {{.Config.Image}} {{.GraphDriver.Name}} {{json .Mounts}}' s1 s2 s3 d1 d2 d3
format-nope|inspect --format '{{.State.Nope}}' d1
format-missing-key|inspect --format '{{.Nope}}' s1
container-before-image|inspect --format '{{.Name}}' bb
image-without-type|inspect --format '{{.Id}}' bb:1
mixed|inspect --format '{{.Id}}' d1 bb:1 nope
nosuch|inspect nope
nosuch-container|inspect --type container nope
image-is-no-container|inspect --type container bb:1
container-is-no-image|inspect --type image d1
image-inspect-no-container|image inspect d1
EOF2
}

test_expect_success 'containers by strata and by dockerd, docker inspect captured' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import base.tar bb:1 >/dev/null &&
	s create --name s1 -e FOO=bar -w /tmp bb:1 sh -c "echo \"a b\"" >/dev/null &&
	s create --name s2 -v "$PWD/host:/data:ro" bb:1 true >/dev/null &&
	s create --name bb bb:1 true >/dev/null &&
	{ s run --name s3 bb:1 sh -c "exit 3"; test $? = 3; } &&
	dockerd_start "$D" &&
	docker create --network none --name d1 bb:1 echo hi >d1.id &&
	docker create --network none --name d2 -v "$PWD/host:/data" bb:1 true >/dev/null &&
	{ docker run --pull never --network none --name d3 bb:1 sh -c "exit 4"; test $? = 4; } &&
	while IFS="|" read -r name args; do
		eval "docker $args" >"want/$name.out" 2>"want/$name.err"
		echo $? >"want/$name.rc"
	done < <(cases) &&
	dockerd_stop "$D"
'

while IFS='|' read -r name args; do
	test_expect_success "$name: strata $args as docker" '
		eval "s $args" >"got/$name.out" 2>"got/$name.err"
		echo $? >"got/$name.rc" &&
		test_cmp "want/$name.out" "got/$name.out" &&
		test_cmp "want/$name.err" "got/$name.err" &&
		test_cmp "want/$name.rc" "got/$name.rc"
	'
done < <(cases)

test_done
