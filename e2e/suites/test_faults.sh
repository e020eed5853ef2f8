#!/usr/bin/env bash
# Fault injection (SPEC §8, TESTING.md): the real binaries meet each fault
# class between them and the real API server, and each command ends in
# success or its documented exit code (SPEC §1.2: 4 for API and network
# errors; rollback-safe also 1 when its helm child fails) with one error
# line, and the cluster is consistent afterwards: read back, then the same
# command run again without the fault converges.
#
# Fault classes and where they come from (e2e/faults.sh):
#   429       the API server's Priority and Fairness rejects every request
#             of the user for 2 s (real 429s with Retry-After)
#   5xx       the fault proxy answers the first 2 GETs 503 (Retry-After: 1)
#             and the first write 500 (canned: no real server does it on
#             demand); "the first write" is the first change of a workload,
#             a Service or a release record, not the rights check (a POST
#             that changes nothing), the Lease or an Event (reset and stall
#             meet those)
#   reset     Toxiproxy resets every connection for 1.5 s
#   truncate  the fault proxy cuts the first GET's and the first write's
#             answer to half its body (canned)
#   stall     Toxiproxy passes no data for 4 s; the command runs with
#             --request-timeout 2s
#   watch     the fault proxy cuts the first watch after its first chunk
#   watchcut  Toxiproxy resets every connection, the open watches too, for
#             0.5 s once the command has run 1.5 s (met by the commands that
#             are still watching then: run)
#   tunnel    the fault proxy answers the first port-forward upgrade 503
#             and resets the first exec upgrade (met by the commands that
#             open tunnels: probecheck --exercise)
#   tunneldown  every port-forward and exec upgrade answered 503 (a
#             proxy in front of the API server that refuses upgrades)
#
# The fast form (CI) runs one command per fault class; ROLLGUARD_E2E_FULL=1
# (scripts/test.sh --full) runs every command with every fault and prints
# the matrix docs/faults.md records.
# The case_* functions are called by name from the matrix loop.
# shellcheck disable=SC2317
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../canary.sh
. "$(dirname "$0")/../canary.sh"
HELM=helm4 # rollback.sh's Helm
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
# shellcheck source=../faults.sh
. "$(dirname "$0")/../faults.sh"
# shellcheck source=../exercise.sh
. "$(dirname "$0")/../exercise.sh"
faults_up
trap 'faults_stop; rs_cleanup; targets_stop' EXIT
PC=$BIN/kubectl-probecheck
MATRIX=$E2E_TMP/matrix
: >"$MATRIX"
CASE=0

