/* Correctness checks: what the API server rejects, and what it accepts but the kubelet cannot run. */
#include <stdio.h>
#include <string.h>

#include "checks/checks.h"

/* "http, metrics" (the container's port names) or "none". */
static void port_names(char *buf, size_t size, const probecheck_container *c)
{
	const json_t *ports = probecheck_json_array(c->spec, "ports");
	size_t index, used = 0;
	const json_t *port;
	buf[0] = '\0';
	json_array_foreach(ports, index, port)
	{
		const char *name = probecheck_json_string(port, "name");
		if (!name || used >= size)
			continue;
		int n = snprintf(buf + used, size - used, "%s\"%s\"", used ? ", " : "", name);
		if (n > 0)
			used += (size_t)n;
	}
	if (!used)
		(void)snprintf(buf, size, "none");
}

static int init_container_probes(probecheck_ctx *ctx, size_t i)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
		if (!probecheck_ctx_probe(ctx, i, (enum probecheck_probe_kind)kind)->json)
			continue;
		int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "%s: null",
		                    probecheck_probe_field((enum probecheck_probe_kind)kind));
		int rc = probecheck_emit(ctx, PROBECHECK_INIT_CONTAINER, PROBECHECK_SEV_ERROR, c, kind, 0,
		                         "init container %s has a %s, which the API server rejects on an init "
		                         "container without restartPolicy: Always",
		                         c->name, probecheck_probe_field((enum probecheck_probe_kind)kind));
		if (rc)
			return rc;
	}
	return 0;
}

static int handler_count(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	static const char *const keys[] = {"httpGet", "tcpSocket", "grpc", "exec"};
	const char *field = probecheck_probe_field(p->kind);
	if (p->handler_count == 0)
		return probecheck_emit(ctx, PROBECHECK_HANDLER_COUNT, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                       "%s of container %s has no handler (httpGet, tcpSocket, grpc or exec)", field,
		                       c->name);
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "%s:", field);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const json_t *h = json_object_get(p->json, keys[k]);
		if (h && !json_is_null(h) && strcmp(keys[k], probecheck_handler_name(p->handler)) != 0)
			probecheck_fix_line(ctx->fix, indent + 2, "%s: null", keys[k]);
	}
	return probecheck_emit(ctx, PROBECHECK_HANDLER_COUNT, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
	                       "%s of container %s sets %d handlers; exactly one of httpGet, tcpSocket, grpc and exec "
	                       "is allowed (the fix keeps %s)",
	                       field, c->name, p->handler_count, probecheck_handler_name(p->handler));
}

static int port_checks(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	const char *field = probecheck_probe_field(p->kind);
	const char *handler = probecheck_handler_name(p->handler);
	char names[256];
	int indent;
	switch (p->port_state) {
	case PROBECHECK_PORT_STATE_UNRESOLVED: {
		const json_t *first = json_array_get(probecheck_json_array(c->spec, "ports"), 0);
		const char *first_name = probecheck_json_string(first, "name");
		const json_t *first_number = json_object_get(first, "containerPort");
		port_names(names, sizeof(names), c);
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		if (first_name || json_is_integer(first_number)) {
			probecheck_fix_line(ctx->fix, indent, "%s:", field);
			probecheck_fix_line(ctx->fix, indent + 2, "%s:", handler);
			if (first_name)
				probecheck_fix_line(ctx->fix, indent + 4, "port: %s", first_name);
			else
				probecheck_fix_line(ctx->fix, indent + 4, "port: %lld",
				                    (long long)json_integer_value(first_number));
		} else {
			probecheck_fix_line(ctx->fix, indent, "# ports:");
			probecheck_fix_line(ctx->fix, indent, "# - name: %s", p->port_name);
			probecheck_fix_line(ctx->fix, indent, "#   containerPort: the port %s listens on", c->name);
		}
		return probecheck_emit(ctx, PROBECHECK_NAMED_PORT_UNRESOLVED, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                       "%s.%s.port \"%s\" names no port of container %s (its port names: %s): every "
		                       "attempt errors and the kubelet discards the result, so the probe %s",
		                       field, handler, p->port_name, c->name, names,
		                       p->kind == PROBECHECK_READINESS  ? "never marks the container Ready"
		                       : p->kind == PROBECHECK_LIVENESS ? "never restarts the container"
		                                                        : "never lets the container start");
	}
	case PROBECHECK_PORT_STATE_OUT_OF_RANGE:
		return probecheck_emit(ctx, PROBECHECK_PORT_OUT_OF_RANGE, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                       "%s.%s.port of container %s is %ld, outside 1-65535", field, handler, c->name,
		                       p->port);
	case PROBECHECK_PORT_STATE_GRPC_STRING: {
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		/* The number behind the name in the container's ports, if any. */
		const json_t *ports = probecheck_json_array(c->spec, "ports");
		size_t index;
		const json_t *entry;
		long number = 0;
		json_array_foreach(ports, index, entry)
		{
			const char *name = probecheck_json_string(entry, "name");
			if (name && strcmp(name, p->port_name) == 0 &&
			    json_is_integer(json_object_get(entry, "containerPort")))
				number = (long)json_integer_value(json_object_get(entry, "containerPort"));
		}
		if (number) {
			probecheck_fix_line(ctx->fix, indent, "%s:", field);
			probecheck_fix_line(ctx->fix, indent + 2, "grpc:");
			probecheck_fix_line(ctx->fix, indent + 4, "port: %ld", number);
		} else {
			probecheck_fix_line(ctx->fix, indent, "# %s:", field);
			probecheck_fix_line(ctx->fix, indent, "#   grpc:");
			probecheck_fix_line(ctx->fix, indent, "#     port: the number %s serves gRPC health on",
			                    c->name);
		}
		return probecheck_emit(
		        ctx, PROBECHECK_GRPC_NAMED_PORT, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		        "%s.grpc.port of container %s is the string \"%s\"; gRPC probes take a port number "
		        "only",
		        field, c->name, p->port_name);
	}
	case PROBECHECK_PORT_STATE_OK:
		if (p->port_declared || p->port_name)
			return 0;
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "ports:");
		probecheck_fix_line(ctx->fix, indent, "- containerPort: %ld", p->port);
		return probecheck_emit(ctx, PROBECHECK_PORT_UNDECLARED, PROBECHECK_SEV_INFO, c, (int)p->kind, 0,
		                       "%s.%s.port %ld is not among the containerPorts of container %s", field, handler,
		                       p->port, c->name);
	case PROBECHECK_PORT_STATE_NONE:
		break;
	}
	return 0;
}

