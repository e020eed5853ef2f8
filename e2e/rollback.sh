# Helpers the helm rollback-safe suites share (sourced after lib.sh): the
# real Helm 3 and Helm 4 with private homes and the plugin installed, a
# namespace per test, the e2e/charts/rsdemo chart installed and upgraded,
# the release records read back (labels and decoded bodies), kwok Stages
# for pods that never become Ready, crash-loop, or hook Jobs that run for a
# while, and the broken release states a rollback starts from (a failed
# upgrade, a stuck pending-upgrade).
#
# Inside a suite `helm3` and `helm4` are shell functions that run the real
# binary with this suite's Helm homes, so `$HELM rollback-safe REL -n NS`
# runs the installed plugin exactly as a user's Helm would (HELM_BIN, the
# HELM_* variables, -n stripped), and the helm the plugin runs inherits the
# same homes.
# shellcheck shell=bash
# The kwok Stage templates below are Go templates in single quotes on purpose.
# shellcheck disable=SC2016
# RC, OUT, ERR, K and RS_PENDING_REV are set here for the suites to read.
# shellcheck disable=SC2034
RS=$BIN/helm-rollback-safe
RS_CHART=$e2e_root/e2e/charts/rsdemo
RS_MANIFEST=$e2e_root/plugins/rollback-safe/plugin.yaml
# A guard on each command a suite runs (rs_run): a hung command fails its
# check (exit 124) instead of the whole suite's ctest timeout.
RS_CMD_TIMEOUT=${RS_CMD_TIMEOUT:-90}
# How long the "slow" hook Job's pod stays Running (seconds).
RS_SLOW_HOOK_S=${RS_SLOW_HOOK_S:-8}

# None of the caller's Helm settings leak in; a test sets HELM_DRIVER itself.
unset HELM_NAMESPACE HELM_KUBECONTEXT HELM_DEBUG HELM_DRIVER HELM_MAX_HISTORY \
	HELM_KUBEAPISERVER HELM_KUBETOKEN HELM_KUBECAFILE HELM_KUBEASUSER HELM_KUBEASGROUPS \
	HELM_KUBEINSECURE_SKIP_TLS_VERIFY HELM_KUBETLS_SERVER_NAME HELM_BIN \
	HELM_PLUGINS HELM_DATA_HOME HELM_CONFIG_HOME HELM_CACHE_HOME \
	ROLLGUARD_TEST_KILL_AT ROLLGUARD_TEST_PAUSE_BEFORE_EXECUTE ROLLGUARD_TEST_LEASE_SECONDS

# --- prerequisites: the binary, helm3, helm4, jq. A missing outside tool is
# a skip on a developer's machine but a failure in CI (as in
# test_helm_plugin.sh).
if [ ! -x "$RS" ]; then
	fail "$RS not built"
	finish
fi
rs_missing=""
for rs_tool in helm3 helm4 jq gzip base64; do
	type -P "$rs_tool" >/dev/null 2>&1 || rs_missing+=" $rs_tool"
done
if [ -n "$rs_missing" ]; then
	rs_hint="e2e/cluster/build.sh helm builds helm3 and helm4; scripts/deps.sh installs jq"
	if [ -n "${CI:-}" ]; then
		fail "not found:$rs_missing ($rs_hint)"
		finish
	fi
	echo "SKIPPED [$SUITE] not found:$rs_missing ($rs_hint)"
	exit 0
fi

# --- cleanup: background commands still running, the test namespaces,
# their CRDs (cluster-scoped, labelled with the namespace by the chart) and
# this suite's kwok Stages. RS_BG_GROUPS holds only process groups of
# background commands this suite started that still have a member (a
# finished one is dropped by rs_finish), so no pid can have been reused.
RS_NAMESPACES=()
RS_STAGES=()
RS_BG_GROUPS=()
RS_STUCK_PID=""
rs_cleanup() {
	local p ns s
	for p in "${RS_BG_GROUPS[@]}"; do kill -9 -- "-$p" 2>/dev/null; done
	[ -z "$RS_STUCK_PID" ] || kill -9 "$RS_STUCK_PID" 2>/dev/null
	for ns in "${RS_NAMESPACES[@]}"; do
		kubectl delete crd -l "rollguard-e2e-ns=$ns" --wait=false >/dev/null 2>&1
		kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
	done
	for s in "${RS_STAGES[@]}"; do kubectl delete stage "$s" --wait=false >/dev/null 2>&1; done
	e2e_cleanup
}
trap rs_cleanup EXIT

