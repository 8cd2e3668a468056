#!/bin/bash
# docker-py (Debian's python3-docker, under /usr/bin/python3) against strata
# serve: images.list/get/tag/remove/prune, api.history, api.inspect_image and
# df on a small store, each result checked against strata's own CLI
# (t1211-serve-docker-py.py).
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"

command -v curl >/dev/null || skip_all "curl not installed"
/usr/bin/python3 -c "import docker" 2>/dev/null || skip_all "python3-docker not installed for /usr/bin/python3"

S=$TRASH/s

test_expect_success 'a store with two imported images' '
	mkdir -p rootfs && echo one >rootfs/f && tar -C rootfs -cf one.tar . &&
	echo two >rootfs/f && tar -C rootfs -cf two.tar . &&
	strata --data-root "$S/root" import -c "LABEL a=b" one.tar one:1 &&
	strata --data-root "$S/root" import -c "LABEL a=c" two.tar two:1
'

test_expect_success 'strata serve starts' '
	serve_start "$S"
'

test_expect_success 'docker-py: images.list/get/tag/remove/prune, api.history, api.inspect_image, df' '
	/usr/bin/python3 "$TEST_REPO/tests/cli/t1211-serve-docker-py.py" "$STRATA_BIN" "$S/root" >out 2>err ||
		{ cat out err; false; } &&
	echo ok >expect && test_cmp expect out
'

test_expect_success 'strata serve stops cleanly; strata check passes' '
	serve_stop "$S" &&
	strata --data-root "$S/root" check >/dev/null
'

test_done
