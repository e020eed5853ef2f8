/* The check catalogue: every check's ID, family, severity, title and why, in one table. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"

#define E PROBECHECK_SEV_ERROR
#define W PROBECHECK_SEV_WARNING
#define I PROBECHECK_SEV_INFO

const probecheck_check_info probecheck_catalog[PROBECHECK_CHECK_COUNT] = {
        [PROBECHECK_READINESS_MISSING] =
                {"probe-readiness-missing", "presence", W, PROBECHECK_SCOPE_LONG_RUNNING,
                 "error when a Service in the input selects the pods", "Container has no readinessProbe",
                 "Without a readiness probe a container counts as ready as soon as it runs: Services send it "
                 "traffic before it can serve, and keep sending while it is overloaded or broken. It is an error "
                 "when a Service in the same input selects the pods."},
        [PROBECHECK_LIVENESS_MISSING] =
                {"probe-liveness-missing", "presence", I, PROBECHECK_SCOPE_LONG_RUNNING, NULL,
                 "Container has no livenessProbe",
                 "Nothing restarts the container when it deadlocks or wedges. Add one only for failures a restart "
                 "fixes, keep it cheap and local, and give it a longer failure window than readiness: a bad "
                 "liveness probe is worse than none."},
        [PROBECHECK_NONE] =
                {"probe-none", "presence", W, PROBECHECK_SCOPE_LONG_RUNNING,
                 "error when a Service in the input selects the pods", "Container has no probe at all",
                 "The kubelet only knows whether the process runs: the container receives traffic before it can "
                 "serve and is never restarted when it hangs. Reported instead of probe-readiness-missing and "
                 "probe-liveness-missing when the container has no probe (they report when probe-none is not "
                 "selected)."},
        [PROBECHECK_NAMED_PORT_UNRESOLVED] =
                {"probe-named-port-unresolved", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Probe port name matches no port of the same container",
                 "The kubelet looks a named probe port up in the same container's ports[].name, then tries it as "
                 "a number. When both fail, every attempt errors and the kubelet discards the result: liveness "
                 "never restarts the container and readiness never turns it Ready. The API server accepts it."},
        [PROBECHECK_PORT_OUT_OF_RANGE] =
                {"probe-port-out-of-range", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Probe port is outside 1-65535",
                 "The API server rejects a probe port outside 1-65535, so the manifest cannot be applied."},
        [PROBECHECK_PORT_UNDECLARED] =
                {"probe-port-undeclared", "correctness", I, PROBECHECK_SCOPE_ALL, NULL,
                 "Numeric probe port is not declared in the container's ports",
                 "containerPort is informational, so the probe still works if the process listens there; but an "
                 "undeclared port is often a typo or a port the image no longer uses. Declare it (with a name) "
                 "or ignore this check for containers that open ports from their arguments."},
        [PROBECHECK_GRPC_NAMED_PORT] =
                {"probe-grpc-named-port", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "gRPC probe port is not an integer",
                 "grpc.port must be a number: gRPC probes do not resolve named ports, and the API server rejects "
                 "a string."},
        [PROBECHECK_SUCCESS_THRESHOLD] =
                {"probe-success-threshold", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness or startup probe has successThreshold other than 1",
                 "The API server rejects successThreshold other than 1 on liveness and startup probes (\"must be "
                 "1\"); only readiness may require several consecutive successes."},
        [PROBECHECK_HANDLER_COUNT] =
                {"probe-handler-count", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Probe has no handler or more than one",
                 "A probe needs exactly one of httpGet, tcpSocket, grpc and exec; the API server rejects none "
                 "(\"must specify a handler type\") and several (\"may not specify more than 1 handler type\")."},
        [PROBECHECK_HTTP_HOST_SET] =
                {"probe-http-host-set", "correctness", W, PROBECHECK_SCOPE_ALL, NULL,
                 "httpGet or tcpSocket probe sets host",
                 "With host set the kubelet connects from the node to that address instead of the pod IP: the "
                 "probe tests something else than this container, and Service names do not resolve there. For "
                 "virtual hosts set the Host header in httpHeaders instead."},
        [PROBECHECK_INIT_CONTAINER] =
                {"probe-init-container", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Plain init container carries a probe",
                 "Probes are only allowed on init containers with restartPolicy: Always (native sidecars); the "
                 "API server rejects them on plain init containers, which run to completion."},
        [PROBECHECK_READINESS_GRACE_PERIOD] =
                {"probe-readiness-grace-period", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "readinessProbe sets terminationGracePeriodSeconds",
                 "A failing readiness probe never kills a container, so a probe-level grace period has no "
                 "meaning there; the API server rejects it (\"must not be set for readinessProbes\")."},
        [PROBECHECK_FIELD_INVALID] =
                {"probe-field-invalid", "correctness", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Probe timing field is not a non-negative integer",
                 "initialDelaySeconds, timeoutSeconds, periodSeconds, successThreshold, failureThreshold and "
                 "terminationGracePeriodSeconds are integers; the API server rejects negative or non-numeric "
                 "values."},
        [PROBECHECK_LIVENESS_BEFORE_READINESS] =
                {"probe-liveness-before-readiness", "timing", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness gives up before readiness takes the pod out of rotation",
                 "When the application stalls, readiness needs failureThreshold x periodSeconds to remove the pod "
                 "from its Services and liveness needs its own to restart it. With a shorter liveness window the "
                 "container is killed while it still receives traffic, and under load every replica can be "
                 "restarted in turn. initialDelaySeconds is left out: it applies once after a start, when the "
                 "pod is not Ready anyway."},
        [PROBECHECK_IDENTICAL_UNSAFE] =
                {"probe-identical-unsafe", "timing", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness and readiness probe the same endpoint and liveness fails no later",
                 "Probing the same cheap endpoint for both is fine when liveness tolerates more failures. When "
                 "its window (failureThreshold x periodSeconds) is not longer than readiness's, an overloaded "
                 "pod is restarted instead of being taken out of rotation, which spreads the overload. The "
                 "endpoint is compared after resolving named ports, with path, scheme, host, headers, gRPC "
                 "service and exec command."},
        [PROBECHECK_STARTUP_MISSING_SLOW_START] =
                {"probe-startup-missing-slow-start", "timing", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness waits a long initialDelaySeconds instead of a startupProbe",
                 "A large liveness initialDelaySeconds (30 s or more) is a guess at the slowest start: too short "
                 "and slow starts are killed in a loop, too long and a wedged container is detected late, after "
                 "every restart. A startupProbe holds liveness back until the first success, then liveness can "
                 "be tight."},
        [PROBECHECK_LIVENESS_HAIR_TRIGGER] =
                {"probe-liveness-hair-trigger", "timing", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness restarts after one failure or within 10 seconds",
                 "failureThreshold 1, or a window under 10 s with a 1 s timeout, turns one GC pause, CPU-throttle "
                 "spike or slow disk into a restart."},
        [PROBECHECK_TIMEOUT_DEFAULT_HEAVY] =
                {"probe-timeout-default-heavy", "timing", W, PROBECHECK_SCOPE_ALL, NULL,
                 "exec or gRPC probe runs with a 1 second timeout",
                 "An exec probe starts a process in the container and a gRPC probe makes a full RPC; both "
                 "regularly need more than the 1 s default under load (\"health rpc did not complete within "
                 "1s\"), and each timeout counts as a failure."},
        [PROBECHECK_TIMEOUT_GE_PERIOD] =
                {"probe-timeout-ge-period", "timing", I, PROBECHECK_SCOPE_ALL, NULL,
                 "Probe timeoutSeconds is not shorter than periodSeconds",
                 "Attempts of one probe never overlap, so a slow attempt stretches the period and the failure "
                 "window becomes longer than the numbers say."},
        [PROBECHECK_LIVENESS_DOWNSTREAM] =
                {"probe-liveness-downstream", "intent", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Liveness looks like a dependency check",
                 "Liveness must only fail when a restart helps. When it checks a database, another service or a "
                 "deep health endpoint, an outage of that dependency restarts every replica at once and turns a "
                 "partial outage into a full one. Dependency checks belong in readiness. This is a heuristic on "
                 "the path, command and host; the finding says what matched."},
        [PROBECHECK_WORKER_NON_EXEC] =
                {"probe-worker-non-exec", "intent", I, PROBECHECK_SCOPE_LONG_RUNNING, NULL,
                 "Worker without ports or Service probes over the network",
                 "A container that declares no ports and that no Service selects is a worker: an HTTP or TCP "
                 "probe then usually tests a side port that says little about the work loop. An exec probe that "
                 "checks the worker's own progress (a heartbeat file, a queue lag) tells more."},
        [PROBECHECK_RES_LIMITS_MISSING] =
                {"res-limits-missing", "hygiene", W, PROBECHECK_SCOPE_ALL, NULL, "Container has no memory limit",
                 "Without a memory limit a leak grows until the node runs out of memory and the kernel or the "
                 "kubelet evicts neighbours; with one, only this container is OOM-killed and restarted."},
        [PROBECHECK_RES_REQUESTS_MISSING] =
                {"res-requests-missing", "hygiene", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Container has no CPU or memory request",
                 "The scheduler places pods by their requests. Without them pods land on full nodes, get "
                 "throttled, and probes time out under load."},
        [PROBECHECK_RUN_AS_ROOT] =
                {"sec-run-as-root", "hygiene", W, PROBECHECK_SCOPE_ALL, NULL, "Container may run as root",
                 "Neither the pod nor the container sets runAsNonRoot: true with a non-zero runAsUser, so the "
                 "image's user applies, which is root for most images."},
        [PROBECHECK_IMAGE_UNPINNED] =
                {"img-latest-or-untagged", "hygiene", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Image has no tag or the latest tag",
                 "A rollout or a rescheduled pod can pull a different image than the one tested, and a rollback "
                 "to the same spec does not bring the old image back. A digest (@sha256:...) or a version tag "
                 "pins it. registry:5000/app has no tag: the colon belongs to the registry."},
        [PROBECHECK_SECRET_IN_ENV] =
                {"secret-in-env", "hygiene", W, PROBECHECK_SCOPE_ALL, NULL, "Secret-looking literal value in env",
                 "An env var named like a password, token, API key or credential, or holding a PEM private key, "
                 "has a literal value: it is stored in the manifest, the ReplicaSet history and every describe "
                 "output. Use valueFrom.secretKeyRef. (Secrets baked into image layers need an image scanner.)"},
        [PROBECHECK_REPLICAS_SINGLE] =
                {"replicas-single", "hygiene", I, PROBECHECK_SCOPE_REPLICATED, NULL,
                 "Single replica with a liveness probe",
                 "With one replica every liveness restart, eviction or node drain is a full outage of the "
                 "workload."},
        [PROBECHECK_ROLLOUT_ALL_DOWN] =
                {"rollout-all-down", "hygiene", W, PROBECHECK_SCOPE_ROLLOUT, "info for the Recreate strategy",
                 "Rollout can take every pod down at once",
                 "maxUnavailable resolves (percentages of replicas rounded down, as the deployment controller "
                 "does) to all replicas, so an update may stop every old pod before any new one is ready. The "
                 "Recreate strategy always does this and is reported as info, since some workloads need it."},
        [PROBECHECK_PDB_MISSING] =
                {"pdb-missing", "hygiene", W, PROBECHECK_SCOPE_REPLICATED, NULL,
                 "Replicated workload has no PodDisruptionBudget",
                 "No PodDisruptionBudget in the input selects the pods, so a node drain or cluster upgrade may "
                 "evict every replica at once."},
        [PROBECHECK_GRACE_VS_LIVENESS] =
                {"probe-grace-vs-liveness", "hygiene", I, PROBECHECK_SCOPE_ALL, NULL,
                 "Long termination grace period delays liveness restarts",
                 "After liveness decides to restart a container, the kubelet still waits the grace period "
                 "(pod terminationGracePeriodSeconds over 60 s here) before SIGKILL, so a hung container stays "
                 "hung that long. livenessProbe.terminationGracePeriodSeconds sets a shorter one for probe "
                 "kills only."},
        [PROBECHECK_SUPPRESSION_INVALID] =
                {"suppression-invalid", "control", W, PROBECHECK_SCOPE_ALL, NULL,
                 "probecheck.rollguard.io/ignore annotation is invalid",
                 "A suppression must name known checks (optionally container:check) followed by a reason. An "
                 "annotation without a reason suppresses nothing; unknown checks or containers are ignored."},
        [PROBECHECK_LIVE_UNHEALTHY_EVENTS] =
                {"live-unhealthy-events", "live", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Probes of the running pods are failing (Unhealthy events)",
                 "The kubelet recorded Unhealthy events (\"Liveness/Readiness/Startup probe failed: ...\") for "
                 "the workload's pods. Readiness failures before the container started are left out: they are "
                 "expected while it boots. Events expire (the API server keeps them 1 h by default), so an "
                 "empty result covers only the last hour."},
        [PROBECHECK_LIVE_PROBE_ERRORED] =
                {"live-probe-errored", "live", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Probes error instead of running (\"probe errored\" events)",
                 "The kubelet could not run the probe at all (a port name it cannot resolve, an exec binary "
                 "missing from the image) and discards the result: liveness then never restarts the container "
                 "and readiness never changes. Events expire (1 h by default), so only recent errors show."},
        [PROBECHECK_LIVE_PROBE_WARNING] =
                {"live-probe-warning", "live", W, PROBECHECK_SCOPE_ALL, NULL,
                 "Probes answer with warnings (ProbeWarning events)",
                 "The kubelet recorded ProbeWarning events, usually an HTTP probe answered with a redirect to "
                 "another host: the 3xx counts as success, so the probe checks nothing, and an event is written "
                 "every period. Events expire (1 h by default)."},
        [PROBECHECK_LIVE_LIVENESS_RESTARTS] =
                {"live-liveness-restarts", "live", E, PROBECHECK_SCOPE_ALL, NULL,
                 "Containers were restarted by liveness or startup probe kills",
                 "Restarts are attributed from Killing events (\"failed liveness probe, will be restarted\" or "
                 "\"failed startup probe\") and the last termination (exit 137 or 143 without OOMKilled); "
                 "crashes (non-zero exit without a probe kill) and OOM kills are counted apart. Probe kills "
                 "mean the probe's failure window is shorter than the container's real stalls or start. Events "
                 "expire (1 h by default); older kills show only as exit codes."},
        [PROBECHECK_LIVE_OOMKILLED] =
                {"live-oomkilled", "live", W, PROBECHECK_SCOPE_ALL, NULL, "Containers were OOM-killed",
                 "lastState.terminated.reason is OOMKilled: the container hit its memory limit. Exit code 137 "
                 "alone is ambiguous (a probe kill after the grace period is also 137); the reason is not. A "
                 "slow, swapping or GC-bound container also fails probes before it is killed."},
        [PROBECHECK_LIVE_CRASHLOOP] =
                {"live-crashloop", "live", E, PROBECHECK_SCOPE_ALL, NULL, "Containers are in CrashLoopBackOff",
                 "state.waiting.reason is CrashLoopBackOff: the container keeps exiting or being killed and the "
                 "kubelet waits longer before each restart. Probe kills during start (no startupProbe, tight "
                 "liveness) are a common cause; live-liveness-restarts says which."},
        [PROBECHECK_LIVE_NOT_READY] =
                {"live-not-ready", "live", W, PROBECHECK_SCOPE_ALL, NULL, "Running containers are not ready",
                 "The container runs but its readiness probe fails (ready=false), so its pod is out of every "
                 "Service's endpoints. Check the Unhealthy events and the readiness target."},
        [PROBECHECK_LIVE_STARTUP_EXCEEDS_BUDGET] =
                {"live-startup-exceeds-budget", "live", E, PROBECHECK_SCOPE_ALL,
                 "warning at 70% of the budget, error at 100%",
                 "Observed startup time is close to or over the startup (or liveness) budget",
                 "Observed startup (state.running.startedAt to the pod's Ready transition) is compared with the "
                 "startup probe's budget (initialDelaySeconds + failureThreshold x periodSeconds), or with "
                 "liveness's when there is no startupProbe. A slower start than that is killed before it "
                 "completes. The fix sizes a startupProbe for 1.5 times the observed start."},
        [PROBECHECK_ACTIVE_PROBE_FAILS] =
                {"active-probe-fails", "active", E, PROBECHECK_SCOPE_ALL, NULL, "Running the probe now fails",
                 "The probe was run now through the API server as the kubelet runs it (HTTP status outside "
                 "200-399, a refused or timed-out connection, an exec exit status other than 0, a gRPC service "
                 "not SERVING). A failing liveness probe restarts the container, a failing readiness probe takes "
                 "the pod out of its Services. The port-forward reaches the pod's port from inside the pod's "
                 "network namespace, the kubelet from the node: a port bound to localhost only passes here and "
                 "fails for the kubelet."},
        [PROBECHECK_ACTIVE_LATENCY_VS_TIMEOUT] =
                {"active-latency-vs-timeout", "active", W, PROBECHECK_SCOPE_ALL,
                 "warning at 50% of timeoutSeconds, error at 100%",
                 "Measured probe latency is close to or over timeoutSeconds",
                 "The slowest of the samples, with the port-forward's own round trip taken off, is compared with "
                 "timeoutSeconds: an attempt slower than that fails, and a probe that needs half its timeout on "
                 "a quiet cluster fails under load, CPU throttling or a GC pause. Exec latencies are raw (they "
                 "include the WebSocket upgrade); tcpSocket is not timed. The fix doubles the slowest sample."},
        [PROBECHECK_ACTIVE_HTTP_REDIRECT] =
                {"active-http-redirect", "active", W, PROBECHECK_SCOPE_ALL, NULL,
                 "HTTP probe redirects to another host",
                 "The kubelet follows redirects to the same host (up to 10) but stops at one to another host: "
                 "the 3xx counts as success, so the probe checks nothing, and a ProbeWarning event is written "
                 "every period. Point the probe at the path that answers."},
        [PROBECHECK_ACTIVE_HTTP_LARGE_BODY] =
                {"active-http-large-body", "active", I, PROBECHECK_SCOPE_ALL, NULL,
                 "HTTP probe answers with a body over 10 KiB",
                 "The kubelet reads at most 10 KiB of a probe's body and closes the connection, which the "
                 "application may log as a reset; the work of rendering the rest is wasted every period. Serve "
                 "a short status instead."},
        [PROBECHECK_ACTIVE_EXEC_MISSING_BINARY] =
                {"active-exec-missing-binary", "active", E, PROBECHECK_SCOPE_ALL, NULL,
                 "exec probe command is not in the image",
                 "Running the exec probe's command failed because it does not exist or is not executable in the "
                 "container (exit 126 or 127, or the runtime's \"executable file not found\"); common with "
                 "distroless images. The probe can never pass: liveness restarts the container forever, "
                 "readiness never turns it Ready, or the kubelet reports it errored and discards it."},
};

int probecheck_check_find(const char *id)
{
	for (int i = 0; i < PROBECHECK_CHECK_COUNT; i++)
		if (strcmp(probecheck_catalog[i].id, id) == 0)
			return i;
	return -1;
}

const char *probecheck_severity_name(enum probecheck_severity severity)
{
	switch (severity) {
	case PROBECHECK_SEV_ERROR:
		return "error";
	case PROBECHECK_SEV_WARNING:
		return "warning";
	case PROBECHECK_SEV_INFO:
		return "info";
	case PROBECHECK_SEV_NONE:
		break;
	}
	return "never";
}

int probecheck_severity_parse(enum probecheck_severity *out, const char *name)
{
	static const enum probecheck_severity all[] = {PROBECHECK_SEV_ERROR, PROBECHECK_SEV_WARNING,
	                                               PROBECHECK_SEV_INFO, PROBECHECK_SEV_NONE};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, probecheck_severity_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

void probecheck_check_docs(char *buf, size_t size, const probecheck_check_info *check)
{
	(void)snprintf(buf, size, "docs/checks.md#%s", check->id);
}
