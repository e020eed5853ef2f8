#!/usr/bin/env bash
# The standalone `helm rollback-safe unlock` killed with SIGKILL at each
# step that mutates (SPEC §8; test builds' ROLLGUARD_TEST_KILL_AT), through
# the real Helm 3 and Helm 4, then the same command run again:
#  - unlock-after-mark: the pending revision's record (body and status
#    label, one write) is marked failed, its description naming the old
#    status; the ReleaseUnlocked Event is not recorded yet;
#  - unlock-after-apply: the Event is recorded too; the run Lease of an
#    interrupted rollback-safe run (when the pending revision was its own)
#    is not removed yet.
# Each for a stale pending-upgrade (a helm SIGKILLed mid-upgrade; unlock
# --force-unlock) and for the pending-rollback of a rollback-safe run
# killed while its helm worked (rollback-during-execute; unlock without
# --force-unlock, the run's Lease recognised). The re-run exits 0 and says
# nothing is pending; the revision was marked failed exactly once (the
# re-run writes no record, and the description names the old status once,
# never "failed"); no record is deleted or added; the run Lease is gone;
# then a rollback-safe rollback goes through. A watcher of the release's
# Deployment pods (e2e/tools/capacity_watch.py) sees its Ready pods never
# below the replicas of the live Deployment and of the rollback's target
# (the chart's 2 in every revision) from before the kill to the end.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
# shellcheck source=../rollback_crash.sh
. "$(dirname "$0")/../rollback_crash.sh"
rs_stages
export ROLLGUARD_TEST_LEASE_SECONDS=5

# unlocked_events REL: the ReleaseUnlocked Events about REL's records.
unlocked_events() {
	kubectl -n "$RS_NS" get events --field-selector reason=ReleaseUnlocked -o json |
		jq --arg p "sh.helm.release.v1.$1.v" '[.items[] | select(.involvedObject.name | startswith($p))] | length'
}
# marked_once REL REV OLD what: the record REV is failed (label and body),
# its description names OLD once and no "failed".
marked_once() {
	local desc
	rs_expect_status "$1" "$2" failed "$4"
	desc=$(rs_body_description "$1" "$2")
	if [ "$(grep -o "was $3" <<<"$desc" | wc -l)" -eq 1 ] && ! grep -q 'was failed' <<<"$desc"; then
		ok "$4: the description names $3 once"
	else
		fail "$4: description '$desc'"
	fi
}

for HELM in helm3 helm4; do
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "${HELM#helm}" || continue
	for point in unlock-after-mark unlock-after-apply; do
		# --- a stale pending-upgrade, unlock --force-unlock.
		rel=u${point#unlock-after-}
		rel=${rel:0:5}
		what="$HELM unlock of a stale pending-upgrade killed at $point"
		if rs_install "$rel" --set "image=registry.example/$rel:1" &&
			rs_upgrade "$rel" --set "image=registry.example/$rel:2" --wait --timeout 30s &&
			rs_stuck_pending_upgrade "$rel" --set "image=registry.example/$rel:3"; then
			capacity_start "$rel" 2
			killed "$point" "$what" unlock "$rel" --force-unlock
			marked_once "$rel" 3 pending-upgrade "$what"
			expect_eq "$(unlocked_events "$rel")" "$([ "$point" = unlock-after-mark ] && echo 0 || echo 1)" "$what: ReleaseUnlocked Events"
			records=$(rs_records_digest "$rel")
			desc=$(rs_body_description "$rel" 3)
			rsafe unlock "$rel" --force-unlock
			expect_rc 0 "$what: the same command again"
			expect_out "nothing to unlock" "$what, re-run"
			expect_eq "$(rs_records_digest "$rel")" "$records" "$what, re-run: no record written (marked failed once)"
			expect_eq "$(rs_body_description "$rel" 3)" "$desc" "$what, re-run: the description as the killed unlock wrote it"
			rs_expect_revisions "$rel" "1 2 3" "$what, re-run: none deleted or added"
			expect_eq "$(lease_of "$rel")" "" "$what, re-run: no run Lease"
			rsafe "$rel" --timeout 60s
			expect_rc 0 "$what: then a rollback"
			rs_expect_revisions "$rel" "1 2 3 4" "$what: then a rollback"
			rs_expect_status "$rel" 4 deployed "$what: then a rollback"
			rs_expect_no_pending "$rel" "$what: then a rollback"
			expect_eq "$(rs_image "$rel")" "registry.example/$rel:2" "$what: then a rollback: Deployment image"
			if rs_rolled_out "$rel" 10s; then ok "$what: then a rollback: rolled out"; else fail "$what: then a rollback: not rolled out"; fi
			expect_eq "$(lease_of "$rel")" "" "$what: then a rollback: Lease released"
			capacity_check "$what" "the kill and the re-runs"
		fi

		# --- the pending-rollback of an interrupted rollback-safe run:
		# unlock recognises the run's Lease (no --force-unlock).
		rel=r${point#unlock-after-}
		rel=${rel:0:5}
		what="$HELM unlock of an interrupted run's pending-rollback killed at $point"
		if rs_install "$rel" --set "image=registry.example/$rel:1" --set hook.enabled=true --set "hook.stage=$RS_SLOWHOOK" &&
			rs_upgrade "$rel" --set "image=registry.example/$rel:2" --wait --timeout 30s; then
			capacity_start "$rel" 1
			killed rollback-during-execute "$what (setup)" "$rel" 1 --timeout 60s
			WAIT_TRIES=25 wait_for helm_child_gone "$rel" || fail "$what (setup): a helm rollback still runs"
			rs_expect_status "$rel" 3 pending-rollback "$what (setup)"
			if [ -n "$(lease_of "$rel")" ]; then ok "$what (setup): the run Lease is there"; else fail "$what (setup): no run Lease"; fi
			killed "$point" "$what" unlock "$rel"
			marked_once "$rel" 3 pending-rollback "$what"
			expect_eq "$(unlocked_events "$rel")" "$([ "$point" = unlock-after-mark ] && echo 0 || echo 1)" "$what: ReleaseUnlocked Events"
			records=$(rs_records_digest "$rel")
			desc=$(rs_body_description "$rel" 3)
			rsafe unlock "$rel"
			expect_rc 0 "$what: the same command again"
			expect_out "nothing to unlock" "$what, re-run"
			expect_eq "$(rs_records_digest "$rel")" "$records" "$what, re-run: no record written (marked failed once)"
			expect_eq "$(rs_body_description "$rel" 3)" "$desc" "$what, re-run: the description as the killed unlock wrote it"
			rs_expect_revisions "$rel" "1 2 3" "$what, re-run: none deleted or added"
			expect_eq "$(lease_of "$rel")" "" "$what, re-run: the interrupted run's Lease removed"
			rsafe "$rel" 1 --timeout 60s
			expect_rc 0 "$what: then a rollback"
			rs_expect_revisions "$rel" "1 2 3 4" "$what: then a rollback"
			rs_expect_status "$rel" 4 deployed "$what: then a rollback"
			rs_expect_status "$rel" 3 failed "$what: then a rollback"
			rs_expect_no_pending "$rel" "$what: then a rollback"
			expect_eq "$(rs_image "$rel")" "registry.example/$rel:1" "$what: then a rollback: Deployment image"
			if rs_rolled_out "$rel" 10s; then ok "$what: then a rollback: rolled out"; else fail "$what: then a rollback: not rolled out"; fi
			expect_eq "$(lease_of "$rel")" "" "$what: then a rollback: Lease released"
			capacity_check "$what" "the kill and the re-runs"
		fi
	done
done

finish
