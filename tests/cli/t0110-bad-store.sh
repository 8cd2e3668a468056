#!/bin/bash
# Bad input: a damaged store, an unreadable one, one that a dockerd is using.
# Every failing command must print exactly one clear error line on stderr
# ("Error..."), exit non-zero without a crash, and leave the store exactly as
# it was (checksum listing before/after).
#
# The store is built by a real dockerd (busybox:local imported, small:1 built
# FROM it with one COPY layer), then copied once per case.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"
. "$TEST_LIB_DIR/store.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

D=$TRASH/d
PRISTINE=$D/root
build_store() {
	dockerd_start "$D" || return 77
	make_busybox_rootfs "$TRASH/rootfs" &&
		tar -C "$TRASH/rootfs" -cf - . | docker import - busybox:local >/dev/null &&
		mkdir -p "$TRASH/ctx" &&
		printf 'FROM busybox:local\nCOPY f.txt /f.txt\n' >"$TRASH/ctx/Dockerfile" &&
		echo small >"$TRASH/ctx/f.txt" &&
		DOCKER_BUILDKIT=0 docker build --network none -q -t small:1 "$TRASH/ctx" >/dev/null &&
		docker tag small:1 small:2 &&
		SMALL_ID=$(docker inspect --format '{{.Id}}' small:1) &&
		dockerd_stop "$D"
}
build_store 2>"$TRASH/build.err"
rc=$?
[ $rc -eq 77 ] && skip_all "dockerd does not start here: $(tail -n 3 "$TRASH/build.err" | tr '\n' ' ')"
test_expect_success 'a store built by dockerd' '
	if [ $rc -ne 0 ]; then cat "$TRASH/build.err"; false; fi &&
	test -n "$SMALL_ID"
