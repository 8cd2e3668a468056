#!/bin/bash
# strata serve's save, load and import through the docker 20.10 client,
# against dockerd on the same image: docker save writes the same archive
# byte for byte (one name, several, GET /images/get?names=), docker load
# prints the same lines, load's progress stream with quiet=0, docker import
# with -c and -m, docker import of a URL (downloaded, the stream and the
# image dockerd gives); bad input: a garbage archive fails as with dockerd, a
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

test_expect_success 'POST /images/create with neither fromImage nor fromSrc: 400' '
	scurl -X POST "http://x/v1.41/images/create" -o /dev/null -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code
'

# an image's config with its created times blanked, and the sha256 of those bytes
config_sans_created() {
	python3 - "$1" <<-\EOF
	import hashlib, json, re, sys, tarfile
	t = tarfile.open(sys.argv[1])
	cfg = json.load(t.extractfile("manifest.json"))[0]["Config"]
	raw = re.sub(rb'"created":"[^"]*"', b'"created":""', t.extractfile(cfg).read())
	print(hashlib.sha256(raw).hexdigest())
	EOF
}

test_expect_success 'import URL: the lines, the stream and the image dockerd gives' '
	files_start "$TRASH/files" && cp bb.tar "$TRASH/files/www/bb.tar" && size=$(stat -c %s bb.tar) &&
	ds import "$FILES_URL/bb.tar" url:1 >s.out && dd import "$FILES_URL/bb.tar" url:1 >d.out &&
	head -n 1 s.out >s.first && head -n 1 d.out >d.first && test_cmp d.first s.first &&
	echo "Downloading from $FILES_URL/bb.tar" >expect && test_cmp expect s.first &&
	ds save url:1 >s-url.tar && dd save url:1 >d-url.tar &&
	config_sans_created s-url.tar >s.cfg && config_sans_created d-url.tar >d.cfg && test_cmp d.cfg s.cfg &&
	ds history --no-trunc --format "{{.Comment}} {{.Size}}" url:1 >s.hist &&
	dd history --no-trunc --format "{{.Comment}} {{.Size}}" url:1 >d.hist && test_cmp d.hist s.hist &&
	h=${FILES_URL#http://} &&
	scurl -X POST "http://x/v1.41/images/create?fromSrc=$h/bb.tar&repo=url&tag=2" >s.json &&
	curl -s --unix-socket "$D/docker.sock" -X POST "http://x/v1.41/images/create?fromSrc=$h/bb.tar&repo=url&tag=2" >d.json &&
	# how many progress lines come between depends on read sizes and times: the first and the last
	for f in s d; do
		{ head -n 1 $f.json && tail -n 2 $f.json | head -n 1; } >$f.lines || return 1
	done &&
	test_cmp d.lines s.lines &&
	{ sed -e 1d -e "\$d" s.json | grep -v "^{\"status\":\"Importing\",\"progressDetail\":{\"current\":[0-9]*,\"total\":$size},\"progress\":\"\[" >odd || :; } &&
	test_cmp /dev/null odd &&
	tail -n 1 s.json | grep -q "^{\"status\":\"sha256:[0-9a-f]\{64\}\"}" &&
	ds history --no-trunc --format "{{.Comment}}" url:2 >c &&
	echo "Imported from $FILES_URL/bb.tar" >expect && test_cmp expect c &&
	no_leftovers
'

test_expect_success 'import of a bad URL: dockerd status and error, nothing stored' '
	strata --data-root "$S/root" images -q --no-trunc >before &&
	! ds import "$FILES_URL/nope.tar" >s.out 2>s.err && ! dd import "$FILES_URL/nope.tar" >d.out 2>d.err &&
	test_cmp d.out s.out && test_cmp d.err s.err &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	for u in "$FILES_URL/nope.tar" "http://127.0.0.1:$port/x.tar" "ftp://127.0.0.1:$port/x.tar"; do
		scurl -X POST "http://x/v1.41/images/create?fromSrc=$u" -o /dev/null -w "%{http_code}\n" &&
		curl -s --unix-socket "$D/docker.sock" -X POST "http://x/v1.41/images/create?fromSrc=$u" \
			-o /dev/null -w "%{http_code}\n" || return 1
	done >codes &&
	printf "404\n404\n500\n500\n500\n500\n" >expect && test_cmp expect codes &&
	scurl -X POST "http://x/v1.41/images/create?fromSrc=ftp://127.0.0.1:$port/x.tar" >s.msg &&
	curl -s --unix-socket "$D/docker.sock" -X POST "http://x/v1.41/images/create?fromSrc=ftp://127.0.0.1:$port/x.tar" >d.msg &&
	test_cmp d.msg s.msg &&
	strata --data-root "$S/root" images -q --no-trunc >after && test_cmp before after &&
	no_leftovers
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