# --- the faults ---------------------------------------------------------
apf_rejected() {
	kubectl get --raw /metrics | awk -v pl="priority_level=\"$APF_NAME\"" \
		'/^apiserver_flowcontrol_rejected_requests_total\{/ && index($0, pl) { s += $NF } END { print s + 0 }'
}
# The first write the 5xx and truncate faults meet: a change of a workload,
# a Service or a release record (Secret, ConfigMap), not the rights check,
# the Lease or an Event.
FIRST_WRITE='^(POST|PUT|PATCH|DELETE) /(apis/apps/|api/v1/namespaces/[^/]+/(secrets|configmaps|services))'
# fault_arm FAULT: the fault from now on (transient ones end by themselves);
# FAULT_KC is the kubeconfig that goes through it, FAULT_FLAGS extra flags.
fault_arm() {
	FAULT_FLAGS=() FAULT_BG=""
	case $1 in
	429)
		FAULT_MARK=$(apf_rejected)
		apf_throttle on
		(sleep 2 && apf_throttle off) &
		FAULT_BG=$!
		FAULT_KC=$FAULT_THROTTLED_KUBECONFIG
		;;
	5xx)
		fault_plan '{"rules": [{"match": "^GET /", "action": "503", "count": 2, "retry_after": 1},
			{"match": "'"$FIRST_WRITE"'", "action": "500", "count": 1}]}'
		FAULT_KC=$FAULT_PROXY_KUBECONFIG
		;;
	reset)
		toxic_add reset reset_peer downstream '{"timeout": 0}'
		(sleep 1.5 && toxic_remove reset) &
		FAULT_BG=$!
		FAULT_KC=$FAULT_TOXIC_KUBECONFIG
		;;
	truncate)
		fault_plan '{"rules": [{"match": "^GET /api.*[?&]watch=", "action": "pass"},
			{"match": "^GET /api", "action": "truncate", "count": 1},
			{"match": "'"$FIRST_WRITE"'", "action": "truncate", "count": 1}]}'
		FAULT_KC=$FAULT_PROXY_KUBECONFIG
		;;
	stall)
		toxic_add stall timeout downstream '{"timeout": 0}'
		(sleep 4 && toxic_remove stall) &
		FAULT_BG=$!
		FAULT_KC=$FAULT_TOXIC_KUBECONFIG
		FAULT_FLAGS=(--request-timeout 2s)
		;;
	watchcut)
		: >"$FAULT_DIR/cut"
		(sleep 1.5 && [ ! -s "$FAULT_DIR/done" ] && toxic_add cut reset_peer downstream '{"timeout": 0}' &&
			echo met >"$FAULT_DIR/cut" && sleep 0.5 && toxic_remove cut) &
		FAULT_BG=$!
		FAULT_KC=$FAULT_TOXIC_KUBECONFIG
		;;
	watch)
		fault_plan '{"rules": [{"match": "[?&]watch=(1|true)", "action": "drop-watch", "count": 1}]}'
		FAULT_KC=$FAULT_PROXY_KUBECONFIG
		;;
	tunnel)
		fault_plan '{"rules": [{"match": "^GET /api/v1/namespaces/[^/]+/pods/[^/]+/portforward", "action": "503", "count": 1, "retry_after": 1},
			{"match": "^(GET|POST) /api/v1/namespaces/[^/]+/pods/[^/]+/exec", "action": "reset", "count": 1}]}'
		FAULT_KC=$FAULT_PROXY_KUBECONFIG
		;;
	tunneldown)
		fault_plan '{"rules": [{"match": "^(GET|POST) /api/v1/namespaces/[^/]+/pods/[^/]+/(portforward|exec)", "action": "503", "count": 1000}]}'
		FAULT_KC=$FAULT_PROXY_KUBECONFIG
		;;
	esac
}
# fault_disarm FAULT: waits for a transient fault to end; FIRED says
# whether the command met it.
fault_disarm() {
	[ -z "$FAULT_BG" ] || wait "$FAULT_BG"
	case $1 in
	429) FIRED=$(($(apf_rejected) - FAULT_MARK)) ;;
	5xx) FIRED=$(($(fault_fired 503) + $(fault_fired 500))) ;;
	truncate) FIRED=$(fault_fired truncate) ;;
	watch) FIRED=$(fault_fired drop-watch) ;;
	watchcut) FIRED=$(grep -c met "$FAULT_DIR/cut") ;;
	tunnel) FIRED=$(($(fault_fired 503) + $(fault_fired reset))) ;;
	tunneldown) FIRED=$(fault_fired 503) ;;
	*) FIRED=1 ;; # a TCP fault in place when the command starts always meets it
	esac
	fault_plan '{"rules": []}'
}

# under FAULT CMD...: CMD through FAULT; RC, OUT and ERR as run sets.
under() {
	local fault=$1
	shift
	fault_arm "$fault"
	: >"$FAULT_DIR/done"
	run env KUBECONFIG="$FAULT_KC" timeout -k 5 150 "$@" "${FAULT_FLAGS[@]}"
	echo finished >"$FAULT_DIR/done"
	fault_disarm "$fault"
}

