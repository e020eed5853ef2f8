#!/usr/bin/env python3
"""Stands in for podinfo's HTTP endpoints on the demo's local cluster, where
kwok's pods run no processes: kwok's port-forward routes the pods' port 9898
here, so `probecheck --exercise` has something real to probe. /readyz answers
at once; /healthz takes 600 ms, a slow health check against the default
1 s timeout. Usage: probe-server.py PORT (binds 127.0.0.1)."""
import http.server
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/healthz"):
            time.sleep(0.6)
        code = 200 if self.path.startswith(("/healthz", "/readyz")) else 404
        body = b"ok\n" if code == 200 else b"not found\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
