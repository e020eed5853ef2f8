/* The metric analysis of a canary run: the file's parser and validator,
 * its normalized JSON, and the built-in queries it asks for. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/config.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "analysis.h"
#include "prometheus.h"

/* The longest interval or window: a day is far more than a pause needs. */
#define MAX_DURATION_MS    (24L * 3600 * 1000)
#define MAX_COUNT          1000
/* The most characters of a percentage's number ("0.125" of "0.125%"). */
#define PERCENT_DIGITS_MAX 30

void canary_analysis_init(canary_analysis *out)
{
	assert(out);
	memset(out, 0, sizeof(*out));
	out->interval_ms = CANARY_DEFAULT_INTERVAL_MS;
	out->window_ms = CANARY_DEFAULT_WINDOW_MS;
	out->template_kind = CANARY_TEMPLATE_DEFAULT;
	out->min_requests = CANARY_DEFAULT_MIN_REQUESTS;
	out->error_rate = 1;
	out->error_ratio = CANARY_DEFAULT_ERROR_RATIO;
	out->error_floor = CANARY_DEFAULT_ERROR_FLOOR;
}

/* --- reading ----------------------------------------------------------- */

struct reader {
	char *err;
	size_t err_size;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	if (r->err && r->err_size) {
		va_start(ap, fmt);
		(void)vsnprintf(r->err, r->err_size, fmt, ap);
		va_end(ap);
		/* one printable line, whatever bytes a key held */
		for (char *c = r->err; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
	}
	return -1;
}

/* The member key of object, NULL when absent or null. */
static const json_t *member(const json_t *object, const char *key)
{
	const json_t *value = json_object_get(object, key);
	return json_is_null(value) ? NULL : value;
}

/* Refuses a key of object that is not in known (NULL-ended). */
static int only_known(const json_t *object, const char *const *known, const char *path, struct reader *r)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)object, key, value)
	{
		size_t i;
		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (!known[i])
			return fail(r, "%s%s%.64s: unknown key", path, *path ? "." : "", key);
	}
	return 0;
}

/* A duration of at least min_ms: kubectl's format, or a whole number of
 * seconds (what YAML makes of "interval: 30"). */
static int read_duration(long *out, const json_t *object, const char *key, const char *path, long min_ms,
                         struct reader *r)
{
	const json_t *value = member(object, key);
	long ms;
	if (!value)
		return 0;
	if (json_is_integer(value) && json_integer_value(value) >= 0 &&
	    json_integer_value(value) <= MAX_DURATION_MS / 1000) {
		ms = (long)json_integer_value(value) * 1000;
	} else if (!json_is_string(value) || kube_duration_parse(&ms, json_string_value(value)) != 0) {
		return fail(r, "%s: not a duration such as 30s, 1m or 500ms", path);
	}
	if (ms < min_ms || ms > MAX_DURATION_MS) {
		char low[32];
		canary_duration_format(low, sizeof(low), min_ms);
		return fail(r, "%s: must be from %s to 24h", path, low);
	}
	*out = ms;
	return 0;
}

static int read_count(long long *out, const json_t *object, const char *key, const char *path, long long min,
                      long long max, struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	if (!json_is_integer(value))
		return fail(r, "%s: not a whole number", path);
	if (json_integer_value(value) < min || json_integer_value(value) > max)
		return fail(r, "%s: must be from %lld to %lld", path, min, max);
	*out = json_integer_value(value);
	return 0;
}

static int read_number(double *out, int *given, const json_t *object, const char *key, const char *path,
                       struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	if (!json_is_number(value) || !isfinite(json_number_value(value)))
		return fail(r, "%s: not a number", path);
	*out = json_number_value(value);
	if (given)
		*given = 1;
	return 0;
}

