#!/usr/bin/env bash
# kubectl-canary's traffic routers (gateway, istio, nginx, smi) on the real
# cluster, with the upstream CRDs (e2e/cluster/build.sh crds) installed in
# the API server: for each router a Deployment, its Service and a routing
# object; start pins the Service to the stable pods by pod-template-hash,
# creates the canary Service and writes the first weight; promote moves
# it; abort puts the user's objects back exactly and removes ours; a second
# run promoted to the end leaves D on the new image and nothing of
# rollguard's behind; the canary Service and Deployment outlive the write
# that moves traffic off them by the settle delay. A start and a finish
# killed mid-way, then aborted (and that abort killed right after it moved
# the traffic back), keep the Service on Ready stable pods and restore
# everything exactly, D's template too. The finish refuses, --force or not,
# while the canary pods are not Ready; with an HPA the canary is sized from
# D's replicas at every step. Then: the router detected from what sends to
# the Service; refusals (two routing objects, none, a foreign canary
# Service, Istio's CRD not served) each with one error line and nothing
# changed.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../canary.sh
. "$(dirname "$0")/../canary.sh"
# shellcheck source=../routers.sh
. "$(dirname "$0")/../routers.sh"

trap 'e2e_cleanup; routers_crds_remove' EXIT
routers_crds_install

# rsnapshot: snapshot's digest extended to Services and every routing object.
rsnapshot() {
	{
		snapshot
		for t in services ingresses $HTTPROUTE $VS $TS; do
			$K get "$t" -o json 2>/dev/null | jq -cS '[.items[] | {kind, name: .metadata.name, labels: .metadata.labels,
				annotations: .metadata.annotations, spec: .spec}]'
		done
	} | sha256sum | cut -c1-16
}
# svc_hash NAME: the pod-template-hash in the Service's selector ("null" when none).
svc_hash() { $K get svc "$1" -o json | jq -r '.spec.selector["pod-template-hash"]'; }
# ready_endpoints SVC WANT: the ready endpoints of the Service's EndpointSlices,
# once they are WANT (the controller takes a moment), else after 10 s.
ready_endpoints() {
	local n=0
	for _ in $(seq 1 50); do
		n=$($K get endpointslices -l "kubernetes.io/service-name=$1" -o json |
			jq '[.items[].endpoints[]? | select(.conditions.ready)] | length')
		[ "$n" = "$2" ] && break
		sleep 0.2
	done
	echo "$n"
}
# settled ROUTER NAME CMD...: runs CMD (an abort, or a finish) in the
# background as run does; once traffic has left the canary for good (the
# routing object back to $orig_route; nginx: its copy gone) it looks again
# 3 s later: SETTLED is "yes SERVICE/REPLICAS", whether the canary Service
# and D-canary (its replicas) were still there.
settled() {
	local router=$1 name=$2 moved=no back=no type pid
	type=$(type_of "$1")
	shift 2
	# moved: the traffic is (or was, before CMD started) partly on the canary
	on_canary() {
		if [ "$router" = nginx ]; then [ "$(exists ingress "$name-canary")" = yes ]; else [ "$(obj "$type" "$name")" != "$orig_route" ]; fi
	}
	on_canary && moved=yes
	"$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
	pid=$!
	for _ in $(seq 1 600); do
		if on_canary; then
			moved=yes
		elif [ $moved = yes ]; then
			back=yes
			break
		fi
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	[ $back = yes ] && sleep 3
	SETTLED="$back $(exists service "$name-canary")/$(replicas "$name-canary")"
	wait $pid
	RC=$?
	OUT=$(cat "$E2E_TMP/out")
	ERR=$(cat "$E2E_TMP/err")
}