'
[ $rc -eq 0 ] || test_done
SMALL_ID=${SMALL_ID#sha256:}

# fresh_copy NAME: a private copy of the pristine store, path in $R
fresh_copy() {
	R=$TRASH/case-$1/root
	rm -rf "$TRASH/case-$1"
	mkdir -p "$TRASH/case-$1"
	cp -a "$PRISTINE" "$R"
}

# fails_cleanly ARGS...: strata --data-root $R ARGS fails with one "Error"
# line on stderr, no crash, and the store listing is unchanged.
fails_cleanly() {
	local listing_args=${LISTING_ARGS:-} rc
	# shellcheck disable=SC2086
	store_listing "$R" $listing_args >"$TRASH/before" || return 1
	strata --data-root "$R" "$@" >"$TRASH/out" 2>"$TRASH/err"
	rc=$?
	check_failure "$rc" "$*" || return 1
	# shellcheck disable=SC2086
	store_listing "$R" $listing_args >"$TRASH/after" || return 1
	if ! cmp -s "$TRASH/before" "$TRASH/after"; then
		echo "strata $* changed the store:"
		diff -u "$TRASH/before" "$TRASH/after" | head -n 40
		return 1
	fi
}

# check_failure RC CMD: judge $TRASH/err and the status.
check_failure() {
	local rc=$1 cmd=$2 n
	if [ "$rc" -eq 0 ]; then
		echo "strata $cmd succeeded; stdout:"
		cat "$TRASH/out"
		return 1
	fi
	if _is_crash "$rc"; then
		echo "strata $cmd died with signal $((rc - 128)):"
		cat "$TRASH/err"
		return 1
	fi
	n=$(wc -l <"$TRASH/err")
	if [ "$n" -ne 1 ] || ! grep -q '^Error' "$TRASH/err"; then
		echo "strata $cmd (exit $rc): expected one 'Error...' line on stderr, got $n:"
		cat "$TRASH/err"
		return 1
	fi
	echo "strata $cmd -> exit $rc: $(cat "$TRASH/err")"
}

# ---- damaged repositories.json -------------------------------------------
fresh_copy repos
REPOS=$R/image/overlay2/repositories.json
head -c 30 "$REPOS" >"$REPOS.tmp" && mv "$REPOS.tmp" "$REPOS"
for cmd in 'images' 'images -a' 'inspect busybox:local' 'history small:1' \
	'tag busybox:local x:1' 'rmi small:2' 'rmi -f small:1' 'image prune -f'; do
	test_expect_success "damaged repositories.json: strata $cmd fails cleanly" \
		"fails_cleanly $cmd"
done

# ---- a config whose bytes do not match its name ----------------------------
fresh_copy config
CFG=$(store_config_path "$R" "$SMALL_ID")
# same length, one byte changed: still valid JSON, wrong digest
sed -i 's/"architecture":"amd64"/"architecture":"AMD64"/' "$CFG"
test_expect_success 'the damaged config really differs' '
	! echo "$SMALL_ID  $CFG" | sha256sum -c --quiet - 2>/dev/null
'
for cmd in 'inspect small:1' "inspect $SMALL_ID" 'history small:1' 'tag small:1 x:1'; do
	test_expect_success "config digest mismatch: strata $cmd fails cleanly" \
		"fails_cleanly $cmd"
done

# ---- a layer without its diff file -----------------------------------------
fresh_copy layer
TOP=$(store_chain_ids "$R" "$SMALL_ID" | tail -n 1)
rm -f "$R/image/overlay2/layerdb/sha256/$TOP/diff"
for cmd in 'inspect small:1' 'history small:1'; do
	test_expect_success "layer missing its diff file: strata $cmd fails cleanly" \
		"fails_cleanly $cmd"
done

# ---- a data root that does not exist ----------------------------------------
# Either a clean error or an empty list (docker shows an empty list for a new
# root), but a read command must not create a store.
test_expect_success 'missing data root: strata images creates nothing' '
	R=$TRASH/no-such-root &&
	strata --data-root "$R" images >"$TRASH/out" 2>"$TRASH/err"
	rc=$? &&
	if [ $rc -ne 0 ]; then
		check_failure $rc "images (missing root)"
	else
		printf "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n" >"$TRASH/empty" &&
		test_cmp "$TRASH/empty" "$TRASH/out"
	fi &&
	test ! -e "$R"
'

# ---- a data root the user cannot read --------------------------------------
# root reads everything whatever the modes are, so run strata as nobody.
RUN_AS=
if command -v setpriv >/dev/null 2>&1; then
	RUN_AS="setpriv --reuid=65534 --regid=65534 --clear-groups --"
elif command -v runuser >/dev/null 2>&1; then
	RUN_AS="runuser -u nobody --"
fi
if [ "$(id -u)" -eq 0 ] && [ -n "$RUN_AS" ]; then
	test_set_prereq NOBODY
else
	test_prereq_missing NOBODY "needs root and setpriv or runuser"
fi
fresh_copy perm
mkdir -p "$TRASH/bin" && cp "$STRATA_BIN" "$TRASH/bin/strata" 2>/dev/null
chmod -R a+rX "$TRASH/bin" 2>/dev/null
# nobody may reach the data root (dockerd made it 0711); image/ (0700, root)
# and overlay2/ (0710) stay as dockerd made them
chmod a+rx "$TRASH/case-perm"
test_expect_success NOBODY 'unreadable data root: strata images as nobody fails cleanly' '
	test -x "$TRASH/bin/strata" &&
	store_listing "$R" >"$TRASH/before" &&
	$RUN_AS "$TRASH/bin/strata" --data-root "$R" images >"$TRASH/out" 2>"$TRASH/err"
	check_failure $? "images (as nobody)" &&
	store_listing "$R" >"$TRASH/after" &&
	test_cmp "$TRASH/before" "$TRASH/after"
'
test_expect_success NOBODY 'unreadable data root: strata tag as nobody fails cleanly' '
	$RUN_AS "$TRASH/bin/strata" --data-root "$R" tag busybox:local x:1 >"$TRASH/out" 2>"$TRASH/err"
	check_failure $? "tag (as nobody)" &&
	store_listing "$R" >"$TRASH/after" &&
	test_cmp "$TRASH/before" "$TRASH/after"
'

# ---- a dockerd running on the data root ------------------------------------
fresh_copy live
LD=$TRASH/case-live
test_expect_success 'a dockerd starts on the data root' '
	dockerd_start "$LD" 2>"$TRASH/live.err" || { cat "$TRASH/live.err"; false; }
'
if dockerd_running "$LD"; then
	test_set_prereq LIVE
else
	test_prereq_missing LIVE "dockerd did not start"
fi
test_expect_success LIVE 'running dockerd: strata images works and matches docker' '
	t0=$(date +%s.%N) && docker images >"$TRASH/docker-images" && t1=$(date +%s.%N) &&
	a0=$(date +%s.%N) && strata --data-root "$R" images >"$TRASH/strata-images" &&
	a1=$(date +%s.%N) &&
	python3 "$TEST_LIB_DIR/cmpout.py" --store "$R" --expected-time $t0 $t1 \
		--actual-time $a0 $a1 "$TRASH/docker-images" "$TRASH/strata-images"
'
test_expect_success LIVE 'running dockerd: strata inspect works and matches docker' '
	docker inspect small:1 >"$TRASH/docker-inspect" &&
	strata --data-root "$R" inspect small:1 >"$TRASH/strata-inspect" &&
	test_cmp "$TRASH/docker-inspect" "$TRASH/strata-inspect"
'
for cmd in 'tag busybox:local x:1' 'rmi small:2' 'rmi -f small:1' 'image prune -f'; do
	test_expect_success LIVE "running dockerd: strata $cmd refuses cleanly" \
		"LISTING_ARGS='image overlay2' fails_cleanly $cmd"
done
test_expect_success LIVE 'running dockerd: docker sees no change' '
	docker images --format "{{.Repository}}:{{.Tag}}" | sort >"$TRASH/tags" &&
	printf "busybox:local\nsmall:1\nsmall:2\n" >"$TRASH/tags.expected" &&
	test_cmp "$TRASH/tags.expected" "$TRASH/tags"
'
dockerd_stop "$LD"

test_done
