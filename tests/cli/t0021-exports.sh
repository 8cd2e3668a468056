#!/bin/bash
# libstrata.so exports the public API and nothing else: every dynamic symbol
# starts with strata_ (xmalloc, strbuf_*, sha256_*, tar_* stay inside), every
# function of the public headers is exported, and a C++ program links
# against the shared object with the headers alone.
. "$(dirname "$0")/../lib/lib.sh"

BUILD_DIR=$(dirname "$STRATA_BIN")
SO=$BUILD_DIR/libstrata.so
INC=$TEST_REPO/include
[ -e "$SO" ] || skip_all "$SO not built"
command -v nm >/dev/null 2>&1 || skip_all "nm (binutils) not installed"
command -v c++ >/dev/null 2>&1 && test_set_prereq CXX

test_expect_success 'libstrata.so is a link to the libstrata.so.0 soname' '
	test "$(readlink "$SO")" = libstrata.so.0 &&
	readelf -d "$SO" | grep -q "(SONAME).*\[libstrata.so.0\]"
'

test_expect_success 'every exported symbol starts with strata_' '
	nm -D --defined-only "$SO" >syms &&
	test "$(wc -l <syms)" -gt 50 &&
	awk "{ print \$3 }" syms | sed "s/@.*//" | sort -u >names &&
	! grep -v "^strata_" names
'

test_expect_success 'the exports are the functions of the public headers' '
	cc -E -P -I"$INC" -x c "$INC/strata/strata.h" |
		tr "\n" " " | tr ";{}" "\n\n\n" | grep -v "static inline" |
		grep -o "\bstrata_[a-z0-9_]*[[:space:]]*(" | tr -d " (" | sort -u >declared &&
	grep -v "^strata_0$" names >exported &&
	test_cmp declared exported
'

test_expect_success 'the symbols are versioned' '
	grep -q " T strata_version@@strata_0$" syms
'

test_expect_success CXX 'a C++ program links against libstrata.so with the headers alone' '
	cat >main.cc <<-\EOF_CC &&
	#include <cstdio>
	#include <strata/strata.h>
	int main()
	{
		std::printf("%s %s\n", strata_version(), strata_error_name(STRATA_ERR_NOT_FOUND));
		return 0;
	}
	EOF_CC
	c++ ${STRATA_SANITIZE:+-fsanitize=$STRATA_SANITIZE} -std=c++11 -Wall -Wextra -Werror -I"$INC" \
		main.cc -o main -L"$BUILD_DIR" -lstrata &&
	LD_LIBRARY_PATH=$BUILD_DIR ./main >out &&
	echo "$(strata --version | sed "s/^strata version //") STRATA_ERR_NOT_FOUND" >want &&
	test_cmp want out
'

test_done
