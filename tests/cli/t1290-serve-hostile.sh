#!/bin/bash
# strata serve under hostile and many clients: 64 at once, clients that
# stall or hang up mid-request, bytes that are not HTTP, oversized headers.
# Each gets a clear HTTP error or its connection closed; the server keeps
# answering everyone else and exits cleanly (no leak under ASan) at the end.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"

command -v curl >/dev/null || skip_all "curl not installed"
S=$TRASH/s
H() { python3 "$TEST_LIB_DIR/hostile_http.py" "$SERVE_SOCK" "$@"; }

test_expect_success 'start' '
	serve_start "$S"
'

test_expect_success '64 concurrent clients all get answers' '
	H concurrent 64 /_ping /info /v1.30/version /nope >out &&
	test "$(grep -c "^200 /_ping$" out)" = 64 &&
	test "$(grep -c "^200 /info$" out)" = 64 &&
	test "$(grep -c "^200 /v1.30/version$" out)" = 64 &&
	test "$(grep -c "^404 /nope$" out)" = 64
'

test_expect_success 'stalled clients do not block others' '
	pids= &&
	for i in 1 2 3 4; do H stall 3 & pids="$pids $!"; done
	serve_curl /_ping >out && printf OK >expect && test_cmp expect out &&
	wait $pids
'

test_expect_success 'bytes that are not HTTP: 400 or closed, server fine' '
	printf "\001\002\003 garbage\r\n\r\n" >junk &&
	H raw junk >st &&
	grep -Eq "^(400|none)$" st &&
	printf "GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" "$(head -c 200000 /dev/zero | tr "\0" a)" >big &&
	H raw big >st &&
	grep -Eq "^(413|431|400|none)$" st &&
	serve_curl /_ping >out && printf OK >expect && test_cmp expect out
'

test_expect_success 'a 10 GB JSON body is refused before it is read: 413' '
	H declare POST /auth 10737418240 >st &&
	echo 413 >expect && test_cmp expect st
'

test_expect_success 'malformed and wrongly typed JSON bodies: 400 or 401 with a message, no crash' '
	for body in "{" "[1,2]" "{\"username\": 5, \"serveraddress\": \"127.0.0.1:1\"}" \
		"{\"username\":\"a\",\"password\":\"b\",\"serveraddress\":\"127.0.0.1:1/../../etc\"}"; do
		code=$(serve_curl /auth -X POST -H "Content-Type: application/json" -d "$body" -o body -w "%{http_code}") || return 1
		case $body:$code in "{:400"|"[1,2]:400"|*5,*:400|*etc*:500) ;; *) echo "$body: $code"; return 1 ;; esac
		grep -q "\"message\":\"." body || { echo "$body: no message"; cat body; return 1; }
	done
'

test_expect_success 'a name with path traversal is an invalid reference' '
	serve_curl "/images/..%2F..%2F..%2Fetc%2Fpasswd/json" -w " %{http_code}" | tr -d "\n" >out &&
	grep -q "{\"message\":\"invalid reference format\"} 400" out &&
	serve_curl "/images/../../../etc/passwd/json" --path-as-is -w " %{http_code}" >out &&
	grep -Eq " (400|404)$" out &&
	! test -e "$S/root/etc"
'

test_expect_success 'a client hanging up mid-body' '
	H declare POST /images/load 10737418240 &&
	H declare POST /_ping 10737418240 &&
	strata --data-root "$S/root" check &&
	serve_curl /_ping >out && printf OK >expect && test_cmp expect out
'

test_expect_success 'events subscribers that vanish are let go' '
	pids= &&
	for i in $(seq 16); do
		timeout 0.5 curl -sN --unix-socket "$SERVE_SOCK" http://strata/events >/dev/null & pids="$pids $!"
	done
	wait $pids
	serve_curl /_ping >out && printf OK >expect && test_cmp expect out
'

test_expect_success 'the server exits cleanly after all that' '
	serve_stop "$S"
'

test_done
