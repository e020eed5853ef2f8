#!/usr/bin/env bash
# helm rollback-safe and Helm's pending-* lock, through the real Helm 3 and
# Helm 4 (SPEC §5.2 Lock): a release left pending-upgrade by a helm that
# was SIGKILLed mid-upgrade (`helm upgrade --wait` to pods kwok never makes
# Ready, killed once Helm wrote the pending-upgrade record) blocks a
# rollback with its age (exit 5); `unlock` refuses while it is younger than
# --lock-timeout, --force-unlock marks it failed in the label and the body
# with a description naming the old status, never deleting a record; then
# the rollback goes through. `--unlock` honours --lock-timeout with a real
# age. A history that changes between plan and execute (a `helm upgrade`
# during the test builds' ROLLGUARD_TEST_PAUSE_BEFORE_EXECUTE pause) is a
# conflict: exit 6, no rollback revision.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
rs_stages

# paused: the background run has reached its pause before execute (it
# says so on stderr), or has already ended.
# shellcheck disable=SC2317 # called through wait_for
paused() { grep -q "pausing" "$E2E_TMP/race.err" 2>/dev/null || ! kill -0 "$RS_PID" 2>/dev/null; }

for HELM in helm3 helm4; do
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "${HELM#helm}" || continue

	# --- a stuck pending-upgrade.
	rs_install web --set image=registry.example/web:1 || continue
	rs_upgrade web --set image=registry.example/web:2 --wait --timeout 30s || continue
	rs_stuck_pending_upgrade web --set image=registry.example/web:3 || continue
	rs_expect_revisions web "1 2 3" "$HELM setup: killed upgrade"
	rs_expect_status web 3 pending-upgrade "$HELM setup: killed upgrade"
	records=$(rs_records_digest web)
	live=$(rs_live_digest)

	rsafe web --timeout 60s
	expect_rc 5 "$HELM rollback-safe web while revision 3 is pending-upgrade"
	expect_one_error_line "$HELM rollback-safe web while pending"
	expect_err "revision 3" "$HELM rollback-safe web while pending: names the revision"
	expect_err "pending-upgrade" "$HELM rollback-safe web while pending: names the status"
	if grep '^error: ' <<<"$ERR" | grep -qE '[0-9]+(\.[0-9]+)?(ms|s|m|h)\b'; then ok "$HELM rollback-safe web while pending: gives its age"; else fail "$HELM rollback-safe web while pending: no age in the error line"; fi
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM rollback-safe web while pending: nothing changed"

	rsafe plan web
	expect_rc 5 "$HELM plan web while pending"
	expect_eq "$(rs_records_digest web)" "$records" "$HELM plan web while pending: nothing changed"

	rsafe unlock web
	expect_rc 5 "$HELM unlock web (younger than --lock-timeout 10m)"
	expect_one_error_line "$HELM unlock web (young)"
	expect_err "lock-timeout" "$HELM unlock web (young): names --lock-timeout"
	expect_eq "$(rs_records_digest web)" "$records" "$HELM unlock web (young): nothing changed"
	rs_expect_status web 3 pending-upgrade "$HELM unlock web (young)"

	rsafe web --unlock --timeout 60s
	expect_rc 5 "$HELM rollback-safe web --unlock (young)"
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM rollback-safe web --unlock (young): nothing changed"

	rsafe unlock web --force-unlock
	expect_rc 0 "$HELM unlock web --force-unlock"
	rs_expect_status web 3 failed "$HELM unlock web --force-unlock"
	if rs_body_description web 3 | grep -q pending-upgrade; then ok "$HELM unlock --force-unlock: the description names pending-upgrade"; else fail "$HELM unlock --force-unlock: description '$(rs_body_description web 3)'"; fi
	rs_expect_revisions web "1 2 3" "$HELM unlock web --force-unlock: no record deleted or added"
	rs_expect_status web 2 deployed "$HELM unlock web --force-unlock: revision 2 untouched"
	expect_eq "$(rs_body_field web 3 .config.image)" registry.example/web:3 "$HELM unlock web --force-unlock: the rest of the body kept"
	expect_eq "$(rs_body_field web 3 .manifest | grep -c 'kind: Deployment')" 1 "$HELM unlock web --force-unlock: the manifest kept"
	expect_eq "$(rs_live_digest)" "$live" "$HELM unlock web --force-unlock: no live object touched"

	# Nothing pending any more: unlock says so and changes nothing.
	records=$(rs_records_digest web)
	rsafe unlock web
	expect_rc 0 "$HELM unlock web with nothing pending"
	if [ -n "$OUT$ERR" ]; then ok "$HELM unlock web with nothing pending: says so"; else fail "$HELM unlock web with nothing pending: silent"; fi
	expect_eq "$(rs_records_digest web)" "$records" "$HELM unlock web with nothing pending: nothing changed"

	rsafe web --timeout 60s
	expect_rc 0 "$HELM rollback-safe web after the unlock"
	rs_expect_revisions web "1 2 3 4" "$HELM rollback-safe web after the unlock"
	rs_expect_status web 4 deployed "$HELM rollback-safe web after the unlock"
	rs_expect_status web 3 failed "$HELM rollback-safe web after the unlock"
	rs_expect_status web 2 superseded "$HELM rollback-safe web after the unlock"
	expect_eq "$(rs_image web)" registry.example/web:2 "$HELM rollback-safe web after the unlock: Deployment image"
	if rs_rolled_out web 10s; then ok "$HELM rollback-safe web after the unlock: rolled out"; else fail "$HELM rollback-safe web after the unlock: not rolled out"; fi
	rs_expect_no_pending web "$HELM rollback-safe web after the unlock"

	# --- --unlock with a real age past --lock-timeout: unlocks, rolls back.
	rs_install old --set image=registry.example/old:1 || continue
	rs_stuck_pending_upgrade old --set image=registry.example/old:2 || continue
	sleep 4
	rsafe old --unlock --lock-timeout 2s --timeout 60s -o json
	expect_rc 0 "$HELM rollback-safe old --unlock --lock-timeout 2s (pending for 4s)"
	expect_eq "$(jqo .targetRevision)/$(jqo .newRevision)" "1/3" "$HELM rollback-safe old --unlock: revisions"
	rs_expect_status old 2 failed "$HELM rollback-safe old --unlock"
	if rs_body_description old 2 | grep -q pending-upgrade; then ok "$HELM rollback-safe old --unlock: the description names pending-upgrade"; else fail "$HELM rollback-safe old --unlock: description '$(rs_body_description old 2)'"; fi
	rs_expect_status old 3 deployed "$HELM rollback-safe old --unlock"
	rs_expect_revisions old "1 2 3" "$HELM rollback-safe old --unlock"
	expect_eq "$(rs_image old)" registry.example/old:1 "$HELM rollback-safe old --unlock: Deployment image"

	# --- the history changes between plan and execute: exit 6.
	rs_install race --set image=registry.example/race:1 || continue
	rs_upgrade race --set image=registry.example/race:2 || continue
	ROLLGUARD_TEST_PAUSE_BEFORE_EXECUTE=8 rs_start race "$HELM" rollback-safe race --timeout 60s -n "$RS_NS"
	WAIT_TRIES=50 wait_for paused || echo "  note: no 'pausing' line from the run within 10s" >&2
	rs_run "$HELM" upgrade race "$RS_CHART" -n "$RS_NS" --set image=registry.example/race:3
	expect_rc 0 "$HELM upgrade race during the pause"
	rs_finish race
	expect_rc 6 "$HELM rollback-safe race: history changed since the plan"
	expect_one_error_line "$HELM rollback-safe race (conflict)"
	expect_err "changed" "$HELM rollback-safe race (conflict): says the history changed"
	rs_expect_revisions race "1 2 3" "$HELM rollback-safe race (conflict): no rollback revision"
	rs_expect_status race 3 deployed "$HELM rollback-safe race (conflict)"
	expect_eq "$(rs_image race)" registry.example/race:3 "$HELM rollback-safe race (conflict): Deployment as the upgrade left it"
	expect_eq "$(kubectl -n "$RS_NS" get lease rollguard-release-race -o name 2>/dev/null)" "" "$HELM rollback-safe race (conflict): run Lease released"
done

finish
