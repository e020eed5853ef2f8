/* Tests of plugins/canary/analysis.c: the analysis file's parser and
 * validator, its normalized JSON (the annotation), the router's default
 * template, the query templates and {{variable}} expansion, table-driven. */
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/buf.h>

#include "analysis.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The stable track's pods of Deployment d (a regular expression): the
 * alphabet of Kubernetes's generated names, hash then suffix. */
#define NAME_CHARS    "[bcdfghjklmnpqrstvwxz2456789]"
#define STABLE_POD(d) d "-" NAME_CHARS "{1,10}-" NAME_CHARS "{5}"

static canary_analysis *new_analysis(void)
{
	canary_analysis *a = malloc(sizeof(*a));
	assert_non_null(a);
	return a;
}

static void assert_one_line(const char *text)
{
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			fail_msg("byte 0x%02x in \"%s\"", (unsigned char)*c, text);
	}
}

static canary_analysis *parse_ok(const char *text)
{
	canary_analysis *a = new_analysis();
	char err[512] = "";
	if (canary_analysis_parse(a, text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("\"%s\": %s", text, err);
	return a;
}

/* The contract's example (issue 7 design, §2), as a user writes it. */
static const char contract_example[] =
        "prometheus: monitoring/prometheus:9090   # or http://10.0.0.5:9090\n"
        "interval: 30s          # between measurements (default 30s)\n"
        "window: 1m             # {{window}}, the range of the built-in queries (default 1m)\n"
        "template: app          # app | istio | nginx\n"
        "minRequests: 100\n"
        "errorRate: {ratio: 2, floor: 1%}\n"
        "maxP99: 500ms\n"
        "queries:\n"
        "  requests: 'sum(increase(http_requests_total{ {{selector}} }[{{window}}]))'\n"
        "  errors:   'sum(increase(http_requests_total{ {{selector}},code=~\"5..\" }[{{window}}]))'\n"
        "  p99:      'histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{ {{selector}} "
        "}[{{window}}])) by (le))'\n"
        "metrics:\n"
        "- name: cpu\n"
        "  query: 'sum(rate(container_cpu_usage_seconds_total{namespace=\"{{namespace}}\",pod=~\"{{canary}}-.*\"}"
        "[1m]))'\n"
        "  max: 0.5\n"
        "  interval: 30s\n"
        "  count: 1\n"
        "  failureLimit: 0\n";

static void test_canary_analysis__parses_the_contract_example(void **state)
{
	(void)state;
	canary_analysis *a = parse_ok(contract_example);
	assert_string_equal(a->prometheus, "monitoring/prometheus:9090");
	assert_int_equal(a->interval_ms, 30000);
	assert_int_equal(a->window_ms, 60000);
	assert_int_equal(a->template_kind, CANARY_TEMPLATE_APP);
	assert_int_equal(a->min_requests, 100);
	assert_int_equal(a->error_rate, 1);
	assert_true(a->error_ratio == 2.0);
	assert_true(fabs(a->error_floor - 0.01) < 1e-12);
	assert_int_equal(a->max_p99_ms, 500);
	assert_string_equal(a->queries[CANARY_QUERY_REQUESTS],
	                    "sum(increase(http_requests_total{ {{selector}} }[{{window}}]))");
	assert_non_null(strstr(a->queries[CANARY_QUERY_ERRORS], "code=~\"5..\""));
	assert_non_null(strstr(a->queries[CANARY_QUERY_P99], "histogram_quantile(0.99"));
	assert_int_equal(a->metric_count, 1);
	assert_string_equal(a->metrics[0].name, "cpu");
	assert_non_null(strstr(a->metrics[0].query, "pod=~\"{{canary}}-.*\""));
	assert_int_equal(a->metrics[0].has_max, 1);
	assert_int_equal(a->metrics[0].has_min, 0);
	assert_true(a->metrics[0].max == 0.5);
	assert_int_equal(a->metrics[0].interval_ms, 30000);
	assert_int_equal(a->metrics[0].count, 1);
	assert_int_equal(a->metrics[0].failure_limit, 0);
	free(a);
}

static void test_canary_analysis__defaults(void **state)
{
	(void)state;
	canary_analysis *a = parse_ok("prometheus: http://10.0.0.5:9090\n");
	assert_int_equal(a->interval_ms, CANARY_DEFAULT_INTERVAL_MS);
	assert_int_equal(a->window_ms, CANARY_DEFAULT_WINDOW_MS);
	assert_int_equal(a->template_kind, CANARY_TEMPLATE_DEFAULT);
	assert_int_equal(a->min_requests, CANARY_DEFAULT_MIN_REQUESTS);
	assert_int_equal(a->error_rate, 1);
	assert_true(a->error_ratio == CANARY_DEFAULT_ERROR_RATIO);
	assert_true(a->error_floor == CANARY_DEFAULT_ERROR_FLOOR);
	assert_int_equal(a->max_p99_ms, 0);
	assert_int_equal(a->metric_count, 0);
	for (int k = 0; k < CANARY_QUERY_KINDS; k++)
		assert_string_equal(a->queries[k], "");
	free(a);
	/* an empty file is all defaults (the address may come from a flag) */
	a = parse_ok("");
	assert_string_equal(a->prometheus, "");
	assert_int_equal(a->error_rate, 1);
	free(a);
}

static const struct {
	const char *text;
	long interval_ms, window_ms, max_p99_ms;
	long long min_requests;
	double ratio, floor;
	int error_rate;
	enum canary_template template_kind;
} valid_files[] = {
        /* JSON is YAML */
        {"{\"interval\": \"10s\", \"window\": \"2m\", \"minRequests\": 5, \"errorRate\": {\"ratio\": 1.5, \"floor\": "
         "\"0.5%\"}, \"maxP99\": \"1s\", \"template\": \"istio\"}",
         10000, 120000, 1000, 5, 1.5, 0.005, 1, CANARY_TEMPLATE_ISTIO},
        /* YAML 1.1 reads an unquoted off as false */
        {"errorRate: off\nmaxP99: 250ms\n", 30000, 60000, 250, 100, 2, 0.01, 0, CANARY_TEMPLATE_DEFAULT},
        {"errorRate: \"off\"\nmaxP99: 1.5s\n", 30000, 60000, 1500, 100, 2, 0.01, 0, CANARY_TEMPLATE_DEFAULT},
        /* a bare number is seconds, as kubectl reads durations */
        {"interval: 15\nwindow: 90\n", 15000, 90000, 0, 100, 2, 0.01, 1, CANARY_TEMPLATE_DEFAULT},
        {"interval: 1m30s\nwindow: \"5m\"\n", 90000, 300000, 0, 100, 2, 0.01, 1, CANARY_TEMPLATE_DEFAULT},
        /* null is "not given" */
        {"interval: ~\nwindow:\nmaxP99: null\n", 30000, 60000, 0, 100, 2, 0.01, 1, CANARY_TEMPLATE_DEFAULT},
        {"minRequests: 0\nerrorRate: {floor: 0%}\n", 30000, 60000, 0, 0, 2, 0, 1, CANARY_TEMPLATE_DEFAULT},
        {"errorRate: {ratio: 3}\ntemplate: nginx\n", 30000, 60000, 0, 100, 3, 0.01, 1, CANARY_TEMPLATE_NGINX},
        {"errorRate: {floor: 100%}\n", 30000, 60000, 0, 100, 2, 1, 1, CANARY_TEMPLATE_DEFAULT},
        {"errorRate: true\n", 30000, 60000, 0, 100, 2, 0.01, 1, CANARY_TEMPLATE_DEFAULT},
};

static void test_canary_analysis__parses_valid_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid_files); i++) {
		canary_analysis *a = parse_ok(valid_files[i].text);
		if (a->interval_ms != valid_files[i].interval_ms || a->window_ms != valid_files[i].window_ms ||
		    a->max_p99_ms != valid_files[i].max_p99_ms || a->min_requests != valid_files[i].min_requests ||
		    a->error_rate != valid_files[i].error_rate || fabs(a->error_ratio - valid_files[i].ratio) > 1e-12 ||
		    fabs(a->error_floor - valid_files[i].floor) > 1e-12 ||
		    a->template_kind != valid_files[i].template_kind)
			fail_msg("case %zu: interval %ld window %ld maxP99 %ld minRequests %lld errorRate %d ratio %g "
			         "floor %g template %d",
			         i, a->interval_ms, a->window_ms, a->max_p99_ms, a->min_requests, a->error_rate,
			         a->error_ratio, a->error_floor, a->template_kind);
		free(a);
	}
}

