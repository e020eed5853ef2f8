#!/usr/bin/env bash
# Crash safety of kubectl canary's traffic routers (SPEC §3.2, §3.6, §8),
# with the upstream CRDs (e2e/cluster/build.sh crds) installed as
# test_canary_routers.sh does: the test build kills itself with SIGKILL
# (ROLLGUARD_TEST_KILL_AT) right after each write a traffic router makes:
#   start-after-canary-service   start created the canary Service
#   start-after-route-save       start saved the routing object's spec on it
#                                (smi without a TrafficSplit: created one)
#   start-after-pin              start pinned D's Service to the stable pods
#   route-after-write            the weight written into the routing object
#                                (nginx: the canary Ingress) -- in start's
#                                first rung, in promote's rung, in the finish
#   cleanup-after-unpin          the finish's cleanup restored the Service
#   cleanup-after-route-restore  ... and the routing object
# For gateway and smi (the HTTPRoute's weights, the TrafficSplit's
# backends), and the rung write for nginx and istio:
#   - the chain: one run killed at each point in turn, the same command run
#     again each time; it converges (the state and the routing object as
#     the step wants them) and the last promote --full ends Succeeded with
#     the routing object and the Service exactly as the user wrote them;
#   - abort after each kill: the routing object and the Service come back
#     exactly (compared as JSON: labels, annotations, spec), D's template
#     too;
# and after every run: no D-canary (nor its ReplicaSets and pods), no
# canary Service, no nginx copy or created TrafficSplit, no Lease, no
# active label, D at N; a watcher of every pod event saw the Ready pods of
# both tracks stay at or above N. The groups (the chain and the aborts
# for gateway and smi, smi creating its own TrafficSplit, nginx, istio)
# run side by side, each on its own Deployment (each mostly waits out the
# 3 s Leases its killed processes leave and the routers' 5 s settle
# delay); their output is printed group by group.
# Like test_canary_routers.sh (which also deletes Istio's CRD for a
# while), this suite must not run beside it: both install the CRDs and
# remove those they installed.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../canary.sh
. "$(dirname "$0")/../canary.sh"
# shellcheck source=../routers.sh
. "$(dirname "$0")/../routers.sh"
export ROLLGUARD_TEST_LEASE_SECONDS=3
N=3

