# Helpers the kubectl canary router suites share (sourced after lib.sh and
# canary.sh): the routers' upstream CRDs (e2e/cluster/build.sh crds)
# installed for the suite and those it installed removed at exit, a
# Deployment with its Service, each router's routing object, and what a
# test reads back from them.
#
# A suite calls routers_crds_install once, after an EXIT trap that calls
# routers_crds_remove. Two suites that install the CRDs must not run side
# by side.
# shellcheck shell=bash
HTTPROUTE=httproutes.gateway.networking.k8s.io
VS=virtualservices.networking.istio.io
TS=trafficsplits.split.smi-spec.io
# The CRD manifests (build.sh crds fetches them once into the cache).
CRDS=$ROLLGUARD_CACHE/crds/gateway-$GATEWAY_API_VERSION-istio-$ISTIO_API_VERSION-smi-$SMI_SDK_VERSION
CRD_NAMES="$HTTPROUTE $VS $TS"
# The CRDs this suite installed (not those that were there before).
ROUTERS_INSTALLED=""

# routers_crds_install: the CRDs of CRD_NAMES applied and established;
# those that were not there before are recorded for routers_crds_remove.
routers_crds_install() {
	local crd
	if [ ! -s "$CRDS/trafficsplits.yaml" ]; then
		ROLLGUARD_CACHE=$ROLLGUARD_CACHE bash "$e2e_root/e2e/cluster/build.sh" crds >/dev/null 2>&1 ||
			{ echo "$SUITE: e2e/cluster/build.sh crds failed (the Go module proxy is needed once)" >&2; exit 1; }
	fi
	for crd in $CRD_NAMES; do
		# one an earlier run is still removing is waited out
		if [ -n "$(kubectl get crd "$crd" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ]; then
			kubectl wait --for=delete "crd/$crd" --timeout=60s >/dev/null 2>&1
		fi
		kubectl get crd "$crd" >/dev/null 2>&1 || ROUTERS_INSTALLED+=" $crd"
	done
	kubectl apply --server-side -f "$CRDS/httproutes.yaml" -f "$CRDS/virtualservices.yaml" \
		-f "$CRDS/trafficsplits.yaml" >/dev/null
	# shellcheck disable=SC2046,SC2086
	kubectl wait --for condition=established --timeout=60s $(printf 'crd/%s ' $CRD_NAMES) >/dev/null
	ok "CRDs installed from $CRDS"
}
# routers_crds_remove: deletes the CRDs routers_crds_install installed
# (for the suite's EXIT trap).
routers_crds_remove() {
	# shellcheck disable=SC2086
	[ -n "$ROUTERS_INSTALLED" ] && kubectl delete crd $ROUTERS_INSTALLED --timeout=60s >/dev/null 2>&1
}

# routed NAME [PROGRESS_DEADLINE_S]: a Deployment of N pods (3 when the
# suite sets no N) and its Service (port 80 named http).
routed() {
	app "$1" "${N:-3}" "${2:-}"
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, labels: {tier: web}, annotations: {team: a}}\nspec: {selector: {app: %s}, ports: [{name: http, port: 80, targetPort: 8080}]}\n' "$1" "$1" |
		$K apply -f - >/dev/null
}
# route_object ROUTER NAME [SERVICE]: the routing object of ROUTER sending
# to SERVICE (default NAME).
route_object() {
	local svc=${3:-$2}
	case $1 in
	gateway) cat <<YAML ;;
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $2, labels: {team: a}, annotations: {owner: shop}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [$2.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: $svc, port: 80}]
YAML
	istio) cat <<YAML ;;
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: $2, labels: {team: a}, annotations: {owner: shop}}
spec:
  hosts: [$svc]
  http:
  - route:
    - destination: {host: $svc, port: {number: 80}}
YAML
	nginx) cat <<YAML ;;
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $2, labels: {team: a}, annotations: {owner: shop}}
spec:
  ingressClassName: nginx
  rules:
  - host: $2.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: $svc, port: {number: 80}}}}
YAML
	smi) cat <<YAML ;;
apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: $2, labels: {team: a}, annotations: {owner: shop}}
spec:
  service: $svc
  backends: [{service: $svc, weight: 100}]
YAML
	esac
}
# type_of ROUTER: the resource type of its routing object.
type_of() {
	case $1 in gateway) echo $HTTPROUTE ;; istio) echo $VS ;; nginx) echo ingress ;; smi) echo $TS ;; esac
}
# obj TYPE NAME: what a user wrote on an object (server-set metadata left
# out), as compact sorted JSON.
obj() { $K get "$1" "$2" -o json 2>/dev/null | jq -cS '{labels: .metadata.labels, annotations: .metadata.annotations, spec: .spec}'; }
exists() { $K get "$1" "$2" >/dev/null 2>&1 && echo yes || echo no; }
# stable_hash NAME: the pod-template-hash of D's ReplicaSet that has pods.
stable_hash() { $K get rs -l "app=$1" -o json | jq -r --arg d "$1" '[.items[] | select(.metadata.ownerReferences[0].name == $d and .spec.replicas > 0) | .metadata.labels["pod-template-hash"]] | first'; }

# weights ROUTER NAME: the weights the routing object gives ("NAME=80
# NAME-canary=20"); for nginx its copy's ("NAME-canary=20 canary=true", the
# copy's canary annotation too; nothing when there is no copy).
weights() {
	case $1 in
	gateway) $K get $HTTPROUTE "$2" -o json | jq -r '[.spec.rules[0].backendRefs[] | "\(.name)=\(.weight)"] | join(" ")' ;;
	istio) $K get $VS "$2" -o json | jq -r '[.spec.http[0].route[] | "\(.destination.host)=\(.weight)"] | join(" ")' ;;
	smi) $K get $TS "$2" -o json | jq -r '[.spec.backends[] | "\(.service)=\(.weight)"] | join(" ")' ;;
	nginx) $K get ingress "$2-canary" -o json 2>/dev/null | jq -r '"\(.spec.rules[0].http.paths[0].backend.service.name)=\(.metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]) canary=\(.metadata.annotations["nginx.ingress.kubernetes.io/canary"])"' ;;
	esac
}