/* "1%", "0.5%" (an exponent allowed: "1e-05%"): a fraction from 0 to 1. */
static int read_percent(double *out, const json_t *object, const char *key, const char *path, struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	const char *text = json_string_value(value);
	size_t len = text ? strlen(text) : 0;
	char number[PERCENT_DIGITS_MAX + 2], *end;
	if (!text || len < 2 || len >= sizeof(number) || text[len - 1] != '%' || !strchr("0123456789.", text[0]) ||
	    strspn(text, "0123456789.eE+-") != len - 1)
		return fail(r, "%s: not a percentage such as 1%% or 0.5%%", path);
	memcpy(number, text, len - 1);
	number[len - 1] = '\0';
	double percent = strtod(number, &end);
	if (*end || end == number || percent < 0 || percent > 100)
		return fail(r, "%s: not a percentage from 0%% to 100%%", path);
	*out = percent / 100;
	return 0;
}

/* A query: a non-empty string that fits, its {{variables}} known. */
static int read_query(char *dst, const json_t *object, const char *key, const char *path, int builtin, struct reader *r)
{
	const json_t *value = member(object, key);
	char why[256];
	if (!value)
		return 0;
	if (!json_is_string(value) || json_string_length(value) == 0 ||
	    strlen(json_string_value(value)) != json_string_length(value))
		return fail(r, "%s: not a PromQL query (a string)", path);
	if (json_string_length(value) >= CANARY_QUERY_MAX)
		return fail(r, "%s: longer than %d bytes", path, CANARY_QUERY_MAX - 1);
	if (canary_query_check(json_string_value(value), builtin, why, sizeof(why)))
		return fail(r, "%s: %s", path, why);
	memcpy(dst, json_string_value(value), json_string_length(value) + 1);
	return 0;
}

static int read_error_rate(canary_analysis *a, const json_t *doc, struct reader *r)
{
	static const char *const known[] = {"ratio", "floor", NULL};
	const json_t *value = member(doc, "errorRate");
	if (!value)
		return 0;
	/* YAML 1.1 reads an unquoted off as false */
	if (json_is_false(value) || (json_is_string(value) && !strcmp(json_string_value(value), "off"))) {
		a->error_rate = 0;
		return 0;
	}
	if (json_is_true(value) || (json_is_string(value) && !strcmp(json_string_value(value), "on"))) {
		a->error_rate = 1;
		return 0;
	}
	if (!json_is_object(value))
		return fail(r, "errorRate: not {ratio: 2, floor: 1%%} or off");
	a->error_rate = 1;
	if (only_known(value, known, "errorRate", r) ||
	    read_number(&a->error_ratio, NULL, value, "ratio", "errorRate.ratio", r) ||
	    read_percent(&a->error_floor, value, "floor", "errorRate.floor", r))
		return -1;
	if (a->error_ratio < 0 || a->error_ratio > 1000)
		return fail(r, "errorRate.ratio: must be from 0 to 1000");
	return 0;
}

static int read_queries(canary_analysis *a, const json_t *doc, struct reader *r)
{
	static const char *const known[] = {"requests", "errors", "p99", NULL};
	const json_t *queries = member(doc, "queries");
	char path[32];
	if (!queries)
		return 0;
	if (!json_is_object(queries))
		return fail(r, "queries: not a mapping of requests, errors and p99");
	if (only_known(queries, known, "queries", r))
		return -1;
	for (int k = 0; k < CANARY_QUERY_KINDS; k++) {
		(void)snprintf(path, sizeof(path), "queries.%s", canary_query_kind_name((enum canary_query_kind)k));
		if (read_query(a->queries[k], queries, canary_query_kind_name((enum canary_query_kind)k), path, 1, r))
			return -1;
	}
	return 0;
}