static void test_canary_analysis__parses_custom_metrics(void **state)
{
	(void)state;
	canary_analysis *a =
	        parse_ok("interval: 20s\n"
	                 "metrics:\n"
	                 "- {name: latency-avg, query: 'avg(x{ns=\"{{ namespace }}\"})', min: 0.1, max: 2}\n"
	                 "- name: queue\n"
	                 "  query: sum(queue_depth)\n"
	                 "  min: -5\n"
	                 "  interval: 1m\n"
	                 "  count: 3\n"
	                 "  failureLimit: 2\n");
	assert_int_equal(a->metric_count, 2);
	assert_string_equal(a->metrics[0].name, "latency-avg");
	assert_true(a->metrics[0].has_min && a->metrics[0].has_max);
	assert_true(a->metrics[0].min == 0.1 && a->metrics[0].max == 2);
	assert_int_equal(a->metrics[0].interval_ms, 20000); /* the file's interval */
	assert_int_equal(a->metrics[0].count, 1);
	assert_int_equal(a->metrics[0].failure_limit, 0);
	assert_string_equal(a->metrics[1].name, "queue");
	assert_true(a->metrics[1].has_min && !a->metrics[1].has_max);
	assert_true(a->metrics[1].min == -5);
	assert_int_equal(a->metrics[1].interval_ms, 60000);
	assert_int_equal(a->metrics[1].count, 3);
	assert_int_equal(a->metrics[1].failure_limit, 2);
	free(a);
}

