#!/usr/bin/env bash
# Cluster audit of N Deployments (replicas 1, a few probe variants) on the
# local cluster (e2e/cluster): `kubectl-probecheck -A -o json` against
# `kubectl get deploy -A -o json` alone: wall time (hyperfine), peak RSS,
# requests at -v=6, and rollguard's instruction count (callgrind). popeye
# (whole-cluster sanitizer, where bench/peers.sh built it) runs beside them
# for scale, not for the budget.
# Budget (SPEC §7): no slower than kubectl get, at <= 1/4 of its peak memory.
#
#   bench/probecheck_cluster.sh [BUILD_DIR] [RUNS] [N]
#
# Creates namespaces pcbench-00..19 and deletes them at the end (KEEP=1
# keeps them for another run, which then reuses them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
runs=${2:-5}
count=${3:-5000}
bench_positive RUNS "$runs"
bench_positive N "$count"
spaces=20
bench_cluster
bench_build "$build" kubectl-probecheck
work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	if [ "${KEEP:-0}" != 1 ]; then
		echo "deleting the benchmark namespaces" >&2
		"$K8S_BIN/kubectl" delete ns -l rollguard-bench=probecheck --wait=false >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

python3 - "$work" "$count" "$spaces" <<'PY'
import sys
work, count, spaces = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = 250
def deployment(i):
    probes = ""
    if i % 3 != 0:
        probes += f"""          readinessProbe:
            httpGet: {{path: /ready, port: http}}
            periodSeconds: {5 + i % 10}
"""
    if i % 4 != 0:
        probes += f"""          livenessProbe:
            httpGet: {{path: /healthz, port: http}}
            initialDelaySeconds: {i % 90}
            failureThreshold: {1 + i % 3}
"""
    if i % 5 == 0:
        probes += """          startupProbe:
            tcpSocket: {port: 8080}
            failureThreshold: 30
            periodSeconds: 2
"""
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i:05d}
  namespace: pcbench-{i % spaces:02d}
  labels: {{app: app-{i:05d}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: app-{i:05d}}}
  template:
    metadata:
      labels: {{app: app-{i:05d}}}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.{i % 30}.0
          ports: [{{name: http, containerPort: 8080}}]
{probes}"""
with open(f"{work}/namespaces.yaml", "w") as f:
    for n in range(spaces):
        f.write(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: pcbench-{n:02d}\n"
                f"  labels: {{rollguard-bench: probecheck}}\n")
for start in range(0, count, chunk):
    with open(f"{work}/deploy-{start // chunk:03d}.yaml", "w") as f:
        for i in range(start, min(start + chunk, count)):
            f.write(deployment(i))
PY

have=$("$K8S_BIN/kubectl" get deploy -A -l '!nonexistent' --no-headers 2>/dev/null | grep -c '^pcbench-' || true)
if [ "$have" -lt "$count" ]; then
	started=$(date +%s)
	"$K8S_BIN/kubectl" apply --server-side -f "$work/namespaces.yaml" >/dev/null
	# 4 chunks at once: the 2-core machine also runs the control plane
	find "$work" -name 'deploy-*.yaml' | sort |
		xargs -P 4 -I{} "$K8S_BIN/kubectl" apply --server-side --force-conflicts -f {} >/dev/null
	echo "created $count Deployments in $(($(date +%s) - started)) s" >&2
fi
# Wait (up to 10 minutes) for the controllers: every Deployment's pod exists.
for _ in $(seq 120); do
	pods=$("$K8S_BIN/kubectl" get pods -A --no-headers 2>/dev/null | grep -c '^pcbench-' || true)
	[ "$pods" -ge "$count" ] && break
	sleep 5
done
deploys=$("$K8S_BIN/kubectl" get deploy -A --no-headers | grep -c '^pcbench-' || true)
running=$("$K8S_BIN/kubectl" get pods -A --no-headers | grep '^pcbench-' | grep -c ' Running ' || true)
rs=$("$K8S_BIN/kubectl" get rs -A --no-headers | grep -c '^pcbench-' || true)
events=$("$K8S_BIN/kubectl" get events -A --no-headers 2>/dev/null | wc -l || true)
echo "cluster: $deploys Deployments, $rs ReplicaSets, $pods pods ($running Running), $events Events" >&2

peers=$(bash "$here/peers.sh")
python3 - "$here" "$runs" "$build/kubectl-probecheck" "$K8S_BIN/kubectl" "$count" "$peers" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
import measure
runs, ours, kubectl, count, peers = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
cmds = {
    "kubectl-probecheck deploy -A": [ours, "deploy", "-A", "-o", "json", "--fail-on", "never"],
    "kubectl get deploy -A -o json": [kubectl, "get", "deploy", "-A", "-o", "json"],
}
result = measure.compare(f"cluster audit of {count} Deployments", cmds, runs, warmup=1, rss_runs=3)
for name, argv in cmds.items():
    result[name]["requests"] = measure.requests(argv + ["-v=6"])
    print(f"  {name}: {result[name]['requests']} requests at -v=6")
# popeye audits the whole cluster, not the Deployments alone: shown for
# scale beside the budgeted pair, fewer runs (it takes far longer)
popeye = os.path.join(peers, "popeye")
if os.access(popeye, os.X_OK):
    result.update(measure.compare("popeye, the cluster sanitizer users run instead (whole cluster)", {
        "popeye -A": [popeye, "-A", "-o", "json", "--logs", "/dev/null", "--force-exit-zero"]}, 2, warmup=0,
        rss_runs=1))
ours_r, peer_r = result["kubectl-probecheck deploy -A"], result["kubectl get deploy -A -o json"]
budgets = [
    measure.budget(f"probecheck -A, {count} Deployments: time vs kubectl get deploy -A -o json",
                   ours_r["time"]["median"] / peer_r["time"]["median"], 1, "lower", "x"),
    measure.budget(f"probecheck -A, {count} Deployments: peak RSS vs kubectl get deploy -A -o json",
                   ours_r["rss"]["median"] / peer_r["rss"]["median"], 0.25, "lower", "x"),
]
measure.print_budgets(budgets)
instructions = {"kubectl-probecheck deploy -A": measure.callgrind(cmds["kubectl-probecheck deploy -A"])}
measure.save("probecheck_cluster", {"title": f"Cluster audit, {count} Deployments", "commands": result,
                                    "budgets": budgets, "instructions": instructions})
PY
