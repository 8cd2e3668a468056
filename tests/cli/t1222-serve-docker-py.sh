#!/bin/bash
# docker-py's pull, push, save, load, import and build through strata serve: the
# script (tests/fixtures/serve/transfer.py) passes against dockerd and
# against strata serve on the same registry.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v curl >/dev/null || skip_all "curl not installed"
/usr/bin/python3 -c "import docker" 2>/dev/null || skip_all "python3-docker not installed"
command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

S=$TRASH/s
D=$TRASH/d
SCRIPT=$TEST_REPO/tests/fixtures/serve/transfer.py

test_expect_success 'setup: a registry with an image, dockerd and strata serve' '
	registry_start "$TRASH/regdir" && echo "$REGISTRY" >reg &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - "$REGISTRY/lib/bb:1" >/dev/null &&
	strata --data-root src push "$REGISTRY/lib/bb:1" >/dev/null &&
	dockerd_start "$D" &&
	serve_start "$S"
'

test_expect_success 'the script passes against dockerd' '
	/usr/bin/python3 "$SCRIPT" "$D/docker.sock" "$(cat reg)" >d.out
'

test_expect_success 'the script passes against strata serve, with the same checks' '
	/usr/bin/python3 "$SCRIPT" "$S/strata.sock" "$(cat reg)" >s.out &&
	test_cmp d.out s.out &&
	strata --data-root "$S/root" check >/dev/null &&
	serve_stop "$S"
'

test_done
