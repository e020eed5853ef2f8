#!/usr/bin/env python3
"""A TLS-terminating HTTP/1.1 proxy between a client and the e2e API server
that injects the HTTP-level faults Toxiproxy cannot (Toxiproxy works on TCP,
inside TLS it can only reset, stall or cut): 500 and 503 answers and
truncated bodies. These are canned responses: a real API server cannot be
made to answer 5xx or to cut a body on demand, and the fault suite says so.

    fault_proxy.py --listen PORT --upstream 127.0.0.1:PORT --cert C --key K
                   --ca CA --client-cert C --client-key K --plan PLAN --log LOG

The proxy answers TLS with --cert (signed by the e2e CA, so the client's
verification stays on) and talks to the API server as the client identity
given (the client's own certificate cannot be forwarded through a TLS
terminator). Connection upgrades (exec, port-forward) are spliced through.

PLAN is a JSON file, re-read whenever it changes (which resets its counters):
    {"rules": [{"match": "REGEX", "action": "503", "skip": 0, "count": 3,
                "retry_after": 1, "seconds": 30}]}
Each request line "METHOD /path?query" is matched against the rules in
order; the first rule whose regex matches and whose budget is left applies:
the first `skip` matching requests pass, the next `count` (-1: all) get the
fault. Actions:
    500, 503    a Status answer with that code (503 carries Retry-After when
                `retry_after` is set); the request never reaches the server
    truncate    the request goes through; the answer keeps its headers
                (Content-Length of the whole body) but only half of the body
                is sent before the connection closes
    reset       the connection is reset (RST) before any answer
    stall       no answer for `seconds`, then the connection closes
    drop-watch  a streamed answer (a watch) is cut after its first chunk,
                without the closing chunk
LOG gets one line per request: "METHOD target -> pass|ACTION".
"""
import argparse
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time

lock = threading.Lock()
plan_state = {"key": None, "rules": [], "seen": []}


def load_plan(path):
    try:
        st = os.stat(path)
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        key = None
    if key != plan_state["key"]:
        rules = []
        if key is not None:
            with open(path) as f:
                text = f.read()
            rules = json.loads(text).get("rules", []) if text.strip() else []
        plan_state.update(key=key, rules=rules, seen=[0] * len(rules))


def decide(plan_path, request_line):
    with lock:
        load_plan(plan_path)
        for i, rule in enumerate(plan_state["rules"]):
            if not re.search(rule.get("match", ""), request_line):
                continue
            n = plan_state["seen"][i]
            skip, count = int(rule.get("skip", 0)), int(rule.get("count", -1))
            if n < skip:
                plan_state["seen"][i] = n + 1
                return None
            if count >= 0 and n >= skip + count:
                continue
            plan_state["seen"][i] = n + 1
            return rule
        return None


def log_line(path, text):
    with lock:
        with open(path, "a") as f:
            f.write(text + "\n")


class Closed(Exception):
    pass


