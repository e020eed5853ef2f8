#!/usr/bin/env bash
# How fast `kubectl canary run` notices a failing canary pod (SPEC §7:
# within 1 s of the API event). Each trial starts a run on a Deployment of
# 4 replicas with a long pause, writes CrashLoopBackOff into the canary
# pod's status as the kubelet would, and takes the time from just before
# that write was sent to the run's "GateFailed" log line (-v=4, klog
# timestamps, same clock). That span also holds the writer's own round
# trip, so the figure is an upper bound on the true latency.
#
#   bench/canary_detect.sh [BUILD_DIR] [TRIALS]
# Not part of the test suite. Uses the local cluster (e2e/cluster/up.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
trials=${2:-10}
bench_positive TRIALS "$trials"
bench_cluster
bench_build "$build" kubectl-canary
ns=canary-bench-$$
bench_namespace "$ns"

python3 - "$here" "$build/kubectl-canary" "$ns" "$trials" <<'PY'
import datetime, json, re, statistics, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import measure
canary, ns, trials = sys.argv[2], sys.argv[3], int(sys.argv[4])

def kubectl(*args, input=None):
    return measure.kubectl(ns, *args, input=input)

def klog_epoch(line):
    # "I1124 05:17:52.225079   23714 decision] ..." in local time
    m = re.match(r"[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})", line)
    month, day, hh, mm, ss, us = map(int, m.groups())
    now = datetime.datetime.now()
    t = datetime.datetime(now.year, month, day, hh, mm, ss, us)
    return t.timestamp()

latencies = []
for trial in range(trials):
    name = "d%d" % trial
    kubectl("create", "deployment", name, "--image=registry.example/%s:1.0" % name, "--replicas=4")
    kubectl("rollout", "status", "deploy/" + name, "--timeout=60s")
    container = kubectl("get", "deploy", name, "-o", "jsonpath={.spec.template.spec.containers[0].name}")
    run = subprocess.Popen([canary, "-n", ns, "run", name, "--image", "%s=registry.example/%s:2.0" % (container, name),
                            "--steps", "25,100", "--pause", "1h", "-v=4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # wait for the first rung
    for _ in range(300):
        out = kubectl("get", "deploy", name, "-o", "jsonpath={.metadata.annotations.rollguard\\.io/canary}")
        if out and json.loads(out).get("phase") == "Paused":
            break
        time.sleep(0.1)
    time.sleep(1.0)  # the run is now waiting out its pause, watching
    pod = kubectl("get", "pods", "-l", "app=%s,rollguard.io/track=canary" % name, "-o", "jsonpath={.items[0].metadata.name}")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    patch = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
                        "containerStatuses": [{"name": container, "image": "x", "imageID": "", "ready": False, "started": False,
                                               "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}}]}}
    sent = time.time()
    kubectl("patch", "pod", pod, "--subresource", "status", "--type", "merge", "-p", json.dumps(patch))
    _, err = run.communicate(timeout=120)
    found = [l for l in err.splitlines() if "run: GateFailed" in l]
    if not found:
        print("trial %d: the run did not report a failed gate (exit %d)" % (trial, run.returncode), file=sys.stderr)
        continue
    latency = klog_epoch(found[0]) - sent
    latencies.append(latency)
    print("trial %d: %.0f ms (exit %d)" % (trial, latency * 1000, run.returncode))
if not latencies:
    sys.exit("canary_detect: no trial saw the run report the failed gate")
if latencies:
    print("canary run failing-pod detection over %d trials: median %.0f ms, max %.0f ms (budget 1000 ms; upper bounds: they include the writer's own request)"
          % (len(latencies), statistics.median(latencies) * 1000, max(latencies) * 1000))
budgets = [measure.budget("canary run: failing canary pod noticed (max over trials)", max(latencies), 1.0, "lower", " s",
                          "upper bound: from before the status write was sent to the run's GateFailed log line")]
measure.print_budgets(budgets)
measure.save("canary_detect", {"title": "Canary run: failing-pod detection", "trials": trials,
                               "latency": measure.spread(latencies), "budgets": budgets})
PY
