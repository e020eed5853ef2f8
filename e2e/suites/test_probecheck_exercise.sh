#!/usr/bin/env bash
# kubectl probecheck --exercise against the real cluster: every probe of
# the selected running pods is run now through the API server and the
# verdicts must match what this suite's own servers did. The pods' ports
# lead to servers on loopback (kwok's namespaced PortForward objects, one
# per pod) and their exec probes run on this host (kwok's Exec objects):
# e2e/servers/targets.py (HTTP /ok, /fail, /slow, a redirect to another
# host, a same-host redirect, a 20 KiB body; a TCP listener, a port nobody
# listens on, and a gRPC health server speaking HTTP/2 by hand). Also: -f is a usage
# error, and a viewer without pods/portforward and pods/exec gets exit 4.
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../exercise.sh
. "$(dirname "$0")/../exercise.sh"
PC=$BIN/kubectl-probecheck

exercise_cleanup() {
	targets_stop
	kubectl -n team-a delete deployment "e2e-exercise-$$" --wait=false >/dev/null 2>&1
	e2e_cleanup
}
trap exercise_cleanup EXIT
targets_start || { echo "$SUITE: the servers did not start" >&2; exit 1; }

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
        readinessProbe: {httpGet: {path: "/redirect?to=http://elsewhere.example/ok", port: http}, timeoutSeconds: 2}
        livenessProbe: {httpGet: {path: "/big?kib=20", port: http}, timeoutSeconds: 2}
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
# shellcheck disable=SC2046 # one argument per pod
kwok_serve "$NS" $(kubectl -n "$NS" get pods -o jsonpath='{.items[*].metadata.name}') ||
	fail "kwok never served the port-forward and exec of every pod"

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
