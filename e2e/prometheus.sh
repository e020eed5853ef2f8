# A real Prometheus for the metric-gate suites (sourced after lib.sh).
#
# Needs root and `ip netns`: the API server refuses to proxy to loopback and
# kwok's pod IPs are not real, so Prometheus runs in a network namespace of
# this suite's own, joined to the host by a veth pair on a private /30
# (10.203.X.0/30: host side .1, namespace side .2). The test exporter
# (tools/track_exporter.py) listens on the host side; Prometheus (Debian's,
# unpacked by `e2e/cluster/build.sh prometheus`, built here when missing)
# scrapes it every second with honor_labels. In the suite's namespace:
#   - Service "prometheus" without selector, port 9090 named "http";
#   - a Pod "prometheus" that is never scheduled (schedulerName nobody
#     serves) whose status carries the namespace side IP: the API server's
#     service proxy only proxies to an endpoint whose targetRef is a Pod
#     that has that IP (isValidAddress in the service REST storage);
#   - Endpoints "prometheus" -> that IP, targetRef the Pod: the service
#     proxy reads v1 Endpoints, not EndpointSlices (ResourceLocation), and
#     the label endpointslice.kubernetes.io/skip-mirror keeps the mirroring
#     controller from adding a slice of its own;
#   - EndpointSlice "prometheus-1" (kubernetes.io/service-name: prometheus)
#     -> the same IP, for whatever reads slices.
# So a client reaches it as http://$PROM_IP:9090 directly, or through
#   kubectl get --raw /api/v1/namespaces/$NS/services/prometheus:9090/proxy/api/v1/query?query=up
#
# Use:  . lib.sh; . prometheus.sh; prom_up
#   PROM_URL        http://10.203.X.2:9090   (direct)
#   PROM_SERVICE    $NS/prometheus:9090      (through the service proxy)
#   EXPORTER_URL    http://10.203.X.1:9100
#   track TRACK key=value...   canary|stable|both; rps=20 errors=0.3 latencyMs=40
#   exporter_labels key=value... namespace deployment revision canaryPod
#                              stablePod service ingress (counters restart)
#   prom_query PROMQL          prints the first sample's value ("none": empty
#                              result); exit 1 when Prometheus errs
#   prom_query_proxy PROMQL    the same through the API server's service proxy
#   prom_wait PROMQL OP VALUE [SECONDS]  until the value compares (awk OP:
#                              > >= < <= ==), default 30 s
#   prom_stop / prom_start     stop Prometheus (the namespace stays) and
#                              start it again on the same data
#   prom_teardown              on EXIT (trap set here, together with lib.sh's
#                              e2e_cleanup): both processes killed, the
#                              namespace and veth deleted. A suite that sets
#                              its own EXIT trap must call it.
# Namespaces of runs that were killed (SIGKILL, a crash) are found by name
# (rgprom-PID) and removed, with what still runs in them, at the next prom_up.
# shellcheck shell=bash
# shellcheck disable=SC2034 # PROM_*, EXPORTER_URL: read by the suites
: "${e2e_root:?source lib.sh first}" "${NS:?}" "${SUITE:?}"

if [ "$(id -u)" -ne 0 ]; then
	echo "$SUITE: needs root (a network namespace and a veth pair for Prometheus)" >&2
	exit 1
fi
if ! ip netns list >/dev/null 2>&1; then
	echo "$SUITE: 'ip netns' is not available (iproute2, network namespaces)" >&2
	exit 1
fi

PROM_STATE_ROOT=${TMPDIR:-/tmp}/rollguard-prom
PROM_PORT=9090
EXPORTER_PORT=9100
PROM_NETNS=rgprom-$$
PROM_DIR=$PROM_STATE_ROOT/$PROM_NETNS
PROM_PID=""
EXPORTER_PID=""
PROM_VETH=""
PROM_IP=""
PROM_HOST_IP=""
PROM_URL=""
PROM_SERVICE=""
EXPORTER_URL=""

prom_log() { printf '%s: prometheus: %s\n' "$SUITE" "$*" >&2; }
prom_die() {
	prom_log "error: $*"
	exit 1
}

