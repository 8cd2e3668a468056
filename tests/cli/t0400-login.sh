#!/bin/bash
# strata login / logout against a real docker-registry on 127.0.0.1:
# htpasswd (Basic) and token (Bearer, JWT from a local token server).
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_REPO/tests/fixtures/registry/registry.sh"

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	skip_all "docker-registry or openssl not installed"
fi

USER_=alice
PASS_='s3cr3t-Pa55w0rd'
export DOCKER_CONFIG=$TRASH/dockercfg
CFG=$DOCKER_CONFIG/config.json

no_secret() {
	! grep -F -e "$PASS_" -e "wrong-$PASS_" out err
}

for mode in htpasswd token; do
	test_expect_success "$mode: start registry" "
		auth_registry_start '$TRASH/reg-$mode' $mode '$USER_' '$PASS_' &&
		echo \$REGISTRY >port-$mode
	"
	REG=$(cat "port-$mode" 2>/dev/null)

	test_expect_success "$mode: wrong password is refused, nothing written" "
		rm -rf '$DOCKER_CONFIG' &&
		must_fail strata login -u '$USER_' -p 'wrong-$PASS_' $REG >out 2>err &&
		grep -q 'unauthorized' err &&
		grep -q '^WARNING! Using --password via the CLI is insecure. Use --password-stdin.\$' err &&
		! grep -q 'Login Succeeded' out &&
		test ! -e '$CFG' &&
		no_secret
	"

	test_expect_success "$mode: login with --password-stdin" "
		printf '%s\n' '$PASS_' | strata login -u '$USER_' --password-stdin $REG >out 2>err &&
		test \"\$(cat out)\" = 'Login Succeeded' &&
		grep -q 'WARNING! Your password will be stored unencrypted' err &&
		! grep -q 'Using --password via the CLI' err &&
		test \"\$(stat -c %a '$CFG')\" = 600 &&
		python3 -c '
import base64, json, sys
c = json.load(open(sys.argv[1]))
a = c[\"auths\"][sys.argv[2]][\"auth\"]
assert base64.b64decode(a).decode() == sys.argv[3] + \":\" + sys.argv[4]
' '$CFG' '$REG' '$USER_' '$PASS_' &&
		no_secret
	"

	test_expect_success "$mode: other keys of config.json are kept" "
		python3 -c '
import json, sys
c = json.load(open(sys.argv[1])); c[\"psFormat\"] = \"table {{.ID}}\"
json.dump(c, open(sys.argv[1], \"w\"))
' '$CFG' &&
		strata login -u '$USER_' -p '$PASS_' $REG >out 2>err &&
		grep -q '\"psFormat\": \"table {{.ID}}\"' '$CFG' &&
		grep -q '\"$REG\"' '$CFG'
	"

	test_expect_success "$mode: login with stored credentials" "
		strata login $REG </dev/null >out 2>err &&
		grep -q 'Authenticating with existing credentials' out &&
		grep -q 'Login Succeeded' out && no_secret
	"

	test_expect_success "$mode: logout removes the credentials" "
		strata logout $REG >out 2>err &&
		test \"\$(cat out)\" = 'Removing login credentials for $REG' &&
		! grep -q '\"$REG\"' '$CFG' &&
		grep -q psFormat '$CFG'
	"

	test_expect_success "$mode: logout again: not logged in" "
		strata logout $REG >out 2>err &&
		test \"\$(cat out)\" = 'Not logged in to $REG'
	"

	test_expect_success "$mode: no credentials on a non-TTY" "
		must_fail strata login $REG </dev/null >out 2>err &&
		grep -q 'Cannot perform an interactive login from a non TTY device' err
	"
done

test_expect_success 'token: credentials went to the token server only as checked' "
	grep -q 'creds=bad' '$TRASH/reg-token/token.log' &&
	grep -q 'creds=good' '$TRASH/reg-token/token.log' &&
	! grep -F '$PASS_' '$TRASH/reg-token/token.log'
"

test_expect_success 'usage errors' "
	must_fail strata login --password-stdin 127.0.0.1:1 </dev/null >out 2>err &&
	grep -q 'Must provide --username with --password-stdin' err &&
	must_fail strata login -u a -p b --password-stdin 127.0.0.1:1 </dev/null >out 2>err &&
	grep -q 'mutually exclusive' err &&
	must_fail strata login a b >out 2>err
"

test_expect_success 'plain registry: login needs no credentials check to fail' "
	auth_registry_start '$TRASH/reg-plain' plain &&
	strata login -u x -p y \$REGISTRY >out 2>err &&
	grep -q 'Login Succeeded' out &&
	strata logout \$REGISTRY >out &&
	grep -q 'Removing login credentials' out
"

test_done
