#!/usr/bin/env python3
"""A Prometheus exporter of two simulated tracks of one app, canary and
stable, whose traffic the e2e test sets while it runs (python3 stdlib only).

    track_exporter.py --address ADDR --port PORT [--namespace NS]
        [--deployment D] [--revision REV] [--canary-pod POD]
        [--stable-pod POD] [--service SVC] [--ingress ING]

Each track has a request rate (rps), an error fraction (errors, 0..1) and a
latency (latencyMs), all 0 at the start. Counters integrate them over time:
between two moments t0 and t1 a track gains rps × (t1 − t0) requests, of
which the fraction `errors` answered 500 and the rest 200, each taking
latencyMs (so every histogram bucket with le ≥ latency gains them all, and
histogram_quantile interpolates inside the bucket that holds the latency).
Counters are floats and grow continuously, as a real app's would between
scrapes.

HTTP endpoints:
  GET  /metrics  the Prometheus text format (0.0.4), three shapes per track:
    app:   http_requests_total{namespace,pod,rollguard_io_track,
           rollguard_io_revision,code}, http_request_duration_seconds_{bucket,
           sum,count}{namespace,pod,rollguard_io_track,rollguard_io_revision}
           (canary: rollguard_io_track="canary", rollguard_io_revision=REV;
           stable: neither label, pod D-<hash>-<suffix>)
    istio: istio_requests_total{reporter="destination",
           destination_workload_namespace,destination_workload,
           destination_service_name,response_code} and
           istio_request_duration_milliseconds_{bucket,sum,count}
           (destination_workload D-canary / D)
    nginx: nginx_ingress_controller_requests{namespace,ingress,service,status}
           and nginx_ingress_controller_request_duration_seconds_{bucket,sum,
           count} (canary: ingress ING-canary, service SVC-canary)
  POST /set     JSON {"track": "canary"|"stable"|"both", "rps": 20,
                "errors": 0.3, "latencyMs": 40} (any subset of the three)
  POST /labels  JSON {"namespace", "deployment", "revision", "canaryPod",
                "stablePod", "service", "ingress"} (any subset); counters
                restart at 0, since the series are new ones
  GET  /state   JSON: labels, and per track its settings and counters
  GET  /healthz "ok"
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Bucket bounds of the client libraries' defaults (seconds), of Istio's
# standard metrics (milliseconds) and of ingress-nginx (seconds).
SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
ISTIO_MS_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
                    600000, 1800000, 3600000]
TRACKS = ("canary", "stable")
SETTINGS = ("rps", "errors", "latencyMs")
LABEL_KEYS = ("namespace", "deployment", "revision", "canaryPod", "stablePod", "service", "ingress")


class Track:
    def __init__(self):
        self.rps = 0.0
        self.errors = 0.0
        self.latency_ms = 0.0
        self.reset(time.monotonic())

    def reset(self, now):
        self.last = now
        self.ok = 0.0       # requests answered 200
        self.failed = 0.0   # requests answered 500
        self.seconds = 0.0  # sum of their durations
        self.observed = []  # (latency_ms, count) of every latency used so far

    def advance(self, now):
        dt = max(0.0, now - self.last)
        self.last = now
        n = self.rps * dt
        if n <= 0:
            return
        self.failed += n * self.errors
        self.ok += n * (1 - self.errors)
        self.seconds += n * self.latency_ms / 1000.0
        if self.observed and self.observed[-1][0] == self.latency_ms:
            self.observed[-1] = (self.latency_ms, self.observed[-1][1] + n)
        else:
            self.observed.append((self.latency_ms, n))

    def total(self):
        return self.ok + self.failed

    def buckets(self, bounds, scale):
        """Cumulative counts for each bound (bounds in the unit latency_ms × scale)."""
        return [sum(c for ms, c in self.observed if ms * scale <= b) for b in bounds]

    def state(self):
        return {"rps": self.rps, "errors": self.errors, "latencyMs": self.latency_ms,
                "requests": self.total(), "errorsTotal": self.failed}


class Exporter:
    def __init__(self, labels):
        self.lock = threading.Lock()
        self.labels = labels
        self.tracks = {t: Track() for t in TRACKS}

    def set(self, body):
        names = body.get("track")
        names = list(TRACKS) if names == "both" else [names]
        for name in names:
            if name not in TRACKS:
                raise ValueError("track must be canary, stable or both")
        for key in body:
            if key != "track" and key not in SETTINGS:
                raise ValueError("unknown key %r" % key)
        values = {}
        for key in SETTINGS:
            if key in body:
                v = float(body[key])
                if v < 0 or (key == "errors" and v > 1):
                    raise ValueError("%s out of range: %r" % (key, body[key]))
                values[key] = v
        with self.lock:
            now = time.monotonic()
            for name in names:
                t = self.tracks[name]
                t.advance(now)  # what has happened so far keeps the old settings
                t.rps = values.get("rps", t.rps)
                t.errors = values.get("errors", t.errors)
                t.latency_ms = values.get("latencyMs", t.latency_ms)

    def set_labels(self, body):
        for key in body:
            if key not in LABEL_KEYS:
                raise ValueError("unknown key %r" % key)
        with self.lock:
            for key, value in body.items():
                self.labels[key] = str(value)
            now = time.monotonic()
            for t in self.tracks.values():
                t.reset(now)

    def state(self):
        with self.lock:
            now = time.monotonic()
            for t in self.tracks.values():
                t.advance(now)
            return {"labels": dict(self.labels), "tracks": {n: t.state() for n, t in self.tracks.items()}}

    def metrics(self):
        with self.lock:
            now = time.monotonic()
            for t in self.tracks.values():
                t.advance(now)
            return render(self.labels, self.tracks)


def esc(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def fmt_labels(pairs):
    return "{" + ",".join('%s="%s"' % (k, esc(v)) for k, v in pairs) + "}"


def num(v):
    if v == float("inf"):
        return "+Inf"
    return repr(float(v))


def histogram(out, name, base, track, bounds, scale, sum_value):
    counts = track.buckets(bounds, scale)
    for b, c in zip(bounds, counts):
        out.append("%s_bucket%s %s" % (name, fmt_labels(base + [("le", str(b))]), num(c)))
    out.append("%s_bucket%s %s" % (name, fmt_labels(base + [("le", "+Inf")]), num(track.total())))
    out.append("%s_sum%s %s" % (name, fmt_labels(base), num(sum_value)))
    out.append("%s_count%s %s" % (name, fmt_labels(base), num(track.total())))


def render(labels, tracks):
    ns, d = labels["namespace"], labels["deployment"]
    svc, ing = labels["service"], labels["ingress"]
    out = []

    def app_base(name):
        if name == "canary":
            return [("namespace", ns), ("pod", labels["canaryPod"]), ("rollguard_io_track", "canary"),
                    ("rollguard_io_revision", labels["revision"])]
        return [("namespace", ns), ("pod", labels["stablePod"])]

    def istio_base(name):
        return [("reporter", "destination"), ("destination_workload_namespace", ns),
                ("destination_workload", d + "-canary" if name == "canary" else d),
                ("destination_service_name", svc + "-canary" if name == "canary" else svc)]

    def nginx_base(name):
        if name == "canary":
            return [("namespace", ns), ("ingress", ing + "-canary"), ("service", svc + "-canary")]
        return [("namespace", ns), ("ingress", ing), ("service", svc)]

    out.append("# HELP http_requests_total Requests served, by status code.")
    out.append("# TYPE http_requests_total counter")
    for name in TRACKS:
        t = tracks[name]
        out.append("http_requests_total%s %s" % (fmt_labels(app_base(name) + [("code", "200")]), num(t.ok)))
        out.append("http_requests_total%s %s" % (fmt_labels(app_base(name) + [("code", "500")]), num(t.failed)))
    out.append("# HELP http_request_duration_seconds Request duration.")
    out.append("# TYPE http_request_duration_seconds histogram")
    for name in TRACKS:
        t = tracks[name]
        histogram(out, "http_request_duration_seconds", app_base(name), t, SECONDS_BUCKETS, 0.001, t.seconds)

    out.append("# HELP istio_requests_total Requests seen by the destination's sidecar.")
    out.append("# TYPE istio_requests_total counter")
    for name in TRACKS:
        t = tracks[name]
        out.append("istio_requests_total%s %s" % (fmt_labels(istio_base(name) + [("response_code", "200")]), num(t.ok)))
        out.append("istio_requests_total%s %s" % (fmt_labels(istio_base(name) + [("response_code", "500")]),
                                                  num(t.failed)))
    out.append("# HELP istio_request_duration_milliseconds Request duration in milliseconds.")
    out.append("# TYPE istio_request_duration_milliseconds histogram")
    for name in TRACKS:
        t = tracks[name]
        histogram(out, "istio_request_duration_milliseconds", istio_base(name), t, ISTIO_MS_BUCKETS, 1.0,
                  t.seconds * 1000.0)

    out.append("# HELP nginx_ingress_controller_requests Requests handled by the ingress controller.")
    out.append("# TYPE nginx_ingress_controller_requests counter")
    for name in TRACKS:
        t = tracks[name]
        out.append("nginx_ingress_controller_requests%s %s" % (fmt_labels(nginx_base(name) + [("status", "200")]),
                                                              num(t.ok)))
        out.append("nginx_ingress_controller_requests%s %s" % (fmt_labels(nginx_base(name) + [("status", "500")]),
                                                              num(t.failed)))
    out.append("# HELP nginx_ingress_controller_request_duration_seconds Request duration.")
    out.append("# TYPE nginx_ingress_controller_request_duration_seconds histogram")
    for name in TRACKS:
        t = tracks[name]
        histogram(out, "nginx_ingress_controller_request_duration_seconds", nginx_base(name), t, SECONDS_BUCKETS,
                  0.001, t.seconds)
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "track-exporter/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def reply(self, code, body, ctype="text/plain; charset=utf-8"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        exp = self.server.exporter
        if self.path == "/metrics":
            self.reply(200, exp.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        elif self.path == "/state":
            self.reply(200, json.dumps(exp.state()) + "\n", "application/json")
        elif self.path == "/healthz":
            self.reply(200, "ok\n")
        else:
            self.reply(404, "not found\n")

    def do_POST(self):
        exp = self.server.exporter
        try:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            if self.path == "/set":
                exp.set(body)
            elif self.path == "/labels":
                exp.set_labels(body)
            else:
                self.reply(404, "not found\n")
                return
        except (ValueError, TypeError) as e:
            self.reply(400, "error: %s\n" % e)
            return
        self.reply(200, json.dumps(exp.state()) + "\n", "application/json")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--namespace", default="default")
    p.add_argument("--deployment", default="web")
    p.add_argument("--revision", default="0")
    p.add_argument("--canary-pod", default="")
    p.add_argument("--stable-pod", default="")
    p.add_argument("--service", default="")
    p.add_argument("--ingress", default="")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    a = p.parse_args()
    d = a.deployment
    labels = {"namespace": a.namespace, "deployment": d, "revision": a.revision,
              "canaryPod": a.canary_pod or d + "-canary-6d4b9c7f5-k2x8q",
              "stablePod": a.stable_pod or d + "-7c9d8f6b5-m4z7p",
              "service": a.service or d, "ingress": a.ingress or d}
    srv = ThreadingHTTPServer((a.address, a.port), Handler)
    srv.daemon_threads = True
    srv.exporter = Exporter(labels)
    srv.verbose = a.verbose
    print("track_exporter: listening on %s:%d" % (a.address, a.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
