#!/usr/bin/env bash
# Offline audit of 5,000 generated Deployments (plus Services and PDBs):
# kubectl-probecheck -f against kube-score (the peer the Go module proxy
# serves; Polaris and kube-linter are not served here). Interleaved runs,
# median wall time and peak RSS of each, and their ratios.
# Budget (SPEC §7): >= 5x faster than the fastest peer at <= 1/5 its memory.
#
#   bench/probecheck_offline.sh [BUILD_DIR] [RUNS] [N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-release}
runs=${2:-5}
count=${3:-5000}
peers=$(bash "$root/bench/peers.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/bench/gen_deployments.py" "$count" >"$work/deployments.yaml"
if [ ! -x "$build/kubectl-probecheck" ]; then
	static_prefix=$(bash "$root/scripts/static-deps.sh")
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
		-DROLLGUARD_STATIC_PREFIX="$static_prefix" >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
fi
python3 - "$runs" "$work/deployments.yaml" "$build/kubectl-probecheck" "$peers/kube-score" <<'PY'
import os, statistics, subprocess, sys, time
runs, manifest, ours, kube_score = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def measure(argv):
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0
commands = {
    "kubectl-probecheck": [ours, "-f", manifest, "-o", "json", "--fail-on", "never"],
    "kube-score": [kube_score, "score", "--output-format", "json", manifest],
}
results = {name: [] for name in commands}
for _ in range(runs):
    for name, argv in commands.items():
        results[name].append(measure(argv))
print(f"offline audit of {sys.argv[2]}: median of {runs} interleaved runs")
summary = {}
for name, samples in results.items():
    wall = statistics.median(s[0] for s in samples)
    rss = statistics.median(s[1] for s in samples)
    summary[name] = (wall, rss)
    print(f"  {name:20s} {wall:7.3f} s   peak RSS {rss:8.1f} MiB")
ours_wall, ours_rss = summary["kubectl-probecheck"]
ks_wall, ks_rss = summary["kube-score"]
print(f"  speed: {ks_wall / ours_wall:.1f}x faster than kube-score (budget >= 5x); "
      f"memory: {ours_rss / ks_rss:.2f} of kube-score's (budget <= 0.20)")
PY
