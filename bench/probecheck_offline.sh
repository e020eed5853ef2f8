#!/usr/bin/env bash
# Offline audit (`kubectl-probecheck -f`) of generated Deployments (with
# Services and PDBs, bench/gen_deployments.py) against the static
# analysers users would pick instead: kube-score, Polaris and kube-linter,
# each where bench/peers.sh could build it. Every tool reads the same
# one multi-document file and writes JSON to /dev/null.
#
# Two sections: the budget at 5,000 Deployments (SPEC §7: >= 5x faster than
# the fastest peer, at <= 1/5 of its peak RSS), and how cost grows at each
# of SIZES (time and memory; rollguard's memory must stay bounded, not
# follow the input).
#
#   bench/probecheck_offline.sh [BUILD_DIR] [RUNS] [SIZES]
# RUNS (default 5) applies up to 5,000 Deployments, larger inputs run twice;
# a tool whose first run takes over 20 s runs once more only. The peers
# stop at 5,000 unless BENCH_BIG_PEERS=1. SIZES defaults to
# "500 5000 50000". Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
runs=${2:-5}
sizes=${3:-500 5000 50000}
bench_positive RUNS "$runs"
for n in $sizes; do bench_positive SIZES "$n"; done
bench_build "$build" kubectl-probecheck
peers=$(bash "$here/peers.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in $sizes 5000; do
	[ -f "$work/deployments-$n.yaml" ] || python3 "$here/gen_deployments.py" "$n" >"$work/deployments-$n.yaml"
done

# shellcheck disable=SC2086 # one argument per size
python3 - "$here" "$runs" "$build/kubectl-probecheck" "$peers" "$work" $sizes <<'PY'
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import measure
runs, ours, peers, work = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sizes = [int(n) for n in sys.argv[6:]]

def commands(path):
    found = {"kubectl-probecheck -f": [ours, "-f", path, "-o", "json", "--fail-on", "never"]}
    for name, argv in (
        ("kube-score score", ["kube-score", "score", "--output-format", "json", path]),
        ("polaris audit", ["polaris", "audit", "--audit-path", path, "--format", "json"]),
        ("kube-linter lint", ["kube-linter", "lint", "--format", "json", path]),
    ):
        binary = os.path.join(peers, argv[0])
        if os.access(binary, os.X_OK):
            found[name] = [binary] + argv[1:]
    return found

def objects(path):
    return sum(1 for line in open(path) if line.startswith("kind:"))

def audited(path):
    """The objects rollguard's report covers: the run is checked, not only timed."""
    out = subprocess.run(commands(path)["kubectl-probecheck -f"], capture_output=True, text=True, check=True).stdout
    return len(json.loads(out)["workloads"])

def run_all(title, cmds, runs):
    """Every command side by side. A first timed run of each warms the page
    cache and sorts out the slow ones (over 20 s: Polaris at 5,000), which
    then run once more instead of RUNS times, for the wall time and the
    peak RSS both."""
    first = measure.hyperfine(cmds, 1, warmup=0, check=False)
    slow = {k: v for k, v in cmds.items() if first[k][0] > 20}
    fast = {k: v for k, v in cmds.items() if k not in slow}
    result = measure.compare(title, fast, runs, warmup=0, rss_runs=min(runs, 3), check=False)
    if slow:
        result.update(measure.compare(title + ", the slow ones once more", slow, 1, warmup=0, rss_runs=1,
                                      check=False))
    return result

# --- the budget, at 5,000 Deployments
path = os.path.join(work, "deployments-5000.yaml")
cmds = commands(path)
missing = [p for p in ("kube-score score", "polaris audit", "kube-linter lint") if p not in cmds]
if missing:
    print("offline: not built here (see bench/peers.sh): " + ", ".join(missing))
at_5000 = run_all(f"offline audit of 5,000 Deployments ({objects(path)} objects, "
                  f"{os.path.getsize(path) >> 10} KiB)", cmds, runs)
result = at_5000
peer_names = [n for n in cmds if n != "kubectl-probecheck -f"]
budgets = []
if peer_names:
    fastest = min(peer_names, key=lambda n: result[n]["time"]["median"])
    ours_r, peer_r = result["kubectl-probecheck -f"], result[fastest]
    budgets.append(measure.budget(f"offline -f, 5,000 Deployments: speed vs the fastest peer ({fastest})",
                                  peer_r["time"]["median"] / ours_r["time"]["median"], 5, "higher", "x"))
    budgets.append(measure.budget(f"offline -f, 5,000 Deployments: peak RSS vs {fastest}",
                                  ours_r["rss"]["median"] / peer_r["rss"]["median"], 0.2, "lower", "x"))
measure.print_budgets(budgets)
instructions = {"kubectl-probecheck -f": measure.callgrind(cmds["kubectl-probecheck -f"])}
if instructions["kubectl-probecheck -f"]:
    print(f"  kubectl-probecheck -f under callgrind: {instructions['kubectl-probecheck -f']['instructions']:,} instructions")
measure.save("probecheck_offline", {"title": "Offline audit, 5,000 Deployments", "objects": objects(path),
                                    "workloads_audited": audited(path), "commands": result,
                                    "peers_missing": missing, "budgets": budgets, "instructions": instructions})

# --- how cost grows: rollguard at every size; the peers up to 5,000 (at
# 50,000 they take minutes to hours each: kube-linter and Polaris grow
# faster than linearly), unless BENCH_BIG_PEERS=1
points = []
for n in sizes:
    path = os.path.join(work, f"deployments-{n}.yaml")
    cmds = commands(path)
    if n > 5000 and os.environ.get("BENCH_BIG_PEERS") != "1":
        cmds = {"kubectl-probecheck -f": cmds["kubectl-probecheck -f"]}
    r = at_5000 if n == 5000 else run_all(f"scaling, {n} Deployments", cmds, runs if n <= 5000 else 2)
    points.append({"deployments": n, "objects": objects(path), "bytes": os.path.getsize(path), "commands": r})
measure.save("probecheck_scaling", {"title": "Offline audit: how cost grows", "points": points})
PY
