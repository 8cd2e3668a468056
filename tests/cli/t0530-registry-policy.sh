#!/bin/bash
# Registry transport and credential policy (RELIABILITY.md §1.7, §4.1 rows 14,
# 21, 25) against a scripted fake registry (tests/fixtures/registry/fake.py):
# no Authorization after a redirect to another host, no Basic credential to a
# token realm on another host (nor one learned from a 401 of another host),
# https -> http redirects refused, retries on 429/503, lying Content-Type and
# oversized manifests refused with nothing written, no secret in any output;
# registry-mirrors for Docker Hub images, with fallback to the next mirror.
#
# 127.0.0.2 and 127.1.0.1 are "another host" (loopback only).  HTTPS: a
# loopback registry is insecure (TLS not verified, as dockerd), so a
# self-signed certificate made here needs no CA in /etc/docker/certs.d.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/store.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root)"
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip_all "cannot bind 127.0.0.2"

USER_=alice
PASS_='s3cr3t-Pa55-policy-q7'
export DOCKER_CONFIG=$TRASH/dockercfg
FAKE=$TEST_REPO/tests/fixtures/registry/fake.py

# every stdout/stderr of strata goes to out.N / err.N (checked for secrets at the end)
n=0
run() {
	n=$((n + 1))
	strata "$@" >"out.$n" 2>"err.$n"
	local rc=$?
	cp "out.$n" out
	cp "err.$n" err
	return $rc
}

# requests made to LISTENER (by name) since the log mark, as "METHOD PATH AUTH"
reqs() {
	python3 - "$1" "$(cat mark 2>/dev/null || echo 0)" <<-\PY
	import json, sys
	for i, line in enumerate(open("fake/requests.log")):
	    if i < int(sys.argv[2]):
	        continue
	    e = json.loads(line)
	    if e["listener"] == sys.argv[1]:
	        a = e["auth"]
	        print(e["method"], e["path"], "-" if a is None else a["scheme"] + ":" + a["sha256"])
	PY
}
mark() { wc -l <fake/requests.log >mark; }
# no request to LISTENER carried an Authorization header
no_auth_to() { reqs "$1" >reqs.out && ! grep -v ' -$' reqs.out; }

write_auths() {
	mkdir -p "$DOCKER_CONFIG" &&
	python3 - "$DOCKER_CONFIG/config.json" "$USER_:$PASS_" "$@" <<-\PY
	import base64, json, sys
	a = base64.b64encode(sys.argv[2].encode()).decode()
	json.dump({"auths": {h: {"auth": a} for h in sys.argv[3:]}}, open(sys.argv[1], "w"))
	PY
}

BASIC_SHA=$(printf 'Basic %s' "$(printf '%s:%s' "$USER_" "$PASS_" | base64 -w0)" | sha256sum | cut -c1-64)

test_expect_success 'start the fake registry' '
	mkdir fake &&
	if command -v openssl >/dev/null 2>&1 &&
	   openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-keyout fake/key.pem -out fake/cert.pem >/dev/null 2>&1; then
		tls="--tls-cert fake/cert.pem --tls-key fake/key.pem"
	else
		tls=
	fi &&
	{ python3 "$FAKE" --dir fake --user "$USER_" --password "$PASS_" --lifetime 300 $tls \
		</dev/null >fake/log 2>&1 & echo $! >fake/pid; } &&
	test_atexit "kill $(cat fake/pid)" &&
	for i in $(seq 1 100); do [ -s fake/env ] && break; sleep 0.1; done &&
	. fake/env && echo "$FAKE_MAIN" &&
	write_auths "$FAKE_MAIN" "$FAKE_BSELF" "$FAKE_BOTHER" "$FAKE_BIPDOM" ${FAKE_TLS:+"$FAKE_TLS"}
'
. fake/env 2>/dev/null
if [ -n "${FAKE_TLS:-}" ]; then
	test_set_prereq TLS
else
	test_prereq_missing TLS "no TLS listener: openssl could not make a certificate"
fi

test_expect_success 'Basic registry: credentials reach it; a pull works' '
	run --data-root s pull $FAKE_MAIN/ok/img:1 &&
	grep -q "^Status: Downloaded newer image for $FAKE_MAIN/ok/img:1$" out &&
	reqs MAIN >r && grep -q " basic:$BASIC_SHA\$" r &&
	run --data-root s check
'

test_expect_success 'blob and manifest redirects to another host carry no Authorization' '
	mark &&
	run --data-root s pull $FAKE_MAIN/redir/img:1 &&
	reqs STORE >r && test_line_count r 3 &&
	grep -q "^GET /storage/sha256:" r && no_auth_to STORE &&
	reqs MAIN >r && grep -q "^GET /v2/redir/img/blobs/.* basic:$BASIC_SHA\$" r &&
	run --data-root s check
'

test_expect_success 'same-host token realm gets the Basic credential (control)' '
	mark &&
	run --data-root s pull $FAKE_BSELF/ok/img:1 &&
	reqs BSELF >r && grep -q "^GET /token basic:$BASIC_SHA\$" r &&
	grep -q "^GET /v2/ok/img/manifests/sha256:.* bearer:" r
'

test_expect_success 'a token realm on another host never gets the Basic credential' '
	mark &&
	run --data-root s pull $FAKE_BOTHER/ok/img:1 &&
	reqs STORE >r && grep -q "^GET /token -\$" r && no_auth_to STORE
'

test_expect_success '127.1.0.1 is another host than 127.0.0.1 (addresses have no domain)' '
	mark &&
	run --data-root s pull $FAKE_BIPDOM/ok/img:1 &&
	reqs IPDOM >r && grep -q "^GET /token -\$" r && no_auth_to IPDOM
