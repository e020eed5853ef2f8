#!/usr/bin/env bash
# Crash safety of kubectl canary (SPEC §1.4, §3.6, §8): the test build
# kills itself with SIGKILL at each named mutation step of start, promote
# (a rung and the finish) and abort (ROLLGUARD_TEST_KILL_AT); then the same
# command, or abort, is run again. It must converge: the state consistent,
# nothing orphaned (no canary Deployment, ReplicaSet, pod or Lease after
# the run ends), and the capacity invariant (Ready pods of both tracks >=
# the original count) never broken, as a watcher beside the test records
# from every pod event. The Lease a killed process leaves is waited out
# (shortened to 3 s in test builds).
# `run` reaches the same kill points: one run is killed at every step of
# its way (start, a rung mid-ladder, the finish) and run again each time
# until it succeeds; a run killed mid-ladder is aborted; run's own abort
# (--timeout) killed half-way is finished by the next run (promote refuses
# to undo it). Blue-green: start killed once it pinned the Service, and
# promote killed right after the Service switch, then promote again or
# abort (back on blue, the Service exactly as it was).
# The traffic routers' kill points are test_canary_crash_routers.sh's.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../canary.sh
. "$(dirname "$0")/../canary.sh"
export ROLLGUARD_TEST_LEASE_SECONDS=3
N=4
trap 'kill "${WATCHERS[@]}" 2>/dev/null; e2e_cleanup' EXIT

# converged NAME OUTCOME: after a run ended (Succeeded or Aborted),
# nothing of the canary is left and D is at N.
converged() {
	local name=$1 outcome=$2 what="$1 after $3"
	expect_eq "$(phase "$name")" "$outcome" "$what: phase"
	expect_eq "$(replicas "$name")" "$N" "$what: D at N"
	expect_eq "$(replicas "$name-canary")" absent "$what: no canary Deployment"
	run_left_nothing "$name" "$what"
}

START="--image app=registry.example/IMG:2.0 --steps 25,50,100 --pause 0"

