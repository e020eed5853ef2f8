#!/usr/bin/env bash
# `kubectl canary promote` on the local cluster: the HTTP requests each
# promotion sends (every request, counted from -v=6: reads, the Lease,
# writes) and its wall time, over TRIALS Deployments of 20 replicas taken
# up the default ladder 5% -> 25% -> 50% -> 100%.
# Budget (SPEC §7): promote <= 8 requests.
# No peer runs here: `kubectl argo rollouts promote` only patches a
# Rollout and leaves the work to the Argo Rollouts controller, so neither
# its requests nor its time compare.
#
#   bench/canary_promote.sh [BUILD_DIR] [TRIALS]
# Not part of the test suite. Uses its own namespace, deleted at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
trials=${2:-5}
bench_positive TRIALS "$trials"
bench_cluster
bench_build "$build" kubectl-canary
ns=canary-promote-$$
bench_namespace "$ns"

python3 - "$here" "$build/kubectl-canary" "$ns" "$trials" <<'PY'
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import measure
canary, ns, trials = sys.argv[2], sys.argv[3], int(sys.argv[4])

def kubectl(*args):
    return measure.kubectl(ns, *args)

def timed(argv):
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, measure.count_requests(done.stderr)

rungs = {"5% -> 25%": [], "25% -> 50%": [], "50% -> 100%": []}
for trial in range(trials):
    name = f"p{trial}"
    kubectl("create", "deployment", name, f"--image=registry.example/{name}:1.0", "--replicas=20")
    kubectl("rollout", "status", f"deploy/{name}", "--timeout=120s")
    timed([canary, "-n", ns, "start", name, "--image", f"registry.example/{name}:2.0", "--pause", "0"])
    for rung in rungs:
        rungs[rung].append(timed([canary, "-n", ns, "promote", name, "-v=6"]))
result = {}
for rung, samples in rungs.items():
    result[rung] = {"time": measure.spread([s[0] for s in samples]),
                    "requests": measure.spread([s[1] for s in samples])}
    print(f"  promote {rung:12s} {measure.fmt_time(result[rung]['time']['median']):>9s}  "
          f"requests {int(result[rung]['requests']['min'])}..{int(result[rung]['requests']['max'])}")
budgets = [measure.budget(f"canary promote {rung}: HTTP requests (most over {trials} Deployments of 20 replicas)",
                          r["requests"]["max"], 8, "lower", "",
                          "the finish: also waits for D's rollout, deletes the canary and commits" if rung.endswith("100%")
                          else "") for rung, r in result.items()]
measure.print_budgets(budgets)
measure.save("canary_promote", {"title": "Canary promote", "trials": trials, "rungs": result, "budgets": budgets})
PY
