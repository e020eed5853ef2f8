#!/usr/bin/env bash
# kubectl canary's metric gates (SPEC §3.5) against a real Prometheus
# (Debian's, in a network namespace of this suite's own: e2e/prometheus.sh)
# scraping tools/track_exporter.py, whose canary and stable request rate,
# error fraction and latency the suite sets. Needs root (ip netns).
#   a) a good canary is promoted through the ladder by run (Prometheus
#      through the API server's service proxy) and succeeds;
#   b) a bad canary (30% errors against 0.5%) aborts the run, stable is
#      restored, the reason names the query and the values; promote refuses
#      a failing istio-template gate and changes nothing; with the nginx
#      router its template is the default, refusing 30% errors and
#      promoting once they are gone;
#   c) too few canary requests: WAIT, promote refuses, run --on-timeout
#      hold holds (exit 5);
#   d) Prometheus unreachable (a wrong port; the namespace's Prometheus
#      stopped): WAIT, never PASS; promote refuses, status says why;
#   e) --max-p99 100ms against a 400 ms canary: FAIL;
#   f) status shows each gate's value against its threshold (-o json has
#      them on the gate records); the queries are the contract's, logged
#      at -v=4;
#   g) a bad --analysis file: exit 2, one line, nothing changed; a
#      password in the address is refused without being repeated;
#   h) a canary without requests WAITs with --min-requests 0; a tiny
#      errorRate floor is stored so that later commands read it; queries
#      carry Prometheus's timeout=5s;
#   i) a start killed half-way and run again keeps the analysis it stored
#      and warns about analysis flags that differ (or that it has none).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../canary.sh"
. "$(dirname "$0")/../prometheus.sh"

prom_up
ok "prometheus: scrapes the exporter; $PROM_URL and $PROM_SERVICE answer"

W=10s
# analysis NAME [EXTRA-YAML-LINES]: an analysis file with short intervals.
analysis() {
	{
		printf 'interval: 2s\nwindow: %s\nminRequests: 50\nerrorRate: {ratio: 2, floor: 1%%}\n' "$W"
		[ $# -gt 1 ] && printf '%s\n' "$2"
	} >"$E2E_TMP/$1.yaml"
	echo "$E2E_TMP/$1.yaml"
}
revision() { state "$1" | jq -r .revision; }
analysis_annotation() { $K get deploy "$1" -o jsonpath='{.metadata.annotations.rollguard\.io/canary-analysis}'; }
canary_sel() { printf 'namespace="%s",rollguard_io_track="canary",rollguard_io_revision="%s"' "$NS" "$(revision "$1")"; }
# D's own pods: D-HASH-SUFFIX in the alphabet of Kubernetes's generated names.
NAME_CHARS='[bcdfghjklmnpqrstvwxz2456789]'
stable_sel() { printf 'namespace="%s",pod=~"%s-%s{1,10}-%s{5}",rollguard_io_track=""' "$NS" "$1" "$NAME_CHARS" "$NAME_CHARS"; }
# feed NAME: the exporter's series become those of D=NAME's run (revision
# from the run's state, the real pod names of both tracks).
feed() {
	local cpod spod
	cpod=$($K get pods -l "app=$1,rollguard.io/track=canary" -o jsonpath='{.items[0].metadata.name}')
	spod=$($K get pods -l "app=$1,rollguard.io/track!=canary" -o jsonpath='{.items[0].metadata.name}')
	exporter_labels namespace="$NS" deployment="$1" revision="$(revision "$1")" \
		canaryPod="${cpod:-$1-canary-6d4b9c7f5-k2x8q}" stablePod="${spod:-$1-7c9d8f6b5-m4z7p}" service="$1" ingress="$1"
}
# traffic CANARY-RPS CANARY-ERRORS CANARY-MS STABLE-RPS STABLE-ERRORS STABLE-MS
traffic() {
	track canary rps="$1" errors="$2" latencyMs="$3"
	track stable rps="$4" errors="$5" latencyMs="$6"
}
# enough NAME [N]: until Prometheus has N (60) canary requests of NAME's run
# in the window (the gates then judge rather than wait).
enough() {
	prom_wait "sum(increase(http_requests_total{$(canary_sel "$1")}[$W]))" '>=' "${2:-60}" 30 ||
		fail "$1: Prometheus never had ${2:-60} canary requests in $W"
}
expect_near() { # VALUE EXPECTED TOLERANCE WHAT
	if awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(v != "" && d <= t) }'; then
		ok "$4: $1"
	else
		fail "$4: expected $2 (within $3), got '$1'"
	fi
}
gate() { # JSON NAME FIELD: a gate record's field in a CanaryStatus
	jq -r --arg n "$2" --arg f "$3" '[.gates[]? | select(.name == $n)][0][$f] // "absent"' <<<"$1"
}

