#!/bin/bash
# pull (and push) killed at every rename, fsync and syncfs (t0610's sweep):
# the next pull (push) finishes the job, the store passes `check` without --repair and holds
# the image with the ID a clean pull gives (partial downloads may stay for a
# resume; check does not count them as problems).
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_LIB_DIR/crashpoints.sh"

command -v docker-registry >/dev/null || skip_all "docker-registry not installed"
registry_start "$TRASH/reg" || skip_all "registry did not start"
S() { strata --data-root "$@"; }
IMG=$REGISTRY/t/two:1

test_expect_success 'set-up: an image in the registry, and a clean pull of it' '
	make_busybox_rootfs rootfs &&
	tar -C rootfs -cf - . | S src import -c "CMD [\"/bin/sh\"]" - "$IMG" >/dev/null &&
	S src push "$IMG" >/dev/null &&
	S ref pull "$IMG" >/dev/null &&
	ID=$(S ref images -q --no-trunc "$IMG") && test -n "$ID" &&
	S ref check >check.ref && grep -q ": 0 problems$" check.ref &&
	SUM=$(sed "s/: 0 problems//" check.ref)
'

test_expect_success STRACE 'pull killed at every point: the next pull gives the same image, check is clean' '
	AFTER="S s pull \"\$IMG\" >after.out" &&
	VERIFY="test \"\$(S s images -q --no-trunc \"\$IMG\")\" = \"\$ID\" &&
		echo \"\$SUM: 0 problems\" >expect && S s check >out && test_cmp expect out &&
		S s save \"\$IMG\" >/dev/null" &&
	sweep "mkdir base" pull "$IMG"
'

test_expect_success STRACE 'pull killed at every point into a store that has the image`s base: same result' '
	AFTER="S s pull \"\$IMG\" >after.out" &&
	VERIFY="test \"\$(S s images -q --no-trunc \"\$IMG\")\" = \"\$ID\" &&
		S s check >out && grep -q \": 0 problems$\" out &&
		S s images -q --no-trunc base:1 | grep -q . " &&
	sweep "tar -C rootfs -cf - . | S base import - base:1 >/dev/null" pull "$IMG"
'

test_expect_success STRACE 'push killed at every point: the next push completes, check is clean, the image pulls' '
	AFTER="S s push \"\$REGISTRY/t/pushed:1\" >after.out" &&
	VERIFY="S s check >out && grep -q \": 0 problems$\" out &&
		rm -rf p && S p pull \"\$REGISTRY/t/pushed:1\" >/dev/null &&
		test \"\$(S p images -q --no-trunc \"\$REGISTRY/t/pushed:1\")\" = \"\$ID\"" &&
	sweep "cp -a ref base && S base tag \"\$IMG\" \"\$REGISTRY/t/pushed:1\"" push "$REGISTRY/t/pushed:1"
'

test_done
