#!/usr/bin/env bash
# kubectl probecheck --exercise against the real cluster: every probe of
# the selected running pods is run now through the API server and the
# verdicts must match what this suite's own servers did. The pods' ports
# lead to servers on loopback (kwok's namespaced PortForward objects, one
# per pod) and their exec probes run on this host (kwok's Exec objects):
# an HTTP server (/ok, /fail, /slow, /redirect to another host, /samehost
# redirect, /big with 20 KiB), a TCP listener, a port nobody listens on,
# and a gRPC health server speaking HTTP/2 by hand. Also: -f is a usage
# error, and a viewer without pods/portforward and pods/exec gets exit 4.
. "$(dirname "$0")/../lib.sh"
PC=$BIN/kubectl-probecheck

cat >"$E2E_TMP/servers.py" <<'PY'
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
            self.reply(200, b"ok")
        elif url.path == "/fail":
            self.reply(500, b"boom")
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", ["300"])[0]) / 1000)
            self.reply(200, b"slow")
        elif url.path == "/redirect":
            self.reply(302, b"", [("Location", "http://elsewhere.example/ok")])
        elif url.path == "/samehost":
            self.reply(301, b"", [("Location", "/ok")])
        elif url.path == "/big":
            self.reply(200, b"x" * 20480)
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
PY
python3 "$E2E_TMP/servers.py" "$E2E_TMP/ports" &
SERVERS_PID=$!
exercise_cleanup() {
	kill "$SERVERS_PID" 2>/dev/null
	wait "$SERVERS_PID" 2>/dev/null
	kubectl -n team-a delete deployment "e2e-exercise-$$" --wait=false >/dev/null 2>&1
	e2e_cleanup
}
trap exercise_cleanup EXIT
for _ in $(seq 1 50); do [ -s "$E2E_TMP/ports" ] && break; sleep 0.1; done
read -r HTTP_PORT TCP_PORT DEAD_PORT GRPC_PORT <"$E2E_TMP/ports" ||
	{ echo "$SUITE: the servers did not start" >&2; exit 1; }

# ids: "checkId probe container" of the -o json report in $OUT for one workload
findings() { jq -r --arg w "$1" '.findings[] | select(.workload.name == $w) | "\(.checkId) \(.probe) \(.severity)"' <<<"$OUT" | sort -u; }
expect_finding() {
	if findings "$1" | grep -qx -- "$2"; then ok "$1: $2"; else fail "$1: no finding '$2' (has: $(findings "$1" | tr '\n' ';'))"; fi
}
expect_no_finding() {
	if findings "$1" | grep -qx -- "$2"; then fail "$1: unexpected finding '$2'"; else ok "$1: no '$2'"; fi
}
expect_no_active() {
	local got
	got=$(findings "$1" | grep '^active-')
	if [ -z "$got" ]; then ok "$1: no active finding"; else fail "$1: unexpected active findings: $got"; fi
}
# samples_ok WORKLOAD PROBE: the distinct "ok" values of that probe's samples ("true", "false", "false,true")
samples_ok() { jq -r --arg w "$1" --arg p "$2" '[.exercised[] | select(.workload.name == $w and .probe == $p) | .samples[].ok] | unique | map(tostring) | join(",")' <<<"$OUT"; }

cat >"$E2E_TMP/apps.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: http-good}
spec:
  replicas: 2
  selector: {matchLabels: {app: http-good}}
  template:
    metadata: {labels: {app: http-good}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ok, port: http}, timeoutSeconds: 2}
        livenessProbe: {httpGet: {path: /ok, port: 8080, httpHeaders: [{name: X-Probe, value: "1"}]}, timeoutSeconds: 2}
        startupProbe: {tcpSocket: {port: 9000}, timeoutSeconds: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: http-bad}
spec:
  replicas: 1
  selector: {matchLabels: {app: http-bad}}
  template:
    metadata: {labels: {app: http-bad}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /fail, port: http}, timeoutSeconds: 2}
        livenessProbe: {httpGet: {path: "/slow?ms=1300", port: http}, timeoutSeconds: 2, periodSeconds: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: http-odd}
spec:
  replicas: 1
  selector: {matchLabels: {app: http-odd}}
  template:
    metadata: {labels: {app: http-odd}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /redirect, port: http}, timeoutSeconds: 2}
        livenessProbe: {httpGet: {path: /big, port: http}, timeoutSeconds: 2}
        startupProbe: {httpGet: {path: /samehost, port: http}, timeoutSeconds: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-dead}
