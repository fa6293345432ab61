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
	out=$(mktemp)
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	# a suite's own closing line is its last; a crash shows as a missing one (suites
	# that run sub-suites print those lines too, and only the last one counts)
	last=$(tail -n 1 "$out")
	rm -f "$out"
	case "$last" in
	*": "*" passed, "*" failed") echo "$last" >>"$log" ;;
	*) echo "$name: 0 passed, 1 failed" | tee -a "$log" ;;
	esac
	# a suite that exits non-zero must count as failed even if its line says 0
	failed_here=$(echo "$last" | awk '/ passed, [0-9]+ failed$/ {print $(NF-1)}')
	if [ "$rc" -ne 0 ] && [ "${failed_here:-0}" = 0 ]; then
		echo "$name: exited with status $rc"
		echo "$name: 0 passed, 1 failed" >>"$log"
	fi
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

passed=$(awk '{p += $(NF-3)} END {print p+0}' "$log")
failed=$(awk '{f += $(NF-1)} END {print f+0}' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
exit $status
