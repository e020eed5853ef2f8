/* Live evidence (cluster targets): the workload's pods' container statuses
 * and the kubelet's events, attributed per container: probe failures,
 * probe errors and warnings, restarts (probe kill vs crash vs OOM),
 * CrashLoopBackOff, not-ready containers and observed startup time against
 * the probes' budgets. */
#include <string.h>

#include "checks.h"
#include "cluster_compact.h"

/* What the pods of one container show, summed over the workload's pods. */
struct evidence {
	size_t pods;                 /* pods that have a status for the container */
	long restarts;               /* sum of restartCount */
	long probe_kills;            /* Killing events "failed liveness/startup probe" (with their counts) */
	long exit_kills;             /* last termination 137/143 (not OOM) with no Killing event left */
	long crashes;                /* last termination non-zero (not OOM, not a probe kill) */
	long oom;                    /* last termination OOMKilled */
	size_t crashloop, not_ready; /* pods in CrashLoopBackOff / running but not ready */
	const char *crashloop_pod, *not_ready_pod, *oom_pod;
	long unhealthy[PROBECHECK_PROBE_KINDS];
	const char *unhealthy_message[PROBECHECK_PROBE_KINDS];
	long errored, warnings;
	const char *errored_message, *warning_message;
	long startup_s; /* the longest observed startup, -1 when none was seen */
	const char *startup_pod;
};

/* The container an event is about: from involvedObject.fieldPath
 * ("spec.containers{app}"), else from a message "Container app ...". */
static int event_is_for(const probecheck_event *event, const char *container)
{
	const char *path = event->field_path;
	size_t len = strlen(container);
	if (path && *path) {
		const char *open = strchr(path, '{');
		return open && strncmp(open + 1, container, len) == 0 && open[1 + len] == '}';
	}
	const char *message = event->message;
	if (strncmp(message, "Container ", 10) == 0)
		return strncmp(message + 10, container, len) == 0 && message[10 + len] == ' ';
	return 1; /* not attributable: counted for every container */
}

/* Reads one pod's events about the container into e; returns the probe
 * kills among them. */
static long read_events(struct evidence *e, const probecheck_event *events, const char *container,
                        const probecheck_container_status *status)
{
	static const char *const prefixes[PROBECHECK_PROBE_KINDS] = {
	        "Liveness probe failed:", "Readiness probe failed:", "Startup probe failed:"};
	long long started_at = status->running_since;
	long kills = 0;
	for (const probecheck_event *event = events; event; event = event->next) {
		const char *message = event->message;
		if (!event_is_for(event, container))
			continue;
		long count = event->count;
		if (event->reason == PROBECHECK_EVENT_KILLING) {
			if (strstr(message, "failed liveness probe") || strstr(message, "failed startup probe"))
				kills += count;
		} else if (event->reason == PROBECHECK_EVENT_PROBE_WARNING) {
			e->warnings += count;
			e->warning_message = message;
		} else if (event->reason == PROBECHECK_EVENT_UNHEALTHY) {
			if (strstr(message, " probe errored")) {
				e->errored += count;
				e->errored_message = message;
				continue;
			}
			for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
				if (strncmp(message, prefixes[kind], strlen(prefixes[kind])) != 0)
					continue;
				/* readiness fails until the container has started: expected */
				if (kind == PROBECHECK_READINESS &&
				    (status->started == 0 ||
				     (started_at >= 0 && event->time >= 0 && event->time < started_at)))
					break;
				e->unhealthy[kind] += count;
				e->unhealthy_message[kind] = message;
				break;
			}
		}
	}
	e->probe_kills += kills;
	return kills;
}

static void read_pod(struct evidence *e, const probecheck_pod *pod, const probecheck_container *c, int has_kill_probe)
{
	const probecheck_container_status *status = probecheck_pod_status(pod, c->name, c->init);
	const char *pod_name = pod->name;
	if (!status)
		return;
	e->pods++;
	e->restarts += status->restart_count;
	long kills = read_events(e, pod->events, c->name, status);

	const char *waiting_reason = status->waiting_reason;
	if (waiting_reason && strcmp(waiting_reason, "CrashLoopBackOff") == 0) {
		e->crashloop++;
		e->crashloop_pod = pod_name;
	}
	if (status->running && !status->ready) {
		e->not_ready++;
		e->not_ready_pod = pod_name;
	}
	if (status->terminated) {
		const char *reason = status->terminated_reason;
		long code = status->exit_code;
		if (reason && strcmp(reason, "OOMKilled") == 0) {
			e->oom++;
			e->oom_pod = pod_name;
		} else if ((code == 137 || code == 143) && has_kill_probe && !kills) {
			e->exit_kills++;
		} else if (code != 0 && !kills) {
			e->crashes++;
		}
	}
	long long started_at = status->running_since;
	long long ready_at = pod->ready_since;
	if (started_at >= 0 && ready_at >= started_at && ready_at - started_at > e->startup_s) {
		e->startup_s = (long)(ready_at - started_at);
		e->startup_pod = pod_name;
	}
}

