#!/bin/bash
# strata's containers and dockerd 20.10's on one data root: dockerd lists,
# starts, logs, commits and removes what strata created; strata lists, logs,
# diffs, exports, commits and removes what dockerd created; commits of the
# same container give the same layer either way.  dockerd lists docker diff
# in Go map order (random): the lines are compared as sets.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
command -v runc >/dev/null 2>&1 || skip_all "runc not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
D=$TRASH/d
R=$D/root
s() { strata --data-root "$R" "$@"; }
PSF='{{.ID}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Names}}'
layers() { s inspect --format '{{json .RootFS.Layers}}' "$1"; }

test_expect_success 'strata: an image and two containers' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	s import base.tar bb:1 >/dev/null &&
	test_expect_code 3 s run --name s1 bb:1 sh -c "echo from strata; mkdir /x; echo a >/x/a; rm /bin/cat; exit 3" >out &&
	echo "from strata" >expect && test_cmp expect out &&
	s create --name s2 bb:1 echo created >/dev/null &&
	s ps -a --no-trunc --format "$PSF" >strata-ps &&
	s commit s1 s1-by-strata:1 >/dev/null
'

test_expect_success 'dockerd on the store: ps, logs, start -a, diff, commit, rm of strata containers' '
	dockerd_start "$D" &&
	docker ps -a --no-trunc --format "$PSF" >docker-ps &&
	docker logs s1 >docker-logs &&
	docker start -a s2 >docker-start &&
	docker diff s1 | sort >docker-diff-s1 &&
	docker commit s1 s1-by-docker:1 >/dev/null &&
	docker run --network none --name d1 bb:1 sh -c "echo from docker; mkdir /y; echo b >/y/b; rm -rf /bin/cp; exit 2" >docker-run
	echo $? >docker-run.rc &&
	docker create --network none --name d2 bb:1 sh >/dev/null &&
	docker diff d1 | sort >docker-diff-d1 &&
	docker export d1 | tar -tvf - | sort >docker-export-d1 &&
	docker logs d1 >docker-logs-d1 &&
	docker commit -a someone d1 d1-by-docker:1 >/dev/null &&
	docker rm s2 >/dev/null &&
	docker ps -a --no-trunc --format "$PSF" >docker-ps-after &&
	dockerd_stop "$D"
'

test_expect_success 'dockerd saw strata containers as strata does' '
	test_cmp strata-ps docker-ps &&
	echo "from strata" >expect && test_cmp expect docker-logs &&
	echo created >expect && test_cmp expect docker-start &&
	s diff s1 | sort >strata-diff-s1 && test_cmp docker-diff-s1 strata-diff-s1
'

test_expect_success 'the same container committed by docker and by strata: the same layer' '
	layers s1-by-strata:1 >a && layers s1-by-docker:1 >b && test_cmp a b
'

test_expect_success 'strata reads dockerd containers as dockerd does' '
	echo "from docker" >expect && test_cmp expect docker-run && echo 2 >expect && test_cmp expect docker-run.rc &&
	s ps -a --no-trunc --format "$PSF" >strata-ps-after && test_cmp docker-ps-after strata-ps-after &&
	s logs d1 >strata-logs-d1 && test_cmp docker-logs-d1 strata-logs-d1 &&
	s diff d1 | sort >strata-diff-d1 && test_cmp docker-diff-d1 strata-diff-d1 &&
	s export d1 | tar -tvf - | sort >strata-export-d1 &&
	sed "s/ [0-9-]* [0-9:]* / /" docker-export-d1 >a && sed "s/ [0-9-]* [0-9:]* / /" strata-export-d1 >b &&
	test_cmp a b &&
	s commit -a someone d1 d1-by-strata:1 >/dev/null &&
	layers d1-by-strata:1 >a && layers d1-by-docker:1 >b && test_cmp a b
'

test_expect_success 'strata starts and removes dockerd containers' '
	s start -a d2 </dev/null >out &&
	s ps -a --format "{{.Names}} {{.State}}" >out &&
	grep -q "^d2 exited$" out &&
	s rm d1 d2 s1 >out && printf "d1\nd2\ns1\n" >expect && test_cmp expect out &&
	s ps -a -q >out && test_line_count out 0 &&
	s check >/dev/null
'

test_expect_success 'dockerd accepts the store strata left' '
	dockerd_start "$D" &&
	docker ps -a -q >out && test_line_count out 0 &&
	docker run --rm --network none s1-by-strata:1 ls /x >out &&
	echo a >expect && test_cmp expect out &&
	dockerd_stop "$D"
'
test_done
