#!/bin/bash
# Shell completion and man pages generated from the commands' own usage
# tables, read back from what the binary prints for --help (the command list
# of src/main.c, each command's usage line and flag table of src/flags.c), so
# a command or flag added to the CLI appears here without another list.
#
#   gen-docs.sh STRATA_BIN OUTDIR
# writes OUTDIR/completion/strata.bash, OUTDIR/completion/_strata (zsh) and
# OUTDIR/man/strata.1, strata-COMMAND.1, strata-image-COMMAND.1.
set -eu
bin=$1
out=$2
version=$("$bin" --version | sed 's/^strata version //')
mkdir -p "$out/completion" "$out/man"

# "name<TAB>description" of the commands a --help lists (its Commands sections)
commands_of() { # HELP-TEXT
	awk '/^(Management )?Commands:$/ { on = 1; next }
	     /^$/ { on = 0 }
	     on && /^  [a-z]/ { name = $1; sub(/^  [a-z-]+ +/, ""); print name "\t" $0 }' <<<"$1"
}

# "short US long US bool|string US help" of the options a --help lists (US:
# the unit separator, as read would merge empty tab-separated fields)
US=$'\x1f'
options_of() { # HELP-TEXT
	sed -n '/^Options:$/,/^$/p' <<<"$1" |
		sed -nE "s/^  (-(.), |    )--([a-z][a-z0-9-]*)( string)? +(.*)\$/\\2$US\\3$US\\4$US\\5/p" |
		awk -F"$US" -v OFS="$US" '{ $3 = ($3 == "" ? "bool" : "string"); print }'
}

usage_of() { sed -n 's/^Usage:  //p' <<<"$1" | head -n 1; }
short_of() { awk 'NR > 1 && prev ~ /^Usage:/ && $0 == "" { getline; print; exit } { prev = $0 }' <<<"$1"; }

top_help=$("$bin" --help)
mapfile -t top < <(commands_of "$top_help")
# the management commands (image, container, ...) and their subcommands
mapfile -t mgmt < <(awk '/^Management Commands:$/ { on = 1; next } /^$/ { on = 0 }
	on && /^  [a-z]/ { print $1 }' <<<"$top_help")
declare -A subs_of
for m in "${mgmt[@]}"; do
	subs_of[$m]=$(commands_of "$("$bin" "$m" --help)")
done

# every command as "path<TAB>description": "images", "image ls", ...
all=()
for c in "${top[@]}"; do
	all+=("$c")
	name=${c%%$'\t'*}
	if [ -n "${subs_of[$name]+x}" ]; then
		while IFS= read -r s; do all+=("$name $s"); done <<<"${subs_of[$name]}"
	fi
done
is_mgmt() { [ -n "${subs_of[$1]+x}" ]; }
sub_names() { cut -f1 <<<"${subs_of[$1]}" | tr '\n' ' '; }
# what a command's first argument names, from its usage line: image, container, file or none
arg_kind() { # HELP-TEXT
	local u
	u=$(usage_of "$1" | sed -E 's/^strata ([a-z]+ )+\[OPTIONS\] ?//; s/^strata ([a-z]+ )+//')
	case $u in
	CONTAINER*) echo container ;;
	IMAGE* | NAME* | SOURCE_IMAGE* | "[REPOSITORY"*) echo image ;;
	file*) echo file ;;
	*) echo none ;;
	esac
}

declare -A help_of
for c in "${all[@]}"; do
	path=${c%%$'\t'*}
	# shellcheck disable=SC2086
	help_of[$path]=$("$bin" $path --help)
done

# ---- man pages ----------------------------------------------------------
roff() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e 's/-/\\-/g'; }

man_options() { # HELP-TEXT
	local s l t h
	while IFS=$US read -r s l t h; do
		printf '.TP\n'
		if [ -n "$s" ]; then printf '\\fB\\-%s\\fR, ' "$s"; fi
		printf '\\fB\\-\\-%s\\fR' "${l//-/\\-}"
		[ "$t" = string ] && printf ' \\fIstring\\fR'
		printf '\n%s\n' "$(roff <<<"$h")"
	done < <(options_of "$1")
}

