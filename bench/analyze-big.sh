#!/bin/bash
# Benchmark: strata analyze of the issue's large case, a 100-layer image with
# 1,000,000 entries whose files add up to 10 GB.  strata analyze reads only
# tar-split, so bench/make-analyze-store.py writes the store's metadata for
# such an image directly (tar-split with every header, size and CRC-64;
# made-up diff ids; empty overlay2 folders: no file data is written, and the
# image can be analysed but not run or saved).  The store is on a freshly
# made ext4 loop mount; the analysis runs warm, twice, the faster run kept.
# Prints wall time, CPU time and peak RSS (targets: < 2 s, < 256 MiB).
#
# usage (root): bench/analyze-big.sh [LAYERS=100] [ENTRIES=1000000] [TOTAL_GB=10]
# Needs: build/strata, python3, e2fsprogs.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
LAYERS=${1:-100}
ENTRIES=${2:-1000000}
TOTAL_GB=${3:-10}
IMG=bench/big:latest

echo "== writing the store's metadata ($LAYERS layers, $ENTRIES entries, $TOTAL_GB GB of files, no data)"
fresh_fs strata
R=$W/fs-strata/root
python3 bench/make-analyze-store.py "$R" "$LAYERS" "$ENTRIES" "$TOTAL_GB" "$IMG"
du -sh "$R/image/overlay2/layerdb" | sed 's/\t.*/ of tar-split and layer metadata/'
"$STRATA" --data-root "$R" analyze --format json "$IMG" >"$W/strata.json" # warms the page cache
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("strata: %d layers, size %d, wasted %d bytes in %d inodes" % (len(j["layers"]), j["size"], j["wasted_bytes"], len(j["wasted"])))' "$W/strata.json"
for fmt in json table; do
	read -r wall cpu rss < <(best 2 -- "$STRATA" --data-root "$R" analyze --format $fmt "$IMG")
	echo "strata analyze --format $fmt: wall ${wall}s cpu ${cpu}s peak RSS $((rss / 1024)) MB"
done
