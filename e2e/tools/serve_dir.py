#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1:PORT the way a release download site does,
with .tgz/.tar.gz as application/gzip (Helm 3 installs a plugin tarball from
a URL only when the Content-Type says gzip: helm/helm#13221).

    e2e/tools/serve_dir.py DIR PORT
"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path):
        if path.endswith((".tgz", ".tar.gz")):
            return "application/gzip"
        return super().guess_type(path)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    handler = functools.partial(Handler, directory=sys.argv[1])
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