static const struct {
	const char *text, *needle;
} invalid_files[] = {
        {"threshold: 5\n", "threshold: unknown key"},
        {"interval: 2s\nwindow: 10s\nthreshold: 5\n", "threshold: unknown key"},
        {"errorRate: {ratio: 2, flor: 1%}\n", "errorRate.flor: unknown key"},
        {"queries: {request: x}\n", "queries.request: unknown key"},
        {"metrics:\n- {name: a, query: x, max: 1, maxx: 2}\n", "metrics[0].maxx: unknown key"},
        {"- a\n- b\n", "not a mapping of settings"},
        {"just text\n", "not a mapping of settings"},
        {"interval: [\n", "not YAML or JSON: "},
        {"a: 1\n---\nb: 2\n", "not YAML or JSON: "},
        {"interval: 2x\n", "interval: not a duration such as 30s, 1m or 500ms"},
        {"interval: -5s\n", "interval: not a duration"},
        {"interval: 500ms\n", "interval: must be from 1s to 24h"},
        {"interval: 25h\n", "interval: must be from 1s to 24h"},
        {"interval: 0\n", "interval: must be from 1s to 24h"},
        {"interval: true\n", "interval: not a duration"},
        {"window: 0.5s\n", "window: must be from 1s to 24h"},
        {"maxP99: fast\n", "maxP99: not a duration"},
        {"maxP99: 0\n", "maxP99: must be from 1ms to 24h"},
        {"template: envoy\n", "template: not app, istio or nginx"},
        {"template: 1\n", "template: not app, istio or nginx"},
        {"minRequests: many\n", "minRequests: not a whole number"},
        {"minRequests: -1\n", "minRequests: must be from 0 to"},
        {"minRequests: 1.5\n", "minRequests: not a whole number"},
        {"errorRate: {floor: 1}\n", "errorRate.floor: not a percentage such as 1% or 0.5%"},
        {"errorRate: {floor: '1'}\n", "errorRate.floor: not a percentage"},
        {"errorRate: {floor: 1.5.5%}\n", "errorRate.floor: not a percentage from 0% to 100%"},
        {"errorRate: {floor: 101%}\n", "errorRate.floor: not a percentage from 0% to 100%"},
        {"errorRate: {floor: -1%}\n", "errorRate.floor: not a percentage such as"},
        {"errorRate: {ratio: two}\n", "errorRate.ratio: not a number"},
        {"errorRate: {ratio: -1}\n", "errorRate.ratio: must be from 0 to 1000"},
        {"errorRate: maybe\n", "errorRate: not {ratio: 2, floor: 1%} or off"},
        {"errorRate: 5\n", "errorRate: not {ratio: 2, floor: 1%} or off"},
        {"prometheus: 5\n", "prometheus: not an address"},
        {"prometheus: prometheus\n", "prometheus: \"prometheus\": neither a URL"},
        {"prometheus: ftp://x\n", "prometheus: \"ftp://x\": only http:// and https:// URLs"},
        {"prometheus: http://\n", "prometheus: \"http://\": no host"},
        {"prometheus: 'http://x:9090/api?x=1'\n", "give the base URL, without a query or fragment"},
        {"prometheus: Monitoring/prometheus\n", "the namespace \"Monitoring\" is not a DNS label"},
        {"prometheus: monitoring/prom_etheus\n", "the Service name is not a DNS label"},
        {"prometheus: monitoring/prometheus:99999\n", "the port is neither a number 1-65535 nor a port name"},
        {"prometheus: 'monitoring/prometheus:'\n", "the port is neither"},
        {"queries: x\n", "queries: not a mapping of requests, errors and p99"},
        {"queries: {requests: ''}\n", "queries.requests: not a PromQL query (a string)"},
        {"queries: {requests: 5}\n", "queries.requests: not a PromQL query"},
        {"queries: {p99: 'x{ {{selectr}} }'}\n", "queries.p99: unknown variable {{selectr}}"},
        {"queries: {errors: 'x{ {{selector }'}\n", "queries.errors: \"{{\" at byte 4 does not open a {{variable}}"},
        {"metrics: x\n", "metrics: not a list"},
        {"metrics: [5]\n", "metrics[0]: not a mapping"},
        {"metrics:\n- {query: x, max: 1}\n", "metrics[0].name: missing"},
        {"metrics:\n- {name: CPU, query: x, max: 1}\n", "metrics[0].name: not a gate name"},
        {"metrics:\n- {name: -cpu, query: x, max: 1}\n", "metrics[0].name: not a gate name"},
        {"metrics:\n- {name: abcdefghijabcdefghijabcdefghijab, query: x, max: 1}\n",
         "metrics[0].name: not a gate name"},
        {"metrics:\n- {name: health, query: x, max: 1}\n", "metrics[0].name: \"health\" is a built-in gate's name"},
        {"metrics:\n- {name: error-rate, query: x, max: 1}\n", "is a built-in gate's name"},
        {"metrics:\n- {name: a, query: x, max: 1}\n- {name: a, query: y, max: 1}\n",
         "metrics[1].name: \"a\" is also metrics[0]'s name"},
        {"metrics:\n- {name: cpu, max: 0.5}\n", "metrics[0].query: missing"},
        {"metrics:\n- {name: cpu, query: ~, max: 0.5}\n", "metrics[0].query: missing"},
        {"metrics:\n- {name: cpu, query: 'x{a=\"{{selector}}\"}', max: 0.5}\n",
         "metrics[0].query: {{selector}} is for the queries: overrides only"},
        {"metrics:\n- {name: cpu, query: '{{podname}}', max: 0.5}\n", "metrics[0].query: unknown variable {{podname}}"},
        {"metrics:\n- {name: cpu, query: x}\n", "metrics[0]: give min, max or both"},
        {"metrics:\n- {name: cpu, query: x, min: 2, max: 1}\n", "metrics[0]: min is above max"},
        {"metrics:\n- {name: cpu, query: x, max: '0.5'}\n", "metrics[0].max: not a number"},
        {"metrics:\n- {name: cpu, query: x, max: .inf}\n", ".inf cannot be represented in JSON"},
        {"metrics:\n- {name: cpu, query: x, max: true}\n", "metrics[0].max: not a number"},
        {"metrics:\n- {name: cpu, query: x, max: 1, count: 0}\n", "metrics[0].count: must be from 1 to 1000"},
        {"metrics:\n- {name: cpu, query: x, max: 1, failureLimit: -1}\n",
         "metrics[0].failureLimit: must be from 0 to 1000"},
        {"metrics:\n- {name: cpu, query: x, max: 1, interval: 0s}\n", "metrics[0].interval: must be from 1s"},
        {"metrics: [{name: a, query: x, max: 1}, {name: b, query: x, max: 1}, {name: c, query: x, max: 1}, "
         "{name: d, query: x, max: 1}, {name: e, query: x, max: 1}, {name: f, query: x, max: 1}, "
         "{name: g, query: x, max: 1}, {name: h, query: x, max: 1}]\n",
         "metrics: more than 7"},
};

