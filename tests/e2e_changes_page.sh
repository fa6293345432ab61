#!/bin/sh
# Changes of the parameters on the pages, in Chromium against the real nginx and FastCGI
# programs on a free loopback port (tests/e2e_changes_page.py says what it checks).
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tools/npm-ci.sh" tests/browser || exit 1
exec python3 "$top/tests/e2e_changes_page.py"
