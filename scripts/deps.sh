#!/usr/bin/env bash
# Installs what building and testing rollguard needs on a Debian machine:
# the C toolchain and -dev libraries from apt (only the missing ones), and
# checks for Go, which builds the local control plane. Safe to re-run.
set -euo pipefail

packages=(build-essential cmake pkg-config clang clang-format clang-tidy valgrind
	libclang-rt-14-dev libcurl4-openssl-dev libyaml-dev libjansson-dev libwebsockets-dev
	libssl-dev zlib1g-dev libcmocka-dev openssl curl ca-certificates git python3 jq time
	gnupg python3-yaml musl-tools
	zsh fish) # e2e/suites/test_completion.sh runs the completion scripts in them

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds the test cluster (kube-apiserver & co. need Go >= 1.26: the wrapper modules in e2e/cluster/gomod say so).
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
	echo "deps: error: Go is not installed; the local control plane is built from Go modules" >&2
	echo "deps: hint: install Go >= 1.26 (https://go.dev/doc/install) and re-run" >&2
	exit 1
fi
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 26 ]; then
	echo "deps: error: Go $(go env GOVERSION) is too old for the test cluster's wrapper modules; need >= 1.26" >&2
	exit 1
fi

# The SARIF 2.1.0 schema check of kubectl-probecheck's output runs ajv under
# node (pinned in tests/fixtures/probecheck/sarif/package-lock.json),
# installed into the cache from the npm registry.
cache=${ROLLGUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard}
sarif_dir=$cache/sarif-validator
sarif_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures/probecheck/sarif
if [ -f "$sarif_src/package-lock.json" ] && { ! cmp -s "$sarif_src/package-lock.json" "$sarif_dir/package-lock.json" || [ ! -d "$sarif_dir/node_modules/ajv-formats" ]; }; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps: installing nodejs and npm" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
	fi
	mkdir -p "$sarif_dir"
	cp "$sarif_src/package.json" "$sarif_src/package-lock.json" "$sarif_dir/"
	npm ci --prefix "$sarif_dir" --no-audit --no-fund --silent >&2
fi