/* A gate name: [a-z0-9-], starting and ending with a letter or digit. */
static int gate_name(const char *name)
{
	size_t len = strlen(name);
	if (len < 1 || len > 31 || name[0] == '-' || name[len - 1] == '-')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static int read_metric(canary_analysis *a, int i, const json_t *item, struct reader *r)
{
	static const char *const known[] = {"name", "query", "min", "max", "interval", "count", "failureLimit", NULL};
	canary_metric *m = &a->metrics[i];
	char path[64], field[96];
	long long count = 1, failure_limit = 0;
	(void)snprintf(path, sizeof(path), "metrics[%d]", i);
	if (!json_is_object(item))
		return fail(r, "%s: not a mapping (name, query, min, max, ...)", path);
	if (only_known(item, known, path, r))
		return -1;
	const json_t *name = member(item, "name");
	if (!name)
		return fail(r, "%s.name: missing", path);
	if (!json_is_string(name) || !gate_name(json_string_value(name)) ||
	    strlen(json_string_value(name)) != json_string_length(name))
		return fail(r, "%s.name: not a gate name (up to 31 of a-z, 0-9 and -)", path);
	if (!strcmp(json_string_value(name), "health") || !strcmp(json_string_value(name), "error-rate") ||
	    !strcmp(json_string_value(name), "latency-p99"))
		return fail(r, "%s.name: \"%s\" is a built-in gate's name", path, json_string_value(name));
	for (int j = 0; j < i; j++)
		if (!strcmp(a->metrics[j].name, json_string_value(name)))
			return fail(r, "%s.name: \"%s\" is also metrics[%d]'s name", path, json_string_value(name), j);
	memcpy(m->name, json_string_value(name), json_string_length(name) + 1);
	if (!member(item, "query"))
		return fail(r, "%s.query: missing", path);
	(void)snprintf(field, sizeof(field), "%s.query", path);
	if (read_query(m->query, item, "query", field, 0, r))
		return -1;
	(void)snprintf(field, sizeof(field), "%s.min", path);
	if (read_number(&m->min, &m->has_min, item, "min", field, r))
		return -1;
	(void)snprintf(field, sizeof(field), "%s.max", path);
	if (read_number(&m->max, &m->has_max, item, "max", field, r))
		return -1;
	if (!m->has_min && !m->has_max)
		return fail(r, "%s: give min, max or both (a measurement fails outside them)", path);
	if (m->has_min && m->has_max && m->min > m->max)
		return fail(r, "%s: min is above max", path);
	m->interval_ms = a->interval_ms;
	(void)snprintf(field, sizeof(field), "%s.interval", path);
	if (read_duration(&m->interval_ms, item, "interval", field, 1000, r))
		return -1;
	(void)snprintf(field, sizeof(field), "%s.count", path);
	if (read_count(&count, item, "count", field, 1, MAX_COUNT, r))
		return -1;
	(void)snprintf(field, sizeof(field), "%s.failureLimit", path);
	if (read_count(&failure_limit, item, "failureLimit", field, 0, MAX_COUNT, r))
		return -1;
	m->count = (int)count;
	m->failure_limit = (int)failure_limit;
	return 0;
}

static int read_metrics(canary_analysis *a, const json_t *doc, struct reader *r)
{
	const json_t *metrics = member(doc, "metrics"), *item;
	size_t i;
	if (!metrics)
		return 0;
	if (!json_is_array(metrics))
		return fail(r, "metrics: not a list");
	if (json_array_size(metrics) > CANARY_METRICS_MAX)
		return fail(r, "metrics: more than %d", CANARY_METRICS_MAX);
	json_array_foreach(metrics, i, item)
	{
		if (read_metric(a, (int)i, item, r))
			return -1;
		a->metric_count = (int)i + 1;
	}
	return 0;
}

static int read_analysis(canary_analysis *a, const json_t *doc, struct reader *r)
{
	static const char *const known[] = {"prometheus", "interval", "window",  "template", "minRequests",
	                                    "errorRate",  "maxP99",   "queries", "metrics",  NULL};
	const json_t *value;
	char why[256];
	if (!json_is_object(doc))
		return fail(r, "not a mapping of settings (prometheus, interval, errorRate, metrics, ...)");
	if (only_known(doc, known, "", r))
		return -1;
	if ((value = member(doc, "prometheus")) != NULL) {
		canary_prom_addr addr;
		if (!json_is_string(value) || json_string_length(value) >= sizeof(a->prometheus) ||
		    strlen(json_string_value(value)) != json_string_length(value))
			return fail(r, "prometheus: not an address (http://HOST:PORT or NAMESPACE/SERVICE:PORT)");
		if (canary_prom_addr_parse(&addr, json_string_value(value), why, sizeof(why)))
			return fail(r, "prometheus: %s", why);
		memcpy(a->prometheus, json_string_value(value), json_string_length(value) + 1);
	}
	/* the metrics' interval defaults to this one: read it first */
	if (read_duration(&a->interval_ms, doc, "interval", "interval", 1000, r) ||
	    read_duration(&a->window_ms, doc, "window", "window", 1000, r))
		return -1;
	if ((value = member(doc, "template")) != NULL) {
		const char *name = json_string_value(value);
		int t;
		for (t = CANARY_TEMPLATE_APP; name && t <= CANARY_TEMPLATE_NGINX; t++)
			if (!strcmp(name, canary_template_name((enum canary_template)t)))
				break;
		if (!name || t > CANARY_TEMPLATE_NGINX)
			return fail(r, "template: not app, istio or nginx");
		a->template_kind = (enum canary_template)t;
	}
	if (read_count(&a->min_requests, doc, "minRequests", "minRequests", 0, 1000000000000LL, r) ||
	    read_error_rate(a, doc, r))
		return -1;
	long max_p99 = 0;
	if (read_duration(&max_p99, doc, "maxP99", "maxP99", 1, r))
		return -1;
	a->max_p99_ms = max_p99;
	return read_queries(a, doc, r) || read_metrics(a, doc, r) ? -1 : 0;
}

int canary_analysis_from_json(canary_analysis *out, const json_t *doc, char *err, size_t err_size)
{
	struct reader r = {err, err_size};
	canary_analysis_init(out);
	if (read_analysis(out, doc, &r)) {
		canary_analysis_init(out); /* nothing half-read */
		return -1;
	}
	return 0;
}

int canary_analysis_parse(canary_analysis *out, const char *text, size_t len, char *err, size_t err_size)
{
	struct reader r = {err, err_size};
	json_t *doc = NULL;
	canary_analysis_init(out);
	int rc = kube_yaml_parse_one(&doc, text ? text : "", text ? len : 0);
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc) {
		fail(&r, "not YAML or JSON: %s", kube_error_last()->message);
		return -1;
	}
	rc = canary_analysis_from_json(out, doc, err, err_size);
	json_decref(doc);
	return rc;
}

