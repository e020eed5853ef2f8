#!/usr/bin/env bash
# The release archives of scripts/release.sh (SPEC §6), from ROLLGUARD_DIST
# (scripts/test.sh builds them before the suites): SHA256SUMS holds, each
# archive has exactly its files, the binaries are static (no program
# interpreter) and run in an empty root — nothing in it but the binary and
# a kubeconfig — against the local cluster over TLS with client
# certificates; THIRD_PARTY_LICENSES names every linked library; the krew
# manifests carry the archives' digests and pass the structural rules of
# krew's validator (scripts/check-krew-manifest.py; test_krew.sh runs krew's
# own when a krew build is at hand).
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

need_dist

echo "== checksums"
run sh -c "cd '$DIST' && sha256sum -c SHA256SUMS"
expect_rc 0 "sha256sum -c SHA256SUMS"
for f in "kubectl-canary_v${VERSION}_linux_$ARCH.tar.gz" "kubectl-probecheck_v${VERSION}_linux_$ARCH.tar.gz" \
	"rollback-safe-$VERSION.tgz"; do
	if grep -q "  $f\$" "$DIST/SHA256SUMS"; then ok "SHA256SUMS lists $f"; else fail "SHA256SUMS lacks $f"; fi
done
# A tampered archive must not pass: the check can fail.
cp -r "$DIST" "$E2E_TMP/tampered"
printf 'x' >>"$E2E_TMP/tampered/kubectl-canary_v${VERSION}_linux_$ARCH.tar.gz"
run sh -c "cd '$E2E_TMP/tampered' && sha256sum -c --quiet SHA256SUMS"
expect_rc 1 "sha256sum -c on a tampered archive"

echo "== archives: contents, static binaries, empty root"
ROOT=$E2E_TMP/root
mkdir -p "$ROOT"
# The kubeconfig with its certificates inline: the only other file in the root.
kubectl config view --raw --minify --flatten >"$ROOT/kubeconfig"
chmod 600 "$ROOT/kubeconfig"
for p in canary probecheck; do
	archive=$DIST/kubectl-${p}_v${VERSION}_linux_$ARCH.tar.gz
	got=$(tar -tzf "$archive" | sed 's|^\./||' | grep -v '^$' | grep -v '/$' | sort | tr '\n' ' ')
	want="LICENSE THIRD_PARTY_LICENSES kubectl-$p "
	pages=$(tar -tzf "$archive" | grep -c '^\./man/.*\.1$')
	got_nopages=$(tr ' ' '\n' <<<"$got" | grep -v '^man/' | grep -v '^$' | tr '\n' ' ')
	expect_eq "$got_nopages" "$want" "$p archive: files besides man/"
	if [ "$pages" -ge 1 ]; then ok "$p archive: $pages man pages"; else fail "$p archive: no man pages under man/"; fi
	mkdir -p "$E2E_TMP/x-$p"
	tar -xzf "$archive" -C "$E2E_TMP/x-$p"
	bin=$E2E_TMP/x-$p/kubectl-$p
	if readelf -l "$bin" | grep -q INTERP; then fail "kubectl-$p asks for a program interpreter"; else ok "kubectl-$p: no program interpreter"; fi
	if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then fail "kubectl-$p needs shared libraries"; else ok "kubectl-$p: no shared libraries"; fi
	cp "$bin" "$ROOT/"