# --- each router: start, promote, abort, then a run to the end.
for router in gateway istio nginx smi; do
	name=r-$router
	type=$(type_of $router)
	routed "$name"
	route_object $router "$name" | $K apply -f - >/dev/null
	orig_route=$(obj "$type" "$name")
	orig_svc=$(obj service "$name")
	hash=$(stable_hash "$name")

	run "$CANARY" -n "$NS" start "$name" --image "app=registry.example/$name:2.0" --steps 20,60 --pause 0 --router $router
	expect_rc 0 "$router: start"
	rev=$(state "$name" | jq -r .revision)
	expect_eq "$(state "$name" | jq -r '[.router, .service, .route] | join(" ")')" "$router $name $name" "$router: state names router, Service and routing object"
	expect_eq "$(replicas "$name-canary")/$(replicas "$name")" "3/3" "$router: canary at full size beside stable"
	expect_eq "$($K get svc "$name" -o json | jq -cS .spec.selector)" "{\"app\":\"$name\",\"pod-template-hash\":\"$hash\"}" "$router: Service pinned to the stable pods"
	expect_eq "$($K get svc "$name" -o json | jq -r '.metadata.annotations["rollguard.io/original-selector"]')" "{\"app\":\"$name\"}" "$router: original selector saved"
	expect_eq "$($K get svc "$name-canary" -o json | jq -cS .spec.selector)" "{\"app\":\"$name\",\"rollguard.io/revision\":\"$rev\",\"rollguard.io/track\":\"canary\"}" "$router: canary Service selects the canary pods"
	expect_eq "$($K get svc "$name-canary" -o json | jq -c '[.spec.ports[] | {name, port, targetPort}]')" '[{"name":"http","port":80,"targetPort":8080}]' "$router: canary Service has the ports"
	expect_eq "$($K get svc "$name-canary" -o json | jq -r '[.metadata.labels["app.kubernetes.io/managed-by"], .metadata.ownerReferences[0].name] | join(" ")')" "rollguard $name" "$router: canary Service is ours, owned by D"
	if [ $router = nginx ]; then
		expect_eq "$(weights $router "$name")" "$name-canary=20 canary=true" "nginx: 20% in the copy's annotations"
		expect_eq "$(obj ingress "$name")" "$orig_route" "nginx: the user's Ingress unchanged"
		expect_eq "$($K get ingress "$name-canary" -o json | jq -r '[.spec.ingressClassName, .spec.rules[0].host, .metadata.ownerReferences[0].name] | join(" ")')" "nginx $name.example $name" "nginx: the copy's class, host and owner"
	else
		expect_eq "$(weights $router "$name")" "$name=80 $name-canary=20" "$router: weights at 20%"
		expect_eq "$($K get "$type" "$name" -o json | jq -r '.metadata.annotations["rollguard.io/routed-by"]')" "$name" "$router: routed-by on the routing object"
		expect_eq "$($K get "$type" "$name" -o json | jq -cS '.metadata.annotations["rollguard.io/original"] | fromjson')" "$(jq -cS .spec <<<"$orig_route")" "$router: the original spec saved on it"
	fi
	run "$CANARY" -n "$NS" status "$name" -o json
	expect_eq "$(jq -r .router <<<"$OUT")" $router "$router: status shows the router"

	run "$CANARY" -n "$NS" promote "$name"
	expect_rc 0 "$router: promote"
	if [ $router = nginx ]; then
		expect_eq "$(weights $router "$name")" "$name-canary=60 canary=true" "nginx: 60% after promote"
	else
		expect_eq "$(weights $router "$name")" "$name=40 $name-canary=60" "$router: weights at 60% after promote"
	fi

	settled $router "$name" "$CANARY" -n "$NS" abort "$name" --reason "e2e"
	expect_rc 0 "$router: abort"
	expect_eq "$SETTLED" "yes yes/3" "$router: abort kept the canary Service and Deployment a while after traffic left them"
	expect_eq "$(obj "$type" "$name")" "$orig_route" "$router: abort restored the routing object exactly"
	expect_eq "$(obj service "$name")" "$orig_svc" "$router: abort restored the Service exactly"
	expect_eq "$(exists service "$name-canary")/$(exists ingress "$name-canary")/$(replicas "$name-canary")" "no/no/absent" "$router: abort removed the canary Service, copy and Deployment"
	expect_eq "$(replicas "$name")" 3 "$router: stable at N after abort"

	# a second run to the end: run walks the ladder for smi, promotes for the others
	if [ $router = smi ]; then
		settled smi "$name" "$CANARY" -n "$NS" run "$name" --image "app=registry.example/$name:3.0" --steps 50 --pause 0 --router smi
		expect_rc 0 "smi: run to the end"
	else
		run "$CANARY" -n "$NS" start "$name" --image "app=registry.example/$name:3.0" --steps 50 --router $router
		expect_rc 0 "$router: second start"
		settled $router "$name" "$CANARY" -n "$NS" promote "$name" --full
		expect_rc 0 "$router: promote --full"
	fi
	expect_eq "$SETTLED" "yes yes/3" "$router: the finish kept the canary Service and Deployment a while after traffic left them"
	expect_eq "$(state "$name" | jq -r .phase)" Succeeded "$router: second run succeeded"
	expect_eq "$(image "$name")" "registry.example/$name:3.0" "$router: D has the new image"
	expect_eq "$(replicas "$name")" 3 "$router: D at N"
	expect_eq "$(obj "$type" "$name")" "$orig_route" "$router: the routing object restored exactly after the finish"
	expect_eq "$(obj service "$name")" "$orig_svc" "$router: the Service restored exactly after the finish"
	expect_eq "$(exists service "$name-canary")/$(exists ingress "$name-canary")/$(replicas "$name-canary")" "no/no/absent" "$router: nothing of rollguard's left"
