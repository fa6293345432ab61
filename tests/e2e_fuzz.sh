#!/bin/sh
# The short fuzzing run of the test suite: every libFuzzer target of tests/fuzz/ for
# 10 seconds from its seed corpus (make fuzz runs the long one). A crash, leak,
# sanitizer report or broken invariant in any target fails this test.
# Env: BUILD (build directory; the fuzz build goes to $BUILD/fuzz/).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! command -v clang >/dev/null 2>&1; then
	echo "not ok - clang is not installed (tools/deps.sh installs it)"
	echo "e2e_fuzz: 0 passed, 1 failed"
	exit 1
fi
FUZZ_SECONDS=10 sh tests/fuzz/run.sh 2>&1 | tee "$log"
summary=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
passed=$(echo "$summary" | awk '{print $2}')
failed=$(echo "$summary" | awk '{print $4}')
if [ -z "$summary" ]; then
	passed=0
	failed=1
fi
echo "e2e_fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