# _prom_starttime PID: the process's start time (field 22 of /proc/PID/stat),
# so that a reused PID is not taken for the run that made a namespace; empty
# when the process is gone or a zombie (killed, not yet reaped).
_prom_starttime() { awk '{ sub(/^.*\) /, ""); if ($1 != "Z") print $20 }' "/proc/$1/stat" 2>/dev/null; }

# _prom_remove NAME: kills what runs in namespace NAME and the exporter that
# its run recorded, deletes the namespace, its veth and its state.
_prom_remove() {
	local name=$1 dir=$PROM_STATE_ROOT/$1 pid pids veth
	pids=$(ip netns pids "$name" 2>/dev/null)
	if [ -s "$dir/exporter.pid" ]; then
		pid=$(cat "$dir/exporter.pid")
		# Only the exporter this run started (its command line names its
		# address), never something that reused the PID.
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "track_exporter.py --address $(cat "$dir/host_ip" 2>/dev/null) "; then
			pids+=" $pid"
		fi
	fi
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for _ in $(seq 1 50); do
		local alive=0
		for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
	veth=$(cat "$dir/veth" 2>/dev/null)
	ip netns delete "$name" 2>/dev/null
	[ -n "$veth" ] && ip link delete "$veth" 2>/dev/null
	rm -rf "$dir"
	return 0
}

# _prom_reap: removes the namespaces of earlier runs that no longer run.
_prom_reap() {
	local name owner
	for name in $(ip netns list 2>/dev/null | awk '$1 ~ /^rgprom-[0-9]+$/ { print $1 }'); do
		[ "$name" = "$PROM_NETNS" ] && continue
		owner=${name#rgprom-}
		if [ -s "$PROM_STATE_ROOT/$name/owner" ] &&
			[ "$(_prom_starttime "$owner")" = "$(cat "$PROM_STATE_ROOT/$name/owner")" ]; then
			continue # its run is still going
		fi
		prom_log "removing $name, left by a run that ended without its teardown"
		_prom_remove "$name"
	done
	# State of runs whose namespace is gone already.
	for name in "$PROM_STATE_ROOT"/rgprom-*; do
		[ -d "$name" ] || continue
		ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qx "${name##*/}" || _prom_remove "${name##*/}"
	done
}

prom_teardown() {
	[ -n "$PROM_DIR" ] && [ -d "$PROM_DIR" ] || return 0
	_prom_remove "$PROM_NETNS"
}

_prom_json() { # key=value... -> a JSON object; numbers stay numbers
	local kv args=()
	for kv in "$@"; do
		case $kv in
		*=*) ;;
		*) prom_die "expected key=value, got '$kv'" ;;
		esac
		args+=(--arg "${kv%%=*}" "${kv#*=}")
	done
	jq -cn "${args[@]}" '$ARGS.named | with_entries(.value = (.value | (tonumber? // .)))'
}

# track TRACK key=value...: sets a track's rps, errors (0..1), latencyMs.
track() {
	local t=$1 body
	shift
	body=$(_prom_json "$@" | jq -c --arg t "$t" '. + {track: $t}')
	curl -sf -o /dev/null -X POST --data "$body" "$EXPORTER_URL/set" || prom_die "exporter refused /set $body"
}

# exporter_labels key=value...: the labels of the series (counters restart).
exporter_labels() {
	local body
	body=$(_prom_json "$@" | jq -c 'with_entries(.value |= tostring)')
	curl -sf -o /dev/null -X POST --data "$body" "$EXPORTER_URL/labels" || prom_die "exporter refused /labels $body"
}

# _prom_value: the value of the first sample of a query response on stdin.
_prom_value() {
	jq -r 'if .status != "success" then error(.error // "query failed")
		elif .data.resultType == "scalar" then .data.result[1]
		elif (.data.result | length) == 0 then "none"
		else .data.result[0].value[1] end'
}

prom_query() {
	curl -sf --max-time 10 -G --data-urlencode "query=$1" "$PROM_URL/api/v1/query" | _prom_value
}