# --- Helm with private homes.
# rs_argv HELM: RS_ARGV = the command words that run HELM (helm3|helm4)
# with this suite's homes for it. KUBECACHEDIR keeps Helm's discovery
# cache there too, so a CRD version one test stops serving is never
# answered from another run's cache.
rs_argv() {
	local home=$E2E_TMP/$1
	RS_ARGV=(env HELM_DATA_HOME="$home/data" HELM_CONFIG_HOME="$home/config"
		HELM_CACHE_HOME="$home/cache" HELM_PLUGINS="$home/data/plugins"
		KUBECACHEDIR="$home/kube-cache" "$1")
}
helm3() {
	rs_argv helm3
	"${RS_ARGV[@]}" "$@"
}
helm4() {
	rs_argv helm4
	"${RS_ARGV[@]}" "$@"
}

# rs_run HELM ARGS...: run (lib.sh) HELM with its homes under a timeout
# that kills the whole process group (helm, the plugin, its helm child).
rs_run() {
	rs_argv "$1"
	shift
	run timeout -k 5 "$RS_CMD_TIMEOUT" "${RS_ARGV[@]}" "$@"
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && [ -z "${ROLLGUARD_TEST_KILL_AT:-}" ]; then
		echo "  note: '$*' ran into the ${RS_CMD_TIMEOUT}s guard of rs_run" >&2
	fi
}

# rsafe ARGS...: `$HELM rollback-safe ARGS -n RS_NS` through rs_run: the
# plugin as Helm runs it, -n handed over as HELM_NAMESPACE.
rsafe() { rs_run "$HELM" rollback-safe "$@" -n "$RS_NS"; }

# rs_start NAME HELM ARGS...: the same in the background; output in
# $E2E_TMP/NAME.{out,err}. RS_PID is timeout(1)'s pid, which leads a
# process group of its own (helm, the plugin, the plugin's helm child):
# the cleanup kills what is left of it.
rs_start() {
	local name=$1
	rs_argv "$2"
	shift 2
	timeout -k 5 "$RS_CMD_TIMEOUT" "${RS_ARGV[@]}" "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
	RS_PID=$!
	RS_BG_GROUPS+=("$RS_PID")
}
# rs_finish NAME: waits for rs_start's command; RC, OUT and ERR as run sets.
rs_finish() {
	wait "$RS_PID" 2>/dev/null
	RC=$?
	if ! pgrep -g "$RS_PID" >/dev/null 2>&1; then
		local p kept=()
		for p in "${RS_BG_GROUPS[@]}"; do [ "$p" = "$RS_PID" ] || kept+=("$p"); done
		RS_BG_GROUPS=("${kept[@]}")
	fi
	OUT=$(cat "$E2E_TMP/$1.out")
	ERR=$(cat "$E2E_TMP/$1.err")
}

# The plugin directory a user unpacks: plugin.yaml, plugin.complete and
# bin/helm-rollback-safe (a copy: a rebuild during the run changes nothing).
RS_SRC=$E2E_TMP/src/rollback-safe
mkdir -p "$RS_SRC/bin"
cp "$RS_MANIFEST" "$RS_SRC/plugin.yaml"
cp "$RS" "$RS_SRC/bin/helm-rollback-safe"
cp "$e2e_root/plugins/rollback-safe/plugin.complete" "$RS_SRC/plugin.complete"
# Helm 3 links the directory; Helm 4 installs a local directory without
# signature verification ("development mode"; the signed tarball is
# test_helm_plugin.sh's business).
for rs_h in helm3 helm4; do
	rs_run "$rs_h" plugin install "$RS_SRC"
	if [ "$RC" -ne 0 ]; then
		fail "$rs_h plugin install $RS_SRC"
		finish
	fi
done
echo "# $(type -P helm3) $(helm3 version --short), $(type -P helm4) $(helm4 version --short), plugin $RS"

# --- a namespace per test.
# rs_ns TAG: creates namespace <suite namespace>-TAG (cut to 63 characters),
# sets RS_NS to it and K to `kubectl -n RS_NS`.
rs_ns() {
	RS_NS=$(printf '%s-%s' "$NS" "$1" | cut -c1-63 | sed 's/-*$//')
	kubectl create namespace "$RS_NS" >/dev/null || { fail "create namespace $RS_NS"; return 1; }
	RS_NAMESPACES+=("$RS_NS")
	K="kubectl -n $RS_NS"
}

