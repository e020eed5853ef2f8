#!/usr/bin/env python3
"""Holds the only seat of a Priority and Fairness level so that the API
server rejects every other request of that level with a real 429 and
Retry-After (the fault suite's 429 source, e2e/faults.sh).

    apf_hog.py SERVER CA CERT KEY PATH

A request with no seat in use is always admitted, even at a level with no
concurrency (the queue set lets one in so that wide requests cannot
starve), so the hog asks for a big LIST (PATH) as the throttled user and
never reads the answer: with a tiny receive buffer the server's handler
blocks writing it and keeps its seat until the hog is killed. It prints
"holding" once the request is sent."""
import socket
import ssl
import sys
import time
from urllib.parse import urlparse

server, ca, cert, key, path = sys.argv[1:6]
u = urlparse(server)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
raw.connect((u.hostname, u.port))
s = ctx.wrap_socket(raw, server_hostname=u.hostname)
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: application/json\r\n\r\n".encode())
print("holding", flush=True)
while True:
    time.sleep(3600)
