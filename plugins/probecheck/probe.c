/* Probe parsing with the API's defaults and the kubelet's port resolution. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe.h"
#include "workload.h"

const char *probecheck_probe_field(enum probecheck_probe_kind kind)
{
	switch (kind) {
	case PROBECHECK_LIVENESS:
		return "livenessProbe";
	case PROBECHECK_READINESS:
		return "readinessProbe";
	case PROBECHECK_STARTUP:
	case PROBECHECK_PROBE_KINDS:
		break;
	}
	return "startupProbe";
}

const char *probecheck_handler_name(enum probecheck_handler handler)
{
	switch (handler) {
	case PROBECHECK_HANDLER_HTTP:
		return "httpGet";
	case PROBECHECK_HANDLER_TCP:
		return "tcpSocket";
	case PROBECHECK_HANDLER_GRPC:
		return "grpc";
	case PROBECHECK_HANDLER_EXEC:
		return "exec";
	case PROBECHECK_HANDLER_NONE:
		break;
	}
	return "none";
}

/* Reads an integer timing field: fallback when unset or 0 (the API
 * defaults 0), the value otherwise; records a value that is not an
 * integer >= 0. */
static long timing_field(probecheck_probe *probe, const char *key, long fallback, unsigned bit)
{
	const json_t *value = json_object_get(probe->json, key);
	if (!value || json_is_null(value))
		return fallback;
	if (!json_is_integer(value) || json_integer_value(value) < 0) {
		if (!probe->invalid_field)
			probe->invalid_field = key;
		return fallback;
	}
	json_int_t n = json_integer_value(value);
	if (n == 0)
		return fallback;
	probe->explicit_fields |= bit;
	return n > 1000000000 ? 1000000000L : (long)n;
}

/* The kubelet's lookup: a name among the container's ports, else the
 * string as an integer. */
static void resolve_port(probecheck_probe *probe, const json_t *container)
{
	const json_t *ports = probecheck_json_array(container, "ports");
	const json_t *port = json_object_get(probe->handler_json, "port");
	size_t index;
	const json_t *entry;

	probe->port_state = PROBECHECK_PORT_STATE_OUT_OF_RANGE;
	if (json_is_integer(port)) {
		json_int_t n = json_integer_value(port);
		probe->port = n < 0 ? -1 : n > 99999999 ? 99999999 : (long)n;
	} else if (json_is_string(port)) {
		probe->port_name = json_string_value(port);
		if (probe->handler == PROBECHECK_HANDLER_GRPC) {
			probe->port_state = PROBECHECK_PORT_STATE_GRPC_STRING;
			return;
		}
		probe->port_state = PROBECHECK_PORT_STATE_UNRESOLVED;
		json_array_foreach(ports, index, entry)
		{
			const char *name = probecheck_json_string(entry, "name");
			const json_t *number = json_object_get(entry, "containerPort");
			if (name && strcmp(name, probe->port_name) == 0 && json_is_integer(number)) {
				probe->port = (long)json_integer_value(number);
				probe->port_state = PROBECHECK_PORT_STATE_OK;
				break;
			}
		}
		if (probe->port_state == PROBECHECK_PORT_STATE_UNRESOLVED) {
			const char *s = probe->port_name;
			char *end = NULL;
			errno = 0;
			long n = *s && isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
			if (end && !*end && !errno) {
				probe->port = n;
				probe->port_state = PROBECHECK_PORT_STATE_OUT_OF_RANGE;
			} else {
				return;
			}
		}
	} else {
		probe->port = 0; /* missing: the API requires it */
	}
	if (probe->port >= 1 && probe->port <= 65535)
		probe->port_state = PROBECHECK_PORT_STATE_OK;
	if (probe->port_state != PROBECHECK_PORT_STATE_OK)
		return;
	json_array_foreach(ports, index, entry)
	{
		const json_t *number = json_object_get(entry, "containerPort");
		if (json_is_integer(number) && json_integer_value(number) == probe->port) {
			probe->port_declared = 1;
			break;
		}
	}
}

