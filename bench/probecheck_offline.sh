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
# RUNS (default 5) applies up to 5,000 objects; larger inputs run 2 times
# (peers once). SIZES defaults to "500 5000 50000". Not part of the test suite.
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

# --- the budget, at 5,000 Deployments
path = os.path.join(work, "deployments-5000.yaml")
cmds = commands(path)
missing = [p for p in ("kube-score score", "polaris audit", "kube-linter lint") if p not in cmds]
if missing:
    print("offline: not built here (see bench/peers.sh): " + ", ".join(missing))
result = measure.compare(f"offline audit of 5,000 Deployments ({objects(path)} objects, "
                         f"{os.path.getsize(path) >> 10} KiB)", cmds, runs, warmup=1, rss_runs=3, check=False)
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

# --- how cost grows
points = []
for n in sizes:
    path = os.path.join(work, f"deployments-{n}.yaml")
    big = n > 5000
    cmds = commands(path)
    if big:  # the peers once each: minutes and gigabytes at this size
        theirs = {k: v for k, v in cmds.items() if k != "kubectl-probecheck -f"}
        r = measure.compare(f"scaling, {n} Deployments (rollguard)", {"kubectl-probecheck -f": cmds["kubectl-probecheck -f"]},
                            2, warmup=1, rss_runs=2, check=False)
        if theirs:
            r.update(measure.compare(f"scaling, {n} Deployments (peers, once)", theirs, 1, warmup=0, rss_runs=1,
                                     check=False))
    else:
        r = measure.compare(f"scaling, {n} Deployments", cmds, runs, warmup=1, rss_runs=3, check=False)
    points.append({"deployments": n, "objects": objects(path), "bytes": os.path.getsize(path), "commands": r})
measure.save("probecheck_scaling", {"title": "Offline audit: how cost grows", "points": points})
PY