# --- the infrastructure itself: both ways to Prometheus see the same data.
exporter_labels namespace="$NS" deployment=probe revision=r1 canaryPod=probe-canary-5f6d7-bcdfg stablePod=probe-7c8d9-fghjk
traffic 20 0.3 40 20 0.005 400
prom_wait "sum(increase(http_requests_total{namespace=\"$NS\",rollguard_io_track=\"canary\",rollguard_io_revision=\"r1\"}[$W]))" '>=' 100 30
expect_near "$(prom_query_proxy "sum(increase(http_requests_total{namespace=\"$NS\",rollguard_io_track=\"canary\",rollguard_io_revision=\"r1\",code=~\"5..\"}[$W])) / sum(increase(http_requests_total{namespace=\"$NS\",rollguard_io_track=\"canary\",rollguard_io_revision=\"r1\"}[$W]))")" \
	0.3 0.001 "service proxy: canary error rate"
expect_near "$(prom_query "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{$(stable_sel probe)}[$W])) by (le))")" \
	0.4975 0.0001 "direct: stable p99 (400 ms, interpolated in the 0.25-0.5 bucket)"

# --- (g) a bad analysis file: exit 2, one line, nothing changed.
app web 2
before=$(snapshot)
printf 'interval: 2s\nwindow: 10s\nthreshold: 5\n' >"$E2E_TMP/unknown.yaml"
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --analysis "$E2E_TMP/unknown.yaml" --prometheus "$PROM_URL"
expect_rc 2 "analysis: unknown key"
expect_one_error_line "analysis: unknown key"
expect_err "threshold" "analysis: unknown key named"
printf 'interval: 2x\nwindow: 10s\n' >"$E2E_TMP/baddur.yaml"
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --analysis "$E2E_TMP/baddur.yaml" --prometheus "$PROM_URL"
expect_rc 2 "analysis: bad duration"
expect_one_error_line "analysis: bad duration"
expect_err "interval" "analysis: bad duration: the key named"
printf 'errorRate: {ratio: 2, flor: 1%%}\n' >"$E2E_TMP/nested.yaml"
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --analysis "$E2E_TMP/nested.yaml" --prometheus "$PROM_URL"
expect_rc 2 "analysis: unknown nested key"
expect_err "flor" "analysis: unknown nested key named"
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --analysis "$E2E_TMP/absent.yaml"
expect_rc 2 "analysis: missing file"
expect_one_error_line "analysis: missing file"
# a password in the address: refused, and not repeated (the address is
# stored on the Deployment)
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --prometheus "http://user:s3cret@$PROM_IP:9090"
expect_rc 2 "credentials: --prometheus refused"
expect_one_error_line "credentials: --prometheus refused"
expect_err "credentials in the URL are not supported" "credentials: says why"
expect_no "s3cret" "credentials: the password is not repeated"
printf 'prometheus: http://user:s3cret@%s:9090\n' "$PROM_IP" >"$E2E_TMP/creds.yaml"
run "$CANARY" -n "$NS" start web --image app=registry.example/web:2.0 --analysis "$E2E_TMP/creds.yaml"
expect_rc 2 "credentials: the file's prometheus refused"
expect_err "prometheus: credentials in the URL are not supported" "credentials: the file's key named"
expect_no "s3cret" "credentials: the file's password is not repeated"
expect_eq "$(snapshot)" "$before" "bad analysis: nothing changed"
expect_eq "$(replicas web-canary)" absent "bad analysis: no canary"

# --- (a)+(f) a good canary, Prometheus through the service proxy.
app good 4
run "$CANARY" -n "$NS" start good --image app=registry.example/good:2.0 --steps 25,50,100 --pause 3s \
	--analysis "$(analysis good 'maxP99: 500ms')" --prometheus "$PROM_SERVICE"
