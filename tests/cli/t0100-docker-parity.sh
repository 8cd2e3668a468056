#!/bin/bash
# docker parity: build a store with a real dockerd 20.10 (tests/fixtures/parity),
# stop it, then run strata on the stopped store with the same arguments and
# compare stdout, stderr and exit status with what the 20.10 client printed.
# Then the store-changing commands (tag, rmi, image prune) against docker's
# behaviour on a copy of the same store, verify_store.py after each one, and
# finally dockerd restarted on the store strata changed must list the same
# images and run them.
#
# Allowed differences (tests/lib/cmpout.py): order of rows created in the same
# second, relative times drifting by the time that passed since the capture.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_REPO/tests/fixtures/parity/cases.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

FIX=$TRASH/fx
ROOT=$FIX/root
CMP="python3 $TEST_LIB_DIR/cmpout.py --store $ROOT"
VERIFY=$VERIFY_STORE

t_fix=$SECONDS
bash "$TEST_REPO/tests/fixtures/parity/build-store.sh" "$FIX" 2>"$TRASH/fixture.err"
rc=$?
[ $rc -eq 77 ] && skip_all "$(tail -n 1 "$TRASH/fixture.err")"
say "fixture built in $((SECONDS - t_fix))s (status $rc)"

test_expect_success 'fixture: dockerd builds the store and captures docker output' '
	if [ $rc -ne 0 ]; then cat "$TRASH/fixture.err" "$FIX/build.log"; false; fi &&
	test -s "$FIX/ids.env" &&
	test -s "$FIX/expected/images.out"
'
[ $rc -eq 0 ] || test_done
. "$FIX/ids.env"

test_expect_success 'fixture: no dockerd is left running on the store' '
	! dockerd_running "$FIX" &&
	! grep -q " $ROOT/" /proc/self/mounts
'

test_expect_success 'fixture: verify_store.py accepts the store dockerd wrote' '
	python3 "$VERIFY" "$ROOT"
'

now() { date +%s.%N; }

# check_case NAME MODE ARGS...: run strata with ARGS on the store and compare
# with the docker capture NAME.
check_case() {
	local name=$1 mode=$2 t0 t1 rc want opts
	shift 2
	t0=$(now)
	strata --data-root "$ROOT" "$@" >"$TRASH/$name.out" 2>"$TRASH/$name.err"
	rc=$?
	t1=$(now)
	echo "$t0 $t1" >"$TRASH/$name.time"
	if _is_crash "$rc"; then
		echo "strata $* died with signal $((rc - 128))"
		cat "$TRASH/$name.err"
		return 1
	fi
	want=$(cat "$FIX/expected/$name.rc")
	local ok=0
	case $mode in
	exact) opts=--exact ;;
	ordered) opts=--ordered ;;
	unordered) opts=--unordered ;;
	*) opts= ;;
	esac
	# shellcheck disable=SC2086
	$CMP $opts --label "stdout of strata $*" \
		--expected-time $(cat "$FIX/expected/$name.time") \
		--actual-time $t0 $t1 \
		"$FIX/expected/$name.out" "$TRASH/$name.out" || ok=1
	if ! cmp -s "$FIX/expected/$name.err" "$TRASH/$name.err"; then
		echo "stderr of strata $* differs:"
		diff -u "$FIX/expected/$name.err" "$TRASH/$name.err"
		ok=1
	fi
	if [ "$rc" != "$want" ]; then
		echo "strata $* exited $rc, docker $want"
		ok=1
	fi
	return $ok
}

# ---- read-only commands --------------------------------------------------
store_listing "$ROOT" >"$TRASH/listing.before"
while read -r name mode rest; do
	[ -n "$name" ] || continue
	eval "set -- $rest"
	args=$(printf "%q " "$@"); args=${args% }
	test_expect_success "parity: strata $args" "check_case $name $mode $args"
done < <(parity_read_cases)

test_expect_success 'read-only commands left the store unchanged' '
	store_listing "$ROOT" >"$TRASH/listing.after" &&
	test_cmp "$TRASH/listing.before" "$TRASH/listing.after"
'

# ---- commands that change the store ---------------------------------------
while read -r name mode rest; do
	[ -n "$name" ] || continue
	eval "set -- $rest"
	args=$(printf "%q " "$@"); args=${args% }
	test_expect_success "parity: strata $args" "check_case $name $mode $args"
	case $name in final-*) continue ;; esac
	test_expect_success "after strata $args: images -a as docker's" \
		"check_case $name.images-a grouped images -a"
	test_expect_success "after strata $args: verify_store.py passes" \
		'python3 "$VERIFY" "$ROOT"'
done < <(parity_mutation_steps)

# ---- dockerd on the store strata changed ----------------------------------
test_expect_success 'dockerd starts on the store strata changed' '
	: >"$FIX/dockerd.log" &&
	dockerd_start "$FIX"
'

if dockerd_running "$FIX"; then
	test_set_prereq DOCKERD
fi

# docker_matches NAME ARGS...: docker's live output equals what strata printed
# for case NAME (strata is "expected" here: it ran first).
docker_matches() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	docker "$@" >"$TRASH/docker-$name.out" 2>"$TRASH/docker-$name.err" || return 1
	t1=$(now)
	test_must_be_empty "$TRASH/docker-$name.err" &&
		$CMP --label "docker $* vs strata" \
			--expected-time $(cat "$TRASH/$name.time") --actual-time $t0 $t1 \
			"$TRASH/$name.out" "$TRASH/docker-$name.out"
}
test_must_be_empty() {
	[ ! -s "$1" ] && return 0
	echo "$1 is not empty:"
	cat "$1"
	return 1
}

test_expect_success DOCKERD 'dockerd loaded every image without complaint' '
	! grep -E "failed to verify|not restoring image|layer does not exist|level=error" "$FIX/dockerd.log"
'
test_expect_success DOCKERD 'docker images == strata images' '
	docker_matches final-images images
'
test_expect_success DOCKERD 'docker images -a == strata images -a' '
	docker_matches final-images-a images -a
'
test_expect_success DOCKERD 'docker runs the image that is left' '
	docker run --rm --network none seed-image:latest sh -c "test -f /startService.sh"
'
test_expect_success DOCKERD 'dockerd stops cleanly' '
	dockerd_stop "$FIX" &&
	! dockerd_running "$FIX"
'

test_done
