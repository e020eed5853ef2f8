#!/usr/bin/env bash
# Coordination on the real server: Leases between processes (conflict
# naming the holder, release, takeover once expired, renewal, a race, RBAC),
# Events recorded about an object, who-am-i cached per credential, and a
# watch that gets its initial items through the watch itself (one request).
. "$(dirname "$0")/../lib.sh"

kubectl -n "$NS" create configmap target --from-literal=a=b >/dev/null
target_uid=$(kubectl -n "$NS" get cm target -o jsonpath='{.metadata.uid}')
microtime='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
lease_field() { kubectl -n "$NS" get lease "$1" -o jsonpath="{$2}"; }

# --- Leases: the first holder wins, the second is told who holds it.
run "$DRIVER" lease-acquire "$NS" lk holder-1 30 --owner cm/target
expect_rc 0 "first holder acquires"
expect_out "lease $NS/lk acquired by holder-1" "acquired"
expect_eq "$(lease_field lk .spec.holderIdentity)" "holder-1" "holderIdentity"
expect_eq "$(lease_field lk .spec.leaseDurationSeconds)" "30" "leaseDurationSeconds"
expect_eq "$(lease_field lk '.metadata.labels.app\.kubernetes\.io/managed-by')" "rollguard" "managed-by label"
expect_eq "$(lease_field lk '.metadata.ownerReferences[0].uid')" "$target_uid" "owned by the target"
renew=$(lease_field lk .spec.renewTime)
if [[ $renew =~ $microtime ]]; then ok "renewTime is a MicroTime: $renew"; else fail "renewTime '$renew' is not a MicroTime"; fi
skew=$(($(date -u +%s) - $(date -u -d "$renew" +%s)))
if [ "${skew#-}" -le 5 ]; then ok "renewTime is now (${skew}s)"; else fail "renewTime $renew is ${skew}s off"; fi
rv_before=$(lease_field lk .metadata.resourceVersion)

run "$DRIVER" lease-acquire "$NS" lk holder-2 30
expect_rc 6 "second holder: conflict"
expect_one_error_line "second holder"
expect_err "is held by \"holder-1\"" "the error names the holder"
expect_err "code=KUBE_ECONFLICT" "conflict code"
expect_err "held by holder-1 for 30s" "holder info returned"
expect_eq "$(lease_field lk .metadata.resourceVersion)" "$rv_before" "a refused acquire changed nothing"
expect_eq "$(lease_field lk .spec.holderIdentity)" "holder-1" "still holder-1"

# The holder itself renews: a new renewTime, the same acquireTime.
acquired=$(lease_field lk .spec.acquireTime)
sleep 1
run "$DRIVER" lease-acquire "$NS" lk holder-1 30
expect_rc 0 "the holder renews"
expect_eq "$(lease_field lk .spec.acquireTime)" "$acquired" "acquireTime kept"
if [[ "$(lease_field lk .spec.renewTime)" > "$renew" ]]; then ok "renewTime moved on"; else fail "renewTime did not move"; fi
expect_eq "$(lease_field lk .spec.leaseTransitions)" "0" "no transition on renewal"

# After the release the second holder gets it.
run "$DRIVER" lease-release "$NS" lk holder-1
expect_rc 0 "release"
if kubectl -n "$NS" get lease lk >/dev/null 2>&1; then fail "lease still there after release"; else ok "released lease deleted"; fi
run "$DRIVER" lease-acquire "$NS" lk holder-2 30
expect_rc 0 "second holder acquires after the release"
expect_eq "$(lease_field lk .spec.holderIdentity)" "holder-2" "holder-2 holds it"

# --- An expired Lease is taken over (expiry on the server's clock).
run "$DRIVER" lease-acquire "$NS" short holder-3 2
expect_rc 0 "short lease"
run "$DRIVER" lease-acquire "$NS" short holder-4 2
expect_rc 6 "not yet expired"
sleep 4
run "$DRIVER" lease-acquire "$NS" short holder-4 10 -v 4
expect_rc 0 "expired lease taken over"
expect_err "taken over (expired) for holder-4" "takeover decision logged"
expect_eq "$(lease_field short .spec.holderIdentity)" "holder-4" "new holder"
expect_eq "$(lease_field short .spec.leaseTransitions)" "1" "one transition"
expect_eq "$(lease_field short .spec.leaseDurationSeconds)" "10" "new duration"
# The old holder's release leaves the new holder's Lease alone.
run "$DRIVER" lease-release "$NS" short holder-3
expect_rc 6 "stale holder cannot release"
expect_err "is held by \"holder-4\"" "names the new holder"
expect_eq "$(lease_field short .spec.holderIdentity)" "holder-4" "the new holder keeps it"

