#!/bin/bash
# strata build against dockerd 20.10's classic builder (DOCKER_BUILDKIT=0), on
# the same base image (busybox-static imported by dockerd, docker save'd,
# strata load'ed): for each Dockerfile the same transcript (IDs aside), the
# same images along the whole parent chain (config, container_config,
# history, key order: tests/lib/buildcmp.py), the same errors and exit
# codes (ADD of URLs served over loopback among them); then the cache both
# ways: strata on dockerd's stopped store and dockerd started on strata's
# store say "Using cache" on every step and end at the other's image;
# dockerd runs strata's image.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
export DOCKER_BUILDKIT=0
CMPB="python3 $TEST_LIB_DIR/buildcmp.py"

# case NAME FLAGS...: the Dockerfile is cases/NAME/Dockerfile
mkdir -p cases res
add_case() {
	mkdir -p "cases/$1" && cat >"cases/$1/Dockerfile"
	echo "$1" >>cases/list
}
add_case meta <<-\EOF
	ARG BASE=busybox:local
	FROM $BASE
	ARG GREETING=hi
	ARG UNUSED
	ENV A=1 B="two words" G=$GREETING
	ENV C legacy form
	LABEL "com.x"="y z" k=$A
	MAINTAINER Someone <a@b>
	EXPOSE 9000 9001/udp 80-81
	VOLUME ["/v1", "/v2"]
	VOLUME /v3
	STOPSIGNAL SIGTERM
	HEALTHCHECK --interval=30s --retries=3 CMD ["true"]
	SHELL ["/bin/sh", "-e", "-c"]
	ONBUILD LABEL from=trigger
	ONBUILD ENV T=$A
	USER 65534:65534
	ENTRYPOINT ["/bin/sh"]
	CMD ["-c", "echo hi"]
	CMD echo shell form
EOF
echo "--build-arg GREETING=yo --build-arg NOTUSED=1 --label z=1 --label a=2" >cases/meta/flags
add_case onbuild <<-\EOF
	FROM meta:1
	HEALTHCHECK --timeout=5s CMD ["x"]
	HEALTHCHECK NONE
	ENTRYPOINT ["echo"]
EOF
add_case stages <<-\EOF
	FROM busybox:local AS one
	LABEL stage=one
	FROM one AS Two
	ENV X=2
	FROM busybox:local
	LABEL stage=last
EOF
echo "--target two" >cases/stages/flags
add_case scratch <<-\EOF
	FROM scratch
	LABEL empty=yes
	CMD ["/nothing"]
EOF
add_case run <<-\EOF
	# escape=`
	ARG V=meta
	FROM busybox:local
	ARG V
	LABEL v=$V w=${NOPE:-dflt} x=${V:+set} `
	      y="a`"b"
	ENV V=env
	ARG V=2
	LABEL v2=$V
	ENTRYPOINT ["echo"]
	CMD ["built", "by", "strata"]
EOF
add_case workdir <<-\EOF
	FROM busybox:local
	WORKDIR /bin
	WORKDIR ../bin/
	ENV D=bin
	WORKDIR /
	WORKDIR $D
EOF
add_case copy <<-\EOF
	FROM busybox:local
	COPY f.txt /f.txt
	WORKDIR /bin
	COPY f.txt rel/
	COPY --chown=1000:1000 dir /opt/d/
	COPY f.txt dir /multi/
	COPY --chown=7 link-to-f /owned
	COPY . /all/
