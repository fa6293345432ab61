#!/bin/sh
# npm ci in each test directory named (tests/browser, tests/openapi) whose lockfile is not
# the one last installed: a copy of package-lock.json inside node_modules marks what was
# installed, so a changed lockfile (a new pinned version) installs again, and an unchanged
# one costs nothing. tools/deps.sh and the tests that need the packages call it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
for d in "$@"; do
	dir="$top/$d"
	[ -f "$dir/package-lock.json" ] || continue
	stamp="$dir/node_modules/.package-lock.stamp"
	cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null && continue
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	cp "$dir/package-lock.json" "$stamp"
done
