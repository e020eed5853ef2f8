#!/usr/bin/env bash
# Runs every fuzz target of a FUZZ=ON build for SECONDS each, two at a
# time, each from a scratch copy of its seeds (tests/fixtures/fuzz/<target>),
# and prints one Markdown table row per target: seconds, executions,
# coverage (the last "cov:" libFuzzer printed), peak RSS and the result
# (ok, crash or leak; a timeout or running out of memory is a crash).
# Exit status: non-zero when a target crashed or leaked; their inputs are
# kept under OUT/artifacts/<target>/, and each run's output in
# OUT/logs/<target>.log.
#
#   scripts/fuzz-report.sh [--out DIR] [--jobs N] BUILD_DIR SECONDS [TARGET...]
#
#   BUILD_DIR   a build configured with -DFUZZ=ON (scripts/test.sh: build-fuzz)
#   SECONDS     how long each target runs
#   TARGET      only these targets (default: every tests/fuzz_* in BUILD_DIR)
#   --out DIR   where corpora, logs and crash inputs go (default: a new
#               directory under ${TMPDIR:-/tmp}, printed)
#   --jobs N    targets run at once (default 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prog=fuzz-report.sh
die() {
	echo "$prog: error: $*" >&2
	exit 2
}

out=
jobs=2
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--out)
		[ $# -ge 2 ] || die "--out needs a directory"
		out=$2
		shift 2
		;;
	--jobs)
		[ $# -ge 2 ] || die "--jobs needs a number"
		jobs=$2
		shift 2
		;;
	-h | --help)
		sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option $1" ;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
[ ${#args[@]} -ge 2 ] || die "usage: $prog [--out DIR] [--jobs N] BUILD_DIR SECONDS [TARGET...]"
build=$(cd "${args[0]}" && pwd) || die "no build directory ${args[0]}"
seconds=${args[1]}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, not '$seconds'"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive whole number, not '$jobs'"

targets=()
if [ ${#args[@]} -gt 2 ]; then
	for name in "${args[@]:2}"; do
		[ -x "$build/tests/$name" ] || die "no fuzz target $name in $build/tests"
		targets+=("$name")
	done
else
	for bin in "$build"/tests/fuzz_*; do
		[ -f "$bin" ] && [ -x "$bin" ] && targets+=("$(basename "$bin")")
	done
fi
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets in $build/tests (configure with -DFUZZ=ON and build)"

if [ -z "$out" ]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/rollguard-fuzz-report.XXXXXX")
else
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
fi
mkdir -p "$out/corpus" "$out/artifacts" "$out/logs" "$out/results"

# One target: a fresh scratch corpus from its seeds, libFuzzer's own
# limits as ctest runs it (tests/CMakeLists.txt), one result line.
run_target() {
	local name=$1 seeds=$root/tests/fixtures/fuzz/$1
	local corpus=$out/corpus/$name artifacts=$out/artifacts/$name/ log=$out/logs/$name.log
	local started rc=0 elapsed result fuzzer
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	[ -d "$seeds" ] && cp -R "$seeds/." "$corpus/"
	started=$(date +%s)
	"$build/tests/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1 &
	fuzzer=$!
	trap 'kill "$fuzzer" 2>/dev/null; exit 130' INT TERM
	wait "$fuzzer" || rc=$?
	elapsed=$(($(date +%s) - started))
	if [ "$rc" -eq 0 ]; then
		result=ok
	elif compgen -G "$artifacts/leak-*" >/dev/null || grep -q 'ERROR: LeakSanitizer' "$log"; then
		result=leak
	else
		result=crash
	fi
	[ "$result" != ok ] || rmdir "$artifacts" 2>/dev/null || true
	local execs cov rss
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	echo "| $name | $elapsed | ${execs:-?} | ${cov:-?} | ${rss:-?} MB | $result |" >"$out/results/$name"
}

pids=()
stop() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	exit 130
}
trap stop INT TERM

echo "$prog: ${#targets[@]} targets, ${seconds} s each, $jobs at a time; output in $out" >&2
for name in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	run_target "$name" &
	pids+=($!)
done
wait

echo "| target | seconds | executions | coverage | peak RSS | result |"
echo "|---|---:|---:|---:|---:|---|"
failed=0
for name in "${targets[@]}"; do
	if [ -f "$out/results/$name" ]; then
		cat "$out/results/$name"
		grep -q '| ok |$' "$out/results/$name" || failed=1
	else
		echo "| $name | ? | ? | ? | ? | crash |"
		failed=1
	fi
done
if [ "$failed" -ne 0 ]; then
	echo "$prog: crash and leak inputs are in $out/artifacts (logs: $out/logs)" >&2
	exit 1
fi
