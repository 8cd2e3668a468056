#!/bin/bash
# Benchmark: the Engine API's read endpoints, strata serve vs dockerd, side by
# side in one run on the same store of N images (default 1,000: a tiny tar
# imported N times, each with its own content, tagged bench/img:I).
#
#   latency:     `docker images` and `docker inspect bench/img:1` (the 20.10
#                client, whole command), and one GET /images/json on a kept
#                connection: the median of RUNS runs after a warm-up
#   throughput:  GET /images/json by 8 client processes, each on its own
#                keep-alive connection, for SECS seconds (bench/api-client.py)
#   operations:  `docker pull` of a 3-layer, 27 MB image (zoneinfo, i18n, mime) from a local
#                registry (after an rmi, not timed) and `docker build
#                --no-cache` of a COPY/LABEL/ENV Dockerfile on bench/img:1:
#                the median of OPS runs after a warm-up
#   RSS:         the server's VmRSS at idle (started, one request answered)
#                and its VmHWM after the load (dockerd's own; containerd's
#                beside it)
#
# Each server has its own copy of the store (dockerd on a copy strata made),
# each on its own freshly made ext4 loop mount.
#
# usage (root): [N=1000] [RUNS=20] [SECS=10] [OPS=5] bench/api.sh
# Needs: build/strata, dockerd + containerd (docker.io), /usr/bin/docker,
# docker-registry, python3.  Everything it starts is stopped by PID on exit.
set -eu
cd "$(dirname "$0")/.."
REPO=$PWD
N=${N:-1000}
RUNS=${RUNS:-20}
SECS=${SECS:-10}
OPS=${OPS:-5}
STRATA=$REPO/build/strata
CLIENT="python3 $REPO/bench/api-client.py"
W=$(mktemp -d /tmp/sapi.XXXXXX)
# the Debian 20.10 client: a newer one may come first on PATH
DOCKER=/usr/bin/docker
export DOCKER DOCKER_BUILDKIT=0 DOCKER_CONFIG=$W/docker-config
SERVE_PID=

# tests/lib/dockerd.sh: dockerd_start/stop (by PID)
. tests/lib/dockerd.sh
cleanup() {
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
	fi
	dockerd_stop "$W/d" >/dev/null 2>&1
	registry_stop "$W/reg" >/dev/null 2>&1
	for m in "$W/s" "$W/d"; do mountpoint -q "$m" && umount -l "$m"; done
	rm -rf "$W"
}
# dockerd.sh owns the EXIT trap: its cleanups run in order, this one first
_dockerd_register_cleanup cleanup

# each server's store on a freshly made ext4 of its own: a pull's syncfs
# (strata's durability) flushes only what that server wrote
fresh_mount() {
	truncate -s 20G "$W/$1.img" && mkfs.ext4 -q -F "$W/$1.img" &&
		mkdir -p "$W/$1" && mount -o loop "$W/$1.img" "$W/$1"
}
echo "making a store of $N images..." >&2
fresh_mount s
fresh_mount d
mkdir -p "$W/rootfs"
for i in $(seq "$N"); do
	echo "$i" >"$W/rootfs/f"
	tar -C "$W/rootfs" -cf "$W/x.tar" .
	"$STRATA" --data-root "$W/s/root" import "$W/x.tar" "bench/img:$i" >/dev/null
done
# the image to pull: three layers of /usr/share, pushed by strata (not timed)
registry_start "$W/reg" >/dev/null
PULL=$REGISTRY/bench/pull:1
mkdir -p "$W/ctx"
tar -C /usr/share -cf "$W/base.tar" zoneinfo
tar -C /usr/share -cf "$W/ctx/one.tar" i18n
tar -C /usr/share -cf "$W/ctx/two.tar" mime
"$STRATA" --data-root "$W/seed" import "$W/base.tar" bench/pull:base >/dev/null
printf 'FROM bench/pull:base\nADD one.tar /one/\nADD two.tar /two/\n' >"$W/ctx/Dockerfile"
"$STRATA" --data-root "$W/seed" build -q -t "$PULL" "$W/ctx" >/dev/null
"$STRATA" --data-root "$W/seed" push "$PULL" >/dev/null
rm -rf "$W/seed" "$W/ctx"
# the build: COPY, LABEL and ENV on bench/img:1
mkdir -p "$W/bctx"
head -c 4000000 /dev/urandom >"$W/bctx/blob"
printf 'FROM bench/img:1\nCOPY blob /blob\nLABEL bench=1\nENV BENCH=1\n' >"$W/bctx/Dockerfile"

cp -a "$W/s/root" "$W/d/root"

