#!/bin/bash
# The legacy v1 config conversion (dockerd's MakeConfigFromV1Config): strata
# load of the archives tests/fixtures/legacy/gen.py writes gives, byte for
# byte, the image configs dockerd 20.10 wrote for them
# (tests/fixtures/legacy/expected/CASE/<image id>, see SOURCES.md there).
# With a dockerd, those expected files are checked against it again.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"

FIX=$TEST_FIXTURES/legacy
CASES="old new nover two"
if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

test_expect_success 'generate the legacy archives' '
	python3 "$FIX/gen.py" "$TRASH/in"
'
# configs ROOT: "<id> <sha256 of the bytes>" of every config in the store
configs() {
	(cd "$1/image/overlay2/imagedb/content/sha256" && sha256sum * | awk "{ print \$2, \$1 }")
}
for c in $CASES; do
	test_expect_success "$c: the configs are dockerd's bytes" "
		strata --data-root '$TRASH/s-$c' load -i '$TRASH/in/$c.tar' >out &&
		test ! -s out &&
		(cd '$FIX/expected/$c' && ls) >want.ids &&
		ls '$TRASH/s-$c/image/overlay2/imagedb/content/sha256' >got.ids &&
		test_cmp want.ids got.ids &&
		for id in \$(cat want.ids); do
			cmp '$FIX/expected/$c/'\$id '$TRASH/s-$c/image/overlay2/imagedb/content/sha256/'\$id || return 1
		done &&
		configs '$TRASH/s-$c' >sums && awk '\$1 != \$2 { print; bad = 1 } END { exit bad }' sums
	"
done

test_expect_success DOCKERD 'dockerd 20.10 still writes the expected configs' '
	D=$(mktemp -d /tmp/s33.XXXX) && test_atexit "rm -rf $D" &&
	for c in $CASES; do
		dockerd_start "$D/$c" &&
		docker load -i "$TRASH/in/$c.tar" >"$TRASH/dload-$c" &&
		dockerd_stop "$D/$c" &&
		diff -r "$FIX/expected/$c" "$D/$c/root/image/overlay2/imagedb/content/sha256" || return 1
	done
'
test_done
