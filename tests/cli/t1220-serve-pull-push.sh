#!/bin/bash
# strata serve's pull, push and login: the docker 20.10 client prints the same
# through strata serve as against dockerd (and as strata's own CLI) for a
# pull, a pull that finds the image up to date (but dockerd's missing layer
# lines), a pull's JSON stream, a push, a push that finds
# every layer in the registry (the whole JSON stream, aux result included,
# compared with dockerd's), their events; a missing image is a plain 404 before the stream;
# login against an htpasswd registry succeeds as with dockerd, fails with its
# exit status and strata login's message (the library's, not dockerd's), the
# request's credentials pull from it, and no secret reaches the data root; a
# client that goes away mid-pull cancels it, leaving nothing behind.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_REPO/tests/fixtures/registry/registry.sh"

command -v curl >/dev/null || skip_all "curl not installed"
command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

export DOCKER_BUILDKIT=0 DOCKER_CONFIG=$TRASH/dcfg
S=$TRASH/s
D=$TRASH/d
USER_=alice
PASS_='s3rve-Pa55w0rd-q'

ds() { DOCKER_HOST=unix://$S/strata.sock docker "$@"; }
dd() { DOCKER_HOST=unix://$D/docker.sock docker "$@"; }
# the daemons' HTTP answers, side by side
scurl() { curl -s --unix-socket "$S/strata.sock" "$@"; }
dcurl() { curl -s --unix-socket "$D/docker.sock" "$@"; }

test_expect_success 'setup: a registry with an image strata pushed, dockerd and strata serve' '
	registry_start "$TRASH/regdir" && echo "$REGISTRY" >reg &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - "$REGISTRY/lib/bb:1" >/dev/null &&
	strata --data-root src push "$REGISTRY/lib/bb:1" >/dev/null &&
	dockerd_start "$D" &&
	serve_start "$S"
'
R=$(cat reg 2>/dev/null)

test_expect_success 'pull: the same lines as dockerd and as strata pull' '
	ds pull "$R/lib/bb:1" >s.out 2>s.err &&
	dd pull "$R/lib/bb:1" >d.out 2>d.err &&
	strata --data-root c pull "$R/lib/bb:1" >c.out &&
	test_cmp c.out s.out && test_cmp d.err s.err &&
	grep -v "Verifying Checksum" d.out >d.norm && grep -v "Verifying Checksum" s.out >s.norm &&
	test_cmp d.norm s.norm &&
	grep -q "^Status: Downloaded newer image for $R/lib/bb:1\$" s.out &&
	dd images -q --no-trunc >d.ids &&
	strata --data-root "$S/root" images -q --no-trunc >s.ids &&
	test_cmp d.ids s.ids &&
	strata --data-root "$S/root" check >/dev/null
'

# dockerd passes on only the latest state of a layer when states come
# quickly, so its "Verifying Checksum" may be missing: compared without it.
# The library reports "Already exists" for each layer of an image it has;
# dockerd, finding the image itself, names no layer: that line aside, the same.
test_expect_success 'pull again: up to date, as strata pull and (but its layer lines) dockerd' '
	ds pull "$R/lib/bb:1" >s.out &&
	dd pull "$R/lib/bb:1" >d.out &&
	strata --data-root c pull "$R/lib/bb:1" >c.out &&
	test_cmp c.out s.out &&
	grep -v ": Already exists\$" s.out >s.norm && test_cmp d.out s.norm &&
	grep -q "^Status: Image is up to date for $R/lib/bb:1\$" s.out
'

test_expect_success 'pull: the JSON stream as dockerd (but the timed progress lines)' '
	dd rmi "$R/lib/bb:1" >/dev/null &&
	strata --data-root "$S/root" rmi "$R/lib/bb:1" >/dev/null &&
	scurl -X POST "http://x/v1.41/images/create?fromImage=$R/lib/bb&tag=1" >s.json &&
	dcurl -X POST "http://x/v1.41/images/create?fromImage=$R/lib/bb&tag=1" >d.json &&
	# the watchers of a dockerd transfer get only its latest progress: a slow one
	# skips "Verifying Checksum" and "Download complete", so those are not compared
	grep -v "\"progress\":\|Verifying Checksum\|Download complete" s.json >s.norm &&
	grep -v "\"progress\":\|Verifying Checksum\|Download complete" d.json >d.norm &&
	test_cmp d.norm s.norm &&
	grep -q "\"status\":\"Downloading\",\"progressDetail\":{\"current\":" s.json &&
	grep -q "\"status\":\"Download complete\"" s.json &&
	strata --data-root "$S/root" check >/dev/null
'

test_expect_success 'pull of a missing tag: a plain 404 before any stream, as dockerd' '
	scurl -X POST "http://x/v1.41/images/create?fromImage=$R/lib/bb&tag=nope" -w " %{http_code}" >s.out &&
	dcurl -X POST "http://x/v1.41/images/create?fromImage=$R/lib/bb&tag=nope" -w " %{http_code}" >d.out &&
	test_cmp d.out s.out &&
	grep -q " 404\$" s.out &&
	ds pull "$R/lib/bb:nope" >s.out 2>s.err; echo $? >s.rc &&
	dd pull "$R/lib/bb:nope" >d.out 2>d.err; echo $? >d.rc &&
	test_cmp d.rc s.rc && test_cmp d.err s.err
'

test_expect_success 'push: the same lines as dockerd (layers mounted from the pulled repository)' '
	strata --data-root "$S/root" tag "$R/lib/bb:1" "$R/s/bb:1" &&
	dd tag "$R/lib/bb:1" "$R/d/bb:1" &&
	ds push "$R/s/bb:1" >s.out 2>s.err &&
	dd push "$R/d/bb:1" >d.out 2>d.err &&
	sed "s#/s/bb#/X/bb#" s.out >s.norm && sed "s#/d/bb#/X/bb#" d.out >d.norm &&
	test_cmp d.norm s.norm && test_cmp d.err s.err &&
	grep -q ": Mounted from lib/bb\$" s.out &&
	grep -q "^1: digest: sha256:[0-9a-f]* size: [0-9]*\$" s.out
'

test_expect_success 'push again: the JSON stream as dockerd, with the aux result' '
	auth=$(printf "{}" | base64) &&
	scurl -X POST -H "X-Registry-Auth: $auth" "http://x/v1.41/images/$R/s/bb/push?tag=1" >s.json &&
	dcurl -X POST -H "X-Registry-Auth: $auth" "http://x/v1.41/images/$R/d/bb/push?tag=1" >d.json &&
	sed "s#/s/bb#/X/bb#" s.json >s.norm && sed "s#/d/bb#/X/bb#" d.json >d.norm &&
	test_cmp d.norm s.norm &&
	grep -q "\"aux\":{\"Tag\":\"1\",\"Digest\":\"sha256:" s.json &&
	grep -q "Layer already exists" s.json
'

test_expect_success 'pull and push events: as dockerd' '
	sleep 1 && now=$(date +%s) &&
	fmt="{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}" &&
	ds events --since 0 --until "$now" --filter event=pull --filter event=push --format "$fmt" >s.ev &&
	dd events --since 0 --until "$now" --filter event=pull --filter event=push --format "$fmt" >d.ev &&
	sed "s#/s/bb#/X/bb#g" s.ev >s.norm && sed "s#/d/bb#/X/bb#g" d.ev >d.norm &&
	test_cmp d.norm s.norm &&
	grep -qx "image pull $R/lib/bb:1 $R/lib/bb" s.ev
'

test_expect_success 'push of a tag the store does not have: in the stream, as dockerd' '
	ds push "$R/s/bb:nope" >s.out 2>s.err; echo $? >s.rc &&
	dd push "$R/d/bb:nope" >d.out 2>d.err; echo $? >d.rc &&
	test_cmp d.rc s.rc &&
	sed "s#/s/bb#/X/bb#" s.err >s.norm && sed "s#/d/bb#/X/bb#" d.err >d.norm &&
	test_cmp d.norm s.norm
'

test_expect_success 'login to an htpasswd registry: as dockerd' '
	auth_registry_start "$TRASH/aregdir" htpasswd "$USER_" "$PASS_" && echo "$REGISTRY" >areg &&
	A=$(cat areg) &&
	rm -rf "$DOCKER_CONFIG" &&
	ds login -u "$USER_" -p "$PASS_" "$A" >s.out 2>s.err &&
	rm -rf "$DOCKER_CONFIG" &&
	dd login -u "$USER_" -p "$PASS_" "$A" >d.out 2>d.err &&
	test_cmp d.out s.out && test_cmp d.err s.err &&
	grep -qx "Login Succeeded" s.out
'

test_expect_success 'login with a wrong password: refused as dockerd refuses' '
	A=$(cat areg) &&
	ds login -u "$USER_" -p "wrong-$PASS_" "$A" >s.out 2>s.err; echo $? >s.rc &&
	dd login -u "$USER_" -p "wrong-$PASS_" "$A" >d.out 2>d.err; echo $? >d.rc &&
	test_cmp d.rc s.rc && test_cmp d.out s.out &&
	strata login -u "$USER_" -p "wrong-$PASS_" "$A" >c.out 2>c.err;
	grep "^Error response from daemon: " s.err >s.msg && grep "^Error response from daemon: " c.err >c.msg &&
	test_cmp c.msg s.msg &&
	grep -q "unauthorized" s.err &&
	scurl -X POST -d "{\"username\":\"$USER_\",\"password\":\"x\",\"serveraddress\":\"$A\"}" \
		"http://x/v1.41/auth" -o /dev/null -w "%{http_code}\n" >code &&
	echo 401 >expect && test_cmp expect code
'

test_expect_success 'push and pull with the request credentials; none stored by the server' '
	A=$(cat areg) &&
	strata --data-root "$S/root" tag "$R/lib/bb:1" "$A/p/bb:1" &&
	ds push "$A/p/bb:1" >out &&
	strata --data-root "$S/root" rmi "$A/p/bb:1" >/dev/null &&
	ds pull "$A/p/bb:1" >out &&
	grep -q "^Status: Downloaded newer image for $A/p/bb:1\$" out &&
	! grep -rqF "$PASS_" "$S" &&
	rm -rf "$DOCKER_CONFIG" &&
	strata --data-root "$S/root" rmi "$A/p/bb:1" >/dev/null &&
	! ds pull "$A/p/bb:1" >s.out 2>s.err &&
	! strata --data-root c pull "$A/p/bb:1" >c.out 2>c.err &&
	test_cmp c.err s.err &&
	scurl -X POST "http://x/v1.41/images/create?fromImage=$A/p/bb&tag=1" -o s.out -w "%{http_code}\n" >s.code &&
	dcurl -X POST "http://x/v1.41/images/create?fromImage=$A/p/bb&tag=1" -o d.out -w "%{http_code}\n" >d.code &&
	test_cmp d.code s.code
'

test_expect_success 'a client gone in the middle of a pull: cancelled, no leftovers, store valid' '
	head -c 3000000 /dev/urandom >bb/big &&
	tar -C bb -cf - . | strata --data-root src import - "$R/lib/big:1" >/dev/null &&
	strata --data-root src push "$R/lib/big:1" >/dev/null &&
	/usr/bin/python3 "$TEST_REPO/tests/fixtures/serve/slowproxy.py" "$R" proxy.port &
	echo $! >proxy.pid && test_atexit "kill $(cat proxy.pid) 2>/dev/null" &&
	for i in $(seq 50); do test -s proxy.port && break; sleep 0.1; done &&
	P=127.0.0.1:$(cat proxy.port) &&
	scurl -X POST "http://x/v1.41/images/create?fromImage=$P/lib/big&tag=1" -m 1.5 >s.json;
	test $? = 28 && grep -q "\"status\":\"Downloading\"" s.json &&
	for i in $(seq 50); do
		ls "$S/root/image/overlay2/layerdb/tmp" >left 2>/dev/null || : >left
		test -s left || break; sleep 0.2
	done &&
	test_cmp /dev/null left &&
	! strata --data-root "$S/root" images | grep -q "/lib/big" &&
	strata --data-root "$S/root" check >/dev/null &&
	kill "$(cat proxy.pid)"
'

test_expect_success 'the store stays valid; the server stops cleanly' '
	strata --data-root "$S/root" check >/dev/null &&
	serve_stop "$S"
'

test_done
