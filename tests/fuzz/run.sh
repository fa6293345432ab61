#!/bin/sh
# Builds every libFuzzer target tests/fuzz/fuzz_*.c with clang (libFuzzer, ASan, UBSan)
# against the library sources, then runs each for FUZZ_SECONDS from its seed corpus
# tests/fuzz/corpus/<target>/. A target stops at its first crash, leak, sanitizer report
# or broken invariant; the input that did it is kept as $BUILD/fuzz/crash/<target>-*.
# Prints "fuzz: N passed, N failed" counting targets and exits non-zero on a failure.
# Env: BUILD (default build; objects and binaries go to $BUILD/fuzz/), FUZZ_SECONDS
# (default 60), FUZZ_TARGETS (default all: names such as "fuzz_vote fuzz_block").
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
out=$BUILD/fuzz
CC=${FUZZ_CC:-clang}
# -O1 with frame pointers keeps the sanitizer stacks readable; UBSan aborts at once
# so that libFuzzer saves the input instead of logging and going on.
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -pthread -Ilib/chain -Ilib/store -Ilib/service -Ilib/client -Wall -Wextra"
CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=all"
LIBS="-ldb -ljson-c -lcrypto -lfcgi -lcurl -pthread"
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

mkdir -p "$out/obj" "$out/crash" "$out/log"

# The library, instrumented for coverage (fuzzer-no-link) and the sanitizers. An object
# is rebuilt when its source or any library header is newer.
newest_h=$(ls -t lib/*/*.h | head -n 1)
stale=""
for src in lib/*/*.c; do
	obj=$out/obj/$(basename "$src" .c).o
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_h" -nt "$obj" ]; then
		stale="$stale $src"
	fi
done
if [ -n "$stale" ]; then
	echo "fuzz: compiling$stale"
	# shellcheck disable=SC2086
	if ! printf '%s\n' $stale | xargs -P "$jobs" -I{} sh -c \
		"$CC $CFLAGS -fsanitize=fuzzer-no-link -c {} -o $out/obj/\$(basename {} .c).o"; then
		echo "fuzz: the library does not build with $CC"
		echo "fuzz: 0 passed, 1 failed"
		exit 1
	fi
	rm -f "$out/libchainvote.a"
fi
[ -f "$out/libchainvote.a" ] || ar rcs "$out/libchainvote.a" "$out"/obj/*.o

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')}
for t in $targets; do
	bin=$out/$t
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -Werror -fsanitize=fuzzer "tests/fuzz/$t.c" "$out/libchainvote.a" \
		$LIBS -o "$bin"; then
		echo "not ok - $t: does not build"
		failed=$((failed + 1))
		continue
	fi
	# new inputs go to a scratch corpus; the checked-in seeds are read, never written
	mkdir -p "$out/corpus/$t"
	case $t in
	fuzz_binary) dict="" ;;
	*) dict="-dict=tests/fuzz/json.dict" ;;
	esac
	log=$out/log/$t.log
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$out/crash/$t-" $dict \
		"$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $t: ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}"
	else
		failed=$((failed + 1))
		echo "not ok - $t: exit $rc after ${secs}s (log $log)"
		grep -E 'ERROR|SUMMARY|invariant failed|runtime error|Test unit written' "$log" |
			head -n 12 | sed 's/^/  | /'
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
