/* Presence checks: readiness missing, liveness missing, no probe at all. */
#include <stdio.h>

#include "checks/checks.h"

/* Writes a tcpSocket handler on the container's first declared port.
 * Returns 0 when the container declares no port. */
static int first_port_handler(probecheck_fix *fix, int indent, const probecheck_container *c)
{
	const json_t *port = json_array_get(probecheck_json_array(c->spec, "ports"), 0);
	const char *name = probecheck_json_string(port, "name");
	const json_t *number = json_object_get(port, "containerPort");
	if (name && *name) {
		probecheck_fix_line(fix, indent, "tcpSocket:");
		probecheck_fix_line(fix, indent + 2, "port: %s", name);
		return 1;
	}
	if (json_is_integer(number)) {
		probecheck_fix_line(fix, indent, "tcpSocket:");
		probecheck_fix_line(fix, indent + 2, "port: %lld", (long long)json_integer_value(number));
		return 1;
	}
	return 0;
}

static int no_probe(probecheck_ctx *ctx, const probecheck_container *c)
{
	const probecheck_workload *w = ctx->workload;
	int indent = probecheck_fix_container(ctx->fix, w, c);
	int has_port = json_array_size(probecheck_json_array(c->spec, "ports")) > 0;
	if (has_port)
		probecheck_fix_line(ctx->fix, indent, "readinessProbe:");
	if (has_port && first_port_handler(ctx->fix, indent + 2, c)) {
		probecheck_fix_line(ctx->fix, indent + 2, "periodSeconds: 5");
		probecheck_fix_line(ctx->fix, indent + 2, "failureThreshold: 3");
		probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
		(void)first_port_handler(ctx->fix, indent + 2, c);
		probecheck_fix_line(ctx->fix, indent + 2, "periodSeconds: 10");
		probecheck_fix_line(ctx->fix, indent + 2, "failureThreshold: 6");
	} else {
		probecheck_fix_line(ctx->fix, indent,
		                    "# readinessProbe: %s declares no port; an exec probe that checks its own state",
		                    c->name);
	}
	return probecheck_emit(ctx, PROBECHECK_NONE, PROBECHECK_SEV_WARNING, c, -1,
	                       PROBECHECK_DEFER_ESCALATE_IF_SERVICE,
	                       "container %s has no liveness, readiness or startup probe", c->name);
}

/* A readiness probe derived from an existing liveness (or startup) probe:
 * the same handler, checked twice as often, so readiness gives up first. */
static int readiness_missing(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *live,
                             const probecheck_probe *startup)
{
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	const probecheck_probe *from = live->json ? live : startup;
	probecheck_fix_numbers numbers = {0, 0, 0, 0, 0};
	if (from == live) {
		numbers.period = live->period >= 2 ? live->period / 2 : 1;
		numbers.failure = live->failure;
		if (live->timeout > 1)
			numbers.timeout = live->timeout < numbers.period ? live->timeout : numbers.period;
	}
	probecheck_fix_probe(ctx->fix, indent, PROBECHECK_READINESS, from, &numbers);
	if (from == live)
		return probecheck_emit(ctx, PROBECHECK_READINESS_MISSING, PROBECHECK_SEV_WARNING, c,
		                       PROBECHECK_READINESS, PROBECHECK_DEFER_ESCALATE_IF_SERVICE,
		                       "container %s has a livenessProbe but no readinessProbe: it receives traffic as "
		                       "soon as it runs",
		                       c->name);
	return probecheck_emit(
	        ctx, PROBECHECK_READINESS_MISSING, PROBECHECK_SEV_WARNING, c, PROBECHECK_READINESS,
	        PROBECHECK_DEFER_ESCALATE_IF_SERVICE,
	        "container %s has no readinessProbe: after startup it receives traffic whatever its state", c->name);
}

/* A liveness probe derived from readiness (or startup): the same cheap
 * endpoint with twice the failure window, the pattern the Kubernetes docs
 * endorse. */
static int liveness_missing(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *ready,
                            const probecheck_probe *startup)
{
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	const probecheck_probe *from = ready->json ? ready : startup;
	probecheck_fix_numbers numbers = {0, 0, 0, 0, 0};
	if (from == ready) {
		numbers.period = ready->period;
		numbers.failure = ready->failure * 2 > 3 ? ready->failure * 2 : 3;
		if (ready->timeout > 1)
			numbers.timeout = ready->timeout;
	}
	probecheck_fix_probe(ctx->fix, indent, PROBECHECK_LIVENESS, from, &numbers);
	return probecheck_emit(ctx, PROBECHECK_LIVENESS_MISSING, PROBECHECK_SEV_INFO, c, PROBECHECK_LIVENESS, 0,
	                       "container %s has no livenessProbe: nothing restarts it when it hangs", c->name);
}

int probecheck_check_presence(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	int rc = 0;
	for (size_t i = 0; i < w->container_count && !rc; i++) {
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c))
			continue;
		const probecheck_probe *live = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
		const probecheck_probe *ready = probecheck_ctx_probe(ctx, i, PROBECHECK_READINESS);
		const probecheck_probe *startup = probecheck_ctx_probe(ctx, i, PROBECHECK_STARTUP);
		if (!live->json && !ready->json && !startup->json && probecheck_applies(ctx, PROBECHECK_NONE)) {
			rc = no_probe(ctx, c);
			continue;
		}
		if (!ready->json && (live->json || startup->json))
			rc = readiness_missing(ctx, c, live, startup);
		else if (!ready->json)
			rc = probecheck_emit(ctx, PROBECHECK_READINESS_MISSING, PROBECHECK_SEV_WARNING, c,
			                     PROBECHECK_READINESS, PROBECHECK_DEFER_ESCALATE_IF_SERVICE,
			                     "container %s has no readinessProbe", c->name);
		if (!rc && !live->json && (ready->json || startup->json))
			rc = liveness_missing(ctx, c, ready, startup);
		else if (!rc && !live->json)
			rc = probecheck_emit(ctx, PROBECHECK_LIVENESS_MISSING, PROBECHECK_SEV_INFO, c,
			                     PROBECHECK_LIVENESS, 0, "container %s has no livenessProbe", c->name);
	}
	return rc;
}
