#!/bin/sh
# Static and dynamic analysis: cppcheck and clang-tidy over lib/ cgi-bin/ tools/ must
# report nothing with the checked-in configuration (tests/cppcheck.supp, .clang-tidy at
# the top), and every unit test of the release build must run clean under valgrind
# memcheck (errors and definite or indirect leaks fail it; tests/valgrind.supp silences
# only Berkeley DB's own uninitialised padding). One check per tool, one per test.
# Env: BUILD (default build; the tests are $BUILD/rel/tests/test_*), VECTORS, BIN.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
VECTORS=${VECTORS:-../shared/vectors}
BIN=${BIN:-$BUILD/rel/bin}
export VECTORS BIN
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && head -n 40 "$2" | sed 's/^/  | /'
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---- cppcheck: every finding of warning, style, performance and portability level
if have cppcheck; then
	start=$(date +%s)
	cppcheck -q --std=c11 -D_GNU_SOURCE -Ilib/chain -Ilib/store -Ilib/service -Ilib/client --enable=warning,style,performance,portability \
		--inline-suppr --suppressions-list=tests/cppcheck.supp --error-exitcode=1 \
		--template='{file}:{line}: {severity} ({id}): {message}' lib cgi-bin tools \
		>"$tmp/cppcheck" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/cppcheck" ]; then
		ok "cppcheck finds nothing in lib/ cgi-bin/ tools/ ($(($(date +%s) - start))s)"
	else
		not_ok "cppcheck finds nothing in lib/ cgi-bin/ tools/" "$tmp/cppcheck"
	fi
else
	not_ok "cppcheck is not installed (tools/deps.sh installs it)"
fi

# ---- clang-tidy with .clang-tidy, one file per run, as many runs as CPUs
if have clang-tidy; then
	start=$(date +%s)
	ls lib/*/*.c cgi-bin/*.c tools/*.c tools/dev/*.c >"$tmp/files"
	# each run leaves its own exit status behind so that a failing file is noticed
	xargs -P "$jobs" -I{} sh -c 'f={}; out='"$tmp"'/tidy.$(echo "$f" | tr / _);
		clang-tidy --quiet "$f" -- -std=c11 -D_GNU_SOURCE -Ilib/chain -Ilib/store -Ilib/service -Ilib/client -pthread >"$out" 2>&1 ||
		echo "$f" >>'"$tmp"'/tidy-failed' <"$tmp/files"
	cat "$tmp"/tidy.* | grep -E ': (warning|error): ' >"$tmp/tidy" || true
	n=$(wc -l <"$tmp/tidy")
	if [ ! -s "$tmp/tidy-failed" ] && [ "$n" -eq 0 ]; then
		ok "clang-tidy finds nothing in $(wc -l <"$tmp/files") files ($(($(date +%s) - start))s)"
	else
		[ "$n" -eq 0 ] && cat "$tmp"/tidy.* >"$tmp/tidy"
		not_ok "clang-tidy finds nothing ($n findings; files: $(tr '\n' ' ' <"$tmp/tidy-failed" 2>/dev/null))" "$tmp/tidy"
	fi
else
	not_ok "clang-tidy is not installed (tools/deps.sh installs it)"
fi

# ---- valgrind memcheck over each unit test of the release build. No test is left out.
# Tests that fork (the store's multi-process and crash tests) keep memcheck in the
# child, which is what we want: a child's error makes it exit 99 and its test fail.
# --trace-children=no only stops memcheck following exec'd programs, which are not
# the code under test here. The timeout is generous: memcheck runs 20-50x slower.
if have valgrind; then
	n_tests=0
	for t in "$BUILD"/rel/tests/test_*; do
		[ -x "$t" ] || continue
		n_tests=$((n_tests + 1))
		name=$(basename "$t")
		start=$(date +%s)
		timeout 900 valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
			--trace-children=no --num-callers=24 --suppressions=tests/valgrind.supp \
			"$t" >"$tmp/vg.$name" 2>&1
		rc=$?
		secs=$(($(date +%s) - start))
		last=$(tail -n 1 "$tmp/vg.$name")
		if [ $rc -eq 0 ]; then
			ok "valgrind memcheck: $name clean (${secs}s; $last)"
		else
			grep -E '==[0-9]+==|not ok|failed' "$tmp/vg.$name" >"$tmp/vg.$name.why"
			not_ok "valgrind memcheck: $name (exit $rc after ${secs}s; $last)" "$tmp/vg.$name.why"
		fi
	done
	[ $n_tests -gt 0 ] || not_ok "valgrind memcheck: no unit tests in $BUILD/rel/tests (make rel-all first)"
else
	not_ok "valgrind is not installed (tools/deps.sh installs it)"
fi

echo "e2e_analysis: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
