#!/usr/bin/env bash
# kubectl-canary with the replicas router on the real cluster: a full
# ladder (start, promote, promote --to, promote --full) with the pod split
# and the state checked at each rung; abort; history and list; promote's
# request budget counted from -v=6 at every rung; two concurrent promotes
# (one wins, one exits 6); and bad input (unknown Deployment, a run already
# in progress, a missing container, malformed --steps/--pause, the viewer
# user, a D-canary rollguard did not create), each leaving the objects as
# they were.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../canary.sh"
export APP_SIDECAR=1 APP_SERVICE=1

app web 4

# --- start: canary at 5% = 1 of 4 pods, stable at 3.
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --steps 5,25,50,100 --pause 0
expect_rc 0 "start"
expect_out "canary run" "start"
expect_eq "$(replicas web-canary)" 1 "start: canary replicas"
expect_eq "$(replicas web)" 3 "start: stable replicas"
expect_eq "$(state web | jq -r .phase)" Paused "start: phase"
expect_eq "$(state web | jq -r .stepIndex)" 0 "start: step index"
expect_eq "$($K get deploy web -o jsonpath='{.metadata.labels.rollguard\.io/canary-active}')" true "start: active label"
expect_eq "$($K get deploy web-canary -o jsonpath='{.metadata.ownerReferences[0].name}')" web "start: owner"
expect_eq "$($K get deploy web-canary -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')" rollguard "start: managed-by"
expect_eq "$($K get deploy web-canary -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/web:2.0 "start: canary image"
expect_eq "$($K get deploy web-canary -o jsonpath='{.spec.template.spec.containers[1].image}')" registry.example/proxy:1.0 "start: sidecar untouched"
expect_eq "$($K get pods -l app=web,rollguard.io/track=canary --no-headers | wc -l)" 1 "start: the Service's selector reaches the canary pod"
expect_eq "$($K get events --field-selector reason=CanaryStarted,involvedObject.name=web --no-headers | wc -l)" 1 "start: Event recorded"

# --- status.
run "$CANARY" -n "$NS" status web -o json
expect_rc 0 "status -o json"
expect_eq "$(jq -r .kind <<<"$OUT")" CanaryStatus "status: kind"
expect_eq "$(jq -r '.observed.traffic.requestedWeight' <<<"$OUT")" 5 "status: requested weight"
expect_eq "$(jq -r '.observed.traffic.reachedWeight' <<<"$OUT")" 25 "status: reached weight"
expect_eq "$(jq -r '.gates[0].verdict' <<<"$OUT")" PASS "status: health gate"
run "$CANARY" -n "$NS" status web
expect_out "5% requested, 1/4 pods = 25%" "status table"

# --- a second start while the run is in progress: refused, nothing changed.
before=$(snapshot)
run "$CANARY" -n "$NS" start web --image app=registry.example/web:3.0
expect_rc 5 "start during a run"
expect_one_error_line "start during a run"
expect_err "already in a canary run" "start during a run"
expect_eq "$(snapshot)" "$before" "start during a run: nothing changed"

# --- promote: the request budget (<= 8, SPEC §7), counted from -v=6 on
# every promote of the ladder. D's patch is conditional on what the run
# owns (test operations), not on its resourceVersion, so the Deployment
# controller's status writes meanwhile cost no re-read and retry.
# expect_requests WHAT MAX: the last run sent 5..MAX HTTP requests.
expect_requests() {
	local requests
	requests=$(grep -cE '\] (GET|POST|PUT|PATCH|DELETE) https' <<<"$ERR")
	if [ "$requests" -le "$2" ] && [ "$requests" -ge 5 ]; then
		ok "$1 sent $requests requests (<= $2)"
	else
		fail "$1 sent $requests requests (budget $2)"
	fi
}
run "$CANARY" -n "$NS" promote web -v=6
expect_rc 0 "promote to 25%"
expect_requests "promote to 25%" 8
expect_eq "$(replicas web-canary)" 1 "25%: canary replicas"
expect_eq "$(replicas web)" 3 "25%: stable replicas"
expect_eq "$(state web | jq -r .weight)" 25 "25%: weight"

run "$CANARY" -n "$NS" promote web --to 50 -v=6
expect_rc 0 "promote --to 50"
expect_requests "promote --to 50" 8
expect_eq "$(replicas web-canary)" 2 "50%: canary replicas"
expect_eq "$(replicas web)" 2 "50%: stable replicas"

