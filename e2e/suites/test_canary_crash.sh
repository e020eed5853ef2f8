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
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../canary.sh"
export ROLLGUARD_TEST_LEASE_SECONDS=3
N=4


WATCHERS=()
watch_capacity() {
	python3 "$e2e_root/e2e/tools/capacity_watch.py" "$NS" "$1" "$N" "$E2E_TMP/capacity-$1" &
	WATCHERS+=("$!")
	for _ in $(seq 1 50); do [ -s "$E2E_TMP/capacity-$1" ] && break; sleep 0.1; done
}
trap 'kill "${WATCHERS[@]}" 2>/dev/null; e2e_cleanup' EXIT

# killed POINT CMD...: runs the canary binary, which must die at POINT.
killed() {
	local point=$1
	shift
	ROLLGUARD_TEST_KILL_AT=$point run "$CANARY" -n "$NS" "$@"
	expect_rc 137 "killed at $point"
}

# converged NAME OUTCOME: after a run ended (Succeeded or Aborted),
# nothing of the canary is left and D is at N.
converged() {
	local name=$1 outcome=$2 what="$1 after $3"
	expect_eq "$(phase "$name")" "$outcome" "$what: phase"
	expect_eq "$(replicas "$name")" "$N" "$what: D at N"
	expect_eq "$(replicas "$name-canary")" absent "$what: no canary Deployment"
	for _ in $(seq 1 50); do
		[ "$($K get rs,pods -l "app=$name,rollguard.io/track=canary" --no-headers 2>/dev/null | wc -l)" -eq 0 ] && break
		sleep 0.2
	done
	expect_eq "$($K get rs,pods -l "app=$name,rollguard.io/track=canary" --no-headers 2>/dev/null | wc -l)" 0 "$what: no canary ReplicaSet or pod"
	expect_eq "$($K get lease "rollguard-canary-$name" --no-headers 2>/dev/null | wc -l)" 0 "$what: no Lease"
	expect_eq "$($K get deploy "$name" -o jsonpath='{.metadata.labels.rollguard\.io/canary-active}')" "" "$what: not active"
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

# --- the watchers saw every pod event: capacity never dropped below N.
kill "${WATCHERS[@]}" 2>/dev/null
wait "${WATCHERS[@]}" 2>/dev/null
sleep 0.5
for f in "$E2E_TMP"/capacity-*; do
	name=${f##*/capacity-}
	if grep -q VIOLATION "$f"; then
		fail "$name: capacity invariant broken: $(grep VIOLATION "$f" | head -3 | tr '\n' ';')"
	elif grep -q '^max_seen_ready' "$f"; then
		ok "$name: capacity never below $N ($(grep max_seen_ready "$f"))"
	else
		fail "$name: the capacity watcher did not finish"
	fi
done

finish
