#!/bin/sh
# Runs every test: the C unit tests of both builds (release, then ASan+UBSan) and the
# end-to-end scripts tests/e2e_*.sh against the release binaries. Each prints a line
# "suite: N passed, N failed"; this script adds them up into the closing line.
set -u
VECTORS=$(cd "${1:-../shared/vectors}" && pwd)
export VECTORS
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

run_suite() {
	name=$(basename "$1")
	shift
	echo "== $name"
	"$@" 2>&1 | tee -a "$log"
	# the pipeline's status is tee's; a crashed suite shows as a missing summary
	last=$(tail -n 1 "$log")
	case "$last" in
	*" passed, "*" failed") ;;
	*) echo "$name: 0 passed, 1 failed" | tee -a "$log" ;;
	esac
}

for variant in rel san; do
	for t in ${BUILD:-build}/$variant/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "$variant-$(basename "$t")" env BIN="${BUILD:-build}/$variant/bin" "$t"
	done
done
for t in tests/e2e_*.sh; do
	[ -f "$t" ] || continue
	run_suite "$t" env BIN="${BUILD:-build}/rel/bin" CGI="${BUILD:-build}/rel/cgi" sh "$t"
done

passed=$(grep -E '^[^ ]*: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{p += $(NF-3)} END {print p+0}')
failed=$(grep -E '^[^ ]*: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{f += $(NF-1)} END {print f+0}')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
exit $status