# outcome WHAT ALLOWED...: the exit code is 0 or one of ALLOWED, with one
# error line when not 0; the matrix gets a row.
outcome() {
	local what=$1 code ok=0
	shift
	for code in 0 "$@"; do [ "$RC" -eq "$code" ] && ok=1; done
	if [ "$ok" -eq 1 ]; then ok "$what: exit $RC (allowed: 0 $*)"; else fail "$what: exit $RC, allowed: 0 $*"; fi
	[ "$RC" -eq 0 ] || expect_one_error_line "$what"
	local met=yes fault=${what##* under }
	[ "$FIRED" -gt 0 ] || met=no
	# every fault but a dropped watch meets every command (each sends a
	# request); a dropped watch meets the commands that watch (WATCHES=1),
	# a cut after 1.5 s those that watch that long (LONG=1), a refused
	# tunnel those that open tunnels (TUNNELS=1)
	if [ "$met" = no ] && { { [ "$fault" != watch ] && [ "$fault" != watchcut ] && [ "${fault#tunnel}" = "$fault" ]; } ||
		{ [ "$fault" = watch ] && [ "${WATCHES:-0}" = 1 ]; } || { [ "$fault" = watchcut ] && [ "${LONG:-0}" = 1 ]; } ||
		{ [ "${fault#tunnel}" != "$fault" ] && [ "${TUNNELS:-0}" = 1 ]; }; }; then
		fail "$what: the command never met the fault"
	fi
	WATCHES=0 LONG=0 TUNNELS=0
	printf '%s\t%s\t%s\t%s\t%s\n' "${what% under *}" "${what##* under }" "$RC" "$met" \
		"$(grep -m1 '^error: ' <<<"$ERR" | cut -c1-160)" >>"$MATRIX"
}

# --- kubectl canary -----------------------------------------------------
# Every case has its own Deployment of 4 replicas (image :1.0).
canary_app() {
	CASE=$((CASE + 1))
	D=f$CASE
	K="kubectl -n $NS" # rs_ns points K at its own namespace
	app "$D" 4
}
canary_started() {
	canary_app
	run "$CANARY" -n "$NS" start "$D" --image "app=registry.example/$D:2.0" --steps 25,50,100 --pause 0
	[ "$RC" -eq 0 ] || fail "setup: start $D"
}
canary_replicas() { # stable + canary replicas
	local c
	c=$(replicas "$D-canary")
	[ "$c" = absent ] && c=0
	echo $(($(replicas "$D") + c))
}
# canary_consistent WHAT: status reads the run; the capacity invariant holds;
# a finished run left no canary behind.
canary_consistent() {
	run "$CANARY" -n "$NS" status "$D" -o json
	expect_rc 0 "$1: status afterwards"
	local sum ph
	sum=$(canary_replicas)
	if [ "$sum" -ge 4 ]; then ok "$1: stable + canary replicas $sum >= 4"; else fail "$1: stable + canary replicas $sum < 4"; fi
	ph=$(phase "$D")
	case $ph in
	Succeeded | Aborted)
		expect_eq "$(replicas "$D-canary")" absent "$1: no canary after $ph"
		;;
	esac
}
# converge WHAT EXPECTED_PHASE CMD...: CMD without the fault ends in 0 and
# in EXPECTED_PHASE.
converge() {
	local what=$1 want=$2
	shift 2
	run "$@"
	expect_rc 0 "$what: the same command again without the fault"
	expect_eq "$(phase "$D")" "$want" "$what: phase"
	canary_consistent "$what (converged)"
}

