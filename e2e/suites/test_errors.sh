#!/usr/bin/env bash
# Failure paths: forbidden (viewer outside team-a), wrong CA, nothing
# listening, a missing object, a malformed kubeconfig, and that none of
# them leaves anything behind.
. "$(dirname "$0")/../lib.sh"

# viewer may read team-a only.
run "$DRIVER" list pods --context viewer -n team-a
expect_rc 0 "viewer lists team-a"
run "$DRIVER" list pods --context viewer -n "$NS"
expect_rc 4 "viewer outside team-a"
expect_err "code=KUBE_EFORBIDDEN" "forbidden code"
expect_err "pods is forbidden: User \"viewer\" cannot list resource \"pods\" in API group \"\" in the namespace \"$NS\"" "server message verbatim"
expect_one_error_line "forbidden"

# A refused watch keeps the server's Status too.
run "$DRIVER" watch configmaps --context viewer -n "$NS" --resource-version 1 --timeout 5s
expect_rc 4 "viewer watch outside team-a"
expect_err "code=KUBE_EFORBIDDEN" "watch forbidden code"
expect_err "configmaps is forbidden: User \"viewer\" cannot watch resource \"configmaps\"" "watch: server message verbatim"

# A viewer may not write even in team-a: nothing is created.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: must-not-exist, namespace: team-a}\ndata: {a: "1"}\n' >"$E2E_TMP/cm.yaml"
run "$DRIVER" apply -f "$E2E_TMP/cm.yaml" --context viewer
expect_rc 4 "viewer apply refused"
expect_err "is forbidden" "apply forbidden message"
if kubectl -n team-a get configmap must-not-exist >/dev/null 2>&1; then fail "refused apply created an object"; else ok "refused apply created nothing"; fi

# Wrong CA: exit 3 naming TLS.
run "$DRIVER" whoami --certificate-authority "$PKI/wrong-ca.crt"
expect_rc 3 "wrong CA"
expect_err "TLS" "wrong CA names TLS"
expect_err "code=KUBE_ETLS" "wrong CA code"
expect_one_error_line "wrong CA"

# ...and --insecure-skip-tls-verify (only when asked) gets through.
run "$DRIVER" whoami --insecure-skip-tls-verify --certificate-authority ""
expect_rc 0 "insecure-skip-tls-verify"

# tls-server-name: the certificate names "kubernetes", not "wrong.example".
run "$DRIVER" whoami --tls-server-name kubernetes
expect_rc 0 "tls-server-name matching the certificate"
run "$DRIVER" whoami --tls-server-name wrong.example
expect_rc 3 "tls-server-name not in the certificate"

# Nothing listening: exit 4.
run "$DRIVER" whoami --server https://127.0.0.1:1 --request-timeout 5s
expect_rc 4 "nothing listening"
expect_err "code=KUBE_ENETWORK" "unreachable code"
expect_one_error_line "unreachable"

# A missing object: exit 4 with the server's message.
run "$DRIVER" get configmap no-such-thing -n "$NS"
expect_rc 4 "missing object"
expect_err 'configmaps "no-such-thing" not found' "not-found message"

# A resource type the server does not have.
run "$DRIVER" list frobnicators
expect_rc 4 "unknown resource type"
expect_err 'the server doesn'"'"'t have a resource type "frobnicators"' "unknown type message"

# Malformed kubeconfig: exit 3, one line naming the file.
printf 'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: [unclosed\n' >"$E2E_TMP/broken-kubeconfig"
run "$DRIVER" whoami --kubeconfig "$E2E_TMP/broken-kubeconfig"
expect_rc 3 "malformed kubeconfig"
expect_err "broken-kubeconfig" "error names the file"
expect_one_error_line "malformed kubeconfig"

# Missing --kubeconfig file: exit 3.
run "$DRIVER" whoami --kubeconfig "$E2E_TMP/does-not-exist"
expect_rc 3 "missing kubeconfig"
expect_err "does-not-exist" "missing file named"

# Unknown context: exit 3.
run "$DRIVER" whoami --context nope
expect_rc 3 "unknown context"
expect_err 'context "nope"' "unknown context named"

# Bad flag: exit 2.
run "$DRIVER" whoami --no-such-flag
expect_rc 2 "unknown flag"
expect_one_error_line "unknown flag"
finish
