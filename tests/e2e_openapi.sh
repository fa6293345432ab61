#!/bin/sh
# The OpenAPI description www/api/openapi.json: linted by Redocly's CLI (tests/openapi,
# pinned in its lockfile; every rule of the strict set an error), then the real answers of
# a whole election checked against it (tests/e2e_openapi.py). Run from the repository root
# with BIN and CGI; prints "e2e_openapi: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
lint_ok=0

# the linter runs offline: no telemetry, no update check
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export REDOCLY_TELEMETRY REDOCLY_SUPPRESS_UPDATE_NOTICE
sh tools/npm-ci.sh tests/openapi >"$log" 2>&1 || cat "$log"
if (cd tests/openapi && node_modules/.bin/redocly lint --config redocly.yaml \
	../../www/api/openapi.json) >"$log" 2>&1; then
	echo "ok - redocly lint: www/api/openapi.json has no problem"
	lint_ok=1
else
	grep -v '[║╔╚]' "$log"
	echo "not ok - redocly lint: www/api/openapi.json has problems (above)"
fi

python3 tests/e2e_openapi.py >"$log" 2>&1
status=$?
cat "$log"
line=$(grep -E '^e2e_openapi: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
p=$(echo "$line" | awk '{print $2}')
f=$(echo "$line" | awk '{print $4}')
[ -n "$line" ] || { p=0; f=1; }
[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
p=$((p + lint_ok))
f=$((f + 1 - lint_ok))
echo "e2e_openapi: $p passed, $f failed"
[ "$f" -eq 0 ]
