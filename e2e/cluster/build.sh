#!/usr/bin/env bash
# Builds the local control plane's binaries from their Go modules into the
# cache (never into the repository): kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl in one `go build`, etcd, and kwok; and, for the
# Helm plugin suite only (target `helm`, not part of `all`), helm3 and helm4;
# for the metric-gate suites only (target `prometheus`, not part of `all`),
# Debian's prometheus package unpacked (never installed as a service); for the
# canary router suite (target `crds`, not part of `all`), the routing CRDs;
# for the fault suite (target `faults`, not part of `all`), Toxiproxy.
# Idempotent: a binary that is already present for its pinned version is not
# rebuilt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
export GOMODCACHE=$cache/gomod GOCACHE=$cache/gocache GOFLAGS=-mod=mod CGO_ENABLED=0
export GOTOOLCHAIN=local
mkdir -p "$cache/bin"

log() { printf 'build: %s\n' "$*" >&2; }

# wrapper_src NAME MOD VERSION PKG: prints $cache/src/NAME-VERSION, which
# holds the wrapper module requiring MOD at VERSION: the committed
# gomod/NAME when it pins that version (the same build everywhere), else one
# made now with `go get PKG@VERSION`.
wrapper_src() {
	local name=$1 mod=$2 version=$3 pkg=$4
	local src=$cache/src/$name-$version
	mkdir -p "$src"
	if grep -qE "$mod $version( |$)" "$here/gomod/$name/go.mod" 2>/dev/null; then
		cp "$here/gomod/$name/go.mod" "$here/gomod/$name/go.sum" "$src/"
	fi
	if [ ! -s "$src/go.mod" ]; then
		printf 'module local/%s\n\ngo 1.26.0\n' "$name" >"$src/go.mod"
		(cd "$src" && go get "$pkg@$version") >&2
	fi
	printf '%s\n' "$src"
}

build_k8s() {
	local out=$cache/bin/k8s-$K8S_VERSION
	if [ -x "$out/kubectl" ] && [ -x "$out/kube-apiserver" ] &&
		[ -x "$out/kube-controller-manager" ] && [ -x "$out/kube-scheduler" ]; then
		return 0
	fi
	log "kubernetes $K8S_VERSION (one go build for four binaries; ~20-40 min cold on 2 cores)"
	local src=$cache/src/k8s-$K8S_VERSION
	mkdir -p "$src"
	# The committed wrapper module pins every dependency (same build everywhere).
	if grep -qE "k8s.io/kubernetes $K8S_VERSION( |$)" "$here/gomod/k8s/go.mod" 2>/dev/null; then
		cp "$here/gomod/k8s/go.mod" "$here/gomod/k8s/go.sum" "$src/"
	fi
	if [ ! -s "$src/go.mod" ]; then
		(cd "$(mktemp -d)" && go mod download "k8s.io/kubernetes@$K8S_VERSION")
		printf 'module local/k8s\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n' "$K8S_VERSION" >"$src/go.mod"
		awk -v s="$K8S_STAGING_VERSION" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print "replace " $1 " => " $1 " " s }' \
			"$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod" | sort -u >>"$src/go.mod"
	fi
	local targets="" t
	for t in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
		targets+=" k8s.io/kubernetes/cmd/$t"
	done
	if [ ! -s "$src/go.sum" ]; then
		# shellcheck disable=SC2046,SC2086 # one argument per target
		(cd "$src" && go get $(printf '%s@'"$K8S_VERSION"' ' $targets))
	fi
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ld="-s -w" v
	for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
		ld+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
	done
	mkdir -p "$out.tmp"
	# shellcheck disable=SC2086
	(cd "$src" && go build -trimpath -ldflags "$ld" -o "$out.tmp/" $targets)
	rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd() {
	local out=$cache/bin/etcd-$ETCD_VERSION
	[ -x "$out/etcd" ] && return 0
	log "etcd $ETCD_VERSION"
	local src
	src=$(wrapper_src etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3)
	mkdir -p "$out.tmp"
	(cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
	rm -rf "$out" && mv "$out.tmp" "$out"
}

build_kwok() {
	local out=$cache/bin/kwok-$KWOK_VERSION
	[ -x "$out/kwok" ] && return 0
	log "kwok $KWOK_VERSION"
	mkdir -p "$out.tmp"
	GOBIN=$out.tmp go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	rm -rf "$out" && mv "$out.tmp" "$out"
}

# build_helm 3|4: helm.sh/helm/v<N>/cmd/helm as helm<N> (so Helm 3 and Helm 4
# sit on PATH side by side), from the committed wrapper module gomod/helm<N>.
# The ldflags are those of Helm's Makefile: the version `helm version` prints
# and, for Helm 3, the Kubernetes version its deprecation lint assumes
# (client-go v0.X.Y -> 1.X). Helm 4 derives the latter from its build info.
build_helm() {
	local major=$1 version
	case $major in
	3) version=$HELM3_VERSION ;;
	4) version=$HELM4_VERSION ;;
	esac
	local out=$cache/bin/helm$major-$version mod=helm.sh/helm/v$major
	[ -x "$out/helm$major" ] && return 0
	log "helm $version (~2-3 min cold on 2 cores)"
	local src
	src=$(wrapper_src "helm$major" "$mod" "$version" "$mod/cmd/helm")
	local ld="-s -w -X $mod/internal/version.version=$version -X $mod/internal/version.gitTreeState=clean"
	if [ "$major" = 3 ]; then
		local kminor
		kminor=$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2] }' "$src/go.mod")
		ld+=" -X $mod/pkg/lint/rules.k8sVersionMajor=1 -X $mod/pkg/lint/rules.k8sVersionMinor=$kminor"
	fi
	mkdir -p "$out.tmp"
	(cd "$src" && go build -trimpath -ldflags "$ld" -o "$out.tmp/helm$major" "$mod/cmd/helm")
	rm -rf "$out" && mv "$out.tmp" "$out"
}

