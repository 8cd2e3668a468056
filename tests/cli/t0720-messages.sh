#!/bin/bash
# Messages as docker 20.10 prints them, on the same store: a bad --platform
# fails before any registry is reached, an unreachable registry is reported
# with Go's connection error (pull and push: the push names the connection,
# not a broken layer stream), push of a missing repository or tag, and load
# of an empty input.  Each case: stdout, stderr (docker's name replaced by
# strata's) and exit status equal to what the 20.10 client printed.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

D=$TRASH/d
ROOT=$D/root
mkdir -p want got
# a loopback port nothing listens on: connections are refused at once
PORT=$(_free_port) || skip_all "no free port"
export PORT

# NAME|ARGS (eval'ed)
cases() {
	cat <<'EOF'
pull-platform-bogus|pull --platform bogus 127.0.0.1:$PORT/x
pull-platform-parts|pull --platform a/b/c/d 127.0.0.1:$PORT/x
pull-platform-wildcard|pull --platform 'x*' 127.0.0.1:$PORT/x
pull-platform-component|pull --platform lin.ux/amd64 127.0.0.1:$PORT/x
pull-platform-empty-part|pull --platform linux/ 127.0.0.1:$PORT/x
pull-unreachable|pull 127.0.0.1:$PORT/x
pull-unreachable-platform|pull --platform linux/arm64 127.0.0.1:$PORT/x:1
pull-unreachable-arch|pull --platform amd64 127.0.0.1:$PORT/x:1
push-unreachable|push 127.0.0.1:$PORT/bb:1
push-unreachable-default-tag|push 127.0.0.1:$PORT/bb
push-no-repository|push nosuch:1
push-no-repository-registry|push 127.0.0.1:$PORT/nosuch
push-no-tag|push 127.0.0.1:$PORT/bb:2
push-bad-reference|push 'A b'
EOF
}

test_expect_success 'dockerd imports a busybox image and docker output is captured' '
	make_busybox_rootfs rootfs &&
	dockerd_start "$D" &&
	tar -C rootfs -cf - . | docker import - bb:1 >/dev/null &&
	docker tag bb:1 127.0.0.1:$PORT/bb:1 &&
	docker tag bb:1 127.0.0.1:$PORT/bb:latest &&
	while IFS="|" read -r name args; do
		eval "docker $args" >"want/$name.out" 2>"want/$name.err"
		echo $? >"want/$name.rc"
		sed -i "s/docker/strata/g" "want/$name.err"
	done < <(cases) &&
	docker load </dev/null >want/load-empty.out 2>want/load-empty.err
	echo $? >want/load-empty.rc &&
	dockerd_stop "$D"
'

while IFS='|' read -r name args; do
	test_expect_success "$name: strata $args as docker" '
		eval "strata --data-root \"\$ROOT\" $args" >"got/$name.out" 2>"got/$name.err"
		echo $? >"got/$name.rc" &&
		test_cmp "want/$name.out" "got/$name.out" &&
		test_cmp "want/$name.err" "got/$name.err" &&
		test_cmp "want/$name.rc" "got/$name.rc"
	'
done < <(cases)

test_expect_success 'a bad --platform leaves the store as it was' '
	(cd "$ROOT" && find . | sort) >before &&
	test_expect_code 1 strata --data-root "$ROOT" pull --platform bogus 127.0.0.1:$PORT/x &&
	(cd "$ROOT" && find . | sort) >after &&
	test_cmp before after
'

# docker names its own temp folder (tmp/docker-import-NNN/repositories): the
# message is docker's with strata's reason after it
test_expect_success 'load of an empty stdin: docker`s message, then why' '
	strata --data-root "$ROOT" load </dev/null >got/load-empty.out 2>got/load-empty.err
	echo $? >got/load-empty.rc &&
	test_cmp want/load-empty.rc got/load-empty.rc &&
	test_cmp want/load-empty.out got/load-empty.out &&
	grep -q "^open .*/repositories: no such file or directory$" want/load-empty.err &&
	echo "open repositories: no such file or directory (the input is empty: no archive to load)" >expect &&
	test_cmp expect got/load-empty.err
'

test_expect_success 'load of an archive with no image in it: docker`s message, then why' '
	mkdir -p emptydir && echo x >emptydir/file &&
	tar -C emptydir -cf none.tar file &&
	test_expect_code 1 strata --data-root "$ROOT" load -i none.tar 2>err &&
	echo "open repositories: no such file or directory (invalid archive: no manifest.json, index.json or repositories)" >expect &&
	test_cmp expect err
'

test_done
