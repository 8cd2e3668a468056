#!/bin/bash
# The public headers are self-contained: each one compiles by itself (twice
# in one file: include guards) as C and as C++, with nothing but include/ on
# the include path, and in C++ every function it declares keeps its C name
# (extern "C").
. "$(dirname "$0")/../lib/lib.sh"

INC=$TEST_REPO/include
WARN="-Wall -Wextra -Werror -pedantic"
command -v cc >/dev/null 2>&1 || skip_all "no C compiler (cc)"
command -v c++ >/dev/null 2>&1 && test_set_prereq CXX

# functions a header declares (itself or through the headers it includes),
# without the static inline ones: C with the comments gone, one per line
functions_of() {
	cc -E -P -I"$INC" -x c "$INC/$1" |
		tr '\n' ' ' | tr ';{}' '\n\n\n' | grep -v 'static inline' |
		grep -o '\bstrata_[a-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u
}

headers=$(cd "$INC" && ls strata/*.h)
test_expect_success 'the public headers are found' '
	test -n "$headers" && test -f "$INC/strata/strata.h"
'

for h in $headers; do
	test_expect_success "$h compiles alone as C (c99 and gnu11)" "
		printf '#include <%s>\n#include <%s>\nint t;\n' '$h' '$h' >t.c &&
		cc -std=c99 $WARN -fsyntax-only -I'$INC' t.c &&
		cc -std=gnu11 $WARN -fsyntax-only -I'$INC' t.c
	"
	test_expect_success CXX "$h compiles alone as C++ with C linkage" "
		{
			printf '#include <%s>\n#include <%s>\n' '$h' '$h' &&
			echo 'typedef void (*fn)(void);' &&
			echo 'fn refs[] = { 0,' &&
			functions_of '$h' | sed 's/.*/(fn)\&&,/' &&
			echo '};'
		} >t.cc &&
		c++ -std=c++11 $WARN -Wno-cast-function-type -c -I'$INC' t.cc -o t.o &&
		nm -u t.o | awk '{ print \$2 }' | grep strata_ >used || : &&
		! grep -q '^_Z' used &&
		functions_of '$h' >declared &&
		sort -u used | test_cmp declared -
	"
done

test_done
