# Fault injection between the binaries and the e2e API server (sourced after
# lib.sh), the three ways TESTING.md names:
#   - Toxiproxy (TCP): connection resets, stalls, dropped watches;
#   - the API server's own Priority and Fairness: real 429s with
#     Retry-After for the user rollguard-throttled;
#   - e2e/servers/fault_proxy.py (TLS-terminating, canned answers): 500 and
#     503 bursts and truncated bodies, which a real API server cannot be
#     made to produce on demand.
# faults_up writes one kubeconfig per path: FAULT_TOXIC_KUBECONFIG (through
# Toxiproxy), FAULT_PROXY_KUBECONFIG (through the fault proxy) and
# FAULT_THROTTLED_KUBECONFIG (straight to the server as rollguard-throttled).
# shellcheck shell=bash
# e2e_root, NS, PKI, E2E_TMP and fail come from lib.sh.
# shellcheck disable=SC2154

TOXIPROXY=$ROLLGUARD_CACHE/bin/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server
FAULT_DIR=$E2E_TMP/faults
FAULT_PIDS=""
APF_NAME=rollguard-e2e-throttled-$$

# faults_stop: the fault servers stopped and the APF objects removed (the
# suite calls it from its EXIT trap).
faults_stop() {
	local pid
	for pid in $FAULT_PIDS; do kill "$pid" 2>/dev/null; done
	kubectl delete flowschema "$APF_NAME" --ignore-not-found >/dev/null 2>&1
	kubectl delete prioritylevelconfiguration "$APF_NAME" --ignore-not-found >/dev/null 2>&1
	kubectl delete clusterrolebinding "$APF_NAME" --ignore-not-found >/dev/null 2>&1
}

_fault_port() { echo $((20000 + RANDOM % 10000)); }

_fault_wait() { # what command...
	local what=$1
	shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "$SUITE: $what did not come up" >&2
	exit 1
}

