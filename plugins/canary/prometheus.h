/* A Prometheus client for metric gates: where Prometheus is (a URL, or a
 * Service reached through the API server's service proxy), one instant
 * query (/api/v1/query), and the parser of its reply, which yields one
 * value, no data, or why there is none. */
#ifndef CANARY_PROMETHEUS_H
#define CANARY_PROMETHEUS_H

#include <stddef.h>

#include <kube/client.h>

#define CANARY_PROM_DEFAULT_PORT "9090"
/* The most of a reply read from a direct URL (the proxy has the client's
 * own cap). */
#define CANARY_PROM_BODY_MAX     (1024 * 1024)
/* How long Prometheus may evaluate a query: sent as its timeout=
 * parameter ("5s"), in whole seconds. */
#define CANARY_PROM_TIMEOUT_MS   5000L
/* A query's whole time, connecting included, directly or through the
 * service proxy (where it is not retried): Prometheus's own timeout and a
 * second for its answer to come back. */
#define CANARY_PROM_REQUEST_MS   (CANARY_PROM_TIMEOUT_MS + 1000L)

/* Where Prometheus answers. */
typedef struct canary_prom_addr {
	int proxy;         /* 1: through the API server's service proxy */
	char url[512];     /* direct: the base URL, no trailing slash */
	char ns[64];       /* proxy: the Service's namespace */
	char service[64];  /* proxy: its name */
	char port[16];     /* proxy: its port, a number or a name */
	int https;         /* proxy: "https:" in front (the proxy speaks TLS to it) */
	char display[512]; /* for messages and logs: the URL, or [https:]NS/SERVICE:PORT */
} canary_prom_addr;

/* Parses --prometheus / the analysis file's prometheus:
 * http(s)://host[:port][/prefix] (a direct URL), or
 * [https:]NAMESPACE/SERVICE[:PORT] (the service proxy; PORT a number or a
 * port name, default 9090). User information (user:password@) is refused:
 * the address is stored on the Deployment. Returns 0, or -1 with a
 * one-line reason in err, which never quotes user information. */
int canary_prom_addr_parse(canary_prom_addr *out, const char *text, char *err, size_t err_size);

enum canary_prom_kind {
	CANARY_PROM_VALUE, /* one value (which may be NaN or an infinity) */
	CANARY_PROM_EMPTY, /* no series: no data */
	CANARY_PROM_ERROR, /* no answer to judge: error says why */
};

/* The outcome of one instant query. */
typedef struct canary_prom_result {
	enum canary_prom_kind kind;
	double value;    /* VALUE */
	char error[256]; /* ERROR: one printable line */
	/* ERROR: Prometheus could not be asked or did not answer as
	 * Prometheus (unreachable, HTTP or proxy errors, not a reply), as
	 * opposed to an answer about the query itself */
	int unreachable;
} canary_prom_result;

/* Reads a reply of /api/v1/query with HTTP status http_status (0: none
 * known, e.g. the proxy's status was not seen): status "error" (its
 * errorType and error), resultType vector (empty, or exactly one series;
 * more is an ERROR asking for an aggregation) or scalar with value
 * [time, "text"] where text is a float as Prometheus writes it ("NaN",
 * "+Inf", "-Inf", "0.25"); anything else, or a status that is not 2xx
 * without a Prometheus error in the body, is an ERROR. body NULL is no
 * body, whatever len says. Pure; never fails. */
void canary_prom_parse_reply(canary_prom_result *out, long http_status, const char *body, size_t len);

/* Runs query at addr now, asking Prometheus to give up after
 * CANARY_PROM_TIMEOUT_MS (timeout=5s): directly with libcurl (TLS
 * verified, at most CANARY_PROM_REQUEST_MS, no redirects, the reply
 * capped at CANARY_PROM_BODY_MAX) or with client through the service
 * proxy (at most CANARY_PROM_REQUEST_MS, not retried). Whatever
 * goes wrong (unreachable, HTTP errors, a query error) ends in out as an
 * ERROR; returns 0, or KUBE_ENOMEM. Logs the request at -v=6. */
int canary_prom_query(canary_prom_result *out, kube_client *client, const canary_prom_addr *addr, const char *query);

#endif