int canary_analysis_gate_count(const canary_analysis *a)
{
	return (a->error_rate ? 1 : 0) + (a->max_p99_ms > 0 ? 1 : 0) + a->metric_count;
}

int canary_analysis_finish(canary_analysis *a, const char *router, char *err, size_t err_size)
{
	struct reader r = {err, err_size};
	if (a->template_kind == CANARY_TEMPLATE_DEFAULT) {
		if (router && !strcmp(router, "istio"))
			a->template_kind = CANARY_TEMPLATE_ISTIO;
		else if (router && !strcmp(router, "nginx"))
			a->template_kind = CANARY_TEMPLATE_NGINX;
		else
			a->template_kind = CANARY_TEMPLATE_APP;
	}
	if (!a->prometheus[0])
		return fail(&r, "prometheus: missing (give it in the file or with --prometheus)");
	int gates = canary_analysis_gate_count(a);
	if (gates == 0)
		return fail(&r, "nothing to measure: errorRate is off, no maxP99 and no metrics");
	if (gates + 1 > CANARY_MAX_GATES)
		return fail(&r,
		            "metrics: at most %d with these settings (a run keeps %d gates: health, error-rate, "
		            "latency-p99 and the metrics)",
		            CANARY_MAX_GATES - 1 - (gates - a->metric_count), CANARY_MAX_GATES);
	return 0;
}

/* --- writing ----------------------------------------------------------- */

/* A whole number as an integer, anything else as a real. */
static json_t *number_json(double value)
{
	if (fabs(value) < 1e15 && value == (double)(long long)value) /* no libm */
		return json_integer((json_int_t)value);
	return json_real(value);
}

static int put_duration(json_t *object, const char *key, long ms)
{
	char text[32];
	canary_duration_format(text, sizeof(text), ms);
	return json_object_set_new(object, key, json_string(text));
}

