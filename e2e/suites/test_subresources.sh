#!/usr/bin/env bash
# Writes and subresources against the real server: the scale and status
# subresources, JSON / merge / strategic merge patches, a conditional PUT
# refused on a stale resourceVersion, pod logs (kwok serves them from a
# file), and eviction (dry run, blocked by a PodDisruptionBudget, done).
. "$(dirname "$0")/../lib.sh"

kubectl -n "$NS" create deployment web --image=nginx:1.27 --replicas=2 >/dev/null
kubectl -n "$NS" rollout status deployment/web --timeout=60s >/dev/null

# --- scale subresource
run "$DRIVER" patch deploy web -n "$NS" --type merge -p '{"spec":{"replicas":3}}' --subresource scale
expect_rc 0 "merge patch of the scale subresource"
expect_eq "$(kubectl -n "$NS" get deploy web -o jsonpath='{.spec.replicas}')" "3" "replicas after scale"
run "$DRIVER" raw GET "/apis/apps/v1/namespaces/$NS/deployments/web/scale"
expect_out '"kind":"Scale"' "GET scale subresource"
run "$DRIVER" raw GET "/apis/apps/v1/namespaces/$NS/deployments/web/status"
expect_out '"availableReplicas"' "GET status subresource"

# --- patch types
run "$DRIVER" patch deploy web -n "$NS" --type json -p '[{"op":"add","path":"/metadata/labels/tier","value":"front"}]'
expect_rc 0 "JSON patch"
expect_eq "$(kubectl -n "$NS" get deploy web -o jsonpath='{.metadata.labels.tier}')" "front" "JSON patch applied"
run "$DRIVER" patch deploy web -n "$NS" --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"canary"}]}]}}}}'
expect_rc 0 "strategic merge patch"
expect_eq "$(kubectl -n "$NS" get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "nginx:1.27" "strategic merge kept the container's other fields"
expect_eq "$(kubectl -n "$NS" get deploy web -o jsonpath='{.spec.template.spec.containers[0].env[0].value}')" "canary" "strategic merge added env"
run "$DRIVER" patch deploy web -n "$NS" --type json -p '[{"op":"test","path":"/spec/replicas","value":99}]'
expect_rc 4 "failed JSON patch test op"

# --- conditional update: a stale resourceVersion is a conflict (exit 6), nothing changes
kubectl -n "$NS" create configmap cond --from-literal=v=1 >/dev/null
kubectl -n "$NS" get configmap cond -o json >"$E2E_TMP/cond.json"
kubectl -n "$NS" patch configmap cond --type merge -p '{"data":{"v":"2"}}' >/dev/null
sed -i 's/"v": "1"/"v": "3"/' "$E2E_TMP/cond.json"
run "$DRIVER" update configmaps -n "$NS" -f "$E2E_TMP/cond.json"
expect_rc 6 "PUT with a stale resourceVersion"
expect_err "the object has been modified" "server's conflict message"
expect_eq "$(kubectl -n "$NS" get configmap cond -o jsonpath='{.data.v}')" "2" "conflict changed nothing"
kubectl -n "$NS" get configmap cond -o json | sed 's/"v": "2"/"v": "4"/' >"$E2E_TMP/cond.json"
run "$DRIVER" update configmaps -n "$NS" -f "$E2E_TMP/cond.json"
expect_rc 0 "PUT with the current resourceVersion"
expect_eq "$(kubectl -n "$NS" get configmap cond -o jsonpath='{.data.v}')" "4" "update applied"

# --- logs: kwok serves the pod's log from a file (CRI log format)
pod=$(kubectl -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
printf '2026-11-24T10:00:00.000000000Z stdout F first line\n2026-11-24T10:00:01.000000000Z stdout F second line\n' >"$E2E_TMP/app.log"
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Logs
metadata: {name: $pod, namespace: $NS}
spec:
  logs: [{containers: [nginx], logsFile: $E2E_TMP/app.log}]
YAML
for _ in $(seq 1 20); do kubectl -n "$NS" logs "$pod" >/dev/null 2>&1 && break; sleep 0.25; done
run "$DRIVER" logs "$pod" -n "$NS"
expect_rc 0 "pod log"
expect_out "first line" "log content"
run "$DRIVER" logs "$pod" -n "$NS" --tail 1
expect_eq "$OUT" "second line" "tailLines=1"

# --- eviction
run "$DRIVER" evict "$pod" -n "$NS" --dry-run
expect_rc 0 "eviction dry run"
kubectl -n "$NS" get pod "$pod" >/dev/null 2>&1 && ok "dry run kept the pod" || fail "dry-run eviction removed the pod"
kubectl -n "$NS" create poddisruptionbudget web --selector app=web --min-available 3 >/dev/null
for _ in $(seq 1 20); do [ "$(kubectl -n "$NS" get pdb web -o jsonpath='{.status.observedGeneration}')" = "1" ] && break; sleep 0.25; done
run "$DRIVER" evict "$pod" -n "$NS"
expect_rc 6 "eviction blocked by the PodDisruptionBudget"
expect_err "disruption budget" "server's PDB message"
kubectl -n "$NS" get pod "$pod" -o jsonpath='{.metadata.deletionTimestamp}' | grep -q . && fail "blocked eviction deleted the pod" || ok "blocked eviction kept the pod"
kubectl -n "$NS" delete pdb web >/dev/null
run "$DRIVER" evict "$pod" -n "$NS"
expect_rc 0 "eviction"
for _ in $(seq 1 20); do kubectl -n "$NS" get pod "$pod" >/dev/null 2>&1 || break; sleep 0.25; done
kubectl -n "$NS" get pod "$pod" >/dev/null 2>&1 && fail "evicted pod still there" || ok "evicted pod gone"
finish
