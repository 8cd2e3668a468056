#!/bin/bash
# The test suite is self-contained: a fresh clone has everything its tests,
# scripts and benchmarks read.  Nothing here may name the project's notes
# beside the repository or a path of one machine.
. "$(dirname "$0")/../lib/lib.sh"

WHERE="tests scripts bench Makefile .ci"
# the patterns are spelled in pieces so this file does not match itself
SHARED='\.\./'shared
ENVVAR='STRATA_'SHARED
# an absolute path into a home, root's home or the work folder of one machine
# (not "$D/root/...": a path starts at a blank, a quote, = or :)
MACHINE="(^|[[:space:]\"'=:(])/(wo""rk|ho""me/[a-z]|ro""ot)/"

# mentions PATTERN: every line of a text file under $WHERE that matches
mentions() {
	local w
	for w in $WHERE; do
		test -e "$TEST_REPO/$w" || { echo "$w is missing"; return 2; }
	done
	(cd "$TEST_REPO" && grep -rnIE -- "$1" $WHERE)
}

test_expect_success 'no test, script or benchmark reads the notes beside the repository' '
	test_expect_code 1 mentions "$SHARED|$ENVVAR"
'
test_expect_success 'no absolute path of a machine' '
	test_expect_code 1 mentions "$MACHINE"
'
test_expect_success 'every fixture folder says where its data comes from' '
	for d in "$TEST_FIXTURES/corpus" "$TEST_FIXTURES/docker-20.10" "$TEST_FIXTURES/legacy"; do
		test -s "$d/SOURCES.md" || { echo "$d has no SOURCES.md"; return 1; }
	done
'
test_expect_success 'the test data the suite names exists in the repository' '
	T=$TEST_FIXTURES/corpus/tar &&
	awk -F"\t" "NR > 1 { print \$1 }" "$T/EXPECTED.tsv" >names &&
	test_line_count names 18 &&
	while read -r f; do
		test -f "$T/$f" || { echo "missing corpus file $f"; return 1; }
	done <names
'
test_done
