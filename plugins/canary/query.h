/* The queries of the metric gates: the built-in query templates per router
 * (app, istio, nginx), each track's label matchers, and the expansion of
 * {{variables}} in queries. Pure functions: no I/O. */
#ifndef CANARY_QUERY_H
#define CANARY_QUERY_H

#include <stddef.h>

#include <kube/buf.h>

enum canary_template {
	CANARY_TEMPLATE_DEFAULT, /* not chosen: the router's (canary_analysis_finish) */
	CANARY_TEMPLATE_APP,     /* the app's own metrics, pod labels relabelled */
	CANARY_TEMPLATE_ISTIO,   /* Istio's standard metrics */
	CANARY_TEMPLATE_NGINX,   /* ingress-nginx's metrics */
};

/* "app", "istio", "nginx"; "" for DEFAULT. */
const char *canary_template_name(enum canary_template template_kind);

/* The built-in queries, each run once per track. */
enum canary_query_kind {
	CANARY_QUERY_REQUESTS, /* requests in the window */
	CANARY_QUERY_ERRORS,   /* 5xx answers in the window */
	CANARY_QUERY_P99,      /* P99 latency in the window, in seconds */
	CANARY_QUERY_KINDS,
};

/* "requests", "errors", "p99": the keys of queries:. */
const char *canary_query_kind_name(enum canary_query_kind kind);

enum canary_track_kind {
	CANARY_TRACK_CANARY,
	CANARY_TRACK_STABLE,
};

/* The template's text of kind, with {{selector}} and {{window}} in it
 * (DEFAULT is app). Borrowed. */
const char *canary_template_query(enum canary_template template_kind, enum canary_query_kind kind);

/* A duration in one unit, as both kubectl and PromQL read it: "1h",
 * "30m", "90s", "1500ms". */
void canary_duration_format(char *buf, size_t size, long ms);

/* What {{variables}} stand for in one run. NULL or "" is unknown: a query
 * that names it cannot be expanded. */
typedef struct canary_query_vars {
	const char *ns;         /* {{namespace}} */
	const char *deployment; /* {{deployment}}: D */
	const char *canary;     /* {{canary}}: D-canary */
	const char *revision;   /* {{revision}}: the canary template's hash */
	const char *track;      /* the canary pods' rollguard.io/track: "canary" */
	const char *service;    /* {{service}}: the stable Service of a traffic router */
	const char *route;      /* {{route}}: the routing object */
	const char *router;     /* for messages: the run's router */
	long window_ms;         /* {{window}} */
} canary_query_vars;

/* Checks the {{variables}} of query: each known ({{namespace}},
 * {{deployment}}, {{canary}}, {{revision}}, {{service}},
 * {{canaryService}}, {{route}}, {{window}}; {{selector}} only when
 * builtin), each closed. "{{ name }}" may have blanks inside; "{{{" is a
 * brace and then a variable. Returns 0 or -1 with err. */
int canary_query_check(const char *query, int builtin, char *err, size_t err_size);

/* Appends query with its variables replaced (selector: what {{selector}}
 * stands for, NULL for a custom metric). Returns 0; -1 with err for a
 * variable that is unknown, or whose value the run does not have
 * ("{{service}} is empty: router replicas routes through no Service");
 * KUBE_ENOMEM. */
int canary_query_expand(kube_buf *out, const char *query, const canary_query_vars *vars, const char *selector,
                        char *err, size_t err_size);

/* The label matchers of track for template (no braces):
 * app    canary namespace="NS",rollguard_io_track="canary",rollguard_io_revision="REV"
 *        stable namespace="NS",pod=~"D-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}",
 *               rollguard_io_track="" (D's pods D-HASH-SUFFIX: the alphabet of Kubernetes's generated names)
 * istio  reporter="destination",destination_workload_namespace="NS",destination_workload="D-canary" / "D"
 * nginx  namespace="NS",service="SVC-canary" / service="SVC".
 * Returns 0; -1 with err when the template needs a value vars lacks;
 * KUBE_ENOMEM. */
int canary_query_selector(kube_buf *out, enum canary_template template_kind, enum canary_track_kind track,
                          const canary_query_vars *vars, char *err, size_t err_size);

#endif