prom_query_proxy() {
	local q
	q=$(jq -rn --arg q "$1" '$q | @uri')
	kubectl get --raw "/api/v1/namespaces/$NS/services/prometheus:$PROM_PORT/proxy/api/v1/query?query=$q" | _prom_value
}

# prom_wait PROMQL OP VALUE [SECONDS]
prom_wait() {
	local v=none
	for _ in $(seq 1 $((${4:-30} * 4))); do
		v=$(prom_query "$1" 2>/dev/null) || v=none
		if [ "$v" != none ] && [ "$v" != NaN ] && awk -v a="$v" -v b="$3" "BEGIN { exit !(a $2 b) }"; then
			return 0
		fi
		sleep 0.25
	done
	prom_log "waited ${4:-30}s for $1 $2 $3 (last value: $v)"
	return 1
}

_prom_alive() { [ -n "$PROM_PID" ] && kill -0 "$PROM_PID" 2>/dev/null; }

# prom_start: Prometheus in the namespace (again, after prom_stop), until it
# scrapes the exporter.
prom_start() {
	_prom_alive && return 0
	ip netns exec "$PROM_NETNS" prometheus --config.file="$PROM_DIR/prometheus.yml" \
		--storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=1h \
		--web.listen-address="$PROM_IP:$PROM_PORT" --log.level=warn \
		>>"$PROM_DIR/prometheus.log" 2>&1 </dev/null &
	PROM_PID=$!
	for _ in $(seq 1 120); do
		_prom_alive || { tail -n 20 "$PROM_DIR/prometheus.log" >&2; prom_die "prometheus exited (log: $PROM_DIR/prometheus.log)"; }
		curl -sf --max-time 2 -o /dev/null "$PROM_URL/-/ready" && break
		sleep 0.25
	done
	# Ready, and the exporter's target up (its first scrape done).
	prom_wait 'up{job="tracks"}' == 1 30 || prom_die "prometheus does not scrape the exporter (log: $PROM_DIR/prometheus.log)"
}

# prom_stop: Prometheus stops; the namespace, the Service and the exporter
# stay (what a client sees: connection refused at the address).
prom_stop() {
	_prom_alive || return 0
	kill "$PROM_PID" 2>/dev/null
	for _ in $(seq 1 100); do _prom_alive || break; sleep 0.1; done
	kill -KILL "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=""
}