static void test_canary_analysis__rejects_bad_files(void **state)
{
	(void)state;
	canary_analysis *a = new_analysis();
	for (size_t i = 0; i < ARRAY_SIZE(invalid_files); i++) {
		char err[512] = "";
		int rc = canary_analysis_parse(a, invalid_files[i].text, strlen(invalid_files[i].text), err,
		                               sizeof(err));
		if (rc != -1)
			fail_msg("case %zu (%s): rc %d, want -1", i, invalid_files[i].text, rc);
		if (!strstr(err, invalid_files[i].needle))
			fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i, invalid_files[i].text, err,
			         invalid_files[i].needle);
		assert_one_line(err);
		/* nothing half-read */
		assert_int_equal(a->metric_count, 0);
		assert_string_equal(a->prometheus, "");
	}
	/* a key of bytes that are not ASCII is named on one printable line */
	char err[512] = "";
	const char weird[] = "\"k\xc3\xa9y\\n\": 1\n";
	assert_int_equal(canary_analysis_parse(a, weird, strlen(weird), err, sizeof(err)), -1);
	assert_one_line(err);
	assert_non_null(strstr(err, "unknown key"));
	/* no room for a reason at all */
	assert_int_equal(canary_analysis_parse(a, "x: 1", 4, NULL, 0), -1);
	free(a);
}

static void test_canary_analysis__rejects_long_queries(void **state)
{
	(void)state;
	canary_analysis *a = new_analysis();
	kube_buf text = KUBE_BUF_INIT;
	char err[512] = "";
	assert_int_equal(kube_buf_puts(&text, "metrics:\n- name: big\n  max: 1\n  query: '"), 0);
	for (int i = 0; i < CANARY_QUERY_MAX; i++)
		assert_int_equal(kube_buf_puts(&text, "x"), 0);
	assert_int_equal(kube_buf_puts(&text, "'\n"), 0);
	assert_int_equal(canary_analysis_parse(a, text.ptr, text.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metrics[0].query: longer than 4095 bytes"));
	kube_buf_dispose(&text);
	free(a);
}

static const struct {
	const char *text, *router;
	enum canary_template want;
} template_defaults[] = {
        {"prometheus: ns/prom\n", "replicas", CANARY_TEMPLATE_APP},
        {"prometheus: ns/prom\n", "istio", CANARY_TEMPLATE_ISTIO},
        {"prometheus: ns/prom\n", "nginx", CANARY_TEMPLATE_NGINX},
        {"prometheus: ns/prom\n", "gateway", CANARY_TEMPLATE_APP},
        {"prometheus: ns/prom\n", "smi", CANARY_TEMPLATE_APP},
        {"prometheus: ns/prom\n", NULL, CANARY_TEMPLATE_APP},
        /* chosen in the file: kept whatever the router */
        {"prometheus: ns/prom\ntemplate: istio\n", "replicas", CANARY_TEMPLATE_ISTIO},
        {"prometheus: ns/prom\ntemplate: app\n", "nginx", CANARY_TEMPLATE_APP},
};

static void test_canary_analysis__template_defaults_to_the_routers(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(template_defaults); i++) {
		canary_analysis *a = parse_ok(template_defaults[i].text);
		char err[512] = "";
		if (canary_analysis_finish(a, template_defaults[i].router, err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		if (a->template_kind != template_defaults[i].want)
			fail_msg("case %zu: template %s, want %s", i, canary_template_name(a->template_kind),
			         canary_template_name(template_defaults[i].want));
		free(a);
	}
}

static const struct {
	const char *text, *needle;
} incomplete[] = {
        {"maxP99: 1s\n", "prometheus: missing (give it in the file or with --prometheus)"},
        {"prometheus: ns/prom\nerrorRate: off\n", "nothing to measure: errorRate is off, no maxP99 and no metrics"},
        /* health, error-rate, latency-p99 and 6 metrics: 9 gates */
        {"prometheus: ns/prom\nmaxP99: 1s\nmetrics: [{name: a, query: x, max: 1}, {name: b, query: x, max: 1}, "
         "{name: c, query: x, max: 1}, {name: d, query: x, max: 1}, {name: e, query: x, max: 1}, "
         "{name: f, query: x, max: 1}]\n",
         "metrics: at most 5 with these settings (a run keeps 8 gates"},
};

static void test_canary_analysis__finish_refuses_incomplete_analyses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(incomplete); i++) {
		canary_analysis *a = parse_ok(incomplete[i].text);
		char err[512] = "";
		assert_int_equal(canary_analysis_finish(a, "replicas", err, sizeof(err)), -1);
		if (!strstr(err, incomplete[i].needle))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, incomplete[i].needle);
		free(a);
	}
	/* 7 metrics fit when error-rate is off and there is no maxP99 */
	canary_analysis *a = parse_ok(
	        "prometheus: ns/prom\nerrorRate: off\nmetrics: [{name: a, query: x, max: 1}, {name: b, query: x, max: "
	        "1}, {name: c, query: x, max: 1}, {name: d, query: x, max: 1}, {name: e, query: x, max: 1}, {name: f, "
	        "query: x, max: 1}, {name: g, query: x, max: 1}]\n");
	assert_int_equal(canary_analysis_finish(a, "replicas", NULL, 0), 0);
	assert_int_equal(canary_analysis_gate_count(a), 7);
	free(a);
}