# --- the chart. Every install/upgrade passes the values it wants on top of
# the chart's defaults (never --reuse-values), so a revision's values are
# exactly what its line says.
# rs_install REL ARGS...: $HELM install REL rsdemo -n RS_NS ARGS; a failure
# is a failure of the test's setup.
rs_install() {
	local rel=$1
	shift
	rs_run "$HELM" install "$rel" "$RS_CHART" -n "$RS_NS" "$@"
	[ "$RC" -eq 0 ] || { fail "setup: $HELM install $rel $*"; return 1; }
}
# rs_upgrade REL ARGS...: $HELM upgrade REL rsdemo -n RS_NS ARGS, expected
# to succeed.
rs_upgrade() {
	local rel=$1
	shift
	rs_run "$HELM" upgrade "$rel" "$RS_CHART" -n "$RS_NS" "$@"
	[ "$RC" -eq 0 ] || { fail "setup: $HELM upgrade $rel $*"; return 1; }
}

# --- release records (Secrets, or ConfigMaps when HELM_DRIVER=configmap).
rs_store() { case ${HELM_DRIVER:-secret} in configmap | configmaps) echo configmap ;; *) echo secret ;; esac; }
rs_obj() { echo "sh.helm.release.v1.$1.v$2"; }
# rs_status_of REL REV: the record's `status` label ("absent" when there is
# no such record).
rs_status_of() {
	kubectl -n "$RS_NS" get "$(rs_store)" "$(rs_obj "$1" "$2")" -o jsonpath='{.metadata.labels.status}' 2>/dev/null || echo absent
}
# rs_body REL REV: the decoded release JSON (Secret: the API's base64 of
# Helm's base64 of gzip; ConfigMap: Helm's base64 of gzip).
rs_body() {
	local data
	data=$(kubectl -n "$RS_NS" get "$(rs_store)" "$(rs_obj "$1" "$2")" -o jsonpath='{.data.release}' 2>/dev/null) || return 1
	if [ "$(rs_store)" = secret ]; then
		base64 -d <<<"$data" | base64 -d | gzip -dc
	else
		base64 -d <<<"$data" | gzip -dc
	fi
}
rs_body_field() { rs_body "$1" "$2" | jq -r "$3" 2>/dev/null || echo absent; }
# rs_body_status REL REV: .info.status of the decoded body.
rs_body_status() { rs_body_field "$1" "$2" .info.status; }
rs_body_description() { rs_body_field "$1" "$2" .info.description; }
# rs_revisions REL: the revisions in storage, ascending, space-separated.
rs_revisions() {
	kubectl -n "$RS_NS" get "$(rs_store)" -l "name=$1,owner=helm" -o jsonpath='{range .items[*]}{.metadata.labels.version}{"\n"}{end}' |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}
rs_latest() { rs_revisions "$1" | awk '{print $NF}'; }
# rs_records_digest REL: a digest of every record (name, resourceVersion,
# labels): the "nothing changed" check of refused commands.
rs_records_digest() {
	kubectl -n "$RS_NS" get "$(rs_store)" -l "name=$1,owner=helm" -o json |
		jq -cS '[.items[] | {n: .metadata.name, rv: .metadata.resourceVersion, l: .metadata.labels}] | sort_by(.n)' |
		sha256sum | cut -c1-16
}
# rs_live_digest: a digest of the namespace's chart objects (metadata
# labels/annotations, spec, data; not status), Helm's records left out.
rs_live_digest() {
	kubectl -n "$RS_NS" get deploy,svc,cm,pvc -l app.kubernetes.io/name=rsdemo -o json |
		jq -cS '[.items[] | {k: .kind, n: .metadata.name, g: .metadata.generation, l: .metadata.labels,
			a: .metadata.annotations, s: .spec, d: .data}] | sort_by(.k + "/" + .n)' |
		sha256sum | cut -c1-16
}
# rs_expect_status REL REV STATUS what: the label and the body agree on it.
rs_expect_status() {
	expect_eq "$(rs_status_of "$1" "$2")" "$3" "$4: revision $2 label status"
	expect_eq "$(rs_body_status "$1" "$2")" "$3" "$4: revision $2 body status"
}
rs_expect_revisions() { expect_eq "$(rs_revisions "$1")" "$2" "$3: revisions in storage"; }
# rs_expect_no_pending REL what: no record of REL is pending-*.
rs_expect_no_pending() {
	local rev bad=""
	for rev in $(rs_revisions "$1"); do
		case "$(rs_status_of "$1" "$rev")/$(rs_body_status "$1" "$rev")" in *pending-*) bad+=" $rev" ;; esac
	done
	if [ -z "$bad" ]; then ok "$2: no pending-* record"; else fail "$2: pending-* records:$bad"; fi
}