case_canary_start() {
	WATCHES=1
	canary_app
	under "$1" "$CANARY" -n "$NS" start "$D" --image "app=registry.example/$D:2.0" --steps 25,50,100 --pause 0
	outcome "canary start under $1" 4
	[ "$RC" -ne 0 ] || expect_eq "$(phase "$D")" Paused "canary start under $1: phase"
	canary_consistent "canary start under $1"
	[ "$RC" -eq 0 ] || converge "canary start under $1" Paused "$CANARY" -n "$NS" start "$D" --image "app=registry.example/$D:2.0" \
		--steps 25,50,100 --pause 0
}
case_canary_status() {
	WATCHES=1
	canary_started
	under "$1" "$CANARY" -n "$NS" status "$D" -o json
	outcome "canary status under $1" 4
	[ "$RC" -ne 0 ] || expect_eq "$(jq -r .phase <<<"$OUT")" "$(phase "$D")" "canary status under $1: the phase read"
}
case_canary_promote() {
	WATCHES=1
	canary_started
	under "$1" "$CANARY" -n "$NS" promote "$D"
	outcome "canary promote under $1" 4
	canary_consistent "canary promote under $1"
	if [ "$(state "$D" | jq -r .weight)" -lt 50 ] || [ "$(state "$D" | jq -r '.intent.active // false')" = true ]; then
		converge "canary promote under $1" Paused "$CANARY" -n "$NS" promote "$D"
	fi
	expect_eq "$(state "$D" | jq -r .weight)" 50 "canary promote under $1: weight"
}
case_canary_finish() {
	WATCHES=1
	canary_started
	under "$1" "$CANARY" -n "$NS" promote "$D" --full
	outcome "canary promote --full under $1" 4
	canary_consistent "canary promote --full under $1"
	[ "$(phase "$D")" = Succeeded ] ||
		converge "canary promote --full under $1" Succeeded "$CANARY" -n "$NS" promote "$D" --full
	expect_eq "$(image "$D")" "registry.example/$D:2.0" "canary promote --full under $1: D's image"
	expect_eq "$(replicas "$D")" 4 "canary promote --full under $1: D's replicas"
}
case_canary_abort() {
	WATCHES=1
	canary_started
	under "$1" "$CANARY" -n "$NS" abort "$D" --reason "fault $1"
	outcome "canary abort under $1" 4
	canary_consistent "canary abort under $1"
	[ "$(phase "$D")" = Aborted ] || converge "canary abort under $1" Aborted "$CANARY" -n "$NS" abort "$D"
	expect_eq "$(image "$D")" "registry.example/$D:1.0" "canary abort under $1: D's image"
	expect_eq "$(replicas "$D")" 4 "canary abort under $1: D's replicas"
}
case_canary_run() {
	WATCHES=1 LONG=1
	canary_app
	under "$1" "$CANARY" -n "$NS" run "$D" --image "app=registry.example/$D:2.0" --steps 25,50,100 --pause 1s
	outcome "canary run under $1" 4
	canary_consistent "canary run under $1"
	[ "$(phase "$D")" = Succeeded ] ||
		converge "canary run under $1" Succeeded "$CANARY" -n "$NS" run "$D" --image "app=registry.example/$D:2.0" \
			--steps 25,50,100 --pause 1s
	expect_eq "$(image "$D")" "registry.example/$D:2.0" "canary run under $1: D's image"
}
case_canary_list() {
	canary_started
	under "$1" "$CANARY" -n "$NS" list -o json
	outcome "canary list under $1" 4
	[ "$RC" -ne 0 ] || expect_out "\"$D\"" "canary list under $1: the run listed"
}
case_canary_history() {
	canary_started
	run "$CANARY" -n "$NS" abort "$D"
	under "$1" "$CANARY" -n "$NS" history "$D" -o json
	outcome "canary history under $1" 4
	[ "$RC" -ne 0 ] || expect_out "Aborted" "canary history under $1: the run listed"
}

# --- kubectl probecheck -------------------------------------------------
case_probecheck() {
	canary_app
	run "$PC" -n "$NS" "deploy/$D" -o json --fail-on never
	local want=$OUT
	under "$1" "$PC" -n "$NS" "deploy/$D" -o json --fail-on never
	outcome "probecheck deploy under $1" 4
	[ "$RC" -ne 0 ] || expect_eq "$(jq -cS 'del(.metadata)' <<<"$OUT" | sha256sum | cut -c1-16)" \
		"$(jq -cS 'del(.metadata)' <<<"$want" | sha256sum | cut -c1-16)" "probecheck deploy under $1: the same report"
}
case_probecheck_ns() {
	canary_app
	run "$PC" -n "$NS" deploy -o json --fail-on never
	local want=$OUT
	under "$1" "$PC" -n "$NS" deploy -o json --fail-on never
	outcome "probecheck namespace under $1" 4
	[ "$RC" -ne 0 ] || expect_eq "$(jq -cS 'del(.metadata)' <<<"$OUT" | sha256sum | cut -c1-16)" \
		"$(jq -cS 'del(.metadata)' <<<"$want" | sha256sum | cut -c1-16)" \
		"probecheck namespace under $1: the same report"
}