expect_rc 0 "good: start"
ann=$(analysis_annotation good)
expect_eq "$(jq -r '"\(.interval)/\(.window)/\(.minRequests)/\(.template)"' <<<"$ann" 2>/dev/null)" "2s/10s/50/app" "good: the analysis kept on D"
feed good
# stable at 0.2%: twice that stays under the 1% floor, so the threshold is
# the floor and does not move between the two status calls below (at 0.5%
# twice the stable rate sat on the floor and drifted to 1.01%)
traffic 20 0.005 40 20 0.002 40
enough good
run "$CANARY" -n "$NS" status good -o json
expect_rc 0 "good: status -o json"
json=$OUT
expect_eq "$(gate "$json" error-rate verdict)" PASS "good: error-rate gate"
expect_eq "$(gate "$json" latency-p99 verdict)" PASS "good: latency-p99 gate"
for g in error-rate latency-p99; do
	val=$(gate "$json" $g value) thr=$(gate "$json" $g threshold)
	if [ -n "$val" ] && [ "$val" != absent ] && [ -n "$thr" ] && [ "$thr" != absent ]; then
		ok "good: $g record has value '$val' and threshold '$thr'"
	else
		fail "good: $g record lacks value/threshold: $(jq -c --arg n $g '.gates[]? | select(.name == $n)' <<<"$json")"
	fi
done
run "$CANARY" -n "$NS" status good -v=4
expect_rc 0 "good: status"
for g in error-rate latency-p99; do
	line=$(grep -F "$g" <<<"$OUT" | head -n 1)
	val=$(gate "$json" $g value) thr=$(gate "$json" $g threshold)
	# The values move between the two calls; the threshold does not.
	if grep -qF -- "$thr" <<<"$line" && grep -qE '[0-9]' <<<"${line#*"$g"}"; then
		ok "good: status shows $g against its threshold: $line"
	else
		fail "good: status line of $g '$line' lacks its value or threshold '$thr' (json value '$val')"
	fi
done
expect_err "sum(increase(http_requests_total{$(canary_sel good)}[$W]))" "good: -v=4 logs the canary requests query of the app template"
expect_err "sum(increase(http_requests_total{$(stable_sel good),code=~\"5..\"}[$W]))" "good: -v=4 logs the stable errors query"
expect_err "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{$(canary_sel good)}[$W])) by (le))" "good: -v=4 logs the canary p99 query"
run "$CANARY" -n "$NS" run good -o json
expect_rc 0 "good: run promotes through the ladder"
# run resumes the started run: 25% -> 50% (gates PASS), 3 s there, 100%.
expect_eq "$(jq -r 'select(.kind == "CanaryEvent") | "\(.type)/\(.weight)"' <<<"$OUT" | tr '\n' ' ')" \
	"Resumed/25 Promoted/50 Succeeded/100 " "good: events"
expect_eq "$(phase good)" Succeeded "good: phase"
expect_eq "$(image good)" registry.example/good:2.0 "good: D has the new image"
expect_eq "$(replicas good)" 4 "good: D at N"
expect_eq "$(replicas good-canary)" absent "good: canary removed"
expect_eq "$(analysis_annotation good)" "" "good: the analysis annotation removed at the end"

# --- (b) a bad canary: 30% errors against 0.5%, Prometheus direct.
app bad 2
run "$CANARY" -n "$NS" start bad --image app=registry.example/bad:2.0 --steps 50,100 --pause 5s \
	--analysis "$(analysis bad)" --prometheus "$PROM_URL"
expect_rc 0 "bad: start"
# the rates first: the series feed starts count only at them (the reason
# below names the canary's 30%)
traffic 20 0.3 40 20 0.005 40
feed bad
enough bad
run "$CANARY" -n "$NS" run bad
expect_rc 1 "bad: run aborts"
expect_err "error-rate" "bad: the gate named"
expect_err "code=~\"5..\"" "bad: the error query named"
expect_eq "$(phase bad)" Aborted "bad: phase"
expect_eq "$(replicas bad)" 2 "bad: stable restored"
expect_eq "$(image bad)" registry.example/bad:1.0 "bad: stable template kept"
expect_eq "$(replicas bad-canary)" absent "bad: canary removed"
reason=$(state bad | jq -r .reason)
if grep -q 'http_requests_total' <<<"$reason" && grep -qE '(^|[^0-9.])(0\.3|0\.29[0-9]*|30(\.[0-9]+)?%|29\.[0-9]+%)' <<<"$reason" &&
	grep -qE '(0\.005|0\.(49|5)[0-9]*%)' <<<"$reason"; then
	ok "bad: the reason names the query and both error rates: $reason"