static json_t *metric_json(const canary_metric *m)
{
	json_t *object = json_pack("{s:s, s:s}", "name", m->name, "query", m->query);
	if (!object || (m->has_min && json_object_set_new(object, "min", number_json(m->min))) ||
	    (m->has_max && json_object_set_new(object, "max", number_json(m->max))) ||
	    put_duration(object, "interval", m->interval_ms) ||
	    json_object_set_new(object, "count", json_integer(m->count)) ||
	    json_object_set_new(object, "failureLimit", json_integer(m->failure_limit))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

/* A fraction as the percentage read_percent reads back to the same
 * fraction, in fixed notation with no more decimals than that needs:
 * "1%", "0.125%", "0.00001%" (never "1e-05%"). A fraction no such text
 * gives back (none a file spells) is written as closely as fits. */
static void format_percent_exact(char *buf, size_t size, double fraction)
{
	char text[64];
	for (int decimals = 0;; decimals++) {
		(void)snprintf(text, sizeof(text), "%.*f", decimals, fraction * 100);
		if (strtod(text, NULL) / 100 == fraction)
			break;
		if (strlen(text) >= PERCENT_DIGITS_MAX) { /* the closest there is: trailing zeros cut */
			size_t len = strlen(text);
			while (len > 1 && text[len - 1] == '0' && strchr(text, '.'))
				text[--len] = '\0';
			if (len > 1 && text[len - 1] == '.')
				text[--len] = '\0';
			break;
		}
	}
	(void)snprintf(buf, size, "%s%%", text);
}

static json_t *error_rate_json(const canary_analysis *a)
{
	char floor_text[40];
	if (!a->error_rate)
		return json_string("off");
	format_percent_exact(floor_text, sizeof(floor_text), a->error_floor);
	json_t *object = json_object();
	if (!object || json_object_set_new(object, "ratio", number_json(a->error_ratio)) ||
	    json_object_set_new(object, "floor", json_string(floor_text))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

json_t *canary_analysis_to_json(const canary_analysis *a)
{
	json_t *root = json_object(), *queries = NULL, *metrics = NULL;
	if (!root)
		return NULL;
	if ((a->prometheus[0] && json_object_set_new(root, "prometheus", json_string(a->prometheus))) ||
	    put_duration(root, "interval", a->interval_ms) || put_duration(root, "window", a->window_ms) ||
	    (a->template_kind != CANARY_TEMPLATE_DEFAULT &&
	     json_object_set_new(root, "template", json_string(canary_template_name(a->template_kind)))) ||
	    json_object_set_new(root, "minRequests", json_integer(a->min_requests)) ||
	    json_object_set_new(root, "errorRate", error_rate_json(a)) ||
	    (a->max_p99_ms > 0 && put_duration(root, "maxP99", a->max_p99_ms)))
		goto fail;
	for (int k = 0; k < CANARY_QUERY_KINDS; k++) {
		if (!a->queries[k][0])
			continue;
		if ((!queries && (!(queries = json_object()) || json_object_set_new(root, "queries", queries))) ||
		    json_object_set_new(queries, canary_query_kind_name((enum canary_query_kind)k),
		                        json_string(a->queries[k])))
			goto fail;
	}
	if (a->metric_count > 0 && (!(metrics = json_array()) || json_object_set_new(root, "metrics", metrics)))
		goto fail;
	for (int i = 0; i < a->metric_count; i++)
		if (json_array_append_new(metrics, metric_json(&a->metrics[i])))
			goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}

int canary_analysis_format(kube_buf *out, const canary_analysis *a)
{
	json_t *json = canary_analysis_to_json(a);
	char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
	json_decref(json);
	if (!text)
		return KUBE_ENOMEM;
	int rc = kube_buf_puts(out, text);
	free(text);
	return rc;
}

int canary_query_builtin(kube_buf *out, const canary_analysis *a, enum canary_query_kind kind,
                         enum canary_track_kind track, const canary_query_vars *vars, char *err, size_t err_size)
{
	kube_buf selector = KUBE_BUF_INIT;
	enum canary_template t = a->template_kind == CANARY_TEMPLATE_DEFAULT ? CANARY_TEMPLATE_APP : a->template_kind;
	assert((int)kind >= 0 && kind < CANARY_QUERY_KINDS);
	int rc = canary_query_selector(&selector, t, track, vars, err, err_size);
	if (!rc)
		rc = canary_query_expand(out, a->queries[kind][0] ? a->queries[kind] : canary_template_query(t, kind),
		                         vars, kube_buf_cstr(&selector), err, err_size);
	kube_buf_dispose(&selector);
	return rc;
}
