#!/bin/bash
# Benchmark: strata build vs the classic builder (DOCKER_BUILDKIT=0 docker
# build through dockerd) and Debian's buildah (bud --layers) of the same 15-instruction Dockerfile (5 RUN,
# 2 COPY, 8 metadata steps: FROM, LABEL, ENV, WORKDIR, EXPOSE, CMD) on the
# same local busybox base, with a context of SIZE_MB of files from
# /usr/share, in one run: a cold build, each tool in a fresh store on its
# own freshly made ext4 loop mount, then the fully cached rebuild in the
# same store.  Then the copy alone: strata building FROM + COPY of the
# context's data on another fresh mount, against the floor, GNU tar -x of
# the same files + sync on an equally fresh one.  Prints wall time, CPU
# time (user+sys; dockerd's and containerd's included), peak RSS and the
# ratios.
#
# usage (root): bench/build.sh [SRC=/usr/share] [SIZE_MB=300]
# (RUN=strata runs strata only)
# Needs: build/strata, dockerd (docker.io) and the 20.10 client at
# /usr/bin/docker, buildah, runc, busybox-static, python3, e2fsprogs.
set -eu
cd "$(dirname "$0")/.."
SRC=${1:-/usr/share}
SIZE_MB=${2:-300}
. bench/lib.sh
. tests/lib/busybox.sh
export DOCKER_BUILDKIT=0

echo "== the base image and a context of $SIZE_MB MB from $SRC"
make_busybox_rootfs "$W/rootfs"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
"$STRATA" --data-root "$W/seed" import "$W/rootfs.tar" busybox:local >/dev/null
"$STRATA" --data-root "$W/seed" save -o "$W/base.tar" busybox:local
mkdir -p "$W/ctx/data"
# regular files (and symlinks) of SRC in walk order until SIZE_MB is reached
python3 - "$SRC" "$SIZE_MB" >"$W/files" <<'PY'
import os, sys
root, want = sys.argv[1], int(sys.argv[2]) << 20
total = 0
for d, dirs, files in os.walk(root):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(d, f)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not (os.path.isfile(p) or os.path.islink(p)) or not os.access(p, os.R_OK):
            continue
        print(os.path.relpath(p, root))
        total += st.st_size
        if total >= want:
            sys.exit(0)
PY
tar -C "$SRC" --files-from "$W/files" -cf - | tar -C "$W/ctx/data" -xf -
cat >"$W/ctx/start.sh" <<'SH'
#!/bin/sh
cat /opt/app/version
SH
cat >"$W/ctx/Dockerfile" <<'DF'
FROM busybox:local
LABEL org.example.name=bench
ENV APP=/opt/app VERSION=1.0
WORKDIR /opt/app
COPY data /opt/app/data/
RUN echo "$VERSION" >version
RUN mkdir -p /var/cache/app && ls -R data | busybox wc -l >/var/cache/app/count
ENV MODE=production
COPY start.sh /usr/local/bin/start.sh
RUN busybox chmod 0755 /usr/local/bin/start.sh
RUN rm -rf data/doc
RUN echo done >/opt/app/built
LABEL org.example.stage=final
EXPOSE 8080
CMD ["/usr/local/bin/start.sh"]
DF
printf 'FROM busybox:local\nCOPY data /data/\n' >"$W/ctx/Dockerfile.copy"
ctx_mb=$(du -sm "$W/ctx/data" | cut -f1)
nfiles=$(find "$W/ctx/data" -type f | wc -l)
echo "   $ctx_mb MB, $nfiles files"
tar -C "$W/ctx" -cf - . >/dev/null # the same warm page cache for every tool

echo "== strata build (cold, then cached)"
fresh_fs strata
SR=$W/fs-strata/root
"$STRATA" --data-root "$SR" load -q -i "$W/base.tar" >/dev/null
read -r s_wall s_cpu s_rss < <(python3 bench/measure.py -- "$STRATA" --data-root "$SR" build -q -t bench:1 "$W/ctx")
read -r sc_wall sc_cpu sc_rss < <(python3 bench/measure.py -- "$STRATA" --data-root "$SR" build -q -t bench:2 "$W/ctx")
[ "$("$STRATA" --data-root "$SR" images -q bench:1)" = "$("$STRATA" --data-root "$SR" images -q bench:2)" ] ||
	{ echo "strata's cached rebuild made another image" >&2; exit 1; }

echo "== strata build of the COPY alone"
fresh_fs copy
CR=$W/fs-copy/root
"$STRATA" --data-root "$CR" load -q -i "$W/base.tar" >/dev/null
read -r p_wall p_cpu p_rss < <(python3 bench/measure.py -- "$STRATA" --data-root "$CR" build -q \
	-f "$W/ctx/Dockerfile.copy" "$W/ctx")

