# shellcheck shell=bash
# Crash points: kill a strata command at its Nth rename, fsync or syncfs
# (strace's fault injection) and check what the next command makes of it.
#
#   killed_at N ROOT ARGS...   prints "killed" or "finished"; anything else fails
#   sweep SETUP ARGS...        for N = 1, 2, ...: a fresh copy "s" of the store
#                              SETUP made in "base", strata ARGS killed at N,
#                              then eval $AFTER and $VERIFY, until ARGS runs
#                              to its end
# Sets the STRACE prereq (lib.sh must be loaded first).

# the points a process is killed at
POINTS=rename,renameat,renameat2,fsync,fdatasync,syncfs
if command -v strace >/dev/null 2>&1 &&
	strace -f -qq -o /dev/null -e trace=$POINTS -e inject=$POINTS:signal=SIGKILL:when=1 true 2>/dev/null; then
	test_set_prereq STRACE
else
	test_prereq_missing STRACE "strace with fault injection (-e inject=...:signal=) is not usable here"
fi

# killed_at N ROOT ARGS...: strata ARGS on ROOT, killed at its Nth kill point;
# prints "killed" or "finished" (exit 0); anything else is a failure
killed_at() {
	local n=$1 root=$2 rc
	shift 2
	# LeakSanitizer cannot run under ptrace: a sanitizer build leaves it off here
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -o /dev/null -e trace=$POINTS -e inject=$POINTS:signal=SIGKILL:when="$n" \
		"$STRATA_BIN" --data-root "$root" "$@" >/dev/null 2>killed.err
	rc=$?
	case $rc in
	0) echo finished ;;
	137) echo killed ;;
	*) echo "exit $rc: $(cat killed.err)" ;;
	esac
}

# sweep SETUP ARGS...: for N = 1, 2, ... kill "strata ARGS" at point N on a
# fresh copy of the store SETUP made, run the next write command (AFTER) and
# the checks (VERIFY), until the command runs to its end
sweep() {
	local setup=$1 n=1 how
	shift
	rm -rf base && eval "$setup" || return 1
	while [ $n -le 400 ]; do
		rm -rf s && cp -a base s &&
		how=$(killed_at $n s "$@") || return 1
		case $how in
		killed | finished) ;;
		*) echo "kill point $n: $how"; return 1 ;;
		esac
		eval "$AFTER" || { echo "after kill point $n ($how)"; return 1; }
		eval "$VERIFY" || { echo "after kill point $n ($how)"; return 1; }
		[ "$how" = finished ] && { say "$* ran to its end after $((n - 1)) kill points"; return 0; }
		n=$((n + 1))
	done
	echo "still killed after $n points"
	return 1
}
