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

test_expect_success 'a client hanging up mid-body' '
	H declare POST /_ping 10737418240 &&
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
