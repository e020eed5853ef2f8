#!/usr/bin/env bash
# helm rollback-safe through the real Helm 3 and Helm 4 (SPEC §5), the
# everyday path: a release whose last two upgrades failed (Helm's own --wait
# ran out on pods kwok never makes Ready, so Helm marked them failed) is
# rolled back to the last good revision, skipping the failed one below the
# current (where Helm's own rollback would take it); `history` says
# which revisions are safe targets and why not; `plan` and `--dry-run` show
# the creates, patches and deletes of a rollback and change nothing.
# Every check runs for helm3 and for helm4, each in a namespace of its own.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
rs_stages

# good_then_failed REL: revision 1 (image REL:1, ConfigMap REL-config),
# revision 2 (image REL:2, ConfigMap REL-extra instead), revisions 3 and 4
# failed (images REL:3 and REL:4, pods never Ready).
good_then_failed() {
	rs_install "$1" --set "image=registry.example/$1:1" --set configmap.enabled=true &&
		rs_upgrade "$1" --set "image=registry.example/$1:2" --set extra.enabled=true &&
		rs_failed_upgrade "$1" --set "image=registry.example/$1:3" --set extra.enabled=true &&
		rs_failed_upgrade "$1" --set "image=registry.example/$1:4" --set extra.enabled=true
}

