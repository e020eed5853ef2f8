/* Timing checks: failure windows of liveness against readiness, startup, hair triggers, timeouts. */
#include <stdio.h>

#include "checks/checks.h"

#define SLOW_START_DELAY_S 30 /* a liveness initialDelaySeconds this large is a slow-start guess */
#define HAIR_TRIGGER_S     10 /* a liveness window shorter than this restarts on one hiccup */

static long ceil_div(long a, long b)
{
	return b > 0 ? (a + b - 1) / b : a;
}

/* The liveness failureThreshold that makes liveness give up one readiness
 * period after readiness has taken the pod out of rotation. */
static long safe_liveness_failure(const probecheck_probe *live, const probecheck_probe *ready)
{
	long target = probecheck_probe_detect_s(ready) + ready->period;
	long failure = ceil_div(target, live->period);
	return failure > live->failure ? failure : live->failure + 1;
}

static int liveness_vs_readiness(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *live,
                                 const probecheck_probe *ready)
{
	long live_s = probecheck_probe_detect_s(live), ready_s = probecheck_probe_detect_s(ready);
	int same = probecheck_probe_same_endpoint(live, ready);
	if (same ? live_s > ready_s : live_s >= ready_s)
		return 0;
	long failure = safe_liveness_failure(live, ready);
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
	probecheck_fix_line(ctx->fix, indent + 2,
	                    "failureThreshold: %ld  # restarts after %ld s, readiness gives up after %ld s", failure,
	                    failure * live->period, ready_s);
	if (same)
		return probecheck_emit(
		        ctx, PROBECHECK_IDENTICAL_UNSAFE, PROBECHECK_SEV_WARNING, c, PROBECHECK_LIVENESS, 0,
		        "liveness and readiness of container %s probe the same %s endpoint, and liveness "
		        "restarts after %ld s (%ld x %ld s) while readiness needs %ld s (%ld x %ld s) to "
		        "take the pod out of rotation",
		        c->name, probecheck_handler_name(live->handler), live_s, live->failure, live->period, ready_s,
		        ready->failure, ready->period);
	return probecheck_emit(ctx, PROBECHECK_LIVENESS_BEFORE_READINESS, PROBECHECK_SEV_WARNING, c,
	                       PROBECHECK_LIVENESS, 0,
	                       "liveness of container %s restarts it after %ld s (%ld x %ld s), before readiness takes "
	                       "it out of rotation after %ld s (%ld x %ld s)",
	                       c->name, live_s, live->failure, live->period, ready_s, ready->failure, ready->period);
}

static int slow_start(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *live)
{
	long budget = probecheck_probe_window_s(live);
	long failure = ceil_div(budget, live->period);
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_numbers numbers = {0, live->timeout > 1 ? live->timeout : 0, live->period, 0, failure};
	probecheck_fix_probe(ctx->fix, indent, PROBECHECK_STARTUP, live, &numbers);
	probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
	probecheck_fix_line(ctx->fix, indent + 2, "initialDelaySeconds: 0  # the startupProbe holds liveness back");
	return probecheck_emit(ctx, PROBECHECK_STARTUP_MISSING_SLOW_START, PROBECHECK_SEV_WARNING, c,
	                       PROBECHECK_LIVENESS, 0,
	                       "container %s has no startupProbe and its livenessProbe waits initialDelaySeconds %ld: "
	                       "a start slower than %ld s is killed in a loop, and a hang after every restart is only "
	                       "detected after %ld s",
	                       c->name, live->initial_delay, budget, budget);
}

