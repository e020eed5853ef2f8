/* The queries of the metric gates: the templates per router, each
 * track's label matchers, and {{variable}} expansion. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kube/error.h>

#include "query.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const template_names[] = {
        [CANARY_TEMPLATE_DEFAULT] = "",
        [CANARY_TEMPLATE_APP] = "app",
        [CANARY_TEMPLATE_ISTIO] = "istio",
        [CANARY_TEMPLATE_NGINX] = "nginx",
};

static const char *const query_kind_names[] = {
        [CANARY_QUERY_REQUESTS] = "requests",
        [CANARY_QUERY_ERRORS] = "errors",
        [CANARY_QUERY_P99] = "p99",
};

/* The built-in queries per template; {{{selector}}} is a brace, then the
 * track's matchers. */
static const char *const template_queries[][CANARY_QUERY_KINDS] = {
        [CANARY_TEMPLATE_APP] =
                {
                        "sum(increase(http_requests_total{{{selector}}}[{{window}}]))",
                        "sum(increase(http_requests_total{{{selector}},code=~\"5..\"}[{{window}}]))",
                        "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{{{selector}}}"
                        "[{{window}}])) by (le))",
                },
        [CANARY_TEMPLATE_ISTIO] =
                {
                        "sum(increase(istio_requests_total{{{selector}}}[{{window}}]))",
                        "sum(increase(istio_requests_total{{{selector}},response_code=~\"5..\"}[{{window}}]))",
                        "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{{{selector}}}"
                        "[{{window}}])) by (le)) / 1000",
                },
        [CANARY_TEMPLATE_NGINX] =
                {
                        "sum(increase(nginx_ingress_controller_requests{{{selector}}}[{{window}}]))",
                        "sum(increase(nginx_ingress_controller_requests{{{selector}},status=~\"5..\"}[{{window}}]))",
                        "histogram_quantile(0.99, sum(rate(nginx_ingress_controller_request_duration_seconds_bucket"
                        "{{{selector}}}[{{window}}])) by (le))",
                },
};

const char *canary_template_name(enum canary_template template_kind)
{
	return (size_t)template_kind < ARRAY_SIZE(template_names) ? template_names[template_kind] : "";
}

const char *canary_query_kind_name(enum canary_query_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(query_kind_names) ? query_kind_names[kind] : "";
}

const char *canary_template_query(enum canary_template template_kind, enum canary_query_kind kind)
{
	if (template_kind == CANARY_TEMPLATE_DEFAULT)
		template_kind = CANARY_TEMPLATE_APP;
	assert((size_t)template_kind < ARRAY_SIZE(template_queries) && (int)kind >= 0 && kind < CANARY_QUERY_KINDS);
	return template_queries[template_kind][kind];
}

void canary_duration_format(char *buf, size_t size, long ms)
{
	if (ms > 0 && ms % 3600000 == 0)
		(void)snprintf(buf, size, "%ldh", ms / 3600000);
	else if (ms > 0 && ms % 60000 == 0)
		(void)snprintf(buf, size, "%ldm", ms / 60000);
	else if (ms % 1000 == 0)
		(void)snprintf(buf, size, "%lds", ms / 1000);
	else
		(void)snprintf(buf, size, "%ldms", ms);
}

/* --- variables --------------------------------------------------------- */

enum variable {
	VAR_NAMESPACE,
	VAR_DEPLOYMENT,
	VAR_CANARY,
	VAR_REVISION,
	VAR_SERVICE,
	VAR_CANARY_SERVICE,
	VAR_ROUTE,
	VAR_WINDOW,
	VAR_SELECTOR,
	VAR_COUNT,
};

static const char *const variable_names[VAR_COUNT] = {
        [VAR_NAMESPACE] = "namespace", [VAR_DEPLOYMENT] = "deployment", [VAR_CANARY] = "canary",
        [VAR_REVISION] = "revision",   [VAR_SERVICE] = "service",       [VAR_CANARY_SERVICE] = "canaryService",
        [VAR_ROUTE] = "route",         [VAR_WINDOW] = "window",         [VAR_SELECTOR] = "selector",
};