# --- a bad --to, and promote --dry-run, change nothing.
before=$(snapshot)
run "$CANARY" -n "$NS" promote web --to 40
expect_rc 2 "promote --to below the current weight"
run "$CANARY" -n "$NS" promote web --full --dry-run
expect_rc 0 "promote --full --dry-run"
expect_out "would" "promote --dry-run prints the plan"
expect_eq "$(snapshot)" "$before" "dry run: nothing changed"

# --- finish: D gets the new template at 4 replicas; the canary goes away.
# The finish has steps of its own (D-canary deleted by the uid the state
# holds, its template rebuilt from the change the start recorded, the run
# ended in a second patch of D that also frees the Lease; D's rollout
# followed on the watch that read D): eight requests, none of them a retry.
# Its rights were checked against the rules review start cached: no review
# sent.
canary_uid=$($K get deploy web-canary -o jsonpath='{.metadata.uid}')
expect_eq "$(state web | jq -r .canaryUid)" "$canary_uid" "the state holds the canary's uid"
expect_eq "$($K get deploy web -o jsonpath='{.metadata.annotations.rollguard\.io/canary-template}' | jq -r '.spec.containers[0].image')" \
	registry.example/web:2.0 "the start recorded the canary's change"
run "$CANARY" -n "$NS" promote web --full -v=6
expect_rc 0 "promote --full"
expect_requests "promote --full" 8
expect_eq "$(grep -cE '\] GET https://[^ ]*/deployments/web-canary( |$)' <<<"$ERR")" 0 "promote --full: D-canary not read"
expect_eq "$(grep -cE '\] DELETE https://[^ ]*/leases/' <<<"$ERR")" 0 "promote --full: no Lease release sent"
expect_eq "$(grep -cE '\] GET https://[^ ]*/deployments\?.*watch=' <<<"$ERR")" 1 "promote --full: one watch of D, no GET of it"
expect_eq "$(grep -cE '\] GET https://[^ ]*/deployments/web( |$)' <<<"$ERR")" 0 "promote --full: D read by its watch"
expect_err "granted by the cached rules review" "promote --full: the rights from the cached review"
expect_no "selfsubjectrulesreviews" "promote --full: no rules review sent"
expect_eq "$(replicas web)" 4 "finish: stable replicas back to N"
expect_eq "$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/web:2.0 "finish: D has the new image"
expect_eq "$($K get deploy web -o jsonpath='{.spec.template.metadata.labels}' | jq -r 'has("rollguard.io/track")')" false "finish: no track label in D"
expect_eq "$(replicas web-canary)" absent "finish: canary removed"
expect_eq "$(state web | jq -r .phase)" Succeeded "finish: phase"
expect_eq "$($K get deploy web -o jsonpath='{.metadata.labels.rollguard\.io/canary-active}')" "" "finish: active label removed"
expect_eq "$($K get deploy web -o jsonpath='{.metadata.annotations.rollguard\.io/canary-template}')" "" "finish: the recorded change removed"
# the Lease is left to its holder's end: the state names that holder, and
# the next command takes the Lease over at once
finish_holder=$($K get lease rollguard-canary-web -o jsonpath='{.spec.holderIdentity}')
expect_eq "$(state web | jq -r .lockHolder)" "$finish_holder" "finish: the state names the Lease's last holder"

# --- abort: a second run, aborted; stable back to 4 with its template.
run "$CANARY" -n "$NS" start web --image app=registry.example/web:3.0 --steps 50,100 -v=6
expect_rc 0 "start a second run"
expect_err "taken over (its holder's work is done)" "second run: the finished run's Lease taken at once"
expect_eq "$(grep -cE '\] (POST|GET|PUT) https://[^ ]*/leases' <<<"$ERR")" 2 "second run: the Lease read and taken over, no create tried"
expect_no "not being renewed" "second run: no wait for the Lease to expire"
expect_eq "$(replicas web)" 2 "second run: stable at 2"
run "$CANARY" -n "$NS" list
expect_rc 0 "list"
expect_out "web" "list shows the run"
run "$CANARY" list -A -o json
expect_eq "$(jq -r --arg ns "$NS" '[.items[] | select(.metadata.namespace == $ns)] | length' <<<"$OUT")" 1 "list -A -o json"
run "$CANARY" -n "$NS" abort web --reason "latency regression"
expect_rc 0 "abort"
expect_eq "$(replicas web)" 4 "abort: stable back to 4"
expect_eq "$(replicas web-canary)" absent "abort: canary removed"
expect_eq "$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/web:2.0 "abort: stable template kept"
expect_eq "$(state web | jq -r .phase)" Aborted "abort: phase"
expect_eq "$(state web | jq -r .reason)" "latency regression" "abort: reason"
run "$CANARY" -n "$NS" abort web
expect_rc 0 "abort again is harmless"
run "$CANARY" -n "$NS" promote web
expect_rc 5 "promote with no run"
expect_one_error_line "promote with no run"