'

test_expect_success 'login refuses to send the password to a realm on another host' '
	mark &&
	test_expect_code 1 run login -u $USER_ -p "$PASS_" $FAKE_BOTHER &&
	grep -q "another host" err &&
	no_auth_to STORE && write_auths "$FAKE_MAIN" "$FAKE_BSELF" "$FAKE_BOTHER" "$FAKE_BIPDOM" ${FAKE_TLS:+"$FAKE_TLS"}
'

test_expect_success 'a 401 from the storage host does not redirect the token request there' '
	store_listing s >before &&
	mark &&
	test_expect_code 1 run --data-root s pull $FAKE_BSELF/redir401/img:1 &&
	grep -q "unauthorized" err &&
	reqs STORE >r && grep -q "^GET /storage401/" r && ! grep -q "/token" r &&
	no_auth_to STORE &&
	store_listing s >after && test_cmp before after &&
	run --data-root s check
'

test_expect_success TLS 'https registry: a pull works over TLS' '
	run --data-root s pull $FAKE_TLS/ok/img:1 &&
	reqs TLS >r && grep -q " basic:$BASIC_SHA\$" r
'

test_expect_success TLS 'a redirect from https to http is refused, nothing fetched there, nothing written' '
	store_listing s >before &&
	mark &&
	test_expect_code 1 run --data-root s pull $FAKE_TLS/redir/img:1 &&
	grep -q "refusing redirect from https to http" err &&
	reqs STORE >r && test_line_count r 0 &&
	store_listing s >after && test_cmp before after &&
	run --data-root s check
'

test_expect_success '429 and 503 are retried with a pause, then the pull succeeds' '
	mark &&
	run --data-root s pull $FAKE_MAIN/retry/img:1 &&
	grep -q "^Status: Downloaded newer image" out &&
	python3 - "$(cat mark)" <<-\PY &&
	import json, sys
	seen = {}
	for i, line in enumerate(open("fake/requests.log")):
	    e = json.loads(line)
	    if i < int(sys.argv[1]) or e["listener"] != "MAIN" or "/retry/" not in e["path"]:
	        continue
	    seen.setdefault((e["method"], e["path"]), []).append(e["t"])
	assert len(seen) == 4, seen
	for k, ts in seen.items():
	    assert len(ts) == 2, (k, ts)
	    gap = ts[1] - ts[0]
	    # Retry-After: 1 on the 429s; the default backoff (250 ms) on the 503s
	    assert gap >= (0.9 if "/manifests/" in k[1] else 0.2), (k, gap)
	PY
	run --data-root s check
'

for r in liar liar-oci huge; do
	case $r in
	liar) why="mediaType .* does not match Content-Type" ;;
	liar-oci) why="index contains forbidden \"layers\"" ;;
	huge) why="manifest huge/img:1 is larger than the 4 MiB limit" ;;
	esac
	test_expect_success "manifest $r: refused with a clear error, nothing written" "
		store_listing s >before &&
		test_expect_code 1 run --data-root s pull \$FAKE_MAIN/$r/img:1 &&
		grep -q '$why' err && test_line_count err 1 &&
		store_listing s >after && test_cmp before after &&
		run --data-root s check
	"
done

test_expect_success 'registry-mirrors: a docker.io pull goes to the mirror' '
	printf "{\"registry-mirrors\": [\"http://%s/\"]}\n" $FAKE_OPEN >mirror1.json &&
	mark &&
	run --config mirror1.json --data-root m1 pull docker.io/library/x:1 &&
	grep -q "^Status: Downloaded newer image for x:1$" out &&
	tail -n1 out | grep -q "^docker.io/library/x:1$" &&
	run --data-root m1 images --format "{{.Repository}}:{{.Tag}}" >/dev/null &&
	grep -q "^x:1$" out &&
	reqs OPEN >r && grep -q "^GET /v2/library/x/blobs/" r && no_auth_to OPEN &&
	run --data-root m1 check
'

test_expect_success 'registry-mirrors: a dead and a broken mirror fall back to a working one' '
	dead=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	printf "{\"registry-mirrors\": [\"http://127.0.0.1:%s\", \"http://%s\", \"http://%s\"]}\n" \
		$dead $FAKE_M404 $FAKE_OPEN >mirror2.json &&
	mark &&
	run --config mirror2.json --data-root m2 pull library/x:1 &&
	grep -q "^Status: Downloaded newer image for x:1$" out &&
	reqs M404 >r && grep -q "^HEAD /v2/library/x/manifests/1 -$" r &&
	reqs OPEN >r && grep -q "^GET /v2/library/x/blobs/" r &&
	run --data-root m2 check
'

test_expect_success 'registry-mirrors: not used for other registries; a mirror with a path is refused' '
	mark &&
	run --config mirror1.json --data-root m3 pull $FAKE_MAIN/ok/img:1 &&
	reqs OPEN >r && test_line_count r 0 &&
	printf "{\"registry-mirrors\": [\"http://%s/sub\"]}\n" $FAKE_OPEN >bad.json &&
	test_expect_code 1 run --config bad.json --data-root m3 pull docker.io/library/x:1 &&
	grep -q "must not have a path" err
'

test_expect_success 'neither the password nor any token appears in any output' '
	test -n "$n" && test "$n" -gt 10 &&
	! grep -l -F -e "$PASS_" -e TOKSECRET -e "$(printf "%s:%s" "$USER_" "$PASS_" | base64 -w0)" out.* err.*
'

test_done
