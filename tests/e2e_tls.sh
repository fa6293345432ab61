#!/bin/sh
# HTTPS wherever the service listens beyond loopback: the service, the CLI, the miner and
# the TLS set-up against the real nginx and programs (tests/e2e_tls.py says what it
# checks), then the whole election driven through the pages in Chromium by a host name
# over HTTPS (tests/browser/e2e.mjs with TLS_LISTEN). Run from the repository root with
# BIN and CGI; prints "e2e_tls: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
BIN=$(cd "${BIN:-build/rel/bin}" && pwd) || exit 1
CGI=$(cd "${CGI:-build/rel/cgi}" && pwd) || exit 1
export BIN CGI
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# adds the counts of a sub-suite's closing line "NAME: N passed, N failed" (none: 1 failed)
count() {
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | awk '{print $2}')
		f=$(echo "$line" | awk '{print $4}')
	else
		p=0
		f=1
	fi
	[ "$2" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
}

python3 tests/e2e_tls.py >"$log" 2>&1
status=$?
cat "$log"
count tls-service $status

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] || [ ! -d tests/browser/node_modules/playwright-core ]; then
	echo "not ok - no Chromium or no tests/browser/node_modules (tools/deps.sh installs them)"
	failed=$((failed + 1))
else
	# an address beyond 127.0.0.1, so that run.sh serves HTTPS; still this machine
	(cd tests/browser && TLS_LISTEN=127.0.0.2 OUT="${OUT:-$top/tests/out/tls}" node e2e.mjs) >"$log" 2>&1
	status=$?
	cat "$log"
	count browser $status
fi

echo "e2e_tls: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
