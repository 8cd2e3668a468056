#!/bin/bash
# Run every unit test binary and every CLI test script (TAP), then print the
# one summary line CI reads: "N passed, N failed, N skipped".
cd "$(dirname "$0")/.." || exit 1
BUILD=${STRATA_BUILD:-build}
export STRATA_BIN="$PWD/$BUILD/strata"
# the unit tests' data (tests/unit/fixtures.h); nothing outside the repository
export STRATA_FIXTURES="$PWD/tests/fixtures"
passed=0 failed=0 skipped=0 failed_names=()
log_dir=$(mktemp -d /tmp/strata-tests.XXXXXX)

run_one() {
	local name=$1; shift
	local log="$log_dir/$(basename "$name").log"
	"$@" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	# a script that stopped early (or printed no plan) has not run its tests
	local plan
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ -z "$plan" ] || [ "$plan" -ne $((p + s + f)) ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name planned ${plan:-no} tests, reported $((p + s))" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %4d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		grep -E '^not ok|^#' "$log" | head -40 | sed 's/^/    /'
	fi
}

for t in "$BUILD"/tests/test-*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in tests/cli/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	if [ -n "$STRATA_TESTS" ] && ! [[ "$(basename "$t")" == $STRATA_TESTS ]]; then
		continue
	fi
	run_one "cli/$(basename "$t" .sh)" bash "$t"
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]} (logs in $log_dir)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