# --- kubectl probecheck --exercise ---------------------------------------
# The probes run through port-forward and exec streams (WebSockets) that
# cross the fault as well. Their targets are e2e/servers/targets.py on
# loopback behind kwok's PortForward and Exec objects, and every probe is
# good: a tunnel the fault breaks must show as a probe not exercised (state
# failed, a warning), never as a failing probe.
exercise_app() {
	if [ -z "$TARGETS_PID" ]; then
		targets_start || { fail "the probe targets did not start"; return 1; }
	fi
	CASE=$((CASE + 1))
	D=f$CASE
	kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $D}
spec:
  replicas: 1
  selector: {matchLabels: {app: $D}}
  template:
    metadata: {labels: {app: $D}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ok, port: http}, timeoutSeconds: 2}
        livenessProbe: {tcpSocket: {port: 9000}, timeoutSeconds: 2}
        startupProbe: {exec: {command: ["true"]}, timeoutSeconds: 2}
YAML
	kubectl -n "$NS" rollout status "deploy/$D" --timeout=60s >/dev/null
	kwok_serve "$NS" "$(kubectl -n "$NS" get pods -l "app=$D" -o jsonpath='{.items[0].metadata.name}')" ||
		{ fail "kwok never served the port-forward and exec of $D's pod"; return 1; }
}
# the "ok" values of the samples of the probes exercised, and the active findings
exercise_verdicts() {
	jq -r '"\([.exercised[] | select(.state == "exercised") | .samples[].ok] | unique | map(tostring) | join(","))/\([.findings[] | select(.checkId | startswith("active-")) | .checkId] | join(","))"' <<<"$1"
}
case_probecheck_exercise() {
	TUNNELS=1
	exercise_app || return
	run "$PC" -n "$NS" "deploy/$D" --exercise --samples 1 -o json --fail-on never
	expect_eq "$RC/$(exercise_verdicts "$OUT")/$(jq '.exercised | length' <<<"$OUT")" "0/true//3" \
		"probecheck --exercise under $1: without the fault, the three probes pass"
	under "$1" "$PC" -n "$NS" "deploy/$D" --exercise --samples 1 -o json --fail-on never
	outcome "probecheck --exercise under $1" 4
	if [ "$1" = tunneldown ]; then
		# no probe could be run: the API server's refusal, exit 4 (docs/probecheck.md)
		expect_eq "$RC" 4 "probecheck --exercise under $1: no tunnel, exit 4"
		expect_err "503" "probecheck --exercise under $1: the refusal named"
		return 0
	fi
	[ "$RC" -eq 0 ] || return 0
	case $(exercise_verdicts "$OUT") in
	true/ | /) ok "probecheck --exercise under $1: no probe reported failing ($(jq -c '[.exercised[].state]' <<<"$OUT"))" ;;
	*) fail "probecheck --exercise under $1: the fault made a good probe fail: $(exercise_verdicts "$OUT"); $(jq -c '[.exercised[] | {probe, state, error, samples}]' <<<"$OUT")" ;;
	esac
	# a probe not exercised says so on standard error
	if [ "$(jq '[.exercised[] | select(.state != "exercised")] | length' <<<"$OUT")" -gt 0 ]; then
		expect_err "not exercised" "probecheck --exercise under $1: the probes not run are named"
	fi
}

