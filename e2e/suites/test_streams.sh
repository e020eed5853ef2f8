#!/usr/bin/env bash
# Streams through the API server over WebSocket: exec (v5.channel.k8s.io,
# v4 when only v4 is offered; the exit status from the status channel) and
# port-forward (v4.channel.k8s.io) to servers this suite runs on loopback,
# which kwok's namespaced PortForward and Exec objects route the pod to.
# Also: forbidden for the viewer, a missing pod, no credentials in -v 10.
. "$(dirname "$0")/../lib.sh"

# --- the servers the pod's ports lead to (e2e/servers/targets.py): HTTP
# (200, 500, slow, redirect, a big body), a TCP listener that greets, and a
# port nobody listens on
python3 "$e2e_root/e2e/servers/targets.py" "$E2E_TMP/ports" &
SERVERS_PID=$!
VIEWER_POD=e2e-streams-$$
streams_cleanup() {
	kill "$SERVERS_PID" 2>/dev/null
	wait "$SERVERS_PID" 2>/dev/null
	kubectl -n team-a delete pod "$VIEWER_POD" --wait=false >/dev/null 2>&1
	e2e_cleanup
}
trap streams_cleanup EXIT
for _ in $(seq 1 50); do [ -s "$E2E_TMP/ports" ] && break; sleep 0.1; done
read -r HTTP_PORT TCP_PORT DEAD_PORT _ <"$E2E_TMP/ports" || { echo "$SUITE: the servers did not start" >&2; exit 1; }