static int hair_trigger(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *live)
{
	long window = probecheck_probe_detect_s(live);
	long failure = ceil_div(HAIR_TRIGGER_S, live->period);
	if (failure < 3)
		failure = 3;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
	probecheck_fix_line(ctx->fix, indent + 2, "failureThreshold: %ld  # restarts after %ld s of failures", failure,
	                    failure * live->period);
	if (live->failure == 1)
		return probecheck_emit(ctx, PROBECHECK_LIVENESS_HAIR_TRIGGER, PROBECHECK_SEV_WARNING, c,
		                       PROBECHECK_LIVENESS, 0,
		                       "livenessProbe of container %s restarts it after a single failed attempt "
		                       "(failureThreshold 1)",
		                       c->name);
	return probecheck_emit(ctx, PROBECHECK_LIVENESS_HAIR_TRIGGER, PROBECHECK_SEV_WARNING, c, PROBECHECK_LIVENESS, 0,
	                       "livenessProbe of container %s restarts it after %ld s (%ld x %ld s) with a 1 s timeout",
	                       c->name, window, live->failure, live->period);
}

static int heavy_timeout(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	long timeout = p->period / 2;
	timeout = timeout < 2 ? 2 : timeout > 5 ? 5 : timeout;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "%s:", probecheck_probe_field(p->kind));
	probecheck_fix_line(ctx->fix, indent + 2, "timeoutSeconds: %ld", timeout);
	if (timeout >= p->period)
		probecheck_fix_line(ctx->fix, indent + 2, "periodSeconds: %ld", timeout * 2);
	return probecheck_emit(ctx, PROBECHECK_TIMEOUT_DEFAULT_HEAVY, PROBECHECK_SEV_WARNING, c, (int)p->kind, 0,
	                       "%s of container %s is an %s probe with a 1 s timeout%s",
	                       probecheck_probe_field(p->kind), c->name,
	                       p->handler == PROBECHECK_HANDLER_EXEC ? "exec" : "gRPC",
	                       p->explicit_fields & PROBECHECK_FIELD_TIMEOUT ? "" : " (the default)");
}

static int timeout_ge_period(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "%s:", probecheck_probe_field(p->kind));
	probecheck_fix_line(ctx->fix, indent + 2, "periodSeconds: %ld", p->timeout * 2);
	return probecheck_emit(ctx, PROBECHECK_TIMEOUT_GE_PERIOD, PROBECHECK_SEV_INFO, c, (int)p->kind, 0,
	                       "%s of container %s has timeoutSeconds %ld, not shorter than periodSeconds %ld",
	                       probecheck_probe_field(p->kind), c->name, p->timeout, p->period);
}

int probecheck_check_timing(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	for (size_t i = 0; i < w->container_count; i++) {
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c))
			continue;
		const probecheck_probe *live = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
		const probecheck_probe *ready = probecheck_ctx_probe(ctx, i, PROBECHECK_READINESS);
		const probecheck_probe *startup = probecheck_ctx_probe(ctx, i, PROBECHECK_STARTUP);
		int rc = 0;
		if (live->json && ready->json && live->handler_count == 1 && ready->handler_count == 1)
			rc = liveness_vs_readiness(ctx, c, live, ready);
		if (!rc && live->json && !startup->json && live->initial_delay >= SLOW_START_DELAY_S)
			rc = slow_start(ctx, c, live);
		if (!rc && live->json &&
		    (live->failure == 1 || (probecheck_probe_detect_s(live) < HAIR_TRIGGER_S && live->timeout == 1)))
			rc = hair_trigger(ctx, c, live);
		for (int kind = 0; kind < PROBECHECK_PROBE_KINDS && !rc; kind++) {
			const probecheck_probe *p = probecheck_ctx_probe(ctx, i, (enum probecheck_probe_kind)kind);
			if (!p->json)
				continue;
			if ((p->handler == PROBECHECK_HANDLER_EXEC || p->handler == PROBECHECK_HANDLER_GRPC) &&
			    p->timeout == 1)
				rc = heavy_timeout(ctx, c, p);
			if (!rc && p->timeout >= p->period)
				rc = timeout_ge_period(ctx, c, p);
		}
		if (rc)
			return rc;
	}
	return 0;
}
