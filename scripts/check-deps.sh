#!/bin/bash
# make check-deps: every #include "x/y.h" in lib/ and src/ must follow the
# allowed edges of lib/MODULES; src/ never includes a *-private.h header.
# Prints one line per forbidden include and exits 1 when there is any.
cd "$(dirname "$0")/.." || exit 1
declare -A allowed
while IFS= read -r line; do
	line=${line%%#*}
	[[ $line =~ ^([a-z]+):(.*)$ ]] || continue
	allowed[${BASH_REMATCH[1]}]=" ${BASH_REMATCH[2]} "
done <lib/MODULES

bad=0
check_file() { # file module
	local f=$1 mod=$2 inc dep
	while IFS= read -r inc; do
		dep=${inc%%/*}
		[ "$dep" = "$inc" ] && continue   # same-folder include
		[ "$dep" = strata ] && continue   # public headers
		[ "$dep" = "$mod" ] && continue
		if [ "$mod" = src ] && [ -d "src/$dep" ]; then
			continue
		fi
		if [ "$mod" = src ] && [[ $inc == *-private.h ]]; then
			echo "$f: includes private header $inc"
			bad=1
			continue
		fi
		if [[ ${allowed[$mod]-} != *" $dep "* ]]; then
			echo "$f: $mod may not include $inc (lib/MODULES)"
			bad=1
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
}

for f in include/strata/*.h; do
	if sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | grep -qv '^strata/'; then
		echo "$f: a public header includes a private one"
		bad=1
	fi
done
for d in lib/*/; do
	mod=$(basename "$d")
	if [ -z "${allowed[$mod]+x}" ]; then
		echo "lib/$mod: folder not listed in lib/MODULES"
		bad=1
		continue
	fi
	for f in "$d"*.[ch]; do
		[ -e "$f" ] && check_file "$f" "$mod"
	done
done
while IFS= read -r f; do
	check_file "$f" src
done < <(find src -name '*.[ch]' | sort)
[ $bad -eq 0 ] && echo "check-deps: the include graph follows lib/MODULES"
exit $bad
