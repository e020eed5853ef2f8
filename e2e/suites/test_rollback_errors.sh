#!/usr/bin/env bash
# helm rollback-safe's errors through the real Helm 3 and Helm 4 (SPEC
# §1.2): an unknown release (4), a bad revision (2) and a missing one (4),
# an unreachable API server (--kube-apiserver, handed over by Helm as
# HELM_KUBEAPISERVER: 4), a user who may not read the release's Secrets
# (--kube-context viewer: 4 with the server's message), the sql and memory
# drivers (2, one line); and HELM_DRIVER=configmap end to end on a release
# Helm stored in ConfigMaps. Each error is one `error:` line and changes
# nothing.
#
# Helm sets up its storage driver before it runs any command, plugins
# included: with HELM_DRIVER=sql it exits unless the database answers, and
# with memory it reads HELM_MEMORY_DRIVER_DATA. So the sql case runs
# against a private PostgreSQL (the system's initdb/pg_ctl, as the
# `postgres` user, on a Unix socket in a temp dir) where a release really
# lives, and the memory case gets an empty data file. Without PostgreSQL
# the sql case runs the binary directly with the environment Helm would
# give it, and says so.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../rollback.sh
. "$(dirname "$0")/../rollback.sh"
rs_stages

# --- a private PostgreSQL for Helm's sql driver.
PG_DIR=""
pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	runuser -u postgres -- pg_ctl -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
}
trap 'pg_stop; rs_cleanup' EXIT
pg_start() {
	local bin
	bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
	PATH=$PATH${bin:+:$bin}
	command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v runuser >/dev/null &&
		id postgres >/dev/null 2>&1 || return 1
	PG_DIR=$(mktemp -d /tmp/rollguard-pg.XXXXXX) && chown postgres "$PG_DIR" || return 1
	runuser -u postgres -- initdb -D "$PG_DIR/data" -A trust -U helm >"$PG_DIR/initdb.log" 2>&1 &&
		runuser -u postgres -- pg_ctl -D "$PG_DIR/data" -o "-k $PG_DIR -c listen_addresses=''" \
			-l "$PG_DIR/server.log" -w start >/dev/null 2>&1 || return 1
	export HELM_DRIVER_SQL_CONNECTION_STRING="host=$PG_DIR user=helm dbname=postgres sslmode=disable"
}
if pg_start; then
	echo "# PostgreSQL for HELM_DRIVER=sql: $PG_DIR"
else
	[ -n "$PG_DIR" ] && echo "# PostgreSQL would not start: $(tail -n 3 "$PG_DIR"/*.log 2>/dev/null)"
	pg_stop
	PG_DIR=""
fi
: >"$E2E_TMP/memory-driver-data.yaml"

