#!/usr/bin/env bash
# rollback-safe `plan` on a 200-object release (100 ConfigMaps, 50
# Services, 50 Deployments) against `helm get manifest` of the same release,
# Helm 4, on the local cluster (e2e/cluster). The release is installed and
# upgraded twice (revision 3 changes every image and every ConfigMap), so
# plan has a target (revision 2), a history and 150 objects to patch.
# Interleaved runs of
#   helm get manifest REL -n NS            (the reference)
#   helm-rollback-safe plan REL            (the binary, as Helm would start it:
#                                           HELM_NAMESPACE and HELM_BIN set)
#   helm rollback-safe plan REL -n NS      (what a user types: Helm's own
#                                           start-up, then the plugin)
# with the median and max wall time and the median peak RSS (ru_maxrss of
# the process tree, the figure /usr/bin/time -f %M prints) of each, and the
# ratios against the reference. Then plan at -v=6 (one line a request),
# once with rollguard's discovery cache cold and once warm: its requests
# grouped by what they read, their logged latency, and the live objects
# read one by one (there should be none); and at -v=7, the Accept header of
# the history LIST (metadata only: PartialObjectMetadataList).
# Budgets (SPEC §7): plan within 2x of helm get manifest; plan reads the
# release history as metadata only and never GETs live objects one by one.
#
#   bench/rollback_plan.sh [BUILD_DIR] [RUNS]
#
# BUILD_DIR (default build-bench) is a static release build, configured
# here when missing and brought up to date with cmake --build. RUNS
# defaults to 20. Uses its own namespace (rsbench-PID) and private Helm
# homes, and deletes both at the end (KEEP=1 keeps the namespace, to look
# at the release afterwards). Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${1:-$bench_root/build-bench}
runs=${2:-20}
bench_positive RUNS "$runs"
bench_cluster
type -P helm4 >/dev/null 2>&1 || bash "$bench_root/e2e/cluster/build.sh" helm4
helm_bin=$(type -P helm4)
work=$(mktemp -d)
ns=rsbench-$$
rel=bench
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept namespace $ns (release $rel)" >&2
	else
		kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
bench_build "$build" helm-rollback-safe
rs=$build/helm-rollback-safe

# None of the caller's Helm settings leak in: private homes under $work,
# and private discovery caches (Helm's KUBECACHEDIR, rollguard's under
# XDG_CACHE_HOME), cold at the start.
unset HELM_NAMESPACE HELM_KUBECONTEXT HELM_DEBUG HELM_DRIVER HELM_MAX_HISTORY \
	HELM_KUBEAPISERVER HELM_KUBETOKEN HELM_KUBECAFILE HELM_KUBEASUSER HELM_KUBEASGROUPS \
	HELM_KUBEINSECURE_SKIP_TLS_VERIFY HELM_KUBETLS_SERVER_NAME HELM_BIN HELM_PLUGINS
export HELM_DATA_HOME=$work/helm/data HELM_CONFIG_HOME=$work/helm/config \
	HELM_CACHE_HOME=$work/helm/cache HELM_PLUGINS=$work/helm/data/plugins \
	KUBECACHEDIR=$work/kube-cache XDG_CACHE_HOME=$work/xdg-cache

# --- the chart: 100 ConfigMaps, 50 Deployments (each mounting two of
# them, probes, resources) and 50 Services in front of them.
python3 - "$work/chart" <<'PY'
import os, sys
chart = sys.argv[1]
os.makedirs(f"{chart}/templates")
open(f"{chart}/Chart.yaml", "w").write(
    "apiVersion: v2\nname: rsbench\nversion: 0.1.0\nappVersion: \"1.0.0\"\n")
