#!/bin/bash
# strata system df [-v] and system prune [-a] against dockerd 20.10 on the
# same store: a busybox image imported twice (one layer shared by two images),
# images committed from stopped containers filled with docker cp (layers
# shared down the chain), a dangling image, containers with rw data.  The
# tables must be docker's byte for byte; the CREATED/STATUS times are the only
# thing that may drift (both sides' "N seconds ago" become "T ago" and runs
# of spaces are squeezed in the -v tables only).  Prune runs on copies of the
# store, one by docker and one by strata: same output (dockerd deletes the
# images in Go map order, so those lines are compared as a set), same images
# and containers left.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
D=$TRASH/d
s() { strata --data-root "$1" "${@:2}"; }
# relative times drift between the two runs: one token, aligned or not
untime() {
	sed -E 's/(Less than a second|About a minute|About an hour|[0-9]+ (seconds?|minutes?|hours?)) ago/T ago/g; s/   +/  /g' "$@"
}
VRANGE='{{range .Images}}{{.ID}} {{.Size}} {{.VirtualSize}} {{.UniqueSize}}|{{end}}{{range .Containers}}{{.ID}} {{.Image}} {{.Command}} {{.Size}}|{{end}}'
left() { # the images (ID and tags) and containers (ID) a store holds
	s "$1" images -a --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort &&
	s "$1" ps -a --no-trunc --format '{{.ID}} {{.Names}}' | sort
}

test_expect_success 'dockerd: images sharing layers, stopped containers, a dangling image' '
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	head -c 301234 /dev/urandom >f1 && head -c 123456 /dev/urandom >f2 &&
	head -c 5000 /dev/urandom >f3 && head -c 7000 /dev/urandom >f4 &&
	dockerd_start "$D" &&
	docker import base.tar bb:1 >/dev/null && sleep 1 &&
	docker create --network none --name c1 bb:1 sh >/dev/null &&
	docker cp f1 c1:/f1 && docker commit c1 app:1 >/dev/null && sleep 1 &&
	docker create --network none --name c2 app:1 sh >/dev/null &&
	docker cp f2 c2:/f2 && docker commit c2 app:2 >/dev/null &&
	docker tag app:2 app:latest && docker tag app:2 zz/app:2 && sleep 1 &&
	docker create --network none --name c3 bb:1 sh >/dev/null &&
	docker cp f3 c3:/f3 && docker commit c3 dang:1 >/dev/null && sleep 1 &&
	docker cp f4 c3:/f4 && docker commit c3 dang:1 >/dev/null && sleep 1 &&
	docker import base.tar other:1 >/dev/null &&
	docker create --network none --name c4 app:2 sh >/dev/null &&
	docker system df >docker-df &&
	docker system df -v >docker-df-v &&
	docker system df --format "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}" >docker-df-format &&
	docker system df --format "table {{.Type}}\t{{.Reclaimable}}" >docker-df-table &&
	docker system df --format "{{json .}}" >docker-df-json &&
	docker system df -v --format "{{json .}}" >docker-df-v-json &&
	docker system df -v --format "$VRANGE" >docker-df-v-range &&
	for f in "{{" "{{.Nope}}"; do
		docker system df --format "$f" >>docker-df-bad 2>&1; echo "rc=$?" >>docker-df-bad
		docker system df -v --format "$f" >>docker-df-bad 2>&1; echo "rc=$?" >>docker-df-bad
	done &&
	echo n | docker system prune >docker-prompt &&
	echo n | docker system prune -a --volumes >docker-prompt-a &&
	dockerd_stop "$D" &&
	for c in prune prune-a; do
		mkdir "$TRASH/$c-d" && cp -a "$D/root" "$TRASH/$c-d/root" && cp -a "$D/root" "$TRASH/$c-strata" || return 1
	done
'

test_expect_success 'system df: docker'\''s table' '
	s "$D/root" system df >strata-df &&
	test_cmp docker-df strata-df
'

test_expect_success 'system df --format: docker'\''s templates' '
	s "$D/root" system df --format "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}" >strata-df-format &&
	test_cmp docker-df-format strata-df-format &&
	s "$D/root" system df --format "table {{.Type}}\t{{.Reclaimable}}" >strata-df-table &&
	test_cmp docker-df-table strata-df-table &&
	s "$D/root" system df --format "{{json .}}" >strata-df-json &&
	test_cmp docker-df-json strata-df-json
'

test_expect_success 'system df -v: docker'\''s tables, times aside' '
	s "$D/root" system df -v >strata-df-v &&
	untime docker-df-v >expect && untime strata-df-v >actual &&
	test_cmp expect actual
'