for HELM in helm3 helm4; do
	echo "== $HELM ($(type -P "$HELM"))"
	rs_ns "${HELM#helm}" || continue
	rs_install web --set image=registry.example/web:1 || continue
	rs_upgrade web --set image=registry.example/web:2 || continue
	records=$(rs_records_digest web)
	live=$(rs_live_digest)

	for cmd in "" plan history unlock; do
		# shellcheck disable=SC2086 # "" is the bare form: no word at all
		rsafe $cmd nosuch
		expect_rc 4 "$HELM rollback-safe $cmd nosuch (unknown release)"
		expect_one_error_line "$HELM rollback-safe $cmd nosuch"
		expect_err "nosuch" "$HELM rollback-safe $cmd nosuch"
	done

	rsafe web abc
	expect_rc 2 "$HELM rollback-safe web abc"
	expect_one_error_line "$HELM rollback-safe web abc"
	expect_err "abc" "$HELM rollback-safe web abc"

	rsafe web 99
	if [ "$RC" -eq 4 ] || [ "$RC" -eq 2 ]; then ok "$HELM rollback-safe web 99: exit $RC"; else fail "$HELM rollback-safe web 99: expected exit 4 (or 2)"; fi
	expect_one_error_line "$HELM rollback-safe web 99"
	expect_err "revision 99" "$HELM rollback-safe web 99"

	rsafe web --timeout 30s --bogus-flag
	expect_rc 2 "$HELM rollback-safe web --bogus-flag"
	expect_one_error_line "$HELM rollback-safe web --bogus-flag"

	rs_run "$HELM" --kube-apiserver https://127.0.0.1:1 rollback-safe web -n "$RS_NS"
	expect_rc 4 "$HELM --kube-apiserver https://127.0.0.1:1 rollback-safe web (unreachable)"
	expect_one_error_line "$HELM rollback-safe web (unreachable)"
	expect_err "127.0.0.1:1" "$HELM rollback-safe web (unreachable): names the server"

	rs_run "$HELM" --kube-context viewer rollback-safe web -n "$RS_NS"
	expect_rc 4 "$HELM --kube-context viewer rollback-safe web (forbidden)"
	expect_one_error_line "$HELM rollback-safe web (forbidden)"
	expect_err 'is forbidden: User "viewer" cannot' "$HELM rollback-safe web (forbidden): the server's message"
	# The viewer may read team-a, but not its Secrets (the view role).
	rs_run "$HELM" --kube-context viewer rollback-safe history web -n team-a
	expect_rc 4 "$HELM --kube-context viewer rollback-safe history web -n team-a (forbidden)"
	expect_err 'secrets is forbidden' "$HELM rollback-safe history -n team-a (forbidden): the server's message"

	# --- the memory driver (Helm reads HELM_MEMORY_DRIVER_DATA first).
	HELM_DRIVER=memory HELM_MEMORY_DRIVER_DATA=$E2E_TMP/memory-driver-data.yaml rsafe web
	what="$HELM HELM_DRIVER=memory rollback-safe web"
	expect_rc 3 "$what"
	expect_one_error_line "$what"
	expect_err "memory" "$what: names the driver"
	expect_eq "$(grep -vc '^Error: plugin "rollback-safe" exited with error$' <<<"$ERR")" 1 "$what: a one-line refusal"
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM errors: nothing changed"
	rs_expect_revisions web "1 2" "$HELM errors"

	# --- the sql driver: a release Helm keeps in PostgreSQL.
	if [ -n "$PG_DIR" ]; then
		HELM_DRIVER=sql rs_run "$HELM" install sq "$RS_CHART" -n "$RS_NS" --set image=registry.example/sq:1
		expect_rc 0 "$HELM HELM_DRIVER=sql install sq (in PostgreSQL)"
		live=$(rs_live_digest)
		HELM_DRIVER=sql rsafe sq
		what="$HELM HELM_DRIVER=sql rollback-safe sq"
	else
		echo "# no PostgreSQL (initdb, pg_ctl, runuser, user postgres): the sql driver is checked on the binary itself"
		run env HELM_DRIVER=sql HELM_NAMESPACE="$RS_NS" HELM_BIN="$HELM" "$RS" sq
		what="HELM_DRIVER=sql helm-rollback-safe sq (direct)"
	fi
	expect_rc 3 "$what"
	expect_one_error_line "$what"
	expect_err "sql" "$what: names the driver"
	expect_eq "$(grep -vc '^Error: plugin "rollback-safe" exited with error$' <<<"$ERR")" 1 "$what: a one-line refusal"
	expect_eq "$(rs_live_digest)" "$live" "$what: nothing changed"

	# --- refused before anything changes: a connection flag helm cannot be
	# handed (helm would act elsewhere), an --output-file that cannot be
	# written. And a table plan goes to --output-file, not stdout.
	rsafe web 1 --cluster "$(kubectl config view --minify -o jsonpath='{.clusters[0].name}')"
	expect_rc 2 "$HELM rollback-safe web 1 --cluster (helm has no such flag)"
	expect_one_error_line "$HELM rollback-safe web 1 --cluster"
	expect_err "--cluster" "$HELM rollback-safe web 1 --cluster: names the flag"
	rsafe web 1 -o json --output-file "$E2E_TMP/no/such/dir/result.json"
	expect_rc 2 "$HELM rollback-safe web 1 --output-file in a missing directory"
	expect_one_error_line "$HELM rollback-safe web 1 --output-file in a missing directory"
	expect_eq "$(rs_records_digest web)/$(rs_live_digest)" "$records/$live" "$HELM refused before execute: nothing changed"
	rsafe plan web 1 --output-file "$E2E_TMP/plan-$HELM.txt"
	expect_rc 0 "$HELM rollback-safe plan web 1 --output-file"
	if grep -q 'Deployment' "$E2E_TMP/plan-$HELM.txt" 2>/dev/null; then ok "$HELM plan --output-file: the plan is in the file"; else fail "$HELM plan --output-file: no plan in the file"; fi
	if grep -q 'ACTION' <<<"$OUT"; then fail "$HELM plan --output-file: the table went to stdout too"; else ok "$HELM plan --output-file: nothing on stdout"; fi

	# --- a stale run Lease: an interrupted run meant to create revision 3,
	# but a fix-forward upgrade took that number. The upgrade is not taken
	# for the run's rollback: no "resuming", the target is chosen afresh.
	kubectl apply -f - >/dev/null <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: rollguard-release-web, namespace: $RS_NS}
