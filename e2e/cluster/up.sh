#!/usr/bin/env bash
# Starts the local control plane: etcd, kube-apiserver (TLS, RBAC, three
# users), kube-controller-manager, kube-scheduler and kwok with two
# simulated Nodes, all on loopback. Idempotent: a running cluster is left
# as it is. Builds the binaries into the cache first when missing.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
R=$ROLLGUARD_CLUSTER_DIR
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY} no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

alive() { [ -s "$R/pid/$1.pid" ] && kill -0 "$(cat "$R/pid/$1.pid")" 2>/dev/null; }

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$R/admin.kubeconfig" "$@"; }

all_alive() {
	local c
	for c in $CLUSTER_COMPONENTS; do alive "$c" || return 1; done
}

if all_alive && kubectl_admin get --raw /readyz >/dev/null 2>&1; then
	log "already running (state in $R)"
	exit 0
fi
# A partial cluster (a crashed component, a stale state dir) is torn down first.
[ -d "$R" ] && "$cluster_here/down.sh"

"$cluster_here/build.sh" all
started=$(date +%s)
mkdir -p "$R"/{pki,log,pid,etcd}

gen_pki() {
	local p=$R/pki
	(
		cd "$p"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=rollguard-e2e-ca \
			-keyout ca.key -out ca.crt 2>/dev/null
		crt() {
			openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
			openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
				-out "$1.crt" -extfile <(printf '%b' "$3") 2>/dev/null
		}
		crt apiserver /CN=kube-apiserver \
			'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:127.0.0.1,IP:10.96.0.1\nextendedKeyUsage=serverAuth'
		crt admin '/O=system:masters/CN=rollguard-admin' 'extendedKeyUsage=clientAuth'
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		# A second CA nobody trusts, for "wrong CA" tests.
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=rollguard-wrong-ca \
			-keyout wrong-ca.key -out wrong-ca.crt 2>/dev/null
		openssl rand -hex 24 >viewer.token
		openssl rand -hex 24 >execuser.token
		printf '%s,viewer,u-viewer\n%s,execuser,u-execuser\n' "$(cat viewer.token)" "$(cat execuser.token)" >tokens.csv
		chmod 600 ./*.key ./*.token tokens.csv
	)
}

b64() { base64 -w0 "$1"; }

write_kubeconfigs() {
	local p=$R/pki server=https://127.0.0.1:$APISERVER_PORT
	# The exec credential plugin of the execuser (client.authentication.k8s.io/v1).
	cat >"$R/exec-credential.sh" <<PLUGIN
#!/bin/sh
# Exec credential plugin of the e2e cluster's execuser.
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "\$(cat '$p/execuser.token')"
PLUGIN
	chmod 700 "$R/exec-credential.sh"
	cat >"$R/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: rollguard-e2e
  cluster:
    server: $server
    certificate-authority: $p/ca.crt
users:
- name: admin
  user:
    client-certificate: $p/admin.crt
    client-key: $p/admin.key
contexts:
- name: rollguard-e2e
  context: {cluster: rollguard-e2e, user: admin}
current-context: rollguard-e2e
KC
	cat >"$R/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: rollguard-e2e
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$p/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$p/admin.crt")
    client-key-data: $(b64 "$p/admin.key")
- name: viewer
  user:
    token: $(cat "$p/viewer.token")
- name: execuser
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $R/exec-credential.sh
      interactiveMode: Never
      installHint: the e2e cluster writes this plugin; re-run e2e/cluster/up.sh
contexts:
- name: rollguard-e2e
  context: {cluster: rollguard-e2e, user: admin, namespace: default}
- name: viewer
  context: {cluster: rollguard-e2e, user: viewer, namespace: team-a}
- name: execuser
  context: {cluster: rollguard-e2e, user: execuser, namespace: default}
current-context: rollguard-e2e
KC
	chmod 600 "$R/kubeconfig" "$R/admin.kubeconfig"
}

start() {
	local name=$1
	shift
	setsid "$@" >"$R/log/$name.log" 2>&1 </dev/null &
	echo $! >"$R/pid/$name.pid"
}

wait_for() {
	local name=$1 check=$2 i
	for i in $(seq 1 "${3:-120}"); do
		if eval "$check" >/dev/null 2>&1; then return 0; fi
		alive "$name" || { tail -n 30 "$R/log/$name.log" >&2; die "$name exited (log: $R/log/$name.log)"; }
		sleep 0.5
	done
	tail -n 30 "$R/log/$name.log" >&2
	die "$name not ready after $(( ${3:-120} / 2 ))s (log: $R/log/$name.log)"
}

gen_pki
write_kubeconfigs
p=$R/pki

start etcd "$ETCD_BIN/etcd" --data-dir "$R/etcd" --name default \
	--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
	--advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
	--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
	--listen-metrics-urls "http://127.0.0.1:$((ETCD_CLIENT_PORT + 1))" \
	--unsafe-no-fsync --quota-backend-bytes 4294967296
wait_for etcd "curl -sf http://127.0.0.1:$ETCD_CLIENT_PORT/health"

start apiserver "$K8S_BIN/kube-apiserver" \
	--etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
	--bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address 127.0.0.1 \
	--endpoint-reconciler-type none --allow-privileged=true \
	--tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
	--client-ca-file "$p/ca.crt" --token-auth-file "$p/tokens.csv" \
	--authorization-mode Node,RBAC \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
	--service-cluster-ip-range 10.96.0.0/16 \
	--kubelet-preferred-address-types InternalIP,Hostname \
	--watch-cache-sizes podtemplates#0
# podtemplates bypass the watch cache (served from etcd), so that after an
# etcd compaction a watch from an old version gets 410 Gone every time; the
# watch-relist e2e test uses them. Everything else is cached as usual.
wait_for apiserver "kubectl_admin get --raw /readyz" 240

kcm_flags=(--kubeconfig "$R/admin.kubeconfig" --bind-address 127.0.0.1 --secure-port "$KCM_PORT"
	--leader-elect=false --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt"
	--use-service-account-credentials=false --controllers '*'
	--kube-api-qps 500 --kube-api-burst 1000 --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10)
start kcm "$K8S_BIN/kube-controller-manager" "${kcm_flags[@]}"
start scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$R/admin.kubeconfig" \
	--bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false \
	--kube-api-qps 500 --kube-api-burst 1000
wait_for kcm "curl -ksf https://127.0.0.1:$KCM_PORT/healthz"
wait_for scheduler "curl -ksf https://127.0.0.1:$SCHEDULER_PORT/healthz"

kubectl_admin apply -f "$KWOK_KUSTOMIZE/crd/bases/" >/dev/null
kubectl_admin wait --for condition=Established crd --all --timeout 60s >/dev/null

start kwok "$KWOK_BIN/kwok" --kubeconfig "$R/admin.kubeconfig" --manage-all-nodes=true \
	--server-address "127.0.0.1:$KWOK_PORT" --node-port "$KWOK_PORT" --node-ip 127.0.0.1 \
	--node-name localhost --cidr 10.244.0.0/16 --node-lease-duration-seconds 40 \
	--enable-crds Stage,Metric,ClusterPortForward,PortForward,ClusterExec,Exec,ClusterLogs,Logs,ClusterAttach,Attach
wait_for kwok "curl -sf http://127.0.0.1:$KWOK_PORT/healthz || curl -ksf https://127.0.0.1:$KWOK_PORT/healthz"

# kwok embeds no stages: apply kwokctl's fast defaults (only the Stage files;
# the folders also hold kustomizations and test data).
stages=("$KWOK_KUSTOMIZE/stage/node/fast/node-initialize.yaml"
	"$KWOK_KUSTOMIZE/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
	"$KWOK_KUSTOMIZE"/stage/pod/fast/pod-*.yaml)
kubectl_admin apply "${stages[@]/#/--filename=}" >/dev/null
kubectl_admin apply -f "$cluster_here/objects.yaml" >/dev/null
kubectl_admin wait --for condition=Ready node --all --timeout 60s >/dev/null
# The default ServiceAccount appears once the controller-manager runs.
wait_for kcm "kubectl_admin -n default get serviceaccount default"

log "ready in $(($(date +%s) - started))s: KUBECONFIG=$R/kubeconfig (contexts rollguard-e2e, viewer, execuser)"
