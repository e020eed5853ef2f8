/* One container probe as the kubelet will run it: API defaults applied,
 * its handler identified, and its port resolved the way the kubelet
 * resolves it (a name in the same container's ports[].name, else the
 * string as a number, 1-65535). */
#ifndef PROBECHECK_PROBE_H
#define PROBECHECK_PROBE_H

#include <jansson.h>

enum probecheck_probe_kind { PROBECHECK_LIVENESS, PROBECHECK_READINESS, PROBECHECK_STARTUP, PROBECHECK_PROBE_KINDS };

enum probecheck_handler {
	PROBECHECK_HANDLER_NONE,
	PROBECHECK_HANDLER_HTTP,
	PROBECHECK_HANDLER_TCP,
	PROBECHECK_HANDLER_GRPC,
	PROBECHECK_HANDLER_EXEC,
};

enum probecheck_port_state {
	PROBECHECK_PORT_STATE_NONE,         /* exec, or no handler */
	PROBECHECK_PORT_STATE_OK,           /* port holds the number the kubelet connects to */
	PROBECHECK_PORT_STATE_UNRESOLVED,   /* a string that is no port name of the container and no number */
	PROBECHECK_PORT_STATE_OUT_OF_RANGE, /* outside 1-65535 (also a missing port) */
	PROBECHECK_PORT_STATE_GRPC_STRING,  /* grpc.port given as a string */
};

/* Bits of probecheck_probe.explicit_fields. */
#define PROBECHECK_FIELD_INITIAL_DELAY 0x01u
#define PROBECHECK_FIELD_TIMEOUT       0x02u
#define PROBECHECK_FIELD_PERIOD        0x04u
#define PROBECHECK_FIELD_SUCCESS       0x08u
#define PROBECHECK_FIELD_FAILURE       0x10u

typedef struct probecheck_probe {
	enum probecheck_probe_kind kind;
	const json_t *json; /* the probe object; NULL when the container has none */
	enum probecheck_handler handler;
	int handler_count;          /* how many of httpGet, tcpSocket, grpc, exec are set */
	const json_t *handler_json; /* the (first) handler's object */
	/* effective values, API defaults applied (0 and unset mean the default) */
	long initial_delay, timeout, period, success, failure;
	unsigned explicit_fields;  /* PROBECHECK_FIELD_* set to a non-zero value */
	const char *invalid_field; /* the first timing field that is not an integer >= 0, or NULL */
	long grace_period;         /* probe-level terminationGracePeriodSeconds, -1 when unset */
	enum probecheck_port_state port_state;
	long port;                /* resolved port (PROBECHECK_PORT_STATE_OK), else the number given, or 0 */
	const char *port_name;    /* the port as written when it is a string, else NULL */
	int port_declared;        /* the resolved port is one of the container's containerPorts */
	const char *path;         /* httpGet.path, "/" when unset */
	const char *scheme;       /* httpGet.scheme, "HTTP" when unset */
	const char *host;         /* httpGet.host or tcpSocket.host, NULL when unset or empty */
	const json_t *headers;    /* httpGet.httpHeaders or NULL */
	const char *grpc_service; /* grpc.service, "" when unset */
	const json_t *command;    /* exec.command or NULL */
} probecheck_probe;

/* "livenessProbe", "readinessProbe", "startupProbe". */
const char *probecheck_probe_field(enum probecheck_probe_kind kind);
/* "httpGet", "tcpSocket", "grpc", "exec", or "none". */
const char *probecheck_handler_name(enum probecheck_handler handler);

/* Reads container's probe of that kind into out. Returns 1 when the
 * container has it, 0 when not (out->json NULL, everything else zero). */
int probecheck_probe_parse(probecheck_probe *out, const json_t *container, enum probecheck_probe_kind kind);

/* Seconds from the first failed attempt of a healthy container to the
 * kubelet acting: failureThreshold x periodSeconds. */
long probecheck_probe_detect_s(const probecheck_probe *probe);

/* Seconds from container start to the earliest kill or "not ready":
 * initialDelaySeconds + failureThreshold x periodSeconds. */
long probecheck_probe_window_s(const probecheck_probe *probe);

/* 1 when both probes reach the same endpoint: same handler, resolved
 * port, path, scheme, host, headers, gRPC service or exec command. */
int probecheck_probe_same_endpoint(const probecheck_probe *a, const probecheck_probe *b);

#endif
