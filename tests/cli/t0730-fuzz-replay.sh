#!/bin/bash
# The fuzz targets' committed corpora (tests/fuzz/corpus/NAME: the seeds and
# every crasher kept as a regression case) replayed through each target
# built with a plain main (make units builds build/tests/fuzz-NAME; under
# SANITIZE they run sanitized).  Any crash or sanitizer report fails.
. "$(dirname "$0")/../lib/lib.sh"

BUILD_DIR=$TEST_REPO/${STRATA_BUILD:-build}/tests
CORPUS=$TEST_REPO/tests/fuzz/corpus

for src in "$TEST_REPO"/tests/fuzz/fuzz-*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz-}
	if [ -x "$BUILD_DIR/fuzz-$name" ]; then
		test_set_prereq "R_$name"
	else
		test_prereq_missing "R_$name" "$BUILD_DIR/fuzz-$name not built (make units)"
	fi
	test_expect_success "R_$name" "fuzz-$name replays its corpus" '
		test -n "$(ls "$CORPUS/'"$name"'")" &&
		"$BUILD_DIR/fuzz-'"$name"'" "$CORPUS/'"$name"'" >out 2>err ||
			{ cat err; false; }
		grep -q "^replayed [1-9][0-9]* input(s)$" out
	'
done

test_done