done

# --- killed mid-way (a test build kills itself at a named point), then
# abort: the user's objects come back exactly.
# The killed processes' Leases lapse in 3 s, so the next command waits
# only that long.
routed crash
route_object gateway crash | $K apply -f - >/dev/null
orig_route=$(obj $HTTPROUTE crash)
orig_svc=$(obj service crash)
orig_tpl=$($K get deploy crash -o json | jq -cS .spec.template)
crash_hash=$(stable_hash crash)
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=start-after-create run "$CANARY" -n "$NS" start crash --image app=registry.example/crash:2.0 --steps 50
expect_rc 137 "killed after the start's writes"
expect_eq "$(svc_hash crash)/$(exists service crash-canary)" "$crash_hash/yes" "killed start: Service pinned, canary Service there"
expect_eq "$(state crash | jq -r .blueHash)" "$crash_hash" "killed start: the stable pods' hash recorded with the run's intent"
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=abort-after-restore run "$CANARY" -n "$NS" abort crash
expect_rc 137 "killed start: abort killed once it moved the traffic back"
expect_eq "$(svc_hash crash)/$(ready_endpoints crash 3)" "$crash_hash/3" "killed start: the abort left the Service on the 3 stable pods"
# a state without the hash (an older start): the one the Service is pinned to is kept
$K annotate deploy crash --overwrite "rollguard.io/canary=$(state crash | jq -c 'del(.blueHash)')" >/dev/null
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=abort-after-restore run "$CANARY" -n "$NS" abort crash
expect_rc 137 "killed start, no hash in the state: abort killed once it moved the traffic back"
expect_eq "$(svc_hash crash)/$(ready_endpoints crash 3)" "$crash_hash/3" "no hash in the state: the abort never wrote an empty one"
run "$CANARY" -n "$NS" abort crash
expect_rc 0 "killed start: abort"
expect_eq "$(obj $HTTPROUTE crash)/$(obj service crash)" "$orig_route/$orig_svc" "killed start: abort restored the HTTPRoute and the Service exactly"
expect_eq "$(exists service crash-canary)/$(replicas crash-canary)" "no/absent" "killed start: nothing of rollguard's left"
# the canary's template adds a nodeSelector and an annotation (--patch)
printf 'spec:\n  template:\n    metadata:\n      annotations: {rollguard-e2e/added: "yes"}\n    spec:\n      nodeSelector: {kubernetes.io/os: linux}\n      containers:\n      - {name: app, image: registry.example/crash:2.0}\n' >"$E2E_TMP/crash-patch.yaml"
run "$CANARY" -n "$NS" start crash --patch "$E2E_TMP/crash-patch.yaml" --steps 50
expect_rc 0 "crash: start again, --patch adding a nodeSelector and an annotation"
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=finish-after-template run "$CANARY" -n "$NS" promote crash --full
expect_rc 137 "killed after D got the new template"
expect_eq "$(weights gateway crash)" "crash=0 crash-canary=100" "killed finish: all traffic on the canary before D rolled out"
expect_eq "$($K get svc crash -o json | jq -r '.spec.selector["rollguard.io/track"]')" canary "killed finish: the pinned Service switched to the canary pods"
expect_eq "$($K get deploy crash -o json | jq -r '[.spec.template.spec.nodeSelector["kubernetes.io/os"], .spec.template.metadata.annotations["rollguard-e2e/added"]] | join(" ")')" "linux yes" "killed finish: D carries the canary's template"
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=abort-after-restore run "$CANARY" -n "$NS" abort crash
expect_rc 137 "killed finish: abort killed once it moved the traffic back"
expect_eq "$($K get deploy crash -o json | jq -cS .spec.template)" "$orig_tpl" "killed finish: abort put D's template back exactly"
expect_eq "$(svc_hash crash)/$(ready_endpoints crash 3)" "$crash_hash/3" "killed finish: the pinned Service selects the 3 stable pods again"
run "$CANARY" -n "$NS" abort crash
expect_rc 0 "killed finish: abort"
expect_eq "$(image crash)" registry.example/crash:1.0 "killed finish: abort put the old template back"
expect_eq "$($K get deploy crash -o json | jq -cS .spec.template)" "$orig_tpl" "killed finish: D's template is the original exactly"
expect_eq "$(obj $HTTPROUTE crash)/$(obj service crash)" "$orig_route/$orig_svc" "killed finish: abort restored the HTTPRoute and the Service exactly"
expect_eq "$(exists service crash-canary)/$(replicas crash-canary)" "no/absent" "killed finish: nothing of rollguard's left"