# --- live objects.
rs_image() { kubectl -n "$RS_NS" get deploy "$1" -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || echo absent; }
rs_replicas() { kubectl -n "$RS_NS" get deploy "$1" -o jsonpath='{.spec.replicas}' 2>/dev/null || echo absent; }
rs_selector() { kubectl -n "$RS_NS" get deploy "$1" -o json 2>/dev/null | jq -cS .spec.selector.matchLabels || echo absent; }
rs_exists() { kubectl -n "$RS_NS" get "$1" >/dev/null 2>&1; }
# rs_rolled_out DEPLOY: the Deployment's rollout is complete and Ready.
rs_rolled_out() { kubectl -n "$RS_NS" rollout status deploy "$1" --timeout "${2:-30s}" >/dev/null 2>&1; }

# wait_for CMD...: up to 30 s (150 × 0.2 s) for a command to succeed.
wait_for() {
	local _
	for _ in $(seq 1 "${WAIT_TRIES:-150}"); do "$@" && return 0; sleep 0.2; done
	return 1
}

# --- kwok Stages of this suite's own, selecting pods by the label
# rollguard-e2e-stage (the chart's podStage and hook.stage values):
#   $RS_NOTREADY   pods go Running but never Ready
#   $RS_CRASHLOOP  pods go Running, CrashLoopBackOff, never Ready
#   $RS_SLOWHOOK   a Job's pod stays Running RS_SLOW_HOOK_S seconds, then Succeeded
#   $RS_HANGHOOK   a Job's pod stays Running for an hour (a hook that hangs)
# Their weight beats kwok's default pod-ready / pod-complete stages (weight
# 0, which kwok then never picks).
RS_NOTREADY=rs-notready-$NS
RS_CRASHLOOP=rs-crashloop-$NS
RS_SLOWHOOK=rs-slowhook-$NS
RS_HANGHOOK=rs-hanghook-$NS
# rs_stage NAME LABEL PHASE EXTRA-SELECTOR-YAML DELAY-MS STATUS-TEMPLATE
rs_stage() {
	local name=rollguard-e2e-$1-$NS
	kubectl apply -f - >/dev/null <<EOF || { fail "setup: kwok Stage $name"; return 1; }
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: $name}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.labels["rollguard-e2e-stage"]', operator: In, values: ['$2']}
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: [$3]}
$4
  delay: {durationMilliseconds: $5}
  weight: 10000
  next:
    statusTemplate: |
