#!/bin/sh
# Browser tests of the pages: the page modules against the reference vectors (node's
# test runner), then the whole election driven through the pages in Debian's Chromium
# against the real system (tests/browser/e2e.mjs). Run from the repository root with
# BIN, CGI and VECTORS; prints "e2e_browser: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
VECTORS=$(cd "${VECTORS:-../shared/vectors}" && pwd) || exit 1
export VECTORS
BIN=$(cd "${BIN:-build/rel/bin}" && pwd) || exit 1
CGI=$(cd "${CGI:-build/rel/cgi}" && pwd) || exit 1
export BIN CGI
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# (again when the lockfile changed: tools/npm-ci.sh)
if ! sh tools/npm-ci.sh tests/browser; then
	echo "e2e_browser: npm ci failed in tests/browser"
	echo "e2e_browser: 0 passed, 1 failed"
	exit 1
fi

# the page modules against the vectors (node --test prints "# pass N" and "# fail N")
(cd tests/browser && node --test vectors.test.mjs receipts.test.mjs ballot.test.mjs ceremony.test.mjs) >"$log" 2>&1
status=$?
grep -E '^(not )?ok ' "$log"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
if [ -z "$p" ]; then
	cat "$log"
	p=0
	f=1
fi
[ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
echo "vectors: $p passed, $f failed"
passed=$((passed + p))
failed=$((failed + f))

# the pages in Chromium against the real system
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	echo "not ok - no Chromium at ${CHROMIUM:-/usr/bin/chromium} (tools/deps.sh installs it)"
	failed=$((failed + 1))
else
	(cd tests/browser && node e2e.mjs) >"$log" 2>&1
	status=$?
	cat "$log"
	line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | awk '{print $2}')
		f=$(echo "$line" | awk '{print $4}')
	else
		p=0
		f=1
	fi
	[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
fi

echo "e2e_browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
