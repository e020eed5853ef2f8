#!/usr/bin/env bash
# helm rollback-safe as a plugin of the real Helm 3 and Helm 4 (helm3 and
# helm4 on PATH, built by `e2e/cluster/build.sh helm`): Helm 3 installs the
# plugin directory; Helm 4 installs the tarball that
# scripts/helm-plugin-package.sh signs with a throwaway GnuPG key, with its
# default signature verification on, and refuses it unsigned, tampered,
# signed by another key or renamed; both hand the plugin HELM_NAMESPACE from
# -n/--namespace and strip the flag from its arguments. Each Helm runs with
# its own data, config and cache homes in this suite's temp dir; nothing is
# built here and the cluster is used only by lib.sh's readiness check.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

RS=$BIN/helm-rollback-safe
PACKAGE=$e2e_root/scripts/helm-plugin-package.sh
MANIFEST=$e2e_root/plugins/rollback-safe/plugin.yaml
VERSION=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$MANIFEST")
TGZ_NAME=rollback-safe-$VERSION.tgz
VERSION_RE=${VERSION//./\\.}

if [ ! -x "$RS" ]; then
	fail "$RS not built"
	finish
fi
# A missing outside tool is a skip on a developer's machine but a failure in
# CI, where a skip would hide that the suite never ran (as the SARIF schema
# check does).
missing=""
for tool in helm3 helm4 gpg jq; do
	command -v "$tool" >/dev/null 2>&1 || missing+=" $tool"
done
if [ -n "$missing" ]; then
	hint="e2e/cluster/build.sh helm builds helm3 and helm4; scripts/deps.sh installs gnupg and jq"
	if [ -n "${CI:-}" ]; then
		fail "not found:$missing ($hint)"
		finish
	fi
	echo "SKIPPED [$SUITE] not found:$missing ($hint)"
	exit 0
fi

# in_home DIR CMD...: CMD with Helm's homes under DIR and none of the
# caller's HELM_* settings. HELM_PLUGINS is kept at $HELM_DATA_HOME/plugins:
# Helm 4 installs local directories and tarballs there whatever HELM_PLUGINS
# says (helm/helm#32646), so any other value would hide what it installed.
in_home() {
	local home=$1
	shift
	env -u HELM_NAMESPACE -u HELM_KUBECONTEXT -u HELM_DEBUG -u HELM_DRIVER \
		HELM_DATA_HOME="$home/data" HELM_CONFIG_HOME="$home/config" HELM_CACHE_HOME="$home/cache" \
		HELM_PLUGINS="$home/data/plugins" "$@"
}

# expect_json_kind KIND what: stdout is one JSON object of that kind.
expect_json_kind() {
	local kind
	kind=$(jq -r .kind <<<"$OUT" 2>/dev/null)
	expect_eq "$kind" "$1" "$2: JSON kind"
}

# expect_not_installed HOME what: no plugin directory and no listing.
expect_not_installed() {
	if [ -e "$1/data/plugins/rollback-safe" ]; then
		fail "$2: $1/data/plugins/rollback-safe exists"
	else
		ok "$2: no plugin directory"
	fi
	local listing
	listing=$(in_home "$1" helm4 plugin list 2>&1)
	if grep -q '^rollback-safe[[:space:]]' <<<"$listing"; then
		fail "$2: helm4 plugin list shows rollback-safe"
	else
		ok "$2: helm4 plugin list does not show it"
	fi
}

# The plugin directory a user unpacks (and Helm 3 installs): plugin.yaml and
# bin/helm-rollback-safe, which plugin.yaml's command names.
SRC=$E2E_TMP/src/rollback-safe
mkdir -p "$SRC/bin"
cp "$MANIFEST" "$SRC/plugin.yaml"
cp "$RS" "$SRC/bin/helm-rollback-safe"

# A probe plugin that records the arguments and HELM_* variables it gets,
# then runs helm-rollback-safe with the same arguments.
PROBE=$E2E_TMP/src/rs-probe
mkdir -p "$PROBE"
cat >"$PROBE/plugin.yaml" <<'EOF'
name: "rs-probe"
version: "0.0.1"
usage: "records what Helm hands a plugin, then runs helm-rollback-safe"
command: "$HELM_PLUGIN_DIR/probe.sh"
EOF
cat >"$PROBE/probe.sh" <<EOF
#!/bin/sh
{ printf 'args=%s\n' "\$*"; env | grep -E '^(HELM_|KUBECONFIG=)' | sort; } >"\$RS_PROBE_OUT"
exec '$RS' "\$@"
EOF
chmod +x "$PROBE/probe.sh"

echo "== Helm 3 ($(helm3 version --short)): the plugin directory"
H3=$E2E_TMP/helm3
run in_home "$H3" helm3 plugin install "$SRC"
expect_rc 0 "helm3 plugin install DIR"
expect_out "Installed plugin: rollback-safe" "helm3 plugin install DIR"
run in_home "$H3" helm3 plugin list
expect_rc 0 "helm3 plugin list"
if grep -qE "^rollback-safe[[:space:]]+${VERSION_RE}[[:space:]]" <<<"$OUT"; then ok "helm3 plugin list: rollback-safe $VERSION"; else fail "helm3 plugin list lacks rollback-safe $VERSION"; fi
run in_home "$H3" helm3 rollback-safe version -o json
expect_rc 0 "helm3 rollback-safe version -o json"
expect_json_kind Version "helm3 rollback-safe version -o json"
expect_eq "$(jq -r .version <<<"$OUT" 2>/dev/null)" "$VERSION" "helm3 rollback-safe version -o json: version"
run in_home "$H3" helm3 rollback-safe --help
expect_rc 0 "helm3 rollback-safe --help"
expect_out "helm rollback-safe [command]" "helm3 rollback-safe --help"
# An exit code of the plugin's own reaches the caller unchanged.
# (An invalid release name: a usage error, 2, before any cluster is asked.)
run "$RS" No_Such_Release
direct=$RC
expect_rc 2 "helm-rollback-safe No_Such_Release (directly)"
run in_home "$H3" helm3 rollback-safe No_Such_Release
expect_rc "$direct" "helm3 rollback-safe No_Such_Release (the binary's own code)"
expect_err 'invalid release name "No_Such_Release"' "helm3 rollback-safe No_Such_Release"

echo "== Helm 4 ($(helm4 version --short)): the plugin directory (development mode)"
H4DEV=$E2E_TMP/helm4-dev
run in_home "$H4DEV" helm4 plugin install "$SRC"
expect_rc 0 "helm4 plugin install DIR"
expect_out "Installing plugin from local directory (development mode)" "helm4 plugin install DIR"
expect_out "Installed plugin: rollback-safe" "helm4 plugin install DIR"
# The legacy plugin.yaml (no apiVersion) loads, and without a warning.
run in_home "$H4DEV" helm4 rollback-safe version -o json
expect_rc 0 "helm4 rollback-safe version -o json (development mode)"
expect_json_kind Version "helm4 rollback-safe version -o json (development mode)"
expect_no "deprecat" "helm4 with a legacy plugin.yaml"
run in_home "$H4DEV" helm4 plugin list
if grep -qE "^rollback-safe[[:space:]]+${VERSION_RE}[[:space:]]+cli/v1[[:space:]]+legacy[[:space:]]+local dev" <<<"$OUT"; then
	ok "helm4 plugin list: rollback-safe $VERSION cli/v1 legacy local dev"
else
	fail "helm4 plugin list: expected rollback-safe $VERSION cli/v1 legacy local dev"
fi

echo "== Helm 4: the signed tarball with verification on"
KEY=$E2E_TMP/key
DIST=$E2E_TMP/dist
run "$PACKAGE" --binary "$RS" --dest "$DIST" --throwaway-key "$KEY"
expect_rc 0 "helm-plugin-package.sh --throwaway-key"
expect_eq "$(sed -n 1p <<<"$OUT")" "$DIST/$TGZ_NAME" "helm-plugin-package.sh: tarball"
expect_eq "$(sed -n 2p <<<"$OUT")" "$DIST/$TGZ_NAME.prov" "helm-plugin-package.sh: provenance"
listing=$(tar tzf "$DIST/$TGZ_NAME" 2>/dev/null)
if grep -qx 'rollback-safe/bin/helm-rollback-safe' <<<"$listing"; then
	ok "tarball holds rollback-safe/bin/helm-rollback-safe"
else
	fail "tarball lacks rollback-safe/bin/helm-rollback-safe"
fi
if grep -qx 'rollback-safe/plugin.complete' <<<"$listing"; then
	ok "tarball holds rollback-safe/plugin.complete"
else
	fail "tarball lacks rollback-safe/plugin.complete"
fi
sum=$(sha256sum "$DIST/$TGZ_NAME" | cut -d' ' -f1)
if grep -qF "$TGZ_NAME: sha256:$sum" "$DIST/$TGZ_NAME.prov"; then ok "the .prov names the tarball and its digest"; else fail "the .prov lacks '$TGZ_NAME: sha256:$sum'"; fi
H4=$E2E_TMP/helm4
run in_home "$H4" helm4 plugin install "$DIST/$TGZ_NAME" --keyring "$KEY/pubring.gpg"
expect_rc 0 "helm4 plugin install TGZ --keyring"
expect_out "Verifying plugin signature..." "helm4 plugin install TGZ"
expect_out "Signed by: rollguard test (throwaway) <test@rollguard.invalid>" "helm4 plugin install TGZ"
expect_out "Plugin Hash Verified: sha256:$sum" "helm4 plugin install TGZ"
expect_out "Installed plugin: rollback-safe" "helm4 plugin install TGZ"
expect_no "WARNING: Skipping plugin signature verification" "helm4 plugin install TGZ"
run in_home "$H4" helm4 plugin list
if grep -qE "^rollback-safe[[:space:]]+${VERSION_RE}[[:space:]]+cli/v1[[:space:]]+legacy[[:space:]]+signed" <<<"$OUT"; then
	ok "helm4 plugin list: rollback-safe $VERSION legacy signed"
else
	fail "helm4 plugin list: expected rollback-safe $VERSION legacy signed"
fi
run in_home "$H4" helm4 rollback-safe version -o json
expect_rc 0 "helm4 rollback-safe version -o json (signed)"
expect_json_kind Version "helm4 rollback-safe version -o json (signed)"
run in_home "$H4" helm4 rollback-safe --help
expect_rc 0 "helm4 rollback-safe --help"
expect_out "helm rollback-safe [command]" "helm4 rollback-safe --help"
run in_home "$H4" helm4 rollback-safe No_Such_Release
expect_rc "$direct" "helm4 rollback-safe No_Such_Release (the binary's own code)"

echo "== Helm 4 refuses what does not verify, and installs nothing"
# No .prov beside the tarball.
mkdir -p "$E2E_TMP/unsigned"
cp "$DIST/$TGZ_NAME" "$E2E_TMP/unsigned/"
HOME_U=$E2E_TMP/helm4-unsigned
run in_home "$HOME_U" helm4 plugin install "$E2E_TMP/unsigned/$TGZ_NAME" --keyring "$KEY/pubring.gpg"
expect_rc 1 "unsigned tarball"
expect_err "Error: plugin verification failed: no provenance file (.prov) found" "unsigned tarball"
expect_not_installed "$HOME_U" "unsigned tarball"

# One byte more in the binary, the original .prov beside it.
mkdir -p "$E2E_TMP/tamper" "$E2E_TMP/tampered"
tar xzf "$DIST/$TGZ_NAME" -C "$E2E_TMP/tamper"
printf '\0' >>"$E2E_TMP/tamper/rollback-safe/bin/helm-rollback-safe"
tar czf "$E2E_TMP/tampered/$TGZ_NAME" -C "$E2E_TMP/tamper" rollback-safe
cp "$DIST/$TGZ_NAME.prov" "$E2E_TMP/tampered/"
HOME_T=$E2E_TMP/helm4-tampered
run in_home "$HOME_T" helm4 plugin install "$E2E_TMP/tampered/$TGZ_NAME" --keyring "$KEY/pubring.gpg"
expect_rc 1 "tampered tarball"
expect_err "Error: plugin verification failed: sha256 sum does not match for $TGZ_NAME" "tampered tarball"
expect_not_installed "$HOME_T" "tampered tarball"

# Signed, but by a key the keyring does not hold.
run "$PACKAGE" --binary "$RS" --dest "$E2E_TMP/dist-other" --throwaway-key "$E2E_TMP/key-other"
expect_rc 0 "a second throwaway key"
HOME_K=$E2E_TMP/helm4-otherkey
run in_home "$HOME_K" helm4 plugin install "$DIST/$TGZ_NAME" --keyring "$E2E_TMP/key-other/pubring.gpg"
expect_rc 1 "tarball signed by another key"
expect_err "Error: plugin verification failed: openpgp: signature made by unknown entity" "tarball signed by another key"
expect_not_installed "$HOME_K" "tarball signed by another key"

# Renamed with its .prov: the .prov holds the digest under the packaged name.
mkdir -p "$E2E_TMP/renamed"
cp "$DIST/$TGZ_NAME" "$E2E_TMP/renamed/plugin.tgz"
cp "$DIST/$TGZ_NAME.prov" "$E2E_TMP/renamed/plugin.tgz.prov"
HOME_R=$E2E_TMP/helm4-renamed
run in_home "$HOME_R" helm4 plugin install "$E2E_TMP/renamed/plugin.tgz" --keyring "$KEY/pubring.gpg"
expect_rc 1 "renamed tarball"
expect_err 'Error: plugin verification failed: provenance does not contain a SHA for a file named "plugin.tgz"' "renamed tarball"
expect_not_installed "$HOME_R" "renamed tarball"

echo "== the release tarball from a URL: Helm 4 verifies it (the .prov fetched beside it), Helm 3 installs it unpacked"
# The release's download URL, here served on loopback.
serve_dir "$DIST"
URL=$SERVE_URL/$TGZ_NAME
# Helm 3's URL installer wants plugin.yaml at the archive's root, and Helm
# 4's package (the signed one) has it under rollback-safe/: Helm 3 users
# unpack it and install the directory, as docs/install.md says. Both halves
# are checked, so a Helm 3 that learns the layout shows up here.
HOME_U3=$E2E_TMP/helm3-url
run in_home "$HOME_U3" helm3 plugin install "$URL"
expect_rc 1 "helm3 plugin install URL (Helm 4's package layout)"
expect_err "plugin metadata (plugin.yaml) missing" "helm3 plugin install URL"
mkdir -p "$E2E_TMP/h3dl"
curl -sf -o "$E2E_TMP/h3dl/$TGZ_NAME" "$URL" && tar -xzf "$E2E_TMP/h3dl/$TGZ_NAME" -C "$E2E_TMP/h3dl"
run in_home "$HOME_U3" helm3 plugin install "$E2E_TMP/h3dl/rollback-safe"
expect_rc 0 "helm3 plugin install of the downloaded tarball, unpacked"
run in_home "$HOME_U3" helm3 rollback-safe version -o json
expect_rc 0 "helm3 rollback-safe version (from the release tarball)"
expect_json_kind Version "helm3 rollback-safe version (from the release tarball)"
if [ -x "$HOME_U3/data/plugins/rollback-safe/plugin.complete" ]; then ok "helm3: plugin.complete installed"; else fail "helm3: no plugin.complete"; fi
HOME_U4=$E2E_TMP/helm4-url
run in_home "$HOME_U4" helm4 plugin install "$URL" --keyring "$KEY/pubring.gpg"
expect_rc 0 "helm4 plugin install URL --keyring"
expect_out "Signed by: rollguard test (throwaway) <test@rollguard.invalid>" "helm4 plugin install URL"
expect_out "Plugin Hash Verified: sha256:$sum" "helm4 plugin install URL"
run in_home "$HOME_U4" helm4 rollback-safe version -o json
expect_rc 0 "helm4 rollback-safe version (installed from a URL)"
# Verification on by default: the same URL with another key's keyring fails.
HOME_U4K=$E2E_TMP/helm4-url-otherkey
run in_home "$HOME_U4K" helm4 plugin install "$URL" --keyring "$e2e_root/docs/rollguard-release.asc"
expect_rc 1 "helm4 plugin install URL with the release key's keyring (signed by the throwaway key)"
expect_err "plugin verification failed" "helm4 plugin install URL with another keyring"
expect_not_installed "$HOME_U4K" "helm4 plugin install URL with another keyring"

echo "== the published release key"
# docs/install.md names the fingerprint that docs/rollguard-release.asc holds.
fpr=$(gpg --show-keys --with-colons "$e2e_root/docs/rollguard-release.asc" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
if [ -n "$fpr" ] && grep -q "$(sed 's/..../& /g; s/ $//' <<<"$fpr")" "$e2e_root/docs/install.md"; then
	ok "docs/install.md names the key's fingerprint $fpr"
else
	fail "docs/install.md does not name the fingerprint '$fpr' of docs/rollguard-release.asc"
fi
if gpg --show-keys --with-colons "$e2e_root/docs/rollguard-release.asc" 2>/dev/null | grep -q '^sec'; then
	fail "docs/rollguard-release.asc holds a secret key"
else
	ok "docs/rollguard-release.asc holds no secret key"
fi

echo "== what each Helm hands the plugin"
for major in 3 4; do
	home=$E2E_TMP/helm$major
	run in_home "$home" "helm$major" plugin install "$PROBE"
	expect_rc 0 "helm$major plugin install rs-probe"
	for form in "-n foo" "--namespace=foo" "--namespace foo"; do
		# shellcheck disable=SC2086 # the flag and its value are two words on purpose
		RS_PROBE_OUT=$E2E_TMP/probe.out run in_home "$home" "helm$major" rs-probe $form version -o json
		expect_rc 0 "helm$major rs-probe $form version -o json"
		expect_json_kind Version "helm$major rs-probe $form version -o json"
		got=$(cat "$E2E_TMP/probe.out" 2>/dev/null)
		expect_eq "$(sed -n 's/^HELM_NAMESPACE=//p' <<<"$got")" foo "helm$major $form: HELM_NAMESPACE"
		expect_eq "$(sed -n 's/^args=//p' <<<"$got")" "version -o json" "helm$major $form: the plugin's arguments"
	done
	RS_PROBE_OUT=$E2E_TMP/probe.out run in_home "$home" "helm$major" rs-probe version
	got=$(cat "$E2E_TMP/probe.out" 2>/dev/null)
	expect_eq "$(sed -n 's/^HELM_BIN=//p' <<<"$got")" "helm$major" "helm$major: HELM_BIN"
	expect_eq "$(sed -n 's/^HELM_PLUGIN_NAME=//p' <<<"$got")" rs-probe "helm$major: HELM_PLUGIN_NAME"
	expect_eq "$(sed -n 's/^HELM_PLUGIN_DIR=//p' <<<"$got")" "$home/data/plugins/rs-probe" "helm$major: HELM_PLUGIN_DIR"
	# The outer environment gets through (helm_env reads KUBECONFIG's context).
	expect_eq "$(sed -n 's/^KUBECONFIG=//p' <<<"$got")" "$KUBECONFIG" "helm$major: KUBECONFIG"
done

finish
