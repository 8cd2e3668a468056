# shellcheck shell=bash
# Start and stop `strata serve` for tests.
#
#   serve_start DIR [serve args]   serves the data root DIR/root on the unix socket
#                                  DIR/strata.sock (log DIR/serve.log, PID in
#                                  DIR/serve.pid); exports SERVE_SOCK and, for the
#                                  docker client and docker-py, DOCKER_HOST
#   serve_stop DIR                 SIGTERM by PID, wait; fails if the server had
#                                  to be killed or did not exit 0
#   serve_curl PATH [curl args]    an HTTP request on SERVE_SOCK (prints the body)
#
# The server is stopped by PID when the test script exits (lib.sh's test_atexit).

serve_start() {
	local dir=$1 i
	shift
	mkdir -p "$dir"
	SERVE_SOCK=$dir/strata.sock
	"$STRATA_BIN" --data-root "$dir/root" serve -H "unix://$SERVE_SOCK" "$@" \
		>"$dir/serve.log" 2>&1 &
	echo $! >"$dir/serve.pid"
	test_atexit "serve_stop '$dir'"
	export SERVE_SOCK DOCKER_HOST=unix://$SERVE_SOCK
	for i in $(seq 100); do
		curl -sf --unix-socket "$SERVE_SOCK" http://strata/_ping >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$dir/serve.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "strata serve did not start:" >&2
	cat "$dir/serve.log" >&2
	return 1
}

serve_stop() {
	local dir=$1 pid rc i
	[ -s "$dir/serve.pid" ] || return 0
	pid=$(cat "$dir/serve.pid")
	rm -f "$dir/serve.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "strata serve ($pid) ignored SIGTERM" >&2
		kill -KILL "$pid"
		return 1
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	# not our child (a subshell started it): its status is unknown, the log tells
	[ "$rc" -eq 127 ] && rc=0
	[ "$rc" -eq 0 ] || { echo "strata serve exited $rc" >&2; cat "$dir/serve.log" >&2; }
	return "$rc"
}

serve_curl() {
	local path=$1
	shift
	curl -s --unix-socket "$SERVE_SOCK" "$@" "http://strata$path"
}
