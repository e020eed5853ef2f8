# Helpers the helm rollback-safe crash suites share (sourced after
# rollback.sh): rollback-safe run to die at a kill point (a test build's
# ROLLGUARD_TEST_KILL_AT), the run Lease and the helm child it may leave,
# and a watcher of the release's Ready pods from before the kill to the
# end. The EXIT trap it sets stops the watchers, then runs rs_cleanup.
# shellcheck shell=bash

# WATCHERS: the pids of the capacity watchers started (capacity_start).
WATCHERS=()
trap 'kill "${WATCHERS[@]}" 2>/dev/null; rs_cleanup' EXIT

# killed POINT what ARGS...: rollback-safe ARGS with the kill point; the
# plugin must die there (Helm reports a plugin killed by a signal as 255).
killed() {
	local point=$1 what=$2
	shift 2
	ROLLGUARD_TEST_KILL_AT=$point rsafe "$@"
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then ok "$what: killed at $point (exit $RC)"; else fail "$what: not killed at $point (exit $RC)"; fi
}
# lease_of REL: the run Lease of REL ("" when there is none).
lease_of() { kubectl -n "$RS_NS" get lease "rollguard-release-$1" -o name 2>/dev/null; }
# shellcheck disable=SC2317 # called through wait_for
helm_child_gone() { ! rs_helm_rollback_alive "$1"; }

# manifest_replicas REL REV: spec.replicas of the Deployment in revision
# REV's manifest (1 when the manifest leaves it out, as the API server).
manifest_replicas() {
	rs_body_field "$1" "$2" .manifest | awk '/^kind: Deployment/ {d = 1} d && /^  replicas:/ {print $2; found = 1; exit} END {if (!found) print 1}'
}
# capacity_start REL TARGET: watches the Ready pods of REL's Deployment
# (its selector's labels: the chart's pre-rollback hook Job's pods are
# not among them) until capacity_check. The floor is the smaller of the
# live Deployment's replicas and TARGET's: a rollback may legitimately
# change the count between revisions (none of these does: 2 and 2).
capacity_start() {
	local live target
	live=$(rs_replicas "$1")
	target=$(manifest_replicas "$1" "$2")
	CAP_MIN=$((live < target ? live : target))
	CAP_FILE=$E2E_TMP/capacity-$HELM-$1
	python3 "$e2e_root/e2e/tools/capacity_watch.py" "$RS_NS" "app.kubernetes.io/name=rsdemo,app.kubernetes.io/instance=$1" \
		"$CAP_MIN" "$CAP_FILE" &
	CAP_PID=$!
	WATCHERS+=("$CAP_PID")
	for _ in $(seq 1 50); do [ -s "$CAP_FILE" ] && break; sleep 0.1; done
}
# capacity_check what [SPAN]: stops the watcher; no moment below the floor
# through SPAN (default "the kill and the re-run").
capacity_check() {
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	local max
	max=$(sed -n 's/^max_seen_ready //p' "$CAP_FILE")
	if grep -q VIOLATION "$CAP_FILE"; then
		fail "$1: Ready pods dropped below $CAP_MIN: $(grep VIOLATION "$CAP_FILE" | head -3 | tr '\n' ';')"
	elif [ -z "$max" ]; then
		fail "$1: the capacity watcher did not finish"
	elif [ "$max" -lt "$CAP_MIN" ]; then
		fail "$1: the capacity watcher never saw $CAP_MIN Ready pods (at most $max)"
	else
		ok "$1: Ready pods never below $CAP_MIN through ${2:-the kill and the re-run} (at most $max)"
	fi
}
