#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (gcc, test hooks
# on), runs the unit suite, starts a fresh local cluster, runs the e2e
# suite against it, runs each fuzzer briefly (clang build), prints ctest's
# summary and stops the cluster. Exit status: non-zero on any failure.
#
#   scripts/test.sh          the fast form (CI)
#   scripts/test.sh --full   adds long fuzzing, valgrind over the unit suite, the
#                            whole fault matrix, the e2e suites under ASan and
#                            one e2e scenario per plugin under valgrind
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
full=0
for arg in "$@"; do
	case $arg in
	--full) full=1 ;;
	-h | --help)
		sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

bash "$root/scripts/deps.sh"
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
jobs=$(nproc)

# A cluster of its own, beside any demo cluster: own state dir and ports.
export ROLLGUARD_CLUSTER_DIR=${ROLLGUARD_TEST_CLUSTER_DIR:-${TMPDIR:-/tmp}/rollguard-test-cluster}
export ETCD_CLIENT_PORT=24790 ETCD_PEER_PORT=24800 APISERVER_PORT=17443
export KCM_PORT=21257 SCHEDULER_PORT=21259 KWOK_PORT=21250

build=$root/build
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DROLLGUARD_TESTING=ON >/dev/null
cmake --build "$build" -j "$jobs"

status=0
results=$build/test-results
rm -rf "$results" && mkdir -p "$results"
cleanup() { "$root/e2e/cluster/down.sh" || true; }
trap cleanup EXIT

# ctest with a JUnit report per run, so the closing line can add them up.
run_ctest() {
	local dir=$1 name=$2
	shift 2
	(cd "$dir" && ctest --output-on-failure --output-junit "$results/$name.xml" "$@") || status=1
}

echo "== helm3 and helm4 for the plugin suite (~4 min cold, cached after)"
"$root/e2e/cluster/build.sh" helm
echo "== Prometheus (Debian package, unpacked) and the routers' upstream CRDs for the canary suites"
"$root/e2e/cluster/build.sh" prometheus
"$root/e2e/cluster/build.sh" crds
echo "== Toxiproxy for the fault suite (~1 min cold)"
"$root/e2e/cluster/build.sh" faults

echo "== release archives (static musl binaries; the libraries built once from Debian sources, ~4 min cold)"
# test_release.sh and test_krew.sh check them; the Helm tarball is signed
# with a throwaway key (the release key never leaves its owner's machine).
export ROLLGUARD_DIST=$build/dist
rm -rf "$build/dist-key"
(. "$root/e2e/cluster/env.sh" && bash "$root/scripts/release.sh" --out "$ROLLGUARD_DIST" \
	--throwaway-key "$build/dist-key") >/dev/null

echo "== starting a fresh local cluster"
"$root/e2e/cluster/down.sh"
"$root/e2e/cluster/up.sh"

echo "== unit and e2e tests"
# --full: the fault suite runs every command with every fault
[ "$full" -eq 0 ] || export ROLLGUARD_E2E_FULL=1
run_ctest "$build" unit-e2e -L 'unit|e2e' -j "$jobs"
if [ "$full" -eq 1 ]; then
	echo "== e2e suites with the binaries under ASan+UBSan, then one scenario per plugin under valgrind"
	cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DROLLGUARD_TESTING=ON \
		-DSANITIZE=address,undefined >/dev/null
	cmake --build "$root/build-asan" -j "$jobs"
	unset ROLLGUARD_E2E_FULL # the fault matrix ran above
	bash "$root/scripts/e2e-checked.sh" asan "$root/build-asan" || status=1
	bash "$root/scripts/e2e-checked.sh" valgrind "$build" || status=1
fi
cleanup

echo "== fuzz targets (short runs, clang + ASan/UBSan)"
fuzz_build=$root/build-fuzz
CC=clang cmake -S "$root" -B "$fuzz_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUZZ=ON \
	-DSANITIZE=address,undefined >/dev/null
cmake --build "$fuzz_build" -j "$jobs"
# 60 s per target in CI (two at a time), 10 minutes each with --full
fuzz_seconds=60
[ "$full" -eq 1 ] && fuzz_seconds=600
# Each run ends with libFuzzer's final stats; keeping the tail of the
# output keeps them (and any crash report) in the JUnit file and here.
ROLLGUARD_FUZZ_SECONDS=$fuzz_seconds run_ctest "$fuzz_build" fuzz -L fuzz -j "$jobs" \
	--test-output-size-passed 4096 --test-output-truncation head
awk '/ Testing: fuzz\./ { name = $NF; cov = "?" }
	/ cov: / { for (i = 1; i < NF; i++) if ($i == "cov:") cov = $(i + 1) }
	/^stat::number_of_executed_units:/ { execs = $2 }
	/^stat::peak_rss_mb:/ { printf "  %s: %s executions, coverage %s, peak RSS %s MB\n", name, execs, cov, $2 }' \
	"$fuzz_build/Testing/Temporary/LastTest.log" || true

if [ "$full" -eq 1 ]; then
	echo "== unit tests under valgrind"
	# MemoryCheckCommand must be named: without include(CTest) ctest has
	# no default and stops with "Memory checker not set" (exit 16).
	run_ctest "$build" valgrind -L unit -T memcheck --overwrite MemoryCheckCommand="$(command -v valgrind)" \
		--overwrite MemoryCheckCommandOptions="--leak-check=full --error-exitcode=1 --errors-for-leak-kinds=definite"
fi

echo "== summary"
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
total = failed = skipped = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    suite = ET.parse(path).getroot()
    t, f = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    s = int(suite.get("skipped", 0) or 0)
    print(f"  {path.rsplit('/', 1)[1][:-4]}: {t - f - s} passed, {f} failed, {s} skipped")
    total, failed, skipped = total + t, failed + f, skipped + s
print(f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
