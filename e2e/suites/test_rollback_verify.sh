#!/usr/bin/env bash
# helm rollback-safe's health verification through the real Helm 3 and
# Helm 4 (SPEC §5.2 Verify): a rollback to a revision whose pods never
# become Ready (a kwok Stage of this suite keeps them Running and not
# Ready), and one whose pods crash-loop, both with --timeout 10s: helm's
# rollback itself succeeds, the verification fails, exit 1 with the
# Deployment and the reason; -o json's RollbackResult has verify.ready
# false and result Failed. A third rollback fails in helm itself: the
# target's pre-rollback hook hangs past --timeout, helm exits 1 (its error
# shown), and the revision helm left pending-rollback is marked failed so
# the release is not locked. The rollbacks of each Helm run side by side.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
rs_stages

for HELM in helm3 helm4; do
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "${HELM#helm}" || continue
	# Revision 1 of each release has pods that never become Ready (web) or
	# crash-loop (crash); revision 2 is healthy.
	rs_install web --set image=registry.example/web:1 --set "podStage=$RS_NOTREADY" || continue
	rs_install crash --set image=registry.example/crash:1 --set "podStage=$RS_CRASHLOOP" || continue
	rs_upgrade web --set image=registry.example/web:2 --wait --timeout 30s || continue
	rs_upgrade crash --set image=registry.example/crash:2 --wait --timeout 30s || continue
	# Revision 1 of hook has a pre-rollback hook whose pod runs for an hour.
	rs_install hook --set image=registry.example/hook:1 --set hook.enabled=true --set "hook.stage=$RS_HANGHOOK" || continue
	rs_upgrade hook --set image=registry.example/hook:2 || continue

	started=$(date +%s)
	rs_start vweb "$HELM" rollback-safe web 1 --timeout 10s -o json -n "$RS_NS"
	web_pid=$RS_PID
	rs_start vcrash "$HELM" rollback-safe crash 1 --timeout 10s -n "$RS_NS"
	crash_pid=$RS_PID
	rs_start vhook "$HELM" rollback-safe hook 1 --timeout 5s -o json -n "$RS_NS"
	hook_pid=$RS_PID

	RS_PID=$web_pid rs_finish vweb
	expect_rc 1 "$HELM rollback-safe web 1: pods never Ready"
	expect_one_error_line "$HELM rollback-safe web 1 (never Ready)"
	if grep '^error: ' <<<"$ERR" | grep -q web; then ok "$HELM rollback-safe web 1 (never Ready): the error line names web"; else fail "$HELM rollback-safe web 1 (never Ready): the error line does not name web"; fi
	expect_json_kind RollbackResult "$HELM rollback-safe web 1 -o json"
	expect_eq "$(jqo '"\(.targetRevision) \(.newRevision) \(.result)"')" "1 3 Failed" "$HELM rollback-safe web 1 -o json: target, new revision, result"
	expect_eq "$(jqo .helm.exitCode)" 0 "$HELM rollback-safe web 1 -o json: helm's own rollback succeeded"
	expect_eq "$(jqo .verify.ready)" false "$HELM rollback-safe web 1 -o json: verify.ready"
	expect_eq "$(jqo '.verify.objects[] | select(.kind == "Deployment" and .name == "web") | "\(.namespace) \(.ready)"')" "$RS_NS false" \
		"$HELM rollback-safe web 1 -o json: Deployment web not ready"
	reason=$(jqo '.verify.objects[] | select(.kind == "Deployment" and .name == "web") | .reason')
	if [ -n "$reason" ] && [ "$reason" != null ]; then ok "$HELM rollback-safe web 1 -o json: reason '$reason'"; else fail "$HELM rollback-safe web 1 -o json: no reason"; fi
	elapsed=$(jqo .verify.elapsedMs)
	if [ "${elapsed:-0}" -ge 9000 ] 2>/dev/null; then ok "$HELM rollback-safe web 1 -o json: verified for ${elapsed}ms (--timeout 10s)"; else fail "$HELM rollback-safe web 1 -o json: verify.elapsedMs '$elapsed' < 9000"; fi
	rs_expect_revisions web "1 2 3" "$HELM rollback-safe web 1 (never Ready)"
	rs_expect_no_pending web "$HELM rollback-safe web 1 (never Ready)"
	expect_eq "$(rs_image web)" registry.example/web:1 "$HELM rollback-safe web 1 (never Ready): the rollback was applied"

	RS_PID=$crash_pid rs_finish vcrash
	expect_rc 1 "$HELM rollback-safe crash 1: pods crash-loop"
	expect_one_error_line "$HELM rollback-safe crash 1 (CrashLoopBackOff)"
	expect_said "crash" "$HELM rollback-safe crash 1 (CrashLoopBackOff): names the Deployment"
	expect_said "CrashLoopBackOff" "$HELM rollback-safe crash 1: the reason"
	rs_expect_revisions crash "1 2 3" "$HELM rollback-safe crash 1 (CrashLoopBackOff)"
	rs_expect_no_pending crash "$HELM rollback-safe crash 1 (CrashLoopBackOff)"
	expect_eq "$(rs_image crash)" registry.example/crash:1 "$HELM rollback-safe crash 1 (CrashLoopBackOff): the rollback was applied"
	RS_PID=$hook_pid rs_finish vhook
	what="$HELM rollback-safe hook 1 (the pre-rollback hook hangs)"
	expect_rc 1 "$what"
	expect_one_error_line "$what"
	expect_err "helm rollback to revision 1 failed" "$what: says helm failed"
	# Helm 3: "Error: 1 error occurred: * timed out waiting for the
	# condition"; Helm 4 names the failed pre-rollback hook.
	if grep -Eq 'error occurred|pre-rollback' <<<"$ERR"; then ok "$what: helm's own error, verbatim"; else fail "$what: helm's own error is missing"; fi
	expect_json_kind RollbackResult "$what -o json"
	expect_eq "$(jqo '"\(.newRevision) \(.helm.exitCode) \(.verify) \(.result)"')" "3 1 null Failed" "$what -o json: new revision, helm exit, no verify, result"
	rs_expect_revisions hook "1 2 3" "$what"
	rs_expect_status hook 3 failed "$what: the revision helm left pending-rollback"
	rs_expect_no_pending hook "$what"
	expect_eq "$(kubectl -n "$RS_NS" get lease rollguard-release-hook --ignore-not-found -o name)" "" "$what: run Lease released"
	echo "# $HELM: the verifications took $(($(date +%s) - started))s"
done

finish