static int set_err(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (err && err_size) {
		va_start(ap, fmt);
		(void)vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
		/* one printable line, whatever bytes a query held */
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
	}
	return -1;
}

/* Appends the value of variable v for vars, or fails saying why it has
 * none. */
static int put_variable(kube_buf *out, enum variable v, const canary_query_vars *vars, const char *selector, char *err,
                        size_t err_size)
{
	const char *value = NULL;
	char window[32];
	switch (v) {
	case VAR_NAMESPACE:
		value = vars->ns;
		break;
	case VAR_DEPLOYMENT:
		value = vars->deployment;
		break;
	case VAR_CANARY:
		value = vars->canary;
		break;
	case VAR_REVISION:
		value = vars->revision;
		break;
	case VAR_SERVICE:
	case VAR_CANARY_SERVICE:
		value = vars->service;
		break;
	case VAR_ROUTE:
		value = vars->route;
		break;
	case VAR_WINDOW:
		canary_duration_format(window, sizeof(window), vars->window_ms);
		value = vars->window_ms > 0 ? window : NULL;
		break;
	case VAR_SELECTOR:
		value = selector;
		break;
	case VAR_COUNT:
		break;
	}
	if (!value || !*value) {
		if (v == VAR_SERVICE || v == VAR_CANARY_SERVICE || v == VAR_ROUTE)
			return set_err(err, err_size, "{{%s}} is empty: the run's router (%s) routes through no %s",
			               variable_names[v], vars->router && *vars->router ? vars->router : "replicas",
			               v == VAR_ROUTE ? "routing object" : "Service");
		return set_err(err, err_size, "{{%s}} is empty in this run", variable_names[v]);
	}
	int rc = kube_buf_puts(out, value);
	if (!rc && v == VAR_CANARY_SERVICE)
		rc = kube_buf_puts(out, "-canary");
	return rc ? KUBE_ENOMEM : 0;
}

/* Walks query, checking its variables (builtin: {{selector}} allowed) and,
 * with out, appending it expanded. */
static int scan(kube_buf *out, const char *query, int builtin, const canary_query_vars *vars, const char *selector,
                char *err, size_t err_size)
{
	const char *p = query;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open)
			return out && kube_buf_puts(out, p) ? KUBE_ENOMEM : 0;
		if (open[2] == '{') {
			/* "{{{": the first brace is PromQL's */
			if (out && kube_buf_put(out, p, (size_t)(open + 1 - p)))
				return KUBE_ENOMEM;
			p = open + 1;
			continue;
		}
		if (out && kube_buf_put(out, p, (size_t)(open - p)))
			return KUBE_ENOMEM;
		const char *name = open + 2;
		name += strspn(name, " ");
		size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		const char *close = name + len;
		close += strspn(close, " ");
		if (!len || strncmp(close, "}}", 2) != 0)
			return set_err(err, err_size, "\"{{\" at byte %ld does not open a {{variable}}",
			               (long)(open - query) + 1);
		enum variable v;
		for (v = 0; v < VAR_COUNT; v++)
			if (strlen(variable_names[v]) == len && !strncmp(name, variable_names[v], len))
				break;
		if (v == VAR_COUNT)
			return set_err(err, err_size, "unknown variable {{%.*s}}", len > 40 ? 40 : (int)len, name);
		if (v == VAR_SELECTOR && !builtin)
			return set_err(err, err_size, "{{selector}} is for the queries: overrides only");
		if (out) {
			int rc = put_variable(out, v, vars, selector, err, err_size);
			if (rc)
				return rc;
		}
		p = close + 2;
	}
	return 0;
}

int canary_query_check(const char *query, int builtin, char *err, size_t err_size)
{
	return scan(NULL, query, builtin, NULL, NULL, err, err_size);
}

int canary_query_expand(kube_buf *out, const char *query, const canary_query_vars *vars, const char *selector,
                        char *err, size_t err_size)
{
	size_t before = out->len;
	int rc = scan(out, query, selector != NULL, vars, selector, err, err_size);
	if (rc && out->ptr) {
		out->len = before;
		out->ptr[before] = '\0';
	}
	return rc;
}

