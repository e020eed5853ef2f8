/* Intent checks: liveness that checks dependencies, workers probed over the network. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "checks/checks.h"

/* Words in a path or command that name a dependency or deep check. */
static const char *const dependency_words[] = {"ready",      "readiness", "deep",     "deps",     "dependencies",
                                               "dependency", "db",        "database", "databases"};
/* Substrings that do the same across word boundaries. */
static const char *const dependency_phrases[] = {"health/full", "check-all", "checkall", "healthcheck/all"};
/* Clients that reach another process: flagged when pointed at another host. */
static const char *const client_tools[] = {
        "curl", "wget",  "psql",    "pg_isready",        "mysql", "mysqladmin", "redis-cli", "nc",
        "ncat", "mongo", "mongosh", "grpc_health_probe", "cqlsh", "kafkacat",   "kcat"};

static int is_separator(char c)
{
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
}

/* The dependency word or phrase in text (as a whole word, case-insensitive), or NULL. */
static const char *dependency_word(const char *text)
{
	for (size_t i = 0; i < sizeof(dependency_phrases) / sizeof(dependency_phrases[0]); i++) {
		size_t n = strlen(dependency_phrases[i]);
		for (const char *p = text; *p; p++)
			if (strncasecmp(p, dependency_phrases[i], n) == 0)
				return dependency_phrases[i];
	}
	const char *p = text;
	while (*p) {
		while (*p && is_separator(*p))
			p++;
		const char *start = p;
		while (*p && !is_separator(*p))
			p++;
		size_t len = (size_t)(p - start);
		for (size_t i = 0; len && i < sizeof(dependency_words) / sizeof(dependency_words[0]); i++)
			if (strlen(dependency_words[i]) == len && strncasecmp(start, dependency_words[i], len) == 0)
				return dependency_words[i];
	}
	return NULL;
}

static int is_local_host(const char *host, size_t len)
{
	static const char *const local[] = {"localhost",   "127.0.0.1", "::1",        "[::1]",
	                                    "0.0.0.0",     "$(POD_IP)", "${POD_IP}",  "$POD_IP",
	                                    "$(HOSTNAME)", "$HOSTNAME", "${HOSTNAME}"};
	if (len == 0)
		return 1;
	if (len > 4 && strncmp(host, "127.", 4) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (strlen(local[i]) == len && strncasecmp(host, local[i], len) == 0)
			return 1;
	return 0;
}

/* The host part of "scheme://user@host:port/path", "host:port/path" or "host". */
static void url_host(const char *token, const char **host, size_t *len)
{
	const char *p = strstr(token, "://");
	p = p ? p + 3 : token;
	const char *at = strchr(p, '@');
	const char *slash = strchr(p, '/');
	if (at && (!slash || at < slash))
		p = at + 1;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		*host = p;
		*len = close ? (size_t)(close - p) + 1 : strlen(p);
		return;
	}
	*host = p;
	*len = strcspn(p, ":/?");
}

struct command_scan {
	char tokens[64][128];
	size_t count;
};

/* Splits a probe command (every argv element, including scripts passed to
 * sh -c) into shell-ish words. */