# _prom_cluster_objects: the Service, Pod, Endpoints and EndpointSlice that
# let the API server's service proxy reach Prometheus.
_prom_cluster_objects() {
	cat <<YAML | kubectl -n "$NS" apply -f - >/dev/null 2>"$PROM_DIR/kubectl.err" || { cat "$PROM_DIR/kubectl.err" >&2; prom_die "could not create the Service for Prometheus"; }
apiVersion: v1
kind: Service
metadata: {name: prometheus, labels: {app.kubernetes.io/name: prometheus}}
spec:
  ports: [{name: http, port: $PROM_PORT, targetPort: $PROM_PORT, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus, labels: {app.kubernetes.io/name: prometheus}}
spec:
  schedulerName: rollguard-e2e-unscheduled
  containers: [{name: prometheus, image: "debian.example/prometheus:2.42", ports: [{containerPort: $PROM_PORT}]}]
YAML
	kubectl -n "$NS" patch pod prometheus --subresource status --type merge \
		-p "{\"status\":{\"podIP\":\"$PROM_IP\",\"podIPs\":[{\"ip\":\"$PROM_IP\"}]}}" >/dev/null 2>"$PROM_DIR/kubectl.err" ||
		{ cat "$PROM_DIR/kubectl.err" >&2; prom_die "could not set the Pod's IP"; }
	cat <<YAML | kubectl -n "$NS" apply -f - >/dev/null 2>"$PROM_DIR/kubectl.err" || { cat "$PROM_DIR/kubectl.err" >&2; prom_die "could not create the endpoints for Prometheus"; }
apiVersion: v1
kind: Endpoints
metadata:
  name: prometheus
  labels: {app.kubernetes.io/name: prometheus, endpointslice.kubernetes.io/skip-mirror: "true"}
subsets:
- addresses: [{ip: $PROM_IP, targetRef: {kind: Pod, name: prometheus, namespace: $NS}}]
  ports: [{name: http, port: $PROM_PORT, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: prometheus-1
  labels: {kubernetes.io/service-name: prometheus, app.kubernetes.io/name: prometheus}
addressType: IPv4
endpoints:
- addresses: [$PROM_IP]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: prometheus, namespace: $NS}
ports: [{name: http, port: $PROM_PORT, protocol: TCP}]
YAML
}

# prom_up: the namespace, the veth pair, the exporter, Prometheus and the
# cluster objects; returns once a query through the service proxy answers.
prom_up() {
	if ! command -v prometheus >/dev/null 2>&1; then
		"$e2e_root/e2e/cluster/build.sh" prometheus || prom_die "no prometheus (e2e/cluster/build.sh prometheus failed)"
		PATH=$PROMETHEUS_BIN:$PATH
	fi
	mkdir -p "$PROM_STATE_ROOT"
	trap 'prom_teardown; e2e_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local x
	{
		flock 8
		_prom_reap
		# A /30 that nothing on this host uses: 10.203.X.0/30.
		for x in $(seq $(($$ % 250)) 253) $(seq 0 $(($$ % 250))); do
			ip -4 -o addr show | grep -qF " 10.203.$x." && continue
			ip -4 route show | grep -q "^10\.203\.$x\." && continue
			break
		done
		PROM_HOST_IP=10.203.$x.1
		PROM_IP=10.203.$x.2
		PROM_VETH=rgprom${x}h
		mkdir -p "$PROM_DIR/data"
		_prom_starttime $$ >"$PROM_DIR/owner"
		echo "$PROM_VETH" >"$PROM_DIR/veth"
		echo "$PROM_HOST_IP" >"$PROM_DIR/host_ip"
		ip netns add "$PROM_NETNS" || prom_die "ip netns add $PROM_NETNS failed"
		ip link add "$PROM_VETH" type veth peer name "rgprom${x}n" ||
			prom_die "ip link add $PROM_VETH failed"
		ip link set "rgprom${x}n" netns "$PROM_NETNS"
		ip addr add "$PROM_HOST_IP/30" dev "$PROM_VETH"
		ip link set "$PROM_VETH" up
		ip -n "$PROM_NETNS" addr add "$PROM_IP/30" dev "rgprom${x}n"
		ip -n "$PROM_NETNS" link set "rgprom${x}n" up
		ip -n "$PROM_NETNS" link set lo up
	} 8>"$PROM_STATE_ROOT/lock"
	PROM_URL=http://$PROM_IP:$PROM_PORT
	PROM_SERVICE=$NS/prometheus:$PROM_PORT
	EXPORTER_URL=http://$PROM_HOST_IP:$EXPORTER_PORT

	python3 "$e2e_root/e2e/tools/track_exporter.py" --address "$PROM_HOST_IP" --port "$EXPORTER_PORT" \
		--namespace "$NS" >"$PROM_DIR/exporter.log" 2>&1 </dev/null &
	EXPORTER_PID=$!
	echo "$EXPORTER_PID" >"$PROM_DIR/exporter.pid"
	for _ in $(seq 1 40); do
		curl -sf --max-time 1 -o /dev/null "$EXPORTER_URL/healthz" && break
		kill -0 "$EXPORTER_PID" 2>/dev/null || { cat "$PROM_DIR/exporter.log" >&2; prom_die "the exporter exited"; }
		sleep 0.25
	done

	cat >"$PROM_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: tracks
  honor_labels: true
  static_configs:
  - targets: ['$PROM_HOST_IP:$EXPORTER_PORT']
YAML
	prom_start
	_prom_cluster_objects
	for _ in $(seq 1 40); do
		[ "$(prom_query_proxy 'up{job="tracks"}' 2>/dev/null)" = 1 ] && return 0
		sleep 0.25
	done
	kubectl get --raw "/api/v1/namespaces/$NS/services/prometheus:$PROM_PORT/proxy/api/v1/query?query=up" >&2
	prom_die "the API server's service proxy does not reach Prometheus at $PROM_IP"
}