JOBS=()
crash_routers_cleanup() {
	[ ${#JOBS[@]} -eq 0 ] || kill "${JOBS[@]}" 2>/dev/null
	[ ${#WATCHERS[@]} -eq 0 ] || kill "${WATCHERS[@]}" 2>/dev/null
	e2e_cleanup
	routers_crds_remove
}
trap crash_routers_cleanup EXIT
routers_crds_install

# svc_pin NAME: the pod-template-hash and track in the Service's selector.
svc_pin() { $K get svc "$1" -o json | jq -r '"\(.spec.selector["pod-template-hash"] // "-") \(.spec.selector["rollguard.io/track"] // "-")"'; }
digest() { sha256sum | cut -c1-16; }
# dg TEXT: its digest (a passing check stays one short line).
dg() { printf '%s' "$1" | digest; }
# step NAME: "phase stepIndex weight" of the run's state.
step() { state "$1" | jq -r '"\(.phase) \(.stepIndex) \(.weight)"'; }

# nothing_left NAME ROUTER OUTCOME what: the run ended as OUTCOME, the
# routing object and the Service are exactly what the user wrote
# (ORIG_ROUTE, ORIG_SVC of the group) and nothing of rollguard's is left.
nothing_left() {
	local name=$1 router=$2 what="$4"
	expect_eq "$(phase "$name")" "$3" "$what: phase"
	expect_eq "$(dg "$(obj "$(type_of "$router")" "$name")")" "$(dg "$ORIG_ROUTE")" "$what: the $(type_of "$router") exactly as it was"
	expect_eq "$(dg "$(obj service "$name")")" "$(dg "$ORIG_SVC")" "$what: the Service exactly as it was"
	expect_eq "$(exists service "$name-canary")/$(exists ingress "$name-canary")/$(exists $TS "$name-canary")/$(replicas "$name-canary")" \
		"no/no/no/absent" "$what: no canary Service, Ingress copy, TrafficSplit or Deployment"
	run_left_nothing "$name" "$what"
	expect_eq "$(replicas "$name")" "$N" "$what: D at N"
}

# --- chain ROUTER: one run killed at each point in turn, the same command
# run again each time.
chain() {
	local r=$1 name=c-$1 type hash
	type=$(type_of "$r")
	hash=$(stable_hash "$name")
	local S="--image app=registry.example/$name:2.0 --steps 20,60 --pause 0 --router $r"
	# shellcheck disable=SC2086 # S is words
	{
		killed start-after-canary-service start "$name" $S
		expect_eq "$(exists service "$name-canary")/$(dg "$(obj "$type" "$name")")/$(svc_pin "$name")" \
			"yes/$(dg "$ORIG_ROUTE")/- -" "start-after-canary-service: canary Service there, the $type and the Service untouched"
		if [ "$r" != nginx ]; then
			killed start-after-route-save start "$name" $S
			expect_eq "$($K get "$type" "$name" -o json | jq -r '.metadata.annotations["rollguard.io/routed-by"]')/$($K get "$type" "$name" -o json | jq -cS .spec | digest)" \
				"$name/$(jq -cS .spec <<<"$ORIG_ROUTE" | digest)" "start-after-route-save: the spec saved, not yet changed"
		fi
		killed start-after-pin start "$name" $S
		expect_eq "$(svc_pin "$name")/$(replicas "$name-canary")" "$hash -/absent" "start-after-pin: the Service pinned to the stable pods, no canary yet"
		killed route-after-write start "$name" $S
		expect_eq "$(weights "$r" "$name")/$(step "$name")" "$(wt "$r" "$name" 20)/Progressing -1 0" "route-after-write in start: 20% written, the rung not committed"
		run "$CANARY" -n "$NS" start "$name" $S
		expect_rc 0 "start again"
		expect_eq "$(weights "$r" "$name")/$(step "$name")/$(replicas "$name-canary")" "$(wt "$r" "$name" 20)/Paused 0 20/$N" "start again: rung 1 committed"
		rung_killed "$r" "$name"
		killed route-after-write promote "$name" --full
		expect_eq "$(weights "$r" "$name")/$(phase "$name")/$(image "$name")" "$(wt "$r" "$name" 100)/Paused/registry.example/$name:1.0" \
			"route-after-write in the finish: all traffic on the canary, D not yet changed"
		killed cleanup-after-unpin promote "$name" --full
		expect_eq "$(phase "$name")/$(image "$name")/$(dg "$(obj service "$name")")/$(weights "$r" "$name")" \
			"Promoting/registry.example/$name:2.0/$(dg "$ORIG_SVC")/$(wt "$r" "$name" 100)" "cleanup-after-unpin: D rolled out, the Service restored, the route not yet"
		killed cleanup-after-route-restore promote "$name" --full
		expect_eq "$(dg "$(obj "$type" "$name")")/$(exists ingress "$name-canary")/$(exists service "$name-canary")" \
			"$(dg "$ORIG_ROUTE")/no/yes" "cleanup-after-route-restore: the $type restored, the canary Service still there"
		run "$CANARY" -n "$NS" promote "$name" --full
		expect_rc 0 "promote --full again"
	}
	nothing_left "$name" "$r" Succeeded "the chain, promote --full again"
	expect_eq "$(image "$name")" "registry.example/$name:2.0" "the chain: D has the new template"
}
# rung_killed ROUTER NAME: promote killed right after it wrote rung 2's
# weight (60%, not committed), then promote again commits the rung.
rung_killed() {
	killed route-after-write promote "$2"
	expect_eq "$(weights "$1" "$2")/$(step "$2")" "$(wt "$1" "$2" 60)/Paused 0 20" "route-after-write in promote: 60% written, not committed"
	run "$CANARY" -n "$NS" promote "$2"
	expect_rc 0 "promote again"
	expect_eq "$(weights "$1" "$2")/$(step "$2")" "$(wt "$1" "$2" 60)/Paused 1 60" "promote again: rung 2 committed"
}
# wt ROUTER NAME W: what weights() shows at W%.
wt() {
	if [ "$1" = nginx ]; then echo "$2-canary=$3 canary=true"; else echo "$2=$((100 - $3)) $2-canary=$3"; fi
}

# --- aborts ROUTER: a run killed at each point (in start, promote, the
# finish or an abort), then abort: everything exactly as it was.
aborts() {
	local r=$1 name=a-$1 c cmd point tpl
	local S="--image app=registry.example/$name:2.0 --steps 20,60 --pause 0 --router $r"
	tpl=$($K get deploy "$name" -o json | jq -cS .spec.template | digest)
	local cases="start:start-after-canary-service start:start-after-route-save start:start-after-pin start:route-after-write
		promote:route-after-write full:route-after-write full:cleanup-after-unpin full:cleanup-after-route-restore
		abort:cleanup-after-unpin"
	[ "$r" = nginx ] && cases=${cases/start:start-after-route-save/}
	# shellcheck disable=SC2086 # S is words
	for c in $cases; do
		cmd=${c%%:*}
		point=${c#*:}
		case $cmd in
		start) killed "$point" start "$name" $S ;;
		*)
			run "$CANARY" -n "$NS" start "$name" $S
			expect_rc 0 "start (for $c)"
			case $cmd in
			promote) killed "$point" promote "$name" ;;
			full) killed "$point" promote "$name" --full ;;
			abort) killed "$point" abort "$name" ;;
			esac
			;;
		esac
		run "$CANARY" -n "$NS" abort "$name"
		expect_rc 0 "$cmd killed at $point: abort"
		nothing_left "$name" "$r" Aborted "$cmd killed at $point, abort"
		expect_eq "$($K get deploy "$name" -o json | jq -cS .spec.template | digest)/$(image "$name")" "$tpl/registry.example/$name:1.0" \
			"$cmd killed at $point, abort: D's template exactly as it was"
	done
}

