#!/usr/bin/env bash
# The kubectl plugins through the real krew (SPEC §6): krew's own
# validate-krew-manifest over the release's manifests (which installs each
# platform from its uri, served here on loopback), then
# `kubectl krew install --manifest --archive` of both plugins into a krew
# root of this suite's, `kubectl canary version` and `kubectl probecheck -f`
# through kubectl's plugin discovery with nothing of the build on PATH,
# `completion install` after the krew install and kubectl's `__complete`
# through the link, and `kubectl krew uninstall`.
#
# Needs ROLLGUARD_DIST (scripts/release.sh) and a krew build: KREW_BIN names
# a directory holding kubectl-krew and validate-krew-manifest. Where the
# sigs.k8s.io/krew module cannot be fetched (it is not served by every Go
# module proxy, this project's CI's included) the suite says so and exits 77,
# which ctest counts as skipped;
# test_release.sh checks the manifests' structure there with
# scripts/check-krew-manifest.py. docs/install.md says how to build krew.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

KREW_BIN=${KREW_BIN:-}
if [ -z "$KREW_BIN" ] && command -v kubectl-krew >/dev/null 2>&1 && command -v validate-krew-manifest >/dev/null 2>&1; then
	KREW_BIN=$(dirname "$(command -v kubectl-krew)")
fi
if [ -z "$KREW_BIN" ] || [ ! -x "$KREW_BIN/kubectl-krew" ] || [ ! -x "$KREW_BIN/validate-krew-manifest" ]; then
	echo "SKIPPED [$SUITE] no krew build (KREW_BIN): sigs.k8s.io/krew is not served by this machine's Go module proxy; docs/install.md builds it from a checkout"
	exit 77
fi
need_dist
KUBECTL_DIR=$(dirname "$(command -v kubectl)")
export KREW_ROOT=$E2E_TMP/krew
# Only kubectl, krew and krew's bin dir: the plugins must come from krew.
PLUGIN_PATH=$KREW_ROOT/bin:$KREW_BIN:$KUBECTL_DIR:/usr/bin:/bin

# The archives served on loopback, as the manifests' uri would serve them.
serve_dir "$DIST"

echo "== krew's validate-krew-manifest"
mkdir -p "$E2E_TMP/manifests" "$E2E_TMP/bad"
for p in canary probecheck; do
	archive=kubectl-${p}_v${VERSION}_linux_$ARCH.tar.gz
	sed "s|uri: .*|uri: \"$SERVE_URL/$archive\"|" "$DIST/krew/$p.yaml" >"$E2E_TMP/manifests/$p.yaml"
	run env PATH="$PLUGIN_PATH" "$KREW_BIN/validate-krew-manifest" -manifest "$E2E_TMP/manifests/$p.yaml"
	expect_rc 0 "validate-krew-manifest $p.yaml"
	expect_err "structural validation OK" "validate-krew-manifest $p.yaml"
	expect_err "all 1 spec.platforms installed fine" "validate-krew-manifest $p.yaml"
	# The validator can fail: a digest that is not the archive's.
	sed "s/sha256: .*/sha256: \"$(printf 'a%.0s' $(seq 64))\"/" "$E2E_TMP/manifests/$p.yaml" >"$E2E_TMP/bad/$p.yaml"
	run env PATH="$PLUGIN_PATH" "$KREW_BIN/validate-krew-manifest" -manifest "$E2E_TMP/bad/$p.yaml"
	expect_rc 255 "validate-krew-manifest with a wrong sha256"
	expect_err "failed to install" "validate-krew-manifest with a wrong sha256"
done

echo "== kubectl krew install --manifest --archive"
for p in canary probecheck; do
	run env PATH="$PLUGIN_PATH" kubectl krew install --manifest="$DIST/krew/$p.yaml" \
		--archive="$DIST/kubectl-${p}_v${VERSION}_linux_$ARCH.tar.gz"
	expect_rc 0 "kubectl krew install $p"
	expect_err "Installed plugin: $p" "kubectl krew install $p"
	if [ "$(readlink "$KREW_ROOT/bin/kubectl-$p")" = "$KREW_ROOT/store/$p/v$VERSION/kubectl-$p" ]; then
		ok "krew linked kubectl-$p into its bin dir"
	else
		fail "krew did not link $KREW_ROOT/bin/kubectl-$p to its store"
	fi
	for f in LICENSE THIRD_PARTY_LICENSES man/kubectl-$p.1; do
		if [ -f "$KREW_ROOT/store/$p/v$VERSION/$f" ]; then ok "krew's store has $f"; else fail "krew's store lacks $f"; fi
	done
done
# krew's receipts (`kubectl krew list` reads them, but wants an index first,
# which a --manifest install does not need).
for p in canary probecheck; do
	if grep -q "^  version: v$VERSION\$" "$KREW_ROOT/receipts/$p.yaml" 2>/dev/null; then
		ok "krew's receipt for $p says v$VERSION"
	else
		fail "no krew receipt for $p v$VERSION"
	fi
done

echo "== the plugins through kubectl's plugin discovery"
run env PATH="$PLUGIN_PATH" kubectl plugin list
for p in canary probecheck; do
	expect_out "$KREW_ROOT/bin/kubectl-$p" "kubectl plugin list"