/* The characters Kubernetes makes names of (k8s.io/apimachinery's
 * rand.String and SafeEncodeString: no vowels, no 0, 1 or 3): a
 * ReplicaSet's pod-template-hash (up to 10 of them) and the 5 a pod's
 * generateName adds. D's own pods are D-HASH-SUFFIX; a pod of another
 * workload whose name starts with "D-" (D-agent-x7k2p, D-db-0) is not. */
#define NAME_CHARS "[bcdfghjklmnpqrstvwxz2456789]"

/* Appends text as the inside of a PromQL double-quoted string; with regex,
 * escaped for a regular expression as well (a Deployment's name may hold
 * dots). */
static int put_label_value(kube_buf *out, const char *text, int regex)
{
	for (const char *c = text; *c; c++) {
		int rc;
		if (regex && strchr(".+*?()[]{}|^$", *c))
			rc = kube_buf_printf(out, "\\\\%c", *c);
		else if (*c == '"' || *c == '\\')
			rc = kube_buf_printf(out, "\\%c", *c);
		else
			rc = kube_buf_put(out, c, 1);
		if (rc)
			return KUBE_ENOMEM;
	}
	return 0;
}

static int put_matcher(kube_buf *out, const char *label, const char *op, const char *value, const char *suffix,
                       int regex)
{
	if (kube_buf_printf(out, "%s%s%s\"", out->len ? "," : "", label, op) || put_label_value(out, value, regex) ||
	    kube_buf_printf(out, "%s\"", suffix))
		return KUBE_ENOMEM;
	return 0;
}

int canary_query_selector(kube_buf *out, enum canary_template template_kind, enum canary_track_kind track,
                          const canary_query_vars *vars, char *err, size_t err_size)
{
	kube_buf sel = KUBE_BUF_INIT;
	int canary = track == CANARY_TRACK_CANARY, rc = 0;
	const char *workload;
	char service[300];
	switch (template_kind) {
	case CANARY_TEMPLATE_DEFAULT:
	case CANARY_TEMPLATE_APP:
		rc = put_matcher(&sel, "namespace", "=", vars->ns ? vars->ns : "", "", 0);
		if (!rc && canary)
			rc = put_matcher(&sel, "rollguard_io_track", "=",
			                 vars->track && *vars->track ? vars->track : "canary", "", 0) ||
			     put_matcher(&sel, "rollguard_io_revision", "=", vars->revision ? vars->revision : "", "",
			                 0);
		else if (!rc)
			rc = put_matcher(&sel, "pod", "=~", vars->deployment ? vars->deployment : "",
			                 "-" NAME_CHARS "{1,10}-" NAME_CHARS "{5}", 1) ||
			     put_matcher(&sel, "rollguard_io_track", "=", "", "", 0);
		break;
	case CANARY_TEMPLATE_ISTIO:
		workload = canary ? vars->canary : vars->deployment;
		rc = put_matcher(&sel, "reporter", "=", "destination", "", 0) ||
		     put_matcher(&sel, "destination_workload_namespace", "=", vars->ns ? vars->ns : "", "", 0) ||
		     put_matcher(&sel, "destination_workload", "=", workload ? workload : "", "", 0);
		break;
	case CANARY_TEMPLATE_NGINX:
		if (!vars->service || !*vars->service) {
			rc = set_err(err, err_size,
			             "the nginx template measures the run's Service, and router %s routes through none "
			             "(--router nginx)",
			             vars->router && *vars->router ? vars->router : "replicas");
			break;
		}
		(void)snprintf(service, sizeof(service), "%s%s", vars->service, canary ? "-canary" : "");
		rc = put_matcher(&sel, "namespace", "=", vars->ns ? vars->ns : "", "", 0) ||
		     put_matcher(&sel, "service", "=", service, "", 0);
		break;
	}
	if (rc == -1) {
		kube_buf_dispose(&sel);
		return -1;
	}
	if (rc || kube_buf_put(out, kube_buf_cstr(&sel), sel.len)) {
		kube_buf_dispose(&sel);
		return KUBE_ENOMEM;
	}
	kube_buf_dispose(&sel);
	return 0;
}