# --- history.
run "$CANARY" -n "$NS" history web -o json
expect_rc 0 "history"
expect_eq "$(jq -r '.kind' <<<"$OUT")" CanaryHistory "history: kind"
expect_eq "$(jq -r '[.items[].phase] | join(",")' <<<"$OUT")" "Succeeded,Aborted" "history: two runs in order"
expect_eq "$(jq -r '.items[1].reason' <<<"$OUT")" "latency regression" "history: abort reason"

# --- D-canary replaced during the run by a Deployment rollguard did not
# create: the finish deletes by the uid the state recorded, so the stranger
# of the same name stays (with a warning) and the run still ends.
app swap 2
run "$CANARY" -n "$NS" start swap --image app=registry.example/swap:2.0 --steps 50,100
expect_rc 0 "swap: start"
$K delete deploy swap-canary --wait=true >/dev/null
$K create deployment swap-canary --image=registry.example/other:1.0 --replicas=0 >/dev/null
run "$CANARY" -n "$NS" promote swap --full --force
expect_rc 0 "swap: promote --full --force"
expect_err "deployment/swap-canary is no longer the one canary run" "swap: the stranger named"
expect_eq "$($K get deploy swap-canary -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/other:1.0 "swap: the stranger left in place"
expect_eq "$($K get deploy swap -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/swap:2.0 "swap: D has the recorded template"
expect_eq "$(state swap | jq -r .phase)" Succeeded "swap: the run ended"

# --- two promotes at once: one wins, the other exits 6.
app duel 4
run "$CANARY" -n "$NS" start duel --image app=registry.example/duel:2.0 --steps 25,50,100
expect_rc 0 "duel: start"
# The first holds the Lease 5 s (a test-build stall point) and the second
# starts once the Lease is there: a real overlap, however loaded the machine.
ROLLGUARD_TEST_STALL_AT=promote-after-lock "$CANARY" -n "$NS" promote duel >"$E2E_TMP/p1.out" 2>"$E2E_TMP/p1.err" &
p1=$!
for _ in $(seq 50); do
	$K -n "$NS" get lease rollguard-canary-duel >/dev/null 2>&1 && break
	sleep 0.1
done
"$CANARY" -n "$NS" promote duel >"$E2E_TMP/p2.out" 2>"$E2E_TMP/p2.err" &
p2=$!
wait $p1; rc1=$?
wait $p2; rc2=$?
codes=$(printf '%s\n%s\n' "$rc1" "$rc2" | sort | tr '\n' ' ')
expect_eq "$codes" "0 6 " "two concurrent promotes"
expect_eq "$(state duel | jq -r .weight)" 50 "duel: promoted once"
cat "$E2E_TMP/p1.err" "$E2E_TMP/p2.err" >"$E2E_TMP/err"
ERR=$(cat "$E2E_TMP/err")
expect_err "holds the lock" "duel: the loser names the lock"

# --- a user without Lease rights (a Role granting what canary needs but
# no Leases; impersonated) locks with an annotation on D instead.
cat <<EOF | $K apply -f - >/dev/null
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: canary-no-leases}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch, create, patch, update, delete]}
- {apiGroups: [""], resources: [pods, events], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [events], verbs: [create]}
- {apiGroups: [autoscaling], resources: [horizontalpodautoscalers], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: canary-no-leases}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: canary-no-leases}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: e2e-no-leases}]
EOF
app edited 2
run "$CANARY" --as e2e-no-leases -n "$NS" start edited --image app=registry.example/edited:2.0 --steps 50,100 -v=4
expect_rc 0 "no Lease rights: start"
expect_err "locking with an annotation" "no Lease rights: annotation lock"
expect_eq "$($K get deploy edited -o jsonpath='{.metadata.annotations.rollguard\.io/canary-lock}')" "" "no Lease rights: lock released"
expect_eq "$(state edited | jq -r .startedBy)" e2e-no-leases "no Lease rights: acting user recorded"
run "$CANARY" --as e2e-no-leases -n "$NS" promote edited --full
expect_rc 0 "no Lease rights: promote --full"
expect_eq "$(state edited | jq -r .phase)" Succeeded "no Lease rights: finished"

