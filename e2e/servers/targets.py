#!/usr/bin/env python3
"""What the e2e suites' pod ports lead to, through kwok's port-forward: an
HTTP server (/ok, /fail, /slow?ms=N, /redirect?to=URL (302, default /ok),
/samehost (301 to /ok), /big?kib=N (default 64)), a TCP listener that
greets, a port nobody listens on, and a gRPC health server speaking HTTP/2
by hand. Usage: targets.py PORTS_FILE -- writes "http tcp dead grpc" ports
there once listening, and logs each HTTP request to PORTS_FILE.requests."""
import http.server, os, socket, socketserver, struct, sys, threading, time, urllib.parse

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, extra=()):
        self.send_response(code)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        with open(sys.argv[1] + ".requests", "a") as log:
            log.write("%s %s ua=%s accept=%s conn=%s x-probe=%s\n" % (
                url.path, self.headers.get("Host"), self.headers.get("User-Agent"),
                self.headers.get("Accept"), self.headers.get("Connection"), self.headers.get("X-Probe")))
        if url.path == "/ok":
            self.reply(200, ("ok agent=" + self.headers.get("User-Agent", "")).encode())
        elif url.path == "/fail":
            self.reply(500, b"boom")
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", ["300"])[0]) / 1000)
            self.reply(200, b"slow")
        elif url.path == "/redirect":
            self.reply(302, b"", [("Location", query.get("to", ["/ok"])[0])])
        elif url.path == "/samehost":
            self.reply(301, b"", [("Location", "/ok")])
        elif url.path == "/big":
            self.reply(200, b"x" * (1024 * int(query.get("kib", ["64"])[0])))
        else:
            self.reply(404, b"no such path")

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

def greet(listener):
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"hello\n")
        conn.close()

# gRPC health over HTTP/2 with prior knowledge, by hand: enough of RFC 9113
# for one unary call per connection. The request's HealthCheckRequest
# service "down" answers NOT_SERVING, any other SERVING.
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

def literal(name, value):
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def grpc_conn(conn):
    try:
        read_exact(conn, 24)  # the client preface
        conn.sendall(frame(4, 0, 0))
        data = {}
        while True:
            head = read_exact(conn, 9)
            length = int.from_bytes(head[:3], "big")
            kind, flags, stream = head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = read_exact(conn, length)
            if kind == 4 and not flags & 1:
                conn.sendall(frame(4, 1, 0))
            elif kind == 6 and not flags & 1:
                conn.sendall(frame(6, 1, 0, payload))
            elif kind == 7:
                return
            elif kind in (0, 1):
                if kind == 0:
                    data[stream] = data.get(stream, b"") + payload
                if flags & 1:
                    message = data.get(stream, b"")[5:]
                    service = message[2:2 + message[1]] if message[:1] == b"\x0a" else b""
                    status = 2 if service == b"down" else 1
                    conn.sendall(frame(1, 4, stream, b"\x88" + literal(b"content-type", b"application/grpc")) +
                                 frame(0, 0, stream, b"\x00\x00\x00\x00\x02\x08" + bytes([status])) +
                                 frame(1, 5, stream, literal(b"grpc-status", b"0")))
    except (EOFError, OSError):
        pass
    finally:
        conn.close()

def grpc_serve(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=grpc_conn, args=(conn,), daemon=True).start()

http_server = Server(("127.0.0.1", 0), Handler)
tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen(16)
grpc = socket.socket()
grpc.bind(("127.0.0.1", 0))
grpc.listen(16)
dead = socket.socket()
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]
dead.close()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d %d %d\n" % (http_server.server_address[1], tcp.getsockname()[1], dead_port,
                               grpc.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Thread(target=greet, args=(tcp,), daemon=True).start()
threading.Thread(target=grpc_serve, args=(grpc,), daemon=True).start()
http_server.serve_forever()
