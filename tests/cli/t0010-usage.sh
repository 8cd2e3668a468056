#!/bin/bash
# Usage errors as docker's CLI prints them: argument counts (exit 1) and
# malformed flags (exit 125), checked before any store is opened.
. "$(dirname "$0")/../lib/lib.sh"

R=$TRASH/none
usage_error() { # STATUS FIRST-LINE ARGS...
	local want_rc=$1 want=$2 rc
	shift 2
	strata --data-root "$R" "$@" >out 2>err
	rc=$?
	test "$rc" = "$want_rc" || { echo "status $rc, want $want_rc"; cat err; return 1; }
	test "$(head -n 1 err)" = "$want" || { echo "got: $(head -n 1 err)"; echo "want: $want"; return 1; }
	test ! -e "$R"
}

while IFS='|' read -r rc line args; do
	want_line=$line
	test_expect_success "strata $args" "usage_error $rc \"\$want_line\" $args"
done <<'EOF_CASES'
1|"strata tag" requires exactly 2 arguments.|tag a
1|"strata history" requires exactly 1 argument.|history
1|"strata images" requires at most 1 argument.|images a b
1|"strata import" requires at least 1 and at most 2 arguments.|import a b c
1|"strata inspect" requires at least 1 argument.|inspect
1|"strata rmi" requires at least 1 argument.|rmi
1|"strata check" requires no arguments.|check x
1|"strata image prune" requires no arguments.|image prune x
1|"strata load" requires no arguments.|load x
1|"strata pull" requires exactly 1 argument.|pull
125|invalid argument "x" for "-f, --filter" flag: bad format of filter (expected name=value)|images -f x
125|unknown flag: --nope|images --nope
125|unknown shorthand flag: 'z' in -z|rmi -z a
125|flag needs an argument: --format|history --format
EOF_CASES

test_expect_success 'usage text goes with an argument error' '
	strata --data-root "$R" tag a 2>err; grep -q "^Usage:  strata tag SOURCE_IMAGE" err
'
test_done