int probecheck_probe_parse(probecheck_probe *out, const json_t *container, enum probecheck_probe_kind kind)
{
	static const struct {
		const char *key;
		enum probecheck_handler handler;
	} handlers[] = {
	        {"httpGet", PROBECHECK_HANDLER_HTTP},
	        {"tcpSocket", PROBECHECK_HANDLER_TCP},
	        {"grpc", PROBECHECK_HANDLER_GRPC},
	        {"exec", PROBECHECK_HANDLER_EXEC},
	};
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->grace_period = -1;
	out->path = "/";
	out->scheme = "HTTP";
	out->grpc_service = "";
	out->json = probecheck_json_object(container, probecheck_probe_field(kind));
	if (!out->json)
		return 0;

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const json_t *handler = json_object_get(out->json, handlers[i].key);
		if (!handler || json_is_null(handler))
			continue;
		if (out->handler_count++ == 0) {
			out->handler = handlers[i].handler;
			out->handler_json = handler;
		}
	}
	out->initial_delay = timing_field(out, "initialDelaySeconds", 0, PROBECHECK_FIELD_INITIAL_DELAY);
	out->timeout = timing_field(out, "timeoutSeconds", 1, PROBECHECK_FIELD_TIMEOUT);
	out->period = timing_field(out, "periodSeconds", 10, PROBECHECK_FIELD_PERIOD);
	out->success = timing_field(out, "successThreshold", 1, PROBECHECK_FIELD_SUCCESS);
	out->failure = timing_field(out, "failureThreshold", 3, PROBECHECK_FIELD_FAILURE);
	const json_t *grace = json_object_get(out->json, "terminationGracePeriodSeconds");
	if (json_is_integer(grace) && json_integer_value(grace) >= 0)
		out->grace_period = (long)json_integer_value(grace);
	else if (grace && !json_is_null(grace) && !out->invalid_field)
		out->invalid_field = "terminationGracePeriodSeconds";

	const json_t *h = out->handler_json;
	switch (out->handler) {
	case PROBECHECK_HANDLER_HTTP:
	case PROBECHECK_HANDLER_TCP: {
		const char *host = probecheck_json_string(h, "host");
		out->host = host && *host ? host : NULL;
		if (out->handler == PROBECHECK_HANDLER_HTTP) {
			const char *path = probecheck_json_string(h, "path");
			const char *scheme = probecheck_json_string(h, "scheme");
			if (path && *path)
				out->path = path;
			if (scheme && *scheme)
				out->scheme = scheme;
			out->headers = probecheck_json_array(h, "httpHeaders");
			if (out->headers && json_array_size(out->headers) == 0)
				out->headers = NULL;
		}
		resolve_port(out, container);
		break;
	}
	case PROBECHECK_HANDLER_GRPC: {
		const char *service = probecheck_json_string(h, "service");
		out->grpc_service = service ? service : "";
		resolve_port(out, container);
		break;
	}
	case PROBECHECK_HANDLER_EXEC:
		out->command = probecheck_json_array(h, "command");
		break;
	case PROBECHECK_HANDLER_NONE:
		break;
	}
	return 1;
}

long probecheck_probe_detect_s(const probecheck_probe *probe)
{
	return probe->failure * probe->period;
}

long probecheck_probe_window_s(const probecheck_probe *probe)
{
	return probe->initial_delay + probe->failure * probe->period;
}

static int same_string(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int same_port(const probecheck_probe *a, const probecheck_probe *b)
{
	if (a->port_state == PROBECHECK_PORT_STATE_OK && b->port_state == PROBECHECK_PORT_STATE_OK)
		return a->port == b->port;
	/* unresolved on either side: only the same spelling is the same port */
	return a->port_state == b->port_state && same_string(a->port_name, b->port_name) && a->port == b->port;
}

int probecheck_probe_same_endpoint(const probecheck_probe *a, const probecheck_probe *b)
{
	if (!a->json || !b->json || a->handler != b->handler || a->handler == PROBECHECK_HANDLER_NONE)
		return 0;
	switch (a->handler) {
	case PROBECHECK_HANDLER_HTTP:
		return same_port(a, b) && strcmp(a->path, b->path) == 0 && strcasecmp(a->scheme, b->scheme) == 0 &&
		       same_string(a->host, b->host) &&
		       ((!a->headers && !b->headers) ||
		        (a->headers && b->headers && json_equal(a->headers, b->headers)));
	case PROBECHECK_HANDLER_TCP:
		return same_port(a, b) && same_string(a->host, b->host);
	case PROBECHECK_HANDLER_GRPC:
		return same_port(a, b) && strcmp(a->grpc_service, b->grpc_service) == 0;
	case PROBECHECK_HANDLER_EXEC:
		return a->command && b->command && json_equal(a->command, b->command);
	case PROBECHECK_HANDLER_NONE:
		break;
	}
	return 0;
}
