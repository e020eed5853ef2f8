#!/usr/bin/env python3
"""Watches the pods of one app (both tracks) and records every moment the
capacity invariant of SPEC 3.1 is broken: fewer Ready pods (not being
deleted) than the original replica count.

    capacity_watch.py NAMESPACE APP MIN_READY OUT_FILE

APP is the value of the pods' `app` label, or (when it has a "=") a whole
label selector, e.g. app.kubernetes.io/instance=web,app.kubernetes.io/name=x
for a Helm release's Deployment. Reads `kubectl get pods -l SELECTOR
--watch -o json` (one JSON object per event) and keeps the last state of
each pod. Writes "started" once the watch runs; each violation as
"VIOLATION <ready> <time> <event> <pod>". Runs until killed (SIGTERM),
then writes "max_seen_ready N" and exits 0. Before the first moment the
app has MIN_READY Ready pods, nothing is judged."""
import json
import signal
import subprocess
import sys
import time

ns, app, min_ready, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out = open(out_path, "w", buffering=1)
pods = {}
armed = False
max_seen = 0


def ready(pod):
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    for cond in pod.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def stop(*_):
    out.write("max_seen_ready %d\n" % max_seen)
    out.close()
    proc.terminate()
    sys.exit(0)


selector = app if "=" in app else "app=" + app
proc = subprocess.Popen(["kubectl", "-n", ns, "get", "pods", "-l", selector, "--watch",
                         "--output-watch-events", "-o", "json"], stdout=subprocess.PIPE, text=True)
signal.signal(signal.SIGTERM, stop)
decoder = json.JSONDecoder()
buf = ""
out.write("started\n")
while True:
    chunk = proc.stdout.readline()
    if not chunk:
        break
    buf += chunk
    while True:
        buf = buf.lstrip()
        if not buf:
            break
        try:
            event, end = decoder.raw_decode(buf)
        except ValueError:
            break
        buf = buf[end:]
        obj = event.get("object", {})
        name = obj.get("metadata", {}).get("name")
        if event.get("type") == "DELETED":
            pods.pop(name, None)
        else:
            pods[name] = obj
        count = sum(1 for p in pods.values() if ready(p))
        max_seen = max(max_seen, count)
        if count >= min_ready:
            armed = True
        if armed and count < min_ready:
            out.write("VIOLATION %d %.3f %s %s\n" % (count, time.time(), event.get("type"), name))
stop()