else
	fail "bad: reason '$reason'"
fi
expect_eq "$(analysis_annotation bad)" "" "bad: the analysis annotation removed"

# --- (b') promote refuses a failing gate of the istio template (the
# template chosen in the file, the replicas router), nothing changed.
app mesh 2
run "$CANARY" -n "$NS" start mesh --image app=registry.example/mesh:2.0 --steps 50,100 \
	--analysis "$(analysis mesh 'template: istio')" --prometheus "$PROM_SERVICE"
expect_rc 0 "istio template: start"
feed mesh
traffic 20 0.3 40 20 0.005 40
prom_wait "sum(increase(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"$NS\",destination_workload=\"mesh-canary\"}[$W]))" '>=' 60 30
before=$(snapshot)
run "$CANARY" -n "$NS" promote mesh
expect_rc 1 "istio template: promote refuses"
expect_one_error_line "istio template: promote refuses"
# refused for a FAIL, not a WAIT: the judged rate and the errors query
expect_err "canary error rate" "istio template: the rate judged"
expect_err "istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"$NS\",destination_workload=\"mesh-canary\",response_code=~\"5..\"}" "istio template: the errors query named"
expect_eq "$(snapshot)" "$before" "istio template: nothing changed"
run "$CANARY" -n "$NS" status mesh -o json
expect_eq "$(gate "$OUT" error-rate verdict)" FAIL "istio template: status: error-rate FAIL"
run "$CANARY" -n "$NS" abort mesh
expect_rc 0 "istio template: abort"

# --- the nginx router: its template by default (service SVC-canary / SVC);
# a failing canary is refused, the same canary healthy again is promoted.
APP_SERVICE=1 app edge 2
cat <<YAML | $K apply -f - >/dev/null
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: edge}
spec:
  ingressClassName: nginx
  rules:
  - host: edge.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: edge, port: {number: 80}}}}
YAML
run "$CANARY" -n "$NS" start edge --image app=registry.example/edge:2.0 --steps 50,100 --router nginx \
	--analysis "$(analysis edge)" --prometheus "$PROM_SERVICE"
expect_rc 0 "nginx router: start"
expect_eq "$(analysis_annotation edge | jq -r .template)" nginx "nginx router: the nginx template chosen"
feed edge
traffic 20 0.3 40 20 0.005 40
nginx_canary="namespace=\"$NS\",service=\"edge-canary\""
prom_wait "sum(increase(nginx_ingress_controller_requests{$nginx_canary}[$W]))" '>=' 60 30
before=$(snapshot)
edge_weight() { $K get ingress edge-canary -o jsonpath='{.metadata.annotations.nginx\.ingress\.kubernetes\.io/canary-weight}'; }
expect_eq "$(edge_weight)" 50 "nginx router: the copy at 50%"
run "$CANARY" -n "$NS" promote edge
expect_rc 1 "nginx router: promote refuses 30% errors"
expect_err "nginx_ingress_controller_requests{$nginx_canary,status=~\"5..\"}" "nginx router: the query named"
expect_eq "$(snapshot)" "$before" "nginx router: nothing changed"
expect_eq "$(edge_weight)" 50 "nginx router: the copy's weight unchanged"
track canary errors=0.005
# Until the 30% have left the window.
prom_wait "sum(increase(nginx_ingress_controller_requests{$nginx_canary,status=~\"5..\"}[$W])) / sum(increase(nginx_ingress_controller_requests{$nginx_canary}[$W]))" '<' 0.009 30
run "$CANARY" -n "$NS" promote edge
expect_rc 0 "nginx router: promoted once the canary is healthy"
expect_eq "$(phase edge)" Succeeded "nginx router: finished"
expect_eq "$($K get ingress edge-canary --no-headers 2>/dev/null | wc -l)" 0 "nginx router: the Ingress copy removed"

# --- (c) too few canary requests: WAIT; promote refuses, run holds.
app few 2
run "$CANARY" -n "$NS" start few --image app=registry.example/few:2.0 --steps 50,100 --pause 2s \
	--analysis "$(analysis few)" --prometheus "$PROM_SERVICE"