for HELM in helm3 helm4; do
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "${HELM#helm}" || continue
	good_then_failed web || continue
	good_then_failed api || continue
	rs_expect_revisions web "1 2 3 4" "$HELM setup"
	rs_expect_status web 4 failed "$HELM setup"
	rs_expect_status web 3 failed "$HELM setup"
	rs_expect_status web 2 deployed "$HELM setup"

	# --- history: every revision, which are safe targets and why not.
	records=$(rs_records_digest web)
	live=$(rs_live_digest)
	rsafe history web
	expect_rc 0 "$HELM history"
	for rev in 1 2 3 4; do
		if grep -qE "^[[:space:]]*${rev}[[:space:]]" <<<"$OUT"; then ok "$HELM history: a row for revision $rev"; else fail "$HELM history: no row for revision $rev"; fi
	done
	if grep -E "^[[:space:]]*3[[:space:]]" <<<"$OUT" | grep -q failed; then ok "$HELM history: revision 3 failed"; else fail "$HELM history: revision 3's row lacks 'failed'"; fi
	rsafe history web -o json
	expect_rc 0 "$HELM history -o json"
	expect_json_kind ReleaseHistory "$HELM history -o json"
	expect_eq "$(jqo .release)/$(jqo .namespace)" "web/$RS_NS" "$HELM history -o json: release/namespace"
	expect_eq "$(jqo '[.items[].revision] | map(tostring) | join(" ")')" "1 2 3 4" "$HELM history -o json: revisions"
	expect_eq "$(jqo '[.items[].status] | join(" ")')" "superseded deployed failed failed" "$HELM history -o json: statuses"
	expect_eq "$(jqo '.items[] | select(.revision == 3) | .safeTarget')" false "$HELM history -o json: revision 3 is no safe target"
	expect_eq "$(jqo '.items[] | select(.revision == 4) | .safeTarget')" false "$HELM history -o json: revision 4 (the current one) is no target"
	if jqo '.items[] | select(.revision == 3) | .reason' | grep -qi failed; then ok "$HELM history -o json: revision 3's reason names 'failed'"; else fail "$HELM history -o json: revision 3's reason: $(jqo '.items[] | select(.revision == 3) | .reason')"; fi
	expect_eq "$(jqo '.items[] | select(.revision == 1) | .safeTarget')" true "$HELM history -o json: revision 1 is a safe target"
	expect_eq "$(jqo '.items[] | select(.revision == 2) | .safeTarget')" true "$HELM history -o json: revision 2 is a safe target"
	expect_eq "$(jqo '.items[] | select(.revision == 2) | .chart')" rsdemo-0.1.0 "$HELM history -o json: chart"
	expect_eq "$(jqo '.items[] | select(.revision == 2) | .appVersion')" "1.0" "$HELM history -o json: appVersion"
	expect_eq "$(jqo '.items[] | select(.revision == 1) | .description')" "Install complete" "$HELM history -o json: description"
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM history: nothing changed"

	# --- plan to revision 1: a create (web-config), a patch (the
	# Deployment's image), a delete (web-extra); nothing changes.
	rsafe plan web 1
	expect_rc 0 "$HELM plan web 1"
	expect_out "web-config" "$HELM plan web 1: the ConfigMap it creates"
	expect_out "web-extra" "$HELM plan web 1: the ConfigMap it deletes"
	rsafe plan web 1 -o json
	expect_rc 0 "$HELM plan web 1 -o json"
	expect_json_kind RollbackPlan "$HELM plan web 1 -o json"
	expect_eq "$(jqo '"\(.release) \(.namespace) \(.currentRevision) -> \(.targetRevision) blocked=\(.blocked)"')" \
		"web $RS_NS 4 -> 1 blocked=false" "$HELM plan web 1 -o json: the plan"
	expect_eq "$(jqo '.objects[] | select(.kind == "ConfigMap" and .name == "web-config") | .action')" create "$HELM plan web 1 -o json: ConfigMap web-config"
	expect_eq "$(jqo '.objects[] | select(.kind == "ConfigMap" and .name == "web-extra") | .action')" delete "$HELM plan web 1 -o json: ConfigMap web-extra"
	expect_eq "$(jqo '.objects[] | select(.kind == "Deployment" and .name == "web") | "\(.apiVersion) \(.namespace) \(.action)"')" \
		"apps/v1 $RS_NS patch" "$HELM plan web 1 -o json: Deployment web"
	expect_eq "$(jqo '.objects[] | select(.kind == "Service" and .name == "web") | .action')" unchanged "$HELM plan web 1 -o json: Service web"
	expect_eq "$(jqo '[.findings[] | select(.severity == "block")] | length')" 0 "$HELM plan web 1 -o json: no blocking finding"
	expect_eq "$(jqo '[.findings[] | select(.check == "delete" and (.object | test("web-extra")))] | length > 0')" true \
		"$HELM plan web 1 -o json: a delete finding for web-extra"
	# Without a revision: the newest good one below the current revision 4,
	# skipping the failed 3 (Helm's own rollback would take 3).
	rsafe plan web -o json
	expect_rc 0 "$HELM plan web -o json"
	expect_eq "$(jqo .targetRevision)" 2 "$HELM plan web: target"
	expect_eq "$(jqo '.skipped[] | select(.revision == 3) | .status')" failed "$HELM plan web: skipped revision 3 (failed)"
	if jqo '.skipped[] | select(.revision == 3) | .reason' | grep -qi failed; then ok "$HELM plan web: the skip's reason names 'failed'"; else fail "$HELM plan web: the skip's reason: $(jqo '.skipped[] | select(.revision == 3) | .reason')"; fi
	expect_eq "$(jqo '.objects[] | select(.kind == "Deployment") | .action')" patch "$HELM plan web: Deployment web"
	expect_eq "$(jqo '.objects[] | select(.kind == "ConfigMap" and .name == "web-extra") | .action')" unchanged "$HELM plan web: ConfigMap web-extra"
	# --dry-run is the same plan.
	rsafe web --dry-run -o json
	expect_rc 0 "$HELM web --dry-run -o json"
	expect_json_kind RollbackPlan "$HELM web --dry-run -o json"
	expect_eq "$(jqo .targetRevision)" 2 "$HELM web --dry-run: target"
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM plan and --dry-run: nothing changed"
	rs_expect_revisions web "1 2 3 4" "$HELM plan and --dry-run"

	# --- the rollback: revision 2, skipping the failed 3 (table output).
	rsafe web --timeout 60s
	expect_rc 0 "$HELM rollback-safe web"
	if grep -E '\b3\b' <<<"$OUT" | grep -qi 'skip'; then ok "$HELM rollback-safe web: says it skipped revision 3"; else fail "$HELM rollback-safe web: no line about skipping revision 3"; fi
	rs_expect_revisions web "1 2 3 4 5" "$HELM rollback-safe web"
	rs_expect_status web 5 deployed "$HELM rollback-safe web"
	rs_expect_status web 4 failed "$HELM rollback-safe web"
	rs_expect_status web 3 failed "$HELM rollback-safe web"
	rs_expect_status web 2 superseded "$HELM rollback-safe web"
	rs_expect_status web 1 superseded "$HELM rollback-safe web"
	expect_eq "$(rs_body_field web 5 .config.image)" registry.example/web:2 "$HELM rollback-safe web: revision 5 has revision 2's values"
	if rs_body_description web 5 | grep -q "Rollback to 2"; then ok "$HELM rollback-safe web: revision 5 'Rollback to 2'"; else fail "$HELM rollback-safe web: revision 5's description: $(rs_body_description web 5)"; fi
	expect_eq "$(rs_image web)" registry.example/web:2 "$HELM rollback-safe web: Deployment image"
	expect_eq "$(rs_replicas web)" 2 "$HELM rollback-safe web: Deployment replicas"
	if rs_rolled_out web 10s; then ok "$HELM rollback-safe web: rolled out and Ready"; else fail "$HELM rollback-safe web: not rolled out"; fi
	if rs_exists cm/web-extra; then ok "$HELM rollback-safe web: ConfigMap web-extra kept (revision 2 has it)"; else fail "$HELM rollback-safe web: ConfigMap web-extra gone"; fi
	rs_expect_no_pending web "$HELM rollback-safe web"
	expect_eq "$(kubectl -n "$RS_NS" get lease "rollguard-release-web" -o name 2>/dev/null)" "" "$HELM rollback-safe web: run Lease released"

	# --- the same through `rollback` and -o json: a RollbackResult.
	rsafe rollback api --timeout 60s -o json
	expect_rc 0 "$HELM rollback-safe rollback api -o json"
	expect_json_kind RollbackResult "$HELM rollback-safe rollback api -o json"
	expect_eq "$(jqo '"\(.currentRevision) -> \(.targetRevision) = \(.newRevision) \(.result)"')" "4 -> 2 = 5 Succeeded" "$HELM rollback api -o json: revisions and result"
	expect_eq "$(jqo '.skipped[] | select(.revision == 3) | .status')" failed "$HELM rollback api -o json: skipped revision 3 (failed)"
	expect_eq "$(jqo .helm.exitCode)" 0 "$HELM rollback api -o json: helm exit code"
	expect_eq "$(jqo '.helm.version | test("^v?'"${HELM#helm}"'\\.")')" true "$HELM rollback api -o json: helm version $(jqo .helm.version)"
	expect_eq "$(jqo .verify.ready)" true "$HELM rollback api -o json: verify.ready"
	expect_eq "$(jqo '.verify.objects[] | select(.kind == "Deployment" and .name == "api") | .ready')" true "$HELM rollback api -o json: Deployment api ready"
	expect_eq "$(jqo '.verify.elapsedMs | type')" number "$HELM rollback api -o json: verify.elapsedMs"
	rs_expect_revisions api "1 2 3 4 5" "$HELM rollback api"
	rs_expect_status api 5 deployed "$HELM rollback api"
	rs_expect_status api 4 failed "$HELM rollback api"
	rs_expect_status api 3 failed "$HELM rollback api"
	rs_expect_status api 2 superseded "$HELM rollback api"
	expect_eq "$(rs_image api)" registry.example/api:2 "$HELM rollback api: Deployment image"

	# --- history after it: revision 5 is the deployed one; the failed ones
	# are no targets, and say so.
	rsafe history web -o json
	expect_eq "$(jqo '[.items[] | "\(.revision):\(.status)"] | join(" ")')" "1:superseded 2:superseded 3:failed 4:failed 5:deployed" "$HELM history after the rollback"
	expect_eq "$(jqo '[.items[] | select(.revision < 5) | .safeTarget] | map(tostring) | join(" ")')" "true true false false" "$HELM history after the rollback: safe targets"
	if jqo '.items[] | select(.revision == 4) | .reason' | grep -qi failed; then ok "$HELM history after the rollback: revision 4's reason names 'failed'"; else fail "$HELM history after the rollback: revision 4's reason: $(jqo '.items[] | select(.revision == 4) | .reason')"; fi
done

finish
