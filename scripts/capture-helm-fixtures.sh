#!/usr/bin/env bash
# Captures Helm release storage records written by the real Helm 3 and Helm 4
# (e2e/cluster/env.sh's helm3 and helm4) as fixtures for helm-rollback-safe's
# release codec: a tiny chart installed and upgraded once per Helm major and
# storage driver, each in its own namespace, then every revision's `release`
# value saved exactly as the API returns it, with what Helm itself says about
# that revision (helm history / helm get metadata) as the expected values.
#
#   scripts/capture-helm-fixtures.sh          into tests/fixtures/helm/
#   scripts/capture-helm-fixtures.sh DIR      into DIR
#
# Needs the local cluster running (e2e/cluster/up.sh) and jq. The namespaces
# it makes are deleted when it ends.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/tests/fixtures/helm}
case ${1:-} in -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
# shellcheck source=../e2e/cluster/env.sh
. "$root/e2e/cluster/env.sh"
command -v jq >/dev/null || { echo "capture-helm-fixtures: jq is needed" >&2; exit 1; }

work=$(mktemp -d)
namespaces=()
cleanup() {
	for ns in "${namespaces[@]}"; do
		kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# The chart: a ConfigMap, a Deployment, and a pre-rollback hook Job (never
# run here: nothing is rolled back, but the hook is stored in the record).
chart=$work/fixture
mkdir -p "$chart/templates"
cat >"$chart/Chart.yaml" <<'EOF'
apiVersion: v2
name: fixture
description: rollguard's Helm release codec fixture
type: application
version: 0.1.0
appVersion: "1.0.0"
EOF
cat >"$chart/values.yaml" <<'EOF'
message: hello
replicas: 1
EOF
cat >"$chart/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  message: {{ .Values.message | quote }}
EOF
cat >"$chart/templates/deployment.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}-web
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}-web
    spec:
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
EOF
cat >"$chart/templates/pre-rollback-job.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-pre-rollback
  annotations:
    "helm.sh/hook": pre-rollback
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hook
          image: registry.k8s.io/pause:3.10
EOF

mkdir -p "$out"
for helm in helm3 helm4; do
	for driver in secret configmap; do
		ns=rg-fixture-$helm-$driver-$$
		release=fixture
		namespaces+=("$ns")
		kubectl create namespace "$ns" >/dev/null
		export HELM_DRIVER=$driver
		"$helm" install "$release" "$chart" -n "$ns" >/dev/null
		"$helm" upgrade "$release" "$chart" -n "$ns" --set message=upgraded >/dev/null
		"$helm" history "$release" -n "$ns" -o json >"$work/history.json"
		for revision in $(jq -r '.[].revision' "$work/history.json"); do
			base=$out/$helm-$driver-v$revision
			object=sh.helm.release.v1.$release.v$revision
			kubectl get "$driver" "$object" -n "$ns" -o json | jq -j '.data.release' >"$base.release"
			"$helm" get metadata "$release" -n "$ns" --revision "$revision" -o json >"$work/metadata.json"
			jq --argjson revision "$revision" --slurpfile metadata "$work/metadata.json" \
				'(.[] | select(.revision == $revision)) as $h | $metadata[0] as $m | {
				  name: $m.name, version: $h.revision, status: $h.status, namespace: $m.namespace,
				  chart: {name: $m.chart, version: $m.version, appVersion: $m.appVersion},
				  description: $h.description
				}' "$work/history.json" >"$base.expect.json"
			echo "captured $(basename "$base") ($("$helm" version --short), $driver)"
		done
		unset HELM_DRIVER
	done
done
