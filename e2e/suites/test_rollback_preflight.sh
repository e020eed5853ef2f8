#!/usr/bin/env bash
# helm rollback-safe's preflight through the real Helm 3 and Helm 4 (SPEC
# §5.2 Preflight): rollbacks that Helm itself would break on, or that would
# lose data, are refused with exit 5 before anything changes:
#  - an immutable field: the live Deployment's selector (revision 2 made
#    it anew with another selector after it was deleted) would change back;
#  - data loss: a PVC that only the current revision has would be deleted;
#  - a kind/version the cluster no longer serves: a Widget of
#    v1alpha1 when its CRD (another release's, as an operator chart's
#    would be) now serves only v1; and the same with the CRD in the
#    release itself (Helm maps every object before it applies any, so the
#    old CRD in the target cannot bring v1alpha1 back in time).
# After each refusal a plain `helm rollback` is the control: it fails, or
# deletes the PVC, which is what the preflight prevented.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"

# refused NAME REL: rollback-safe REL and plan REL -o json exit 5, change
# nothing. Sets OUT/ERR of the plan -o json for the caller's findings.
refused() {
	local what=$1 rel=$2 records live
	records=$(rs_records_digest "$rel")
	live=$(rs_live_digest)
	rsafe "$rel" --timeout 30s
	expect_rc 5 "$what: rollback-safe $rel"
	expect_one_error_line "$what: rollback-safe $rel"
	TABLE_OUT=$OUT$ERR
	expect_eq "$(rs_records_digest "$rel")/$(rs_live_digest)" "$records/$live" "$what: rollback-safe $rel: nothing changed"
	rsafe plan "$rel" -o json
	expect_rc 5 "$what: plan $rel -o json"
	expect_json_kind RollbackPlan "$what: plan $rel -o json"
	expect_eq "$(jqo .blocked)" true "$what: plan $rel -o json: blocked"
	expect_eq "$(rs_records_digest "$rel")/$(rs_live_digest)" "$records/$live" "$what: plan $rel: nothing changed"
}
# shellcheck disable=SC2317 # called through wait_for
pvc_gone() { ! kubectl -n "$RS_NS" get pvc "$1" >/dev/null 2>&1; }
# table_says TEXT what: the refused rollback's own output named TEXT.
table_says() {
	if grep -qF -- "$1" <<<"$TABLE_OUT"; then ok "$2: says '$1'"; else fail "$2: rollback-safe's output lacks '$1': $(head -c 1500 <<<"$TABLE_OUT")"; fi
}