static int report_startup(probecheck_ctx *ctx, size_t i, const struct evidence *e)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	const probecheck_probe *startup = probecheck_ctx_probe(ctx, i, PROBECHECK_STARTUP);
	const probecheck_probe *liveness = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
	const probecheck_probe *budget_probe = startup->json ? startup : liveness->json ? liveness : NULL;
	if (!budget_probe || e->startup_s < 0)
		return 0;
	long budget = probecheck_probe_window_s(budget_probe);
	if (budget <= 0 || e->startup_s * 10 < budget * 7)
		return 0;
	enum probecheck_severity severity = e->startup_s >= budget ? PROBECHECK_SEV_ERROR : PROBECHECK_SEV_WARNING;
	long period = budget_probe->period > 0 ? budget_probe->period : 10;
	probecheck_fix_numbers numbers = {0, 0, period, 0, (e->startup_s * 3 + period * 2 - 1) / (period * 2)};
	if (numbers.failure < 1)
		numbers.failure = 1;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_probe(ctx->fix, indent, PROBECHECK_STARTUP, budget_probe, &numbers);
	return probecheck_emit(ctx, PROBECHECK_LIVE_STARTUP_EXCEEDS_BUDGET, severity, c,
	                       startup->json ? PROBECHECK_STARTUP : PROBECHECK_LIVENESS, 0,
	                       "container %s took %ld s to become Ready (pod %s), %ld%% of the %s budget of %ld s "
	                       "(initialDelaySeconds + failureThreshold x periodSeconds)",
	                       c->name, e->startup_s, e->startup_pod ? e->startup_pod : "?",
	                       e->startup_s * 100 / budget,
	                       startup->json ? "startupProbe" : "livenessProbe (no startupProbe)", budget);
}

static int report_restarts(probecheck_ctx *ctx, size_t i, const struct evidence *e)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	const probecheck_probe *liveness = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
	if (!e->probe_kills && !e->exit_kills)
		return 0;
	if (liveness->json) {
		probecheck_fix_numbers numbers = {liveness->initial_delay, liveness->timeout, liveness->period, 0,
		                                  liveness->failure * 2};
		int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_probe(ctx->fix, indent, PROBECHECK_LIVENESS, liveness, &numbers);
	}
	return probecheck_emit(ctx, PROBECHECK_LIVE_LIVENESS_RESTARTS,
	                       e->probe_kills ? PROBECHECK_SEV_ERROR : PROBECHECK_SEV_WARNING, c, PROBECHECK_LIVENESS,
	                       0,
	                       "container %s: %ld restarts over %zu pods: %ld probe kills (Killing events), %ld likely "
	                       "probe kills (exit 137/143, no event left), %ld crashes, %ld OOM kills",
	                       c->name, e->restarts, e->pods, e->probe_kills, e->exit_kills, e->crashes, e->oom);
}

static int report_container(probecheck_ctx *ctx, size_t i, const struct evidence *e)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	int rc = 0;
	for (int kind = 0; kind < PROBECHECK_PROBE_KINDS && !rc; kind++)
		if (e->unhealthy[kind])
			rc = probecheck_emit(ctx, PROBECHECK_LIVE_UNHEALTHY_EVENTS, PROBECHECK_SEV_WARNING, c, kind, 0,
			                     "container %s: %ld %s failures in Unhealthy events, last: %s", c->name,
			                     e->unhealthy[kind],
			                     probecheck_probe_field((enum probecheck_probe_kind)kind),
			                     e->unhealthy_message[kind]);
	if (!rc && e->errored)
		rc = probecheck_emit(ctx, PROBECHECK_LIVE_PROBE_ERRORED, PROBECHECK_SEV_ERROR, c, -1, 0,
		                     "container %s: %ld probe errors, the results are discarded; last: %s", c->name,
		                     e->errored, e->errored_message);
	if (!rc && e->warnings)
		rc = probecheck_emit(ctx, PROBECHECK_LIVE_PROBE_WARNING, PROBECHECK_SEV_WARNING, c, -1, 0,
		                     "container %s: %ld ProbeWarning events, last: %s", c->name, e->warnings,
		                     e->warning_message);
	if (!rc)
		rc = report_restarts(ctx, i, e);
	if (!rc && e->oom)
		rc = probecheck_emit(ctx, PROBECHECK_LIVE_OOMKILLED, PROBECHECK_SEV_WARNING, c, -1, 0,
		                     "container %s was OOMKilled in %ld of %zu pods (last in pod %s)", c->name, e->oom,
		                     e->pods, e->oom_pod ? e->oom_pod : "?");
	if (!rc && e->crashloop)
		rc = probecheck_emit(ctx, PROBECHECK_LIVE_CRASHLOOP, PROBECHECK_SEV_ERROR, c, -1, 0,
		                     "container %s is in CrashLoopBackOff in %zu of %zu pods (pod %s, %ld restarts)",
		                     c->name, e->crashloop, e->pods, e->crashloop_pod ? e->crashloop_pod : "?",
		                     e->restarts);
	if (!rc && e->not_ready)
		rc = probecheck_emit(ctx, PROBECHECK_LIVE_NOT_READY, PROBECHECK_SEV_WARNING, c, PROBECHECK_READINESS, 0,
		                     "container %s runs but is not ready in %zu of %zu pods (pod %s)", c->name,
		                     e->not_ready, e->pods, e->not_ready_pod ? e->not_ready_pod : "?");
	if (!rc)
		rc = report_startup(ctx, i, e);
	return rc;
}

int probecheck_check_live(probecheck_ctx *ctx, const probecheck_pod_link *pods)
{
	const probecheck_workload *w = ctx->workload;
	for (size_t i = 0; i < w->container_count; i++) {
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c))
			continue;
		struct evidence e;
		memset(&e, 0, sizeof(e));
		e.startup_s = -1;
		int has_kill_probe = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS)->json ||
		                     probecheck_ctx_probe(ctx, i, PROBECHECK_STARTUP)->json;
		for (const probecheck_pod_link *link = pods; link; link = link->next)
			read_pod(&e, link->pod, c, has_kill_probe);
		if (!e.pods)
			continue;
		int rc = report_container(ctx, i, &e);
		if (rc)
			return rc;
	}
	return 0;
}