# --- helm rollback-safe (Helm 4) ----------------------------------------
rs_case() {
	CASE=$((CASE + 1))
	rs_ns "f$CASE" || return 1
	REL=r$CASE
	rs_install "$REL" --set "image=registry.example/$REL:1" &&
		rs_upgrade "$REL" --set "image=registry.example/$REL:2"
}
rs_consistent() {
	rs_expect_no_pending "$REL" "$1"
	local deployed
	deployed=$(kubectl -n "$RS_NS" get secret -l "owner=helm,name=$REL,status=deployed" -o name | wc -l)
	expect_eq "$deployed" 1 "$1: one deployed revision"
}
case_rollback() {
	rs_case || return
	under "$1" "${RS_ARGV[@]}" rollback-safe "$REL" -n "$RS_NS" --timeout 60s
	outcome "rollback-safe under $1" 1 4
	rs_consistent "rollback-safe under $1"
	if [ "$(rs_image "$REL")" != "registry.example/$REL:1" ]; then
		rsafe "$REL" --timeout 60s
		expect_rc 0 "rollback-safe under $1: the same command again without the fault"
	fi
	# When helm's own rollback failed (exit 1), its failed revision is the
	# release's newest, and the re-run returns to the last good revision
	# below it: revision 2, where the release was (docs/faults.md).
	case $(rs_image "$REL") in
	"registry.example/$REL:1") ok "rollback-safe under $1: on revision 1's image" ;;
	"registry.example/$REL:2") ok "rollback-safe under $1: back on revision 2's image after helm failed" ;;
	*) fail "rollback-safe under $1: image $(rs_image "$REL") is neither good revision's" ;;
	esac
	rs_consistent "rollback-safe under $1 (converged)"
}
case_rollback_plan() {
	rs_case || return
	local before
	before=$(rs_revisions "$REL")
	under "$1" "${RS_ARGV[@]}" rollback-safe plan "$REL" -n "$RS_NS" -o json
	outcome "rollback-safe plan under $1" 1 4
	expect_eq "$(rs_revisions "$REL")" "$before" "rollback-safe plan under $1: revisions unchanged"
}
case_rollback_history() {
	rs_case || return
	under "$1" "${RS_ARGV[@]}" rollback-safe history "$REL" -n "$RS_NS" -o json
	outcome "rollback-safe history under $1" 1 4
	[ "$RC" -ne 0 ] || expect_eq "$(jq '.items | length' <<<"$OUT")" 2 "rollback-safe history under $1: revisions read"
}
case_rollback_unlock() {
	rs_case && rs_stuck_pending_upgrade "$REL" --set "image=registry.example/$REL:3" || return
	under "$1" "${RS_ARGV[@]}" rollback-safe unlock "$REL" -n "$RS_NS" --force-unlock
	outcome "rollback-safe unlock under $1" 1 4
	if [ "$(rs_status_of "$REL" "$RS_PENDING_REV")" = pending-upgrade ]; then
		rsafe unlock "$REL" --force-unlock
		expect_rc 0 "rollback-safe unlock under $1: the same command again without the fault"
	fi
	rs_expect_status "$REL" "$RS_PENDING_REV" failed "rollback-safe unlock under $1"
	rs_expect_no_pending "$REL" "rollback-safe unlock under $1"
}
rs_argv helm4

FAULTS="429 5xx reset truncate stall watch watchcut tunnel tunneldown"
CASES="canary_start canary_status canary_promote canary_finish canary_abort canary_run canary_list canary_history
probecheck probecheck_ns probecheck_exercise rollback rollback_plan rollback_history"
if [ "${ROLLGUARD_E2E_FULL:-0}" = 1 ] || [[ ${ROLLGUARD_E2E_FAULT_CASES:-} == *rollback_unlock* ]]; then
	rs_stages # pods that never become Ready, for the stuck release unlock repairs
fi
if [ -n "${ROLLGUARD_E2E_FAULT_CASES:-}" ]; then
	# FAULT:CASE pairs, for a developer chasing one cell
	for pair in $ROLLGUARD_E2E_FAULT_CASES; do
		echo "== ${pair#*:} under ${pair%%:*}"
		"case_${pair#*:}" "${pair%%:*}"
	done
elif [ "${ROLLGUARD_E2E_FULL:-0}" = 1 ]; then
	CASES+=" rollback_unlock"
	for c in $CASES; do
		for f in $FAULTS; do
			# only --exercise opens tunnels
			[ "${f#tunnel}" = "$f" ] || [ "$c" = probecheck_exercise ] || continue
			echo "== $c under $f"
			"case_$c" "$f"
		done
	done
else
	# one command per fault class, each a mutation where one exists
	for pair in 429:canary_promote 5xx:rollback reset:canary_start truncate:probecheck stall:canary_abort \
		watch:canary_run watchcut:canary_run tunnel:probecheck_exercise; do
		echo "== ${pair#*:} under ${pair%%:*}"
		"case_${pair#*:}" "${pair%%:*}"
	done
fi

echo "== matrix (command, fault, exit code, fault met, error line)"
column -t -s $'\t' "$MATRIX"
finish