# build_prometheus: Debian's `prometheus` package (the archive's candidate,
# 2.42.0+ds-5+deb12u1 on bookworm) downloaded with apt-get and unpacked with
# dpkg-deb into $cache/bin/prometheus: its maintainer scripts never run, so no
# service starts. env.sh puts $cache/bin/prometheus/usr/bin on PATH.
build_prometheus() {
	local out=$cache/bin/prometheus
	[ -x "$out/usr/bin/prometheus" ] && return 0
	log "prometheus (Debian package)"
	local tmp
	tmp=$(mktemp -d)
	if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
		# A fresh machine may have no package lists yet.
		apt-get update >/dev/null 2>&1 || true
		(cd "$tmp" && apt-get download prometheus >/dev/null) ||
			{ rm -rf "$tmp"; log "apt-get download prometheus failed"; return 1; }
	fi
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	dpkg-deb -x "$tmp"/prometheus_*.deb "$out.tmp"
	dpkg-deb -f "$tmp"/prometheus_*.deb Version >"$out.tmp/VERSION"
	rm -rf "$tmp" "$out" && mv "$out.tmp" "$out"
	log "prometheus $(cat "$out/VERSION") in $out/usr/bin"
}

# build_crds: the routing CRDs the canary routers need, from their upstream
# Go modules (`go mod download`, then read from the module cache) into
# $cache/crds/: Gateway API's HTTPRoute (standard channel), Istio's
# VirtualService (one document of kubernetes/customresourcedefinitions.gen.yaml)
# and SMI's TrafficSplit (crds/split.yaml). SMI's file is
# apiextensions.k8s.io/v1beta1, which Kubernetes 1.22+ no longer serves: it is
# converted mechanically to v1 here (same group, names, versions and served /
# storage flags; the upstream schema becomes each version's schema, with
# `type: object` at the root as v1 requires and
# x-kubernetes-preserve-unknown-fields, which is what v1beta1's default
# preserveUnknownFields meant; printer columns per version). Nothing is
# written by hand.
build_crds() {
	local out=$cache/crds/gateway-$GATEWAY_API_VERSION-istio-$ISTIO_API_VERSION-smi-$SMI_SDK_VERSION
	[ -s "$out/httproutes.yaml" ] && [ -s "$out/virtualservices.yaml" ] && [ -s "$out/trafficsplits.yaml" ] &&
		return 0
	log "routing CRDs: gateway-api $GATEWAY_API_VERSION, istio api $ISTIO_API_VERSION, smi-sdk-go $SMI_SDK_VERSION"
	local gw istio smi tmp
	tmp=$(mktemp -d)
	gw=$(cd "$tmp" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | jq -r .Dir)
	istio=$(cd "$tmp" && go mod download -json "istio.io/api@$ISTIO_API_VERSION" | jq -r .Dir)
	smi=$(cd "$tmp" && go mod download -json "github.com/servicemeshinterface/smi-sdk-go@$SMI_SDK_VERSION" |
		jq -r .Dir)
	rmdir "$tmp"
	rm -rf "$out.tmp" && mkdir -p "$out.tmp"
	install -m 644 "$gw/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" "$out.tmp/httproutes.yaml"
	python3 - "$istio/kubernetes/customresourcedefinitions.gen.yaml" "$out.tmp/virtualservices.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "CustomResourceDefinition"
        and d["spec"]["group"] == "networking.istio.io" and d["spec"]["names"]["kind"] == "VirtualService"]
