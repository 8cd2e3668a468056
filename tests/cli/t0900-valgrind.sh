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

# strata serve under valgrind: a few requests of each kind of answer
# (buffered, streamed, errors), then SIGTERM; the server must exit 0 and
# valgrind report nothing.
serve_requests() {
	local sock=$1
	curl -sf --unix-socket "$sock" http://strata/_ping >/dev/null &&
	curl -sf --unix-socket "$sock" http://strata/v1.41/version >/dev/null &&
	curl -sf --unix-socket "$sock" http://strata/info >/dev/null &&
	curl -sf --unix-socket "$sock" "http://strata/events?since=0&until=$(date +%s)" >/dev/null &&
	test "$(curl -s -o /dev/null -w "%{http_code}" --unix-socket "$sock" http://strata/v1.99/info)" = 400 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" --unix-socket "$sock" http://strata/nope)" = 404 &&
	{ timeout 0.5 curl -sN --unix-socket "$sock" http://strata/events >/dev/null; true; }
}
test_expect_success 'valgrind: strata serve (exit 0 on SIGTERM)' '
	command -v curl >/dev/null || { echo "curl missing" >&2; return 1; }
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$STRATA_BIN" --data-root "$TRASH/s" serve -H "unix://$TRASH/vg.sock" >/dev/null 2>"$TRASH/vg.err" &
	pid=$! &&
	test_atexit "kill $pid 2>/dev/null" &&
	for i in $(seq 100); do
		curl -sf --unix-socket "$TRASH/vg.sock" http://strata/_ping >/dev/null 2>&1 && break
		sleep 0.2
	done &&
	serve_requests "$TRASH/vg.sock" &&
	kill -TERM $pid && { wait $pid; rc=$?; } &&
	grep -v -e "unhandled amd64-linux syscall" -e "your own handler" -e README_MISSING \
		-e "consider this a bug" -e bug_reports "$TRASH/vg.err" >"$TRASH/vg.report"
	cat "$TRASH/vg.report" >&2
	test "$rc" -eq 0 && ! grep -q "^==[0-9]*==" "$TRASH/vg.report"
'
test_done
