#!/bin/bash
# Self-test of the test harness: lib.sh (TAP, must_fail, skip_all, cleanup),
# dockerd.sh's safe no-op paths and cmpout.py's comparison rules.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"

CMP="python3 $TEST_LIB_DIR/cmpout.py"

test_expect_success 'must_fail accepts a plain failure' '
	must_fail false
'
test_expect_success 'must_fail rejects success' '
	! must_fail true
'
test_expect_success 'must_fail rejects a crash (signal)' '
	! must_fail sh -c "kill -SEGV \$\$"
'
test_expect_success 'test_expect_code' '
	test_expect_code 3 sh -c "exit 3" &&
	! test_expect_code 3 sh -c "exit 4"
'

# run_inner BODY: run a small test script using lib.sh, output in inner.out
run_inner() {
	printf '. "%s/lib.sh"\n%s\n' "$TEST_LIB_DIR" "$1" >"$TRASH/inner.sh"
	bash "$TRASH/inner.sh" >"$TRASH/inner.out" 2>"$TRASH/inner.err"
}
test_expect_success 'inner script: TAP lines only, command output hidden' '
	run_inner "test_expect_success one \"echo ok 99 - fake; true\"
test_expect_success two \"echo hidden; false\"
test_done"
	grep -E "^(ok|not ok) " "$TRASH/inner.out" >"$TRASH/tap" &&
	printf "ok 1 - one\nnot ok 2 - two\n" >"$TRASH/tap.expected" &&
	test_cmp "$TRASH/tap.expected" "$TRASH/tap" &&
	grep -q "^1\.\.2$" "$TRASH/inner.out" &&
	grep -q "^# hidden$" "$TRASH/inner.out"
'
test_expect_success 'inner script: exit status 1 on failure, 0 on success' '
	! run_inner "test_expect_success x false
test_done" &&
	run_inner "test_expect_success x true
test_done"
'
test_expect_success 'inner script: skip_all and prerequisites' '
	run_inner "skip_all no reason" &&
	grep -qx "1..0 # SKIP no reason" "$TRASH/inner.out" &&
	run_inner "test_expect_success NOPE x false
test_done" &&
	grep -qx "ok 1 # skip x (missing NOPE)" "$TRASH/inner.out"
'
test_expect_success 'inner script: a missing prerequisite with a reason skips with it' '
	run_inner "test_prereq_missing BOX \"no box here\"
test_expect_success BOX x false
test_done" &&
	grep -qx "ok 1 # skip x (missing BOX: no box here)" "$TRASH/inner.out"
'
test_expect_success 'inner script: test_skip counts a skip with its reason' '
	run_inner "test_skip x \"why not\"
test_done" &&
	grep -qx "ok 1 # skip x (why not)" "$TRASH/inner.out" &&
	grep -qx "1..1" "$TRASH/inner.out"
'
test_expect_success 'inner script: temp dir removed, atexit hooks run' '
	run_inner "echo \$TRASH >\"$TRASH/inner.trash\"
test_atexit \"touch $TRASH/hook-ran\"
test_done" &&
	test ! -e "$(cat "$TRASH/inner.trash")" &&
	test -e "$TRASH/hook-ran"
'
test_expect_success 'dockerd_stop / registry_stop on nothing are no-ops' '
	dockerd_stop "$TRASH/none" &&
	mkdir -p "$TRASH/empty" &&
	dockerd_stop "$TRASH/empty" &&
	registry_stop "$TRASH/empty" &&
	! dockerd_running "$TRASH/empty"
'

if command -v docker-registry >/dev/null 2>&1; then
	test_set_prereq REGISTRY
else
	test_prereq_missing REGISTRY "docker-registry not installed"
fi
test_expect_success REGISTRY 'registry_start answers on loopback; registry_stop stops it' '
	registry_start "$TRASH/reg" &&
	case $REGISTRY in 127.0.0.1:*) ;; *) false ;; esac &&
	_http_ok "http://$REGISTRY/v2/" &&
	pid=$(cat "$TRASH/reg/registry.pid") &&
	registry_stop "$TRASH/reg" &&
	! kill -0 $pid 2>/dev/null
'

# ---- cmpout.py ----------------------------------------------------------
table() { # rows as "a|b|c" lines -> Go tabwriter output
	python3 -c '
import sys; sys.path.insert(0, sys.argv[1]); import cmpout
rows = [l.rstrip("\n").split("|") for l in sys.stdin]
print("\n".join(cmpout.render(rows)))' "$TEST_LIB_DIR"
}
test_expect_success 'cmpout: relative time drift within the elapsed time is accepted' '
	printf "IMAGE ID|CREATED|SIZE\nabc|5 seconds ago|1B\n" | table >exp &&
	printf "IMAGE ID|CREATED|SIZE\nabc|About a minute ago|1B\n" | table >act &&
	$CMP --expected-time 100 101 --actual-time 160 161 exp act &&
	! $CMP --expected-time 100 101 --actual-time 105 106 exp act >/dev/null
