# shellcheck shell=bash
# Small git-style TAP library for strata's CLI tests.
#
#   . "$(dirname "$0")/../lib/lib.sh"
#   test_expect_success 'description' 'commands'
#   test_expect_success PREREQ 'description' 'commands'   # skipped unless PREREQ set
#   test_done
#
# Each test's commands are eval'ed in the test script's shell (so variables set
# in one test are seen by later ones) with stdout/stderr captured; only the
# TAP lines "ok N - desc" / "not ok N - desc" / "1..N" and "#" comments reach
# stdout.  On failure the commands and their output are printed as "#" lines.
#
# Helpers: strata (runs $STRATA_BIN), test_cmp, must_fail, test_expect_code,
# skip_all, test_set_prereq, test_prereq_missing, test_have_prereq,
# test_skip, test_atexit, say.
# Every script gets a private temp dir $TRASH (removed at exit unless
# STRATA_TEST_KEEP=1) and runs with it as the current directory.
# $TEST_FIXTURES is tests/fixtures; $VERIFY_STORE is the store oracle
# (python3 "$VERIFY_STORE" DATA_ROOT, tests/lib/verify_store.py).
#
# Environment: STRATA_BIN (default <repo>/build/strata), STRATA_TEST_VERBOSE=1
# (show command output as it runs, on stderr), STRATA_TEST_KEEP=1.

TEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_REPO=$(cd "$TEST_LIB_DIR/../.." && pwd)
# everything a test reads lives in the repository (t0001 checks it)
TEST_FIXTURES=$TEST_REPO/tests/fixtures
VERIFY_STORE=$TEST_LIB_DIR/verify_store.py
TEST_NAME=$(basename "$0" .sh)
export STRATA_BIN=${STRATA_BIN:-$TEST_REPO/build/strata}
export LC_ALL=C.UTF-8 TZ=UTC
# a sanitizer report in a sanitized build must look like a crash (a signal),
# so must_fail and the crash checks catch it
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
unset CDPATH

test_count=0
test_failures=0
test_fixed_count=0
_test_atexit_cmds=()
declare -A _test_prereqs=() _test_prereq_why=()

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/strata-$TEST_NAME.XXXXXX") || {
	echo "Bail out! cannot create temp dir"
	exit 1
}
# Readable by other users, so tests can run commands as an unprivileged user.
chmod 0755 "$TRASH"
_test_log="$TRASH/.test-output"
cd "$TRASH" || exit 1

say() { printf '# %s\n' "$*"; }

# test_atexit 'command': run when the script exits (last registered first).
test_atexit() { _test_atexit_cmds=("$1" "${_test_atexit_cmds[@]}"); }

_test_cleanup() {
	local rc=$? c
	trap - EXIT INT TERM HUP
	for c in "${_test_atexit_cmds[@]}"; do
		(cd / && eval "$c") >/dev/null 2>&1
	done
	cd /
	if [ -z "${STRATA_TEST_KEEP:-}" ]; then
		rm -rf "$TRASH" 2>/dev/null || {
			# a leftover mount or immutable file: report, do not hide it
			echo "# could not remove $TRASH" >&2
		}
	else
		echo "# kept $TRASH" >&2
	fi
	exit "$rc"
}
trap _test_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

test_set_prereq() { _test_prereqs[$1]=1; }
# test_prereq_missing PREREQ 'reason': PREREQ is not set; its tests' skip
# lines say why.
test_prereq_missing() { unset "_test_prereqs[$1]"; _test_prereq_why[$1]=$2; }
# _test_missing_why PREREQS: "missing X (reason)" for the first one not set
_test_missing_why() {
	local p
	for p in ${1//,/ }; do
		if [ -z "${_test_prereqs[$p]:-}" ]; then
			echo "missing $p${_test_prereq_why[$p]:+: ${_test_prereq_why[$p]}}"
			return
		fi
	done
}
test_have_prereq() {
	local p
	for p in ${1//,/ }; do
		[ -n "${_test_prereqs[$p]:-}" ] || return 1
	done
	return 0
}

# strata ARGS...: run the binary under test.
strata() { "$STRATA_BIN" "$@"; }

# test_cmp EXPECTED ACTUAL: compare files, show a diff on mismatch.
test_cmp() { diff -u -- "$1" "$2"; }

# _is_crash RC: a signal death (shell reports 128+N), e.g. SEGV, ABRT.
_is_crash() { [ "$1" -gt 128 ] && [ "$1" -le 192 ]; }

# must_fail CMD...: CMD exits non-zero, and not by a signal.
must_fail() {
	"$@"
	local rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "must_fail: '$*' succeeded" >&2
		return 1
	fi
	if _is_crash "$rc"; then
		echo "must_fail: '$*' died with signal $((rc - 128))" >&2
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD exits with status N exactly.
test_expect_code() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" -eq "$want" ] && return 0
	echo "test_expect_code: '$*' exited $rc, expected $want" >&2
	return 1
}

# test_line_count FILE N: FILE has exactly N lines.
test_line_count() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -eq "$2" ] && return 0
	echo "test_line_count: $1 has $n lines, expected $2:" >&2
	cat "$1" >&2
	return 1
}

_test_comment_file() { sed -e 's/^/# /' "$1"; }

_test_run() {
	local cmds=$1 rc
	if [ -n "${STRATA_TEST_VERBOSE:-}" ]; then
		# not through a pipe: the commands must run in this shell; the
		# trace goes to its own fd, never into a command's redirected stderr
		local xfd
		: >"$_test_log"
		exec {xfd}>>"$_test_log"
		BASH_XTRACEFD=$xfd
		{
			set -x
			eval "$cmds"
		} >>"$_test_log" 2>&1 </dev/null
		rc=$?
		{ set +x; } 2>/dev/null
		unset BASH_XTRACEFD # closes $xfd
		cat "$_test_log" >&2
		return "$rc"
	fi
	# eval in this shell (not a subshell) so tests can set variables.
	{
		eval "$cmds"
	} >"$_test_log" 2>&1 </dev/null
}

# test_expect_success [PREREQ] 'desc' 'commands'
test_expect_success() {
	local prereq=
	[ $# -eq 3 ] && { prereq=$1; shift; }
	[ $# -eq 2 ] || { echo "Bail out! test_expect_success: bad arguments: $*"; exit 1; }
	local desc=$1 cmds=$2
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		echo "ok $test_count # skip $desc ($(_test_missing_why "$prereq"))"
		return 0
	fi
	cd "$TRASH" || exit 1
	if _test_run "$cmds"; then
		echo "ok $test_count - $desc"
	else
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - $desc"
		sed -e 's/^/#	/' <<<"$cmds"
		if [ -s "$_test_log" ]; then
			echo "# output:"
			head -n 200 "$_test_log" | _test_comment_file /dev/stdin
		fi
	fi
	cd "$TRASH" || exit 1
	return 0
}

# test_skip 'desc' 'reason': count a test as skipped.
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1 ($2)"
}

# skip_all 'reason': nothing in this script can run here.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failures" -eq 0 ]; then
		say "passed all $test_count test(s)"
		exit 0
	fi
	say "failed $test_failures among $test_count test(s)"
	exit 1
}