expect_rc 0 "few: start"
feed few
traffic 0.5 0 40 20 0 40
prom_wait "sum(increase(http_requests_total{$(canary_sel few)}[$W]))" '>' 1 30 || fail "few: no canary data"
before=$(snapshot)
run "$CANARY" -n "$NS" promote few
expect_rc 1 "few: promote refuses"
expect_one_error_line "few: promote refuses"
expect_err "50 needed" "few: says how many requests are needed"
expect_eq "$(snapshot)" "$before" "few: nothing changed"
run "$CANARY" -n "$NS" status few -o json
expect_eq "$(gate "$OUT" error-rate verdict)" WAIT "few: status: error-rate WAIT"
run "$CANARY" -n "$NS" run few --timeout 15s --on-timeout hold
expect_rc 5 "few: run holds at the timeout"
expect_eq "$(phase few)/$(state few | jq -r .weight)" Paused/50 "few: still paused at 50%"
expect_eq "$(replicas few-canary)" 1 "few: canary kept"
expect_eq "$(image few)" registry.example/few:1.0 "few: not promoted"
run "$CANARY" -n "$NS" abort few
expect_rc 0 "few: abort"

# --- (h) --min-requests 0: a canary without requests still WAITs; a
# floor of 0.00001% is stored as such and read back by later commands;
# every query asks Prometheus to give up after 5 s.
app idle 2
printf 'interval: 2s\nwindow: %s\nerrorRate: {ratio: 2, floor: 0.00001%%}\n' "$W" >"$E2E_TMP/idle.yaml"
run "$CANARY" -n "$NS" start idle --image app=registry.example/idle:2.0 --steps 50,100 \
	--analysis "$E2E_TMP/idle.yaml" --min-requests 0 --prometheus "$PROM_SERVICE"
expect_rc 0 "idle: start"
expect_eq "$(analysis_annotation idle | jq -r '"\(.minRequests) \(.errorRate.floor)"')" "0 0.00001%" "idle: minRequests 0 and the floor kept"
feed idle
traffic 0 0 40 20 0 40
# the canary's series is there, and 0
prom_wait "sum(increase(http_requests_total{$(canary_sel idle)}[$W])) + 1" '>=' 1 30 || fail "idle: no canary series"
run "$CANARY" -n "$NS" status idle -o json -v=6
expect_rc 0 "idle: status reads the stored floor"
json=$OUT
expect_eq "$(gate "$json" error-rate verdict)" WAIT "idle: 0 canary requests WAIT with minRequests 0"
expect_eq "$(gate "$json" error-rate threshold)" "> 0 requests" "idle: the threshold"
expect_err "&timeout=5s" "idle: the proxied query carries timeout=5s"
before=$(snapshot)
run "$CANARY" -n "$NS" promote idle
expect_rc 1 "idle: promote refuses"
expect_err "nothing to judge yet" "idle: says why"
expect_eq "$(snapshot)" "$before" "idle: nothing changed"
run "$CANARY" -n "$NS" abort idle
expect_rc 0 "idle: abort"

# --- (i) a start killed once it recorded the run (and its analysis), run
# again with other analysis flags: the stored analysis is kept, with a
# warning; a start killed without metric gates keeps none.
app half 2
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=start-after-intent run "$CANARY" -n "$NS" start half \
	--image app=registry.example/half:2.0 --steps 50,100 --analysis "$(analysis half)" --prometheus "$PROM_SERVICE"
expect_rc 137 "half: killed after the start recorded the run"
stored=$(analysis_annotation half)
expect_eq "$(jq -r .minRequests <<<"$stored" 2>/dev/null)" 50 "half: the analysis stored"
ROLLGUARD_TEST_LEASE_SECONDS=3 run "$CANARY" -n "$NS" start half --image app=registry.example/half:2.0 --steps 50,100 \
	--analysis "$(analysis half)" --prometheus "$PROM_SERVICE" --min-requests 7
expect_rc 0 "half: start again"
expect_err "keeps the metric gates it started with" "half: warns that the flags given now are not used"
expect_eq "$(analysis_annotation half)" "$stored" "half: the stored analysis kept"
run "$CANARY" -n "$NS" abort half
expect_rc 0 "half: abort"
app bare 2
ROLLGUARD_TEST_LEASE_SECONDS=3 ROLLGUARD_TEST_KILL_AT=start-after-intent run "$CANARY" -n "$NS" start bare \
	--image app=registry.example/bare:2.0 --steps 50,100