# --- a pod on a kwok node, with its exec and port-forward routed to this host
kubectl -n "$NS" run web --image=busybox --restart=Never >/dev/null
kubectl -n team-a run "$VIEWER_POD" --image=busybox --restart=Never >/dev/null
kubectl -n "$NS" wait --for=condition=Ready pod/web --timeout=60s >/dev/null
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: web, namespace: $NS}
spec:
  forwards:
  - {ports: [8080], target: {address: 127.0.0.1, port: $HTTP_PORT}}
  - {ports: [9000], target: {address: 127.0.0.1, port: $TCP_PORT}}
  - {ports: [9001], target: {address: 127.0.0.1, port: $DEAD_PORT}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata: {name: web, namespace: $NS}
spec:
  execs: [{local: {workDir: /tmp}}]
YAML
# kwok picks the objects up from its informers
for _ in $(seq 1 40); do
	"$DRIVER" exec web -n "$NS" -- true >/dev/null 2>&1 &&
		"$DRIVER" portforward-tcp web 9000 -n "$NS" --no-ping >/dev/null 2>&1 && break
	sleep 0.25
done

# --- exec (the timeout first: kwok lets the command run on after the
# client left, and it must be gone before the suite ends)
run "$DRIVER" exec web -n "$NS" --timeout 500ms -- sleep 2
expect_rc 4 "exec past its timeout"
expect_err "code=KUBE_ETIMEOUT" "timeout code"

run "$DRIVER" exec web -n "$NS" -- sh -c 'echo out; echo err >&2; exit 0'
expect_rc 0 "exec exit 0"
expect_eq "$OUT" "out" "exec stdout"
expect_err "err" "exec stderr"
expect_err "protocol=v5.channel.k8s.io" "v5 negotiated by default"

run "$DRIVER" exec web -n "$NS" -v 4 -- sh -c 'echo out; exit 3'
expect_rc 3 "exec exit 3 becomes the exit code"
expect_err "exit=3" "exit status reported"
expect_err "exec: negotiated v5.channel.k8s.io" "negotiated protocol at -v 4"
# kwok reports the exit as an InternalError with "exit status 3" in the message
expect_err "exit status 3" "the server's message kept"

run "$DRIVER" exec web -n "$NS" --v4-only -- sh -c 'echo four; exit 3'
expect_rc 3 "exec over v4 keeps the exit code"
expect_out "four" "exec over v4 stdout"
expect_err "protocol=v4.channel.k8s.io" "v4 when only v4 is offered"

run "$DRIVER" exec web -n "$NS" --stdin-data 'fed on stdin' -- head -c 12
expect_rc 0 "exec with stdin"
expect_eq "$OUT" "fed on stdin" "stdin reached the command"

run "$DRIVER" exec web -n "$NS" --output-limit 100 -- sh -c 'seq 1 10000'
expect_rc 0 "exec with a capped output"
expect_err "truncated=1" "output past the cap dropped"
expect_eq "$(printf '%s' "$OUT" | wc -c)" "100" "stdout cut at the cap"

run "$DRIVER" exec web -n "$NS" -- /no/such/binary
expect_rc 1 "exec of a missing binary: no exit status"
expect_err "no such file or directory" "the server's reason kept"

# --- credentials and TLS on the WebSocket: an exec credential plugin, a
# foreign CA, tls-server-name
run "$DRIVER" --context execuser exec web -n "$NS" -- sh -c 'exit 5'
expect_rc 5 "exec with exec-plugin credentials"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout "$E2E_TMP/other.key" \
	-out "$E2E_TMP/other.crt" >/dev/null 2>&1
run "$DRIVER" exec web -n "$NS" --certificate-authority "$E2E_TMP/other.crt" -- true
expect_rc 3 "exec against a server the CA did not sign"
expect_err "certificate verify failed" "TLS failure named"
run "$DRIVER" exec web -n "$NS" --tls-server-name kubernetes -- true
expect_rc 0 "tls-server-name in the certificate"
run "$DRIVER" portforward-tcp web 9000 -n "$NS" --tls-server-name wrong.example
expect_rc 3 "tls-server-name not in the certificate"
expect_err "hostname mismatch" "hostname check"

# --- port-forward: HTTP through the tunnel, as a kubelet probe sends it
run "$DRIVER" portforward-http web 8080 /ok -n "$NS" --body
expect_rc 0 "HTTP GET through the tunnel"
expect_out "status=200" "200 through the tunnel"
expect_out "ok agent=kube-probe/1.36" "kube-probe User-Agent arrived"
expect_out "rtt_ms=" "tunnel round trip measured"

run "$DRIVER" portforward-http web 8080 /ok -n "$NS" --raw
expect_rc 0 "HTTP by hand over the socketpair"
expect_out "status=200" "200 over the socketpair"
expect_out "via=socketpair" "the socketpair carried it"

run "$DRIVER" portforward-http web 8080 /fail -n "$NS"
expect_rc 0 "a 500 is an answer"
expect_out "status=500" "500 seen as 500"

run "$DRIVER" portforward-http web 8080 "/slow?ms=400" -n "$NS"
expect_out "status=200" "slow endpoint answered"
latency=$(sed -n 's/.*latency_ms=\([0-9]*\).*/\1/p' <<<"$OUT")
if [ -n "$latency" ] && [ "$latency" -ge 400 ]; then ok "slow endpoint latency ${latency} ms >= 400"; else fail "slow endpoint latency '${latency}' < 400"; fi

run "$DRIVER" portforward-http web 8080 /redirect -n "$NS"
expect_out "status=302" "redirect not followed"
expect_out "location=http://127.0.0.1:8080/ok" "redirect target reported"

run "$DRIVER" portforward-http web 8080 /big -n "$NS"
expect_out "status=200" "big body answered"
expect_out "bytes=10240 truncated=1" "body read stops at 10 KiB"

# --- port-forward: TCP connect
run "$DRIVER" portforward-tcp web 9000 -n "$NS"
expect_rc 0 "TCP connect through the tunnel"
expect_out "connected" "TCP connect reported"

run "$DRIVER" portforward-tcp web 9001 -n "$NS"
expect_rc 4 "TCP connect where nothing listens"
expect_err "connection refused" "the kubelet's error channel text"
expect_one_error_line "refused TCP connect"

run "$DRIVER" portforward-http web 9001 / -n "$NS"
expect_rc 4 "HTTP where nothing listens"
expect_err "connection refused" "the forwarding failure, not a bare curl error"

run "$DRIVER" portforward-tcp web 9002 -n "$NS"
expect_rc 4 "a port kwok does not forward"
expect_err "forward not found for port 9002" "kwok's reason"

# --- refusals, with the server's message
run "$DRIVER" --context viewer exec "$VIEWER_POD" -n team-a -- true
expect_rc 4 "viewer exec"
expect_err "code=KUBE_EFORBIDDEN http=403" "exec forbidden code"
expect_err 'cannot get resource "pods/exec"' "server's forbidden message for exec"
expect_one_error_line "viewer exec"

run "$DRIVER" --context viewer portforward-tcp "$VIEWER_POD" 8080 -n team-a
expect_rc 4 "viewer port-forward"
expect_err "code=KUBE_EFORBIDDEN http=403" "port-forward forbidden code"
expect_err 'cannot get resource "pods/portforward"' "server's forbidden message for port-forward"

run "$DRIVER" exec no-such-pod -n "$NS" -- true
expect_rc 4 "exec in a missing pod"
expect_err 'pods "no-such-pod" not found' "not found for exec"

run "$DRIVER" portforward-http no-such-pod 8080 / -n "$NS"
expect_rc 4 "port-forward to a missing pod"
expect_err "code=KUBE_ENOTFOUND http=404" "not found for port-forward"

# --- no credential in any log line
token=$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="viewer")].user.token}')
run "$DRIVER" --context viewer exec "$VIEWER_POD" -n team-a -v 10 -- true
expect_err "Authorization: Bearer <masked>" "the header is logged masked"
expect_no "$token" "viewer token at -v 10"
key=$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="admin")].user.client-key-data}' | base64 -d | sed -n 2p)
run "$DRIVER" portforward-http web 8080 /ok -n "$NS" -v 10
expect_rc 0 "port-forward at -v 10"
expect_no "$key" "client key at -v 10"

finish