'
test_expect_success 'cmpout: a table not laid out as tabwriter is rejected' '
	printf "IMAGE ID|CREATED|SIZE\nabc|5 seconds ago|1B\n" | table >exp &&
	sed "2s/abc   /abc  /" exp >act &&
	! $CMP exp act >out &&
	grep -q tabwriter out
'
test_expect_success 'cmpout: rows reordered are rejected unless --unordered' '
	printf "A|B\nx|1\ny|2\n" | table >exp &&
	printf "A|B\ny|2\nx|1\n" | table >act &&
	! $CMP exp act >/dev/null &&
	$CMP --unordered exp act
'
test_expect_success 'cmpout: --exact compares bytes' '
	printf "a\n" >exp && printf "a" >act &&
	! $CMP --exact exp act >/dev/null
'
test_expect_success 'cmpout: HumanDuration ranges' '
	python3 -c "
import sys; sys.path.insert(0, \"$TEST_LIB_DIR\"); import cmpout as c
assert c.rel_range(\"1 second ago\") == (1, 2)
assert c.rel_range(\"59 seconds ago\") == (59, 60)
assert c.rel_range(\"About a minute ago\") == (60, 120)
assert c.rel_range(\"2 minutes ago\") == (120, 180)
assert c.rel_range(\"About an hour ago\") == (3600, 5400)
assert c.rel_range(\"2 hours ago\") == (5400, 9000)
"
'

# ---- verify_store.py: the store oracle catches each rule it checks ---------
VS="python3 $VERIFY_STORE"
mk_layer_store() {
	mkdir -p "$TRASH/vs-src/d" && printf "hello\n" >"$TRASH/vs-src/d/f" &&
	ln -s f "$TRASH/vs-src/d/l" &&
	tar -C "$TRASH/vs-src" -cf "$TRASH/vs.tar" d &&
	strata --data-root "$TRASH/vs" import "$TRASH/vs.tar" vs:1 >/dev/null
}
# damaged WHAT CMD: a copy of the clean store with CMD run in it fails, and
# the problem line names WHAT
damaged() {
	rm -rf "$TRASH/vsc" && cp -a "$TRASH/vs" "$TRASH/vsc" &&
	(cd "$TRASH/vsc" && eval "$2") &&
	! $VS "$TRASH/vsc" >"$TRASH/vs.out" &&
	grep "^PROBLEM: " "$TRASH/vs.out" | grep -q "$1" || { cat "$TRASH/vs.out"; false; }
}
LDB='image/*/layerdb/sha256/*'
test_expect_success 'verify_store: a store strata wrote passes' '
	mk_layer_store && $VS "$TRASH/vs" >out &&
	grep -q ": 1 images, 1 layers checked, 0 problems$" out
'
test_expect_success 'verify_store: config bytes that do not hash to the ID' '
	damaged "does not hash to its name" "printf \" \" >>image/*/imagedb/content/sha256/*"
'
test_expect_success 'verify_store: wrong size, size with a newline' '
	damaged "the layer folder holds 7" "printf 13 >$LDB/size" &&
	damaged "not a plain decimal" "echo 7 >$LDB/size"
'
test_expect_success 'verify_store: diff file, parent file of a base layer' '
	damaged "diff file is not" "printf sha256:%064d 0 >$LDB/diff" &&
	damaged "base layer has a parent file" "for d in $LDB; do printf sha256:%064d 0 >\$d/parent; done"
'
test_expect_success 'verify_store: tar-split missing or not matching the files' '
	damaged "no tar-split.json.gz" "rm $LDB/tar-split.json.gz" &&
	damaged "CRC-64 of" "printf J >\$(echo */*/diff/d/f)" &&
	damaged "holds 8 bytes" "echo x >>\$(echo */*/diff/d/f)"
'
if [ -d "$TRASH/vs/overlay2" ]; then
	test_set_prereq OVERLAY2
else
	test_prereq_missing OVERLAY2 "strata chose vfs for a new store here"
fi
test_expect_success OVERLAY2 'verify_store: overlay2 link and l/ symlink' '
	damaged "does not point to" "rm overlay2/l/*" &&
	damaged "is not 26 characters" "printf abc >overlay2/*/link"
'
test_expect_success 'verify_store: a reference to a missing image' '
	damaged "names missing image" "printf %s \"{\\\"Repositories\\\":{\\\"x\\\":{\\\"x:1\\\":\\\"sha256:\$(printf %064d 0)\\\"}}}\" >image/*/repositories.json"
'
test_done