open(f"{chart}/values.yaml", "w").write("""configMaps: 100
apps: 50
replicas: 1
image: registry.example/shop
tag: 1.0.0
configRevision: r1
""")
open(f"{chart}/templates/_helpers.tpl", "w").write("""{{- define "rsbench.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
""")
open(f"{chart}/templates/configmaps.yaml", "w").write("""{{- range $i := until (int .Values.configMaps) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-cfg-%03d" $.Release.Name $i }}
  labels:
    {{- include "rsbench.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ printf "app-%02d" (div $i 2) }}
data:
  revision: {{ $.Values.configRevision | quote }}
  app.properties: |
    server.port=8080
    server.shutdown=graceful
    cache.size={{ add 128 $i }}
    feature.flags=checkout,search,recommendations
    upstream.url=http://{{ printf "%s-app-%02d" $.Release.Name (div $i 2) }}:8080
    log.level=info
    config.revision={{ $.Values.configRevision }}
  logging.json: |
    {"level": "info", "format": "json", "sampling": {"initial": 100, "thereafter": {{ add 10 $i }}}}
{{- end }}
""")
open(f"{chart}/templates/deployments.yaml", "w").write("""{{- range $i := until (int .Values.apps) }}
{{- $name := printf "%s-app-%02d" $.Release.Name $i }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "rsbench.labels" $ | nindent 4 }}
    app.kubernetes.io/name: {{ $name }}
spec:
  replicas: {{ $.Values.replicas }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ $name }}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ $name }}
        app.kubernetes.io/instance: {{ $.Release.Name }}
      annotations:
        checksum/config: {{ $.Values.configRevision | sha256sum }}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
        - name: app
          image: {{ $.Values.image }}:{{ $.Values.tag }}
          args: ["--config=/etc/app/app.properties"]
          ports:
            - {name: http, containerPort: 8080}
          env:
            - {name: APP_NAME, value: {{ $name | quote }}}
            - {name: CONFIG_REVISION, value: {{ $.Values.configRevision | quote }}}
          resources:
            requests: {cpu: 50m, memory: 64Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /ready, port: http}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            initialDelaySeconds: 10
          volumeMounts:
            - {name: config, mountPath: /etc/app}
            - {name: logging, mountPath: /etc/logging}
      volumes:
        - name: config
          configMap: {name: {{ printf "%s-cfg-%03d" $.Release.Name (mul $i 2) }}}
        - name: logging
          configMap: {name: {{ printf "%s-cfg-%03d" $.Release.Name (add (mul $i 2) 1) }}}
{{- end }}
""")
open(f"{chart}/templates/services.yaml", "w").write("""{{- range $i := until (int .Values.apps) }}
{{- $name := printf "%s-app-%02d" $.Release.Name $i }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "rsbench.labels" $ | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {{ $name }}
  ports:
    - {name: http, port: 8080, targetPort: http}
{{- end }}
""")
PY

# --- the plugin in the private Helm home (Helm 4 installs a local
# directory without signature verification), the release and its history.
mkdir -p "$work/plugin/bin"
cp "$bench_root/plugins/rollback-safe/plugin.yaml" "$work/plugin/"
cp "$rs" "$work/plugin/bin/helm-rollback-safe"
helm4 plugin install "$work/plugin" >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" rollguard-bench=rollback-plan >/dev/null
started=$(date +%s)
# Helm's --wait polls every Deployment; its default client-side rate limit
# would make that minutes.
helm_up() {
	if ! helm4 "$@" "$rel" "$work/chart" -n "$ns" --wait --timeout 5m --qps 50 --burst-limit 200 \
		>/dev/null 2>"$work/helm.err"; then
		cat "$work/helm.err" >&2
		exit 1
	fi
}
helm_up install
helm_up upgrade --set tag=1.1.0
helm_up upgrade --set tag=1.2.0 --set configRevision=r3
objects=$(helm4 get manifest "$rel" -n "$ns" | grep -c '^kind:' || true)
manifest_kib=$(($(helm4 get manifest "$rel" -n "$ns" | wc -c) / 1024))
secrets=$(kubectl get secrets -n "$ns" -l "owner=helm,name=$rel" --no-headers | wc -l)
echo "release $rel in $ns: $objects objects (manifest $manifest_kib KiB), $secrets revisions," \
	"set up in $(($(date +%s) - started)) s" >&2
[ "$objects" -eq 200 ] || { echo "rollback_plan: expected 200 objects, the release has $objects" >&2; exit 1; }

python3 - "$here" "$runs" "$helm_bin" "$rs" "$rel" "$ns" <<'PY'
import collections, os, re, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import measure
runs, helm, rs, rel, ns = int(sys.argv[2]), *sys.argv[3:]

# The binary as Helm starts a plugin: -n handed over as HELM_NAMESPACE,
# HELM_BIN the helm that started it.
plugin_env = dict(os.environ, HELM_NAMESPACE=ns, HELM_BIN=helm)
commands = {
    "helm get manifest": [helm, "get", "manifest", rel, "-n", ns],
    "helm-rollback-safe plan": [rs, "plan", rel],
    "helm rollback-safe plan": [helm, "rollback-safe", "plan", rel, "-n", ns],
}

# --- requests: one line each at -v=6,
# "I1124 08:45:51.447218 5477 request] GET URL 200 OK in 8 milliseconds"
request_re = re.compile(r"request\] ([A-Z]+) (\S+) (?:(\d{3})\b.*?)?in (\d+(?:\.\d+)?) milliseconds")
stamp_re = re.compile(r"^[IWE]\d{4} (\d\d):(\d\d):(\d\d\.\d{6})")

def plan_at(level):
    start = time.perf_counter()
    p = subprocess.run([rs, "plan", rel, f"-v={level}"], env=plugin_env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"plan -v={level} exited {p.returncode}:\n{p.stderr}")
    return p.stderr, wall

