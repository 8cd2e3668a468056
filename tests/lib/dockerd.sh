# shellcheck shell=bash
# Start and stop a private dockerd (and a private registry) for tests.
#
#   dockerd_start DIR [extra dockerd args]   data root DIR/root, exec root DIR/exec,
#                                            pidfile DIR/pid, socket DIR/docker.sock,
#                                            log DIR/dockerd.log; exports DOCKER_HOST
#   dockerd_stop DIR                         stop it by PID, wait, unmount leftovers
#   dockerd_usable                           0 if a dockerd can run here, else 1 with
#                                            the reason in $DOCKERD_UNUSABLE
#   registry_start DIR / registry_stop DIR   docker-registry on 127.0.0.1:<free port>,
#                                            storage DIR/data, log DIR/registry.log;
#                                            exports REGISTRY=127.0.0.1:PORT
#   files_start DIR [SERVED]                 SERVED (default DIR/www) over HTTP on
#                                            127.0.0.1:<a free port> (files_http.py),
#                                            log DIR/files.log; exports FILES_URL
#   files_stop DIR
#   docker ARGS...                           the Debian 20.10 client (/usr/bin/docker)
#
# Everything started here is stopped by PID when the test script exits (through
# lib.sh's test_atexit when lib.sh is loaded, else an EXIT trap).  Nothing is
# ever stopped by name.  DIR should be short: unix socket paths are limited to
# 107 bytes and containerd puts its socket under DIR/exec/containerd/.

DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
DOCKERD_BIN=${DOCKERD_BIN:-dockerd}
DOCKERD_START_TIMEOUT=${DOCKERD_START_TIMEOUT:-30}

# The 20.10 client is the reference for output formats; never the 28.x one
# that may be first in PATH.
docker() { "$DOCKER_CLI" "$@"; }

_dockerd_register_cleanup() {
	if declare -F test_atexit >/dev/null; then
		test_atexit "$1"
	else
		_dockerd_cleanups+=("$1")
		trap '_dockerd_run_cleanups' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap 'exit 129' HUP
	fi
}
_dockerd_cleanups=()
_dockerd_run_cleanups() {
	local c
	for c in "${_dockerd_cleanups[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
}

# dockerd_usable: cheap checks first, so a test can skip_all with a reason.
dockerd_usable() {
	DOCKERD_UNUSABLE=
	if [ "$(id -u)" -ne 0 ]; then
		DOCKERD_UNUSABLE="dockerd tests need root (uid $(id -u))"
	elif ! command -v "$DOCKERD_BIN" >/dev/null 2>&1; then
		DOCKERD_UNUSABLE="dockerd not installed (apt-get install docker.io)"
	elif [ ! -x "$DOCKER_CLI" ]; then
		DOCKERD_UNUSABLE="$DOCKER_CLI (Debian docker.io 20.10 client) not installed"
	elif ! command -v containerd >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
		DOCKERD_UNUSABLE="containerd/runc not installed"
	elif ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
		DOCKERD_UNUSABLE="kernel has no overlayfs"
	elif ! grep -q cgroup /proc/mounts; then
		DOCKERD_UNUSABLE="no cgroup filesystem mounted under /sys/fs/cgroup"
	fi
	[ -z "$DOCKERD_UNUSABLE" ]
}

_dockerd_pid() {
	local f
	for f in "$1/dockerd.spawned-pid" "$1/pid"; do
		if [ -s "$f" ]; then
			cat "$f"
			return 0
		fi
	done
	return 1
}