for HELM in helm3 helm4; do
	h=${HELM#helm}
	echo "== $HELM ($(type -P "$HELM"))"

	# --- an immutable selector.
	if rs_ns "sel$h"; then
		rs_install web --set image=registry.example/web:1 --set tier=a &&
			kubectl -n "$RS_NS" delete deployment web --wait=true >/dev/null &&
			rs_upgrade web --set image=registry.example/web:2 --set tier=b
		expect_eq "$(rs_selector web | jq -r .tier)" b "$HELM selector setup: live selector tier=b"
		before=$(rs_selector web)
		refused "$HELM immutable selector" web
		table_says "web" "$HELM immutable selector"
		table_says "selector" "$HELM immutable selector"
		expect_finding immutable-field block 'web' "$HELM immutable selector"
		expect_finding immutable-field block 'selector' "$HELM immutable selector"
		expect_eq "$(jqo '.objects[] | select(.kind == "Deployment" and .name == "web") | .action')" patch "$HELM immutable selector: Deployment web"
		expect_eq "$(rs_selector web)" "$before" "$HELM immutable selector: live selector unchanged"
		rs_expect_revisions web "1 2" "$HELM immutable selector"
		# Control: Helm's own rollback fails on it (and leaves a failed revision).
		rs_run "$HELM" rollback web 1 -n "$RS_NS"
		expect_rc 1 "$HELM immutable selector: control: plain $HELM rollback fails"
		expect_err "field is immutable" "$HELM immutable selector: control"
	fi

	# --- a PVC the rollback would delete.
	if rs_ns "pvc$h"; then
		rs_install db --set image=registry.example/db:1 &&
			rs_upgrade db --set image=registry.example/db:2 --set pvc.enabled=true
		uid=$(kubectl -n "$RS_NS" get pvc db-data -o jsonpath='{.metadata.uid}')
		refused "$HELM PVC deletion" db
		table_says "db-data" "$HELM PVC deletion"
		expect_finding data-loss block 'db-data' "$HELM PVC deletion"
		expect_eq "$(jqo '.objects[] | select(.kind == "PersistentVolumeClaim" and .name == "db-data") | .action')" delete "$HELM PVC deletion: the plan's action"
		expect_eq "$(kubectl -n "$RS_NS" get pvc db-data -o jsonpath='{.metadata.uid}')" "$uid" "$HELM PVC deletion: the PVC is still there"
		expect_eq "$(rs_image db)" registry.example/db:2 "$HELM PVC deletion: Deployment untouched"
		rs_expect_revisions db "1 2" "$HELM PVC deletion"
		# Control: Helm's own rollback deletes the claim.
		rs_run "$HELM" rollback db 1 -n "$RS_NS"
		expect_rc 0 "$HELM PVC deletion: control: plain $HELM rollback"
		if WAIT_TRIES=50 wait_for pvc_gone db-data; then
			ok "$HELM PVC deletion: control: plain rollback deleted the PVC"
		else
			fail "$HELM PVC deletion: control: the PVC survived a plain rollback"
		fi
	fi

	# --- a CRD version no longer served: the CRD belongs to another release.
	if rs_ns "crd$h"; then
		group=$RS_NS.rsdemo.e2e.rollguard.io
		ok_setup=1
		rs_install crds --set crd.enabled=true --set service.enabled=false --set replicas=0 &&
			rs_install web --set crd.widget=v1alpha1 &&
			rs_upgrade web --set crd.widget=v1 &&
			rs_upgrade crds --set crd.enabled=true --set service.enabled=false --set replicas=0 \
				--set 'crd.served={v1}' --set crd.storage=v1 || ok_setup=0
		if kubectl get --raw "/apis/$group/v1alpha1" >/dev/null 2>&1; then
			fail "$HELM CRD setup: $group/v1alpha1 is still served"
			ok_setup=0
		fi
		if [ "$ok_setup" = 1 ]; then
			refused "$HELM CRD version not served" web
			table_says "$group/v1alpha1" "$HELM CRD version not served"
			table_says "Widget" "$HELM CRD version not served"
			expect_finding removed-api block "v1alpha1" "$HELM CRD version not served"
			expect_finding removed-api block "Widget" "$HELM CRD version not served"
			expect_eq "$(kubectl -n "$RS_NS" get "widgets.$group" web -o jsonpath='{.apiVersion}')" "$group/v1" "$HELM CRD version not served: the Widget untouched"
			rs_expect_revisions web "1 2" "$HELM CRD version not served"
			# Control: Helm's own rollback fails (fresh discovery cache:
			# "unable to build kubernetes objects"; a stale one: 404).
			rm -rf "$E2E_TMP/$HELM/kube-cache"
			rs_run "$HELM" rollback web 1 -n "$RS_NS"
			expect_rc 1 "$HELM CRD version not served: control: plain $HELM rollback fails"
			expect_err "unable to build kubernetes objects" "$HELM CRD version not served: control"
		fi
	fi

	# --- the same with the CRD in the release's own templates: revision 1
	# the CRD (v1alpha1 and v1 served), 2 a Widget v1alpha1, 3 the CRD
	# serving v1 only and the Widget at v1.
	if rs_ns "own$h"; then
		group=$RS_NS.rsdemo.e2e.rollguard.io
		ok_setup=1
		rs_install app --set crd.enabled=true &&
			rs_upgrade app --set crd.enabled=true --set crd.widget=v1alpha1 &&
			rs_upgrade app --set crd.enabled=true --set 'crd.served={v1}' --set crd.storage=v1 --set crd.widget=v1 || ok_setup=0
		if kubectl get --raw "/apis/$group/v1alpha1" >/dev/null 2>&1; then
			fail "$HELM own CRD setup: $group/v1alpha1 is still served"
			ok_setup=0
		fi
		if [ "$ok_setup" = 1 ]; then
			refused "$HELM own CRD version not served" app
			table_says "$group/v1alpha1" "$HELM own CRD version not served"
			expect_finding removed-api block "v1alpha1" "$HELM own CRD version not served"
			expect_eq "$(jqo .targetRevision)" 2 "$HELM own CRD version not served: target"
			rs_expect_revisions app "1 2 3" "$HELM own CRD version not served"
			rm -rf "$E2E_TMP/$HELM/kube-cache"
			rs_run "$HELM" rollback app 2 -n "$RS_NS"
			expect_rc 1 "$HELM own CRD version not served: control: plain $HELM rollback fails"
			expect_err "unable to build kubernetes objects from new release manifest" "$HELM own CRD version not served: control"
			# ... and leaves the release locked, which rollback-safe never does.
			rs_expect_status app 4 pending-rollback "$HELM own CRD version not served: control"
		fi
	fi
done

finish
