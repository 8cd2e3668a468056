#!/bin/bash
# strata push / pull through Basic (htpasswd) and Bearer token auth; a wrong
# password gives "unauthorized", writes nothing and shows no secret.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_REPO/tests/fixtures/registry/registry.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root"

USER_=bob
PASS_='pU5h-Pa55w0rd-xyz'
export DOCKER_CONFIG=$TRASH/dockercfg

no_secret() { ! grep -F -e "$PASS_" -e "wrong-$PASS_" out err; }

test_expect_success 'base image' '
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - base:1 >id
'

for mode in htpasswd token; do
	test_expect_success "$mode: push and pull with credentials" "
		auth_registry_start '$TRASH/regdir-$mode' $mode '$USER_' '$PASS_' &&
		R=\$REGISTRY && echo \$R >reg-$mode &&
		rm -rf '$DOCKER_CONFIG' &&
		strata login -u '$USER_' -p '$PASS_' \$R >out 2>err &&
		strata --data-root src tag base:1 \$R/a/img:1 &&
		strata --data-root src push \$R/a/img:1 >out 2>err &&
		grep -q ': Pushed\$' out &&
		strata --data-root src tag base:1 \$R/b/img:1 &&
		strata --data-root src push \$R/b/img:1 >out 2>err &&
		grep -q ': Mounted from a/img\$' out &&
		strata --data-root dst-$mode pull \$R/a/img:1 >out 2>err &&
		strata --data-root dst-$mode images -q --no-trunc >got && test_cmp id got &&
		strata --data-root dst-$mode check >/dev/null &&
		no_secret
	"

	test_expect_success "$mode: anonymous pull is refused" "
		R=\$(cat reg-$mode) &&
		rm -rf '$DOCKER_CONFIG' &&
		test_expect_code 1 strata --data-root anon-$mode pull \$R/a/img:1 >out 2>err &&
		grep -qi 'unauthorized\\|denied\\|authentication required' err
	"

	test_expect_success "$mode: wrong password: unauthorized, nothing written, no secret shown" "
		R=\$(cat reg-$mode) &&
		mkdir -p '$DOCKER_CONFIG' &&
		printf '{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}' \$R \$(printf '%s:%s' '$USER_' 'wrong-$PASS_' | base64 -w0) >'$DOCKER_CONFIG/config.json' &&
		store_listing dst-$mode >before &&
		test_expect_code 1 strata --data-root dst-$mode pull \$R/b/img:1 >out 2>err &&
		grep -q 'unauthorized' err &&
		store_listing dst-$mode >after && test_cmp before after &&
		store_listing src >before &&
		test_expect_code 1 strata --data-root src push \$R/a/img:1 >>out 2>>err &&
		store_listing src >after && test_cmp before after &&
		no_secret
	"
done

test_done
