#!/usr/bin/env bash
# Tokens, client keys and Secret data never reach the output, at any -v.
. "$(dirname "$0")/../lib.sh"

viewer_token=$(cat "$PKI/viewer.token")
exec_token=$(cat "$PKI/execuser.token")
key_line=$(sed -n 2p "$PKI/admin.key")
kubectl -n "$NS" create secret generic topsecret --from-literal=password=hunter2-very-secret >/dev/null
secret_b64=$(printf 'hunter2-very-secret' | base64)

for v in 0 4 6 7 8 9 10; do
	run "$DRIVER" whoami --context viewer -v "$v"
	expect_rc 0 "viewer -v=$v"
	expect_no "$viewer_token" "viewer token at -v=$v"
	run "$DRIVER" whoami --context execuser -v "$v"
	expect_no "$exec_token" "exec credential at -v=$v"
	run "$DRIVER" get secret topsecret -n "$NS" -v "$v"
	expect_rc 0 "admin get secret -v=$v"
	expect_no "$key_line" "client key at -v=$v"
done
# The Secret's data is the command's output (as kubectl get -o json shows
# it); the log lines on stderr never carry it.
run "$DRIVER" get secret topsecret -n "$NS" -v 8
if grep -qF "$secret_b64" <<<"$ERR"; then fail "Secret data in the -v=8 log"; else ok "Secret data redacted in the log"; fi
expect_err "Response Body:" "bodies are logged at -v=8"
expect_err "<redacted>" "redaction marker present"
run "$DRIVER" whoami --context viewer -v 8
# HTTP/2 sends header names in lower case.
if grep -qiF "authorization: Bearer <masked>" <<<"$ERR"; then ok "Authorization header masked"; else fail "Authorization header not logged masked"; fi
finish
