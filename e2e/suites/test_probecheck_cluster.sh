#!/usr/bin/env bash
# kubectl-probecheck against the real cluster: targets (TYPE/NAME, a type
# alone, -l, several at once, discovery name forms), exit codes (findings,
# --fail-on never, not found, unknown type, forbidden), a constant number
# of LIST requests whatever the number of Deployments, and every live
# evidence class from pod status written as the kubelet writes it plus
# Events as the kubelet records them.
. "$(dirname "$0")/../lib.sh"
PC=$BIN/kubectl-probecheck

# ids: the check IDs of the -o json report in $OUT, one per line.
ids() { jq -r '.findings[].checkId' <<<"$OUT" | sort -u; }
expect_id() {
	if ids | grep -qx -- "$1"; then ok "$2: finding $1"; else fail "$2: no finding $1"; fi
}
expect_no_id() {
	if ids | grep -qx -- "$1"; then fail "$2: unexpected finding $1"; else ok "$2: no $1"; fi
}

# --- workloads: a clean Deployment (with Service and PDB), a broken one,
# a StatefulSet and a Job.
cat >"$E2E_TMP/apps.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, labels: {tier: web, app: good}}
spec:
  replicas: 2
  selector: {matchLabels: {app: good}}
  template:
    metadata: {labels: {app: good}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
      - name: app
        image: registry.example/good:1.4.2
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5, failureThreshold: 2}
        livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 6}
---
apiVersion: v1
kind: Service
metadata: {name: good}
spec: {selector: {app: good}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: good}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: good}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, labels: {tier: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers:
      - name: app
        image: nginx
        livenessProbe: {httpGet: {path: /healthz, port: metrics}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
      - name: db
        image: registry.example/db:15.2
        ports: [{name: pg, containerPort: 5432}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
        readinessProbe: {exec: {command: [pg_isready]}, timeoutSeconds: 3}
---
apiVersion: batch/v1
kind: Job
metadata: {name: batch}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox:1.36, command: ["true"]}]
EOF
kubectl -n "$NS" apply -f "$E2E_TMP/apps.yaml" >/dev/null

run "$PC" deploy/good sts/db -n "$NS" -o json
expect_rc 0 "clean workloads"
expect_eq "$(jq -r '[.workloads[].kind] | join(",")' <<<"$OUT")" "Deployment,StatefulSet" "both targets audited"

run "$PC" deploy/bad -n "$NS"
expect_rc 1 "error finding fails"
expect_out "probe-named-port-unresolved" "static check on a live object"
run "$PC" deploy/bad -n "$NS" --fail-on never
expect_rc 0 "--fail-on never"

run "$PC" deployments.apps/good deployment/bad -n "$NS" -o json --fail-on never
expect_rc 0 "discovery name forms"
expect_eq "$(jq -r '[.workloads[].name] | sort | join(",")' <<<"$OUT")" "bad,good" "both found"

run "$PC" deploy -n "$NS" -o json --fail-on never
expect_rc 0 "a bare type"
expect_eq "$(jq -r '[.workloads[].name] | sort | join(",")' <<<"$OUT")" "bad,good" "every Deployment"

run "$PC" deploy -l app=good -n "$NS" -o json
expect_rc 0 "-l"
expect_eq "$(jq -r '[.workloads[].name] | join(",")' <<<"$OUT")" "good" "selector applied"

run "$PC" job/batch -n "$NS" -o json --fail-on never
expect_rc 0 "a Job"
expect_no_id probe-none "Jobs skip probe checks"
expect_no_id probe-readiness-missing "Jobs skip probe checks"

run "$PC" deploy -A -o json --fail-on never
expect_rc 0 "-A"
expect_eq "$(jq -r --arg ns "$NS" '[.workloads[] | select(.namespace == $ns)] | length' <<<"$OUT")" "2" "-A sees this namespace"

run "$PC" deploy/missing -n "$NS"
expect_rc 4 "missing object"
expect_err 'error: deployments.apps "missing" not found' "kubectl's wording"
expect_one_error_line "missing object"

run "$PC" nosuchtype/x -n "$NS"
expect_rc 2 "unknown type"
expect_err "the server doesn't have a resource type \"nosuchtype\"" "unknown type message"

run "$PC" svc -n "$NS"
expect_rc 2 "not a workload type"

run "$PC" deploy -n "$NS" --context viewer
expect_rc 4 "forbidden outside team-a"
expect_err "forbidden" "server's message"
expect_one_error_line "forbidden"
run "$PC" deploy -n team-a --context viewer --fail-on never
expect_rc 0 "viewer inside team-a"

# --- requests: the same few LISTs for 10 and for 100 Deployments, and no GET per object.
NS2=$NS-many
kubectl create namespace "$NS2" >/dev/null
trap 'kubectl delete namespace "$NS2" --wait=false >/dev/null 2>&1; e2e_cleanup' EXIT
gen() {
	for i in $(seq "$1" "$2"); do
		printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d%03d}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: d%03d}}\n  template:\n    metadata: {labels: {app: d%03d}}\n    spec: {containers: [{name: app, image: "nginx:1.25"}]}\n' "$i" "$i" "$i"
	done
}
gen 1 10 >"$E2E_TMP/ten.yaml"
gen 11 100 >"$E2E_TMP/more.yaml"
kubectl -n "$NS2" apply -f "$E2E_TMP/ten.yaml" >/dev/null
"$PC" deploy -n "$NS2" --fail-on never >/dev/null 2>&1 # warms the discovery cache
run "$PC" deploy -n "$NS2" -v 6 --fail-on never
expect_rc 0 "10 Deployments"
ten=$(grep -c ' request\] GET ' <<<"$ERR")
expect_eq "$(grep -c 'deployments?' <<<"$ERR")" "1" "one Deployment LIST"
kubectl -n "$NS2" apply -f "$E2E_TMP/more.yaml" >/dev/null
run "$PC" deploy -n "$NS2" -v 6 --fail-on never -o json
expect_rc 0 "100 Deployments"
expect_eq "$(jq '.workloads | length' <<<"$OUT")" "100" "all 100 audited"
hundred=$(grep -c ' request\] GET ' <<<"$ERR")
expect_eq "$hundred" "$ten" "request count independent of the Deployments ($ten GETs)"
if [ "$hundred" -le 8 ]; then ok "a small constant ($hundred LISTs)"; else fail "too many requests: $hundred"; fi
expect_eq "$(grep ' request\] GET ' <<<"$ERR" | grep -vc 'limit=500')" "0" "every request a paginated LIST (limit=500)"
expect_eq "$(grep -Ec ' request\] GET [^ ]*/(deployments|pods|replicasets)/' <<<"$ERR")" "0" "no per-object GETs"
echo "requests: $ten for 10 Deployments, $hundred for 100"

