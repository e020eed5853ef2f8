#!/usr/bin/env bash
# The rollguard demo: installs what is missing, builds, starts a local
# cluster (unless you name one of yours), deploys a sample app into its own
# namespace and runs rollguard's commands against it, explaining each step.
#
#   scripts/demo.sh                       local cluster, started and stopped here
#   scripts/demo.sh --context NAME [--yes] a cluster of yours (asks first);
#                                         only the demo's own namespace is touched
#   scripts/demo.sh --kind                a kind cluster from kind-config/rollguard.yaml when
#                                         Docker and kind are here (else says so and uses the
#                                         local control plane)
#   scripts/demo.sh --keep                leave the namespace (and local cluster) running
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
context="" yes=0 keep=0 kind=0
while [ $# -gt 0 ]; do
	case $1 in
	--context) context=${2:?--context needs a name}; shift 2 ;;
	--context=*) context=${1#*=}; shift ;;
	--yes | -y) yes=1; shift ;;
	--keep) keep=1; shift ;;
	--kind) kind=1; shift ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
if [ ! -t 1 ] || [ -n "${NO_COLOR:-}" ]; then bold="" dim="" reset=""; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$reset"; "$@"; }

say "Installing what is missing and building rollguard (the release build: static binaries)"
bash "$root/scripts/deps.sh"
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
# The same static binaries the release archives carry (musl; the libraries
# built once from Debian's sources into ~/.cache/rollguard): ~1 ms to start.
build=$root/build-demo
bash "$root/scripts/release.sh" --out "$build" --no-helm >/dev/null
export PATH=$build/bin:$PATH

if [ "$kind" -eq 1 ]; then
	if [ -n "$context" ]; then
		echo "demo: --kind and --context name two clusters; give one" >&2
		exit 2
	fi
	if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
		say "--kind: no Docker engine answers here (kind runs its nodes as Docker containers); using the local control plane instead"
	elif ! command -v kind >/dev/null 2>&1; then
		say "--kind: Docker is here but kind is not on PATH (go install sigs.k8s.io/kind@latest); using the local control plane instead"
	else
		say "--kind: a kind cluster from kind-config/rollguard.yaml (kept afterwards: kind delete cluster --name rollguard)"
		kind get clusters 2>/dev/null | grep -qx rollguard ||
			kind create cluster --config "$root/kind-config/rollguard.yaml" --wait 120s
		context=kind-rollguard yes=1
	fi
fi

started_cluster=0 local_cluster=0
if [ -z "$context" ]; then
	# shellcheck source=../e2e/cluster/env.sh
	. "$root/e2e/cluster/env.sh"
	if [ -x "$K8S_BIN/kubectl" ] && kubectl get --raw /readyz >/dev/null 2>&1; then
		say "Using the local control plane that is already running (it keeps running afterwards)"
		local_cluster=1
	else
		say "Starting a local Kubernetes control plane (kube-apiserver, controller-manager, scheduler, kwok nodes)"
		echo "    first run: builds Kubernetes from its Go modules into ~/.cache/rollguard (several minutes)"
		"$root/e2e/cluster/up.sh"
		local_cluster=1 started_cluster=1
	fi
	kubectl_ctx=()
else
	# shellcheck source=../e2e/cluster/common.sh
	. "$root/e2e/cluster/common.sh"
	export PATH=$K8S_BIN:$PATH
	command -v kubectl >/dev/null || { echo "demo: kubectl not found" >&2; exit 1; }
	kubectl_ctx=(--context "$context")
	server=$(kubectl config view --minify --context "$context" -o jsonpath='{.clusters[0].cluster.server}')
	echo "The demo will create one namespace (rollguard-demo-*) in context '$context' ($server),"
	echo "deploy a sample app into it, and delete that namespace at the end. Nothing else is touched."
	if [ "$yes" -ne 1 ]; then
		read -r -p "Continue? [y/N] " answer </dev/tty || answer=n
		case $answer in y | Y | yes | YES) ;; *) echo "demo: cancelled"; exit 1 ;; esac
	fi
fi

ns=rollguard-demo-$(date +%s)
cleanup() {
	if [ "$keep" -eq 1 ]; then
		echo "demo: kept namespace $ns"
		[ "$started_cluster" -eq 1 ] && echo "demo: the local cluster keeps running; stop it with e2e/cluster/down.sh"
		return
	fi
	[ -n "${probe_server:-}" ] && kill "$probe_server" 2>/dev/null
	[ "$local_cluster" -eq 1 ] && kubectl delete clusterportforward "$ns" --ignore-not-found >/dev/null 2>&1
	kubectl "${kubectl_ctx[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	[ "$started_cluster" -eq 1 ] && "$root/e2e/cluster/down.sh"
	true
}
trap cleanup EXIT

say "The three binaries: kubectl plugins (krew) and a Helm plugin, one C library underneath"
show kubectl canary version
show kubectl probecheck --version
show helm-rollback-safe version -o json