# --- Renewals keep a Lease alive past its duration (kube_lease_keep).
"$DRIVER" lease-acquire "$NS" kept holder-5 2 --hold 5s >"$E2E_TMP/hold.out" 2>"$E2E_TMP/hold.err" &
hold_pid=$!
for _ in $(seq 1 50); do grep -q acquired "$E2E_TMP/hold.out" 2>/dev/null && break; sleep 0.1; done
sleep 3.5
run "$DRIVER" lease-acquire "$NS" kept holder-6 2
expect_rc 6 "a renewed lease is still held past its first duration"
wait "$hold_pid"
RC=$? OUT=$(cat "$E2E_TMP/hold.out") ERR=$(cat "$E2E_TMP/hold.err")
expect_rc 0 "holder kept and released"
expect_out "lease $NS/kept released" "released at the end"
if kubectl -n "$NS" get lease kept >/dev/null 2>&1; then fail "kept lease not released"; else ok "kept lease released"; fi

# --- A race: five processes at once, exactly one wins.
for i in 1 2 3 4 5; do
	"$DRIVER" lease-acquire "$NS" race "racer-$i" 30 >"$E2E_TMP/race-$i.out" 2>"$E2E_TMP/race-$i.err" &
	pids[i]=$!
done
winners=0
for i in 1 2 3 4 5; do
	wait "${pids[i]}"
	RC=$?
	case $RC in
	0) winners=$((winners + 1)) winner=racer-$i ;;
	6) ;;
	*) OUT=$(cat "$E2E_TMP/race-$i.out") ERR=$(cat "$E2E_TMP/race-$i.err") fail "racer-$i: unexpected exit" ;;
	esac
done
expect_eq "$winners" "1" "exactly one racer wins"
expect_eq "$(lease_field race .spec.holderIdentity)" "${winner:-}" "the Lease names the winner"

# --- RBAC: the viewer may not touch Leases (view excludes them).
run "$DRIVER" lease-acquire team-a lk viewer-holder 10 --context viewer
expect_rc 4 "viewer: forbidden"
expect_one_error_line "viewer lease"
expect_err "code=KUBE_EFORBIDDEN" "forbidden code"
expect_err "cannot get resource \"leases\" in API group \"coordination.k8s.io\"" "server's message kept"