test_expect_success 'system df -v --format: one execution over all the lists, untruncated' '
	s "$D/root" system df -v --format "{{json .}}" >strata-df-v-json &&
	untime docker-df-v-json >expect && untime strata-df-v-json >actual &&
	test_cmp expect actual &&
	s "$D/root" system df -v --format "$VRANGE" >strata-df-v-range &&
	test_cmp docker-df-v-range strata-df-v-range
'

test_expect_success 'system prune: docker'\''s prompt; no answer, nothing removed' '
	echo n | s "$D/root" system prune >strata-prompt &&
	test_cmp docker-prompt strata-prompt &&
	echo n | s "$D/root" system prune -a --volumes >strata-prompt-a &&
	test_cmp docker-prompt-a strata-prompt-a &&
	s "$D/root" system df >after-no &&
	test_cmp docker-df after-no
'

for a in "" -a; do
	c=prune$a
	test_expect_success "system prune $a -f: what docker removes, the same total" '
		dockerd_start "$TRASH/$c-d" &&
		docker system prune $a -f >$c-docker.out &&
		dockerd_stop "$TRASH/$c-d" &&
		s "$TRASH/$c-strata" system prune $a -f >$c-strata.out &&
		sed -n "/^Deleted Containers:/,/^\$/p" $c-docker.out >expect &&
		sed -n "/^Deleted Containers:/,/^\$/p" $c-strata.out >actual &&
		test_cmp expect actual &&
		sort $c-docker.out >expect && sort $c-strata.out >actual &&
		test_cmp expect actual &&
		left "$TRASH/$c-d/root" >expect && left "$TRASH/$c-strata" >actual &&
		test_cmp expect actual &&
		s "$TRASH/$c-strata" check >/dev/null
	'
done

test_expect_success 'partial pull downloads: a line on stderr by df, removed by prune' '
	cp -a "$D/root" part &&
	head -c 4096 /dev/urandom >"part/image/overlay2/layerdb/tmp/pull-$(printf "%064d" 7).partial" &&
	s part system df >out 2>err &&
	test_cmp docker-df out &&
	echo "Partial pull downloads: 1, 4.096kB (resumed by the next pull; strata system prune removes them)" >expect &&
	test_cmp expect err &&
	s part system prune -f >out &&
	printf "%s\n" "Deleted partial pull downloads:" "pull-$(printf "%064d" 7).partial" "" >expect &&
	grep -q "^Total reclaimed space: " out &&
	sed -n "/^Deleted partial/,/^$/p" out >actual &&
	test_cmp expect actual &&
	s part system df >out 2>err &&
	test ! -s err
'

command -v runc >/dev/null 2>&1 && test_set_prereq RUNC ||
	test_prereq_missing RUNC "runc not installed"

test_expect_success RUNC 'a running container is active, its rw size not reclaimable' '
	cp -a "$D/root" run &&
	{ "$STRATA_BIN" --data-root "$TRASH/run" run --name r1 bb:1 sh -c \
		"/bin/busybox head -c 50000 /dev/zero >/big; echo started; exec /bin/busybox sleep 1000" >run.out 2>&1 & } &&
	PID=$! &&
	test_atexit "kill -9 $PID" &&
	for i in $(seq 100); do grep -q started run.out 2>/dev/null && break; sleep 0.1; done &&
	grep -q started run.out &&
	ID=$(s run ps -q --no-trunc) && test ${#ID} -eq 64 && test_atexit "runc delete -f $ID" &&
	stopped=$(awk "/^Containers/ { print \$4 }" docker-df) &&
	s run system df --format "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Reclaimable}}" >out &&
	grep "^Containers|5|1|$stopped (" out &&
	grep "^Images|6|3|" out &&
	s run system df -v --format "{{range .Containers}}{{.Names}} {{.State}} {{.Size}}|{{end}}" >out &&
	grep "^r1 running 50kB|" out &&
	runc kill $ID KILL && { wait $PID; test $? -eq 137; } &&
	! grep -q "$TRASH/run/" /proc/mounts
'

test_expect_success 'bad templates: docker'\''s errors and exit status' '
	for f in "{{" "{{.Nope}}"; do
		s "$D/root" system df --format "$f" >>strata-df-bad 2>&1; echo "rc=$?" >>strata-df-bad
		s "$D/root" system df -v --format "$f" >>strata-df-bad 2>&1; echo "rc=$?" >>strata-df-bad
	done &&
	test_cmp docker-df-bad strata-df-bad
'

test_expect_success 'bad input: unknown subcommand and flag' '
	test_expect_code 1 s "$D/root" system nope 2>err &&
	grep -q "is not a strata command" err &&
	must_fail s "$D/root" system df --nope 2>err &&
	grep -q "unknown flag: --nope" err
'

test_done
