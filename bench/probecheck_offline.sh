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
build=${1:-$root/build-bench}
runs=${2:-5}
count=${3:-5000}
peers=$(bash "$root/bench/peers.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/bench/gen_deployments.py" "$count" >"$work/deployments.yaml"
if [ ! -x "$build/kubectl-probecheck" ]; then
	static_prefix=$(bash "$root/scripts/static-deps.sh")
	CC=musl-gcc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
		-DROLLGUARD_STATIC_PREFIX="$static_prefix" >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
fi
python3 - "$root/bench" "$runs" "$work/deployments.yaml" "$build/kubectl-probecheck" "$peers/kube-score" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import pairbench
runs, manifest, ours, kube_score = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
summary = pairbench.run(f"offline audit of {manifest}", runs, {
    "kubectl-probecheck": [ours, "-f", manifest, "-o", "json", "--fail-on", "never"],
    "kube-score": [kube_score, "score", "--output-format", "json", manifest],
})
ours_wall, ours_rss = summary["kubectl-probecheck"]
ks_wall, ks_rss = summary["kube-score"]
print(f"  speed: {ks_wall / ours_wall:.1f}x faster than kube-score (budget >= 5x); "
      f"memory: {ours_rss / ks_rss:.2f} of kube-score's (budget <= 0.20)")
PY
