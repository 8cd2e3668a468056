#!/bin/bash
# The main paths stay valgrind-clean: no invalid access, no definite leak, no
# crash, and each command exits with exactly the status it should.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
case "$STRATA_BIN" in *build-san*) skip_all "sanitizer build: valgrind does not apply" ;; esac

make_busybox_rootfs "$TRASH/rootfs" && tar -C "$TRASH/rootfs" -cf "$TRASH/bb.tar" . ||
	skip_all "cannot build a busybox rootfs"

# vg WANT ARGS...: strata ARGS under valgrind exits WANT and valgrind reports
# nothing.  Valgrind's own exit status for an error (99) is one strata never
# uses; a signal (a crash) is 128+N.
vg() {
	local want=$1 rc
	shift
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$STRATA_BIN" --data-root "$TRASH/s" "$@" >/dev/null 2>"$TRASH/vg.err"
	rc=$?
	# valgrind does not know openat2 (strata then walks paths itself)
	grep -v -e 'unhandled amd64-linux syscall' -e 'your own handler' -e README_MISSING \
		-e 'consider this a bug' -e 'bug_reports' "$TRASH/vg.err" >"$TRASH/vg.report"
	cat "$TRASH/vg.report" >&2
	if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*==' "$TRASH/vg.report"; then
		echo "valgrind reported errors (exit $rc)" >&2
		return 1
	fi
	if _is_crash "$rc"; then
		echo "strata $* died with signal $((rc - 128))" >&2
		return 1
	fi
	if [ "$rc" -ne "$want" ]; then
		echo "strata $* exited $rc, expected $want" >&2
		return 1
	fi
}

# each entry is eval'ed; {{json.}} is Go's 'unexpected "." in operand'
for cmd in "0 import $TRASH/bb.tar bb:1" "0 images" "0 images -a --digests --no-trunc" \
	"0 images --format '{{json .}}'" "1 images --format {{json.}}" "0 inspect bb:1" "0 history bb:1" "0 tag bb:1 bb:2" \
	"0 save -o $TRASH/bb-save.tar bb:1" "0 rmi bb:2" "0 check --deep" "1 inspect nosuch" \
	"1 rmi nosuch:1" "0 rmi bb:1" "0 load -i $TRASH/bb-save.tar" "0 image prune -a -f"; do
	test_expect_success "valgrind: strata ${cmd#* } (exit ${cmd%% *})" "vg $cmd"
done
test_done
