#!/bin/bash
# strata serve's image endpoints through the docker 20.10 CLI: the parity
# fixture's cases (tests/fixtures/parity: images in every flag combination,
# inspect, history, tag, rmi with its conflicts and -f, image prune) run by
# /usr/bin/docker against strata serve on the store a real dockerd built,
# compared with what the same client printed against that dockerd, and with
# strata's own CLI on the same store; then system df, image prune's filters
# and the image events, against strata's CLI.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/serve.sh"
. "$TEST_REPO/tests/fixtures/parity/cases.sh"

[ -x /usr/bin/docker ] || skip_all "/usr/bin/docker (the 20.10 client) not installed"
command -v curl >/dev/null || skip_all "curl not installed"
dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

FIX=$TRASH/fx
ROOT=$FIX/root
CMP="python3 $TEST_LIB_DIR/cmpout.py --store $ROOT"
export DOCKER_BUILDKIT=0 LC_ALL=C.UTF-8 TZ=UTC DOCKER_CONFIG=$TRASH/docker-config

bash "$TEST_REPO/tests/fixtures/parity/build-store.sh" "$FIX" 2>"$TRASH/fixture.err"
rc=$?
[ $rc -eq 77 ] && skip_all "$(tail -n 1 "$TRASH/fixture.err")"

test_expect_success 'fixture: dockerd builds the store and captures docker output' '
	if [ $rc -ne 0 ]; then cat "$TRASH/fixture.err" "$FIX/build.log"; false; fi &&
	! dockerd_running "$FIX"
'
[ $rc -eq 0 ] || test_done
. "$FIX/ids.env"

test_expect_success 'strata serve starts on the store dockerd wrote' '
	serve_start "$FIX"
'

now() { date +%s.%N; }
docker_cli() { /usr/bin/docker "$@"; }

# check_case NAME MODE ARGS...: the docker CLI through strata serve against
# the dockerd capture NAME, and strata's CLI on the same store (read-only
# cases only: a mutation would change the store twice) against the same.
check_case() {
	local name=$1 mode=$2 rc want opts ok=0 t0 t1 s0 s1 srv
	shift 2
	t0=$(now)
	docker_cli "$@" >"$TRASH/$name.out" 2>"$TRASH/$name.err"
	rc=$?
	t1=$(now)
	want=$(cat "$FIX/expected/$name.rc")
	case $mode in
	exact) opts=--exact ;;
	ordered) opts=--ordered ;;
	unordered) opts=--unordered ;;
	*) opts= ;;
	esac
	# shellcheck disable=SC2086
	$CMP $opts --label "stdout of docker $* through strata serve" \
		--expected-time $(cat "$FIX/expected/$name.time") --actual-time $t0 $t1 \
		"$FIX/expected/$name.out" "$TRASH/$name.out" || ok=1
	if ! cmp -s "$FIX/expected/$name.err" "$TRASH/$name.err"; then
		echo "stderr of docker $* through strata serve differs:"
		diff -u "$FIX/expected/$name.err" "$TRASH/$name.err"
		ok=1
	fi
	[ "$rc" = "$want" ] || { echo "docker $* exited $rc through strata serve, $want against dockerd"; ok=1; }
	srv=$(cat "$FIX/serve.pid") && kill -0 "$srv" || { echo "strata serve died"; return 1; }
	[ "${CHECK_CLI:-1}" = 1 ] || return $ok
	s0=$(now)
	strata --data-root "$ROOT" "$@" >"$TRASH/$name.strata.out" 2>"$TRASH/$name.strata.err"
	s1=$(now)
	# shellcheck disable=SC2086
	$CMP $opts --label "strata $* vs docker through strata serve" \
		--expected-time $t0 $t1 --actual-time $s0 $s1 \
		"$TRASH/$name.out" "$TRASH/$name.strata.out" || ok=1
	return $ok
}

while read -r name mode rest; do
	[ -n "$name" ] || continue
	eval "set -- $rest"
	args=$(printf "%q " "$@"); args=${args% }
	test_expect_success "serve: docker $args" "check_case $name $mode $args"
done < <(parity_read_cases)

test_expect_success 'serve: history --no-trunc --format, through the API as strata prints it' '
	docker_cli history --no-trunc --format "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}" seed-image >api.out &&
	strata --data-root "$ROOT" history --no-trunc --format "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}" seed-image >cli.out &&
	test_cmp cli.out api.out
'

test_expect_success 'serve: system df and system df -v as strata system df' '
	docker_cli system df >api.out &&
	strata --data-root "$ROOT" system df >cli.out &&
	test_cmp cli.out api.out &&
	docker_cli system df -v >api.out &&
	strata --data-root "$ROOT" system df -v >cli.out &&
	$CMP --label "system df -v" cli.out api.out