say "Deploying a sample app (podinfo, 3 replicas, probes, a Service) into namespace $ns"
show kubectl "${kubectl_ctx[@]}" create namespace "$ns"
show kubectl "${kubectl_ctx[@]}" -n "$ns" apply -f "$root/scripts/demo/sample-app.yaml"
show kubectl "${kubectl_ctx[@]}" -n "$ns" rollout status deployment/podinfo --timeout 120s
show kubectl "${kubectl_ctx[@]}" -n "$ns" get deployment,pods -o wide

say "kubectl probecheck audits the sample app's manifest (offline: no cluster needed)"
show kubectl probecheck -f "$root/scripts/demo/sample-app.yaml"

say "A risky change to the probes: a typo in a port name, a hair-trigger liveness"
echo "    probecheck models probe timing, not just presence; exit 1 means findings at or above --fail-on"
rc=0
show kubectl probecheck -f "$root/scripts/demo/risky-change.yaml" || rc=$?
echo "    (exit $rc)"
say "Each finding carries a fix computed from the workload's own numbers, ready for kubectl patch"
fix_jq='.findings[] | select(.severity == "error") | .fix'
printf "%s\$ kubectl probecheck -f %s -o json --fail-on never | jq -r '%s'%s\n" "$dim" "$root/scripts/demo/risky-change.yaml" "$fix_jq" "$reset"
kubectl probecheck -f "$root/scripts/demo/risky-change.yaml" -o json --fail-on never | jq -r "$fix_jq"
show kubectl probecheck checks | head -n 12 || true # head closes the pipe early

say "probecheck against the running Deployment: the live object, its pods' status and events"
echo "    a constant number of paginated LISTs, whatever the number of objects (-v=6 shows each request)"
show kubectl probecheck "${kubectl_ctx[@]}" deployment/podinfo -n "$ns"

if [ "$local_cluster" -eq 1 ]; then
	# kwok's pods run no processes: route their port 9898 to a local stand-in.
	probe_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 "$root/scripts/demo/probe-server.py" "$probe_port" &
	probe_server=$!
	kubectl apply -f - >/dev/null <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata: {name: $ns}
spec:
  selector: {matchNamespaces: [$ns]}
  forwards: [{ports: [9898], target: {address: 127.0.0.1, port: $probe_port}}]
YAML
fi
say "--exercise: each probe runs now through the API server (a port-forward over WebSocket), as the kubelet would"
echo "    latency is measured minus the tunnel's own round trip and compared with timeoutSeconds"
show kubectl probecheck "${kubectl_ctx[@]}" deployment/podinfo -n "$ns" --exercise --samples 3 || true
ex_jq='.exercised[] | "\(.pod)  \(.probe)  samples \([.samples[].ms] | map(tostring) | join(", ")) ms  (timeout \(.timeoutSeconds) s)"'
printf "%s\$ kubectl probecheck %sdeployment/podinfo -n %s --exercise --samples 3 -o json --fail-on never | jq -r '%s'%s\n" \
	"$dim" "${context:+--context $context }" "$ns" "$ex_jq" "$reset"
kubectl probecheck "${kubectl_ctx[@]}" deployment/podinfo -n "$ns" --exercise --samples 3 -o json --fail-on never | jq -r "$ex_jq"

say "kubectl canary: a progressive rollout of podinfo 6.7.1, with nothing installed in the cluster"
echo "    podinfo-canary gets the new image; canary pods are Ready before stable pods go; run walks the ladder"
echo "    (pauses of 3 s here; in production minutes), checking the health gate from watches at every moment"
show kubectl canary "${kubectl_ctx[@]}" -n "$ns" run podinfo --image podinfo=ghcr.io/stefanprodan/podinfo:6.7.1 \
	--steps 33,66,100 --pause 3s
show kubectl canary "${kubectl_ctx[@]}" -n "$ns" history podinfo
show kubectl "${kubectl_ctx[@]}" -n "$ns" get deployment podinfo -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'

say "A bad release: the canary of podinfo 6.7.2 starts crash-looping, and run aborts it by itself"
if [ "$local_cluster" -eq 1 ]; then
	echo "    kwok runs no containers, so once the canary pod is up the demo writes CrashLoopBackOff into its"
	echo "    status, exactly as the kubelet reports a crashing container"
	image=ghcr.io/stefanprodan/podinfo:6.7.2
	(
		for _ in $(seq 1 150); do
			# the newest canary pod: the first run's may still be terminating
			pod=$(kubectl -n "$ns" get pods -l rollguard.io/track=canary --sort-by=.metadata.creationTimestamp \
				-o jsonpath='{.items[-1:].metadata.name}' 2>/dev/null || true)
			phase=$(kubectl -n "$ns" get deploy podinfo -o jsonpath='{.metadata.annotations.rollguard\.io/canary}' 2>/dev/null | jq -r .phase 2>/dev/null || true)
			[ -n "$pod" ] && [ "$phase" = Paused ] && break
			sleep 0.2
		done
		sleep 2
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		kubectl -n "$ns" patch pod "$pod" --subresource status --type merge -p "{\"status\":{\"phase\":\"Running\",
			\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"$now\"}],
			\"containerStatuses\":[{\"name\":\"podinfo\",\"image\":\"$image\",\"imageID\":\"\",\"ready\":false,
			\"started\":false,\"restartCount\":2,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},
			\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\",\"startedAt\":\"$now\",\"finishedAt\":\"$now\"}}}]}}" >/dev/null
	) &
	crasher=$!