# --- live evidence. Pods bound to a Node of this suite's own (tainted, so
# nothing else lands there; a Node must exist or the pod GC deletes the
# pods). kwok (--manage-all-nodes) starts them once; its stages fire on
# transitions only, so the status written afterwards, as the kubelet would
# write it, stays. Events are created as the kubelet records them.
GHOST=probecheck-$NS
printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s}\nspec: {taints: [{key: probecheck-e2e, effect: NoSchedule}]}\n' "$GHOST" |
	kubectl create -f - >/dev/null
trap 'kubectl delete node "$GHOST" --wait=false >/dev/null 2>&1; kubectl delete namespace "$NS2" --wait=false >/dev/null 2>&1; e2e_cleanup' EXIT
cat >"$E2E_TMP/live.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: live}
spec:
  replicas: 3
  selector: {matchLabels: {app: live}}
  template:
    metadata: {labels: {app: live}}
    spec:
      nodeName: GHOST
      containers:
      - name: app
        image: registry.example/live:2.0.1
        ports: [{name: http, containerPort: 8080}]
        livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 3}
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5}
EOF
sed -i "s/nodeName: GHOST/nodeName: $GHOST/" "$E2E_TMP/live.yaml"
kubectl -n "$NS" apply -f "$E2E_TMP/live.yaml" >/dev/null
for _ in $(seq 1 100); do
	[ "$(kubectl -n "$NS" get pods -l app=live --field-selector status.phase=Running -o name | wc -l)" -eq 3 ] && break
	sleep 0.2