# --- someone changes D's template underneath a run: the next command
# refuses (exit 6) and says what changed; abort still cleans up.
app drift 2
run "$CANARY" -n "$NS" start drift --image app=registry.example/drift:2.0 --steps 50,100
expect_rc 0 "drift: start"
$K set image deployment/drift app=registry.example/drift:9.9 >/dev/null
run "$CANARY" -n "$NS" promote drift
expect_rc 6 "drift: promote refused"
expect_one_error_line "drift: promote refused"
expect_err "pod template changed since canary run" "drift: says what changed"
expect_eq "$(replicas drift-canary)" 1 "drift: canary untouched"

# --- bad input: each refused with one error line, nothing changed.
before=$(snapshot)
run "$CANARY" -n "$NS" start nosuch --image x:1
expect_rc 4 "unknown Deployment"
expect_one_error_line "unknown Deployment"
expect_err 'deployments.apps "nosuch" not found' "unknown Deployment"

app solo 2
before=$(snapshot)
run "$CANARY" -n "$NS" start solo --image nosuch=registry.example/solo:2.0
expect_rc 2 "missing container"
expect_one_error_line "missing container"
expect_err 'container "nosuch" not found' "missing container"
run "$CANARY" -n "$NS" start solo --image registry.example/solo:2.0
expect_rc 2 "two containers, none named"
run "$CANARY" -n "$NS" start solo --image app=r/solo:2 --steps 50,25
expect_rc 2 "malformed --steps"
expect_one_error_line "malformed --steps"
run "$CANARY" -n "$NS" start solo --image app=r/solo:2 --steps 5,x
expect_rc 2 "non-numeric --steps"
run "$CANARY" -n "$NS" start solo --image app=r/solo:2 --pause 5q
expect_rc 2 "malformed --pause"
expect_one_error_line "malformed --pause"
run "$CANARY" -n "$NS" start solo --image app=r/solo:2 --router nosuch
expect_rc 2 "unknown router"
run "$CANARY" -n "$NS" start solo
expect_rc 2 "no change given"
expect_eq "$(snapshot)" "$before" "bad input: nothing changed"

# The viewer may read only team-a: forbidden there, nothing changed.
kubectl -n team-a create deployment viewer-app --image=registry.example/v:1 --replicas=2 >/dev/null 2>&1 || true
vsnap() { kubectl -n team-a get deploy viewer-app -o json | jq -cS '{g: .metadata.generation, a: .metadata.annotations, l: .metadata.labels, s: .spec}' | sha256sum | cut -c1-16; }
vbefore=$(vsnap)
run "$CANARY" --context viewer -n team-a start viewer-app --image v=registry.example/v:2
expect_rc 4 "viewer: forbidden"
expect_one_error_line "viewer: forbidden"
expect_err "forbidden" "viewer: forbidden"
expect_eq "$(vsnap)" "$vbefore" "viewer: nothing changed"
expect_eq "$(kubectl -n team-a get deploy viewer-app-canary 2>/dev/null | wc -l)" 0 "viewer: no canary created"
kubectl -n team-a delete deployment viewer-app >/dev/null 2>&1

# A D-canary rollguard did not create: exit 5, untouched.
app other 2
$K create deployment other-canary --image=registry.example/someone:1 >/dev/null
before=$(snapshot)
run "$CANARY" -n "$NS" start other --image app=registry.example/other:2
expect_rc 5 "foreign D-canary"
expect_one_error_line "foreign D-canary"
expect_err "was not created by rollguard" "foreign D-canary"
expect_eq "$(snapshot)" "$before" "foreign D-canary: nothing changed"

