#!/usr/bin/env bash
# Cold start: each binary's `version` against `kubectl version --client`
# and `kubectl-argo-rollouts version` (the plugin binary itself, so kubectl's
# own start-up is not added to the peer), on the same machine, in one run.
# Budget (SPEC §7): each rollguard binary >= 20x faster than both.
#
#   bench/cold_start.sh [BUILD_DIR] [RUNS]
# Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
runs=${2:-50}
bench_positive RUNS "$runs"
# shellcheck source=../e2e/cluster/common.sh
. "$bench_root/e2e/cluster/common.sh"
[ -x "$K8S_BIN/kubectl" ] || bash "$bench_root/e2e/cluster/build.sh" k8s >&2
bench_build "$build"
peers=$(bash "$here/peers.sh")
# No cluster is needed; an empty kubeconfig keeps every tool from reading the caller's.
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT

python3 - "$here" "$runs" "$build" "$K8S_BIN/kubectl" "$peers" "$empty" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
import measure
runs, build, kubectl, peers, empty = int(sys.argv[2]), *sys.argv[3:]
env = dict(os.environ, KUBECONFIG=empty)
ours = {b: [os.path.join(build, b), "version"] for b in ("kubectl-canary", "kubectl-probecheck", "helm-rollback-safe")}
theirs = {"kubectl version --client": [kubectl, "version", "--client"]}
argo = os.path.join(peers, "kubectl-argo-rollouts")
if os.access(argo, os.X_OK):
    theirs["kubectl-argo-rollouts version"] = [argo, "version"]
else:
    print("cold start: kubectl-argo-rollouts was not built (bench/peers.sh); compared with kubectl only")
result = measure.compare("cold start (version)", {**ours, **theirs}, runs, warmup=5, rss_runs=10, env=env)
budgets = []
for peer in theirs:
    for binary in ours:
        ratio = result[peer]["time"]["median"] / result[binary]["time"]["median"]
        budgets.append(measure.budget(f"cold start: {binary} vs {peer}", ratio, 20, "higher", "x",
                                      "median wall time of `version`"))
measure.print_budgets(budgets)
instructions = {b: measure.callgrind(argv, env=env) for b, argv in ours.items()}
for b, c in instructions.items():
    if c:
        print(f"  {b} version under callgrind: {c['instructions']:,} instructions")
measure.save("cold_start", {"title": "Cold start (`version`)", "commands": result, "budgets": budgets,
                            "instructions": instructions})
PY
