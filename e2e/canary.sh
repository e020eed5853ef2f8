# Helpers the kubectl canary suites share (sourced after lib.sh): a sample
# Deployment and what a test reads back from it.
# shellcheck shell=bash
CANARY=$BIN/kubectl-canary
K="kubectl -n $NS"

# app NAME REPLICAS [PROGRESS_DEADLINE_S]: a Deployment of one container
# "app"; APP_SIDECAR=1 adds a second container "sidecar", APP_SERVICE=1 a
# Service selecting it. Waits for its rollout.
app() {
	{
		cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  progressDeadlineSeconds: ${3:-600}
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      containers:
      - {name: app, image: "registry.example/$1:1.0"}
YAML
		[ "${APP_SIDECAR:-0}" = 1 ] && printf '      - {name: sidecar, image: "registry.example/proxy:1.0"}\n'
		[ "${APP_SERVICE:-0}" = 1 ] &&
			printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {selector: {app: %s}, ports: [{port: 80}]}\n' "$1" "$1"
	} | $K apply -f - >/dev/null
	$K rollout status deploy/"$1" --timeout=60s >/dev/null
}

# replicas NAME: spec.replicas of a Deployment ("absent" when missing).
replicas() { $K get deploy "$1" -o jsonpath='{.spec.replicas}' 2>/dev/null || echo absent; }
# state NAME: the run state annotation (JSON).
state() { $K get deploy "$1" -o jsonpath='{.metadata.annotations.rollguard\.io/canary}'; }
phase() { state "$1" | jq -r .phase; }
# image NAME: the first container's image.
image() { $K get deploy "$1" -o jsonpath='{.spec.template.spec.containers[0].image}'; }
# snapshot: a digest of what must not change when a command is refused or
# only planned: every Deployment's metadata, spec and generation (the
# status moves on its own). A digest keeps a passing check one short line.
snapshot() {
	$K get deploy -o json | jq -cS '[.items[] | {name: .metadata.name, generation: .metadata.generation,
		labels: .metadata.labels, annotations: .metadata.annotations, spec: .spec}]' | sha256sum | cut -c1-16
}