static int host_set(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	const char *field = probecheck_probe_field(p->kind);
	const char *handler = probecheck_handler_name(p->handler);
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "%s:", field);
	probecheck_fix_line(ctx->fix, indent + 2, "%s:", handler);
	probecheck_fix_line(ctx->fix, indent + 4, "host: null");
	if (p->handler == PROBECHECK_HANDLER_HTTP) {
		probecheck_fix_line(ctx->fix, indent + 4, "httpHeaders:");
		probecheck_fix_line(ctx->fix, indent + 4, "- name: Host");
		probecheck_fix_line(ctx->fix, indent + 6, "value: %s", p->host);
	}
	return probecheck_emit(ctx, PROBECHECK_HTTP_HOST_SET, PROBECHECK_SEV_WARNING, c, (int)p->kind, 0,
	                       "%s.%s.host of container %s is \"%s\": the kubelet connects there from the node instead "
	                       "of to the pod",
	                       field, handler, c->name, p->host);
}

static int probe_checks(probecheck_ctx *ctx, const probecheck_container *c, const probecheck_probe *p)
{
	const char *field = probecheck_probe_field(p->kind);
	int rc = 0, indent;
	if (p->invalid_field) {
		rc = probecheck_emit(ctx, PROBECHECK_FIELD_INVALID, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                     "%s.%s of container %s is not an integer >= 0", field, p->invalid_field, c->name);
		if (rc)
			return rc;
	}
	if (p->handler_count != 1 && (rc = handler_count(ctx, c, p)))
		return rc;
	if (p->kind != PROBECHECK_READINESS && p->success != 1) {
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "%s:", field);
		probecheck_fix_line(ctx->fix, indent + 2, "successThreshold: 1");
		rc = probecheck_emit(ctx, PROBECHECK_SUCCESS_THRESHOLD, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                     "%s.successThreshold of container %s is %ld; it must be 1", field, c->name,
		                     p->success);
		if (rc)
			return rc;
	}
	const json_t *grace = json_object_get(p->json, "terminationGracePeriodSeconds");
	if (p->kind == PROBECHECK_READINESS && grace && !json_is_null(grace)) {
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "%s:", field);
		probecheck_fix_line(ctx->fix, indent + 2, "terminationGracePeriodSeconds: null");
		rc = probecheck_emit(ctx, PROBECHECK_READINESS_GRACE_PERIOD, PROBECHECK_SEV_ERROR, c, (int)p->kind, 0,
		                     "readinessProbe of container %s sets terminationGracePeriodSeconds", c->name);
		if (rc)
			return rc;
	}
	if ((rc = port_checks(ctx, c, p)))
		return rc;
	if (p->host && (p->handler == PROBECHECK_HANDLER_HTTP || p->handler == PROBECHECK_HANDLER_TCP))
		rc = host_set(ctx, c, p);
	return rc;
}

int probecheck_check_correctness(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	for (size_t i = 0; i < w->container_count; i++) {
		const probecheck_container *c = &w->containers[i];
		int rc;
		if (!probecheck_container_runs(c)) {
			if ((rc = init_container_probes(ctx, i)))
				return rc;
			continue;
		}
		for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
			const probecheck_probe *p = probecheck_ctx_probe(ctx, i, (enum probecheck_probe_kind)kind);
			if (p->json && (rc = probe_checks(ctx, c, p)))
				return rc;
		}
	}
	return 0;
}