# --- Events about an object.
run "$DRIVER" event cm target -n "$NS" --reason RollguardTested --message "tested by test_coordination" --type Warning --action Test
expect_rc 0 "event recorded"
kubectl -n "$NS" get events --field-selector reason=RollguardTested -o json >"$E2E_TMP/events.json"
count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$1"; }
event_field() { python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["items"][0]
for k in sys.argv[2].split("."): e=e[k]
print(e)' "$E2E_TMP/events.json" "$1"; }
expect_eq "$(count "$E2E_TMP/events.json")" "1" "one event"
expect_eq "$(event_field involvedObject.name)" "target" "about the target"
expect_eq "$(event_field involvedObject.uid)" "$target_uid" "the target's uid"
expect_eq "$(event_field type)" "Warning" "type"
expect_eq "$(event_field message)" "tested by test_coordination" "message"
expect_eq "$(event_field source.component)" "kube-driver" "source.component"
expect_eq "$(event_field reportingComponent)" "kube-driver" "reportingComponent"
expect_eq "$(event_field action)" "Test" "action"
expect_eq "$(event_field count)" "1" "count"
run kubectl -n "$NS" get events
expect_out "RollguardTested" "kubectl get events shows it"
expect_out "configmap/target" "kubectl shows the object"
# A dry run records nothing.
run "$DRIVER" event cm target -n "$NS" --reason RollguardDryRun --message "not recorded" --dry-run
expect_rc 0 "dry-run event"
expect_eq "$(kubectl -n "$NS" get events --field-selector reason=RollguardDryRun -o name | wc -l)" "0" "dry run recorded nothing"
# The viewer may read ConfigMaps in team-a but not create Events.
run "$DRIVER" event cm kube-root-ca.crt -n team-a --context viewer --reason RollguardTested --message x
expect_rc 4 "viewer: event forbidden"
expect_err "cannot create resource \"events\"" "server's message kept"

# --- whoami, cached per credential: a second call sends nothing.
run "$DRIVER" whoami-cached -v 6
expect_rc 0 "admin whoami"
expect_eq "$OUT" "rollguard-admin" "admin username"
expect_err "kube-driver: uid= 1 requests" "one request"
expect_eq "$(grep -c 'request\] POST .*/selfsubjectreviews' <<<"$ERR")" "1" "the review at -v=6"
run "$DRIVER" whoami-cached -v 6
expect_eq "$OUT" "rollguard-admin" "admin again"
expect_err "0 requests" "cached: no request"
expect_no "selfsubjectreviews" "no review request at -v=6"
run "$DRIVER" whoami-cached --context viewer
expect_eq "$OUT" "viewer" "viewer username"
expect_err "uid=u-viewer 1 requests" "viewer: its own key, one request"
run "$DRIVER" whoami-cached --context viewer
expect_eq "$OUT" "viewer" "viewer again"
expect_err "0 requests" "viewer cached"
run "$DRIVER" whoami-cached --context execuser
expect_eq "$OUT" "execuser" "exec plugin user"
# Another credential or impersonation is another key.
run "$DRIVER" whoami-cached --context viewer --token "$(cat "$PKI/execuser.token")"
expect_eq "$OUT" "execuser" "--token override"
expect_err "1 requests" "--token: another key"
run "$DRIVER" whoami-cached --as someone --as-group team-x
expect_eq "$OUT" "someone" "impersonated"
expect_err "1 requests" "--as: another key"
run "$DRIVER" whoami-cached
expect_eq "$OUT" "rollguard-admin" "admin's answer kept apart"
expect_err "0 requests" "admin still cached"
cache=$XDG_CACHE_HOME/rollguard/whoami
expect_eq "$(stat -c %a "$cache")" "700" "cache directory mode"
expect_eq "$(find "$cache" -type f -name '*.json' | wc -l)" "5" "one file per credential and impersonation"
expect_eq "$(find "$cache" -type f ! -perm 600 | wc -l)" "0" "cache files mode 600"
if grep -rqF -e "$(cat "$PKI/viewer.token")" -e "$(cat "$PKI/execuser.token")" "$cache"; then
	fail "a token is in the whoami cache"
else
	ok "no token in the whoami cache"
fi

# --- A watch whose initial items come through the watch itself.
for i in 1 2 3; do kubectl -n "$NS" create configmap "w$i" >/dev/null; done
items=$(kubectl -n "$NS" get configmaps --no-headers | wc -l)
"$DRIVER" resolve configmaps >/dev/null # discovery cached: only the watch requests below
run "$DRIVER" watch configmaps -n "$NS" --initial-events --until w3 --timeout 20s -v 6
expect_rc 0 "watch with initial events"
expect_out "RELIST $items items" "the existing objects as one RELIST"
expect_err "kube-driver: 1 requests" "one request"
expect_eq "$(grep -c 'request\] ' <<<"$ERR")" "1" "one request at -v=6"
expect_err "configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true" "watch-list parameters"
expect_no "configmaps?limit=" "no LIST"
# The same watch goes on to see changes.
"$DRIVER" watch configmaps -n "$NS" --initial-events --until late --timeout 20s >"$E2E_TMP/watch.out" 2>"$E2E_TMP/watch.err" &
watch_pid=$!
for _ in $(seq 1 50); do grep -q RELIST "$E2E_TMP/watch.out" 2>/dev/null && break; sleep 0.1; done
kubectl -n "$NS" create configmap late >/dev/null
wait "$watch_pid"
RC=$? OUT=$(cat "$E2E_TMP/watch.out") ERR=$(cat "$E2E_TMP/watch.err")
expect_rc 0 "watch ended on the later object"
expect_out "ADDED late" "a later change arrives on the same stream"
expect_err "kube-driver: 1 requests" "still one request"
# Without the option: a LIST, then a WATCH (which waits out its deadline).
run "$DRIVER" watch configmaps -n "$NS" --until nothing --timeout 2s
expect_out "RELIST $((items + 1)) items" "LIST+WATCH: the same items"
expect_err "kube-driver: 2 requests" "LIST+WATCH is two requests"
finish
