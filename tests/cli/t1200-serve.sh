#!/bin/bash
# strata serve's handshake and listeners: /_ping as dockerd 20.10 answers it
# (headers the docker CLI and docker-py negotiate from), the /vX.Y prefixes
# 1.24 to 1.41 and dockerd's messages outside them, 404 naming an unknown
# endpoint, /version and /info through the docker 20.10 client, /events,
# unix socket mode, loopback-only TCP, socket activation, stale sockets, and
# a clean exit on SIGTERM.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_LIB_DIR/dockerd.sh"

command -v curl >/dev/null || skip_all "curl not installed"
S=$TRASH/s
if [ -x /usr/bin/docker ]; then test_set_prereq DOCKER_CLI; else test_prereq_missing DOCKER_CLI "/usr/bin/docker not installed"; fi
if command -v systemd-socket-activate >/dev/null; then test_set_prereq ACTIVATE
else test_prereq_missing ACTIVATE "systemd-socket-activate not installed"; fi

test_expect_success 'serve starts on a unix socket, mode 0660' '
	serve_start "$S" &&
	test "$(stat -c %a "$SERVE_SOCK")" = 660
'

test_expect_success '_ping: OK and dockerd headers' '
	serve_curl /_ping -D hdr >body &&
	printf OK >expect && test_cmp expect body &&
	tr -d "\r" <hdr >h &&
	grep -qx "HTTP/1.1 200 OK" h &&
	grep -qx "Api-Version: 1.41" h &&
	grep -qx "Ostype: linux" h &&
	grep -qx "Docker-Experimental: false" h &&
	grep -qx "Builder-Version: 1" h &&
	grep -qx "Cache-Control: no-cache, no-store, must-revalidate" h &&
	grep -qx "Pragma: no-cache" h &&
	grep -q "^Server: strata/.* (linux)$" h
'

test_expect_success 'HEAD /_ping: headers, no body' '
	serve_curl /_ping -I >hdr &&
	tr -d "\r" <hdr >h &&
	grep -qx "HTTP/1.1 200 OK" h && grep -qx "Api-Version: 1.41" h
'

test_expect_success 'version prefixes 1.24 to 1.41 and none' '
	for v in /v1.24 /v1.30 /v1.41 ""; do
		serve_curl "$v/_ping" -o /dev/null -w "%{http_code}\n" || return 1
	done >codes &&
	printf "200\n200\n200\n200\n" >expect && test_cmp expect codes
'

test_expect_success 'a version too old or too new: 400 with dockerd message' '
	serve_curl /v1.23/version -w " %{http_code}" >out &&
	echo "{\"message\":\"client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version\"}" \
		"400" >expect && tr -d "\n" <expect >e && tr -d "\n" <out >o && test_cmp e o &&
	serve_curl /v1.42/version -w " %{http_code}" | tr -d "\n" >o &&
	printf "%s" "{\"message\":\"client version 1.42 is too new. Maximum supported API version is 1.41\"} 400" >e &&
	test_cmp e o
'

test_expect_success 'an unknown endpoint: 404 naming it' '
	serve_curl /v1.41/no/such/thing -X POST -w " %{http_code}" | tr -d "\n" >o &&
	printf "%s" "{\"message\":\"page not found: POST /v1.41/no/such/thing\"} 404" >e &&
	test_cmp e o
'

test_expect_success DOCKER_CLI 'docker version and info through the 20.10 client' '
	/usr/bin/docker version --format "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}" >out &&
	echo "1.41 1.24 linux" >expect && test_cmp expect out &&
	/usr/bin/docker info --format "{{.Images}} {{.Containers}} {{.Driver}} {{.DockerRootDir}}" >out &&
	strata --data-root "$S/root" info --format "{{.Images}} {{.Containers}} {{.Driver}} {{.DockerRootDir}}" >expect &&
	test_cmp expect out
'

test_expect_success 'other strata processes work on the root while it serves; the server sees their changes' '
	mkdir -p rootfs && echo hi >rootfs/hello && tar -C rootfs -cf tiny.tar . &&
	strata --data-root "$S/root" import tiny.tar tiny:1 >/dev/null &&
	serve_curl /images/json >list && grep -q "\"tiny:1\"" list &&
	strata --data-root "$S/root" tag tiny:1 tiny:2 &&
	serve_curl /images/json >list && grep -q "\"tiny:2\"" list &&
	serve_curl /images/tiny:2/json -o /dev/null -w "%{http_code}\n" >code && echo 200 >expect && test_cmp expect code &&
	strata --data-root "$S/root" rmi tiny:1 tiny:2 >/dev/null &&
	serve_curl /images/json >list && ! grep -q tiny list
'

test_expect_success '/events until now ends; bad since is 400' '
	serve_curl "/events?since=0&until=$(date +%s)" -w "%{http_code}\n" >out &&
	echo 200 >expect && test_cmp expect out &&
	serve_curl "/events?since=yesterday" -w " %{http_code}" >out &&
	grep -q " 400$" out &&
	serve_curl "/events?filters=%7Bnot-json" -w " %{http_code}" >out &&
	grep -q " 400$" out
'

test_expect_success 'a client that leaves /events does not keep the server busy' '
	timeout 1 curl -sN --unix-socket "$SERVE_SOCK" http://strata/events >/dev/null;
	serve_curl /_ping >out && printf OK >expect && test_cmp expect out
'

test_expect_success 'SIGTERM: exits 0 and removes its socket' '
	serve_stop "$S" &&
	! test -e "$SERVE_SOCK"
'

test_expect_success 'tcp: loopback served, other addresses refused' '
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])") &&
	serve_start "$S" -H "tcp://127.0.0.1:$port" &&
	curl -s "http://127.0.0.1:$port/_ping" >out && printf OK >expect && test_cmp expect out &&
	serve_stop "$S" &&
	for h in tcp://0.0.0.0:2375 tcp://:2375 tcp://192.0.2.1:2375; do
		must_fail strata --data-root "$S/root" serve -H "$h" 2>err || return 1
		grep -q "only loopback addresses are served" err || return 1
	done
'

test_expect_success 'bad -H values and a non-socket path are refused' '
	must_fail strata --data-root "$S/root" serve -H http://x 2>err &&
	grep -q "invalid bind address format: http://x" err &&
	: >"$TRASH/file" &&
	must_fail strata --data-root "$S/root" serve -H "unix://$TRASH/file" 2>err &&
	grep -q "exists and is not a socket" err &&
	must_fail strata --data-root "$S/root" serve -H fd:// 2>err &&
	grep -q "no sockets found via socket activation" err
'

test_expect_success 'a stale socket is replaced, a live one is not' '
	python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind(\"$S/strata.sock\")" &&
	serve_start "$S" &&
	must_fail strata --data-root "$S/root" serve -H "unix://$SERVE_SOCK" 2>err &&
	grep -q "another server is listening on" err &&
	serve_stop "$S"
'

test_expect_success ACTIVATE 'socket activation (fd://)' '
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])") ||
		return 1
	systemd-socket-activate -l "127.0.0.1:$port" "$STRATA_BIN" --data-root "$S/root" serve -H fd:// \
		>act.log 2>&1 &
	echo $! >act.pid &&
	test_atexit "kill \$(cat \"$TRASH/act.pid\") 2>/dev/null" &&
	for i in $(seq 50); do
		curl -s "http://127.0.0.1:$port/_ping" >out 2>/dev/null && break
		sleep 0.1
	done &&
	printf OK >expect && test_cmp expect out &&
	kill "$(cat act.pid)"
'

test_done
