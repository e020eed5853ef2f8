#!/usr/bin/env bash
# Builds the tools users would pick instead of rollguard, from their Go
# modules, into the cache (never into the repository), for the benchmarks
# in bench/. Prints the directory holding them; DIR/VERSIONS lists
# "name version module", one tool a line, for the reports.
#
#   bench/peers.sh
#   ROLLGUARD_PEER_DIR=DIR bench/peers.sh   # polaris, popeye, kube-linter from DIR
#
# The Go module proxy here serves some versions of a module and refuses
# (403) the rest, its version lists and @latest (checked 2026-11-24):
#   kube-score            `go install` (v1.20.0)
#   kubectl-argo-rollouts its go.mod has replace directives, which `go install`
#                         refuses: built from the module's zip (v1.10.2)
#   kube-linter           golang.stackrox.io is refused, the same zip under
#                         github.com/stackrox/kube-linter is served (v0.8.3)
#   popeye                v0.22.1 is served, its version list is not, and
#                         `go install` needs that list: built from the zip
#   polaris               refused: one line on stderr, not a failure
# A module built from its zip is unpacked in a temporary directory and built
# there with the version link flags of its Makefile or release config.
# Executables named polaris, popeye or kube-linter in $ROLLGUARD_PEER_DIR
# (built elsewhere) are copied in and replace those built here; this script
# never builds from a source checkout. What is built already is kept.
# Not part of the test suite.
set -euo pipefail
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
export GOMODCACHE=$cache/gomod GOCACHE=$cache/gocache GOTOOLCHAIN=local CGO_ENABLED=0
# k8s-heavy builds on a shared 2-core machine: one package at a time unless told
export GOFLAGS="${GOFLAGS:-} -p=${ROLLGUARD_GO_JOBS:-1}"
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
out=$cache/bin/peers
mkdir -p "$out"
# one run at a time (the benchmarks call this script); later runs find the binaries
exec 9>"$cache/peers.lock"
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log() { printf 'peers: %s\n' "$*" >&2; }

# refused NAME WHAT ERROR: one line when the proxy said 403, else the error.
refused() {
	case $3 in
	*"403 Forbidden"* | *"not permitted"*) log "$1 not built: the Go module proxy refuses $2 (403)" ;;
	*) printf '%s\n' "$3" >&2 && log "$1 could not be built ($2)" ;;
	esac
}

# from_dir NAME: copy NAME from $ROLLGUARD_PEER_DIR, if it holds one.
from_dir() {
	local name=$1 src=${ROLLGUARD_PEER_DIR:-}/$1
	[ -n "${ROLLGUARD_PEER_DIR:-}" ] && [ -f "$src" ] && [ -x "$src" ] || return 0
	cmp -s "$src" "$out/$name" && return 0
	log "$name from $src"
	cp "$src" "$out/$name.tmp" && chmod 0755 "$out/$name.tmp" && mv "$out/$name.tmp" "$out/$name"
}

# go_install NAME PACKAGE@VERSION
go_install() {
	local name=$1 target=$2
	[ -x "$out/$name" ] && return 0
	log "building $name ($target)"
	GOBIN=$out go install -trimpath -ldflags "-s -w" "$target" 2>"$work/$name.log" ||
		refused "$name" "$target" "$(cat "$work/$name.log")"
}

# from_zip NAME MODULE VERSION PACKAGE [LDFLAGS]: go build PACKAGE (./dir)
# in the module's zip from the proxy. In LDFLAGS, @COMMIT@ and @DATE@ stand
# for the tag's commit (when the proxy knows it) and time.
from_zip() {
	local name=$1 module=$2 version=$3 package=$4 ld=${5:-}
	[ -x "$out/$name" ] && return 0
	log "building $name ($module@$version $package)"
	# -json names the verified zip even when the module's go line is newer
	# than this Go, which makes `go mod download` fail before unpacking it
	local json zip info src=$work/$module@$version
	json=$(go mod download -json "$module@$version" 2>"$work/$name.log" || true)
	zip=$(jq -r '.Zip // empty' <<<"$json" 2>/dev/null || true)
	if [ -z "$zip" ] || [ ! -s "$zip" ]; then
		refused "$name" "$module@$version" "$(jq -r '.Error // empty' <<<"$json" 2>/dev/null || true)$(cat "$work/$name.log")"
		return 0
	fi
	python3 -m zipfile -e "$zip" "$work"
	# A newer patch release in the go line (argo-rollouts v1.10.2 asks for
	# 1.26.10, for the standard library's fixes; its code is v1.10.1's) is
	# no reason to fetch another Go: build with this one.
	local need have
	need=$(sed -n 's/^go //p' "$src/go.mod")
	have=$(go env GOVERSION)
	have=${have#go}
	if [ "$(printf '%s\n' "$need" "$have" | sort -V | tail -n 1)" != "$have" ]; then
		log "$name: go.mod asks for go $need; building with go $have"
		(cd "$src" && go mod edit -go="$have")
	fi
	local commit date
	info=${zip%.zip}.info
	commit=$(jq -r '.Origin.Hash // "" | .[0:7]' "$info" || true)
	date=$(jq -r '.Time // "1970-01-01T00:00:00Z"' "$info" || true)
	ld=${ld//@COMMIT@/$commit}
	ld=${ld//@DATE@/$date}
	if (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w $ld" \
		-o "$out/$name.tmp" "$package"); then
		mv "$out/$name.tmp" "$out/$name"
	else
		rm -f "$out/$name.tmp"
		log "$name could not be built ($module@$version)"
	fi
	rm -rf "$src"
}

# version_line NAME: "NAME VERSION MODULE" from the binary's build info, or
# its `version` command when it was not built from a module version.
version_line() {
	local name=$1 bin=$out/$1 module version
	read -r module version < <(go version -m "$bin" 2>/dev/null | awk '$1 == "mod" { print $2, $3; exit }') || true
	if [ -z "${version:-}" ] || [ "$version" = "(devel)" ]; then
		version=$(timeout 20 "$bin" version </dev/null 2>&1 |
			grep -oE 'v?[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)
		[ -n "$version" ] && version=v${version#v}
	fi
	echo "$name ${version:-unknown} ${module:-unknown}"
}

for name in polaris popeye kube-linter; do
	from_dir "$name"
done
go_install kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0
# The Makefile's LDFLAGS but gitCommit, which the proxy does not know for
# this module: `version` prints "v1.10.2+unknown" (a release, "v1.10.2+<commit>").
v=github.com/argoproj/argo-rollouts/utils/version
from_zip kubectl-argo-rollouts github.com/argoproj/argo-rollouts v1.10.2 ./cmd/kubectl-argo-rollouts \
	"-X $v.version=1.10.2 -X $v.buildDate=@DATE@ -X $v.gitTreeState=clean"
from_zip kube-linter github.com/stackrox/kube-linter v0.8.3 ./cmd/kube-linter \
	"-X golang.stackrox.io/kube-linter/internal/version.version=v0.8.3"
v=github.com/derailed/popeye/cmd
from_zip popeye github.com/derailed/popeye v0.22.1 . \
	"-X $v.version=v0.22.1 -X $v.commit=@COMMIT@ -X $v.date=@DATE@"
# Polaris's tags are v10 and up but its module path has no /v10: only @latest
go_install polaris github.com/fairwindsops/polaris@latest

for name in kube-score kubectl-argo-rollouts polaris kube-linter popeye; do
	if [ -x "$out/$name" ]; then version_line "$name"; fi
done >"$out/VERSIONS.tmp"
mv "$out/VERSIONS.tmp" "$out/VERSIONS"
echo "$out"
