#!/bin/bash
# bash and zsh completion and man pages, generated from the commands' own
# usage tables (scripts/gen-docs.sh reads what the binary prints for
# --help): every command, management subcommand and flag appears, bash
# completes commands, flags, files and image names (what the usage line's
# first argument is), and make install puts them in place.
. "$(dirname "$0")/../lib/lib.sh"

OUT=$TRASH/docs
R=$TRASH/root

test_expect_success 'gen-docs.sh writes completion and man pages' '
	bash "$TEST_REPO/scripts/gen-docs.sh" "$STRATA_BIN" "$OUT" &&
	test -s "$OUT/completion/strata.bash" &&
	test -s "$OUT/completion/_strata" &&
	test -s "$OUT/man/strata.1"
'

# the commands strata --help lists, and the management commands' subcommands ("image ls")
strata --help | awk '/^(Management )?Commands:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' >commands
strata --help | awk '/^Management Commands:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' >mgmt
while read -r m; do
	strata $m --help | awk -v m="$m" '/^Commands:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print m " " $1 }'
done <mgmt >subs

test_expect_success 'strata --help lists the commands the pages are made from' '
	test "$(wc -l <commands)" -gt 10 && grep -qx images commands && grep -qx version commands &&
	grep -qx image mgmt && grep -qx "image ls" subs &&
	test "$(wc -l <subs)" -gt 5
'

test_expect_success 'every command has a man page naming its usage and flags' '
	while read -r c; do
		test -s "$OUT/man/strata-$c.1" || { echo "no page for $c"; return 1; }
		grep -qF "\\fB$c\\fR" "$OUT/man/strata.1" || { echo "$c not in strata.1"; return 1; }
		strata $c --help | sed -nE "s/^  (-., )?--([a-z-]+).*/\\2/p" | while read -r f; do
			grep -qF "\\-\\-$(echo "$f" | sed "s/-/\\\\-/g")\\fR" "$OUT/man/strata-$c.1" ||
				{ echo "--$f not in strata-$c.1"; exit 1; }
		done || return 1
	done <commands &&
	while read -r s; do
		test -s "$OUT/man/strata-${s/ /-}.1" || { echo "no page for $s"; return 1; }
	done <subs
'

if command -v man >/dev/null; then test_set_prereq MAN; else test_prereq_missing MAN "man not installed"; fi
test_expect_success MAN 'a page renders with its synopsis' '
	MANWIDTH=100 man -l "$OUT/man/strata-images.1" 2>err >page &&
	grep -q "strata images \[OPTIONS\] \[REPOSITORY\[:TAG\]\]" page &&
	grep -q "^ *-a, --all" page &&
	! grep -q "warning" err
'

test_expect_success 'zsh completion names every command, subcommand and flag' '
	while read -r c; do
		grep -q "^    '\''$c:" "$OUT/completion/_strata" || { echo "$c missing"; return 1; }
	done <commands &&
	while read -r s; do
		grep -q "^  \"$s\")" "$OUT/completion/_strata" || { echo "$s missing"; return 1; }
	done <subs &&
	grep -q "'\''(-a --all)'\''{-a,--all}'\''\[Show all images" "$OUT/completion/_strata"
'

if command -v zsh >/dev/null; then test_set_prereq ZSH; else test_prereq_missing ZSH "zsh not installed"; fi
test_expect_success ZSH 'zsh parses the completion' '
	zsh -n "$OUT/completion/_strata"
'

# complete WORDS...: what the bash completion offers for the last word
complete_words() {
	bash -c '
		strata() { "$STRATA_BIN" "$@"; }
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_strata
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$OUT/completion/strata.bash" "$@"
}

test_expect_success 'bash completes commands, subcommands and flags' '
	bash -n "$OUT/completion/strata.bash" &&
	complete_words strata ima >got && printf "%s\n" image images >want && test_cmp want got &&
	complete_words strata --data-root /x ver >got && echo version >want && test_cmp want got &&
	complete_words strata image l >got && printf "%s\n" load ls >want && test_cmp want got &&
	if grep -qx "container ls" subs; then
		complete_words strata container l >got && printf "%s\n" logs ls >want && test_cmp want got
	fi &&
	complete_words strata images --no >got && echo --no-trunc >want && test_cmp want got &&
	complete_words strata image ls -q >got && echo -q >want && test_cmp want got &&
	complete_words strata inspect --ty >got && echo --type >want && test_cmp want got
'

test_expect_success 'bash completes image names from the data root given' '
	mkdir -p rootfs && echo x >rootfs/f && tar -C rootfs -cf layer.tar f &&
	strata --data-root "$R" import layer.tar compl/one:v1 >/dev/null &&
	strata --data-root "$R" import layer.tar compl/two:v2 >/dev/null &&
	complete_words strata --data-root "$R" rmi compl/t >got &&
	echo compl/two:v2 >want && test_cmp want got &&
	complete_words strata --data-root "$R" image inspect compl/ | sort >got &&
	printf "%s\n" compl/one:v1 compl/two:v2 >want && test_cmp want got &&
	complete_words strata --data-root "$R" import la >got &&
	echo layer.tar >want && test_cmp want got &&
	complete_words strata --data-root "$R" login co >got && test -z "$(cat got)"

'

# make install from the build the tests run against
BUILD=${STRATA_BUILD:-build}
if [ "$STRATA_BIN" = "$TEST_REPO/$BUILD/strata" ] && command -v make >/dev/null; then
	test_set_prereq INSTALL
else
	test_prereq_missing INSTALL "STRATA_BIN is not the tree's $BUILD/strata"
fi
test_expect_success INSTALL 'make install puts completion and man pages in place' '
	if [ -n "${STRATA_SANITIZE:-}" ]; then san=SANITIZE=$STRATA_SANITIZE; else san=; fi &&
	make -s -C "$TEST_REPO" $san install DESTDIR="$TRASH/inst" PREFIX=/usr >make.out 2>&1 ||
		{ cat make.out; false; } &&
	test -s inst/usr/share/bash-completion/completions/strata &&
	test -s inst/usr/share/zsh/site-functions/_strata &&
	while read -r c; do
		test -s "inst/usr/share/man/man1/strata-$c.1" || { echo "strata-$c.1 not installed"; return 1; }
	done <commands &&
	test -s inst/usr/share/man/man1/strata.1
'

test_done