"$STRATA" --data-root "$W/s/root" serve -H "unix://$W/s/api.sock" >"$W/s/serve.log" 2>&1 &
SERVE_PID=$!
dockerd_start "$W/d" >/dev/null
for _ in $(seq 100); do
	[ -S "$W/s/api.sock" ] && [ -S "$W/d/docker.sock" ] &&
		$CLIENT get "$W/s/api.sock" 1 /_ping >/dev/null 2>&1 &&
		$CLIENT get "$W/d/docker.sock" 1 /_ping >/dev/null 2>&1 && break
	sleep 0.2
done
DOCKERD_PID=$(cat "$W/d/pid")

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
containerd_pid() { cat "$W/d/exec/containerd/containerd.pid" 2>/dev/null || echo; }

declare -A R
for side in s d; do
	sock=$W/$side/docker.sock
	[ $side = s ] && sock=$W/s/api.sock
	pid=$SERVE_PID
	[ $side = d ] && pid=$DOCKERD_PID
	count=$($CLIENT get "$sock" 1 /images/json >/dev/null && DOCKER_HOST=unix://$sock $DOCKER images -q | wc -l)
	[ "$count" -eq "$N" ] || { echo "$side lists $count images, not $N" >&2; exit 1; }
	R[$side.idle]=$(rss "$pid" VmRSS)
done
for side in s d; do
	sock=$W/$side/docker.sock
	[ $side = s ] && sock=$W/s/api.sock
	R[$side.images]=$($CLIENT latency "$sock" "$RUNS" $DOCKER images)
	R[$side.inspect]=$($CLIENT latency "$sock" "$RUNS" $DOCKER inspect bench/img:1)
	R[$side.get]=$($CLIENT get "$sock" "$RUNS" /images/json)
done
for side in s d; do
	sock=$W/$side/docker.sock
	[ $side = s ] && sock=$W/s/api.sock
	R[$side.pull]=$($CLIENT pull "$sock" "$OPS" "$PULL")
	R[$side.build]=$($CLIENT latency "$sock" "$OPS" $DOCKER build --no-cache -q "$W/bctx")
done
for side in s d; do
	sock=$W/$side/docker.sock
	[ $side = s ] && sock=$W/s/api.sock
	pid=$SERVE_PID
	[ $side = d ] && pid=$DOCKERD_PID
	R[$side.rps]=$($CLIENT load "$sock" 8 "$SECS" /images/json)
	R[$side.hwm]=$(rss "$pid" VmHWM)
done
cpid=$(containerd_pid)
ctd=
[ -n "$cpid" ] && ctd=" (containerd beside it: $(rss "$cpid" VmRSS) kB)"

python3 - "$N" "${R[s.images]}" "${R[d.images]}" "${R[s.inspect]}" "${R[d.inspect]}" "${R[s.get]}" \
	"${R[d.get]}" "${R[s.rps]}" "${R[d.rps]}" "${R[s.idle]}" "${R[d.idle]}" "${R[s.hwm]}" "${R[d.hwm]}" \
	"${R[s.pull]}" "${R[d.pull]}" "${R[s.build]}" "${R[d.build]}" <<'PY'
import sys
n, si, di, sn, dn, sg, dg, sr, dr, sidle, didle, shwm, dhwm, sp, dp, sb, db = sys.argv[1:]
f = float
print(f"{n} images               strata serve      dockerd   strata/dockerd")
print(f"docker images (s)        {f(si):12.4f} {f(di):12.4f} {f(si)/f(di):10.2f}")
print(f"docker inspect (s)       {f(sn):12.4f} {f(dn):12.4f} {f(sn)/f(dn):10.2f}")
print(f"GET /images/json (s)     {f(sg):12.4f} {f(dg):12.4f} {f(sg)/f(dg):10.2f}")
print(f"/images/json req/s, 8 c  {f(sr):12.1f} {f(dr):12.1f} {f(sr)/f(dr):10.2f}")
print(f"docker pull (s)          {f(sp):12.4f} {f(dp):12.4f} {f(sp)/f(dp):10.2f}")
print(f"docker build (s)         {f(sb):12.4f} {f(db):12.4f} {f(sb)/f(db):10.2f}")
print(f"RSS idle (MB)            {int(sidle)/1024:12.1f} {int(didle)/1024:12.1f} {int(sidle)/int(didle)*100:9.1f}%")
print(f"RSS peak, load (MB)      {int(shwm)/1024:12.1f} {int(dhwm)/1024:12.1f} {int(shwm)/int(dhwm)*100:9.1f}%")
PY
echo "dockerd's RSS is its own process$ctd"
