#!/bin/bash
# lib/util/banned.h: a lib/ object that calls a banned function does not
# build.  Each probe is compiled with the very command the Makefile uses for
# a lib/ object, so dropping the Makefile's -include fails these tests.
. "$(dirname "$0")/../lib/lib.sh"

command -v make >/dev/null || skip_all "make not installed"

# the compile command of one lib/ object, as make would run it
# (under make check SANITIZE=... the objects live in another build folder)
obj=${STRATA_BUILD:-build}/lib/util/error.o
lib_cc=$(make -s --no-print-directory -n -B -C "$TEST_REPO" \
	${STRATA_SANITIZE:+SANITIZE=$STRATA_SANITIZE} "$obj" 2>/dev/null |
	grep -- " -c -o $obj lib/util/error.c\$")
lib_cc=${lib_cc% -c -o "$obj" lib/util/error.c}

# compile_probe CALL: a lib/ file whose one function makes CALL
compile_probe() {
	cat >"$TRASH/probe.c" <<EOF_PROBE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long probe(char *d, const char *s, char **save, va_list ap);
long probe(char *d, const char *s, char **save, va_list ap)
{
	return (long)($1);
}
EOF_PROBE
	(cd "$TEST_REPO" && eval "$lib_cc -c -o \"\$TRASH/probe.o\" \"\$TRASH/probe.c\"") 2>"$TRASH/probe.err"
}

test_expect_success 'lib/ objects are compiled with util/banned.h' '
	case "$lib_cc" in
	*" -include util/banned.h"*) ;;
	*) echo "lib/ compile command: ${lib_cc:-(not found in make -n output)}"; false ;;
	esac
'

test_expect_success 'a probe with allowed calls builds' '
	compile_probe "snprintf(d, 8, \"%s\", s) + strtol(s, NULL, 10) + (long)memcpy(d, s, 1)" &&
	test -s "$TRASH/probe.o"
'

while IFS='|' read -r fn call; do
	test_expect_success "$fn fails the build" "
		! compile_probe '$call' &&
		grep -q 'sorry_${fn}_is_a_banned_function' \"\$TRASH/probe.err\"
	"
done <<'EOF_CASES'
strcpy|(long)strcpy(d, s)
strcat|(long)strcat(d, s)
strncpy|(long)strncpy(d, s, 4)
strncat|(long)strncat(d, s, 4)
sprintf|sprintf(d, "%s", s)
vsprintf|vsprintf(d, s, ap)
strtok|(long)strtok(d, s)
strtok_r|(long)strtok_r(d, s, save)
atoi|atoi(s)
atol|atol(s)
atoll|atoll(s)
gets|(long)gets(d)
EOF_CASES

test_done
