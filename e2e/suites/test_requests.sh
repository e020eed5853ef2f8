#!/usr/bin/env bash
# Requests against the real server: paginated lists, server-side apply
# (create then update), a watch seeing another client's change, discovery
# of kubectl's shorthands cached in rollguard's own directory, delete.
. "$(dirname "$0")/../lib.sh"

# --- pagination: 25 ConfigMaps (+ kube-root-ca.crt) in pages of 10.
for i in $(seq 1 25); do printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: page-%02d}\ndata: {i: "%d"}\n' "$i" "$i"; done >"$E2E_TMP/many.yaml"
kubectl -n "$NS" apply -f "$E2E_TMP/many.yaml" >/dev/null
kubectl -n "$NS" get configmap kube-root-ca.crt >/dev/null 2>&1 || sleep 2
run "$DRIVER" list configmaps -n "$NS" --limit 10 -v 6
expect_rc 0 "paginated list"
expect_eq "$(grep -c "^$NS/page-" <<<"$OUT")" "25" "every object listed once"
expect_eq "$(sort <<<"$OUT" | uniq -d | wc -l)" "0" "no duplicates across pages"
expect_err "26 items in 3 pages" "three pages of ten"
expect_eq "$(grep -c 'configmaps?limit=10' <<<"$ERR")" "3" "one request per page at -v=6"
expect_err "continue=" "continue token sent"

# --- server-side apply: create, then update the same object.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: %s}\ndata: {color: blue}\n' "$NS" >"$E2E_TMP/apply.yaml"
run "$DRIVER" apply -f "$E2E_TMP/apply.yaml"
expect_rc 0 "apply creates"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.data.color}')" "blue" "created with data"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.metadata.managedFields[0].manager}')" "rollguard" "field manager"
sed -i 's/blue/green/' "$E2E_TMP/apply.yaml"
run "$DRIVER" apply -f "$E2E_TMP/apply.yaml"
expect_rc 0 "apply updates"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.data.color}')" "green" "updated in place"
# dryRun=All changes nothing.
sed -i 's/green/red/' "$E2E_TMP/apply.yaml"
run "$DRIVER" apply -f "$E2E_TMP/apply.yaml" --dry-run=server
expect_rc 0 "dry-run apply"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.data.color}')" "green" "dry run changed nothing"
# A conflicting manager is refused without --force-conflicts, then wins with it.
kubectl -n "$NS" patch cm applied --type merge -p '{"data":{"color":"kubectl"}}' --field-manager other >/dev/null
run "$DRIVER" apply -f "$E2E_TMP/apply.yaml"
expect_rc 6 "apply conflict"
expect_err "conflict" "conflict message"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.data.color}')" "kubectl" "conflict changed nothing"
run "$DRIVER" apply -f "$E2E_TMP/apply.yaml" --force-conflicts
expect_rc 0 "apply --force-conflicts"
expect_eq "$(kubectl -n "$NS" get cm applied -o jsonpath='{.data.color}')" "red" "forced apply"

# Malformed manifest: exit 2, nothing applied.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad\n' >"$E2E_TMP/bad.yaml"
run "$DRIVER" apply -f "$E2E_TMP/bad.yaml"
expect_rc 2 "malformed manifest"

# --- watch: sees a change another client makes.
"$DRIVER" watch configmaps -n "$NS" --until watched --timeout 30s >"$E2E_TMP/watch.out" 2>"$E2E_TMP/watch.err" &
watch_pid=$!
for _ in $(seq 1 50); do grep -q RELIST "$E2E_TMP/watch.out" 2>/dev/null && break; sleep 0.1; done
kubectl -n "$NS" create configmap watched --from-literal=a=b >/dev/null
wait "$watch_pid"
RC=$? OUT=$(cat "$E2E_TMP/watch.out") ERR=$(cat "$E2E_TMP/watch.err")
expect_rc 0 "watch ended on the awaited event"
expect_out "RELIST 27 items" "initial list delivered"
expect_out "ADDED watched" "watch saw the other client's create"

# A watch with nothing happening ends at its deadline (exit 4, timeout).
run "$DRIVER" watch configmaps -n "$NS" --until never --timeout 2s
expect_rc 4 "watch deadline"
expect_err "code=KUBE_ETIMEOUT" "deadline code"

# Resuming from a version that is long gone relists (410). podtemplates are
# served from etcd, not the watch cache (e2e/cluster/up.sh), so after a
# compaction (through etcd's JSON gateway) version 1 is gone for certain.
kubectl -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: PodTemplate
metadata: {name: relisted}
template:
  metadata: {labels: {app: x}}
  spec: {containers: [{name: c, image: busybox}]}
YAML
rev=$(curl -s -X POST "http://127.0.0.1:$ETCD_CLIENT_PORT/v3/kv/range" -d '{"key":"AA=="}' | sed -E 's/.*"revision":"([0-9]+)".*/\1/')
curl -s -X POST "http://127.0.0.1:$ETCD_CLIENT_PORT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
run "$DRIVER" watch podtemplates -n "$NS" --resource-version 1 --until relisted --timeout 10s -v 6
expect_rc 0 "watch from an expired version ends on the relisted object"
expect_out "RELIST 1 items" "410 Gone relisted"
expect_err "expired (410); relisting" "relist decision logged"
expect_err "podtemplates?limit=500" "the relist is a list request"

# --- discovery: kubectl's shorthands, cached in rollguard's own directory.
run "$DRIVER" resolve deploy sts ds po cj job svc ing cm secret deployment.apps deployments.v1.apps Deployment
expect_rc 0 "shorthands resolve"
expect_out "deploy apps/v1/deployments Deployment namespaced" "deploy"
expect_out "sts apps/v1/statefulsets" "sts"
expect_out "ds apps/v1/daemonsets" "ds"
expect_out "po core/v1/pods Pod" "po"
expect_out "cj batch/v1/cronjobs" "cj"
expect_out "job batch/v1/jobs" "job"
expect_out "svc core/v1/services" "svc"
expect_out "ing networking.k8s.io/v1/ingresses" "ing"
expect_out "cm core/v1/configmaps" "cm"
expect_out "secret core/v1/secrets" "secret"
expect_out "deployment.apps apps/v1/deployments" "deployment.apps"
expect_out "deployments.v1.apps apps/v1/deployments" "deployments.v1.apps"
cache=$(find "$XDG_CACHE_HOME/rollguard/discovery" -name resources.json 2>/dev/null | head -n 1)
if [ -n "$cache" ]; then ok "discovery cached in rollguard's directory"; else fail "no discovery cache under $XDG_CACHE_HOME/rollguard"; fi
if [ -e "$HOME/.kube/cache/discovery/127.0.0.1_$APISERVER_PORT/rollguard" ]; then fail "wrote into kubectl's cache"; fi
# A second resolve is served from the cache: no discovery request at -v=6.
run "$DRIVER" resolve deploy -v 6
expect_rc 0 "resolve from cache"
expect_no "GET https://127.0.0.1:$APISERVER_PORT/apis " "cached discovery sends no request"

# --- delete
run "$DRIVER" delete cm applied -n "$NS"
expect_rc 0 "delete"
if kubectl -n "$NS" get cm applied >/dev/null 2>&1; then fail "object still there"; else ok "object deleted"; fi
finish