static void test_canary_analysis__normalizes_to_json(void **state)
{
	(void)state;
	canary_analysis *a = parse_ok(contract_example);
	kube_buf text = KUBE_BUF_INIT;
	assert_int_equal(canary_analysis_finish(a, "replicas", NULL, 0), 0);
	assert_int_equal(canary_analysis_format(&text, a), 0);
	assert_string_equal(
	        text.ptr,
	        "{\"prometheus\":\"monitoring/"
	        "prometheus:9090\",\"interval\":\"30s\",\"window\":\"1m\",\"template\":\"app\","
	        "\"minRequests\":100,\"errorRate\":{\"ratio\":2,\"floor\":\"1%\"},\"maxP99\":\"500ms\",\"queries\":{"
	        "\"requests\":\"sum(increase(http_requests_total{ {{selector}} }[{{window}}]))\",\"errors\":\"sum("
	        "increase(http_requests_total{ {{selector}},code=~\\\"5..\\\" }[{{window}}]))\",\"p99\":\""
	        "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{ {{selector}} }[{{window}}])) "
	        "by (le))\"},\"metrics\":[{\"name\":\"cpu\",\"query\":\"sum(rate(container_cpu_usage_seconds_total{"
	        "namespace=\\\"{{namespace}}\\\",pod=~\\\"{{canary}}-.*\\\"}[1m]))\",\"max\":0.5,\"interval\":\"30s\","
	        "\"count\":1,\"failureLimit\":0}]}");
	kube_buf_dispose(&text);
	free(a);
	/* the minimal form: defaults written out, errorRate off as "off" */
	a = parse_ok("prometheus: http://prom:9090/\nerrorRate: off\nmaxP99: 1500ms\nwindow: 90s\n");
	assert_int_equal(canary_analysis_finish(a, "istio", NULL, 0), 0);
	assert_int_equal(canary_analysis_format(&text, a), 0);
	assert_string_equal(text.ptr, "{\"prometheus\":\"http://prom:9090/\",\"interval\":\"30s\",\"window\":\"90s\","
	                              "\"template\":\"istio\",\"minRequests\":100,\"errorRate\":\"off\",\"maxP99\":"
	                              "\"1500ms\"}");
	kube_buf_dispose(&text);
	free(a);
}

