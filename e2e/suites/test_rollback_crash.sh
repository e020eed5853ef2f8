#!/usr/bin/env bash
# helm rollback-safe killed with SIGKILL at each step that mutates (SPEC §8,
# test builds' ROLLGUARD_TEST_KILL_AT), through the real Helm 3 and Helm 4,
# then the same command run again: it exits 0, the release converges (the
# newest revision deployed with the target's image, no pending-* left) and
# no record is ever deleted.
#  - rollback-after-unlock: after `--unlock --force-unlock` marked a stuck
#    pending-upgrade (a helm SIGKILLed mid-upgrade) failed, before helm runs;
#  - rollback-during-execute: once helm's new revision is on record as
#    pending-rollback. The target revision's pre-rollback hook Job runs
#    RS_SLOW_HOOK_S seconds (a kwok Stage keeps its pod Running), so helm
#    is still working; its PR_SET_PDEATHSIG makes it die with the plugin,
#    which leaves the release pending-rollback. The re-run recognises that
#    revision as its own run's (Lease rollguard-release-REL) and repairs it
#    without --force-unlock;
#  - rollback-during-verify: helm has finished; the re-run verifies.
# ROLLGUARD_TEST_LEASE_SECONDS=5 (test builds) shortens the run Lease a
# re-run waits out.
# A watcher of every pod event of the release's Deployment (e2e/tools/
# capacity_watch.py) runs from before the kill until the re-run rolled
# out: its Ready pods never drop below the smaller of the replica counts
# of the live Deployment and of the target revision (the chart's 2 in
# every revision here, so 2). The standalone `unlock` killed half-way is
# test_rollback_crash_unlock.sh's.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
# shellcheck source=../rollback_crash.sh
. "$(dirname "$0")/../rollback_crash.sh"
rs_stages
export ROLLGUARD_TEST_LEASE_SECONDS=5

# kept REL "REVS" what: every revision in REVS is still in storage.
kept() {
	local rev have missing=""
	have=" $(rs_revisions "$1") "
	for rev in $2; do [[ $have == *" $rev "* ]] || missing+=" $rev"; done
	if [ -z "$missing" ]; then ok "$3: no record deleted"; else fail "$3: records deleted:$missing"; fi
}

for HELM in helm3 helm4; do
	h=${HELM#helm}
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "$h" || continue

	# --- rollback-after-unlock.
	what="$HELM kill after unlock"
	if rs_install unl --set image=registry.example/unl:1 &&
		rs_upgrade unl --set image=registry.example/unl:2 --wait --timeout 30s &&
		rs_stuck_pending_upgrade unl --set image=registry.example/unl:3; then
		cmd=(unl --unlock --force-unlock --timeout 60s)
		capacity_start unl 2
		killed rollback-after-unlock "$what" "${cmd[@]}"
		rs_expect_status unl 3 failed "$what"
		if rs_body_description unl 3 | grep -q pending-upgrade; then ok "$what: the description names pending-upgrade"; else fail "$what: description '$(rs_body_description unl 3)'"; fi
		rs_expect_revisions unl "1 2 3" "$what: helm never ran"
		expect_eq "$(rs_image unl)" registry.example/unl:3 "$what: live Deployment untouched"
		rsafe "${cmd[@]}"
		expect_rc 0 "$what: the same command again"
		rs_expect_revisions unl "1 2 3 4" "$what, re-run"
		rs_expect_status unl 4 deployed "$what, re-run"
		rs_expect_status unl 3 failed "$what, re-run"
		rs_expect_status unl 2 superseded "$what, re-run"
		rs_expect_no_pending unl "$what, re-run"
		expect_eq "$(rs_image unl)" registry.example/unl:2 "$what, re-run: Deployment image"
		if rs_rolled_out unl 10s; then ok "$what, re-run: rolled out"; else fail "$what, re-run: not rolled out"; fi
		expect_eq "$(lease_of unl)" "" "$what, re-run: Lease released"
		capacity_check "$what"
	fi

	# --- rollback-during-execute.
	what="$HELM kill during execute"
	if rs_install exe --set image=registry.example/exe:1 --set hook.enabled=true --set "hook.stage=$RS_SLOWHOOK" &&
		rs_upgrade exe --set image=registry.example/exe:2 --wait --timeout 30s; then
		cmd=(exe 1 --timeout 60s)
		capacity_start exe 1
		killed rollback-during-execute "$what" "${cmd[@]}"
		if WAIT_TRIES=25 wait_for helm_child_gone exe; then ok "$what: helm's child died with the plugin"; else fail "$what: a helm rollback still runs after the plugin died"; fi
		rs_expect_revisions exe "1 2 3" "$what"
		rs_expect_status exe 3 pending-rollback "$what: helm's revision left"
		if [ -n "$(lease_of exe)" ]; then ok "$what: Lease rollguard-release-exe records the run"; else fail "$what: no Lease rollguard-release-exe"; fi
		rsafe "${cmd[@]}"
		expect_rc 0 "$what: the same command again (no --force-unlock)"
		rs_expect_status exe 3 failed "$what, re-run: the interrupted revision"
		rs_expect_revisions exe "1 2 3 4" "$what, re-run"
		rs_expect_status exe 4 deployed "$what, re-run"
		rs_expect_status exe 2 superseded "$what, re-run"
		rs_expect_no_pending exe "$what, re-run"
		expect_eq "$(rs_image exe)" registry.example/exe:1 "$what, re-run: Deployment image"
		if rs_rolled_out exe 10s; then ok "$what, re-run: rolled out"; else fail "$what, re-run: not rolled out"; fi
		expect_eq "$(lease_of exe)" "" "$what, re-run: Lease released"
		capacity_check "$what"
	fi

	# --- rollback-during-verify.
	what="$HELM kill during verify"
	if rs_install ver --set image=registry.example/ver:1 &&
		rs_upgrade ver --set image=registry.example/ver:2 --wait --timeout 30s; then
		cmd=(ver 1 --timeout 60s)
		capacity_start ver 1
		killed rollback-during-verify "$what" "${cmd[@]}"
		rs_expect_revisions ver "1 2 3" "$what: helm finished"
		rs_expect_status ver 3 deployed "$what: helm finished"
		expect_eq "$(rs_image ver)" registry.example/ver:1 "$what: the rollback applied"
		rsafe "${cmd[@]}"
		expect_rc 0 "$what: the same command again"
		kept ver "1 2 3" "$what, re-run"
		latest=$(rs_latest ver)
		rs_expect_status ver "$latest" deployed "$what, re-run: the newest revision"
		expect_eq "$(rs_body_field ver "$latest" .config.image)" registry.example/ver:1 "$what, re-run: the newest revision is revision 1's"
		rs_expect_no_pending ver "$what, re-run"
		expect_eq "$(rs_image ver)" registry.example/ver:1 "$what, re-run: Deployment image"
		if rs_rolled_out ver 10s; then ok "$what, re-run: rolled out"; else fail "$what, re-run: not rolled out"; fi
		expect_eq "$(lease_of ver)" "" "$what, re-run: Lease released"
		capacity_check "$what"
	fi
done

finish