spec:
  replicas: 1
  selector: {matchLabels: {app: tcp-dead}}
  template:
    metadata: {labels: {app: tcp-dead}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        readinessProbe: {tcpSocket: {port: 9001}, timeoutSeconds: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exec}
spec:
  replicas: 1
  selector: {matchLabels: {app: exec}}
  template:
    metadata: {labels: {app: exec}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        env: [{name: GREETING, value: hello}]
        readinessProbe: {exec: {command: [sh, -c, "exit 1"]}, timeoutSeconds: 5}
        livenessProbe: {exec: {command: [sh, -c, 'test "$(GREETING)" = hello']}, timeoutSeconds: 5}
        startupProbe: {exec: {command: [/no/such/binary]}, timeoutSeconds: 5}
      - name: side
        image: registry.example/app:1.0
        livenessProbe: {exec: {command: ["true"]}, timeoutSeconds: 5}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grpc}
spec:
  replicas: 1
  selector: {matchLabels: {app: grpc}}
  template:
    metadata: {labels: {app: grpc}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        readinessProbe: {grpc: {port: 9090}, timeoutSeconds: 2}
        livenessProbe: {grpc: {port: 9090, service: down}, timeoutSeconds: 2}
EOF
kubectl -n "$NS" apply -f "$E2E_TMP/apps.yaml" >/dev/null
for d in http-good http-bad http-odd tcp-dead exec grpc; do
	kubectl -n "$NS" rollout status "deploy/$d" --timeout=60s >/dev/null ||
		{ echo "$SUITE: deploy/$d did not roll out" >&2; exit 1; }
done

# one PortForward and one Exec per pod, named after it
for pod in $(kubectl -n "$NS" get pods -o jsonpath='{.items[*].metadata.name}'); do
	cat <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: $pod, namespace: $NS}
spec:
  forwards:
  - {ports: [8080], target: {address: 127.0.0.1, port: $HTTP_PORT}}
  - {ports: [9000], target: {address: 127.0.0.1, port: $TCP_PORT}}
  - {ports: [9001], target: {address: 127.0.0.1, port: $DEAD_PORT}}
  - {ports: [9090], target: {address: 127.0.0.1, port: $GRPC_PORT}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata: {name: $pod, namespace: $NS}
spec:
  execs: [{local: {workDir: /tmp}}]
---
YAML
done | kubectl apply -f - >/dev/null
# kwok picks the objects up from its informers
for pod in $(kubectl -n "$NS" get pods -o jsonpath='{.items[*].metadata.name}'); do
	for _ in $(seq 1 40); do
		"$DRIVER" exec "$pod" -n "$NS" -- true >/dev/null 2>&1 &&
			"$DRIVER" portforward-tcp "$pod" 9000 -n "$NS" --no-ping >/dev/null 2>&1 && break
		sleep 0.25
	done
done

# --- usage errors
run "$PC" -f "$E2E_TMP/apps.yaml" --exercise
expect_rc 2 "--exercise with -f"
expect_err "needs cluster targets" "the reason"
run "$PC" deploy -n "$NS" --samples 2
expect_rc 2 "--samples without --exercise"
run "$PC" deploy -n "$NS" --exercise --samples 0
expect_rc 2 "--samples 0"

# --- without --exercise nothing is run and no active check is evaluated
run "$PC" deploy -n "$NS" -o json --fail-on never
expect_rc 0 "a plain audit"
expect_eq "$(jq -r 'has("exercised")' <<<"$OUT")" "false" "no exercised[] without --exercise"

# --- the exercise
run "$PC" deploy -n "$NS" --exercise --samples 2 -o json --fail-on never
expect_rc 0 "--exercise"
# E2E_EXERCISE_REPORT=FILE keeps the report for a look afterwards
[ -n "${E2E_EXERCISE_REPORT:-}" ] && printf '%s\n' "$OUT" >"$E2E_EXERCISE_REPORT"

expect_no_active http-good
expect_eq "$(samples_ok http-good readinessProbe)" "true" "named port resolved, /ok passes"
expect_eq "$(samples_ok http-good startupProbe)" "true" "tcpSocket to a listener connects"
expect_eq "$(jq '[.exercised[] | select(.workload.name == "http-good")] | length' <<<"$OUT")" "6" \
	"3 probes x 2 pods"
expect_eq "$(jq '[.exercised[] | select(.workload.name == "http-good") | .samples | length] | unique | join(",")' <<<"$OUT")" \
	'"2"' "--samples 2"
tunnel=$(jq '[.exercised[] | select(.handler == "httpGet") | .tunnelMs] | max' <<<"$OUT")
if [ "$tunnel" != null ] && [ "$tunnel" -ge 0 ]; then ok "tunnel round trip measured (max ${tunnel} ms)"; else fail "no tunnelMs"; fi
# what the server saw: the kubelet's headers
expect_eq "$(grep -c '^/ok .* ua=kube-probe/1\.[0-9]* accept=\*/\* conn=close' "$E2E_TMP/ports.requests" | tr -d ' ' | sed 's/^0$/none/')" \
	"$(grep -c '^/ok ' "$E2E_TMP/ports.requests" | tr -d ' ')" "every /ok request had kube-probe UA, Accept */*, Connection: close"
if grep -q '^/ok .*x-probe=1' "$E2E_TMP/ports.requests"; then ok "httpHeaders sent"; else fail "X-Probe header not seen"; fi

expect_finding http-bad "active-probe-fails readinessProbe error"
expect_finding http-bad "active-latency-vs-timeout livenessProbe warning"
expect_eq "$(samples_ok http-bad livenessProbe)" "true" "slow but within its timeout"

expect_finding http-odd "active-http-redirect readinessProbe warning"
expect_finding http-odd "active-http-large-body livenessProbe info"
expect_eq "$(samples_ok http-odd readinessProbe)" "true" "a cross-host redirect counts as success"
expect_eq "$(samples_ok http-odd startupProbe)" "true" "a same-host redirect is followed to 200"
expect_no_finding http-odd "active-probe-fails startupProbe error"

expect_finding tcp-dead "active-probe-fails readinessProbe error"
expect_eq "$(jq -r '[.exercised[] | select(.workload.name == "tcp-dead") | .samples[0].detail] | first' <<<"$OUT" | grep -c 'connection refused')" \
	"1" "the kubelet's connection refused"

expect_finding exec "active-probe-fails readinessProbe error"
expect_finding exec "active-exec-missing-binary startupProbe error"
expect_eq "$(samples_ok exec livenessProbe)" "true" '$(GREETING) expanded from the container env'
expect_eq "$(jq -r '[.exercised[] | select(.workload.name == "exec" and .container == "side") | .samples[].ok] | unique | map(tostring) | join(",")' <<<"$OUT")" \
	"true" "exec true passes"
expect_eq "$(jq -r '[.exercised[] | select(.handler == "exec") | .tunnelMs] | unique | map(tostring) | join(",")' <<<"$OUT")" \
	"null" "exec latencies are raw (no tunnelMs)"

grpc_state=$(jq -r '[.exercised[] | select(.workload.name == "grpc") | .state] | unique | join(",")' <<<"$OUT")
if [ "$grpc_state" = notExercised ]; then
	ok "gRPC not exercised: $(jq -r '[.exercised[] | select(.workload.name == "grpc") | .error] | first' <<<"$OUT")"
else
	expect_eq "$grpc_state" "exercised" "gRPC exercised over HTTP/2"
	expect_eq "$(samples_ok grpc readinessProbe)" "true" "SERVING passes"
	expect_finding grpc "active-probe-fails livenessProbe error"
	expect_eq "$(jq -r '[.findings[] | select(.workload.name == "grpc" and .checkId == "active-probe-fails") | .message] | first' <<<"$OUT" | grep -c NOT_SERVING)" \
		"1" "NOT_SERVING named"
fi

# --- the default exit code and table output
run "$PC" deploy/http-bad -n "$NS" --exercise --samples 1
expect_rc 1 "an active error fails"
expect_out "active-probe-fails" "table shows it"

# --- without create on pods/portforward and pods/exec: exit 4
kubectl -n team-a create deployment "e2e-exercise-$$" --image=registry.example/app:1.0 >/dev/null
kubectl -n team-a patch deployment "e2e-exercise-$$" --type=json -p \
	'[{"op":"add","path":"/spec/template/spec/containers/0/readinessProbe","value":{"tcpSocket":{"port":8080}}}]' >/dev/null
kubectl -n team-a rollout status "deploy/e2e-exercise-$$" --timeout=60s >/dev/null
run "$PC" --context viewer "deploy/e2e-exercise-$$" -n team-a --exercise
expect_rc 4 "viewer cannot exercise"
expect_err 'pods/portforward' "the server's forbidden message"
expect_one_error_line "forbidden exercise"

finish