# --- the finish sends all traffic to the canary only once its pods are
# Ready, --force or not: a crash-looping pod stops it at once, a pod that
# is not Ready at the progress deadline (4 s here).
t() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
canary_pod() { $K get pods -l "app=$1,rollguard.io/track=canary" -o jsonpath='{.items[0].metadata.name}'; }
# not_ready POD CONTAINER_STATE_JSON RESTARTS: the pod not Ready, as the kubelet writes it.
not_ready() {
	$K patch pod "$1" --subresource status --type merge -p "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"$(t now)\"}],\"containerStatuses\":[{\"name\":\"app\",\"image\":\"x\",\"imageID\":\"\",\"ready\":false,\"started\":false,\"restartCount\":$3,\"state\":$2}]}}" >/dev/null
}
routed loop
route_object gateway loop | $K apply -f - >/dev/null
routed slow 4
route_object gateway slow | $K apply -f - >/dev/null
for d in loop slow; do
	run "$CANARY" -n "$NS" start $d --image app=registry.example/$d:2.0 --steps 50
	expect_rc 0 "$d: start"
done
not_ready "$(canary_pod loop)" '{"waiting":{"reason":"CrashLoopBackOff"}}' 3
not_ready "$(canary_pod slow)" "{\"running\":{\"startedAt\":\"$(t now)\"}}" 0
before=$(rsnapshot)
run "$CANARY" -n "$NS" promote loop --full --force
expect_rc 1 "finish, a canary pod crash-looping, --force"
expect_one_error_line "finish, a canary pod crash-looping"
expect_err "is CrashLoopBackOff; no traffic was moved to the canary" "finish, a canary pod crash-looping: says why"
expect_eq "$(weights gateway loop)/$(image loop)" "loop=50 loop-canary=50/registry.example/loop:1.0" "finish, a canary pod crash-looping: traffic and D as they were"
run "$CANARY" -n "$NS" promote slow --full --force
expect_rc 1 "finish, a canary pod not Ready, --force"
expect_one_error_line "finish, a canary pod not Ready"
expect_err "canary pods Ready after" "finish, a canary pod not Ready: says why"
expect_eq "$(weights gateway slow)/$(image slow)" "slow=50 slow-canary=50/registry.example/slow:1.0" "finish, a canary pod not Ready: traffic and D as they were"
expect_eq "$(rsnapshot)" "$before" "finish refused: nothing changed"
for d in loop slow; do
	run "$CANARY" -n "$NS" abort $d
	expect_rc 0 "$d: abort"