assert len(docs) == 1, "expected one VirtualService CRD, found %d" % len(docs)
yaml.safe_dump(docs[0], open(sys.argv[2], "w"), sort_keys=False)
PY
	python3 - "$smi/crds/split.yaml" "$out.tmp/trafficsplits.yaml" <<'PY'
import copy, sys, yaml
out = []
for crd in yaml.safe_load_all(open(sys.argv[1])):
    if not crd:
        continue
    if crd["apiVersion"] != "apiextensions.k8s.io/v1beta1":
        out.append(crd)
        continue
    spec = crd["spec"]
    schema = copy.deepcopy((spec.get("validation") or {}).get("openAPIV3Schema"))
    # v1beta1 kept unknown fields unless spec.preserveUnknownFields was false
    schema = schema or {}
    schema.setdefault("type", "object")
    if spec.get("preserveUnknownFields", True):
        schema["x-kubernetes-preserve-unknown-fields"] = True
    columns = [{"name": c["name"], "type": c["type"], "description": c.get("description", ""),
                "jsonPath": c["JSONPath"]} for c in spec.get("additionalPrinterColumns", [])]
    versions = []
    for v in spec.get("versions") or [{"name": spec["version"], "served": True, "storage": True}]:
        version = {"name": v["name"], "served": v["served"], "storage": v["storage"],
                   "schema": {"openAPIV3Schema": copy.deepcopy(schema)}}
        if columns:
            version["additionalPrinterColumns"] = columns
        versions.append(version)
    out.append({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": crd["metadata"],
                "spec": {"group": spec["group"], "scope": spec["scope"], "names": spec["names"],
                         "versions": versions}})
yaml.safe_dump_all(out, open(sys.argv[2], "w"), sort_keys=False)
PY
	rm -rf "$out" && mv "$out.tmp" "$out"
	log "routing CRDs in $out"
}

# build_toxiproxy: Shopify's Toxiproxy server (TCP faults between a client
# and the API server: resets, stalls, dropped watches) from the committed
# wrapper module gomod/toxiproxy, for the fault suite (target `faults`, not
# part of `all`). Driven through its HTTP API with curl; no CLI is built.
build_toxiproxy() {
	local out=$cache/bin/toxiproxy-$TOXIPROXY_VERSION mod=github.com/Shopify/toxiproxy/v2
	[ -x "$out/toxiproxy-server" ] && return 0
	log "toxiproxy $TOXIPROXY_VERSION (~1 min cold)"
	local src
	src=$(wrapper_src toxiproxy "$mod" "$TOXIPROXY_VERSION" "$mod/cmd/server")
	mkdir -p "$out.tmp"
	(cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/toxiproxy-server" "$mod/cmd/server")
	rm -rf "$out" && mv "$out.tmp" "$out"
}

what=${1:-all}
exec 9>"$cache/build.lock"
flock 9
case $what in
all) build_etcd; build_kwok; build_k8s ;;
k8s) build_k8s ;;
etcd) build_etcd ;;
kwok) build_kwok ;;
helm) build_helm 3; build_helm 4 ;;
helm3) build_helm 3 ;;
helm4) build_helm 4 ;;
prometheus) build_prometheus ;;
crds) build_crds ;;
faults) build_toxiproxy ;;
*) echo "usage: build.sh [all|k8s|etcd|kwok|helm|helm3|helm4|prometheus|crds|faults]" >&2; exit 2 ;;
esac