/* What is written reads back to the same analysis, and writes the same. */
static void test_canary_analysis__json_reads_back(void **state)
{
	static const char *const files[] = {
	        contract_example,
	        "prometheus: ns/prom\nerrorRate: {ratio: 1.25, floor: 0.125%}\nminRequests: 7\nwindow: 2h\n",
	        "prometheus: https:ns/prom:web\nerrorRate: off\nmetrics: [{name: a, query: 'x{n=\"{{route}}\"}', min: "
	        "-1.5e-3, max: 1e9, interval: 45s, count: 4, failureLimit: 3}]\n",
	        "prometheus: ns/prom\ninterval: 1500ms\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		canary_analysis *a = parse_ok(files[i]), *b = new_analysis();
		kube_buf first = KUBE_BUF_INIT, second = KUBE_BUF_INIT;
		char err[512] = "";
		if (canary_analysis_finish(a, "nginx", err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(canary_analysis_format(&first, a), 0);
		if (canary_analysis_parse(b, first.ptr, first.len, err, sizeof(err)))
			fail_msg("case %zu: %s reads back with %s", i, first.ptr, err);
		assert_int_equal(canary_analysis_format(&second, b), 0);
		assert_string_equal(second.ptr, first.ptr);
		assert_memory_equal(a->metrics, b->metrics, sizeof(a->metrics));
		assert_int_equal(a->interval_ms, b->interval_ms);
		kube_buf_dispose(&first);
		kube_buf_dispose(&second);
		free(a);
		free(b);
	}
}

/* The error-rate floor is written in fixed notation that reads back to
 * the same floor: written "1e-05%", the next command refused it. */
static void test_canary_analysis__floors_read_back(void **state)
{
	static const struct {
		const char *given, *written;
	} floors[] = {
	        {"1%", "1%"},
	        {"0.5%", "0.5%"},
	        {"0.125%", "0.125%"},
	        {"0.00001%", "0.00001%"},
	        {"0.0000001%", "0.0000001%"},
	        {"1e-05%", "0.00001%"}, /* what an earlier version wrote is read */
	        {"2.5E-3%", "0.0025%"},
	        {".5%", "0.5%"},
	        {"33.333333%", "33.333333%"},
	        {"99.99999999%", "99.99999999%"},
	        {"100%", "100%"},
	        {"0%", "0%"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(floors); i++) {
		char text[128], err[512] = "";
		kube_buf first = KUBE_BUF_INIT, second = KUBE_BUF_INIT;
		(void)snprintf(text, sizeof(text), "prometheus: ns/prom\nerrorRate: {ratio: 2, floor: '%s'}\n",
		               floors[i].given);
		canary_analysis *a = parse_ok(text), *b = new_analysis();
		assert_int_equal(canary_analysis_finish(a, "replicas", NULL, 0), 0);
		assert_int_equal(canary_analysis_format(&first, a), 0);
		json_t *doc = json_loadb(first.ptr, first.len, 0, NULL);
		assert_non_null(doc);
		const char *floor = json_string_value(json_object_get(json_object_get(doc, "errorRate"), "floor"));
		if (!floor || strcmp(floor, floors[i].written) != 0)
			fail_msg("case %zu (%s): written as %s, want %s", i, floors[i].given, floor ? floor : "nothing",
			         floors[i].written);
		/* read back from the annotation as promote, run and status do */
		if (canary_analysis_from_json(b, doc, err, sizeof(err)))
			fail_msg("case %zu (%s): %s does not read back: %s", i, floors[i].given, first.ptr, err);
		if (b->error_floor != a->error_floor)
			fail_msg("case %zu (%s): floor %.17g reads back as %.17g", i, floors[i].given, a->error_floor,
			         b->error_floor);
		assert_int_equal(canary_analysis_finish(b, "replicas", NULL, 0), 0);
		assert_int_equal(canary_analysis_format(&second, b), 0);
		assert_string_equal(second.ptr, first.ptr);
		json_decref(doc);
		kube_buf_dispose(&first);
		kube_buf_dispose(&second);
		free(a);
		free(b);
	}
	/* floors set in the code: each as read from a percentage reads back
	 * to itself, any other to the nearest value that fits */
	static const struct {
		double fraction;
		int exact;
	} fractions[] = {
	        {1e-5 / 100, 1}, {0.5 / 100, 1}, {12.5 / 100, 1}, {33.333333 / 100, 1}, {1e-20 / 100, 1},    {0.07, 0},
	        {0.1 + 0.2, 0},  {1.0 / 3, 0},   {1e-7, 0},       {1e-25, 0},           {0.123456789012, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fractions); i++) {
		canary_analysis *a = parse_ok("prometheus: ns/prom\n"), *b = new_analysis();
		kube_buf first = KUBE_BUF_INIT;
		char err[512] = "";
		double f = fractions[i].fraction;
		a->error_floor = f;
		assert_int_equal(canary_analysis_finish(a, "replicas", NULL, 0), 0);
		assert_int_equal(canary_analysis_format(&first, a), 0);
		const char *floor = strstr(first.ptr, "\"floor\":\"");
		assert_non_null(floor);
		floor += strlen("\"floor\":\"");
		if (strcspn(floor, "eE") < strcspn(floor, "%"))
			fail_msg("case %zu: an exponent in %s", i, first.ptr);
		if (canary_analysis_parse(b, first.ptr, first.len, err, sizeof(err)))
			fail_msg("case %zu: %s does not read back: %s", i, first.ptr, err);
		if (fractions[i].exact ? b->error_floor != f : fabs(b->error_floor - f) > 1e-15 * f + 1e-29)
			fail_msg("case %zu: %.17g written as %s reads back as %.17g", i, f, first.ptr, b->error_floor);
		kube_buf_dispose(&first);
		free(a);
		free(b);
	}
}

static void test_canary_analysis__formats_durations(void **state)
{
	static const struct {
		long ms;
		const char *text;
	} cases[] = {
	        {3600000, "1h"}, {7200000, "2h"}, {60000, "1m"},    {5400000, "90m"},
	        {90000, "90s"},  {1000, "1s"},    {1500, "1500ms"}, {0, "0s"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[32];
		canary_duration_format(buf, sizeof(buf), cases[i].ms);
		assert_string_equal(buf, cases[i].text);
	}
}

static const canary_query_vars run_vars = {
        .ns = "shop",
        .deployment = "web",
        .canary = "web-canary",
        .revision = "86bc49586d",
        .track = "canary",
        .service = "web-svc",
        .route = "web-route",
        .router = "nginx",
        .window_ms = 60000,
};

static const struct {
	enum canary_template template_kind;
	enum canary_query_kind kind;
	enum canary_track_kind track;
	const char *want;
} builtin_queries[] = {
        {CANARY_TEMPLATE_APP, CANARY_QUERY_REQUESTS, CANARY_TRACK_CANARY,
         "sum(increase(http_requests_total{namespace=\"shop\",rollguard_io_track=\"canary\","
         "rollguard_io_revision=\"86bc49586d\"}[1m]))"},
        {CANARY_TEMPLATE_APP, CANARY_QUERY_ERRORS, CANARY_TRACK_CANARY,
         "sum(increase(http_requests_total{namespace=\"shop\",rollguard_io_track=\"canary\","
         "rollguard_io_revision=\"86bc49586d\",code=~\"5..\"}[1m]))"},
        {CANARY_TEMPLATE_APP, CANARY_QUERY_P99, CANARY_TRACK_CANARY,
         "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{namespace=\"shop\","
         "rollguard_io_track=\"canary\",rollguard_io_revision=\"86bc49586d\"}[1m])) by (le))"},
        {CANARY_TEMPLATE_APP, CANARY_QUERY_REQUESTS, CANARY_TRACK_STABLE,
         "sum(increase(http_requests_total{namespace=\"shop\",pod=~\"" STABLE_POD(
                 "web") "\","
                        "rollguard_io_track=\"\"}[1m]))"},
        {CANARY_TEMPLATE_APP, CANARY_QUERY_ERRORS, CANARY_TRACK_STABLE,
         "sum(increase(http_requests_total{namespace=\"shop\",pod=~\"" STABLE_POD(
                 "web") "\","
                        "rollguard_io_track=\"\",code=~\"5..\"}[1m]))"},
        {CANARY_TEMPLATE_ISTIO, CANARY_QUERY_REQUESTS, CANARY_TRACK_CANARY,
         "sum(increase(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\","
         "destination_workload=\"web-canary\"}[1m]))"},
        {CANARY_TEMPLATE_ISTIO, CANARY_QUERY_ERRORS, CANARY_TRACK_STABLE,
         "sum(increase(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\","
         "destination_workload=\"web\",response_code=~\"5..\"}[1m]))"},
        {CANARY_TEMPLATE_ISTIO, CANARY_QUERY_P99, CANARY_TRACK_CANARY,
         "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\","
         "destination_workload_namespace=\"shop\",destination_workload=\"web-canary\"}[1m])) by (le)) / 1000"},
        {CANARY_TEMPLATE_NGINX, CANARY_QUERY_REQUESTS, CANARY_TRACK_CANARY,
         "sum(increase(nginx_ingress_controller_requests{namespace=\"shop\",service=\"web-svc-canary\"}[1m]))"},
        {CANARY_TEMPLATE_NGINX, CANARY_QUERY_ERRORS, CANARY_TRACK_STABLE,
         "sum(increase(nginx_ingress_controller_requests{namespace=\"shop\",service=\"web-svc\","
         "status=~\"5..\"}[1m]))"},
        {CANARY_TEMPLATE_NGINX, CANARY_QUERY_P99, CANARY_TRACK_CANARY,
         "histogram_quantile(0.99, sum(rate(nginx_ingress_controller_request_duration_seconds_bucket{"
         "namespace=\"shop\",service=\"web-svc-canary\"}[1m])) by (le))"},
};

static void test_canary_analysis__builds_the_template_queries(void **state)
{
	(void)state;
	canary_analysis *a = new_analysis();
	for (size_t i = 0; i < ARRAY_SIZE(builtin_queries); i++) {
		kube_buf out = KUBE_BUF_INIT;
		char err[512] = "";
		canary_analysis_init(a);
		a->template_kind = builtin_queries[i].template_kind;
		if (canary_query_builtin(&out, a, builtin_queries[i].kind, builtin_queries[i].track, &run_vars, err,
		                         sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		if (strcmp(kube_buf_cstr(&out), builtin_queries[i].want) != 0)
			fail_msg("case %zu:\n got %s\nwant %s", i, kube_buf_cstr(&out), builtin_queries[i].want);
		kube_buf_dispose(&out);
	}
	free(a);
}

static void test_canary_analysis__overrides_use_the_tracks_selector(void **state)
{
	(void)state;
	canary_analysis *a = parse_ok("queries:\n  requests: 'sum(increase(my_requests{ {{selector}} }[{{window}}]))'\n"
	                              "window: 30s\n");
	kube_buf out = KUBE_BUF_INIT;
	canary_query_vars vars = run_vars;
	vars.window_ms = a->window_ms;
	assert_int_equal(canary_query_builtin(&out, a, CANARY_QUERY_REQUESTS, CANARY_TRACK_STABLE, &vars, NULL, 0), 0);
	assert_string_equal(out.ptr, "sum(increase(my_requests{ namespace=\"shop\",pod=~\"" STABLE_POD(
	                                     "web") "\","
	                                            "rollguard_io_track=\"\" }[30s]))");
	kube_buf_dispose(&out);
	/* the other kinds keep the template's */
	assert_int_equal(canary_query_builtin(&out, a, CANARY_QUERY_ERRORS, CANARY_TRACK_CANARY, &vars, NULL, 0), 0);
	assert_non_null(strstr(out.ptr, "sum(increase(http_requests_total{namespace=\"shop\""));
	kube_buf_dispose(&out);
	free(a);
}

static void test_canary_analysis__selectors_escape_values(void **state)
{
	(void)state;
	kube_buf out = KUBE_BUF_INIT;
	canary_query_vars vars = run_vars;
	/* a Deployment's name may hold dots: a regular expression's "any" */
	vars.deployment = "web.v2";
	assert_int_equal(canary_query_selector(&out, CANARY_TEMPLATE_APP, CANARY_TRACK_STABLE, &vars, NULL, 0), 0);
	assert_string_equal(out.ptr,
	                    "namespace=\"shop\",pod=~\"" STABLE_POD("web\\\\.v2") "\",rollguard_io_track=\"\"");
	kube_buf_dispose(&out);
	/* blue-green's track, and a quote in a value */
	vars.track = "green";
	vars.revision = "a\"b";
	assert_int_equal(canary_query_selector(&out, CANARY_TEMPLATE_APP, CANARY_TRACK_CANARY, &vars, NULL, 0), 0);
	assert_string_equal(out.ptr,
	                    "namespace=\"shop\",rollguard_io_track=\"green\",rollguard_io_revision=\"a\\\"b\"");
	kube_buf_dispose(&out);
}

/* The stable track is D's own pods, D-HASH-SUFFIX with Kubernetes's
 * generated names; pods of other workloads named D-something are not. */
static void test_canary_analysis__stable_selector_matches_only_ds_pods(void **state)
{
	static const struct {
		const char *pod;
		int matches;
	} pods[] = {
	        {"web-7c9d8f6b5-m4z7p", 1},
	        {"web-5bf6ff68bc-x2k9q", 1},
	        {"web-b-bcdfg", 1},
	        {"web-2456789bcd-zzzzz", 1},
	        /* a DaemonSet, a Job, a StatefulSet named web-something */
	        {"web-agent-x7k2p", 0},
	        {"web-migrate-abcde", 0},
	        {"web-db-0", 0},
	        {"web-0-0", 0},
	        /* another Deployment's pods */
	        {"web-canary-6d4b9c7f5-k2x8q", 0},
	        {"web-api-7c9d8f6b5-m4z7p", 0},
	        {"webx-7c9d8f6b5-m4z7p", 0},
	        /* not the lengths Kubernetes makes */
	        {"web-7c9d8f6b5-m4z7", 0},
	        {"web-7c9d8f6b5-m4z7pp", 0},
	        {"web-2456789bcdf-zzzzz", 0},
	        {"web--m4z7p", 0},
	};
	kube_buf out = KUBE_BUF_INIT;
	char pattern[256];
	regex_t re;
	(void)state;
	assert_int_equal(canary_query_selector(&out, CANARY_TEMPLATE_APP, CANARY_TRACK_STABLE, &run_vars, NULL, 0), 0);
	const char *start = strstr(out.ptr, "pod=~\"");
	assert_non_null(start);
	start += strlen("pod=~\"");
	const char *end = strchr(start, '"');
	assert_non_null(end);
	/* PromQL anchors a regular expression at both ends */
	(void)snprintf(pattern, sizeof(pattern), "^(%.*s)$", (int)(end - start), start);
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < ARRAY_SIZE(pods); i++)
		if ((regexec(&re, pods[i].pod, 0, NULL, 0) == 0) != pods[i].matches)
			fail_msg("%s %s %s", pattern, pods[i].matches ? "does not match" : "matches", pods[i].pod);
	regfree(&re);
	kube_buf_dispose(&out);
}

static void test_canary_analysis__nginx_needs_a_service(void **state)
{
	(void)state;
	kube_buf out = KUBE_BUF_INIT;
	canary_query_vars vars = run_vars;
	char err[512] = "";
	vars.service = "";
	vars.router = "replicas";
	assert_int_equal(
	        canary_query_selector(&out, CANARY_TEMPLATE_NGINX, CANARY_TRACK_CANARY, &vars, err, sizeof(err)), -1);
	assert_string_equal(err, "the nginx template measures the run's Service, and router replicas routes through "
	                         "none (--router nginx)");
	assert_int_equal(out.len, 0);
	kube_buf_dispose(&out);
}

static const struct {
	const char *query, *want;
} expansions[] = {
        {"x{namespace=\"{{namespace}}\"}", "x{namespace=\"shop\"}"},
        {"{{ namespace }}/{{deployment}}/{{canary}}/{{revision}}", "shop/web/web-canary/86bc49586d"},
        {"{{service}} {{canaryService}} {{route}} [{{window}}]", "web-svc web-svc-canary web-route [1m]"},
        {"no variables at all", "no variables at all"},
        {"", ""},
        {"{ } }} {", "{ } }} {"},
        {"count(up{job=~\"a{2}\"})", "count(up{job=~\"a{2}\"})"},
        {"{{{namespace}}}", "{shop}"},
        {"{{{{namespace}}}}", "{{shop}}"},
        {"{{  window  }}", "1m"},
};

static void test_canary_analysis__expands_variables(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expansions); i++) {
		kube_buf out = KUBE_BUF_INIT;
		char err[512] = "";
		assert_int_equal(canary_query_check(expansions[i].query, 0, err, sizeof(err)), 0);
		if (canary_query_expand(&out, expansions[i].query, &run_vars, NULL, err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		if (strcmp(kube_buf_cstr(&out), expansions[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, kube_buf_cstr(&out), expansions[i].want);
		kube_buf_dispose(&out);
	}
}

static const struct {
	const char *query;
	const char *service, *route, *router;
	const char *needle;
} failed_expansions[] = {
        {"x{s=\"{{service}}\"}", "", "", "replicas",
         "{{service}} is empty: the run's router (replicas) routes through "
         "no Service"},
        {"{{canaryService}}", NULL, "", "", "{{canaryService}} is empty: the run's router (replicas)"},
        {"{{route}}", "svc", "", "gateway",
         "{{route}} is empty: the run's router (gateway) routes through no "
         "routing object"},
        {"{{namespaces}}", "svc", "r", "nginx", "unknown variable {{namespaces}}"},
        {"{{selector}}", "svc", "r", "nginx", "{{selector}} is for the queries: overrides only"},
        {"x {{ }}", "svc", "r", "nginx", "\"{{\" at byte 3 does not open a {{variable}}"},
        {"x {{namespace", "svc", "r", "nginx", "\"{{\" at byte 3 does not open"},
        {"{{name-space}}", "svc", "r", "nginx", "\"{{\" at byte 1 does not open"},
};

static void test_canary_analysis__expansion_says_what_is_missing(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(failed_expansions); i++) {
		kube_buf out = KUBE_BUF_INIT;
		canary_query_vars vars = run_vars;
		char err[512] = "";
		vars.service = failed_expansions[i].service;
		vars.route = failed_expansions[i].route;
		vars.router = failed_expansions[i].router;
		assert_int_equal(kube_buf_puts(&out, "before "), 0);
		assert_int_equal(canary_query_expand(&out, failed_expansions[i].query, &vars, NULL, err, sizeof(err)),
		                 -1);
		if (!strstr(err, failed_expansions[i].needle))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, failed_expansions[i].needle);
		/* what was there before is left as it was */
		assert_string_equal(out.ptr, "before ");
		kube_buf_dispose(&out);
	}
}

static void test_canary_analysis__names(void **state)
{
	(void)state;
	assert_string_equal(canary_template_name(CANARY_TEMPLATE_APP), "app");
	assert_string_equal(canary_template_name(CANARY_TEMPLATE_NGINX), "nginx");
	assert_string_equal(canary_template_name(CANARY_TEMPLATE_DEFAULT), "");
	assert_string_equal(canary_template_name((enum canary_template)42), "");
	assert_string_equal(canary_query_kind_name(CANARY_QUERY_P99), "p99");
	assert_string_equal(canary_query_kind_name((enum canary_query_kind)42), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_analysis__parses_the_contract_example),
	        cmocka_unit_test(test_canary_analysis__defaults),
	        cmocka_unit_test(test_canary_analysis__parses_valid_files),
	        cmocka_unit_test(test_canary_analysis__parses_custom_metrics),
	        cmocka_unit_test(test_canary_analysis__rejects_bad_files),
	        cmocka_unit_test(test_canary_analysis__rejects_long_queries),
	        cmocka_unit_test(test_canary_analysis__template_defaults_to_the_routers),
	        cmocka_unit_test(test_canary_analysis__finish_refuses_incomplete_analyses),
	        cmocka_unit_test(test_canary_analysis__normalizes_to_json),
	        cmocka_unit_test(test_canary_analysis__json_reads_back),
	        cmocka_unit_test(test_canary_analysis__floors_read_back),
	        cmocka_unit_test(test_canary_analysis__formats_durations),
	        cmocka_unit_test(test_canary_analysis__builds_the_template_queries),
	        cmocka_unit_test(test_canary_analysis__overrides_use_the_tracks_selector),
	        cmocka_unit_test(test_canary_analysis__selectors_escape_values),
	        cmocka_unit_test(test_canary_analysis__stable_selector_matches_only_ds_pods),
	        cmocka_unit_test(test_canary_analysis__nginx_needs_a_service),
	        cmocka_unit_test(test_canary_analysis__expands_variables),
	        cmocka_unit_test(test_canary_analysis__expansion_says_what_is_missing),
	        cmocka_unit_test(test_canary_analysis__names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