done

# --- an HPA on D: the canary is sized from D's replicas at every step.
routed scaled
route_object gateway scaled | $K apply -f - >/dev/null
cat <<YAML | $K apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}
  minReplicas: 2
  maxReplicas: 6
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
YAML
run "$CANARY" -n "$NS" start scaled --image app=registry.example/scaled:2.0 --steps 20,60
expect_rc 0 "HPA: start"
expect_eq "$(replicas scaled-canary)/$(replicas scaled)" "3/3" "HPA: the canary at D's size"
$K scale deploy scaled --replicas 4 >/dev/null # as the HPA would
$K rollout status deploy/scaled --timeout=60s >/dev/null
run "$CANARY" -n "$NS" promote scaled
expect_rc 0 "HPA: promote"
expect_eq "$(replicas scaled-canary)/$(replicas scaled)" "4/4" "HPA: the canary sized from D's replicas now"
run "$CANARY" -n "$NS" abort scaled
expect_rc 0 "HPA: abort"

# --- smi without a TrafficSplit: --router smi creates one for the run.
routed own
run "$CANARY" -n "$NS" start own --image app=registry.example/own:2.0 --steps 25 --router smi
expect_rc 0 "smi, no TrafficSplit: start"
expect_eq "$(state own | jq -r .route)" own-canary "smi: the run's TrafficSplit is named D-canary"
expect_eq "$(weights smi own-canary)" "own=75 own-canary=25" "smi: the created TrafficSplit at 25%"
expect_eq "$($K get $TS own-canary -o json | jq -r '[.spec.service, .metadata.labels["app.kubernetes.io/managed-by"], .metadata.ownerReferences[0].name] | join(" ")')" "own rollguard own" "smi: the created TrafficSplit's root, label and owner"
run "$CANARY" -n "$NS" abort own
expect_rc 0 "smi, no TrafficSplit: abort"
expect_eq "$(exists $TS own-canary)/$(exists service own-canary)" "no/no" "smi: the created TrafficSplit and canary Service deleted"

# --- detection: the first HTTPRoute, VirtualService, Ingress (nginx class)
# or TrafficSplit that sends to D's Service; else replicas.
for router in gateway istio nginx smi; do
	name=d-$router
	routed "$name"
	route_object $router "$name" | $K apply -f - >/dev/null
	run "$CANARY" -n "$NS" start "$name" --image "app=registry.example/$name:2.0" --steps 50
	expect_rc 0 "detect $router: start"
	expect_eq "$(state "$name" | jq -r .router)" $router "detect: $router"
	run "$CANARY" -n "$NS" abort "$name"
	expect_rc 0 "detect $router: abort"