{
	printf '.TH STRATA 1 "" "strata %s" "User Commands"\n' "$version"
	printf '.SH NAME\nstrata \\- %s\n' "$(sed -n '4p' <<<"$top_help" | roff)"
	printf '.SH SYNOPSIS\n\\fBstrata\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR\n'
	printf '.SH DESCRIPTION\nDocker 20.10'"'"'s image commands over Docker'"'"'s classic image store, without a daemon. Each command has its own page, \\fBstrata\\-\\fICOMMAND\\fR(1).\n'
	printf '.SH OPTIONS\n'
	man_options "$top_help"
	printf '.SH COMMANDS\n'
	for c in "${top[@]}"; do
		printf '.TP\n\\fB%s\\fR\n%s\n' "${c%%$'\t'*}" "$(roff <<<"${c#*$'\t'}")"
	done
	printf '.SH ENVIRONMENT\n.TP\n\\fBSTRATA_DATA_ROOT\\fR\nthe data root when \\fB\\-\\-data\\-root\\fR is not given\n'
	printf '.TP\n\\fBDOCKER_CONFIG\\fR\nthe folder of config.json (credentials), default ~/.docker\n'
	printf '.TP\n\\fBSOURCE_DATE_EPOCH\\fR\nthe time recorded as "now" in the store\n'
} >"$out/man/strata.1"

for c in "${all[@]}"; do
	path=${c%%$'\t'*}
	h=${help_of[$path]}
	page=strata-${path// /-}
	{
		printf '.TH %s 1 "" "strata %s" "User Commands"\n' "$(tr a-z A-Z <<<"$page")" "$version"
		printf '.SH NAME\n%s \\- %s\n' "$(roff <<<"$page")" "$(short_of "$h" | roff)"
		printf '.SH SYNOPSIS\n%s\n' "$(usage_of "$h" | roff)"
		printf '.SH DESCRIPTION\n%s\n' "$(short_of "$h" | roff)"
		if [ -n "$(options_of "$h")" ]; then
			printf '.SH OPTIONS\n'
			man_options "$h"
		fi
		printf '.SH SEE ALSO\n\\fBstrata\\fR(1)\n'
	} >"$out/man/$page.1"
done

# ---- bash ---------------------------------------------------------------
flags_words() { # HELP-TEXT: "-a --all -f --filter ..."
	local s l t h w=()
	while IFS=$US read -r s l t h; do
		[ -n "$s" ] && w+=("-$s")
		w+=("--$l")
	done < <(options_of "$1")
	echo "${w[*]}"
}
string_flags() { # HELP-TEXT: the flags that take a value, "-f|--filter|--format"
	local s l t h w=()
	while IFS=$US read -r s l t h; do
		[ "$t" = string ] || continue
		[ -n "$s" ] && w+=("-$s")
		w+=("--$l")
	done < <(options_of "$1")
	local IFS='|'
	echo "${w[*]}"
}

{
	printf '# bash completion for strata %s (generated by scripts/gen-docs.sh)\n' "$version"
	printf '_strata_images() {\n'
	printf '\tlocal root=()\n'
	printf '\t[ -n "${1:-}" ] && root=(--data-root "$1")\n'
	printf '\tstrata "${root[@]}" images --format "{{.Repository}}:{{.Tag}}" 2>/dev/null | grep -v "<none>"\n'
	printf '}\n\n'
	printf '_strata_containers() {\n'
	printf '\tlocal root=()\n'
	printf '\t[ -n "${1:-}" ] && root=(--data-root "$1")\n'
	printf '\tstrata "${root[@]}" ps -a --format "{{.Names}}" 2>/dev/null\n'
	printf '}\n\n'
	printf '_strata() {\n'
	printf '\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n'
	printf '\tlocal i=1 cmd= root=\n'
	printf '\t# global options (with their values) come before the command\n'
	printf '\twhile [ $i -lt $COMP_CWORD ]; do\n'
	printf '\t\tcase ${COMP_WORDS[i]} in\n'
	printf '\t\t%s) [ "${COMP_WORDS[i]}" = --data-root ] && root=${COMP_WORDS[i+1]}; i=$((i + 2)) ;;\n' "$(string_flags "$top_help")"
	printf '\t\t-*) i=$((i + 1)) ;;\n'
	printf '\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n'
	printf '\t\tesac\n'
	printf '\tdone\n'
	printf '\tif [ -z "$cmd" ]; then\n'
	printf '\t\tcase $cur in\n'
	printf '\t\t-*) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;\n' "$(flags_words "$top_help") --help"
	printf '\t\t*) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;\n' "$(for c in "${top[@]}"; do printf '%s ' "${c%%$'\t'*}"; done)"
	printf '\t\tesac\n'
	printf '\t\treturn\n'
	printf '\tfi\n'
	printf '\tlocal subs=\n'
	printf '\tcase $cmd in\n'
	for m in "${mgmt[@]}"; do
		printf '\t%s) subs="%s" ;;\n' "$m" "$(sub_names "$m")"
	done
	printf '\tesac\n'
	printf '\tif [ -n "$subs" ]; then\n'
	printf '\t\tif [ $((i + 1)) -eq $COMP_CWORD ]; then\n'
	printf '\t\t\tCOMPREPLY=($(compgen -W "$subs" -- "$cur"))\n'
	printf '\t\t\treturn\n'
	printf '\t\tfi\n'
	printf '\t\tcmd="$cmd ${COMP_WORDS[i+1]}"\n'
	printf '\tfi\n'
	printf '\tlocal flags= values= args=none\n'
	printf '\tcase $cmd in\n'
	for c in "${all[@]}"; do
		path=${c%%$'\t'*}
		is_mgmt "$path" && continue
		h=${help_of[$path]}
		printf '\t"%s") flags="%s"; values="%s"; args=%s ;;\n' "$path" "$(flags_words "$h") --help" \
			"$(string_flags "$h")" "$(arg_kind "$h")"
	done
	printf '\tesac\n'
	printf '\t# a flag value: files for -i/-o, nothing to offer for the others\n'
	printf '\tif [ -n "$values" ] && [[ "|$values|" == *"|$prev|"* ]]; then\n'
	printf '\t\tcase $prev in -i|--input|-o|--output) COMPREPLY=($(compgen -f -- "$cur")) ;; esac\n'
	printf '\t\treturn\n'
	printf '\tfi\n'
	printf '\tcase $cur in\n'
	printf '\t-*) COMPREPLY=($(compgen -W "$flags" -- "$cur")) ;;\n'
	printf '\t*)\n'
	printf '\t\tcase $args in\n'
	printf '\t\tfile) COMPREPLY=($(compgen -f -- "$cur")) ;;\n'
	printf '\t\timage) COMPREPLY=($(compgen -W "$(_strata_images "$root")" -- "$cur")) ;;\n'
	printf '\t\tcontainer) COMPREPLY=($(compgen -W "$(_strata_containers "$root")" -- "$cur")) ;;\n'
	printf '\t\tesac ;;\n'
	printf '\tesac\n'
	printf '}\n'
	printf 'complete -F _strata strata\n'
} >"$out/completion/strata.bash"

# ---- zsh ----------------------------------------------------------------
zsh_quote() { sed -e "s/'/'\\\\''/g" -e 's/\[/\\[/g' -e 's/\]/\\]/g' -e 's/:/\\:/g'; }
zsh_specs() { # HELP-TEXT: _arguments specs, one per line
	local s l t h arg
	while IFS=$US read -r s l t h; do
		h=$(zsh_quote <<<"$h")
		arg=
		[ "$t" = string ] && arg=":$l:"
		if [ -n "$s" ]; then
			printf "    '(-%s --%s)'{-%s,--%s}'[%s]%s' \\\\\n" "$s" "$l" "$s" "$l" "$h" "$arg"
		else
			printf "    '--%s[%s]%s' \\\\\n" "$l" "$h" "$arg"
		fi
	done < <(options_of "$1")
}

{
	printf '#compdef strata\n'
	printf '# zsh completion for strata %s (generated by scripts/gen-docs.sh)\n\n' "$version"
	printf '_strata_images() {\n'
	printf '  local -a imgs\n'
	printf '  imgs=(${(f)"$(strata images --format "{{.Repository}}:{{.Tag}}" 2>/dev/null | grep -v "<none>")"})\n'
	printf "  _describe 'image' imgs\n"
	printf '}\n\n'
	printf '_strata_containers() {\n'
	printf '  local -a ctrs\n'
	printf '  ctrs=(${(f)"$(strata ps -a --format "{{.Names}}" 2>/dev/null)"})\n'
	printf "  _describe 'container' ctrs\n"
	printf '}\n\n'
	printf '_strata_command() {\n'
	printf '  case $1 in\n'
	for c in "${all[@]}"; do
		path=${c%%$'\t'*}
		is_mgmt "$path" && continue
		printf '  "%s")\n    _arguments -s \\\n' "$path"
		zsh_specs "${help_of[$path]}"
		case $(arg_kind "${help_of[$path]}") in
		image) printf "    '*:image:_strata_images' ;;\n" ;;
		container) printf "    '*:container:_strata_containers' ;;\n" ;;
		file) printf "    '*:file:_files' ;;\n" ;;
		*) printf "    ;;\n" ;;
		esac
	done
	printf '  esac\n'
	printf '}\n\n'
	printf '_strata() {\n'
	printf '  local -a commands subs\n'
	printf '  commands=(\n'
	for c in "${top[@]}"; do
		printf "    '%s:%s'\n" "${c%%$'\t'*}" "$(zsh_quote <<<"${c#*$'\t'}")"
	done
	printf '  )\n'
	printf '  local curcontext=$curcontext state line\n'
	printf '  _arguments -C \\\n'
	zsh_specs "$top_help"
	printf "    '1:command:->command' \\\\\n"
	printf "    '*::arg:->args'\n"
	printf '  case $state in\n'
	printf "  command) _describe 'command' commands ;;\n"
	printf '  args)\n'
	printf '    case $words[1] in\n'
	for m in "${mgmt[@]}"; do
		printf '    %s)\n      subs=(\n' "$m"
		while IFS=$'\t' read -r n d; do
			printf "        '%s:%s'\n" "$n" "$(zsh_quote <<<"$d")"
		done <<<"${subs_of[$m]}"
		printf '      ) ;;\n'
	done
	printf '    esac\n'
	printf '    if (( ${#subs} )); then\n'
	printf "      if (( CURRENT == 2 )); then _describe 'command' subs; return; fi\n"
	printf '      local m=$words[1]\n'
	printf '      shift words; (( CURRENT-- ))\n'
	printf '      _strata_command "$m $words[1]"\n'
	printf '    else\n'
	printf '      _strata_command "$words[1]"\n'
	printf '    fi ;;\n'
	printf '  esac\n'
	printf '}\n\n'
	printf '_strata "$@"\n'
} >"$out/completion/_strata"
