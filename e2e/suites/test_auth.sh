#!/usr/bin/env bash
# Each of the cluster's three users authenticates through libkube: a
# client certificate (admin), a static bearer token (viewer) and an exec
# credential plugin (execuser); impersonation headers reach the server.
. "$(dirname "$0")/../lib.sh"

run "$DRIVER" whoami
expect_rc 0 "admin (client certificate)"
expect_eq "$OUT" "rollguard-admin" "admin username"

run "$DRIVER" whoami --context viewer
expect_rc 0 "viewer (bearer token)"
expect_eq "$OUT" "viewer" "viewer username"

run "$DRIVER" whoami --context execuser
expect_rc 0 "execuser (exec plugin)"
expect_eq "$OUT" "execuser" "execuser username"

# --token on the command line overrides the kubeconfig's credentials.
run "$DRIVER" whoami --context viewer --token "$(cat "$PKI/execuser.token")"
expect_rc 0 "--token override"
expect_eq "$OUT" "execuser" "--token user"

# --as impersonation (admin may impersonate anyone).
run "$DRIVER" whoami --as someone --as-group team-x --as-group team-y
expect_rc 0 "impersonation"
expect_eq "$OUT" "someone" "--as user"

# A rejected token is an authentication error: exit 3, the server's word kept.
run "$DRIVER" whoami --context viewer --token not-a-valid-token
expect_rc 3 "invalid token"
expect_err "code=KUBE_EAUTH" "invalid token code"
expect_one_error_line "invalid token"

# An exec plugin that is not installed: exit 3 naming it and its install hint.
cat >"$E2E_TMP/kc-missing-plugin" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: rollguard-no-such-plugin
      interactiveMode: Never
      installHint: install it from the moon
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
KC
run "$DRIVER" whoami --kubeconfig "$E2E_TMP/kc-missing-plugin"
expect_rc 3 "missing exec plugin"
expect_err "rollguard-no-such-plugin" "missing plugin named"
expect_err "install it from the moon" "install hint shown"
finish