echo "== floor: tar -x of the same files + sync"
fresh_fs floor
mkdir -p "$W/fs-floor/x"
read -r f_wall f_cpu f_rss < <(python3 bench/measure.py -- sh -c \
	"tar -C '$W/ctx' -cf - data | tar -C '$W/fs-floor/x' -xf - && sync")

if [ "${RUN:-}" = strata ]; then
	echo "strata: cold ${s_wall}s cpu ${s_cpu}s RSS $((s_rss / 1024)) MB; cached ${sc_wall}s; COPY alone ${p_wall}s, floor ${f_wall}s"
	exit 0
fi

echo "== docker build (DOCKER_BUILDKIT=0; cold, then cached)"
fresh_fs docker
start_dockerd "$W/fs-docker"
$DOCKER load -q -i "$W/base.tar" >/dev/null
read -r d_wall d_cpu d_rss < <(python3 bench/measure.py --daemon "$DPID" -- $DOCKER build -q -t bench:1 "$W/ctx")
read -r dc_wall dc_cpu dc_rss < <(python3 bench/measure.py --daemon "$DPID" -- $DOCKER build -q -t bench:2 "$W/ctx")
[ "$($DOCKER images -q bench:1)" = "$($DOCKER images -q bench:2)" ] ||
	{ echo "docker's cached rebuild made another image" >&2; exit 1; }
# both built the same steps: the same history, step for step
"$STRATA" --data-root "$SR" history --no-trunc --format '{{.CreatedBy}}' bench:1 | sed -E 's/[0-9a-f]{64}/H/' >"$W/s.hist"
$DOCKER history --no-trunc --format '{{.CreatedBy}}' bench:1 | sed -E 's/[0-9a-f]{64}/H/' >"$W/d.hist"
diff -u "$W/d.hist" "$W/s.hist" >&2 || { echo "the two builds' histories differ" >&2; exit 1; }
stop_dockerd

echo "== buildah bud (--layers, chroot isolation; cold, then cached)"
fresh_fs buildah
BR=$W/fs-buildah
BUILDAH=(buildah --root "$BR/root" --runroot "$BR/run" --storage-driver overlay)
"${BUILDAH[@]}" pull -q "docker-archive:$W/base.tar" >/dev/null
read -r b_wall b_cpu b_rss < <(python3 bench/measure.py -- "${BUILDAH[@]}" bud --pull=false --isolation chroot \
	--layers -q -t bench:1 "$W/ctx")
read -r bc_wall bc_cpu bc_rss < <(python3 bench/measure.py -- "${BUILDAH[@]}" bud --pull=false --isolation chroot \
	--layers -q -t bench:2 "$W/ctx")
[ "$("${BUILDAH[@]}" images -q bench:1)" = "$("${BUILDAH[@]}" images -q bench:2)" ] ||
	{ echo "buildah's cached rebuild made another image" >&2; exit 1; }
"${BUILDAH[@]}" rmi -a -f >/dev/null 2>&1 || true

python3 - "$s_wall" "$s_cpu" "$s_rss" "$d_wall" "$d_cpu" "$d_rss" "$sc_wall" "$sc_cpu" "$sc_rss" \
	"$dc_wall" "$dc_cpu" "$dc_rss" "$p_wall" "$p_cpu" "$p_rss" "$f_wall" "$f_cpu" "$f_rss" \
	"$b_wall" "$b_cpu" "$b_rss" "$bc_wall" "$bc_cpu" "$bc_rss" <<'PY'
import sys
v = list(map(float, sys.argv[1:]))
rows = [("cold", v[0:3], v[3:6], v[18:21]), ("cached", v[6:9], v[9:12], v[21:24])]
print()
print(f"{'':8} {'strata wall / CPU / RSS':>28} {'dockerd wall / CPU / RSS':>30} {'wall':>7} {'CPU':>7} {'RSS':>6}"
      f" {'buildah wall / CPU / RSS':>30} {'wall':>7}")
for name, s, d, b in rows:
    print(f"{name:8} {s[0]:8.2f} s {s[1]:7.2f} s {s[2]/1024:6.1f} MB {d[0]:8.2f} s {d[1]:7.2f} s {d[2]/1024:7.1f} MB"
          f" {d[0]/s[0]:6.2f}x {d[1]/s[1]:6.2f}x {100*s[2]/d[2]:5.1f}%"
          f" {b[0]:8.2f} s {b[1]:7.2f} s {b[2]/1024:7.1f} MB {b[0]/s[0]:6.2f}x")
print("  (ratios: dockerd / strata and buildah / strata; RSS: strata's as % of dockerd's)")
p, f = v[12:15], v[15:18]
print(f"COPY alone (strata build FROM + COPY): {p[0]:.2f} s wall, {p[1]:.2f} s CPU, {p[2]/1024:.1f} MB;"
      f" floor (tar -x + sync) {f[0]:.2f} s: {p[0]/f[0]:.2f}x the floor")
PY
