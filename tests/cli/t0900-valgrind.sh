#!/bin/bash
# The main paths stay valgrind-clean: no invalid access, no definite leak.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
case "$STRATA_BIN" in *build-san*) skip_all "sanitizer build: valgrind does not apply" ;; esac

make_busybox_rootfs "$TRASH/rootfs" && tar -C "$TRASH/rootfs" -cf "$TRASH/bb.tar" . ||
	skip_all "cannot build a busybox rootfs"

vg() {
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$STRATA_BIN" --data-root "$TRASH/s" "$@" >/dev/null 2>"$TRASH/vg.err"
	local rc=$?
	# valgrind does not know openat2 (strata then walks paths itself)
	grep -v -e 'unhandled amd64-linux syscall' -e 'your own handler' -e README_MISSING \
		-e 'consider this a bug' -e 'bug_reports' "$TRASH/vg.err" >&2
	[ $rc -ne 99 ]
}

for cmd in "import $TRASH/bb.tar bb:1" "images" "images -a --digests --no-trunc" \
	"images --format {{json.}}" "inspect bb:1" "history bb:1" "tag bb:1 bb:2" \
	"save -o $TRASH/bb-save.tar bb:1" "rmi bb:2" "check --deep" "rmi bb:1" \
	"load -i $TRASH/bb-save.tar" "image prune -a -f"; do
	test_expect_success "valgrind: strata $cmd" "vg $cmd"
done
test_done