EOF
mkdir -p cases/copy/dir/sub cases/copy/secret-dir
printf 'hello\n' >cases/copy/f.txt
printf x >cases/copy/dir/a
printf yy >cases/copy/dir/sub/b
chmod 600 cases/copy/dir/sub/b
ln -s a cases/copy/dir/lnk
ln -s ../f.txt cases/copy/dir/up
ln -s f.txt cases/copy/link-to-f
ln -s /etc/passwd cases/copy/dir/dangling
echo skip >cases/copy/dir/skip.log
echo keep >cases/copy/dir/keep.log
echo secret >cases/copy/secret-dir/s
printf 'dir/*.log\n!dir/keep.log\nsecret-dir\n' >cases/copy/.dockerignore
touch -h -d @1600000000 cases/copy/f.txt cases/copy/dir/a cases/copy/dir/sub/b cases/copy/dir/sub \
	cases/copy/dir/lnk cases/copy/dir/up cases/copy/link-to-f cases/copy/dir/dangling cases/copy/dir/*.log
add_case add <<-\EOF
	FROM busybox:local
	ADD f.txt /f.txt
	ADD --chown=1000:1000 dir /opt/
	ADD f.txt dir /multi/
EOF
mkdir -p cases/add/dir
printf 'added\n' >cases/add/f.txt
printf z >cases/add/dir/z
touch -d @1600000000 cases/add/f.txt cases/add/dir/z
add_case mkdir <<-\EOF
	FROM busybox:local
	USER 1000
	WORKDIR /a/b
	WORKDIR c
	WORKDIR /bin/new
	WORKDIR /bin/new
EOF
add_case from <<-\EOF
	FROM busybox:local AS build
	COPY --chown=1000:1000 dir /out/
	COPY f.txt /out/f
	WORKDIR /bin/x
	FROM busybox:local
	COPY --from=build /out /app/
	COPY --from=0 /out/f /g
	COPY --from=build --chown=5:6 /out/a /h
	COPY --from=busybox:local /bin/cat /bin/busybox /bb/
EOF
mkdir -p cases/from/dir/sub
printf 'from\n' >cases/from/f.txt
printf a >cases/from/dir/a
printf b >cases/from/dir/sub/b
ln -s a cases/from/dir/l
touch -h -d @1600000000 cases/from/f.txt cases/from/dir/a cases/from/dir/sub/b cases/from/dir/sub cases/from/dir/l
add_case runs <<-\EOF
	FROM busybox:local
	ARG WHO=world
	ARG HTTP_PROXY
	LABEL app=seed
	RUN mkdir -p /opt/app && echo "hello $WHO" >/opt/app/hello && echo built
	RUN echo second >/opt/app/second && echo err >&2
	COPY start.sh /start.sh
	RUN rm /opt/app/hello
	SHELL ["/bin/sh", "-e", "-c"]
	RUN ["/bin/sh", "-c", "echo exec >/opt/exec"]
	CMD ["/bin/sh", "/start.sh"]
EOF
printf 'cat /opt/app/second /opt/exec\n' >cases/runs/start.sh
touch -d @1600000000 cases/runs/start.sh
echo "--build-arg WHO=strata" >cases/runs/flags
# --rm=false: every step's container stays (the metadata steps' created, never started)
add_case keep <<-\EOF
	FROM busybox:local
	LABEL kept=yes
	RUN echo kept >/kept
	WORKDIR /kept-dir
	ENV K=1
EOF
echo "--rm=false" >cases/keep/flags
add_case run-fails <<-\EOF
	FROM busybox:local
	RUN exit 3
EOF
add_case glob <<-\EOF
	FROM busybox:local
	COPY *.txt /txt/
	COPY d?r/*.c src/ /code/
	COPY one.txt /single
EOF
mkdir -p cases/glob/dir cases/glob/src
for f in one.txt two.txt dir/a.c dir/b.h src/m.c; do printf '%s\n' "$f" >"cases/glob/$f"; done
touch -d @1600000000 cases/glob/*.txt cases/glob/dir/* cases/glob/src/m.c
add_case copy-nomatch <<-\EOF
	FROM busybox:local
	COPY *.none /x/
EOF
add_case chown-names <<-\EOF
	FROM busybox:local
	COPY passwd group /etc/
	COPY --chown=app:staff f /f1
	ADD --chown=app f /f2
	COPY --chown=app:7 f /f3
EOF
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/:/bin/sh\n' >cases/chown-names/passwd
printf 'root:x:0:\napp:x:1234:\nstaff:x:50:\n' >cases/chown-names/group
echo f >cases/chown-names/f
touch -d @1600000000 cases/chown-names/passwd cases/chown-names/group cases/chown-names/f
add_case chown-nouser <<-\EOF
	FROM busybox:local
	COPY passwd /etc/passwd
	COPY --chown=nobody passwd /x
EOF
printf 'root:x:0:0:root:/root:/bin/sh\n' >cases/chown-nouser/passwd
add_case extract <<-\EOF
	FROM busybox:local
	ADD a.tgz /x/
	ADD --chown=7:7 b.tar /y
	ADD plain.gz /z/
EOF
mkdir -p cases/extract/src/sub
printf 'one\n' >cases/extract/src/one
printf 'two\n' >cases/extract/src/sub/two
ln -s one cases/extract/src/link
chmod 0750 cases/extract/src/sub
touch -h -d @1600000000 cases/extract/src/one cases/extract/src/sub/two cases/extract/src/link \
	cases/extract/src/sub cases/extract/src
tar --owner=1000 --group=1000 -C cases/extract/src -czf cases/extract/a.tgz .
tar --owner=0 --group=0 -C cases/extract/src -cf cases/extract/b.tar sub one
echo "not a tar" | gzip -n >cases/extract/plain.gz
touch -d @1600000000 cases/extract/a.tgz cases/extract/b.tar cases/extract/plain.gz
# failing builds: message and exit code as docker's
add_case bad-instr <<-\EOF
	FROM busybox:local
	FOO bar
EOF
add_case bad-label <<-\EOF
	FROM busybox:local
	LABEL a
EOF
add_case bad-signal <<-\EOF
	FROM busybox:local
	STOPSIGNAL FOO
EOF
add_case bad-proto <<-\EOF
	FROM busybox:local
	EXPOSE 80/foo
EOF
add_case bad-target <<-\EOF
	FROM busybox:local AS a
EOF
echo "--target nope" >cases/bad-target/flags
add_case bad-subst <<-\EOF
	FROM busybox:local
	ENV X=${Y:?must be set}
EOF
add_case copy-missing <<-\EOF
	FROM busybox:local
	COPY nope /
EOF
add_case copy-forbidden <<-\EOF
	FROM busybox:local
	COPY ../x /
EOF
add_case copy-ignored <<-\EOF
	FROM busybox:local
	COPY secret /
EOF
echo secret >cases/copy-ignored/secret
echo secret >cases/copy-ignored/.dockerignore
add_case copy-outside <<-\EOF
	FROM busybox:local
	COPY outside /o
EOF
ln -s /etc/passwd cases/copy-outside/outside
add_case copy-multi <<-\EOF
	FROM busybox:local
	COPY Dockerfile Dockerfile /notdir
EOF
add_case bad-from <<-\EOF
	LABEL a=b
	FROM busybox:local
EOF
# hard links: the client's tar links a file to its inode's first path, and
# so hash them; a folder source keeps its links in the layer, a file source not
add_case copy-hardlink <<-\EOF
	FROM busybox:local
	COPY . /x/
	COPY b /single
	COPY d /dd/
	COPY a d /m/
EOF
mkdir -p cases/copy-hardlink/d && echo hi >cases/copy-hardlink/a && ln cases/copy-hardlink/a cases/copy-hardlink/b &&
	ln cases/copy-hardlink/a cases/copy-hardlink/d/c && echo e >cases/copy-hardlink/e
# the context as an archive on stdin (docker build - <ctx): cases/NAME.stdin
# names the archive; COPY hashes come from the archive's own headers
add_case stdin-tgz <<-\EOF
	FROM busybox:local
	COPY sub /s/
	COPY top /t
	COPY . /all/
EOF
mkdir -p cases/stdin-tgz/sub/deep && echo a >cases/stdin-tgz/sub/a && echo b >cases/stdin-tgz/sub/deep/b &&
	ln -s a cases/stdin-tgz/sub/l && echo top >cases/stdin-tgz/top &&
	tar -C cases/stdin-tgz --owner=1000 --group=1001 -czf cases/stdin-tgz.tar.gz . &&
	echo cases/stdin-tgz.tar.gz >cases/stdin-tgz.stdin
add_case stdin-tar <<-\EOF
	FROM busybox:local
	COPY top /t
EOF
echo top >cases/stdin-tar/top && mkdir cases/stdin-tar/df && mv cases/stdin-tar/Dockerfile cases/stdin-tar/df/Other &&
	(cd cases/stdin-tar && tar -cf ../stdin-tar.tar df top) && echo cases/stdin-tar.tar >cases/stdin-tar.stdin &&
	echo "-f df/Other" >cases/stdin-tar/flags
add_case stdin-nodockerfile <<-\EOF
	FROM busybox:local
EOF
(cd cases/stdin-nodockerfile && echo x >f && tar -cf ../stdin-nodockerfile.tar f) &&
	echo cases/stdin-nodockerfile.tar >cases/stdin-nodockerfile.stdin
# .dockerignore in an archive: dockerd leaves out only the Dockerfile and
# .dockerignore itself when it matches them, every other file stays
add_case stdin-ignore <<-\EOF
	FROM busybox:local
	COPY . /all/
	COPY secret a.log /picked/
EOF
(cd cases/stdin-ignore && mkdir sub && echo s >secret && echo l >a.log && echo k >keep.log && echo x >sub/x.log &&
	echo y >sub/y && printf 'secret\n*.log\n!keep.log\n.dockerignore\nDockerfile\nsub/*.log\n' >.dockerignore &&
	tar -cf ../stdin-ignore.tar .) && echo cases/stdin-ignore.tar >cases/stdin-ignore.stdin
add_case stdin-ignore-df <<-\EOF
	FROM busybox:local
	COPY Dockerfile /d
EOF
(cd cases/stdin-ignore-df && echo Dockerfile >.dockerignore && tar -cf ../stdin-ignore-df.tar .) &&
	echo cases/stdin-ignore-df.tar >cases/stdin-ignore-df.stdin
# of a folder too: the client sends them, the daemon removes them
add_case ignore-self <<-\EOF
	FROM busybox:local
	COPY . /all/
EOF
printf '.dockerignore\nDockerfile\n*.log\n' >cases/ignore-self/.dockerignore && echo a >cases/ignore-self/a &&
	echo l >cases/ignore-self/l.log
# ADD of URLs, served over loopback (dockerd fetches from the host's network
# too): downloaded, never extracted, named by the URL path, else by
# Content-Disposition (a .disposition file beside what is served), 0600,
# the mtime Last-Modified gives; failures as dockerd's
files_start "$TRASH/files" || skip_all "no HTTP file server for ADD URL"
W=$TRASH/files/www
mkdir -p "$W/sub" "$W/cd" "$W/bare" && echo hello >"$W/hello.txt" && echo data >"$W/sub/data.bin" &&
	echo 'attachment; filename="ignored.txt"' >"$W/sub/data.bin.disposition" &&
	echo 'inline; filename="named.txt"' >"$W/cd/.disposition" &&
	tar -C "$W" -czf "$W/x.tar.gz" hello.txt &&
	touch -d @1500000000 "$W/hello.txt" "$W/x.tar.gz"
add_case add-url <<-END
	FROM busybox:local
	ADD $FILES_URL/hello.txt /a/
	ADD $FILES_URL/hello.txt /b
	ADD $FILES_URL/x.tar.gz /c/
	ADD $FILES_URL/sub/data.bin /d/
	ADD --chown=1:2 $FILES_URL/hello.txt $FILES_URL/sub/data.bin /e/
	ADD $FILES_URL/cd/ /f/
	ADD $FILES_URL/bare/ /g
END
add_case add-url-404 <<-END
	FROM busybox:local
	ADD $FILES_URL/nope.txt /x
END
add_case add-url-noname <<-END
	FROM busybox:local
	ADD $FILES_URL/bare/ /y/
END
# the context argument of case NAME and what its stdin is
ctx_of() { if [ -f "cases/$1.stdin" ]; then echo -; else echo "cases/$1"; fi; }
stdin_of() { if [ -f "cases/$1.stdin" ]; then cat "cases/$1.stdin"; else echo /dev/null; fi; }

# the transcript without what depends on the run: IDs, the context size line
normalize() { grep -v '^Sending build context' "$1" | sed -E 's/[0-9a-f]{12}/<id>/g'; }

D=$TRASH/d
docker_side() {
	dockerd_start "$D" || return 77
	make_busybox_rootfs rootfs &&
		tar -C rootfs -cf - . | docker import - busybox:local >/dev/null &&
		docker save -o base.tar busybox:local || return 1
	for c in $(cat cases/list); do
		# shellcheck disable=SC2046
		docker build $(cat "cases/$c/flags" 2>/dev/null) -t "$c:1" "$(ctx_of "$c")" <"$(stdin_of "$c")" \
			>"res/$c.docker.out" 2>"res/$c.docker.err"
		echo $? >"res/$c.docker.rc"
		docker images -q --no-trunc "$c:1" >"res/$c.docker.id"
	done
	dockerd_stop "$D"
}
docker_side 2>docker-side.err
rc=$?
[ $rc -eq 77 ] && skip_all "dockerd does not start here: $(tail -n 3 docker-side.err | tr '\n' ' ')"
test_expect_success 'dockerd built the cases' '
	if [ $rc -ne 0 ]; then cat docker-side.err; false; fi &&
	test -s res/meta.docker.id && test -s res/run.docker.id
'
[ $rc -eq 0 ] || test_done

S=$TRASH/s
test_expect_success 'strata loads the same base image' '
	strata --data-root "$S" load -i base.tar >out && grep -qx "Loaded image: busybox:local" out
'

for c in $(cat cases/list); do
	test_expect_success "$c: same transcript, status and stderr as dockerd" "
		strata --data-root \"\$S\" build \$(cat cases/$c/flags 2>/dev/null) -t $c:1 $(ctx_of "$c") <$(stdin_of "$c") \
			>res/$c.strata.out 2>res/$c.strata.err
		echo \$? >res/$c.strata.rc &&
		test_cmp res/$c.docker.rc res/$c.strata.rc &&
		normalize res/$c.docker.out >want && normalize res/$c.strata.out >got &&
		test_cmp want got &&
		test_cmp res/$c.docker.err res/$c.strata.err
	"
	if [ "$(cat "res/$c.docker.rc")" = 0 ]; then
		test_expect_success "$c: same images along the parent chain" "
			strata --data-root \"\$S\" images -q --no-trunc $c:1 >res/$c.strata.id &&
			test -s res/$c.strata.id &&
			\$CMPB \$(case $c in copy|add|mkdir|from|runs|keep|glob|chown-names|extract|stdin-*|copy-hardlink|ignore-self|add-url) echo --times-in-layers;; esac) \"\$D/root\" \$(cat res/$c.docker.id) \"\$S\" \$(cat res/$c.strata.id)
		"
	else
		test_expect_success "$c: the failed build tagged nothing" "
			strata --data-root \"\$S\" images -q $c:1 >ids && test_line_count ids 0
		"
	fi
done

test_expect_success 'copy, add, mkdir, from, runs, glob, chown-names, extract, stdin-*, copy-hardlink, ignore-self, add-url: the same files in every layer, the same diff ID where no time is in it' '
	for c in copy add mkdir from runs glob chown-names extract stdin-tgz stdin-tar stdin-ignore copy-hardlink ignore-self add-url; do
		strata --data-root "$D/root" save $c:1 >docker-$c.tar &&
		strata --data-root "$S" save $c:1 >strata-$c.tar &&
		python3 "$TEST_LIB_DIR/layercmp.py" docker-$c.tar strata-$c.tar || return 1
	done &&
	strata --data-root "$D/root" inspect -f "{{index .RootFS.Layers 1}}" copy:1 >want &&
	strata --data-root "$S" inspect -f "{{index .RootFS.Layers 1}}" copy:1 >got && test_cmp want got
'

test_expect_success 'only the tagged image has lastUpdated' '
	md=$S/image/overlay2/imagedb/metadata/sha256 &&
	id=$(cat res/meta.strata.id) && test -f "$md/${id#sha256:}/lastUpdated" &&
	parent=$(cat "$md/${id#sha256:}/parent") && test ! -e "$md/${parent#sha256:}/lastUpdated"
'

test_expect_success 'intermediate images are listed by images -a only' '
	strata --data-root "$S" images -a -q >all && strata --data-root "$S" images -q >top &&
	test $(wc -l <all) -gt 20 && test $(wc -l <top) -lt $(($(wc -l <all) / 2))
'

test_expect_success 'a rebuild is cached on every step' '
	strata --data-root "$S" build $(cat cases/meta/flags) -t meta:2 cases/meta >again &&
	test $(grep -c "^ ---> Using cache" again) = 20 && ! grep -q "Running in" again &&
	grep -qx "Successfully built $(cut -c8-19 res/meta.strata.id)" again
'

test_expect_success '-q prints the ID only, --iidfile writes it, --no-cache builds anew' '
	strata --data-root "$S" build -q cases/run >q && test_cmp res/run.strata.id q &&
	strata --data-root "$S" build -q --iidfile iid cases/run >/dev/null &&
	printf %s "$(cat res/run.strata.id)" >want && test_cmp want iid &&
	strata --data-root "$S" build --no-cache cases/scratch >nc && ! grep -q "Using cache" nc &&
	grep -q "Running in" nc
'

test_expect_success 'strata reuses what dockerd built: Using cache on every step' '
	for c in meta onbuild run copy mkdir from runs add-url; do
		strata --data-root "$D/root" build $(cat cases/$c/flags 2>/dev/null) cases/$c >out || return 1
		! grep -q "Running in" out || { cat out; return 1; }
		grep -qx "Successfully built $(cut -c8-19 res/$c.docker.id)" out || { cat out; return 1; }
	done
'

# the hash dockerd's lazy source gives a downloaded FILE holding DATA: its 0600 header, root's names
url_hash() {
	python3 - "$1" "$2" <<-\END
	import grp, hashlib, pwd, sys
	name, data = sys.argv[1], sys.argv[2].encode()
	hdr = "name%smode33152uid0gid0size%dtypeflag0linknameuname%sgname%sdevmajor0devminor0" % (
	    name, len(data), pwd.getpwuid(0).pw_name, grp.getgrgid(0).gr_name)
	print(hashlib.sha256(hdr.encode() + data).hexdigest())
	END
}

test_expect_success 'ADD URL downloads on every build: a changed file is no cache hit; a name of .. and an unreachable host are errors' '
	mkdir -p url-again && printf "FROM busybox:local\nADD $FILES_URL/again.txt /again\n" >url-again/Dockerfile &&
	echo one >"$W/again.txt" &&
	strata --data-root "$S" build url-again >out1 && ! grep -q "Using cache" out1 &&
	strata --data-root "$S" build url-again >out2 && grep -q "^ ---> Using cache" out2 &&
	echo two >"$W/again.txt" &&
	strata --data-root "$S" build -t again:1 url-again >out3 && ! grep -q "Using cache" out3 &&
	strata --data-root "$S" history --no-trunc --format "{{.CreatedBy}}" again:1 | head -n 1 >got &&
	echo "/bin/sh -c #(nop) ADD $(url_hash again.txt "two
") in /again " >want && test_cmp want got &&
	# a hostile Content-Disposition names no file outside the destination
	mkdir -p "$W/dots" && echo "attachment; filename=\"..\"" >"$W/dots/.disposition" &&
	printf "FROM busybox:local\nADD $FILES_URL/dots/ /h/\n" >url-again/Dockerfile &&
	test_expect_code 1 strata --data-root "$S" build url-again >out 2>err &&
	echo "ADD failed: cannot determine filename for source $FILES_URL/dots/" >want && test_cmp want err &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	printf "FROM busybox:local\nADD http://127.0.0.1:$port/x /x\n" >url-again/Dockerfile &&
	strata --data-root "$S" images -q -a --no-trunc | sort >before &&
	test_expect_code 1 strata --data-root "$S" build url-again >out 2>err &&
	grep -q "^ADD failed: Get \"http://127.0.0.1:$port/x\": .*connect" err &&
	strata --data-root "$S" images -q -a --no-trunc | sort >after && test_cmp before after &&
	find "$S" -path "$S/tmp/*" >left && test_cmp /dev/null left &&
	strata --data-root "$S" check >/dev/null
'

test_expect_success 'dockerd reuses what strata built: Using cache on every step' '
	dockerd_start "$TRASH/d2" --data-root "$S" 2>d2.err || { cat d2.err; false; }
'
test_expect_success 'dockerd lists the containers strata --rm=false kept as strata lists its own, and removes them' '
	docker ps -a --no-trunc --format "{{.ID}} {{.State}} {{.Command}}" >got &&
	strata --data-root "$S" ps -a --no-trunc --format "{{.ID}} {{.State}} {{.Command}}" >want &&
	test_cmp want got &&
	strata --data-root "$D/root" ps -a --no-trunc --format "{{.State}} {{.Command}}" >want &&
	cut -d" " -f2- got >states && test_cmp want states &&
	grep -c "^created " states >n && echo 3 >want && test_cmp want n &&
	wd=$(grep "WORKDIR /kept-dir" got | cut -d" " -f1) && docker diff "$wd" >wd.diff &&
	echo "A /kept-dir" >want && test_cmp want wd.diff &&
	docker rm $(grep -v " exited \"/bin/sh -c '"'"'exit 3" got | cut -d" " -f1) >/dev/null
'
test_expect_success 'dockerd on strata'"'"'s store: cache hits and the image runs' '
	for c in meta onbuild run copy mkdir from runs add-url; do
		docker build $(cat cases/$c/flags 2>/dev/null) cases/$c >out || { cat out; return 1; }
		! grep -q "Running in" out || { cat out; return 1; }
		grep -qx "Successfully built $(cut -c8-19 res/$c.strata.id)" out || { cat out; return 1; }
	done &&
	docker run --rm --network none run:1 >ran && echo "built by strata" >want && test_cmp want ran &&
	docker run --rm --network none runs:1 >ran && printf "second\nexec\n" >want && test_cmp want ran
'
dockerd_stop "$TRASH/d2"

test_done
