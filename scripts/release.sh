#!/usr/bin/env bash
# Builds the release: fully static binaries (musl; every library from
# Debian's source packages through scripts/static-deps.sh), one archive per
# plugin, the signed Helm plugin tarball, the krew manifests filled in, and
# SHA256SUMS. Reproducible: the same commit gives the same bytes
# (SOURCE_DATE_EPOCH is the commit's time; archives sorted, owner 0, no
# timestamps in gzip).
#
#   scripts/release.sh [--out DIR] [--base-url URL]
#       (--keyring SECRING --key NAME [--passphrase-file F] | --throwaway-key DIR | --no-helm)
#
#   --out DIR            where everything is written (default dist/)
#   --base-url URL       where the archives will be downloadable; the krew
#                        manifests' uri is URL/<archive> (default the GitHub
#                        release of this version)
#   --keyring, --key, --passphrase-file
#                        the release signing key (docs/install.md), passed to
#                        scripts/helm-plugin-package.sh
#   --throwaway-key DIR  tests: sign the Helm tarball with a fresh key made in DIR
#   --no-helm            skip the Helm plugin tarball (no Helm 4 at hand)
#
# Output, in DIR: kubectl-canary_vV_linux_ARCH.tar.gz,
# kubectl-probecheck_vV_linux_ARCH.tar.gz, rollback-safe-V.tgz(.prov),
# krew/canary.yaml, krew/probecheck.yaml, SHA256SUMS; DIR/bin holds the
# stripped binaries. Prints DIR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prog=release.sh
die() {
	echo "$prog: error: $*" >&2
	exit 1
}
log() { echo "$prog: $*" >&2; }

out=$root/dist base_url="" helm_args=() no_helm=0
while [ $# -gt 0 ]; do
	case $1 in
	--out | --base-url | --keyring | --key | --passphrase-file | --throwaway-key)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--out) out=$2 ;;
		--base-url) base_url=${2%/} ;;
		*) helm_args+=("$1" "$2") ;;
		esac
		shift 2
		;;
	--no-helm)
		no_helm=1
		shift
		;;
	-h | --help)
		sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
if [ "$no_helm" -eq 0 ] && [ ${#helm_args[@]} -eq 0 ]; then
	die "the Helm tarball needs a signing key: --keyring/--key, --throwaway-key DIR, or --no-helm"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^project(rollguard VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[ -n "$version" ] || die "no version in CMakeLists.txt"
plugin_version=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$root/plugins/rollback-safe/plugin.yaml")
[ "$plugin_version" = "$version" ] || die "plugins/rollback-safe/plugin.yaml says $plugin_version, CMakeLists.txt $version"
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) die "unsupported machine $(uname -m)" ;;
esac
base_url=${base_url:-https://github.com/rollguard/rollguard/releases/download/v$version}
SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

prefix=$(bash "$root/scripts/static-deps.sh")
build=$out/build
log "building v$version (musl, static) in $build"
CC=musl-gcc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
	-DROLLGUARD_STATIC_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

rm -rf "$out/bin" "$out/stage" "$out/krew"
mkdir -p "$out/bin" "$out/stage" "$out/krew"
for b in kubectl-canary kubectl-probecheck helm-rollback-safe; do
	strip -o "$out/bin/$b" "$build/$b"
	# Static or nothing: a binary that needs a loader would not run on
	# another distribution.
	if readelf -l "$out/bin/$b" | grep -q 'INTERP'; then
		die "$b asks for a program interpreter: not static"
	fi
done

# THIRD_PARTY_LICENSES: what is linked in, at which Debian source version,
# under which terms (each package's debian/copyright).
notices=$out/stage/THIRD_PARTY_LICENSES
{
	echo "rollguard v$version links these libraries statically (Debian source packages):"
	sed 's/^/  /' "$prefix/VERSIONS"
	for d in "$prefix"/licenses/*/; do
		printf '\n===== %s =====\n\n' "$(basename "$d")"
		cat "$d/copyright"
	done
} >"$notices"

# tarball DIR FILE: a reproducible .tar.gz of DIR's contents.
tarball() {
	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-C "$1" -cf - . | gzip -n -9 >"$2"
}

for p in canary probecheck; do
	stage=$out/stage/$p
	mkdir -p "$stage"
	cp "$out/bin/kubectl-$p" "$stage/"
	cp "$root/LICENSE" "$notices" "$stage/"
	mkdir -p "$stage/man"
	cp "$build"/man/kubectl-"$p"*.1 "$stage/man/" || die "no man pages in $build/man (python3 builds them)"
	archive=kubectl-${p}_v${version}_linux_${arch}.tar.gz
	tarball "$stage" "$out/$archive"
	sum=$(sha256sum "$out/$archive" | cut -d' ' -f1)
	sed -e "s|@VERSION@|v$version|g" -e "s|@URI_LINUX_${arch^^}@|$base_url/$archive|g" \
		-e "s|@SHA256_LINUX_${arch^^}@|$sum|g" "$root/krew/$p.yaml" >"$out/krew/$p.yaml"
	if grep -q '@[A-Z0-9_]*@' "$out/krew/$p.yaml"; then
		die "krew/$p.yaml: placeholders left for another platform: $(grep -o '@[A-Z0-9_]*@' "$out/krew/$p.yaml" | sort -u | tr '\n' ' ')"
	fi
done

if [ "$no_helm" -eq 0 ]; then
	log "packaging and signing the Helm plugin"
	bash "$root/scripts/helm-plugin-package.sh" --binary "$out/bin/helm-rollback-safe" --dest "$out" \
		"${helm_args[@]}" >/dev/null
fi

(cd "$out" && shopt -s nullglob && sha256sum -- *.tar.gz *.tgz >SHA256SUMS)
rm -rf "$out/stage"
log "done: $(wc -l <"$out/SHA256SUMS") archives in $out"
echo "$out"