done
mkdir -p "$E2E_TMP/x-helm"
tar -xzf "$DIST/rollback-safe-$VERSION.tgz" -C "$E2E_TMP/x-helm"
cp "$E2E_TMP/x-helm/rollback-safe/bin/helm-rollback-safe" "$ROOT/"
if readelf -l "$ROOT/helm-rollback-safe" | grep -q INTERP; then fail "helm-rollback-safe asks for a program interpreter"; else ok "helm-rollback-safe: no program interpreter"; fi
expect_eq "$(find "$ROOT" -mindepth 1 | wc -l)" 4 "the empty root holds three binaries and a kubeconfig"

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then fail "the empty-root checks need root (chroot)"; else echo "SKIPPED [$SUITE] empty root: needs root"; fi
else
	for b in kubectl-canary kubectl-probecheck helm-rollback-safe; do
		run chroot "$ROOT" "/$b" version
		expect_rc 0 "$b version in an empty root"
		expect_out "OpenSSL 3." "$b version in an empty root"
	done
	kubectl create deployment web --image=registry.invalid/web:1 -n "$NS" >/dev/null
	run chroot "$ROOT" /kubectl-probecheck deploy/web -n "$NS" --kubeconfig /kubeconfig -o json
	if [ "$RC" -le 1 ] && [ "$(jq -r .kind <<<"$OUT" 2>/dev/null)" = ProbeReport ]; then
		ok "kubectl-probecheck deploy/web in an empty root: a ProbeReport over TLS (exit $RC)"
	else
		fail "kubectl-probecheck deploy/web in an empty root"
	fi
	if jq -e --arg ns "$NS" '[.. | objects | select(.namespace? == $ns)] | length > 0' <<<"$OUT" >/dev/null 2>&1; then
		ok "the report names the suite's namespace"
	else
		fail "the report does not name $NS"
	fi
	run chroot "$ROOT" /kubectl-canary list -n "$NS" --kubeconfig /kubeconfig -o json
	expect_rc 0 "kubectl-canary list in an empty root"
	expect_eq "$(jq -r .kind <<<"$OUT" 2>/dev/null)" CanaryList "kubectl-canary list in an empty root: kind"
	run chroot "$ROOT" /helm-rollback-safe history nosuch -n "$NS" --kubeconfig /kubeconfig
	expect_rc 4 "helm-rollback-safe history nosuch in an empty root"
	expect_err "release nosuch: not found in namespace $NS" "helm-rollback-safe in an empty root"
	# TLS verification on: the same kubeconfig with another CA fails.
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-ca -days 1 -keyout "$E2E_TMP/other.key" \
		-out "$E2E_TMP/other.crt" >/dev/null 2>&1
	sed 's/certificate-authority-data: .*/certificate-authority-data: '"$(base64 -w0 <"$E2E_TMP/other.crt")"'/' \
		"$ROOT/kubeconfig" >"$ROOT/kubeconfig.other-ca"
	run chroot "$ROOT" /kubectl-canary list -n "$NS" --kubeconfig /kubeconfig.other-ca
	expect_rc 3 "another CA, in an empty root"
	expect_err "certificate" "another CA, in an empty root"
fi

echo "== licences"
notices=$E2E_TMP/x-canary/THIRD_PARTY_LICENSES
for lib in curl openssl nghttp2 zlib libyaml jansson libwebsockets musl; do
	if grep -q "^  $lib " "$notices" && grep -q "^===== $lib =====" "$notices"; then
		ok "THIRD_PARTY_LICENSES: $lib (version and terms)"
	else
		fail "THIRD_PARTY_LICENSES lacks $lib"
	fi
done
# What is linked is what is listed: OpenSSL's and libcurl's version strings.
run "$ROOT/kubectl-canary" version
openssl_v=$(sed -n 's/^OpenSSL \([0-9.]*\).*/\1/p' <<<"$OUT")
curl_v=$(sed -n 's/^libcurl \([0-9.]*\).*/\1/p' <<<"$OUT")
if grep -q "^  openssl $openssl_v-" "$notices"; then ok "OpenSSL $openssl_v is the listed one"; else fail "OpenSSL $openssl_v not listed"; fi
if grep -q "^  curl $curl_v-" "$notices"; then ok "libcurl $curl_v is the listed one"; else fail "libcurl $curl_v not listed"; fi
if cmp -s "$E2E_TMP/x-canary/LICENSE" "$e2e_root/LICENSE"; then ok "LICENSE is the project's"; else fail "LICENSE differs"; fi

echo "== krew manifests"
for p in canary probecheck; do
	archive=$DIST/kubectl-${p}_v${VERSION}_linux_$ARCH.tar.gz
	run python3 "$e2e_root/scripts/check-krew-manifest.py" "$DIST/krew/$p.yaml" "$archive"
	expect_rc 0 "check-krew-manifest $p.yaml with its archive"
	expect_eq "$(sed -n 's/^ *sha256: "\{0,1\}\([0-9a-f]*\)"\{0,1\}$/\1/p' "$DIST/krew/$p.yaml")" \
		"$(sha256sum "$archive" | cut -d' ' -f1)" "krew/$p.yaml: sha256"
	# The rules can fail: a manifest naming another archive's digest, and one
	# whose bin is not in the archive.
	sed "s/sha256: .*/sha256: \"$(printf '0%.0s' $(seq 64))\"/" "$DIST/krew/$p.yaml" >"$E2E_TMP/$p.yaml"
	run python3 "$e2e_root/scripts/check-krew-manifest.py" "$E2E_TMP/$p.yaml" "$archive"
	expect_rc 1 "check-krew-manifest: a wrong digest"
	expect_out "but the manifest says" "check-krew-manifest: a wrong digest"
	mkdir -p "$E2E_TMP/bad"
	sed "s/bin: kubectl-$p/bin: kubectl-other/" "$DIST/krew/$p.yaml" >"$E2E_TMP/bad/$p.yaml"
	run python3 "$e2e_root/scripts/check-krew-manifest.py" "$E2E_TMP/bad/$p.yaml" "$archive"
	expect_rc 1 "check-krew-manifest: a bin not in the archive"
	expect_out "is not installed by the file operations" "check-krew-manifest: a bin not in the archive"
done

finish
