# Helpers shared by the bench scripts (sourced, from the repository's top):
# a work folder removed on exit, a fresh ext4 loop mount per tool, a dockerd
# on such a mount, and best-of-N timing through measure.py.
#
# After sourcing: $W (the work folder), $STRATA (build/strata).

STRATA=$PWD/build/strata
W=$(mktemp -d /tmp/strata-bench.XXXXXX)
BENCH_DAEMONS=

bench_cleanup() {
	local pid m
	for pid in $BENCH_DAEMONS; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for m in "$W"/fs-*; do mountpoint -q "$m" && umount -l "$m"; done
	rm -rf "$W"
}
trap bench_cleanup EXIT

# fresh_fs NAME [SIZE]: a newly made ext4 file system mounted at $W/fs-NAME
# (sparse image, default 40G), so no tool profits from another's layout.
fresh_fs() {
	truncate -s "${2:-40G}" "$W/$1.img"
	mkfs.ext4 -q -F "$W/$1.img"
	mkdir -p "$W/fs-$1"
	mount -o loop "$W/$1.img" "$W/fs-$1"
}

# start_dockerd DIR: a dockerd (overlay2) with everything below DIR, its
# socket DIR/sock; sets DPID and DOCKER (the client command for it).
start_dockerd() {
	dockerd --data-root "$1/root" --exec-root "$1/exec" --pidfile "$1/pid" -H "unix://$1/sock" \
		--iptables=false --bridge=none --storage-driver overlay2 >"$1.log" 2>&1 &
	DPID=$!
	BENCH_DAEMONS="$BENCH_DAEMONS $DPID"
	DOCKER="/usr/bin/docker -H unix://$1/sock"
	for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && return 0; sleep 0.5; done
	echo "dockerd did not start; see $1.log" >&2
	return 1
}

# stop_dockerd: stop the dockerd start_dockerd started last.
stop_dockerd() {
	kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	BENCH_DAEMONS=${BENCH_DAEMONS/ $DPID/}
	DPID=
}

# best N ARGS...: the fastest of N runs of measure.py ARGS, as "WALL CPU RSS"
# (the machine is shared: one slow sample says little).
best() {
	local n=$1
	shift
	for _ in $(seq "$n"); do python3 bench/measure.py "$@"; done | sort -n | head -1
}
