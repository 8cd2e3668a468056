# shellcheck shell=bash
# Helpers for looking at a data root from tests.
#
#   store_listing DIR [SUBDIR...]  every entry under DIR (or only the SUBDIRs):
#       type, mode, owner, size + mtime (non-directories), link target, and a
#       sha256 of every regular file; stable order.  Compare two listings to
#       prove a command changed nothing.  Directory mtimes are left out.
#   store_config_path ROOT IMAGE-ID    path of the image's config file
#   store_chain_ids ROOT IMAGE-ID      chain IDs (hex) of its layers, bottom first

store_listing() {
	local dir=$1
	shift
	[ $# -eq 0 ] && set -- .
	(
		cd "$dir" || exit 1
		find "$@" \( -type d -printf '%y %m %U:%G - - %p\n' \) -o \
			\( ! -type d -printf '%y %m %U:%G %s %T@ %p %l\n' \) | LC_ALL=C sort
		find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	)
}

store_config_path() {
	echo "$1/image/overlay2/imagedb/content/sha256/${2#sha256:}"
}

store_chain_ids() {
	python3 - "$(store_config_path "$1" "$2")" <<'PY'
import hashlib, json, sys
chain = None
for d in json.load(open(sys.argv[1], 'rb'))['rootfs']['diff_ids']:
    chain = d if chain is None else 'sha256:' + hashlib.sha256((chain + ' ' + d).encode()).hexdigest()
    print(chain[7:])
PY
}
