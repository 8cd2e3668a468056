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
1|"strata check" accepts no arguments.|check x
1|"strata image prune" accepts no arguments.|image prune x
1|"strata load" accepts no arguments.|load x
1|"strata pull" requires exactly 1 argument.|pull
125|invalid argument "x" for "-f, --filter" flag: bad format of filter (expected name=value)|images -f x
125|unknown flag: --nope|images --nope
125|unknown shorthand flag: 'z' in -z|rmi -z a
125|flag needs an argument: --format|history --format
EOF_CASES

test_expect_success 'usage text goes with an argument error' '
	strata --data-root "$R" tag a 2>err; grep -q "^Usage:  strata tag SOURCE_IMAGE" err
'
DOCKER_CLI=/usr/bin/docker
if [ -x "$DOCKER_CLI" ]; then
	test_set_prereq DOCKER_CLI
else
	test_prereq_missing DOCKER_CLI "no docker 20.10 client at $DOCKER_CLI"
fi

# Every command strata lists that docker also has is described as docker does.
test_expect_success DOCKER_CLI 'strata --help describes the commands as docker --help' '
	strata --help >help &&
	"$DOCKER_CLI" --help | sed "s/docker/strata/g" >dhelp &&
	grep -A100 "^Commands:" help | grep "^  [a-z]" >cmds &&
	test "$(wc -l <cmds)" -gt 10 &&
	while read -r name what; do
		case $name in check|analyze|squash|serve) test -n "$what" || return 1; continue ;; esac
		grep -qxF "  $(printf "%-11s %s" "$name" "$what")" dhelp ||
			{ echo "differs from docker: $name $what"; return 1; }
	done <cmds &&
	grep -A3 "^Management Commands:" help | grep -qx "  image       Manage images"
'

test_expect_success DOCKER_CLI 'strata image --help is docker image --help without build' '
	strata image --help >help &&
	"$DOCKER_CLI" image --help | grep -v "^  build " | sed "s/docker/strata/g" >want &&
	test_cmp want help
'
# docker checks the output folder in the client, before it asks the daemon
# (an unreachable one here): the same text and status without a store.
test_expect_success DOCKER_CLI 'save -o into a missing folder as docker' '
	test_expect_code 1 "$DOCKER_CLI" -H "unix://$TRASH/no.sock" save -o "$TRASH/missing/dir/x" busybox 2>want &&
	test_expect_code 1 strata --data-root "$R" save -o "$TRASH/missing/dir/x" busybox 2>err &&
	test_cmp want err &&
	test ! -e "$R"
'
test_done
