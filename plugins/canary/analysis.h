/* A canary run's metric analysis (SPEC §3.5): the file --analysis names
 * (YAML or JSON) validated into a canary_analysis, normalized into the JSON
 * kept on D in the annotation rollguard.io/canary-analysis (read back by
 * the same parser), and the built-in queries it asks for (query.h has the
 * templates and {{variables}}). Pure functions: no I/O. */
#ifndef CANARY_ANALYSIS_H
#define CANARY_ANALYSIS_H

#include <stddef.h>

#include <jansson.h>
#include <kube/buf.h>

#include "query.h"
#include "state.h"

#define CANARY_ANNOTATION_ANALYSIS  "rollguard.io/canary-analysis"
#define CANARY_QUERY_MAX            4096 /* bytes of one query, its NUL included */
/* Health and at least one metric gate share the run's gate records. */
#define CANARY_METRICS_MAX          (CANARY_MAX_GATES - 1)
#define CANARY_DEFAULT_INTERVAL_MS  30000L
#define CANARY_DEFAULT_WINDOW_MS    60000L
#define CANARY_DEFAULT_MIN_REQUESTS 100
#define CANARY_DEFAULT_ERROR_RATIO  2.0
#define CANARY_DEFAULT_ERROR_FLOOR  0.01

/* A custom PromQL gate (metrics: in the file). */
typedef struct canary_metric {
	char name[32]; /* the gate's name: [a-z0-9-], unique */
	char query[CANARY_QUERY_MAX];
	int has_min, has_max;
	double min, max;   /* a measurement fails below min or above max */
	long interval_ms;  /* between measurements */
	int count;         /* passing measurements in a step before the gate passes */
	int failure_limit; /* the gate fails once more measurements than this failed in a step */
} canary_metric;

typedef struct canary_analysis {
	char prometheus[512]; /* the address as given; "" when not (yet) known */
	long interval_ms;     /* between measurements of the built-in gates */
	long window_ms;       /* {{window}}: the range of the built-in queries */
	enum canary_template template_kind;
	long long min_requests; /* canary requests in the window before judging */
	int error_rate;         /* 1: the error-rate gate is on (errorRate: off) */
	double error_ratio;     /* FAIL when canary > max(ratio x stable, floor) */
	double error_floor;     /* a fraction: 1% is 0.01 */
	long max_p99_ms;        /* 0: no latency gate */
	/* Overrides of the template's queries ("" = the template's), in
	 * which {{selector}} is each track's label matchers. */
	char queries[CANARY_QUERY_KINDS][CANARY_QUERY_MAX];
	canary_metric metrics[CANARY_METRICS_MAX];
	int metric_count;
} canary_analysis;

/* The defaults: interval 30s, window 1m, template DEFAULT, minRequests
 * 100, errorRate {ratio: 2, floor: 1%}, no maxP99, no overrides or
 * metrics, no prometheus. */
void canary_analysis_init(canary_analysis *out);

/* Parses an analysis file's text (YAML or JSON, one document) over the
 * defaults. Keys: prometheus, interval, window, template, minRequests,
 * errorRate ({ratio, floor} or off), maxP99, queries {requests, errors,
 * p99}, metrics [{name, query, min, max, interval, count, failureLimit}];
 * null is "not given". Durations are kubectl's ("30s", "1m", a bare number
 * of seconds), floor a percentage ("1%", "0.5%"). Returns 0; -1 with
 * "KEY: problem" in err (KEY the path, "metrics[1].query") for an unknown
 * key, a value of the wrong type or range, a missing query, a query that
 * names an unknown {{variable}}; KUBE_ENOMEM. */
int canary_analysis_parse(canary_analysis *out, const char *text, size_t len, char *err, size_t err_size);

/* The same over an already parsed document (the annotation's JSON). */
int canary_analysis_from_json(canary_analysis *out, const json_t *doc, char *err, size_t err_size);

/* Completes an analysis for a run with router: the template defaults to
 * istio for the istio router, nginx for nginx, else app. Returns 0, or -1
 * with "KEY: problem" in err: no prometheus, no gate at all (errorRate off,
 * no maxP99, no metrics), more gates than a run keeps (CANARY_MAX_GATES
 * with health). */
int canary_analysis_finish(canary_analysis *a, const char *router, char *err, size_t err_size);

/* The analysis as its normalized JSON (owned; NULL when memory runs out):
 * every setting written out (interval, window, template once chosen,
 * minRequests, errorRate, maxP99 when set, queries given, metrics with
 * their interval, count and failureLimit), which canary_analysis_from_json
 * reads back to the same analysis. */
json_t *canary_analysis_to_json(const canary_analysis *a);

/* That JSON on one line, appended to out: the annotation's text. */
int canary_analysis_format(kube_buf *out, const canary_analysis *a);

/* The metric gates a run with a keeps: error-rate (unless off),
 * latency-p99 (with maxP99), then the metrics. */
int canary_analysis_gate_count(const canary_analysis *a);

/* Appends the built-in query kind for track, expanded: the override of a
 * when there is one, else its template's. Errors as canary_query_expand. */
int canary_query_builtin(kube_buf *out, const canary_analysis *a, enum canary_query_kind kind,
                         enum canary_track_kind track, const canary_query_vars *vars, char *err, size_t err_size);

#endif