# --- start killed after writing its intent / after creating the canary:
# start again converges to the first rung; abort converges too.
i=0
for point in start-after-intent start-after-create; do
	for then in start abort; do
		i=$((i + 1))
		name=s$i
		app "$name" "$N"
		watch_capacity "$name"
		killed "$point" start "$name" ${START//IMG/$name}
		if [ "$then" = start ]; then
			run "$CANARY" -n "$NS" start "$name" ${START//IMG/$name}
			expect_rc 0 "$point, start again"
			expect_eq "$(phase "$name")" Paused "$point, start again: phase"
			expect_eq "$(replicas "$name-canary")/$(replicas "$name")" "1/3" "$point, start again: split"
			run "$CANARY" -n "$NS" abort "$name"
			expect_rc 0 "$point, start again, abort"
		else
			run "$CANARY" -n "$NS" abort "$name"
			expect_rc 0 "$point, abort"
		fi
		converged "$name" Aborted "$point then $then"
	done
done

# --- promote killed after scaling the canary (intent on it) and after
# committing: promote again / abort converge.
for point in promote-after-canary-scale promote-after-commit; do
	i=$((i + 1))
	name=p$i
	app "$name" "$N"
	watch_capacity "$name"
	run "$CANARY" -n "$NS" start "$name" ${START//IMG/$name}
	expect_rc 0 "$name: start"
	killed "$point" promote "$name"
	if [ "$point" = promote-after-commit ]; then
		expect_eq "$(state "$name" | jq -r .weight)" 50 "$point: the rung is committed"
		expect_eq "$(replicas "$name-canary")/$(replicas "$name")" "2/2" "$point: split"
	else
		run "$CANARY" -n "$NS" promote "$name"
		expect_rc 0 "$point, promote again"
		expect_eq "$(state "$name" | jq -r .weight)" 50 "$point, promote again: weight"
		expect_eq "$(replicas "$name-canary")/$(replicas "$name")" "2/2" "$point, promote again: split"
	fi
	run "$CANARY" -n "$NS" abort "$name"
	expect_rc 0 "$point: abort"
	converged "$name" Aborted "$point then abort"
done

# --- the finish killed after D got the new template / after the canary
# was deleted: promote --full again finishes; abort after the template
# was written restores the stable template.
for point in finish-after-template finish-after-delete; do
	for then in promote abort; do
		[ "$point" = finish-after-delete ] && [ "$then" = abort ] && continue
		i=$((i + 1))
		name=f$i
		app "$name" "$N"
		watch_capacity "$name"
		run "$CANARY" -n "$NS" start "$name" ${START//IMG/$name}
		killed "$point" promote "$name" --full
		if [ "$then" = promote ]; then
			run "$CANARY" -n "$NS" promote "$name" --full
			expect_rc 0 "$point, promote again"
			converged "$name" Succeeded "$point then promote"
			expect_eq "$($K get deploy "$name" -o jsonpath='{.spec.template.spec.containers[0].image}')" "registry.example/$name:2.0" "$point: new template"
		else
			run "$CANARY" -n "$NS" abort "$name"
			expect_rc 0 "$point, abort"
			converged "$name" Aborted "$point then abort"
			expect_eq "$($K get deploy "$name" -o jsonpath='{.spec.template.spec.containers[0].image}')" "registry.example/$name:1.0" "$point then abort: stable template restored"
		fi
	done
done

# --- abort killed after scaling stable back / after deleting the canary:
# abort again converges.
for point in abort-after-stable-scale abort-after-delete; do
	i=$((i + 1))
	name=a$i
	app "$name" "$N"
	watch_capacity "$name"
	run "$CANARY" -n "$NS" start "$name" ${START//IMG/$name}
	run "$CANARY" -n "$NS" promote "$name"
	killed "$point" abort "$name"
	run "$CANARY" -n "$NS" abort "$name"
	expect_rc 0 "$point, abort again"
	converged "$name" Aborted "$point then abort"
done

# --- run: the same engine steps, each kill point reached by `run` itself.
# One run killed again and again, each time one step further: after the
# start's intent, after creating the canary, after committing rung 1
# (25%), mid-ladder after scaling the canary for rung 2 (its intent on
# D-canary) and after committing it, after the finish wrote the template
# (rung 3 walked on the way), after the finish deleted the canary. Each
# re-run is the same command, as a CI job retried; the last one ends
# Succeeded.
RUN4="--image app=registry.example/IMG:2.0 --steps 25,50,75,100 --pause 0"
name=run1
app "$name" "$N"
watch_capacity "$name"
commits=0
for point in start-after-intent start-after-create promote-after-commit promote-after-canary-scale \
	promote-after-commit finish-after-template finish-after-delete; do
	killed "$point" run "$name" ${RUN4//IMG/$name}
	what="run killed at $point"
	case $point in
	start-after-intent) expect_eq "$(phase "$name")/$(state "$name" | jq -r '.intent.action')/$(replicas "$name-canary")" "Progressing/start/absent" "$what: the run recorded, nothing created" ;;
	start-after-create) expect_eq "$(replicas "$name-canary")/$(replicas "$name")" "1/4" "$what: canary created, stable untouched" ;;
	promote-after-canary-scale) expect_eq "$(state "$name" | jq -r .weight)/$(replicas "$name-canary")/$(replicas "$name")" "25/2/3" "$what: mid-ladder, canary up for 50%, stable not yet down" ;;
	promote-after-commit)
		commits=$((commits + 1))
		expect_eq "$(phase "$name")/$(state "$name" | jq -r .weight)/$(replicas "$name-canary")/$(replicas "$name")" \
			"Paused/$((25 * commits))/$commits/$((N - commits))" "$what: rung $commits committed"
		;;
	finish-after-template) expect_eq "$(phase "$name")/$(image "$name")/$(replicas "$name")" "Promoting/registry.example/$name:2.0/4" "$what: D has the new template and N" ;;
	finish-after-delete) expect_eq "$(phase "$name")/$(replicas "$name-canary")" "Promoting/absent" "$what: canary deleted, run not ended" ;;
	esac
