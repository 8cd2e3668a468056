#!/bin/bash
# docker build (DOCKER_BUILDKIT=0) through strata serve against dockerd on
# the same base image: for a few of t1100's Dockerfiles (build args and
# labels, --target, RUN and COPY, a failing RUN, --rm=false, a multi-stage
# COPY --from), a context tar on stdin and -q: the same transcript (IDs
# aside), stderr
# and exit status; the JSON stream of POST /build as dockerd's (the aux ID
# before "Successfully built", a failed RUN's errorDetail code); a context
# tar naming ../ is refused with nothing written outside; a client gone
# mid-build stops it before its next step; the temporary
# context folders are gone and the store is valid.
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
normalize() { sed -E 's/[0-9a-f]{64}/<ID>/g; s/[0-9a-f]{12}/<id>/g' "$1"; }

mkdir -p cases
add_case() {
	mkdir -p "cases/$1" && cat >"cases/$1/Dockerfile"
	echo "$1" >>cases/list
}
add_case meta <<-\END
	FROM busybox:local
	ARG GREETING=hi
	ENV A=1 G=$GREETING
	LABEL k=$A
	CMD ["-c", "echo hi"]
END
echo "--build-arg GREETING=yo --build-arg NOTUSED=1 --label z=1 --label a=2" >cases/meta/flags
add_case stages <<-\END
	FROM busybox:local AS one
	LABEL stage=one
	FROM one AS Two
	ENV X=2
	FROM busybox:local
	LABEL stage=last
END
echo "--target two" >cases/stages/flags
add_case runs <<-\END
	FROM busybox:local
	ARG WHO=world
	RUN mkdir -p /opt/app && echo "hello $WHO" >/opt/app/hello && echo built
	RUN echo second >/opt/app/second && echo err >&2
	COPY start.sh /start.sh
	CMD ["/bin/sh", "/start.sh"]
END
printf 'cat /opt/app/second\n' >cases/runs/start.sh
touch -d @1600000000 cases/runs/start.sh
echo "--build-arg WHO=strata" >cases/runs/flags
add_case run-fails <<-\END
	FROM busybox:local
	RUN exit 3
END
add_case keep <<-\END
	FROM busybox:local
	LABEL kept=yes
	RUN echo kept >/kept
	WORKDIR /kept-dir
END
echo "--rm=false" >cases/keep/flags
add_case from <<-\END
	FROM busybox:local AS build
	COPY dir /out/
	FROM busybox:local
	COPY --from=build /out /app/
	COPY --from=busybox:local /bin/cat /bb/
END
mkdir -p cases/from/dir/sub
printf a >cases/from/dir/a
printf b >cases/from/dir/sub/b
ln -s a cases/from/dir/l
touch -h -d @1600000000 cases/from/dir/a cases/from/dir/sub/b cases/from/dir/sub cases/from/dir/l

test_expect_success 'setup: dockerd and strata serve with the same base image' '
	dockerd_start "$D" &&
	make_busybox_rootfs rootfs &&
	tar -C rootfs -cf - . | dd import - busybox:local >/dev/null &&
	dd save -o base.tar busybox:local &&
	serve_start "$S" &&
	strata --data-root "$S/root" load -i base.tar >/dev/null
'

for c in $(cat cases/list); do
	test_expect_success "$c: the transcript, stderr and status of dockerd" "
		ds build \$(cat cases/$c/flags 2>/dev/null) -t $c:1 cases/$c >s.out 2>s.err; echo \$? >s.rc
		dd build \$(cat cases/$c/flags 2>/dev/null) -t $c:1 cases/$c >d.out 2>d.err; echo \$? >d.rc
		test_cmp d.rc s.rc &&
		normalize d.out >want && normalize s.out >got && test_cmp want got &&
		test_cmp d.err s.err
	"
done

test_expect_success 'rm=0 keeps the containers of every step, as dockerd keeps them' '
	ds ps -a --no-trunc --format "{{.State}} {{.Command}}" >got &&
	dd ps -a --no-trunc --format "{{.State}} {{.Command}}" >want &&
	test_cmp want got && grep -q "^created \"/bin/sh -c '"'"'#(nop) WORKDIR /kept-dir" got
'

test_expect_success 'the multi-stage image: the same files in every layer' '
	strata --data-root "$S/root" save from:1 >s.tar && dd save from:1 >d.tar &&
	python3 "$TEST_LIB_DIR/layercmp.py" d.tar s.tar
'

test_expect_success 'a context tar on stdin (gzip), and -q' '
	tar -C cases/runs -czf runs.tgz . &&
	ds build -t fromtar:1 - <runs.tgz >s.out 2>s.err; echo $? >s.rc
	dd build -t fromtar:1 - <runs.tgz >d.out 2>d.err; echo $? >d.rc
	test_cmp d.rc s.rc &&
	normalize d.out >want && normalize s.out >got && test_cmp want got &&
	ds build -q cases/meta >s.out && dd build -q cases/meta >d.out &&
	normalize d.out >want && normalize s.out >got && test_cmp want got &&
	grep -qx "sha256:[0-9a-f]\{64\}" s.out