static void tokenize(struct command_scan *scan, const json_t *command)
{
	size_t index;
	const json_t *arg;
	scan->count = 0;
	json_array_foreach(command, index, arg)
	{
		const char *p = json_string_value(arg);
		while (p && *p && scan->count < 64) {
			while (*p && strchr(" \t\n;|&()`'\"", *p))
				p++;
			size_t len = strcspn(p, " \t\n;|&()`'\"");
			if (!len)
				break;
			(void)snprintf(scan->tokens[scan->count++], sizeof(scan->tokens[0]), "%.*s",
			               (int)(len < 127 ? len : 127), p);
			p += len;
		}
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int is_client_tool(const char *token)
{
	const char *name = base_name(token);
	for (size_t i = 0; i < sizeof(client_tools) / sizeof(client_tools[0]); i++)
		if (strcmp(name, client_tools[i]) == 0)
			return 1;
	return 0;
}

/* Finds a client tool in the command aimed at a host other than this pod;
 * writes "TOOL to HOST" into reason. */
static int remote_client(const struct command_scan *scan, char *reason, size_t size)
{
	for (size_t i = 0; i < scan->count; i++) {
		if (!is_client_tool(scan->tokens[i]))
			continue;
		const char *tool = base_name(scan->tokens[i]);
		int positional = 0;
		for (size_t j = i + 1; j < scan->count && !is_client_tool(scan->tokens[j]); j++) {
			const char *t = scan->tokens[j];
			const char *host = NULL;
			size_t len = 0;
			if (strcmp(t, "-h") == 0 || strcmp(t, "--host") == 0 || strcmp(t, "-addr") == 0 ||
			    strcmp(t, "--addr") == 0 || strcmp(t, "-u") == 0) {
				if (j + 1 < scan->count)
					url_host(scan->tokens[++j], &host, &len);
			} else if (strncmp(t, "--host=", 7) == 0 || strncmp(t, "-addr=", 6) == 0 ||
			           strncmp(t, "--addr=", 7) == 0) {
				url_host(strchr(t, '=') + 1, &host, &len);
			} else if (strncmp(t, "-h", 2) == 0 && t[2] && strcmp(tool, "curl") != 0 &&
			           strcmp(tool, "wget") != 0) {
				url_host(t + 2, &host, &len);
			} else if (strstr(t, "://")) {
				url_host(t, &host, &len);
			} else if (t[0] != '-' && !positional &&
			           (strcmp(tool, "curl") == 0 || strcmp(tool, "wget") == 0 || strcmp(tool, "nc") == 0 ||
			            strcmp(tool, "ncat") == 0)) {
				positional = 1; /* curl host:port/path, nc host port */
				url_host(t, &host, &len);
			}
			if (host && !is_local_host(host, len)) {
				(void)snprintf(reason, size, "it runs %s against %.*s", tool,
				               (int)(len > 100 ? 100 : len), host);
				return 1;
			}
		}
	}
	return 0;
}

/* Why a liveness probe looks like a dependency check, or 0. */
static int downstream_reason(const probecheck_probe *live, char *reason, size_t size)
{
	const char *word;
	struct command_scan scan;
	switch (live->handler) {
	case PROBECHECK_HANDLER_HTTP:
		if (live->host) {
			(void)snprintf(reason, size, "httpGet.host sends it to %s", live->host);
			return 1;
		}
		if ((word = dependency_word(live->path))) {
			(void)snprintf(reason, size, "its path %s looks like a dependency check (\"%s\")", live->path,
			               word);
			return 1;
		}
		return 0;
	case PROBECHECK_HANDLER_TCP:
		if (live->host) {
			(void)snprintf(reason, size, "tcpSocket.host sends it to %s", live->host);
			return 1;
		}
		return 0;
	case PROBECHECK_HANDLER_GRPC:
		if ((word = dependency_word(live->grpc_service))) {
			(void)snprintf(reason, size, "its gRPC service \"%s\" looks like a dependency check (\"%s\")",
			               live->grpc_service, word);
			return 1;
		}
		return 0;
	case PROBECHECK_HANDLER_EXEC:
		tokenize(&scan, live->command);
		if (remote_client(&scan, reason, size))
			return 1;
		for (size_t i = 0; i < scan.count; i++) {
			if (dependency_word(scan.tokens[i])) {
				(void)snprintf(reason, size,
				               "its command has \"%s\", which looks like a dependency check",
				               scan.tokens[i]);
				return 1;
			}
		}
		return 0;
	case PROBECHECK_HANDLER_NONE:
		break;
	}
	return 0;
}

static int liveness_downstream(probecheck_ctx *ctx, size_t i)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	const probecheck_probe *live = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
	const probecheck_probe *ready = probecheck_ctx_probe(ctx, i, PROBECHECK_READINESS);
	char reason[256];
	if (!live->json || !downstream_reason(live, reason, sizeof(reason)))
		return 0;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	if (!ready->json) {
		probecheck_fix_numbers numbers = {0, live->timeout > 1 ? live->timeout : 0, live->period, 0,
		                                  live->failure};
		probecheck_fix_line(ctx->fix, indent, "# the dependency check moves to readiness:");
		probecheck_fix_probe(ctx->fix, indent, PROBECHECK_READINESS, live, &numbers);
	}
	if ((live->handler == PROBECHECK_HANDLER_HTTP || live->handler == PROBECHECK_HANDLER_TCP) &&
	    live->port_state == PROBECHECK_PORT_STATE_OK) {
		probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
		probecheck_fix_line(ctx->fix, indent + 2, "# only checks that %s itself answers", c->name);
		probecheck_fix_line(ctx->fix, indent + 2, "%s: null", probecheck_handler_name(live->handler));
		probecheck_fix_line(ctx->fix, indent + 2, "tcpSocket:");
		if (live->port_name)
			probecheck_fix_line(ctx->fix, indent + 4, "port: %s", live->port_name);
		else
			probecheck_fix_line(ctx->fix, indent + 4, "port: %ld", live->port);
	} else {
		probecheck_fix_line(ctx->fix, indent,
		                    "# livenessProbe: check only this process (a local port or a "
		                    "heartbeat file), never its dependencies");
	}
	return probecheck_emit(ctx, PROBECHECK_LIVENESS_DOWNSTREAM, PROBECHECK_SEV_WARNING, c, PROBECHECK_LIVENESS, 0,
	                       "livenessProbe of container %s looks like a dependency check: %s", c->name, reason);
}

static int declares_ports(const probecheck_workload *w)
{
	for (size_t i = 0; i < w->container_count; i++)
		if (json_array_size(probecheck_json_array(w->containers[i].spec, "ports")))
			return 1;
	return 0;
}

static int worker_probes(probecheck_ctx *ctx, size_t i)
{
	const probecheck_container *c = &ctx->workload->containers[i];
	for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
		const probecheck_probe *p = probecheck_ctx_probe(ctx, i, (enum probecheck_probe_kind)kind);
		if (!p->json || (p->handler != PROBECHECK_HANDLER_HTTP && p->handler != PROBECHECK_HANDLER_TCP))
			continue;
		int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		/* comments only: the new handler needs a command only the owner knows */
		probecheck_fix_line(ctx->fix, indent,
		                    "# %s:", probecheck_probe_field((enum probecheck_probe_kind)kind));
		probecheck_fix_line(ctx->fix, indent, "#   %s: null", probecheck_handler_name(p->handler));
		probecheck_fix_line(ctx->fix, indent,
		                    "#   exec: a command that checks %s's own progress, e.g. the age of "
		                    "a heartbeat file it touches",
		                    c->name);
		int rc = probecheck_emit(
		        ctx, PROBECHECK_WORKER_NON_EXEC, PROBECHECK_SEV_INFO, c, kind, PROBECHECK_DEFER_DROP_IF_SERVICE,
		        "container %s looks like a worker (no ports, no Service) but its %s uses %s", c->name,
		        probecheck_probe_field((enum probecheck_probe_kind)kind), probecheck_handler_name(p->handler));
		if (rc)
			return rc;
	}
	return 0;
}

int probecheck_check_intent(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	int worker = probecheck_applies(ctx, PROBECHECK_WORKER_NON_EXEC) && !declares_ports(w);
	for (size_t i = 0; i < w->container_count; i++) {
		int rc = 0;
		if (!probecheck_container_runs(&w->containers[i]))
			continue;
		if (probecheck_applies(ctx, PROBECHECK_LIVENESS_DOWNSTREAM))
			rc = liveness_downstream(ctx, i);
		if (!rc && worker)
			rc = worker_probes(ctx, i);
		if (rc)
			return rc;
	}
	return 0;
}