# _fault_kubeconfig FILE SERVER [CERT KEY]: the suite's kubeconfig with the
# cluster's server replaced and, with CERT and KEY, the user replaced.
_fault_kubeconfig() {
	(umask 077 && kubectl config view --raw --minify --context rollguard-e2e >"$1")
	kubectl --kubeconfig "$1" config set-cluster rollguard-e2e --server "$2" >/dev/null
	if [ $# -eq 4 ]; then
		kubectl --kubeconfig "$1" config set-credentials throttled --client-certificate "$3" \
			--client-key "$4" --embed-certs >/dev/null
		kubectl --kubeconfig "$1" config set-context rollguard-e2e --user throttled >/dev/null
	fi
	chmod 600 "$1"
}

faults_up() {
	[ -x "$TOXIPROXY" ] || {
		echo "$SUITE: Toxiproxy is not built (e2e/cluster/build.sh faults)" >&2
		exit 1
	}
	mkdir -p "$FAULT_DIR"
	FAULT_SERVER=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
	local server=$FAULT_SERVER api=${FAULT_SERVER#https://}
	# certificates from the e2e CA: the proxy's serving certificate and the
	# throttled user's client certificate
	(
		cd "$FAULT_DIR"
		openssl req -newkey rsa:2048 -nodes -subj /CN=fault-proxy -keyout proxy.key -out proxy.csr 2>/dev/null
		openssl x509 -req -in proxy.csr -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
			-out proxy.crt -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth') 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj /CN=rollguard-throttled -keyout throttled.key \
			-out throttled.csr 2>/dev/null
		openssl x509 -req -in throttled.csr -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
			-out throttled.crt -extfile <(printf 'extendedKeyUsage=clientAuth') 2>/dev/null
		chmod 600 ./*.key
	) || {
		echo "$SUITE: could not make the fault certificates" >&2
		exit 1
	}

	# Toxiproxy: one proxy "apiserver" in front of the API server
	TOXI_API=127.0.0.1:$(_fault_port)
	local toxi_listen
	toxi_listen=127.0.0.1:$(_fault_port)
	"$TOXIPROXY" -host 127.0.0.1 -port "${TOXI_API#*:}" >"$FAULT_DIR/toxiproxy.log" 2>&1 &
	FAULT_PIDS+=" $!"
	_fault_wait toxiproxy curl -sf "http://$TOXI_API/version"
	curl -sf -X POST "http://$TOXI_API/proxies" \
		-d "{\"name\":\"apiserver\",\"listen\":\"$toxi_listen\",\"upstream\":\"$api\",\"enabled\":true}" \
		>/dev/null || {
		echo "$SUITE: could not create the Toxiproxy proxy" >&2
		exit 1
	}
	FAULT_TOXIC_KUBECONFIG=$FAULT_DIR/toxic.kubeconfig
	_fault_kubeconfig "$FAULT_TOXIC_KUBECONFIG" "https://$toxi_listen"

	# the TLS-terminating fault proxy
	FAULT_PLAN=$FAULT_DIR/plan.json FAULT_LOG=$FAULT_DIR/proxy.log
	: >"$FAULT_PLAN"
	: >"$FAULT_LOG"
	local proxy_port
	proxy_port=$(_fault_port)
	python3 "$e2e_root/e2e/servers/fault_proxy.py" --listen "$proxy_port" --upstream "$api" \
		--cert "$FAULT_DIR/proxy.crt" --key "$FAULT_DIR/proxy.key" --ca "$PKI/ca.crt" \
		--client-cert "$PKI/admin.crt" --client-key "$PKI/admin.key" --plan "$FAULT_PLAN" \
		--log "$FAULT_LOG" 2>"$FAULT_DIR/fault_proxy.err" &
	FAULT_PIDS+=" $!"
	FAULT_PROXY_KUBECONFIG=$FAULT_DIR/proxy.kubeconfig
	_fault_kubeconfig "$FAULT_PROXY_KUBECONFIG" "https://127.0.0.1:$proxy_port"
	_fault_wait "the fault proxy" kubectl --kubeconfig "$FAULT_PROXY_KUBECONFIG" get --raw /readyz

	# Priority and Fairness: rollguard-throttled may do anything, at a level
	# of no concurrency that rejects (apf_throttle)
	kubectl create clusterrolebinding "$APF_NAME" --clusterrole cluster-admin --user rollguard-throttled >/dev/null
	kubectl apply -f - >/dev/null <<YAML
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: $APF_NAME}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 0
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: $APF_NAME}
spec:
  priorityLevelConfiguration: {name: $APF_NAME}
  matchingPrecedence: 100
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: User, user: {name: rollguard-throttled}}]
    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}]
    nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
YAML
	# what the hog lists: about 5 MiB of ConfigMaps, more than the socket
	# buffers between it and the server hold
	local i
	for i in 1 2 3 4 5 6; do
		head -c 700000 /dev/urandom | base64 -w0 >"$FAULT_DIR/hog"
		kubectl -n "$NS" create configmap "apf-hog-$i" --from-file=v="$FAULT_DIR/hog" >/dev/null
	done
	rm -f "$FAULT_DIR/hog"
	FAULT_THROTTLED_KUBECONFIG=$FAULT_DIR/throttled.kubeconfig
	_fault_kubeconfig "$FAULT_THROTTLED_KUBECONFIG" "$server" "$FAULT_DIR/throttled.crt" "$FAULT_DIR/throttled.key"
}

# toxic_add NAME TYPE STREAM ATTRIBUTES_JSON: a toxic on every connection
# through Toxiproxy (existing ones too) until toxic_remove NAME.
toxic_add() {
	curl -sf -X POST "http://$TOXI_API/proxies/apiserver/toxics" \
		-d "{\"name\":\"$1\",\"type\":\"$2\",\"stream\":\"$3\",\"toxicity\":1.0,\"attributes\":$4}" >/dev/null ||
		fail "toxic_add $1 $2"
}
toxic_remove() { curl -sf -X DELETE "http://$TOXI_API/proxies/apiserver/toxics/$1" >/dev/null; }
# toxic_for SECONDS NAME TYPE STREAM ATTRIBUTES_JSON: the toxic now, removed
# SECONDS later in the background (a transient fault).
toxic_for() {
	local seconds=$1
	shift
	toxic_add "$@"
	(sleep "$seconds" && toxic_remove "$1") &
}

# fault_plan JSON: the fault proxy's rules from now on (its counters reset).
fault_plan() {
	printf '%s\n' "$1" >"$FAULT_PLAN.tmp" && mv "$FAULT_PLAN.tmp" "$FAULT_PLAN"
	: >"$FAULT_LOG"
}
# fault_fired ACTION: how many requests got ACTION since the last fault_plan.
fault_fired() { grep -c -- "-> $1\$" "$FAULT_LOG"; }

# apf_throttle on|off: every request of rollguard-throttled rejected by the
# API server with 429 and Retry-After, or not. A level with no concurrency
# still admits a request when none is executing, so "on" starts
# e2e/tools/apf_hog.py, which holds that one seat; "off" stops it. Each
# waits until the server acts on the change.
APF_HOG_PID=""
apf_throttle() {
	if [ "$1" = on ]; then
		python3 "$e2e_root/e2e/tools/apf_hog.py" "$FAULT_SERVER" "$PKI/ca.crt" "$FAULT_DIR/throttled.crt" \
			"$FAULT_DIR/throttled.key" "/api/v1/namespaces/$NS/configmaps" >/dev/null &
		APF_HOG_PID=$!
		FAULT_PIDS+=" $APF_HOG_PID"
		_fault_wait "APF throttling" _apf_status 429
	else
		[ -z "$APF_HOG_PID" ] || kill "$APF_HOG_PID" 2>/dev/null
		APF_HOG_PID=""
		_fault_wait "APF un-throttling" _apf_status 200
	fi
}
_apf_status() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" --cert "$FAULT_DIR/throttled.crt" \
		--key "$FAULT_DIR/throttled.key" "$FAULT_SERVER/version")" = "$1" ]
}