done
routed both
route_object istio both | $K apply -f - >/dev/null
route_object gateway both | $K apply -f - >/dev/null
run "$CANARY" -n "$NS" start both --image app=registry.example/both:2.0 --steps 50 --dry-run
expect_rc 0 "detect: HTTPRoute before VirtualService (dry run)"
expect_eq "$(state both)" "" "detect dry run: no state written"
run "$CANARY" -n "$NS" start both --image app=registry.example/both:2.0 --steps 50
expect_eq "$(state both | jq -r .router)" gateway "detect: HTTPRoute before VirtualService"
run "$CANARY" -n "$NS" abort both
routed plain
run "$CANARY" -n "$NS" start plain --image app=registry.example/plain:2.0 --steps 50
expect_eq "$(state plain | jq -r .router)" replicas "detect: nothing routes to the Service: replicas"
expect_eq "$(replicas plain-canary)/$(replicas plain)" "2/1" "detect: replicas splits the pods"
run "$CANARY" -n "$NS" abort plain
routed traefik
route_object nginx traefik | sed 's/ingressClassName: nginx/ingressClassName: traefik/' | $K apply -f - >/dev/null
run "$CANARY" -n "$NS" start traefik --image app=registry.example/traefik:2.0 --steps 50
expect_eq "$(state traefik | jq -r .router)" replicas "detect: an Ingress of another class is not nginx's"
run "$CANARY" -n "$NS" abort traefik

# --- refusals: one error line, exit 5, nothing changed.
routed twice
route_object gateway twice | $K apply -f - >/dev/null
route_object gateway twice-b twice | $K apply -f - >/dev/null
before=$(rsnapshot)
run "$CANARY" -n "$NS" start twice --image app=registry.example/twice:2.0
expect_rc 5 "two HTTPRoutes"
expect_one_error_line "two HTTPRoutes"
expect_err "2 HTTPRoutes send to its Services (twice, twice-b)" "two HTTPRoutes: names them"
expect_eq "$(rsnapshot)" "$before" "two HTTPRoutes: nothing changed"

run "$CANARY" -n "$NS" start plain --image app=registry.example/plain:3.0 --router gateway
expect_rc 5 "--router gateway, no HTTPRoute"
expect_one_error_line "--router gateway, no HTTPRoute"
expect_eq "$(rsnapshot)" "$before" "--router gateway, no HTTPRoute: nothing changed"

routed foreign
route_object gateway foreign | $K apply -f - >/dev/null
$K create service clusterip foreign-canary --tcp=80:8080 >/dev/null
before=$(rsnapshot)
run "$CANARY" -n "$NS" start foreign --image app=registry.example/foreign:2.0
expect_rc 5 "a canary Service rollguard did not create"
expect_one_error_line "a canary Service rollguard did not create"
expect_err "service/foreign-canary exists and was not created by rollguard" "foreign canary Service"
expect_eq "$(rsnapshot)" "$before" "foreign canary Service: nothing changed"

run "$CANARY" -n "$NS" start plain --image app=registry.example/plain:3.0 --router nosuch
expect_rc 2 "unknown router"

# Istio's CRD removed (the binary's cached discovery still lists it): exit 5.
routed mesh
route_object istio mesh | $K apply -f - >/dev/null
run "$CANARY" -n "$NS" start mesh --image app=registry.example/mesh:2.0 --router istio --dry-run
expect_rc 0 "istio served: dry run (discovery cached)"
kubectl delete crd $VS --wait=true >/dev/null
before=$(rsnapshot)
run "$CANARY" -n "$NS" start mesh --image app=registry.example/mesh:2.0 --router istio
expect_rc 5 "--router istio, CRD not served"
expect_one_error_line "--router istio, CRD not served"
expect_err "the server does not serve VirtualService" "--router istio, CRD not served"
expect_eq "$(rsnapshot)" "$before" "--router istio, CRD not served: nothing changed"
run "$CANARY" -n "$NS" start mesh --image app=registry.example/mesh:2.0 --steps 50
expect_rc 0 "detect without Istio's CRD"
expect_eq "$(state mesh | jq -r .router)" replicas "detect without Istio's CRD: replicas"
run "$CANARY" -n "$NS" abort mesh
kubectl apply --server-side -f "$CRDS/virtualservices.yaml" >/dev/null

finish
