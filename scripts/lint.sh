#!/usr/bin/env bash
# The style and hygiene gates CI runs beside the tests: clang-format,
# clang-tidy, a clang -Werror build beside gcc's, "libkube never prints",
# no banned C functions, and the unit suite under ASan+UBSan.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)
fail=0
mapfile -t sources < <(git ls-files '*.c' '*.h' | grep -v '^build')

echo "== clang-format"
clang-format --dry-run --Werror "${sources[@]}" || fail=1

echo "== libkube never prints or exits"
if grep -nE '\b(printf|fprintf|puts|fputs|perror|exit|abort)\s*\(' common/src/*.c | grep -v 'snprintf\|vsnprintf'; then
	echo "lint: common/src must not print or exit (log through kube_log, return an error)" >&2
	fail=1
fi

echo "== banned functions"
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)\s*\(' "${sources[@]}"; then
	echo "lint: use snprintf, kube_buf, strtol with checks" >&2
	fail=1
fi

echo "== clang build (-Werror)"
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Debug -DROLLGUARD_TESTING=ON >/dev/null
cmake --build build-clang -j "$jobs" || fail=1

echo "== clang-tidy"
mapfile -t tidy_sources < <(git ls-files 'common/*.c' 'plugins/*.c')
if [ ${#tidy_sources[@]} -gt 0 ]; then
	printf '%s\n' "${tidy_sources[@]}" |
		xargs -P "$jobs" -n 4 clang-tidy -p build-clang --quiet 2>/dev/null || fail=1
fi

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DROLLGUARD_TESTING=ON -DSANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$jobs" || fail=1
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit -j "$jobs" --output-on-failure) || fail=1

if [ "$fail" -ne 0 ]; then
	echo "lint: FAILED" >&2
	exit 1
fi
echo "lint: all gates passed"
