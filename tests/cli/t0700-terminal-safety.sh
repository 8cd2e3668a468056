#!/bin/bash
# Names taken from input reach the terminal with their control bytes escaped
# (no title or colour injection through an error message), and an empty
# --data-root is refused instead of meaning the current directory.
. "$(dirname "$0")/../lib/lib.sh"

R=$TRASH/root
ESC=$'\e' BEL=$'\a'

# No raw ESC or BEL may reach the output; the escaped form must.
no_raw_controls() { # FILE WANT-SUBSTRING
	! grep -q "[$ESC$BEL]" "$1" || { echo "raw control byte in:"; cat -v "$1"; return 1; }
	grep -qF -- "$2" "$1" || { echo "missing '$2' in:"; cat -v "$1"; return 1; }
}

test_expect_success 'a file name in an error message is escaped' '
	test_expect_code 1 strata --data-root "$R" import "$TRASH/no${ESC}]0;pwned${BEL}" 2>err &&
	no_raw_controls err "no\\x1b]0;pwned\\x07"
'

test_expect_success 'a daemon-style error message is escaped' '
	test_expect_code 1 strata --data-root "$R" load -i "$TRASH/no${ESC}[31m" 2>err &&
	no_raw_controls err "open $TRASH/no\\x1b[31m"
'

test_expect_success 'an unknown command is escaped' '
	test_expect_code 1 strata --data-root "$R" "bo${ESC}gus" 2>err &&
	no_raw_controls err "strata: '"'"'bo\\x1bgus'"'"' is not a strata command."
'

test_expect_success 'an unknown image subcommand is escaped' '
	test_expect_code 1 strata --data-root "$R" image "x${BEL}" 2>err &&
	no_raw_controls err "'"'"'image x\\x07'"'"' is not a strata command."
'

test_expect_success 'an unknown flag is escaped, globally and per command' '
	test_expect_code 125 strata --data-root "$R" "--x${ESC}" images 2>err &&
	no_raw_controls err "unknown flag: --x\\x1b" &&
	test_expect_code 125 strata --data-root "$R" images "--y${ESC}" 2>err &&
	no_raw_controls err "unknown flag: --y\\x1b"
'

test_expect_success 'newlines in a message stay newlines' '
	printf "%s\n" "Error: open '"'"'$TRASH/a'"'"': no such file or directory" >want &&
	test_expect_code 1 strata --data-root "$R" import "$TRASH/a" 2>err &&
	test_cmp want err
'

test_expect_success '--data-root "" is an error, in both spellings' '
	mkdir cwd && cd cwd &&
	test_expect_code 125 strata --data-root "" images 2>../err1 &&
	test_expect_code 125 strata --data-root= images 2>../err2 &&
	cd .. && test -z "$(ls -A cwd)" &&
	grep -q "^invalid argument \"\" for \"--data-root\" flag" err1 &&
	test_cmp err1 err2
'
test_done