else
	echo "    the canary uses an image tag that does not exist, so its pod sticks in ImagePullBackOff"
	image=ghcr.io/stefanprodan/podinfo:0.0.0-does-not-exist
fi
rc=0
show kubectl canary "${kubectl_ctx[@]}" -n "$ns" run podinfo --image "podinfo=$image" --steps 33,100 --pause 1m || rc=$?
echo "    (exit $rc: the gate failed, the run aborted, stable is back at 3 pods and podinfo-canary is gone)"
[ -n "${crasher:-}" ] && wait "$crasher"
show kubectl canary "${kubectl_ctx[@]}" -n "$ns" history podinfo
show kubectl "${kubectl_ctx[@]}" -n "$ns" get deployments

say "helm rollback-safe: a broken upgrade, the plan, and a rollback verified healthy"
# The user's helm when there is one; else Helm 4 built from its Go module
# (cached, like the cluster). Private Helm homes: the demo never touches
# your Helm configuration or plugins.
if command -v helm >/dev/null 2>&1; then
	helm_bin=$(command -v helm)
else
	echo "    no helm on PATH: building Helm 4 from its Go module into ~/.cache/rollguard (first run only)"
	bash "$root/e2e/cluster/build.sh" helm4 >/dev/null
	# shellcheck source=../e2e/cluster/common.sh
	. "$root/e2e/cluster/common.sh"
	helm_bin=$ROLLGUARD_CACHE/bin/helm4-$HELM4_VERSION/helm4
fi
helm_home=$(mktemp -d)
export HELM_CONFIG_HOME=$helm_home/config HELM_DATA_HOME=$helm_home/data HELM_CACHE_HOME=$helm_home/cache
helm() { "$helm_bin" "${kubectl_ctx[@]/--context/--kube-context}" "$@"; }
mkdir -p "$helm_home/plugin/bin"
cp "$root/plugins/rollback-safe/plugin.yaml" "$helm_home/plugin/"
cp "$build/bin/helm-rollback-safe" "$helm_home/plugin/bin/"
cp "$root/plugins/rollback-safe/plugin.complete" "$helm_home/plugin/"
printf '%s$ helm plugin install plugins/rollback-safe%s\n' "$dim" "$reset"
helm plugin install "$helm_home/plugin" >/dev/null
helm plugin list
chart=$root/e2e/charts/rsdemo
if [ "$local_cluster" -eq 1 ]; then
	# kwok runs no containers: pods labelled rollguard-e2e-stage=demo-crashloop
	# get the status a crashing container gets from the kubelet.
	kubectl apply -f "$root/scripts/demo/crashloop-stage.yaml" >/dev/null
	broken=(--set image=registry.example/shop:1.2 --set podStage=demo-crashloop)
	echo "    revisions 3 and 4 crash-loop (a kwok Stage reports CrashLoopBackOff for their pods)"
else
	broken=(--set image=registry.k8s.io/pause:does-not-exist)
	echo "    revisions 3 and 4 use an image tag that does not exist (ImagePullBackOff)"
fi
show helm install shop "$chart" -n "$ns" --set image=registry.k8s.io/pause:3.9 --wait --timeout 2m >/dev/null
show helm upgrade shop "$chart" -n "$ns" --set image=registry.k8s.io/pause:3.10 --wait --timeout 2m >/dev/null
rc=0
show helm upgrade shop "$chart" -n "$ns" "${broken[@]}" --wait --timeout 15s || rc=$?
echo "    (exit $rc: the upgrade failed; someone retries it, and it fails again)"
rc=0
show helm upgrade shop "$chart" -n "$ns" "${broken[@]}" --set replicas=3 --wait --timeout 15s || rc=$?
echo "    (exit $rc: plain 'helm rollback shop' would now go to revision 3, the previous one: the first failed upgrade)"
show helm history shop -n "$ns"
say "history: which revisions are safe rollback targets, read straight from the release Secrets"
show helm rollback-safe history shop -n "$ns"
say "plan: the target (failed revisions skipped), every object against the live cluster, and preflight"
show helm rollback-safe plan shop -n "$ns"
say "The rollback: re-checks history, records the run in a Lease, runs helm rollback, verifies health"
show helm rollback-safe shop -n "$ns" --timeout 2m
show helm history shop -n "$ns"
show kubectl "${kubectl_ctx[@]}" -n "$ns" get deployment shop -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'
[ "$local_cluster" -eq 1 ] && kubectl delete -f "$root/scripts/demo/crashloop-stage.yaml" >/dev/null 2>&1
rm -rf "$helm_home"

say "Done."
