/* Active findings (--exercise): what running each probe now showed, per
 * container and probe, summed over the workload's pods: failures, a
 * command missing from the image, latency against timeoutSeconds (the
 * tunnel's round trip taken off), redirects to another host and bodies
 * over the 10 KiB the kubelet reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../exercise.h"
#include "../exercise_util.h"
#include "checks.h"

/* One container's probe of one kind over the workload's pods. */
struct outcome {
	size_t pods, failed_pods, samples, failed_samples;
	const probecheck_exercise *failed;  /* the first pod with a failed sample */
	const char *failed_detail;          /* and that sample's detail */
	const probecheck_exercise *missing; /* exec: the command is not in the image */
	const probecheck_exercise *slowest; /* the pod of the slowest sample (not tcpSocket) */
	long long max_ms;
	const probecheck_exercise *redirect, *large;
	const probecheck_probe *probe; /* as in the pod */
};

static void collect(struct outcome *o, const probecheck_exercise *x)
{
	int pod_failed = 0;
	o->pods++;
	o->probe = &x->probe;
	for (size_t i = 0; i < x->sample_count; i++) {
		const probecheck_exercise_sample *s = &x->samples[i];
		o->samples++;
		if (!s->ok) {
			o->failed_samples++;
			if (!o->failed) {
				o->failed = x;
				o->failed_detail = s->detail;
			}
			pod_failed = 1;
		}
		if (x->probe.handler != PROBECHECK_HANDLER_TCP && (!o->slowest || s->ms > o->max_ms)) {
			o->max_ms = s->ms;
			o->slowest = x;
		}
	}
	o->failed_pods += (size_t)pod_failed;
	if (x->missing_binary && !o->missing)
		o->missing = x;
	if (x->redirect_cross_host && !o->redirect)
		o->redirect = x;
	if (x->large_body && !o->large)
		o->large = x;
}

/* "httpGet :8080/ready", "httpGet HTTPS :8443/", "tcpSocket :5432", "grpc :9090", "exec [pg_isready]". */
static void describe(char *buf, size_t size, const probecheck_probe *p)
{
	switch (p->handler) {
	case PROBECHECK_HANDLER_HTTP:
		(void)snprintf(buf, size, "httpGet %s:%ld%s", strcasecmp(p->scheme, "HTTPS") == 0 ? "HTTPS " : "",
		               p->port, p->path);
		return;
	case PROBECHECK_HANDLER_EXEC: {
		char *text = json_dumps(p->command, JSON_COMPACT);
		(void)snprintf(buf, size, "exec %.200s", text ? text : "[]");
		free(text);
		return;
	}
	case PROBECHECK_HANDLER_TCP:
	case PROBECHECK_HANDLER_GRPC:
	case PROBECHECK_HANDLER_NONE:
		break;
	}
	(void)snprintf(buf, size, "%s :%ld", probecheck_handler_name(p->handler), p->port);
}

static int report_latency(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *probe,
                          const struct outcome *o, const char *what)
{
	const probecheck_probe *declared =
	        probecheck_ctx_probe(ctx, (size_t)(c - ctx->workload->containers), probe->kind);
	enum probecheck_severity severity = probecheck_latency_severity(o->max_ms, probe->timeout);
	if (!o->slowest || severity == PROBECHECK_SEV_NONE)
		return 0;
	const char *tunnel = o->slowest->tunnel_ms >= 0 ? "tunnel round trip taken off"
	                                                : "raw, exec includes the "
	                                                  "WebSocket upgrade";
	long timeout = (long)((o->max_ms * 2 + 999) / 1000);
	if (timeout <= probe->timeout)
		timeout = probe->timeout + 1;
	if (declared->json) {
		probecheck_fix_numbers numbers = {0, timeout, declared->period > timeout ? 0 : timeout + 1, 0, 0};
		int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_probe(ctx->fix, indent, probe->kind, declared, &numbers);
	}
	return probecheck_emit(ctx, PROBECHECK_ACTIVE_LATENCY_VS_TIMEOUT, severity, c, probe->kind, 0,
	                       "container %s: %s %s took up to %lld ms (%s) in pod %s, %lld%% of timeoutSeconds "
	                       "(%ld s)",
	                       c->name, probecheck_probe_field(probe->kind), what, o->max_ms, tunnel, o->slowest->pod,
	                       o->max_ms * 100 / (probe->timeout * 1000), probe->timeout);
}

static int report_outcome(probecheck_ctx *ctx, const probecheck_container *c, const struct outcome *o)
{
	const probecheck_probe *probe = o->probe;
	const char *field = probecheck_probe_field(probe->kind);
	char what[256];
	int rc = 0;
	describe(what, sizeof(what), probe);
	if (o->missing)
		rc = probecheck_emit(ctx, PROBECHECK_ACTIVE_EXEC_MISSING_BINARY, PROBECHECK_SEV_ERROR, c, probe->kind,
		                     0,
		                     "container %s: %s %s: the command is not in the image (pod %s: %s); the probe "
		                     "can never pass",
		                     c->name, field, what, o->missing->pod,
		                     o->missing->sample_count ? o->missing->samples[0].detail : "");
	else if (o->failed)
		rc = probecheck_emit(ctx, PROBECHECK_ACTIVE_PROBE_FAILS, PROBECHECK_SEV_ERROR, c, probe->kind, 0,
		                     "container %s: %s %s failed %zu of %zu samples in %zu of %zu pods (pod %s: %s)",
		                     c->name, field, what, o->failed_samples, o->samples, o->failed_pods, o->pods,
		                     o->failed->pod, o->failed_detail);
	if (!rc)
		rc = report_latency(ctx, c, probe, o, what);
	if (!rc && o->redirect)
		rc = probecheck_emit(ctx, PROBECHECK_ACTIVE_HTTP_REDIRECT, PROBECHECK_SEV_WARNING, c, probe->kind, 0,
		                     "container %s: %s %s redirects to another host (%s) in pod %s: the kubelet stops "
		                     "there, counts the 3xx as success and records a ProbeWarning event",
		                     c->name, field, what,
		                     o->redirect->location[0] ? o->redirect->location : "no Location",
		                     o->redirect->pod);
	if (!rc && o->large)
		rc = probecheck_emit(ctx, PROBECHECK_ACTIVE_HTTP_LARGE_BODY, PROBECHECK_SEV_INFO, c, probe->kind, 0,
		                     "container %s: %s %s answers with a body over 10 KiB in pod %s: the kubelet reads "
		                     "10 KiB and closes the connection",
		                     c->name, field, what, o->large->pod);
	return rc;
}

int probecheck_check_active(probecheck_ctx *ctx, const probecheck_exercise_set *set, size_t workload)
{
	const probecheck_workload *w = ctx->workload;
	for (size_t i = 0; set && i < w->container_count; i++) {
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c))
			continue;
		for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
			struct outcome o;
			memset(&o, 0, sizeof(o));
			for (size_t k = 0; k < set->count; k++) {
				const probecheck_exercise *x = &set->items[k];
				if (x->workload == workload && x->state == PROBECHECK_EXERCISED &&
				    (int)x->probe.kind == kind && x->container && strcmp(x->container, c->name) == 0)
					collect(&o, x);
			}
			if (!o.pods)
				continue;
			int rc = report_outcome(ctx, c, &o);
			if (rc)
				return rc;
		}
	}
	return 0;
}