class Reader:
    """Buffered reads from a socket: lines, exact counts, what is left."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise Closed()
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def some(self):
        if not self.buf:
            self.fill()
        out, self.buf = self.buf, b""
        return out


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    first, headers = lines[0], {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return first, headers


def read_chunked(reader):
    """The chunks of a chunked body, each as raw bytes with its framing."""
    while True:
        size_line = reader.line()
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        data = reader.exact(size + 2)
        yield size_line + data, data[:-2], size == 0
        if size == 0:
            return


def status_body(code, message):
    reason = {500: "InternalError", 503: "ServiceUnavailable"}.get(code, "InternalError")
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def splice(a, b):
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join()


class Conn:
    def __init__(self, args, client):
        self.args, self.client, self.up, self.upr = args, client, None, None
        self.cr = Reader(client)

    def upstream(self):
        if self.up is None:
            ctx = ssl.create_default_context(cafile=self.args.ca)
            ctx.load_cert_chain(self.args.client_cert, self.args.client_key)
            ctx.set_alpn_protocols(["http/1.1"])
            host, port = self.args.upstream.rsplit(":", 1)
            raw = socket.create_connection((host, int(port)), timeout=300)
            self.up = ctx.wrap_socket(raw, server_hostname=host)
            self.upr = Reader(self.up)
        return self.up

    def drop_upstream(self):
        if self.up is not None:
            try:
                self.up.close()
            except OSError:
                pass
        self.up = self.upr = None

    def serve(self):
        try:
            while self.one():
                pass
        except (Closed, OSError, ssl.SSLError):
            pass
        finally:
            self.drop_upstream()
            try:
                self.client.close()
            except OSError:
                pass

    def one(self):
        head = self.cr.head()
        first, headers = parse_head(head)
        method, target = first.split(" ", 2)[:2]
        body = b""
        if "content-length" in headers:
            body = self.cr.exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = [data for _, data, _ in read_chunked(self.cr)]
            body = b"".join(parts)
            lines = [l for l in head.decode("latin-1").split("\r\n")[:-2]
                     if not l.lower().startswith("transfer-encoding:")]
            head = ("\r\n".join(lines) + "\r\nContent-Length: %d\r\n\r\n" % len(body)).encode("latin-1")
        rule = decide(self.args.plan, f"{method} {target}")
        action = rule.get("action") if rule else None
        log_line(self.args.log, f"{method} {target} -> {action or 'pass'}")
        if action in ("500", "503"):
            code = int(action)
            data = status_body(code, f"fault injected by the e2e fault proxy ({code})")
            extra = f"Retry-After: {rule['retry_after']}\r\n" if rule.get("retry_after") is not None else ""
            reason = "Internal Server Error" if code == 500 else "Service Unavailable"
            self.client.sendall((f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
                                 f"{extra}Content-Length: {len(data)}\r\n\r\n").encode() + data)
            return True
        if action == "reset":
            reset(self.client)
            return False
        if action == "stall":
            time.sleep(float(rule.get("seconds", 60)))
            reset(self.client)
            return False
        try:
            up = self.upstream()
            up.sendall(head + body)
            rhead = self.upr.head()
        except (Closed, OSError, ssl.SSLError):
            # the server closed a kept-alive connection: once more on a new one
            self.drop_upstream()
            up = self.upstream()
            up.sendall(head + body)
            rhead = self.upr.head()
        status_line, rheaders = parse_head(rhead)
        code = int(status_line.split(" ")[1])
        if code == 101:
            # bytes either side already read past the heads go on first
            self.client.sendall(rhead + self.upr.buf)
            if self.cr.buf:
                up.sendall(self.cr.buf)
            splice(self.client, up)
            return False
        no_body = method == "HEAD" or code in (204, 304) or 100 <= code < 200
        if no_body:
            self.client.sendall(rhead)
            return True
        if "content-length" in rheaders:
            data = self.upr.exact(int(rheaders["content-length"]))
            if action == "truncate":
                self.client.sendall(rhead + data[: len(data) // 2])
                reset(self.client)
                return False
            self.client.sendall(rhead + data)
            return rheaders.get("connection", "").lower() != "close"
        if rheaders.get("transfer-encoding", "").lower() == "chunked":
            if action == "truncate":
                data = b"".join(d for _, d, _ in read_chunked(self.upr))
                lines = [l for l in rhead.decode("latin-1").split("\r\n")[:-2]
                         if not l.lower().startswith("transfer-encoding:")]
                new = ("\r\n".join(lines) + "\r\nContent-Length: %d\r\n\r\n" % len(data)).encode("latin-1")
                self.client.sendall(new + data[: len(data) // 2])
                reset(self.client)
                return False
            self.client.sendall(rhead)
            for raw, _, last in read_chunked(self.upr):
                self.client.sendall(raw)
                if action == "drop-watch":
                    self.drop_upstream()
                    reset(self.client)
                    return False
                if last:
                    break
            return True
        # neither: until the server closes
        self.client.sendall(rhead)
        try:
            while True:
                self.client.sendall(self.upr.some())
        except Closed:
            pass
        return False


def main():
    ap = argparse.ArgumentParser()
    for name in ("listen", "upstream", "cert", "key", "ca", "client-cert", "client-key", "plan", "log"):
        ap.add_argument("--" + name, required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(args.listen)))
    srv.listen(64)
    print(f"fault proxy on 127.0.0.1:{args.listen} -> {args.upstream}", file=sys.stderr, flush=True)

    def handle(raw):
        try:
            client = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        Conn(args, client).serve()

    while True:
        raw, _ = srv.accept()
        threading.Thread(target=handle, args=(raw,), daemon=True).start()


if __name__ == "__main__":
    main()
