#!/usr/bin/env bash
# Packages helm rollback-safe as a Helm plugin archive signed for Helm 4:
# DEST/rollback-safe-<version>.tgz (plugins/rollback-safe/plugin.yaml and
# bin/helm-rollback-safe under rollback-safe/) and its provenance file
# DEST/rollback-safe-<version>.tgz.prov, made by Helm 4's own
# `helm plugin package --sign`. Helm 4 verifies the .prov by default when it
# installs the tarball; Helm 3 installs it unpacked (`tar -xzf`, then
# `helm plugin install ./rollback-safe`): its installers take a directory,
# or a URL to an archive with plugin.yaml at the root, which Helm 4's
# layout does not have.
#
#   scripts/helm-plugin-package.sh --binary PATH [--dest DIR] [--helm CMD]
#       (--keyring SECRING --key NAME [--passphrase-file FILE] [--public-keyring PUBRING]
#        | --throwaway-key DIR)
#
#   --binary PATH         the built helm-rollback-safe
#   --dest DIR            where the .tgz and .tgz.prov are written (default .)
#   --helm CMD            a Helm 4 binary (default helm4 on PATH, else helm if it is Helm 4)
#   --keyring SECRING     the signer's secret key in an OpenPGP keyring file
#                         (`gpg --export-secret-keys KEYID > secring.gpg`)
#   --key NAME            the signing key's user id, or a part of it that is unique
#   --passphrase-file F   the key's passphrase ("-" reads stdin); none for a key without one
#   --public-keyring PUB  also check the result with `helm plugin verify --keyring PUB`
#   --throwaway-key DIR   tests: a fresh passphrase-less key made in DIR/gnupg, exported
#                         to DIR/secring.gpg and DIR/pubring.gpg, signs (and verifies)
#
# Prints the tarball's and the provenance file's paths, one a line. Users
# install with `helm plugin install rollback-safe-<version>.tgz --keyring PUB`
# with the .prov beside it. Keep the file name: the .prov holds the tarball's
# digest under that name, and Helm 4 takes the plugin directory's name from it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prog="helm-plugin-package.sh"
die() {
	echo "$prog: error: $*" >&2
	exit 1
}

binary="" dest=. helm="" keyring="" key="" passphrase_file="" public_keyring="" throwaway=""
while [ $# -gt 0 ]; do
	case $1 in
	--binary | --dest | --helm | --keyring | --key | --passphrase-file | --public-keyring | --throwaway-key)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--binary) binary=$2 ;;
		--dest) dest=$2 ;;
		--helm) helm=$2 ;;
		--keyring) keyring=$2 ;;
		--key) key=$2 ;;
		--passphrase-file) passphrase_file=$2 ;;
		--public-keyring) public_keyring=$2 ;;
		--throwaway-key) throwaway=$2 ;;
		esac
		shift 2
		;;
	-h | --help)
		sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

[ -n "$binary" ] || die "--binary is required"
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
	die "$binary is not an executable file"
fi
if [ -n "$throwaway" ]; then
	[ -z "$keyring$key" ] || die "--throwaway-key and --keyring/--key exclude each other"
else
	if [ -z "$keyring" ] || [ -z "$key" ]; then
		die "--keyring and --key are required (or --throwaway-key DIR for tests)"
	fi
	[ -r "$keyring" ] || die "cannot read keyring $keyring"
fi

# Only Helm 4 has `helm plugin package`.
if [ -z "$helm" ]; then
	if command -v helm4 >/dev/null 2>&1; then
		helm=helm4
	else
		helm=helm
	fi
fi
helm_version=$("$helm" version --short 2>/dev/null) || die "cannot run '$helm' (build it with e2e/cluster/build.sh helm, or pass --helm)"
case $helm_version in
v4.*) ;;
*) die "'$helm' is Helm $helm_version; packaging and signing plugins needs Helm 4 (--helm)" ;;
esac

manifest=$root/plugins/rollback-safe/plugin.yaml
name=$(sed -n 's/^name: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$manifest")
version=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$manifest")
if [ -z "$name" ] || [ -z "$version" ]; then
	die "cannot read name and version from $manifest"
fi
# The binary must be the release the manifest names (skipped for a binary
# this machine cannot run, such as another architecture's).
if reported=$("$binary" version -o json 2>/dev/null | jq -r .version 2>/dev/null) && [ -n "$reported" ] &&
	[ "$reported" != "$version" ]; then
	die "$binary is version $reported but $manifest says $version"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$throwaway" ]; then
	command -v gpg >/dev/null 2>&1 || die "gpg not found (Debian package gnupg; scripts/deps.sh installs it)"
	mkdir -p "$throwaway"
	gnupghome=$(cd "$throwaway" && pwd)/gnupg
	rm -rf "$gnupghome" && mkdir -m 700 "$gnupghome"
	GNUPGHOME=$gnupghome gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "rollguard test (throwaway) <test@rollguard.invalid>" rsa3072 sign never 2>/dev/null ||
		die "gpg could not make a key in $gnupghome"
	# Helm reads OpenPGP keyring files, not GnuPG's keybox: export both halves.
	GNUPGHOME=$gnupghome gpg --batch --export >"$throwaway/pubring.gpg"
	GNUPGHOME=$gnupghome gpg --batch --pinentry-mode loopback --passphrase '' --export-secret-keys >"$throwaway/secring.gpg"
	# The agent gpg started for this home only (its socket is in this home).
	GNUPGHOME=$gnupghome gpgconf --kill gpg-agent 2>/dev/null || true
	keyring=$throwaway/secring.gpg key="rollguard test (throwaway)" public_keyring=$throwaway/pubring.gpg
fi

# The plugin directory as Helm installs it: plugin.yaml, plugin.complete and bin/.
stage=$work/$name
mkdir -p "$stage/bin"
install -m 0644 "$manifest" "$stage/plugin.yaml"
install -m 0755 "$binary" "$stage/bin/helm-rollback-safe"
# Helm runs plugin.complete for dynamic completion of `helm rollback-safe ...`.
install -m 0755 "$root/plugins/rollback-safe/plugin.complete" "$stage/plugin.complete"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi

mkdir -p "$dest"
args=(plugin package "$stage" --sign --keyring "$keyring" --key "$key" --destination "$dest")
[ -n "$passphrase_file" ] && args+=(--passphrase-file "$passphrase_file")
# Helm's own progress lines go to stderr; stdout is the two paths.
"$helm" "${args[@]}" >&2 || die "'$helm plugin package --sign' failed"
tarball=$dest/$name-$version.tgz
if [ ! -s "$tarball" ] || [ ! -s "$tarball.prov" ]; then
	die "Helm did not write $tarball and $tarball.prov"
fi
if [ -n "$public_keyring" ]; then
	"$helm" plugin verify "$tarball" --keyring "$public_keyring" >&2 || die "the new $tarball.prov does not verify"
fi
printf '%s\n%s\n' "$tarball" "$tarball.prov"