spec:
  holderIdentity: helm-rollback-safe/stale0001/r3/t1/host/1
  leaseDurationSeconds: 15
  acquireTime: "2026-01-01T00:00:00.000000Z"
  renewTime: "2026-01-01T00:00:00.000000Z"
EOF
	rs_upgrade web --set image=registry.example/web:3 || continue
	rsafe web --timeout 60s -o json
	expect_rc 0 "$HELM rollback-safe web (stale run Lease)"
	expect_eq "$(jqo '"\(.targetRevision) \(.newRevision) \(.result)"')" "2 4 Succeeded" "$HELM rollback-safe web (stale run Lease): rolled back to 2, not the stale run's 1"
	if grep -qi 'resuming' <<<"$ERR"; then fail "$HELM rollback-safe web (stale run Lease): took the upgrade for its run"; else ok "$HELM rollback-safe web (stale run Lease): not resumed"; fi
	expect_eq "$(rs_image web)" registry.example/web:2 "$HELM rollback-safe web (stale run Lease): Deployment image"
	expect_eq "$(kubectl -n "$RS_NS" get lease rollguard-release-web --ignore-not-found -o name)" "" "$HELM rollback-safe web (stale run Lease): the Lease is gone"

	# --- HELM_DRIVER=configmap: a release Helm keeps in ConfigMaps.
	export HELM_DRIVER=configmap
	cm_ok=0
	if rs_install cm --set image=registry.example/cm:1 && rs_upgrade cm --set image=registry.example/cm:2 &&
		rs_failed_upgrade cm --set image=registry.example/cm:3; then
		expect_eq "$(kubectl -n "$RS_NS" get secret -l name=cm,owner=helm -o name | wc -l)" 0 "$HELM HELM_DRIVER=configmap: no Secret records"
		rsafe history cm -o json
		expect_rc 0 "$HELM HELM_DRIVER=configmap rollback-safe history cm"
		expect_eq "$(jqo '[.items[] | "\(.revision):\(.status)"] | join(" ")')" "1:superseded 2:deployed 3:failed" "$HELM HELM_DRIVER=configmap history cm"
		rsafe cm --timeout 60s -o json
		expect_rc 0 "$HELM HELM_DRIVER=configmap rollback-safe cm"
		expect_eq "$(jqo '"\(.targetRevision) \(.newRevision) \(.result)"')" "2 4 Succeeded" "$HELM HELM_DRIVER=configmap rollback-safe cm -o json"
		rs_expect_revisions cm "1 2 3 4" "$HELM HELM_DRIVER=configmap rollback-safe cm"
		rs_expect_status cm 4 deployed "$HELM HELM_DRIVER=configmap rollback-safe cm"
		rs_expect_status cm 3 failed "$HELM HELM_DRIVER=configmap rollback-safe cm"
		rs_expect_status cm 2 superseded "$HELM HELM_DRIVER=configmap rollback-safe cm"
		expect_eq "$(rs_image cm)" registry.example/cm:2 "$HELM HELM_DRIVER=configmap rollback-safe cm: Deployment image"
		expect_eq "$(kubectl -n "$RS_NS" get secret -l name=cm,owner=helm -o name | wc -l)" 0 "$HELM HELM_DRIVER=configmap: still no Secret records"
		cm_ok=1
	fi
	unset HELM_DRIVER
	if [ "$cm_ok" = 1 ]; then
		# The default driver (Secrets) does not see it.
		rsafe history cm
		expect_rc 4 "$HELM rollback-safe history cm with the secret driver (no such release)"
	fi
done

finish