expect_rc 137 "bare: killed after the start recorded the run"
ROLLGUARD_TEST_LEASE_SECONDS=3 run "$CANARY" -n "$NS" start bare --image app=registry.example/bare:2.0 --steps 50,100 \
	--prometheus "$PROM_SERVICE"
expect_rc 0 "bare: start again"
expect_err "started without metric gates and keeps none" "bare: warns that --prometheus is ignored"
expect_eq "$(analysis_annotation bare)" "" "bare: still no analysis"
run "$CANARY" -n "$NS" abort bare
expect_rc 0 "bare: abort"

# --- (d) Prometheus unreachable: WAIT (never PASS), with the data good.
app lost 2
run "$CANARY" -n "$NS" start lost --image app=registry.example/lost:2.0 --steps 50,100 \
	--analysis "$(analysis lost)" --prometheus "http://$PROM_IP:9091"
expect_rc 0 "wrong port: start"
feed lost
traffic 20 0 40 20 0 40
enough lost
before=$(snapshot)
run "$CANARY" -n "$NS" promote lost
expect_rc 1 "wrong port: promote refuses"
expect_one_error_line "wrong port: promote refuses"
expect_eq "$(snapshot)" "$before" "wrong port: nothing changed"
run "$CANARY" -n "$NS" status lost -o json
expect_eq "$(gate "$OUT" error-rate verdict)" WAIT "wrong port: status: error-rate WAIT"
msg=$(gate "$OUT" error-rate message)
if grep -qiE '9091|connect|refused|unreachable' <<<"$msg"; then ok "wrong port: says why: $msg"; else fail "wrong port: message '$msg'"; fi
run "$CANARY" -n "$NS" abort lost
expect_rc 0 "wrong port: abort"

app down 2
run "$CANARY" -n "$NS" start down --image app=registry.example/down:2.0 --steps 50,100 \
	--analysis "$(analysis down)" --prometheus "$PROM_SERVICE"
expect_rc 0 "stopped: start"
feed down
traffic 20 0 40 20 0 40
enough down
prom_stop
before=$(snapshot)
run "$CANARY" -n "$NS" promote down
expect_rc 1 "stopped: promote refuses"
expect_one_error_line "stopped: promote refuses"
expect_eq "$(snapshot)" "$before" "stopped: nothing changed"
run "$CANARY" -n "$NS" status down
expect_rc 0 "stopped: status"
expect_out "WAIT" "stopped: status shows WAIT"
run "$CANARY" -n "$NS" status down -o json
expect_eq "$(gate "$OUT" error-rate verdict)" WAIT "stopped: error-rate WAIT"
msg=$(gate "$OUT" error-rate message)
if grep -qiE 'connect|refused|unavailable|503|reach' <<<"$msg"; then ok "stopped: says why: $msg"; else fail "stopped: message '$msg'"; fi
prom_start
enough down
run "$CANARY" -n "$NS" promote down
expect_rc 0 "stopped: promote once Prometheus is back"
expect_eq "$(phase down)" Succeeded "stopped: the last rung: the run finished"

# --- (e) latency: --max-p99 100ms against a 400 ms canary; the address
# from the file.
app slow 2
run "$CANARY" -n "$NS" start slow --image app=registry.example/slow:2.0 --steps 50,100 --pause 5s \
	--analysis "$(analysis slow "prometheus: $PROM_URL")" --max-p99 100ms
expect_rc 0 "latency: start"
feed slow
traffic 20 0 400 20 0 40
enough slow
run "$CANARY" -n "$NS" status slow -o json
expect_eq "$(gate "$OUT" latency-p99 verdict)" FAIL "latency: status: latency-p99 FAIL"
expect_eq "$(gate "$OUT" error-rate verdict)" PASS "latency: status: error-rate PASS"
run "$CANARY" -n "$NS" run slow
expect_rc 1 "latency: run aborts"
expect_err "latency-p99" "latency: the gate named"
expect_err "histogram_quantile" "latency: the query named"
expect_eq "$(phase slow)" Aborted "latency: phase"
expect_eq "$(replicas slow)" 2 "latency: stable restored"
expect_eq "$(replicas slow-canary)" absent "latency: canary removed"

finish