done
run "$CANARY" -n "$NS" run "$name" ${RUN4//IMG/$name}
expect_rc 0 "run killed seven times: run again"
converged "$name" Succeeded "run killed seven times, run again"
expect_eq "$(image "$name")" "registry.example/$name:2.0" "run killed seven times: D has the new template"
expect_eq "$(state "$name" | jq -r .weight)" 100 "run killed seven times: weight 100"

# --- run killed mid-ladder (rung 2's canary scaled), then abort.
name=run2
app "$name" "$N"
watch_capacity "$name"
killed promote-after-commit run "$name" ${RUN4//IMG/$name}
killed promote-after-canary-scale run "$name" ${RUN4//IMG/$name}
run "$CANARY" -n "$NS" abort "$name"
expect_rc 0 "run killed mid-ladder: abort"
converged "$name" Aborted "run killed mid-ladder, abort"
expect_eq "$(image "$name")" "registry.example/$name:1.0" "run killed mid-ladder, abort: stable template"

# --- run's own abort (--timeout expired) killed after it recorded the
# abort (D back at N) / after it deleted the canary: promote refuses to
# undo it (exit 5), run again finishes the abort (exit 1, phase Aborted,
# the first reason kept).
for point in abort-after-stable-scale abort-after-delete; do
	i=$((i + 1))
	name=ra$i
	app "$name" "$N"
	watch_capacity "$name"
	killed "$point" run "$name" --image "app=registry.example/$name:2.0" --steps 25,50,100 --pause 1h --timeout 3s
	expect_eq "$(state "$name" | jq -r '.intent.action')/$(replicas "$name")" "abort/4" "run's abort killed at $point: intent abort, D at N"
	run "$CANARY" -n "$NS" promote "$name"
	expect_rc 5 "run's abort killed at $point: promote refuses"
	expect_err "the abort of canary run" "run's abort killed at $point: promote says why"
	run "$CANARY" -n "$NS" run "$name"
	expect_rc 1 "run's abort killed at $point: run again finishes the abort"
	expect_err "finishing the interrupted abort" "run's abort killed at $point: run says so"
	converged "$name" Aborted "run's abort killed at $point, run again"
	expect_eq "$(state "$name" | jq -r .reason)" "run --timeout expired" "run's abort killed at $point: the reason kept"
done

# --- blue-green: start killed once it pinned the Service to blue, start
# again; promote killed right after it switched the Service to green (the
# switch not committed), promote again commits it, promote --full
# finishes; a second run killed at the same point is aborted: back on
# blue, the Service exactly as it was.
# bg_svc NAME: a digest of the Service as the user wrote it (server-set
# metadata left out).
bg_svc() { $K get svc "$1" -o json | jq -cS '{labels: .metadata.labels, annotations: .metadata.annotations, spec: .spec}' | sha256sum | cut -c1-16; }
bg_track() { $K get svc "$1" -o json | jq -r '.spec.selector["rollguard.io/track"] // "blue"'; }
# bg_gone NAME ORIGINAL_SERVICE WHAT: nothing of the run is left.
bg_gone() {
	local what=$3
	expect_eq "$(replicas "$1-green")" absent "$what: no green Deployment"
	expect_eq "$(bg_svc "$1")" "$2" "$what: the Service exactly as it was"
	run_left_nothing "$1" "$what" green
	expect_eq "$(replicas "$1")" "$N" "$what: D at N"
}
for then in promote abort; do
	name=bg-$then
	APP_SERVICE=1 app "$name" "$N"
	orig_svc=$(bg_svc "$name")
	watch_capacity "$name"
	BG="--image app=registry.example/$name:2.0 --strategy blue-green"
	if [ $then = promote ]; then
		killed start-after-pin start "$name" $BG
		expect_eq "$($K get svc "$name" -o json | jq -r '.spec.selector["pod-template-hash"] // "none"')" "$($K get rs -l "app=$name" -o json | jq -r '[.items[] | select(.spec.replicas > 0) | .metadata.labels["pod-template-hash"]] | first')" "blue-green start killed at start-after-pin: Service pinned to blue"
	fi
	run "$CANARY" -n "$NS" start "$name" $BG
	expect_rc 0 "blue-green $then: start"
	killed promote-after-switch promote "$name"
	expect_eq "$(bg_track "$name")/$(state "$name" | jq -r .stepIndex)" "green/-1" "blue-green killed at promote-after-switch: Service on green, the switch not committed"
	if [ $then = promote ]; then
		run "$CANARY" -n "$NS" promote "$name"
		expect_rc 0 "blue-green killed at promote-after-switch: promote again"
		expect_eq "$(bg_track "$name")/$(state "$name" | jq -r '"\(.stepIndex) \(.weight) \(.phase)"')" "green/0 100 Paused" "blue-green promote again: traffic on green, committed"
		run "$CANARY" -n "$NS" promote "$name" --full
		expect_rc 0 "blue-green: promote --full"
		expect_eq "$(phase "$name")/$(image "$name")" "Succeeded/registry.example/$name:2.0" "blue-green promote again, --full: D has the new template"
	else
		run "$CANARY" -n "$NS" abort "$name"
		expect_rc 0 "blue-green killed at promote-after-switch: abort"
		expect_eq "$(phase "$name")/$(image "$name")" "Aborted/registry.example/$name:1.0" "blue-green abort after the switch: back on blue"
	fi
	bg_gone "$name" "$orig_svc" "blue-green killed at promote-after-switch, then $then"
done

# --- the watchers saw every pod event: capacity never dropped below N.
capacity_verdicts

finish
