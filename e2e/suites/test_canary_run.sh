#!/usr/bin/env bash
# kubectl canary run on the real cluster: a whole ladder walked by run with
# JSON events; a canary pod that goes CrashLoopBackOff, one with a
# probe-failure Event and one that never becomes Ready are each aborted
# automatically with stable restored; abort from another process while a
# run works (the run exits 1); an indefinite pause stops run with exit 0;
# --timeout with --on-timeout hold (exit 5) and abort (exit 1); SIGINT
# leaves a resumable run; a Deployment with an HPA keeps its replicas and
# gets canary pods on top.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../canary.sh"

# wait_for CMD...: up to 30 s for a command to succeed.
wait_for() {
	for _ in $(seq 1 150); do "$@" && return 0; sleep 0.2; done
	return 1
}
at_weight() { [ "$(state "$1" | jq -r .weight 2>/dev/null)" = "$2" ] && [ "$(state "$1" | jq -r .phase)" = Paused ]; }
canary_pod() { $K get pods -l "app=$1,rollguard.io/track=canary" -o jsonpath='{.items[0].metadata.name}'; }
t() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
# patch_status POD READY CONTAINER_STATUS_JSON: as the kubelet writes it.
patch_status() {
	$K patch pod "$1" --subresource status --type merge -p "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\",\"lastTransitionTime\":\"$(t now)\"}],\"containerStatuses\":[$3]}}" >/dev/null
}
# start_run NAME ARGS...: run in the background, output in $E2E_TMP/NAME.{out,err}.
start_run() {
	local name=$1
	shift
	"$CANARY" -n "$NS" run "$name" "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
	RUN_PID=$!
}
finish_run() {
	wait "$RUN_PID"
	RC=$?
	OUT=$(cat "$E2E_TMP/$1.out")
	ERR=$(cat "$E2E_TMP/$1.err")
}

# --- a whole ladder, JSON events.
app web 4
run "$CANARY" -n "$NS" run web --image app=registry.example/web:2.0 --steps 25,50,100 --pause 1s -o json
expect_rc 0 "run: whole ladder"
expect_eq "$(jq -r 'select(.kind == "CanaryEvent") | .type' <<<"$OUT" | tr '\n' ' ')" "Started Promoted Succeeded " "run: events"
expect_eq "$(jq -r 'select(.kind == "CanaryStatus") | .phase' <<<"$OUT")" Succeeded "run: final CanaryStatus"
expect_eq "$(image web)" registry.example/web:2.0 "run: D has the new image"
expect_eq "$(replicas web)" 4 "run: D at N"
expect_eq "$(replicas web-canary)" absent "run: canary removed"

# --- run --dry-run prints the whole plan and changes nothing.
app plan 4
before=$(snapshot)
run "$CANARY" -n "$NS" run plan --image app=registry.example/plan:2.0 --steps 25,50,100 --pause 1m,inf --dry-run
expect_rc 0 "run --dry-run"
expect_out "would create deployment/plan-canary" "run --dry-run: the start"
expect_out "promote to 50% (2 canary, 2 stable pods), after 1m at 25%" "run --dry-run: a rung"
expect_out "after a manual promote (or --auto) at 50%" "run --dry-run: the indefinite pause"
expect_eq "$(snapshot)" "$before" "run --dry-run: nothing changed"

# --- CrashLoopBackOff on a canary pod: aborted by the run itself.
app crash 4
start_run crash --image app=registry.example/crash:2.0 --steps 25,100 --pause 5m
wait_for at_weight crash 25 || fail "crash: the run never reached 25%"
pod=$(canary_pod crash)
patch_status "$pod" False "{\"name\":\"app\",\"image\":\"registry.example/crash:2.0\",\"imageID\":\"\",\"ready\":false,\"started\":false,\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\",\"startedAt\":\"$(t '-1 min')\",\"finishedAt\":\"$(t now)\"}}}"
finish_run crash
expect_rc 1 "crash: run aborted"
expect_err "gate failed" "crash: says why"
expect_eq "$(state crash | jq -r .phase)" Aborted "crash: phase"
expect_eq "$(replicas crash)" 4 "crash: stable restored"
expect_eq "$(image crash)" registry.example/crash:1.0 "crash: stable template kept"
expect_eq "$(replicas crash-canary)" absent "crash: canary removed"
grep -q "CrashLoopBackOff" <<<"$(state crash | jq -r .reason)" && ok "crash: reason recorded" || fail "crash: reason $(state crash | jq -r .reason)"

