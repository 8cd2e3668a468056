#!/bin/bash
# strata serve's save, load and import through the docker 20.10 client,
# against dockerd on the same image: docker save writes the same archive
# byte for byte (one name, several, GET /images/get?names=), docker load
# prints the same lines, load's progress stream with quiet=0, docker import
# with -c and -m; bad input: a garbage archive fails as with dockerd, a
# missing image is a 404 before any byte, a client that declares a 10 GB
# body, sends a little and hangs up, and one that goes away in the middle
# of a save, leave a valid store with no temporary files and a server that
# still answers.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v curl >/dev/null || skip_all "curl not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

export DOCKER_BUILDKIT=0
S=$TRASH/s
D=$TRASH/d

ds() { DOCKER_HOST=unix://$S/strata.sock docker "$@"; }
dd() { DOCKER_HOST=unix://$D/docker.sock docker "$@"; }
scurl() { curl -s --unix-socket "$S/strata.sock" "$@"; }

# nothing the server left behind: no temporary layer or archive files
no_leftovers() {
	find "$S/root" \( -path "$S/root/*/tmp/*" -o -name "*.partial" \) >left &&
	test_cmp /dev/null left &&
	strata --data-root "$S/root" check >/dev/null
}

test_expect_success 'setup: the same image in dockerd and in strata serve' '
	make_busybox_rootfs bb &&
	tar -C bb -cf bb.tar . &&
	dockerd_start "$D" &&
	dd import -c "CMD [\"sh\"]" bb.tar bb:1 >/dev/null &&
	dd save -o img.tar bb:1 &&
	serve_start "$S" &&
	strata --data-root "$S/root" load -i img.tar >/dev/null &&
	dd tag bb:1 bb:2 && strata --data-root "$S/root" tag bb:1 bb:2
'

test_expect_success 'save: the archive dockerd writes, byte for byte' '
	ds save bb:1 >s.tar && dd save bb:1 >d.tar && cmp d.tar s.tar &&
	ds save -o s2.tar bb:1 bb:2 && dd save -o d2.tar bb:1 bb:2 && cmp d2.tar s2.tar &&
	scurl "http://x/v1.41/images/get?names=bb:1&names=bb:2" -D hdr >s3.tar && cmp d2.tar s3.tar &&
	tr -d "\r" <hdr | grep -qix "Content-Type: application/x-tar"
'

test_expect_success 'save of a missing image: 404 before any byte, as dockerd' '
	! ds save nope:1 >s.out 2>s.err && ! dd save nope:1 >d.out 2>d.err &&
	test_cmp d.err s.err &&
	scurl "http://x/v1.41/images/nope:1/get" -w " %{http_code}" >s.out &&
	curl -s --unix-socket "$D/docker.sock" "http://x/v1.41/images/nope:1/get" -w " %{http_code}" >d.out &&
	test_cmp d.out s.out
'

test_expect_success 'load: the lines dockerd prints, into an empty store' '
	serve_stop "$S" && rm -rf "$S" && serve_start "$S" &&
	ds load -i img.tar >s.out && dd load -i img.tar >d.out &&
	test_cmp d.out s.out && grep -qx "Loaded image: bb:1" s.out &&
	ds load <d2.tar >s.out && dd load <d2.tar >d.out && test_cmp d.out s.out &&
	strata --data-root "$S/root" images -q --no-trunc | sort -u >s.ids &&
	dd images -q --no-trunc | sort -u >d.ids && test_cmp d.ids s.ids &&
	no_leftovers
'

test_expect_success 'load with quiet=0: Loading layer progress, then the stream line' '
	serve_stop "$S" && rm -rf "$S" && serve_start "$S" &&
	scurl -X POST -H "Content-Type: application/x-tar" --data-binary @img.tar \
		"http://x/v1.41/images/load?quiet=0" >s.json &&
	grep -q "^{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":[0-9]*,\"total\":[0-9]*},\"progress\":\"\[" s.json &&
	tail -n 1 s.json >last &&
	printf "{\"stream\":\"Loaded image: bb:1\\\\n\"}\r\n" >expect && test_cmp expect last &&
	scurl -X POST --data-binary @img.tar "http://x/v1.41/images/load" >q.json &&
	printf "{\"stream\":\"Loaded image: bb:1\\\\n\"}\r\n" >expect && test_cmp expect q.json
'

test_expect_success 'load of garbage: refused as dockerd refuses it, nothing added' '
	head -c 20000 /dev/urandom >garbage &&
	strata --data-root "$S/root" images -q --no-trunc >before &&
	! ds load -i garbage >s.out 2>s.err; echo $? >s.rc &&
	! dd load -i garbage >d.out 2>d.err; echo $? >d.rc &&
	test_cmp d.rc s.rc && test -s s.err &&
	strata --data-root "$S/root" images -q --no-trunc >after && test_cmp before after &&
	no_leftovers
'

test_expect_success 'import: -c and -m reach the image, the ID is printed' '
	ds import -c "ENV A=b" -c "CMD [\"sh\"]" -m "from serve" - imp:1 <bb.tar >id &&
	grep -qx "sha256:[0-9a-f]\{64\}" id &&
	strata --data-root "$S/root" inspect -f "{{.Id}} {{.Config.Env}} {{.Config.Cmd}} {{.Comment}}" imp:1 >got &&
	echo "$(cat id) [A=b] [sh] from serve" >expect && test_cmp expect got &&
	ds import bb.tar >id2 && grep -qx "sha256:[0-9a-f]\{64\}" id2 &&
	strata --data-root "$S/root" history --no-trunc --format "{{.Comment}}" "$(cat id2)" >c &&
	echo "Imported from -" >expect && test_cmp expect c &&
	no_leftovers
'

test_expect_success 'POST /images/create with neither fromImage nor fromSrc, or a URL: 400' '
	scurl -X POST "http://x/v1.41/images/create" -o /dev/null -w "%{http_code}\n" >code &&
	scurl -X POST "http://x/v1.41/images/create?fromSrc=http://127.0.0.1:1/x.tar" -o /dev/null \
		-w "%{http_code}\n" >>code &&
	printf "400\n400\n" >expect && test_cmp expect code
'

test_expect_success 'a 10 GB body declared, a little sent, then a hang-up: nothing left, server alive' '
	/usr/bin/python3 - "$S/strata.sock" <img.tar <<-\EOF &&
	import socket, sys, time
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall(b"POST /v1.41/images/load?quiet=1 HTTP/1.1\r\nHost: x\r\n"
	          b"Content-Type: application/x-tar\r\nContent-Length: 10737418240\r\n\r\n")
	s.sendall(sys.stdin.buffer.read()[:300000])
	time.sleep(0.5)
	s.close()
	EOF
	sleep 1 &&
	scurl http://x/_ping >ping && echo OK >expect && printf "\n" >>ping && test_cmp expect ping &&
	no_leftovers
'

test_expect_success 'a client gone in the middle of a save: the server goes on' '
	head -c 30000000 /dev/urandom >bb/big &&
	tar -C bb -cf big.tar . &&
	strata --data-root "$S/root" import big.tar big:1 >/dev/null &&
	scurl "http://x/v1.41/images/big:1/get" --limit-rate 1M -m 1 -o /dev/null; test $? = 28 &&
	sleep 1 &&
	scurl http://x/_ping >ping && printf "\n" >>ping && test_cmp expect ping &&
	ds save big:1 | tar -tf - >list && grep -q "layer.tar\$" list &&
	no_leftovers
'

test_expect_success 'the server stops cleanly' '
	serve_stop "$S"
'

test_done