_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# dockerd_start DIR [extra args]
dockerd_start() {
	local dir=$1
	shift
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	local sock="$dir/docker.sock"
	if [ ${#dir} -gt 60 ]; then
		echo "dockerd_start: $dir is too long for unix socket paths" >&2
		return 1
	fi
	if _pid_alive "$(_dockerd_pid "$dir")"; then
		echo "dockerd_start: a dockerd already runs for $dir" >&2
		return 1
	fi
	rm -f "$dir/pid" "$dir/dockerd.spawned-pid" "$sock"
	mkdir -p "$dir/root" "$dir/exec"
	"$DOCKERD_BIN" \
		--data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/pid" \
		-H "unix://$sock" --iptables=false --ip-masq=false --bridge=none \
		--storage-driver overlay2 "$@" \
		</dev/null >>"$dir/dockerd.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$dir/dockerd.spawned-pid"
	_dockerd_register_cleanup "dockerd_stop '$dir'"
	export DOCKER_HOST="unix://$sock"
	# keep the client away from the host's ~/.docker (contexts, cred helpers)
	export DOCKER_CONFIG="$dir/client-config"
	mkdir -p "$DOCKER_CONFIG"
	unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
	local deadline=$((SECONDS + DOCKERD_START_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		if ! _pid_alive "$pid"; then
			echo "dockerd_start: dockerd exited; last log lines:" >&2
			tail -n 15 "$dir/dockerd.log" >&2
			rm -f "$dir/dockerd.spawned-pid"
			return 1
		fi
		if [ -S "$sock" ] && "$DOCKER_CLI" -H "unix://$sock" info >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "dockerd_start: no answer on $sock after ${DOCKERD_START_TIMEOUT}s; last log lines:" >&2
	tail -n 15 "$dir/dockerd.log" >&2
	dockerd_stop "$dir"
	return 1
}

# dockerd_stop DIR: SIGTERM by PID, wait up to 20 s, then SIGKILL (and its
# containerd, by PID); then lazily unmount anything left under DIR.
dockerd_stop() {
	local dir=$1 pid cpid i
	[ -d "$dir" ] || return 0
	pid=$(_dockerd_pid "$dir")
	cpid=
	[ -s "$dir/exec/containerd/containerd.pid" ] && cpid=$(cat "$dir/exec/containerd/containerd.pid")
	if _pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 200); do
			_pid_alive "$pid" || break
			sleep 0.1
		done
		if _pid_alive "$pid"; then
			echo "dockerd_stop: dockerd $pid ignored SIGTERM, killing" >&2
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
		fi
	fi
	# a managed containerd normally exits with dockerd
	if _pid_alive "$cpid" && grep -q "$dir" "/proc/$cpid/cmdline" 2>/dev/null; then
		kill -TERM "$cpid" 2>/dev/null
		for i in $(seq 1 50); do
			_pid_alive "$cpid" || break
			sleep 0.1
		done
		_pid_alive "$cpid" && kill -KILL "$cpid" 2>/dev/null
	fi
	rm -f "$dir/dockerd.spawned-pid"
	_unmount_under "$dir"
	if [ "${DOCKER_HOST:-}" = "unix://$dir/docker.sock" ]; then
		unset DOCKER_HOST
	fi
	return 0
}

# _unmount_under DIR: unmount every mount point below DIR, deepest first.
_unmount_under() {
	local dir=$1 m
	# field 5 of mountinfo is the mount point (octal escapes for spaces etc.)
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do
			m=$(printf '%b' "$m")
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	return 0
}

# dockerd_running DIR
dockerd_running() { _pid_alive "$(_dockerd_pid "$1")"; }

_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_http_ok() {
	python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
    sys.exit(0)
except Exception:
    sys.exit(1)
EOF
}

# registry_start DIR: docker-registry on a free loopback port.
registry_start() {
	local dir=$1 port pid i
	mkdir -p "$dir/data" || return 1
	dir=$(cd "$dir" && pwd)
	command -v docker-registry >/dev/null 2>&1 || {
		echo "registry_start: docker-registry not installed" >&2
		return 1
	}
	for i in 1 2 3 4 5; do
		port=$(_free_port) || return 1
		cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  headers:
    X-Content-Type-Options: [nosniff]
EOF
		docker-registry serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/registry.pid"
		_dockerd_register_cleanup "registry_stop '$dir'"
		local deadline=$((SECONDS + 15))
		while [ $SECONDS -lt $deadline ] && _pid_alive "$pid"; do
			if _http_ok "http://127.0.0.1:$port/v2/"; then
				export REGISTRY="127.0.0.1:$port"
				return 0
			fi
			sleep 0.2
		done
		registry_stop "$dir"
		# lost a race for the port? try another one
		grep -q 'address already in use' "$dir/registry.log" || break
	done
	echo "registry_start: registry did not come up; last log lines:" >&2
	tail -n 15 "$dir/registry.log" >&2
	return 1
}

# files_start DIR [SERVED]: a plain HTTP file server on a loopback port it
# picks itself (and writes to DIR/files.port): no race for the port.
files_start() {
	local dir=$1 served=${2:-$1/www} pid
	mkdir -p "$dir" "$served" || return 1
	dir=$(cd "$dir" && pwd)
	rm -f "$dir/files.port"
	python3 "$(dirname "${BASH_SOURCE[0]}")/files_http.py" "$served" "$dir/files.port" </dev/null \
		>>"$dir/files.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/files.pid"
	_dockerd_register_cleanup "files_stop '$dir'"
	local deadline=$((SECONDS + 15))
	while [ $SECONDS -lt $deadline ] && _pid_alive "$pid"; do
		if [ -s "$dir/files.port" ] && _http_ok "http://127.0.0.1:$(cat "$dir/files.port")/"; then
			export FILES_URL="http://127.0.0.1:$(cat "$dir/files.port")"
			return 0
		fi
		sleep 0.2
	done
	files_stop "$dir"
	echo "files_start: the file server did not start; log:" >&2
	tail -n 5 "$dir/files.log" >&2
	return 1
}

files_stop() { _stop_pidfile "$1/files.pid"; }

# _stop_pidfile FILE: TERM the process FILE names, KILL it after 5 s, remove FILE.
_stop_pidfile() {
	local f=$1 pid i
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	if _pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 50); do
			_pid_alive "$pid" || break
			sleep 0.1
		done
		_pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$f"
	return 0
}

registry_stop() { _stop_pidfile "$1/registry.pid"; }