done
sleep 1 # let kwok finish its own status writes
mapfile -t pods < <(kubectl -n "$NS" get pods -l app=live -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
t() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(t now)
cstatus() { # name ready started restarts state lastState
	printf '{"name":"app","image":"registry.example/live:2.0.1","imageID":"","ready":%s,"started":%s,"restartCount":%s,"state":%s,"lastState":%s}' "$@"
}
patch_status() { # pod phase ready-condition containerStatus
	kubectl -n "$NS" patch pod "$1" --subresource status --type merge -p "{\"status\":{\"phase\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"$3\",\"lastTransitionTime\":\"$now\"}],\"containerStatuses\":[$4]}}" >/dev/null
}
# pod 0: CrashLoopBackOff after an OOM kill.
patch_status "${pods[0]}" Running False "$(cstatus false false 5 '{"waiting":{"reason":"CrashLoopBackOff"}}' "{\"terminated\":{\"exitCode\":137,\"reason\":\"OOMKilled\",\"startedAt\":\"$(t '-2 min')\",\"finishedAt\":\"$(t '-1 min')\"}}")"
# pod 1: running, not ready, restarted by liveness (exit 137 + Killing event).
patch_status "${pods[1]}" Running False "$(cstatus false true 2 "{\"running\":{\"startedAt\":\"$(t '-5 min')\"}}" "{\"terminated\":{\"exitCode\":137,\"reason\":\"Error\",\"startedAt\":\"$(t '-9 min')\",\"finishedAt\":\"$(t '-5 min')\"}}")"
# pod 2: ready 60 s after its start: twice the liveness budget of 30 s.
patch_status "${pods[2]}" Running True "$(cstatus true true 0 "{\"running\":{\"startedAt\":\"$(t '-60 sec')\"}}" '{}')"

event() { # name pod reason message
	cat <<EOF
---
apiVersion: v1
kind: Event
metadata: {name: $1}
involvedObject: {apiVersion: v1, kind: Pod, name: $2, namespace: $NS, fieldPath: "spec.containers{app}"}
reason: $3
message: "$4"
type: Warning
count: 3
firstTimestamp: "$(t '-4 min')"
lastTimestamp: "$(t '-1 min')"
source: {component: kubelet, host: $GHOST}
EOF
}
{
	event ev-unhealthy "${pods[1]}" Unhealthy 'Liveness probe failed: HTTP probe failed with statuscode: 500'
	event ev-errored "${pods[1]}" Unhealthy 'Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing \"metrics\": invalid syntax'
	event ev-warning "${pods[1]}" ProbeWarning 'Readiness probe warning: Probe terminated redirects, Response body: '
	event ev-killing "${pods[1]}" Killing 'Container app failed liveness probe, will be restarted'
} >"$E2E_TMP/events.yaml"
kubectl -n "$NS" create -f "$E2E_TMP/events.yaml" >/dev/null
sleep 3 # give kwok a chance to overwrite what it should not
expect_eq "$(kubectl -n "$NS" get pod "${pods[0]}" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" "CrashLoopBackOff" "status kept as written"

run "$PC" deploy/live -n "$NS" -o json
expect_rc 1 "live evidence at error"
for id in live-unhealthy-events live-probe-errored live-probe-warning live-liveness-restarts live-oomkilled \
	live-crashloop live-not-ready live-startup-exceeds-budget; do
	expect_id "$id" "live evidence"
done
expect_eq "$(jq -r '.findings[] | select(.checkId == "live-startup-exceeds-budget") | .severity' <<<"$OUT")" "error" "startup over budget is an error"
expect_out "failureThreshold: 9" "startup fix: ceil(60 x 1.5 / 10)"
expect_out "3 probe kills (Killing events)" "restarts attributed"
run "$PC" deploy/live -n "$NS" -o sarif
expect_rc 1 "SARIF"
expect_out "logicalLocations" "SARIF logical location"
expect_no "physicalLocation" "no physical location for cluster objects"

run "$PC" po/"${pods[0]}" -n "$NS" -o json
expect_id live-crashloop "a Pod target"
run "$PC" deploy/good -n "$NS" -o json
expect_no_id live-crashloop "evidence is the workload's own"

finish
