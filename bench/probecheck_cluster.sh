#!/usr/bin/env bash
# Cluster audit of N Deployments (replicas 1, a few probe variants) on the
# local cluster (e2e/cluster): `kubectl-probecheck -A -o json` against
# `kubectl get deploy -A -o json` alone. Interleaved runs, median wall time
# and peak RSS (ru_maxrss) of each, and their ratios.
# Budget (SPEC §7): no slower than kubectl get, at <= 1/4 of its peak memory.
#
#   bench/probecheck_cluster.sh [BUILD_DIR] [RUNS] [N]
#
# Creates namespaces pcbench-00..19 and deletes them at the end (KEEP=1
# keeps them for another run, which then reuses them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-bench}
runs=${2:-5}
count=${3:-5000}
spaces=20
# shellcheck source=../e2e/cluster/env.sh
. "$root/e2e/cluster/env.sh"
if ! "$K8S_BIN/kubectl" get --raw /readyz >/dev/null 2>&1; then
	bash "$root/e2e/cluster/up.sh"
fi
if [ ! -x "$build/kubectl-probecheck" ]; then
	static_prefix=$(bash "$root/scripts/static-deps.sh")
	CC=musl-gcc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
		-DROLLGUARD_STATIC_PREFIX="$static_prefix" >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
fi
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

python3 - "$root/bench" "$runs" "$build/kubectl-probecheck" "$K8S_BIN/kubectl" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import pairbench
runs, ours, kubectl = int(sys.argv[2]), sys.argv[3], sys.argv[4]
summary = pairbench.run("cluster audit (-A)", runs, {
    "kubectl-probecheck": [ours, "deploy", "-A", "-o", "json", "--fail-on", "never"],
    "kubectl get deploy": [kubectl, "get", "deploy", "-A", "-o", "json"],
}, check=True)
ours_wall, ours_rss = summary["kubectl-probecheck"]
k_wall, k_rss = summary["kubectl get deploy"]
print(f"  time: {ours_wall / k_wall:.2f} of kubectl get's (budget <= 1.00); "
      f"memory: {ours_rss / k_rss:.2f} of kubectl get's (budget <= 0.25)")
PY