def role(method, url):
    """What a request is for: discovery, the release history, the plugin's
    own run Lease, or the release's live objects (LIST or one by one)."""
    path, _, query = url.partition("?")
    path = re.sub(r"^https?://[^/]+", "", path)
    parts = [x for x in path.split("/") if x]
    core = parts[:1] == ["api"]
    if len(parts) <= (2 if core else 3):
        return f"discovery {path}"
    rest = parts[2:] if core else parts[3:]
    where = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        where, rest = " (namespaced)", rest[2:]
    resource, named = rest[0], len(rest) > 1
    verb = method if method != "GET" else ("GET one" if named else "LIST")
    if resource == "secrets" and not named and "owner%3Dhelm" in query:
        return "history: LIST release Secrets by label"
    if resource == "secrets" and named and rest[1].startswith("sh.helm.release.v1."):
        return "history: GET release Secret " + rest[1].rsplit(".", 1)[-1]
    if resource == "leases" and named and rest[1].startswith("rollguard-release-"):
        return "rollback-safe run Lease: " + verb
    return f"live {resource}: {verb}"

def report(title, stderr, wall):
    requests = []
    for line in stderr.splitlines():
        m = request_re.search(line)
        if m:
            requests.append((m.group(1), m.group(2), m.group(3) or "---", float(m.group(4))))
    if not requests:
        sys.exit("no request lines at -v=6; stderr begins:\n" + "\n".join(stderr.splitlines()[:20]))
    groups = collections.OrderedDict()
    for method, url, status, ms in requests:
        k = role(method, url)
        n, total, codes = groups.get(k, (0, 0.0, collections.Counter()))
        codes[status] += 1
        groups[k] = (n + 1, total + ms, codes)
    stamps = []
    for line in stderr.splitlines():
        m = stamp_re.match(line)
        if m:
            stamps.append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    span = (stamps[-1] - stamps[0]) * 1000 if len(stamps) > 1 else 0.0
    print(f"plan at -v=6, {title}: {len(requests)} requests, {sum(r[3] for r in requests):.0f} ms of request "
          f"latency (as logged), {wall*1000:.0f} ms wall, {span:.0f} ms from the first log line to the last")
    for k, (n, total, codes) in groups.items():
        statuses = ", ".join(f"{c}x {s}" for s, c in sorted(codes.items()))
        print(f"  {n:3d}  {k:48s} {total:6.0f} ms  [{statuses}]")
    one_by_one = sum(n for k, (n, _, _) in groups.items() if k.startswith("live ") and not k.endswith(": LIST"))
    print(f"  live objects read one by one: {one_by_one} (budget: none)")
    return requests

cold = plan_at(6)  # rollguard's discovery cache is still empty

# helm get manifest ignores HELM_NAMESPACE when -n is given; one environment serves all three
result = measure.compare("rollback-safe plan vs helm get manifest, 200-object release, Helm 4", commands, runs,
                         warmup=2, rss_runs=5, env=plugin_env)
reference = result["helm get manifest"]["time"]["median"]
# The budget is the plugin's own work; through `helm rollback-safe` Helm's
# start-up and plugin loading come first, shown beside it, not budgeted.
through_helm = result["helm rollback-safe plan"]["time"]["median"] / reference
budgets = [measure.budget("rollback-safe plan, 200-object release: time vs helm get manifest",
                          result["helm-rollback-safe plan"]["time"]["median"] / reference, 2, "lower", "x",
                          f"through `helm rollback-safe plan` (Helm's own start-up first): {through_helm:.2f}x")]
measure.print_budgets(budgets)

cold_requests = report("cold discovery cache", *cold)
warm_requests = report("warm", *plan_at(6))
# The history LIST asks for metadata only: its Accept header (-v=7).
headers, _ = plan_at(7)
accept, current = {}, None
for line in headers.splitlines():
    m = re.search(r"Request Header: ([A-Z]+) (/\S+) HTTP", line)
    if m:
        current = m.group(2)
    m = re.search(r"Request Header: accept: (.*)$", line, re.I)
    if m and current:
        accept[current] = m.group(1).strip()
history = [u for u in accept if "/secrets?" in u and "owner%3Dhelm" in u]
for u in history:
    meta = "PartialObjectMetadataList" in accept[u]
    print(f"  history LIST Accept: {accept[u]} ({'metadata only' if meta else 'FULL OBJECTS'})")
if not history:
    print("  history LIST: not found at -v=7")
result["helm-rollback-safe plan"]["requests"] = len(warm_requests)
result["helm-rollback-safe plan"]["requests_cold_discovery"] = len(cold_requests)
instructions = {"helm-rollback-safe plan": measure.callgrind(commands["helm-rollback-safe plan"], env=plugin_env)}
measure.save("rollback_plan", {"title": "rollback-safe plan, 200-object release (Helm 4)", "commands": result,
                               "history_metadata_only": bool(history) and all(
                                   "PartialObjectMetadataList" in accept[u] for u in history),
                               "budgets": budgets, "instructions": instructions})
PY