$6
EOF
	RS_STAGES+=("$name")
}
# The addresses kwok's pod-ready stage would give (kept so Services and
# EndpointSlices look normal).
RS_STAGE_IPS='      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}'
rs_stages() {
	rs_stage notready "$RS_NOTREADY" Pending "" 0 '      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: ContainersNotReady, message: "containers with unready status: [app]", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: ContainersNotReady, message: "containers with unready status: [app]", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ end }}
'"$RS_STAGE_IPS"'
      phase: Running
      startTime: {{ $now | Quote }}'
	rs_stage crashloop "$RS_CRASHLOOP" Pending "" 0 '      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: ContainersNotReady, message: "containers with unready status: [app]", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: ContainersNotReady, message: "containers with unready status: [app]", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 3
        state: {waiting: {reason: CrashLoopBackOff, message: "back-off 40s restarting failed container"}}
        lastState: {terminated: {exitCode: 1, reason: Error, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}
'"$RS_STAGE_IPS"'
      phase: Running
      startTime: {{ $now | Quote }}'
	local job_done='      {{ $now := Now }}
      {{ $root := . }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}
      {{ end }}
      phase: Succeeded'
	local job_sel="    - {key: '.metadata.ownerReferences.[].kind', operator: In, values: [Job]}"
	rs_stage slowhook "$RS_SLOWHOOK" Running "$job_sel" $((RS_SLOW_HOOK_S * 1000)) "$job_done"
	rs_stage hanghook "$RS_HANGHOOK" Running "$job_sel" 3600000 "$job_done"
}

# --- broken release states, made with the real Helm.
# rs_failed_upgrade REL ARGS...: an upgrade (ARGS: its values) whose pods
# never become Ready, with --wait --timeout 5s: Helm marks the new revision
# failed (the one before stays deployed).
rs_failed_upgrade() {
	local rel=$1 rev
	shift
	rs_run "$HELM" upgrade "$rel" "$RS_CHART" -n "$RS_NS" --wait --timeout 5s --set "podStage=$RS_NOTREADY" "$@"
	rev=$(rs_latest "$rel")
	if [ "$RC" -ne 0 ] && [ "$(rs_status_of "$rel" "$rev")" = failed ] && [ "$(rs_body_status "$rel" "$rev")" = failed ]; then
		return 0
	fi
	fail "setup: $HELM upgrade $rel --wait to pods never Ready: expected a failed revision, got revision $rev $(rs_status_of "$rel" "$rev")"
	return 1
}
# rs_stuck_pending_upgrade REL ARGS...: `helm upgrade --wait --timeout 60s`
# to pods that never become Ready, killed with SIGKILL once Helm has
# written the pending-upgrade record: the release stays pending-upgrade
# (what a CI job cancelled mid-deploy leaves). Sets RS_PENDING_REV.
rs_stuck_pending_upgrade() {
	local rel=$1 next pid
	shift
	next=$(($(rs_latest "$rel") + 1))
	rs_argv "$HELM"
	"${RS_ARGV[@]}" upgrade "$rel" "$RS_CHART" -n "$RS_NS" --wait --timeout 60s --set "podStage=$RS_NOTREADY" "$@" \
		>"$E2E_TMP/stuck.out" 2>&1 &
	pid=$! # env execs helm: this is helm itself (waited for below, always)
	RS_STUCK_PID=$pid
	if ! wait_for rs_is_status "$rel" "$next" pending-upgrade; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		RS_STUCK_PID=""
		fail "setup: $HELM upgrade $rel never wrote a pending-upgrade revision $next: $(cat "$E2E_TMP/stuck.out")"
		return 1
	fi
	# Helm applies the objects after writing the record: once the live
	# Deployment has the stuck revision's pod template, pull the plug.
	wait_for rs_pods_staged "$rel" "$RS_NOTREADY" || true
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	RS_STUCK_PID=""
	RS_PENDING_REV=$next
	if [ "$(rs_status_of "$rel" "$next")/$(rs_body_status "$rel" "$next")" != pending-upgrade/pending-upgrade ]; then
		fail "setup: after SIGKILL revision $next is $(rs_status_of "$rel" "$next")/$(rs_body_status "$rel" "$next"), not pending-upgrade"
		return 1
	fi
}
# rs_helm_rollback_alive REL: some helm process still runs `rollback REL`
# (the plugin's helm child; `helm rollback-safe` itself does not count).
rs_helm_rollback_alive() {
	pgrep -a -f -- "rollback $1( |$)" 2>/dev/null |
		awk -v rel="$1" '{
			helm = 0
			for (i = 2; i < NF; i++) {
				if ($i ~ /(^|\/)helm[34]?$/) helm = 1
				else if (helm && $i == "rollback" && $(i + 1) == rel) found = 1
			}
		} END {exit !found}'
}
rs_is_status() { [ "$(rs_status_of "$1" "$2")" = "$3" ]; }
rs_pods_staged() { [ "$(kubectl -n "$RS_NS" get deploy "$1" -o jsonpath='{.spec.template.metadata.labels.rollguard-e2e-stage}' 2>/dev/null)" = "$2" ]; }

# --- JSON output of the plugin.
# expect_json_kind KIND what: stdout is one JSON object of that kind.
expect_json_kind() {
	expect_eq "$(jq -r '"\(.apiVersion) \(.kind)"' <<<"$OUT" 2>/dev/null)" "rollguard.io/v1 $1" "$2: JSON kind"
}
# jqo FILTER: FILTER over stdout (JSON), "" on a parse error.
jqo() { jq -r "$1" <<<"$OUT" 2>/dev/null; }
# expect_said TEXT what: stdout or stderr has TEXT (a report's table goes
# to stdout, its error line to stderr; either may name the object).
expect_said() {
	if grep -qF -- "$1" <<<"$OUT$ERR"; then ok "$2: says '$1'"; else fail "$2: neither stdout nor stderr has '$1'"; fi
}
# expect_finding CHECK SEVERITY OBJECT-REGEX what: the JSON plan on stdout
# has such a finding.
expect_finding() {
	local n
	n=$(jq -r --arg c "$1" --arg s "$2" --arg o "$3" \
		'[.findings[]? | select(.check == $c and .severity == $s and ((.object // "") + " " + (.message // "") | test($o)))] | length' <<<"$OUT" 2>/dev/null)
	if [ "${n:-0}" -gt 0 ] 2>/dev/null; then ok "$4: a $2 $1 finding for /$3/"; else fail "$4: no $2 $1 finding for /$3/ (findings: $(jq -c '.findings' <<<"$OUT" 2>/dev/null | head -c 600))"; fi
}
