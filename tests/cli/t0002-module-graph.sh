#!/bin/bash
# The include graph of lib/ follows lib/MODULES (every edge points down) and
# the front ends use only the public headers and the base utilities:
# scripts/check-deps.sh on the tree, and on small trees that break each rule.
. "$(dirname "$0")/../lib/lib.sh"

# a tree with the repository's MODULES and checker, and one file given here
mini_tree() { # dir file include
	mkdir -p "$1/scripts" "$1/lib/util" "$1/lib/image" "$1/src" "$1/include/strata" \
		"$(dirname "$1/$2")" &&
	cp "$TEST_REPO/scripts/check-deps.sh" "$1/scripts/" &&
	cp "$TEST_REPO/lib/MODULES" "$1/lib/" &&
	printf '#include "%s"\n' "$3" >"$1/$2"
}

test_expect_success 'the repository follows lib/MODULES' '
	bash "$TEST_REPO/scripts/check-deps.sh" >out &&
	grep -q "follows lib/MODULES" out
'
test_expect_success 'a downward include is allowed' '
	mini_tree down lib/image/a.c util/alloc.h &&
	bash down/scripts/check-deps.sh
'
test_expect_success 'an upward include is reported' '
	mini_tree up lib/util/a.c image/image.h &&
	test_expect_code 1 bash up/scripts/check-deps.sh >out &&
	grep -q "lib/util/a.c: util may not include image/image.h" out
'
test_expect_success 'a folder missing from lib/MODULES is reported' '
	mini_tree new lib/nowhere/a.c util/alloc.h &&
	test_expect_code 1 bash new/scripts/check-deps.sh >out &&
	grep -q "lib/nowhere: folder not listed in lib/MODULES" out
'
test_expect_success 'the CLI may not include a private header' '
	mini_tree priv src/a.c store/store-private.h &&
	test_expect_code 1 bash priv/scripts/check-deps.sh >out &&
	grep -q "includes private header store/store-private.h" out
'
test_expect_success 'a public header may not include a private one' '
	mini_tree pub include/strata/a.h util/alloc.h &&
	test_expect_code 1 bash pub/scripts/check-deps.sh >out &&
	grep -q "a public header includes a private one" out
'
test_done
