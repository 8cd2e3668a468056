#!/bin/bash
# make fuzz: run each libFuzzer target SECONDS seconds from its seed corpus
# (tests/fuzz/corpus/NAME, read only: new inputs go to a scratch folder).
# A crash, leak, timeout or sanitizer report fails the run and leaves the
# input under build-fuzz/crashes/NAME/ — add it to the corpus (or a unit
# test) with the fix, so make check replays it from then on.
#   run.sh SECONDS TARGET...
set -u
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz-}
	seeds=$here/corpus/$name
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/strata-fuzz-$name.XXXXXX")
	crashes=$(dirname "$bin")/crashes/$name
	mkdir -p "$crashes" "$seeds"
	log=$crashes/log
	# -rss_limit_mb: the readers are bounded; -timeout: nothing may hang
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$scratch" "$seeds" >"$log" 2>&1
	rc=$?
	rm -rf "$scratch"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -ne 0 ]; then
		echo "FAIL fuzz-$name (exit $rc after ${runs:-?} runs); input and log in $crashes"
		grep -m 5 -E "ERROR|SUMMARY|runtime error" "$log"
		failed=1
	else
		echo "ok   fuzz-$name: ${runs:-?} runs in ${secs}s"
	fi
done
exit $failed
