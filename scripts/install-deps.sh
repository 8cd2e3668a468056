#!/bin/bash
# Install everything strata needs to build and to run its tests on Debian 12.
# Idempotent; quiet unless something fails (then the apt output is shown).
# Run as root (CI does); otherwise it re-runs itself through sudo if present.
#
# Build:  build-essential pkg-config libssl-dev libjansson-dev zlib1g-dev
#         libisal-dev libzstd-dev libcurl4-openssl-dev libyaml-dev (analyze --ci's .dive-ci)
#         libmicrohttpd-dev (the HTTP server of strata serve)
# Tests:  docker.io (dockerd 20.10 + containerd + runc + the 20.10 client at
#         /usr/bin/docker), docker-registry, busybox-static, skopeo, tar-split,
#         python3, valgrind, e2fsprogs, util-linux (setpriv), procps, zstd, openssl,
#         strace (kills commands at each rename/fsync in t0610), curl, python3-docker
#         (docker-py against strata serve); t1200 uses systemd-socket-activate when
#         systemd is there (not installed here: a container may not want systemd)
# Fuzz:   clang, libclang-rt-14-dev (libFuzzer and the sanitizer runtimes
#         for make fuzz)
# Bench:  isal (igzip: the inflate of the load and pull floors in bench/)
set -u

BUILD_DEPS=(build-essential pkg-config libssl-dev libjansson-dev zlib1g-dev
	libisal-dev libzstd-dev libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev)
TEST_DEPS=(docker.io docker-registry busybox-static skopeo tar-split python3
	valgrind e2fsprogs util-linux procps ca-certificates zstd openssl strace
	curl python3-docker)
FUZZ_DEPS=(clang libclang-rt-14-dev)
BENCH_DEPS=(isal)
ALL=("${BUILD_DEPS[@]}" "${TEST_DEPS[@]}" "${FUZZ_DEPS[@]}" "${BENCH_DEPS[@]}")

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -n "$0" "$@"
	fi
	echo "install-deps.sh: must run as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/strata-install-deps.XXXXXX.log)
policy_added=

cleanup() {
	[ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
	rm -f "$log"
}
trap cleanup EXIT

missing() {
	local p
	for p in "${ALL[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

need=$(missing)
[ -z "$need" ] && exit 0

# Packages like docker.io and docker-registry try to start their services on
# install.  Tests start their own daemons with private roots and sockets, so
# keep apt from starting system-wide ones (no system dockerd on /var/lib/docker,
# no registry on port 5000).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	policy_added=1
fi

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "install-deps.sh: failed: $*" >&2
		tail -n 60 "$log" >&2
		exit 1
	fi
}

run apt-get update -q
# shellcheck disable=SC2086
run apt-get install -y -q $need

need=$(missing)
if [ -n "$need" ]; then
	echo "install-deps.sh: still missing after install:" $need >&2
	exit 1
fi
exit 0