'

test_expect_success 'POST /build: the JSON stream of dockerd (aux ID, a failed RUN code)' '
	tar -C cases/meta -cf meta.tar . && tar -C cases/run-fails -cf fails.tar . &&
	for t in meta fails; do
		curl -s --unix-socket "$S/strata.sock" -X POST -H "Content-Type: application/x-tar" \
			--data-binary @$t.tar "http://x/v1.41/build?t=j$t:1&rm=1" >s-$t.json &&
		curl -s --unix-socket "$D/docker.sock" -X POST -H "Content-Type: application/x-tar" \
			--data-binary @$t.tar "http://x/v1.41/build?t=j$t:1&rm=1" >d-$t.json &&
		normalize d-$t.json >want && normalize s-$t.json >got && test_cmp want got || return 1
	done &&
	grep -q "^{\"aux\":{\"ID\":\"sha256:" s-meta.json &&
	grep -q "\"errorDetail\":{\"code\":3," s-fails.json
'

test_expect_success 'ADD of a URL: the JSON stream of dockerd (its Downloading line) and the transcript' '
	files_start "$TRASH/files" && echo hello >"$TRASH/files/www/hello.txt" &&
	mkdir -p url && printf "FROM busybox:local\nADD $FILES_URL/hello.txt /a/\n" >url/Dockerfile &&
	tar -C url -cf url.tar . &&
	curl -s --unix-socket "$S/strata.sock" -X POST -H "Content-Type: application/x-tar" \
		--data-binary @url.tar "http://x/v1.41/build?nocache=1" >s-url.json &&
	curl -s --unix-socket "$D/docker.sock" -X POST -H "Content-Type: application/x-tar" \
		--data-binary @url.tar "http://x/v1.41/build?nocache=1" >d-url.json &&
	normalize d-url.json >want && normalize s-url.json >got && test_cmp want got &&
	grep -q "^{\"status\":\"Downloading\",\"progressDetail\":{\"current\":6,\"total\":6}" s-url.json &&
	ds build --no-cache url >s.out && dd build --no-cache url >d.out &&
	normalize d.out >want && normalize s.out >got && test_cmp want got
'

test_expect_success 'a build tags with the tag event of dockerd (the image labels among its attributes)' '
	for sock in "$D/docker.sock" "$S/strata.sock"; do
		# until the next second: an event later in this one would be left out
		curl -s --unix-socket "$sock" "http://x/v1.41/events?since=0&until=$(($(date +%s) + 1))" |
			python3 -c "import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m[\"Action\"]==\"tag\" and m[\"Actor\"][\"Attributes\"].get(\"name\")==\"jmeta:1\": print(m[\"Type\"],m[\"Action\"],m[\"Actor\"][\"ID\"][:7],json.dumps(m[\"Actor\"][\"Attributes\"]))" >ev.$(basename $sock) || return 1
	done &&
	test_cmp ev.docker.sock ev.strata.sock &&
	grep -qx "image tag sha256: {\"k\": \"1\", \"name\": \"jmeta:1\"}" ev.strata.sock
'

test_expect_success 'a context tar naming ../: refused, nothing outside, no image' '
	/usr/bin/python3 - evil.tar <<-\END &&
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w") as t:
	    for name, data in (("Dockerfile", b"FROM busybox:local\n"), ("../../escaped", b"x")):
	        info = tarfile.TarInfo(name)
	        info.size = len(data)
	        t.addfile(info, io.BytesIO(data))
	END
	curl -s --unix-socket "$S/strata.sock" -X POST --data-binary @evil.tar \
		"http://x/v1.41/build?t=evil:1" -o out -w "%{http_code}\n" >code &&
	cat out && ! grep -q "^200" code &&
	test ! -e "$S/escaped" && test ! -e "$S/root/escaped" && test ! -e "$TRASH/escaped" &&
	! strata --data-root "$S/root" images | grep -q "^evil "
'

test_expect_success 'a client gone in the middle of a build: stopped before the next step, context removed' '
	mkdir -p slow && printf "FROM busybox:local\nRUN sleep 2\nLABEL after=yes\n" >slow/Dockerfile &&
	tar -C slow -cf slow.tar . &&
	curl -s --unix-socket "$S/strata.sock" -X POST --data-binary @slow.tar \
		"http://x/v1.41/build?t=slow:1" -m 1 >out; test $? = 28 &&
	sleep 3 &&
	find "$S/root/tmp" -mindepth 1 >left 2>/dev/null; test_cmp /dev/null left &&
	! strata --data-root "$S/root" images | grep -q "^slow " &&
	curl -s --unix-socket "$S/strata.sock" http://x/_ping >ping && printf OK >expect && test_cmp expect ping
'

test_expect_success 'no context folder left; the store is valid; the server stops cleanly' '
	find "$S/root/tmp" -mindepth 1 >left 2>/dev/null; test_cmp /dev/null left &&
	strata --data-root "$S/root" check >/dev/null &&
	serve_stop "$S"
'

test_done
