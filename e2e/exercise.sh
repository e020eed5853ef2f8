# shellcheck shell=bash
# shellcheck disable=SC2154 # e2e_root, E2E_TMP and DRIVER come from lib.sh
# The probe targets of `probecheck --exercise` in the e2e suites: the pods'
# ports lead to e2e/servers/targets.py on loopback through kwok's
# namespaced PortForward objects, and their exec probes run on this host
# through kwok's Exec objects. Sourced after lib.sh.

# targets_start: starts targets.py (TARGETS_PID) and sets HTTP_PORT (HTTP
# /ok, /fail, /slow, redirects, a 20 KiB body), TCP_PORT (a listener),
# DEAD_PORT (nobody listens) and GRPC_PORT (a gRPC health server). Returns 1
# when the servers did not start.
TARGETS_PID=""
targets_start() {
	python3 "$e2e_root/e2e/servers/targets.py" "$E2E_TMP/ports" &
	TARGETS_PID=$!
	for _ in $(seq 1 50); do [ -s "$E2E_TMP/ports" ] && break; sleep 0.1; done
	read -r HTTP_PORT TCP_PORT DEAD_PORT GRPC_PORT <"$E2E_TMP/ports"
}
targets_stop() {
	[ -z "$TARGETS_PID" ] && return 0
	kill "$TARGETS_PID" 2>/dev/null
	wait "$TARGETS_PID" 2>/dev/null
	TARGETS_PID=""
}

# kwok_serve NS POD...: for each pod one PortForward (8080 -> HTTP_PORT, 9000
# -> TCP_PORT, 9001 -> DEAD_PORT, 9090 -> GRPC_PORT) and one Exec (local),
# named after it; then waits until kwok serves both (it picks the objects up
# from its informers). Returns 1 when it never does.
kwok_serve() {
	local ns=$1 pod ready
	shift
	for pod in "$@"; do
		cat <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: $pod, namespace: $ns}
spec:
  forwards:
  - {ports: [8080], target: {address: 127.0.0.1, port: $HTTP_PORT}}
  - {ports: [9000], target: {address: 127.0.0.1, port: $TCP_PORT}}
  - {ports: [9001], target: {address: 127.0.0.1, port: $DEAD_PORT}}
  - {ports: [9090], target: {address: 127.0.0.1, port: $GRPC_PORT}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata: {name: $pod, namespace: $ns}
spec:
  execs: [{local: {workDir: /tmp}}]
---
YAML
	done | kubectl apply -f - >/dev/null
	local missing="" container
	for pod in "$@"; do
		ready=0
		container=$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.spec.containers[0].name}')
		for _ in $(seq 1 40); do
			"$DRIVER" exec "$pod" -n "$ns" -c "$container" -- true >/dev/null 2>&1 &&
				"$DRIVER" portforward-tcp "$pod" 9000 -n "$ns" --no-ping >/dev/null 2>&1 && ready=1 && break
			sleep 0.25
		done
		[ "$ready" = 1 ] || missing+=" $pod"
	done
	[ -z "$missing" ] || { echo "kwok_serve: not served after 10 s:$missing" >&2; return 1; }
}
