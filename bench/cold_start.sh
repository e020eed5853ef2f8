#!/usr/bin/env bash
# Cold start: each binary's `version` against `kubectl version --client`
# on the same machine, interleaved runs, medians and their ratio.
# Budget (SPEC §7): each rollguard binary >= 20x faster than kubectl.
#
#   bench/cold_start.sh [BUILD_DIR] [RUNS]
# Not part of the test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-bench}
runs=${2:-30}
# shellcheck source=../e2e/cluster/common.sh
. "$root/e2e/cluster/common.sh"
kubectl=$K8S_BIN/kubectl
if [ ! -x "$build/kubectl-canary" ]; then
	# the release configuration: fully static (musl), as scripts/release.sh builds
	static_prefix=$(bash "$root/scripts/static-deps.sh")
	CC=musl-gcc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
		-DROLLGUARD_STATIC_PREFIX="$static_prefix" >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
fi
[ -x "$kubectl" ] || "$root/e2e/cluster/build.sh" k8s

python3 - "$runs" "$kubectl" "$build" <<'PY'
import os, statistics, subprocess, sys, time
runs, kubectl, build = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def once(argv):
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start
peer = [kubectl, "version", "--client"]
print(f"cold start, median of {runs} interleaved runs (wall clock, one machine)")
for binary in ("kubectl-canary", "kubectl-probecheck", "helm-rollback-safe"):
    ours = [os.path.join(build, binary), "version"]
    once(ours); once(peer)  # warm the page cache for both
    a, b = [], []
    for _ in range(runs):
        a.append(once(ours)); b.append(once(peer))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"  {binary:20s} {ma*1000:7.2f} ms   kubectl {mb*1000:7.2f} ms   ratio {mb/ma:6.1f}x faster"
          f"   ({'meets' if mb/ma >= 20 else 'MISSES'} the 20x budget)")
PY