done
run env PATH="$PLUGIN_PATH" kubectl canary version -o json
expect_rc 0 "kubectl canary version"
expect_eq "$(jq -r .version <<<"$OUT" 2>/dev/null)" "$VERSION" "kubectl canary version: version"
cases=$e2e_root/tests/fixtures/probecheck/cases
run env PATH="$PLUGIN_PATH" kubectl probecheck -f "$cases/clean-deployment.yaml"
expect_rc 0 "kubectl probecheck -f clean-deployment.yaml"
run env PATH="$PLUGIN_PATH" kubectl probecheck -f "$cases/correctness-handlers.yaml" -o json
expect_rc 1 "kubectl probecheck -f correctness-handlers.yaml (findings)"
expect_eq "$(jq -r .kind <<<"$OUT" 2>/dev/null)" ProbeReport "kubectl probecheck -f -o json: kind"
run env PATH="$PLUGIN_PATH" kubectl probecheck -f "$cases/bad-yaml.yaml"
expect_rc 2 "kubectl probecheck -f bad-yaml.yaml"
kubectl create deployment web --image=registry.invalid/web:1 -n "$NS" >/dev/null
run env PATH="$PLUGIN_PATH" kubectl canary status web -n "$NS"
expect_rc 0 "kubectl canary status web (no run) through krew's binary"

echo "== completion after a krew install"
for p in canary probecheck; do
	run env PATH="$PLUGIN_PATH" kubectl __complete "$p" ''
	if grep -qx 'version' <<<"$(cut -f1 <<<"$OUT")"; then fail "kubectl __complete $p before completion install already completes"; else ok "kubectl __complete $p: nothing before completion install"; fi
	run env PATH="$PLUGIN_PATH" kubectl "$p" completion install
	expect_rc 0 "kubectl $p completion install"
	if [ -L "$KREW_ROOT/bin/kubectl_complete-$p" ]; then ok "kubectl_complete-$p linked in krew's bin dir"; else fail "no $KREW_ROOT/bin/kubectl_complete-$p"; fi
	run env PATH="$PLUGIN_PATH" kubectl __complete "$p" ''
	if grep -qx 'version' <<<"$(cut -f1 <<<"$OUT")"; then ok "kubectl __complete $p: its subcommands"; else fail "kubectl __complete $p lacks version"; fi
done
run env PATH="$PLUGIN_PATH" kubectl __complete canary status -n "$NS" ''
if grep -qx 'web' <<<"$(cut -f1 <<<"$OUT")"; then ok "kubectl __complete canary status -n NS: the Deployment"; else fail "kubectl __complete canary status -n NS lacks web"; fi

echo "== a krew index holding the manifests: list, uninstall, install by name"
# krew's list and uninstall want an index; the manifests (uri on loopback)
# in a git repository of krew-index's layout, cloned where `krew update`
# would clone krew-index, stand in for the published one.
INDEX=$E2E_TMP/index
mkdir -p "$INDEX/plugins"
cp "$E2E_TMP/manifests/canary.yaml" "$E2E_TMP/manifests/probecheck.yaml" "$INDEX/plugins/"
git -C "$INDEX" init -q && git -C "$INDEX" add plugins &&
	git -C "$INDEX" -c user.name=e2e -c user.email=e2e@rollguard.invalid commit -qm index
mkdir -p "$KREW_ROOT/index"
git clone -q "$INDEX" "$KREW_ROOT/index/default"
run env PATH="$PLUGIN_PATH" kubectl krew update
expect_rc 0 "kubectl krew update (the local index)"
run env PATH="$PLUGIN_PATH" kubectl krew list
expect_rc 0 "kubectl krew list"
for p in canary probecheck; do
	# Off a TTY krew lists names only; a --manifest install is "detached".
	if grep -qx "detached/$p" <<<"$OUT"; then ok "kubectl krew list: detached/$p"; else fail "kubectl krew list lacks detached/$p"; fi
done
run env PATH="$PLUGIN_PATH" kubectl krew uninstall canary
expect_rc 0 "kubectl krew uninstall canary"
if [ -e "$KREW_ROOT/bin/kubectl-canary" ] || [ -d "$KREW_ROOT/store/canary" ]; then fail "krew left kubectl-canary behind"; else ok "kubectl-canary gone"; fi
run env PATH="$PLUGIN_PATH" kubectl canary version
if [ "$RC" -ne 0 ]; then ok "kubectl canary: no longer found (exit $RC)"; else fail "kubectl canary still runs"; fi
run env PATH="$PLUGIN_PATH" kubectl __complete canary ''
expect_rc 0 "kubectl __complete canary with a dangling completion link"
run env PATH="$PLUGIN_PATH" kubectl krew install canary
expect_rc 0 "kubectl krew install canary (from the index, over loopback)"
run env PATH="$PLUGIN_PATH" kubectl canary version -o json
expect_eq "$(jq -r .version <<<"$OUT" 2>/dev/null)" "$VERSION" "kubectl canary version after the index install"
run env PATH="$PLUGIN_PATH" kubectl __complete canary ''
if grep -qx 'version' <<<"$(cut -f1 <<<"$OUT")"; then ok "the completion link works again after a reinstall"; else fail "completion lost after a reinstall"; fi

finish