# --- the same two failures driven by kwok Stages of this suite's own:
# canary pods labelled for them (through --patch) go CrashLoopBackOff, or
# stop being Ready, two seconds after they started.
STAGES=()
stage() { # NAME LABEL SELECTOR-EXPRESSION-YAML STATUS-TEMPLATE
	local name=rollguard-e2e-$1-$NS
	cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: $name}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.labels["rollguard-e2e-stage"]', operator: In, values: ['$2']}
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: [Running]}
$3
  delay: {durationMilliseconds: 2000}
  weight: 10000
  next:
    statusTemplate: |
$4
EOF
	STAGES+=("$name")
}
trap 'for s in "${STAGES[@]}"; do kubectl delete stage "$s" --wait=false >/dev/null 2>&1; done; e2e_cleanup' EXIT
stage crashloop "crashloop-$NS" "    - {key: '.status.containerStatuses.[0].restartCount', operator: NotIn, values: ['3']}" '      {{ $now := Now }}
      conditions:
      - {type: Ready, status: "False", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 3
        state: {waiting: {reason: CrashLoopBackOff, message: "back-off 40s restarting failed container"}}
        lastState: {terminated: {exitCode: 1, reason: Error, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}'
stage notready "notready-$NS" "    - {key: '.status.conditions.[] | select( .type == \"Ready\" ) | .status', operator: In, values: ['True']}" '      {{ $now := Now }}
      conditions:
      - {type: Ready, status: "False", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ end }}'
# stage_patch LABEL IMAGE: a --patch file that labels the canary's pods.
stage_patch() {
	printf 'spec:\n  template:\n    metadata:\n      labels: {rollguard-e2e-stage: "%s"}\n    spec:\n      containers:\n      - {name: app, image: "%s"}\n' "$1" "$2" >"$E2E_TMP/$1.yaml"
	echo "$E2E_TMP/$1.yaml"
}
app kcrash 4
run "$CANARY" -n "$NS" run kcrash --patch "$(stage_patch "crashloop-$NS" registry.example/kcrash:2.0)" --steps 25,100 --pause 5m
expect_rc 1 "kwok Stage CrashLoopBackOff: run aborted"
expect_err "CrashLoopBackOff" "kwok Stage CrashLoopBackOff: says why"
expect_eq "$(state kcrash | jq -r .phase)" Aborted "kwok Stage CrashLoopBackOff: phase"
expect_eq "$(replicas kcrash)" 4 "kwok Stage CrashLoopBackOff: stable restored"
expect_eq "$(replicas kcrash-canary)" absent "kwok Stage CrashLoopBackOff: canary removed"
app knotready 2 4
run "$CANARY" -n "$NS" run knotready --patch "$(stage_patch "notready-$NS" registry.example/knotready:2.0)" --steps 50,100 --pause 5m
expect_rc 1 "kwok Stage not Ready: run aborted"
expect_err "progress deadline" "kwok Stage not Ready: says why"
expect_eq "$(replicas knotready)" 2 "kwok Stage not Ready: stable restored"
expect_eq "$(replicas knotready-canary)" absent "kwok Stage not Ready: canary removed"

# --- promote refuses while a gate fails (exit 1, nothing changed).
app refuse 4
run "$CANARY" -n "$NS" start refuse --patch "$(stage_patch "crashloop-$NS" registry.example/refuse:2.0)" --steps 25,50,100
expect_rc 0 "refuse: start"
for _ in $(seq 1 50); do
	[ "$($K get pods -l app=refuse,rollguard.io/track=canary -o jsonpath='{.items[0].status.containerStatuses[0].state.waiting.reason}')" = CrashLoopBackOff ] && break
	sleep 0.2
done
before=$(snapshot)
run "$CANARY" -n "$NS" promote refuse
expect_rc 1 "promote while a gate fails"
expect_one_error_line "promote while a gate fails"
expect_err "CrashLoopBackOff" "promote while a gate fails: says why"
expect_eq "$(snapshot)" "$before" "promote while a gate fails: nothing changed"
run "$CANARY" -n "$NS" abort refuse
expect_rc 0 "refuse: abort"

# --- a probe-failure Event on a canary pod.
app probe 2
start_run probe --image app=registry.example/probe:2.0 --steps 50,100 --pause 5m
wait_for at_weight probe 50 || fail "probe: the run never reached 50%"
pod=$(canary_pod probe)
cat <<EOF | $K create -f - >/dev/null
apiVersion: v1
kind: Event
metadata: {name: probe-unhealthy}
involvedObject: {apiVersion: v1, kind: Pod, name: $pod, namespace: $NS, fieldPath: "spec.containers{app}"}
reason: Unhealthy
message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
type: Warning
count: 1
firstTimestamp: "$(t now)"
lastTimestamp: "$(t now)"
source: {component: kubelet}
EOF
finish_run probe
expect_rc 1 "probe failure: run aborted"
expect_err "Readiness probe failed" "probe failure: says why"
expect_eq "$(replicas probe)" 2 "probe failure: stable restored"

# --- a canary pod that never becomes Ready: the progress deadline.
app slow 2 4
start_run slow --image app=registry.example/slow:2.0 --steps 50,100 --pause 5m
wait_for at_weight slow 50 || fail "slow: the run never reached 50%"
patch_status "$(canary_pod slow)" False "{\"name\":\"app\",\"image\":\"registry.example/slow:2.0\",\"imageID\":\"\",\"ready\":false,\"started\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"$(t now)\"}},\"lastState\":{}}"
finish_run slow
expect_rc 1 "not Ready: run aborted"
expect_err "progress deadline" "not Ready: says why"
expect_eq "$(replicas slow)" 2 "not Ready: stable restored"

# --- a canary that cannot come up at all (a ResourceQuota allows no more
# pods): start's wait hits the progress deadline and run aborts.
app quota 2 4
$K create quota pods --hard=pods=2 >/dev/null
run "$CANARY" -n "$NS" run quota --image app=registry.example/quota:2.0 --steps 50,100 --pause 1s
expect_rc 1 "no canary pod: run aborted"
expect_err "progress deadline" "no canary pod: says why"
expect_err "the run is aborted" "no canary pod: says so"
expect_eq "$(state quota | jq -r .phase)" Aborted "no canary pod: phase"
expect_eq "$(replicas quota)" 2 "no canary pod: stable untouched"
expect_eq "$(replicas quota-canary)" absent "no canary pod: canary removed"
$K delete quota pods >/dev/null

# --- abort from another process while a run works.
app held 4
start_run held --image app=registry.example/held:2.0 --steps 25,50,100 --pause 10m
wait_for at_weight held 25 || fail "held: the run never reached 25%"
run "$CANARY" -n "$NS" abort held --reason "stop it"
expect_rc 0 "abort during run"
finish_run held
expect_rc 1 "abort during run: the run stops"
expect_eq "$(state held | jq -r .phase)" Aborted "abort during run: phase"
expect_eq "$(state held | jq -r .reason)" "stop it" "abort during run: reason"
expect_eq "$(replicas held)" 4 "abort during run: stable back"
expect_eq "$(replicas held-canary)" absent "abort during run: canary removed"

# --- an indefinite pause: run stops with exit 0, phase Paused; promote,
# then run again finishes.
app gate 2
run "$CANARY" -n "$NS" run gate --image app=registry.example/gate:2.0 --steps 50,100 --pause inf
expect_rc 0 "pause inf: run stops"
expect_err "until a manual promote" "pause inf: says so"
expect_eq "$(state gate | jq -r .phase)" Paused "pause inf: phase"
run "$CANARY" -n "$NS" run gate --auto
expect_rc 0 "run --auto passes the indefinite pause"
expect_eq "$(image gate)" registry.example/gate:2.0 "run --auto: finished"

# --- --timeout: hold (exit 5, run left as it is), then abort (exit 1).
app late 2
run "$CANARY" -n "$NS" run late --image app=registry.example/late:2.0 --steps 50,100 --pause 1h --timeout 3s --on-timeout hold
expect_rc 5 "timeout hold"
expect_err "resume with" "timeout hold: says how to resume"
expect_eq "$(state late | jq -r .phase)" Paused "timeout hold: still paused"
run "$CANARY" -n "$NS" run late --timeout 2s
expect_rc 1 "timeout abort"
expect_eq "$(state late | jq -r .phase)" Aborted "timeout abort: aborted"
expect_eq "$(replicas late)" 2 "timeout abort: stable back"

# --- SIGINT: held, resumable, exit 130; then resumed to the end.
app intr 2
start_run intr --image app=registry.example/intr:2.0 --steps 50,100 --pause 10m
wait_for at_weight intr 50 || fail "intr: the run never reached 50%"
kill -INT "$RUN_PID"
finish_run intr
expect_rc 130 "SIGINT"
expect_err "resume with: kubectl canary run intr" "SIGINT: says how to resume"
expect_eq "$(state intr | jq -r .phase)" Paused "SIGINT: run held"
expect_eq "$(replicas intr-canary)" 1 "SIGINT: canary kept"
run "$CANARY" -n "$NS" promote intr --full
expect_rc 0 "after SIGINT: promote --full"
expect_eq "$(image intr)" registry.example/intr:2.0 "after SIGINT: finished"

# --- SIGINT while a step waits (a ResourceQuota holds back the next
# canary pod): held, resumable, exit 130; without the quota run finishes.
app stuck 4
run "$CANARY" -n "$NS" start stuck --image app=registry.example/stuck:2.0 --steps 25,50,100 --pause 0
$K create quota stuck --hard=pods=4 >/dev/null
start_run stuck
for _ in $(seq 1 100); do
	[ "$($K get deploy stuck-canary -o jsonpath='{.spec.replicas}')" = 2 ] && break
	sleep 0.1
done
sleep 1
kill -INT "$RUN_PID"
finish_run stuck
expect_rc 130 "SIGINT during a step"
expect_err "interrupted: the run is held at 25%" "SIGINT during a step: held"
expect_err "resume with: kubectl canary run stuck" "SIGINT during a step: says how to resume"
expect_eq "$(state stuck | jq -r .phase)/$(state stuck | jq -r .weight)" "Paused/25" "SIGINT during a step: state"
expect_eq "$($K get lease rollguard-canary-stuck --no-headers 2>/dev/null | wc -l)" 0 "SIGINT during a step: Lease released"
$K delete quota stuck >/dev/null
run "$CANARY" -n "$NS" run stuck
expect_rc 0 "after SIGINT during a step: run resumes to the end"
expect_eq "$(image stuck)" registry.example/stuck:2.0 "after SIGINT during a step: finished"

# --- an HPA on D: stable keeps its replicas, canary pods on top.
app auto 3
cat <<EOF | $K apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: auto}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: auto}
  minReplicas: 3
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
EOF
run "$CANARY" -n "$NS" start auto --image app=registry.example/auto:2.0 --steps 50,100
expect_rc 0 "HPA: start"
expect_err "HorizontalPodAutoscaler auto" "HPA: says so"
expect_eq "$(replicas auto)" 3 "HPA: stable keeps its replicas"
expect_eq "$(replicas auto-canary)" 2 "HPA: canary on top"
run "$CANARY" -n "$NS" abort auto
expect_rc 0 "HPA: abort"
expect_eq "$(replicas auto)" 3 "HPA: stable untouched"
expect_eq "$(replicas auto-canary)" absent "HPA: canary removed"

# --- status -w follows a run from watches and ends with it.
app follow 4
run "$CANARY" -n "$NS" start follow --image app=registry.example/follow:2.0 --steps 25,50,100
"$CANARY" -n "$NS" status follow -w -o json >"$E2E_TMP/follow.out" 2>"$E2E_TMP/follow.err" &
follow_pid=$!
sleep 1
run "$CANARY" -n "$NS" promote follow
run "$CANARY" -n "$NS" abort follow
for _ in $(seq 1 50); do kill -0 "$follow_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$follow_pid" 2>/dev/null; then
	kill "$follow_pid"
	fail "status -w did not end with the run"
else
	wait "$follow_pid"
	RC=$?
	expect_rc 0 "status -w ends with the run"
fi
OUT=$(cat "$E2E_TMP/follow.out")
expect_eq "$(jq -r '"\(.phase)/\(.observed.traffic.requestedWeight)"' <<<"$OUT" | uniq | tr '\n' ' ')" "Paused/25 Paused/50 Aborted/50 " "status -w: the run's changes in order"

# --- history after several runs.
run "$CANARY" -n "$NS" history late -o json
expect_eq "$(jq -r '[.items[].phase] | join(",")' <<<"$OUT")" "Aborted" "history: one aborted run"

finish
