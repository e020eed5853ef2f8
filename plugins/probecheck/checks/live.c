/* Live evidence (cluster targets): the workload's pods' container statuses
 * and the kubelet's events, attributed per container: probe failures,
 * probe errors and warnings, restarts (probe kill vs crash vs OOM),
 * CrashLoopBackOff, not-ready containers and observed startup time against
 * the probes' budgets. */
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "checks.h"

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

/* Seconds since the epoch of an RFC 3339 time ("2024-05-01T10:00:00Z",
 * fractions and offsets ignored), or -1. */
static long long parse_time(const char *text)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                    &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static long json_long(const json_t *object, const char *key, long fallback)
{
	const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
	return json_is_integer(value) ? (long)json_integer_value(value) : fallback;
}

static const json_t *container_status(const json_t *pod, const probecheck_container *c)
{
	const json_t *status = probecheck_json_object(pod, "status");
	const json_t *list = probecheck_json_array(status, c->init ? "initContainerStatuses" : "containerStatuses");
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *name = probecheck_json_string(item, "name");
		if (name && strcmp(name, c->name) == 0)
			return item;
	}
	return NULL;
}

/* The pod's Ready condition's transition time when it is True, or -1. */
static long long pod_ready_time(const json_t *pod)
{
	const json_t *conditions = probecheck_json_array(probecheck_json_object(pod, "status"), "conditions");
	size_t i;
	const json_t *item;
	json_array_foreach(conditions, i, item)
	{
		const char *type = probecheck_json_string(item, "type");
		const char *status = probecheck_json_string(item, "status");
		if (type && strcmp(type, "Ready") == 0)
			return status && strcmp(status, "True") == 0
			               ? parse_time(probecheck_json_string(item, "lastTransitionTime"))
			               : -1;
	}
	return -1;
}

/* The container an event is about: from involvedObject.fieldPath
 * ("spec.containers{app}"), else from a message "Container app ...". */
static int event_is_for(const json_t *event, const char *container)
{
	const char *path = probecheck_json_string(probecheck_json_object(event, "involvedObject"), "fieldPath");
	size_t len = strlen(container);
	if (path && *path) {
		const char *open = strchr(path, '{');
		return open && strncmp(open + 1, container, len) == 0 && open[1 + len] == '}';
	}
	const char *message = probecheck_json_string(event, "message");
	if (message && strncmp(message, "Container ", 10) == 0)
		return strncmp(message + 10, container, len) == 0 && message[10 + len] == ' ';
	return 1; /* not attributable: counted for every container */
}

static long event_count(const json_t *event)
{
	long count = json_long(probecheck_json_object(event, "series"), "count", -1);
	if (count < 1)
		count = json_long(event, "count", 1);
	return count < 1 ? 1 : count;
}

static long long event_time(const json_t *event)
{
	const char *keys[] = {"lastTimestamp", "eventTime", "firstTimestamp"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long long t = parse_time(probecheck_json_string(event, keys[i]));
		if (t >= 0)
			return t;
	}
	return -1;
}

/* Reads one pod's events about the container into e; returns the probe
 * kills among them. */
static long read_events(struct evidence *e, const json_t *events, const char *container, const json_t *status)
{
	static const char *const prefixes[PROBECHECK_PROBE_KINDS] = {
	        "Liveness probe failed:", "Readiness probe failed:", "Startup probe failed:"};
	const json_t *started = json_object_get(status, "started");
	long long started_at = parse_time(probecheck_json_string(
	        probecheck_json_object(probecheck_json_object(status, "state"), "running"), "startedAt"));
	long kills = 0;
	size_t i;
	const json_t *event;
	json_array_foreach(events, i, event)
	{
		const char *reason = probecheck_json_string(event, "reason");
		const char *message = probecheck_json_string(event, "message");
		if (!reason || !message || !event_is_for(event, container))
			continue;
		long count = event_count(event);
		if (strcmp(reason, "Killing") == 0) {
			if (strstr(message, "failed liveness probe") || strstr(message, "failed startup probe"))
				kills += count;
		} else if (strcmp(reason, "ProbeWarning") == 0) {
			e->warnings += count;
			e->warning_message = message;
		} else if (strcmp(reason, "Unhealthy") == 0) {
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
				    ((json_is_boolean(started) && !json_is_true(started)) ||
				     (started_at >= 0 && event_time(event) >= 0 && event_time(event) < started_at)))
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

static void read_pod(struct evidence *e, const json_t *pod, const json_t *events, const probecheck_container *c,
                     int has_kill_probe)
{
	const json_t *status = container_status(pod, c);
	const char *pod_name = probecheck_json_string(probecheck_json_object(pod, "metadata"), "name");
	if (!status)
		return;
	e->pods++;
	e->restarts += json_long(status, "restartCount", 0);
	long kills = read_events(e, events, c->name, status);

	const json_t *state = probecheck_json_object(status, "state");
	const json_t *waiting = probecheck_json_object(state, "waiting");
	const json_t *running = probecheck_json_object(state, "running");
	const char *waiting_reason = probecheck_json_string(waiting, "reason");
	if (waiting_reason && strcmp(waiting_reason, "CrashLoopBackOff") == 0) {
		e->crashloop++;
		e->crashloop_pod = pod_name;
	}
	if (running && !json_is_true(json_object_get(status, "ready"))) {
		e->not_ready++;
		e->not_ready_pod = pod_name;
	}
	const json_t *terminated = probecheck_json_object(probecheck_json_object(status, "lastState"), "terminated");
	if (terminated) {
		const char *reason = probecheck_json_string(terminated, "reason");
		long code = json_long(terminated, "exitCode", 0);
		if (reason && strcmp(reason, "OOMKilled") == 0) {
			e->oom++;
			e->oom_pod = pod_name;
		} else if ((code == 137 || code == 143) && has_kill_probe && !kills) {
			e->exit_kills++;
		} else if (code != 0 && !kills) {
			e->crashes++;
		}
	}
	long long started_at = parse_time(probecheck_json_string(running, "startedAt"));
	long long ready_at = pod_ready_time(pod);
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

int probecheck_check_live(probecheck_ctx *ctx, const json_t *pods, const json_t *events_by_pod)
{
	const probecheck_workload *w = ctx->workload;
	char key[512];
	for (size_t i = 0; i < w->container_count; i++) {
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c))
			continue;
		struct evidence e;
		memset(&e, 0, sizeof(e));
		e.startup_s = -1;
		int has_kill_probe = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS)->json ||
		                     probecheck_ctx_probe(ctx, i, PROBECHECK_STARTUP)->json;
		size_t p;
		const json_t *pod;
		json_array_foreach(pods, p, pod)
		{
			const json_t *meta = probecheck_json_object(pod, "metadata");
			const char *ns = probecheck_json_string(meta, "namespace");
			const char *name = probecheck_json_string(meta, "name");
			(void)snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
			read_pod(&e, pod, json_object_get(events_by_pod, key), c, has_kill_probe);
		}
		if (!e.pods)
			continue;
		int rc = report_container(ctx, i, &e);
		if (rc)
			return rc;
	}
	return 0;
}