'

# the events of the mutations, collected while they run
curl -sN --unix-socket "$SERVE_SOCK" "http://strata/events?filters=%7B%22type%22%3A%5B%22image%22%5D%7D" \
	>"$TRASH/events.json" 2>/dev/null &
EVENTS_PID=$!
test_atexit "kill $EVENTS_PID 2>/dev/null"
sleep 0.3

while read -r name mode rest; do
	[ -n "$name" ] || continue
	eval "set -- $rest"
	args=$(printf "%q " "$@"); args=${args% }
	test_expect_success "serve: docker $args" "CHECK_CLI=0 check_case $name $mode $args"
	case $name in final-*) continue ;; esac
	test_expect_success "after docker $args through strata serve: images -a as dockerd's" \
		"CHECK_CLI=0 check_case $name.images-a grouped images -a"
done < <(parity_mutation_steps)

test_expect_success 'serve: tag, untag and delete events as dockerd sends them' '
	sleep 0.3 &&
	python3 - "$TRASH/events.json" "$SEED_ID" <<-\EOF
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	seed = "sha256:" + sys.argv[2]
	acts = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"].get("name")) for e in evs]
	assert ("tag", seed, "alias:1") in acts, acts
	assert ("tag", seed, "alias:2") in acts, acts
	assert ("untag", seed, seed) in acts, acts
	assert any(a == "delete" for a, _, _ in acts), acts
	assert any(a == "prune" for a, _, _ in acts), acts
	for e in evs:
	    assert e["Type"] == "image" and e["status"] == e["Action"], e
	EOF
'

test_expect_success 'serve: tag with repo and tag parameters, 201; a bad tag 400' '
	serve_curl "/images/seed-image:latest/tag?repo=x/y:ignored&tag=t1" -X POST -w "%{http_code}" >out &&
	printf 201 >expect && test_cmp expect out &&
	docker_cli images --format "{{.Repository}}:{{.Tag}}" x/y >out &&
	echo x/y:t1 >expect && test_cmp expect out &&
	serve_curl "/images/seed-image:latest/tag?repo=x&tag=-bad" -X POST -w "%{http_code}" >out &&
	printf "{\"message\":\"invalid tag format\"}\n400" >expect && test_cmp expect out &&
	serve_curl "/images/nosuch:1/tag?repo=x&tag=1" -X POST -w "%{http_code}" >out &&
	printf "{\"message\":\"No such image: nosuch:1\"}\n404" >expect && test_cmp expect out
'

test_expect_success 'serve: image prune --filter label and until as strata image prune' '
	strata --data-root "$ROOT" tag seed-image:latest keep:1 &&
	docker_cli image prune -a -f --filter label=nosuch >api.out &&
	printf "Total reclaimed space: 0B\n" >expect && test_cmp expect api.out &&
	docker_cli image prune -a -f --filter until=2000-01-01T00:00:00Z >api.out && test_cmp expect api.out &&
	docker_cli image prune -a -f --filter "label!=name=seed-image" >api.out && test_cmp expect api.out &&
	docker_cli images -q keep >ids && test -s ids &&
	strata --data-root "$ROOT" image prune -a -f --filter until=1s >cli.out &&
	grep -q "^untagged: keep:1$" cli.out &&
	test -z "$(docker_cli images -q keep)"
'

test_expect_success 'serve: bad prune and list filters answer as dockerd' '
	serve_curl "/images/prune?filters=%7B%22foo%22%3A%5B%22x%22%5D%7D" -X POST -w "%{http_code}" >out &&
	printf "{\"message\":\"Invalid filter %s\"}\n400" "'"'"'foo'"'"'" >expect && test_cmp expect out &&
	serve_curl "/images/prune?filters=%7B%22until%22%3A%5B%22soon%22%5D%7D" -X POST -w "%{http_code}" >out &&
	printf "{\"message\":\"failed to parse value as time or duration: \\\\\"soon\\\\\"\"}\n400" >expect &&
	test_cmp expect out &&
	serve_curl "/images/json?filters=%7B%22before%22%3A%5B%22nosuch%22%5D%7D" -w "%{http_code}" >out &&
	printf "{\"message\":\"No such image: nosuch\"}\n404" >expect && test_cmp expect out
'

test_expect_success 'strata serve stops cleanly; strata check passes' '
	kill $EVENTS_PID; serve_stop "$FIX" &&
	strata --data-root "$ROOT" check >/dev/null
'

test_done