# --- smi without a TrafficSplit: start creates one for the run (D-canary);
# killed right after, abort deletes it; killed at the first rung, start
# again converges; abort deletes it.
smi_own() {
	local name=o-smi
	local S="--image app=registry.example/$name:2.0 --steps 25 --router smi"
	# shellcheck disable=SC2086 # S is words
	{
		killed start-after-route-save start "$name" $S
		expect_eq "$($K get $TS "$name-canary" -o json | jq -r '.metadata.labels["app.kubernetes.io/managed-by"]')/$(weights smi "$name-canary")" \
			"rollguard/$name=100" "smi, no TrafficSplit: killed after creating one for the run"
		run "$CANARY" -n "$NS" abort "$name"
		expect_rc 0 "smi, created TrafficSplit: abort"
		nothing_left "$name" smi Aborted "smi, created TrafficSplit, abort"
		killed route-after-write start "$name" $S
		run "$CANARY" -n "$NS" start "$name" $S
		expect_rc 0 "smi, created TrafficSplit, killed at its first weight: start again"
		expect_eq "$(weights smi "$name-canary")/$(step "$name")" "$name=75 $name-canary=25/Paused 0 25" "smi, created TrafficSplit, start again: rung 1"
		run "$CANARY" -n "$NS" abort "$name"
		expect_rc 0 "smi, created TrafficSplit, start again: abort"
	}
	nothing_left "$name" smi Aborted "smi, created TrafficSplit, start again, abort"
}

# --- nginx and istio: the rung's write killed in promote, promote again,
# then the finish killed right after its write, abort.
short() {
	local r=$1 name=s-$1
	local S="--image app=registry.example/$name:2.0 --steps 20,60 --pause 0 --router $r"
	# shellcheck disable=SC2086 # S is words
	{
		run "$CANARY" -n "$NS" start "$name" $S
		expect_rc 0 "start"
		rung_killed "$r" "$name"
		killed route-after-write promote "$name" --full
		expect_eq "$(weights "$r" "$name")/$(image "$name")" "$(wt "$r" "$name" 100)/registry.example/$name:1.0" "route-after-write in the finish: all traffic on the canary"
		run "$CANARY" -n "$NS" abort "$name"
		expect_rc 0 "the finish killed at route-after-write: abort"
	}
	nothing_left "$name" "$r" Aborted "the finish killed at route-after-write, abort"
}

# --- the objects, the watchers, then the groups side by side.
GROUPS_RUN="chain:gateway chain:smi aborts:gateway aborts:smi smi_own:smi short:nginx short:istio"
declare -A ROUTE SVC
for g in $GROUPS_RUN; do
	fn=${g%%:*}
	r=${g#*:}
	case $fn in chain) name=c-$r ;; aborts) name=a-$r ;; smi_own) name=o-smi ;; short) name=s-$r ;; esac
	routed "$name"
	[ "$fn" = smi_own ] || route_object "$r" "$name" | $K apply -f - >/dev/null
	ROUTE[$g]=$(obj "$(type_of "$r")" "$name")
	[ "$fn" = smi_own ] && ROUTE[$g]=$(obj "$TS" "$name")
	SVC[$g]=$(obj service "$name")
	watch_capacity "$name"
done
started=$SECONDS
for g in $GROUPS_RUN; do
	(
		SUITE=$SUITE/$g # ok and fail name the group
		E2E_TMP=$E2E_TMP/group-$g
		mkdir -p "$E2E_TMP"
		E2E_FAILURES=0
		ORIG_ROUTE=${ROUTE[$g]}
		ORIG_SVC=${SVC[$g]}
		"${g%%:*}" "${g#*:}"
		exit $((E2E_FAILURES > 0))
	) >"$E2E_TMP/log-$g" 2>&1 &
	JOBS+=("$!")
done
i=0
for g in $GROUPS_RUN; do
	wait "${JOBS[$i]}"
	rc=$?
	echo "## $g ($((SECONDS - started)) s after the groups started)"
	cat "$E2E_TMP/log-$g"
	if [ $rc -ne 0 ]; then
		E2E_FAILURES=$((E2E_FAILURES + $(grep -c '^FAIL ' "$E2E_TMP/log-$g")))
		[ "$(grep -c '^FAIL ' "$E2E_TMP/log-$g")" -gt 0 ] || { RC=$rc; OUT=""; ERR=""; fail "$g: the group exited $rc"; }
	fi
	i=$((i + 1))
done
JOBS=()

# --- the watchers saw every pod event: capacity never dropped below N.
capacity_verdicts

finish