# --- blue-green: start brings green up at full size with the Service pinned
# to blue; promote switches the Service to green; abort switches back and
# restores the selector; a second run is promoted fully.
# endpoints SVC: the names of the pods behind a Service, sorted.
endpoints() {
	$K get endpointslices -l "kubernetes.io/service-name=$1" -o json |
		jq -r '[.items[].endpoints[]?.targetRef.name] | sort | join(" ")'
}
pods_of() { $K get pods -l "app=$1" -o json | jq -r --arg t "$2" '[.items[] | select((.metadata.labels["rollguard.io/track"] // "blue") == $t) | .metadata.name] | sort | join(" ")'; }
settle() { # SVC TRACK APP: waits for the Service's endpoints to be exactly the pods of TRACK
	for _ in $(seq 1 100); do
		[ "$(endpoints "$1")" = "$(pods_of "$3" "$2")" ] && [ -n "$(endpoints "$1")" ] && return 0
		sleep 0.2
	done
	return 1
}
app bg 3
run "$CANARY" -n "$NS" start bg --image app=registry.example/bg:2.0 --strategy blue-green
expect_rc 0 "blue-green: start"
expect_eq "$(replicas bg-green)/$(replicas bg)" "3/3" "blue-green: green at full size beside blue"
expect_eq "$($K get svc bg -o jsonpath='{.spec.selector}' | jq -r 'has("pod-template-hash")')" true "blue-green: Service pinned to blue"
settle bg blue bg && ok "blue-green: endpoints are blue's pods" || fail "blue-green: endpoints $(endpoints bg)"
run "$CANARY" -n "$NS" promote bg
expect_rc 0 "blue-green: promote switches"
settle bg green bg && ok "blue-green: endpoints are green's pods" || fail "blue-green: endpoints $(endpoints bg) after the switch"
expect_eq "$(replicas bg)" 3 "blue-green: blue kept at full size"
run "$CANARY" -n "$NS" abort bg
expect_rc 0 "blue-green: abort switches back"
expect_eq "$($K get svc bg -o jsonpath='{.spec.selector}')" '{"app":"bg"}' "blue-green: original selector restored"
expect_eq "$($K get svc bg -o json | jq -r '[.metadata.annotations // {} | keys[] | select(startswith("rollguard.io/"))] | length')" 0 "blue-green: no rollguard annotations left on the Service"
expect_eq "$(replicas bg-green)" absent "blue-green: green removed"
settle bg blue bg && ok "blue-green: endpoints back on blue" || fail "blue-green: endpoints $(endpoints bg) after abort"
run "$CANARY" -n "$NS" start bg --image app=registry.example/bg:3.0 --strategy blue-green
run "$CANARY" -n "$NS" promote bg --full
expect_rc 0 "blue-green: promote --full"
expect_eq "$($K get deploy bg -o jsonpath='{.spec.template.spec.containers[0].image}')" registry.example/bg:3.0 "blue-green: D has the new template"
expect_eq "$(replicas bg-green)" absent "blue-green: green removed after finishing"
expect_eq "$($K get svc bg -o jsonpath='{.spec.selector}')" '{"app":"bg"}' "blue-green: selector restored after finishing"
run "$CANARY" -n "$NS" start bg --image app=registry.example/bg:4.0 --strategy blue-green --steps 50,100
expect_rc 2 "blue-green with --steps"

# --- a probe-failure Event fails the gate: promote refuses (exit 1), and
# --force moves on anyway.
app forced 4
run "$CANARY" -n "$NS" start forced --image app=registry.example/forced:2.0 --steps 25,50,100
pod=$($K get pods -l app=forced,rollguard.io/track=canary -o jsonpath='{.items[0].metadata.name}')
printf 'apiVersion: v1\nkind: Event\nmetadata: {name: forced-unhealthy}\ninvolvedObject: {apiVersion: v1, kind: Pod, name: %s, namespace: %s}\nreason: Unhealthy\nmessage: "Readiness probe failed: HTTP probe failed with statuscode: 503"\ntype: Warning\nsource: {component: kubelet}\n' "$pod" "$NS" |
	$K create -f - >/dev/null
run "$CANARY" -n "$NS" promote forced
expect_rc 1 "probe failure: promote refuses"
expect_err "Readiness probe failed" "probe failure: promote says why"
expect_eq "$(state forced | jq -r .weight)" 25 "probe failure: still at 25%"
run "$CANARY" -n "$NS" promote forced --force
expect_rc 0 "probe failure: promote --force"
expect_err "promoting despite --force" "probe failure: --force warns"
expect_eq "$(state forced | jq -r .weight)" 50 "probe failure: --force moved on"

# --- --set-env values may be secrets: only the name is recorded (state,
# history, Events, output).
app envy 2
run "$CANARY" -n "$NS" start envy --set-env DB_PASSWORD=hunter2-e2e --steps 50,100 -v=4
expect_rc 0 "--set-env: start"
start_output="$OUT$ERR"
expect_eq "$($K get deploy envy-canary -o jsonpath='{.spec.template.spec.containers[0].env[0].value}')" hunter2-e2e "--set-env: the canary has the value"
expect_eq "$(state envy | jq -r .change)" "env DB_PASSWORD" "--set-env: the state names the variable only"
run "$CANARY" -n "$NS" abort envy
recorded="$start_output$OUT$ERR$($K get deploy envy -o json)$($K get events -o json)$("$CANARY" -n "$NS" history envy -o json)"
if grep -q hunter2-e2e <<<"$recorded"; then fail "--set-env: the value leaked"; else ok "--set-env: the value is nowhere in state, history, Events or output up to -v=4"; fi

finish
