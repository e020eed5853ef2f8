#!/usr/bin/env bash
# Builds the tools users would pick instead of rollguard, from their Go
# modules, into the cache (never into the repository), for the benchmarks
# in bench/. Prints the directory holding them. Only modules the Go module
# proxy serves can be built here: kube-score is; Polaris, kube-linter and
# popeye answer 403 from the proxy (checked with `go list -m -versions` on
# 2026-11-24), so the benchmarks say so and compare against kube-score.
set -euo pipefail
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
export GOMODCACHE=$cache/gomod GOCACHE=$cache/gocache GOTOOLCHAIN=local CGO_ENABLED=0
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
out=$cache/bin/peers
mkdir -p "$out"
build() {
	local name=$1 module=$2
	[ -x "$out/$name" ] && return 0
	echo "peers: building $name ($module)" >&2
	GOBIN=$out go install -trimpath -ldflags "-s -w" "$module" >&2 ||
		echo "peers: $name could not be built (is it served by the Go module proxy?)" >&2
}
build kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0
echo "$out"
