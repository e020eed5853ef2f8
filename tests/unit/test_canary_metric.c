/* Tests of the metric gates (plugins/canary/gate_metric.c and
 * prometheus.c): Prometheus addresses, the parser of /api/v1/query replies
 * over real replies (tests/fixtures/canary/prometheus), the error-rate,
 * latency and custom-metric rules, a query sent directly and through the
 * API server's service proxy to a canned server, and the gate records'
 * value and threshold in the state. Table-driven. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <kube/buf.h>
#include <kube/client.h>

#include "gate.h"
#include "state.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void assert_one_line(const char *text)
{
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			fail_msg("byte 0x%02x in \"%s\"", (unsigned char)*c, text);
	}
}

/* --- addresses ----------------------------------------------------------- */

static const struct {
	const char *text;
	const char *url, *ns, *service, *port, *display;
	int proxy, https;
} valid_addrs[] = {
        {"http://10.0.0.5:9090", "http://10.0.0.5:9090", "", "", "", "http://10.0.0.5:9090", 0, 0},
        {"https://prom.example/prometheus/", "https://prom.example/prometheus", "", "", "",
         "https://prom.example/prometheus", 0, 0},
        {"http://prom:9090///", "http://prom:9090", "", "", "", "http://prom:9090", 0, 0},
        /* an '@' after the host is no user information */
        {"http://prom:9090/a@b", "http://prom:9090/a@b", "", "", "", "http://prom:9090/a@b", 0, 0},
        {"monitoring/prometheus:9090", "", "monitoring", "prometheus", "9090", "monitoring/prometheus:9090", 1, 0},
        {"monitoring/prometheus", "", "monitoring", "prometheus", "9090", "monitoring/prometheus:9090", 1, 0},
        {"monitoring/prometheus:web", "", "monitoring", "prometheus", "web", "monitoring/prometheus:web", 1, 0},
        {"https:monitoring/prometheus:9091", "", "monitoring", "prometheus", "9091", "https:monitoring/prometheus:9091",
         1, 1},
};

static void test_canary_metric__parses_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid_addrs); i++) {
		canary_prom_addr addr;
		char err[256] = "";
		if (canary_prom_addr_parse(&addr, valid_addrs[i].text, err, sizeof(err)))
			fail_msg("case %zu (%s): %s", i, valid_addrs[i].text, err);
		assert_int_equal(addr.proxy, valid_addrs[i].proxy);
		assert_string_equal(addr.url, valid_addrs[i].url);
		assert_string_equal(addr.ns, valid_addrs[i].ns);
		assert_string_equal(addr.service, valid_addrs[i].service);
		assert_string_equal(addr.port, valid_addrs[i].port);
		assert_string_equal(addr.display, valid_addrs[i].display);
		assert_int_equal(addr.https, valid_addrs[i].https);
	}
}

static const struct {
	const char *text, *needle;
} invalid_addrs[] = {
        {"", "empty"},
        {"prometheus", "neither a URL (http://HOST:PORT) nor NAMESPACE/SERVICE[:PORT]"},
        {"ftp://prom", "only http:// and https:// URLs"},
        {"http://", "no host"},
        {"http://:9090", "no host"},
        {"http://prom:9090/?x=1", "without a query or fragment"},
        {"http://prom:9090/#top", "without a query or fragment"},
        {"http://prom 9090", "a blank, a control character"},
        {"http://prom\n", "a blank, a control character"},
        {"ns/svc:0", "the port is neither a number 1-65535 nor a port name"},
        {"ns/svc:65536", "the port is neither"},
        {"ns/svc:-web", "the port is neither"},
        {"ns/svc:a_b", "the port is neither"},
        {"ns/svc:abcdefghijklmnop", "the port is neither"},
        {"NS/svc", "the namespace \"NS\" is not a DNS label"},
        {"/svc", "is not a DNS label"},
        {"ns/", "the Service name is not a DNS label"},
        {"ns/svc/x", "the Service name is not a DNS label"},
        {"ns/-svc", "the Service name is not a DNS label"},
        {"http:ns/svc", "the namespace \"http:ns\" is not a DNS label"},
        /* user information: refused (the address is stored on the
         * Deployment), and the message quotes none of it */
        {"https://user:s3cret@prom.example:443/p",
         "credentials in the URL are not supported (the address is stored on the Deployment)"},
        {"http://u:s3cret@ss@prom:9090", "credentials in the URL are not supported"},
        {"http://user@", "credentials in the URL are not supported"},
        {"http://user:s3cret@prom:9090/?x=1", "credentials in the URL are not supported"},
        {"http://user:s3cret@:9090", "credentials in the URL are not supported"},
        {"ftp://user:s3cret@prom", "credentials in the URL are not supported"},
        {"user:s3cret@monitoring/prometheus", "credentials in the URL are not supported"},
        {"https:user:s3cret@monitoring/prometheus:9090", "credentials in the URL are not supported"},
};

static void test_canary_metric__rejects_bad_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(invalid_addrs); i++) {
		canary_prom_addr addr;
		char err[256] = "";
		if (canary_prom_addr_parse(&addr, invalid_addrs[i].text, err, sizeof(err)) != -1)
			fail_msg("case %zu (%s): accepted", i, invalid_addrs[i].text);
		if (!strstr(err, invalid_addrs[i].needle))
			fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i, invalid_addrs[i].text, err,
			         invalid_addrs[i].needle);
		assert_one_line(err);
		if (strstr(err, "s3cret") || strstr(err, "user"))
			fail_msg("case %zu: \"%s\" quotes the user information", i, err);
	}
	/* too long for the URL buffer */
	char text[700];
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "http://", 7);
	canary_prom_addr addr;
	char err[256] = "";
	assert_int_equal(canary_prom_addr_parse(&addr, text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a URL longer than 511 bytes"));
	assert_int_equal(canary_prom_addr_parse(&addr, NULL, NULL, 0), -1);
}

/* --- replies ---------------------------------------------------------- */

enum want_value {
	WANT_NUMBER,
	WANT_NAN,
	WANT_PLUS_INF,
	WANT_MINUS_INF,
};

static const struct {
	const char *file;
	long status;
	enum canary_prom_kind kind;
	enum want_value want;
	double value;
	const char *error; /* ERROR: a part of the reason */
	int unreachable;
} fixture_replies[] = {
        {"vector_one.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 1, NULL, 0},
        {"vector_labels.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 1, NULL, 0},
        {"vector_small.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 1e-7, NULL, 0},
        {"vector_big.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 1e21, NULL, 0},
        {"vector_nan.json", 200, CANARY_PROM_VALUE, WANT_NAN, 0, NULL, 0},
        {"vector_inf.json", 200, CANARY_PROM_VALUE, WANT_PLUS_INF, 0, NULL, 0},
        {"vector_neginf.json", 200, CANARY_PROM_VALUE, WANT_MINUS_INF, 0, NULL, 0},
        {"vector_warnings.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 0.3, NULL, 0},
        {"histogram.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 0.099, NULL, 0},
        {"scalar.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 1, NULL, 0},
        {"scalar_literal.json", 200, CANARY_PROM_VALUE, WANT_NUMBER, 0.25, NULL, 0},
        {"scalar_nan.json", 200, CANARY_PROM_VALUE, WANT_NAN, 0, NULL, 0},
        {"vector_empty.json", 200, CANARY_PROM_EMPTY, WANT_NAN, 0, NULL, 0},
        {"vector_many.json", 200, CANARY_PROM_ERROR, WANT_NAN, 0,
         "the query gave 2 series; a gate needs one value (aggregate it, e.g. with sum())", 0},
        {"matrix.json", 200, CANARY_PROM_ERROR, WANT_NAN, 0,
         "the query gave a matrix; a gate needs an instant vector or a scalar", 0},
        {"string.json", 200, CANARY_PROM_ERROR, WANT_NAN, 0, "the query gave a string", 0},
        {"error_parse.json", 400, CANARY_PROM_ERROR, WANT_NAN, 0,
         "bad_data: invalid parameter \"query\": 1:8: parse error: unexpected end of input inside braces", 0},
        {"error_bad_data.json", 400, CANARY_PROM_ERROR, WANT_NAN, 0,
         "bad_data: invalid parameter \"query\": 1:6: parse error: expected type range vector", 0},
        {"error_timeout.json", 503, CANARY_PROM_ERROR, WANT_NAN, 0, "timeout: query timed out in expression evaluation",
         0},
        {"notfound.txt", 404, CANARY_PROM_ERROR, WANT_NAN, 0, "HTTP 404: 404 page not found", 1},
        {"proxy_no_endpoints.json", 503, CANARY_PROM_ERROR, WANT_NAN, 0,
         "HTTP 503: no endpoints available for service \"prom\"", 1},
        {"proxy_not_found.json", 404, CANARY_PROM_ERROR, WANT_NAN, 0, "HTTP 404: services \"nope\" not found", 1},
        /* a success body with a status that says otherwise */
        {"vector_one.json", 500, CANARY_PROM_ERROR, WANT_NAN, 0, "HTTP 500: {\"status\":\"success\"", 1},
        /* no status known: the body decides */
        {"vector_one.json", 0, CANARY_PROM_VALUE, WANT_NUMBER, 1, NULL, 0},
};

static void test_canary_metric__parses_real_replies(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fixture_replies); i++) {
		char path[128];
		size_t len;
		canary_prom_result r;
		snprintf(path, sizeof(path), "canary/prometheus/%s", fixture_replies[i].file);
		char *body = test_fixture_read(path, &len);
		canary_prom_parse_reply(&r, fixture_replies[i].status, body, len);
		free(body);
		if (r.kind != fixture_replies[i].kind)
			fail_msg("case %zu (%s): kind %d, want %d (%s)", i, fixture_replies[i].file, r.kind,
			         fixture_replies[i].kind, r.error);
		if (r.kind == CANARY_PROM_ERROR) {
			if (!strstr(r.error, fixture_replies[i].error))
				fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i, fixture_replies[i].file, r.error,
				         fixture_replies[i].error);
			assert_one_line(r.error);
			assert_int_equal(r.unreachable, fixture_replies[i].unreachable);
			continue;
		}
		assert_string_equal(r.error, "");
		if (r.kind == CANARY_PROM_EMPTY)
			continue;
		switch (fixture_replies[i].want) {
		case WANT_NAN:
			assert_true(isnan(r.value));
			break;
		case WANT_PLUS_INF:
			assert_true(isinf(r.value) && r.value > 0);
			break;
		case WANT_MINUS_INF:
			assert_true(isinf(r.value) && r.value < 0);
			break;
		case WANT_NUMBER:
			if (fabs(r.value - fixture_replies[i].value) > fabs(fixture_replies[i].value) * 1e-12)
				fail_msg("case %zu (%s): %g, want %g", i, fixture_replies[i].file, r.value,
				         fixture_replies[i].value);
			break;
		}
	}
}

static const struct {
	const char *body;
	long status;
	const char *error;
} bad_replies[] = {
        {"", 200, "not a Prometheus reply: empty"},
        {"<html>", 200, "not a Prometheus reply: "},
        {"[]", 200, "no \"status\": \"success\""},
        {"{\"status\":\"warning\"}", 200, "no \"status\": \"success\""},
        {"{\"status\":\"success\"}", 200, "no data.resultType"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}", 200, "data.result is not a list"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{}]}}", 200,
         "a sample that is not [time, \"value\"]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"abc\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"0x10\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\" 1\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"infinity\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[\"1\",\"2\"]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"2\",3]}]}}", 200,
         "a sample that is not"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1]}}", 200,
         "a scalar that is not [time, \"value\"]"},
        {"{\"status\":\"error\"}", 422, "error: (no message)"},
        {"{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"line\\none\\u0001\"}", 422,
         "execution: line?one?"},
        {"Bad Gateway\r\nmore", 502, "HTTP 502: Bad Gateway"},
        {"", 503, "HTTP 503"},
};

static void test_canary_metric__refuses_what_is_no_reply(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_replies); i++) {
		canary_prom_result r;
		canary_prom_parse_reply(&r, bad_replies[i].status, bad_replies[i].body, strlen(bad_replies[i].body));
		if (r.kind != CANARY_PROM_ERROR)
			fail_msg("case %zu (%s): kind %d", i, bad_replies[i].body, r.kind);
		if (!strstr(r.error, bad_replies[i].error))
			fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i, bad_replies[i].body, r.error,
			         bad_replies[i].error);
		assert_one_line(r.error);
	}
	/* a number for the value is taken too (not what Prometheus writes) */
	canary_prom_result r;
	const char *number = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1, 2.5]}}";
	canary_prom_parse_reply(&r, 200, number, strlen(number));
	assert_int_equal(r.kind, CANARY_PROM_VALUE);
	assert_true(r.value == 2.5);
	canary_prom_parse_reply(&r, 200, NULL, 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	/* no body is no body, whatever the length says */
	canary_prom_parse_reply(&r, 503, NULL, 5);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_string_equal(r.error, "HTTP 503");
	canary_prom_parse_reply(&r, 200, NULL, 5);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_string_equal(r.error, "not a Prometheus reply: empty");
}

/* --- rules ------------------------------------------------------------ */

static canary_sample value(const char *query, double v)
{
	canary_sample s;
	memset(&s, 0, sizeof(s));
	s.query = query;
	s.result.kind = CANARY_PROM_VALUE;
	s.result.value = v;
	return s;
}

static canary_sample empty(const char *query)
{
	canary_sample s = value(query, NAN);
	s.result.kind = CANARY_PROM_EMPTY;
	return s;
}

static canary_sample error(const char *query, const char *why)
{
	canary_sample s = value(query, NAN);
	s.result.kind = CANARY_PROM_ERROR;
	snprintf(s.result.error, sizeof(s.result.error), "%s", why);
	return s;
}

static canary_sample none(void)
{
	canary_sample s;
	memset(&s, 0, sizeof(s));
	return s;
}

#define CREQ "sum(increase(http_requests_total{canary}[1m]))"
#define CERR "sum(increase(http_requests_total{canary,code=~\"5..\"}[1m]))"
#define SREQ "sum(increase(http_requests_total{stable}[1m]))"
#define SERR "sum(increase(http_requests_total{stable,code=~\"5..\"}[1m]))"
#define P99  "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{canary}[1m])) by (le))"

static canary_builtin_samples samples(canary_sample creq, canary_sample cerr, canary_sample sreq, canary_sample serr,
                                      canary_sample p99)
{
	canary_builtin_samples s;
	s.requests[CANARY_TRACK_CANARY] = creq;
	s.errors[CANARY_TRACK_CANARY] = cerr;
	s.requests[CANARY_TRACK_STABLE] = sreq;
	s.errors[CANARY_TRACK_STABLE] = serr;
	s.p99 = p99;
	return s;
}

struct rule_case {
	canary_builtin_samples s;
	const char *message; /* a part of it */
	const char *value, *threshold;
	enum canary_verdict verdict;
	int names_query; /* the message ends with "; query: " and a query */
};

static void check_record(size_t i, const canary_gate_record *r, const struct rule_case *c, const char *name)
{
	if (r->verdict != c->verdict)
		fail_msg("case %zu: %s, want %s: %s", i, canary_verdict_name(r->verdict),
		         canary_verdict_name(c->verdict), r->message);
	assert_string_equal(r->name, name);
	if (!strstr(r->message, c->message))
		fail_msg("case %zu: \"%s\" lacks \"%s\"", i, r->message, c->message);
	if (strcmp(r->value, c->value) != 0 || strcmp(r->threshold, c->threshold) != 0)
		fail_msg("case %zu: value \"%s\" threshold \"%s\", want \"%s\" \"%s\"", i, r->value, r->threshold,
		         c->value, c->threshold);
	if ((strstr(r->message, "; query: ") != NULL) != c->names_query)
		fail_msg("case %zu: query %s named: %s", i, c->names_query ? "not" : "", r->message);
	assert_one_line(r->message);
}

static void test_canary_metric__error_rate_rule(void **state)
{
	const struct rule_case cases[] = {
	        /* no value for the canary's requests: WAIT, saying why */
	        {samples(error(CREQ, "Prometheus http://p:9090 is unreachable: Connection refused"), none(), none(),
	                 none(), none()),
	         "the canary's requests: no measurement: Prometheus http://p:9090 is unreachable: Connection refused",
	         "", ">= 100 requests", CANARY_WAIT, 1},
	        {samples(empty(CREQ), none(), none(), none(), none()),
	         "the canary's requests: no data (the query gave no series)", "", ">= 100 requests", CANARY_WAIT, 1},
	        {samples(value(CREQ, NAN), none(), none(), none(), none()), "the canary's requests: no data (NaN)", "",
	         ">= 100 requests", CANARY_WAIT, 1},
	        {samples(none(), none(), none(), none(), none()), "the canary's requests: not measured yet", "",
	         ">= 100 requests", CANARY_WAIT, 0},
	        /* too few */
	        {samples(value(CREQ, 0), none(), none(), none(), none()), "0 canary requests in 1m, 100 needed",
	         "0 requests", ">= 100 requests", CANARY_WAIT, 0},
	        {samples(value(CREQ, 12), none(), none(), none(), none()), "12 canary requests in 1m, 100 needed",
	         "12 requests", ">= 100 requests", CANARY_WAIT, 0},
	        {samples(value(CREQ, 99.6), none(), none(), none(), none()), "99.6 canary requests in 1m, 100 needed",
	         "99.6 requests", ">= 100 requests", CANARY_WAIT, 0},
	        /* judged: 5.2% against max(2 x 0.1%, 1%) */
	        {samples(value(CREQ, 1000), value(CERR, 52), value(SREQ, 1000), value(SERR, 1), none()),
	         "canary error rate 5.2% (52 of 1000 requests in 1m) > 1% (max of 2 x stable 0.1%, floor 1%); "
	         "query: " CERR,
	         "5.2%", "<= 1%", CANARY_FAIL, 1},
	        /* exactly 100 requests is enough; no error series is no errors */
	        {samples(value(CREQ, 100), empty(CERR), value(SREQ, 1000), empty(SERR), none()),
	         "canary error rate 0% (0 of 100 requests in 1m) <= 1%", "0%", "<= 1%", CANARY_PASS, 0},
	        /* 3% against max(2 x 2%, 1%) = 4% */
	        {samples(value(CREQ, 1000), value(CERR, 30), value(SREQ, 1000), value(SERR, 20), none()),
	         "canary error rate 3% (30 of 1000 requests in 1m) <= 4% (max of 2 x stable 2%, floor 1%)", "3%",
	         "<= 4%", CANARY_PASS, 0},
	        {samples(value(CREQ, 1000), value(CERR, 50), value(SREQ, 1000), value(SERR, 20), none()),
	         "canary error rate 5% (50 of 1000 requests in 1m) > 4%", "5%", "<= 4%", CANARY_FAIL, 1},
	        /* a stable without requests has rate 0: the floor decides */
	        {samples(value(CREQ, 200), value(CERR, 1), empty(SREQ), empty(SERR), none()),
	         "canary error rate 0.5% (1 of 200 requests in 1m) <= 1% (max of 2 x stable 0%", "0.5%", "<= 1%",
	         CANARY_PASS, 0},
	        {samples(value(CREQ, 200), value(CERR, 3), value(SREQ, 0), value(SERR, 0), none()),
	         "canary error rate 1.5% (3 of 200 requests in 1m) > 1%", "1.5%", "<= 1%", CANARY_FAIL, 1},
	        /* whatever else is unknown waits */
	        {samples(value(CREQ, 1000), value(CERR, NAN), value(SREQ, 1000), value(SERR, 1), none()),
	         "the canary's errors: no data (NaN); query: " CERR, "", "<= max(2 x stable, 1%)", CANARY_WAIT, 1},
	        {samples(value(CREQ, 1000), error(CERR, "bad_data: parse error"), none(), none(), none()),
	         "the canary's errors: no measurement: bad_data: parse error", "", "<= max(2 x stable, 1%)",
	         CANARY_WAIT, 1},
	        {samples(value(CREQ, 1000), value(CERR, 900), error(SREQ, "HTTP 503"), none(), none()),
	         "the stable's requests: no measurement: HTTP 503; query: " SREQ, "", "<= max(2 x stable, 1%)",
	         CANARY_WAIT, 1},
	        {samples(value(CREQ, 1000), value(CERR, 900), value(SREQ, 10), value(SERR, NAN), none()),
	         "the stable's errors: no data (NaN)", "", "<= max(2 x stable, 1%)", CANARY_WAIT, 1},
	        /* extrapolated counters: fractions */
	        {samples(value(CREQ, 1000.4), value(CERR, 300.2), value(SREQ, 999.9), value(SERR, 5.1), none()),
	         "canary error rate 30% (300.2 of 1000.4 requests in 1m) > 1.02% (max of 2 x stable 0.51%", "30%",
	         "<= 1.02%", CANARY_FAIL, 1},
	};
	canary_analysis a;
	(void)state;
	canary_analysis_init(&a);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		canary_gate_record r;
		canary_rule_error_rate(&r, &a, &cases[i].s);
		check_record(i, &r, &cases[i], "error-rate");
	}
}

static void test_canary_metric__error_rate_settings(void **state)
{
	canary_analysis a;
	canary_gate_record r;
	(void)state;
	canary_analysis_init(&a);
	/* floor 0 and a clean stable: one error fails */
	a.error_floor = 0;
	a.min_requests = 10;
	a.window_ms = 30000;
	canary_builtin_samples s = samples(value(CREQ, 10), value(CERR, 1), value(SREQ, 10), empty(SERR), none());
	canary_rule_error_rate(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_FAIL);
	assert_non_null(strstr(r.message, "canary error rate 10% (1 of 10 requests in 30s) > 0%"));
	/* ratio 10 tolerates a noisy stable */
	a.error_ratio = 10;
	s = samples(value(CREQ, 10), value(CERR, 1), value(SREQ, 100), value(SERR, 2), none());
	canary_rule_error_rate(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_PASS);
	assert_string_equal(r.threshold, "<= 20%");
	/* minRequests 0: judged once there is any request at all */
	a.min_requests = 0;
	s = samples(value(CREQ, 0.5), empty(CERR), empty(SREQ), empty(SERR), none());
	canary_rule_error_rate(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_PASS);
	/* but a canary without requests has shown nothing: WAIT, never PASS */
	static const double nothing[] = {0, -0.0, -3};
	for (size_t i = 0; i < ARRAY_SIZE(nothing); i++) {
		s = samples(value(CREQ, nothing[i]), empty(CERR), empty(SREQ), empty(SERR), none());
		canary_rule_error_rate(&r, &a, &s);
		if (r.verdict != CANARY_WAIT)
			fail_msg("%g requests: %s: %s", nothing[i], canary_verdict_name(r.verdict), r.message);
		assert_non_null(strstr(r.message, "canary requests in 30s: nothing to judge yet"));
		assert_string_equal(r.threshold, "> 0 requests");
	}
	s = samples(value(CREQ, 0), empty(CERR), empty(SREQ), empty(SERR), none());
	canary_rule_error_rate(&r, &a, &s);
	assert_string_equal(r.message, "0 canary requests in 30s: nothing to judge yet");
	assert_string_equal(r.value, "0 requests");
	/* the same for the latency gate */
	a.max_p99_ms = 500;
	s = samples(value(CREQ, 0), none(), none(), none(), value(P99, 0.1));
	canary_rule_latency(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_WAIT);
	s = samples(value(CREQ, 1), none(), none(), none(), value(P99, 0.1));
	canary_rule_latency(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_PASS);
}

static void test_canary_metric__latency_rule(void **state)
{
	const struct rule_case cases[] = {
	        {samples(value(CREQ, 12), none(), none(), none(), none()), "12 canary requests in 1m, 100 needed",
	         "12 requests", ">= 100 requests", CANARY_WAIT, 0},
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, 0.612)),
	         "canary P99 latency 612ms in 1m > 500ms; query: " P99, "612ms", "<= 500ms", CANARY_FAIL, 1},
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, 0.12)),
	         "canary P99 latency 120ms in 1m <= 500ms", "120ms", "<= 500ms", CANARY_PASS, 0},
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, 0.5)),
	         "canary P99 latency 500ms in 1m <= 500ms", "500ms", "<= 500ms", CANARY_PASS, 0},
	        /* slower than the highest bucket: +Inf fails */
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, INFINITY)),
	         "canary P99 latency +Inf in 1m > 500ms", "+Inf", "<= 500ms", CANARY_FAIL, 1},
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, 2.5)),
	         "canary P99 latency 2.5s in 1m > 500ms", "2.5s", "<= 500ms", CANARY_FAIL, 1},
	        {samples(value(CREQ, 500), none(), none(), none(), value(P99, NAN)),
	         "the canary's P99 latency: no data (NaN)", "", "<= 500ms", CANARY_WAIT, 1},
	        {samples(value(CREQ, 500), none(), none(), none(), empty(P99)),
	         "the canary's P99 latency: no data (the query gave no series)", "", "<= 500ms", CANARY_WAIT, 1},
	        {samples(value(CREQ, 500), none(), none(), none(), error(P99, "timeout: query timed out")),
	         "the canary's P99 latency: no measurement: timeout: query timed out", "", "<= 500ms", CANARY_WAIT, 1},
	};
	canary_analysis a;
	(void)state;
	canary_analysis_init(&a);
	a.max_p99_ms = 500;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		canary_gate_record r;
		canary_rule_latency(&r, &a, &cases[i].s);
		check_record(i, &r, &cases[i], "latency-p99");
	}
	/* bounds of a second and more */
	canary_gate_record r;
	a.max_p99_ms = 1500;
	canary_builtin_samples s = samples(value(CREQ, 500), none(), none(), none(), value(P99, 1.2));
	canary_rule_latency(&r, &a, &s);
	assert_int_equal(r.verdict, CANARY_PASS);
	assert_string_equal(r.threshold, "<= 1.5s");
	assert_string_equal(r.value, "1.2s");
}

static canary_metric metric(const char *name, int has_min, double min, int has_max, double max, int count,
                            int failure_limit)
{
	canary_metric m;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.query, sizeof(m.query), "sum(rate(cpu[1m]))");
	m.has_min = has_min;
	m.min = min;
	m.has_max = has_max;
	m.max = max;
	m.interval_ms = 30000;
	m.count = count;
	m.failure_limit = failure_limit;
	return m;
}

static void test_canary_metric__custom_metric_measured_once(void **state)
{
	static const struct {
		double min, max;
		canary_sample sample;
		const char *message, *value, *threshold;
		int has_min, has_max;
		enum canary_verdict verdict;
		int names_query;
	} cases[] = {
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, 0.7, "", 0}},
	         "value 0.7 > max 0.5; query: q",
	         "0.7",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_FAIL,
	         1},
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, 0.3, "", 0}},
	         "value 0.3 within <= 0.5",
	         "0.3",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_PASS,
	         0},
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, 0.5, "", 0}},
	         "value 0.5 within <= 0.5",
	         "0.5",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_PASS,
	         0},
	        {0.1,
	         0,
	         {"q", {CANARY_PROM_VALUE, 0.05, "", 0}},
	         "value 0.05 < min 0.1",
	         "0.05",
	         ">= 0.1",
	         1,
	         0,
	         CANARY_FAIL,
	         1},
	        {0.1,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, 0.2, "", 0}},
	         "value 0.2 within >= 0.1, <= 0.5",
	         "0.2",
	         ">= 0.1, <= 0.5",
	         1,
	         1,
	         CANARY_PASS,
	         0},
	        {0.1,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, INFINITY, "", 0}},
	         "value inf > max 0.5",
	         "inf",
	         ">= 0.1, <= 0.5",
	         1,
	         1,
	         CANARY_FAIL,
	         1},
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_EMPTY, NAN, "", 0}},
	         "value: no data (the query gave no series); query: q",
	         "",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_WAIT,
	         1},
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_VALUE, NAN, "", 0}},
	         "value: no data (NaN)",
	         "",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_WAIT,
	         1},
	        {0,
	         0.5,
	         {"q", {CANARY_PROM_ERROR, NAN, "Prometheus ns/prom:9090 through the API server: HTTP 503", 1}},
	         "value: no measurement: Prometheus ns/prom:9090 through the API server: HTTP 503",
	         "",
	         "<= 0.5",
	         0,
	         1,
	         CANARY_WAIT,
	         1},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		canary_metric m = metric("cpu", cases[i].has_min, cases[i].min, cases[i].has_max, cases[i].max, 3, 0);
		canary_gate_record r;
		canary_rule_metric(&r, &m, &cases[i].sample, NULL);
		struct rule_case c = {.verdict = cases[i].verdict,
		                      .message = cases[i].message,
		                      .value = cases[i].value,
		                      .threshold = cases[i].threshold,
		                      .names_query = cases[i].names_query};
		check_record(i, &r, &c, "cpu");
	}
}

static void test_canary_metric__custom_metric_counts_in_a_step(void **state)
{
	static const struct {
		double value; /* NAN: no data */
		enum canary_verdict verdict;
		int passes, failures;
		const char *message;
	} steps[] = {
	        {0.3, CANARY_WAIT, 1, 0,
	         "value 0.3 within <= 0.5 (in this step: 1 of 3 passing measurements needed, 0 "
	         "failed of 1 allowed)"},
	        {0.7, CANARY_WAIT, 1, 1, "value 0.7 > max 0.5 (in this step: 1 of 3"},
	        /* no data is counted neither way */
	        {NAN, CANARY_WAIT, 1, 1, "value: no data (NaN)"},
	        {0.3, CANARY_WAIT, 2, 1, "(in this step: 2 of 3"},
	        {0.3, CANARY_PASS, 3, 1, "(in this step: 3 of 3"},
	        {0.4, CANARY_PASS, 4, 1, "(in this step: 4 of 3"},
	        /* a second failure is one more than allowed */
	        {0.9, CANARY_FAIL, 4, 2,
	         "value 0.9 > max 0.5 (in this step: 4 of 3 passing measurements needed, 2 "
	         "failed of 1 allowed); query: sum(rate(cpu[1m]))"},
	};
	(void)state;
	canary_metric m = metric("cpu", 0, 0, 1, 0.5, 3, 1);
	canary_metric_counts counts = {0, 0};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		canary_sample s = value("sum(rate(cpu[1m]))", steps[i].value);
		canary_gate_record r;
		canary_rule_metric(&r, &m, &s, &counts);
		if (r.verdict != steps[i].verdict || counts.passes != steps[i].passes ||
		    counts.failures != steps[i].failures)
			fail_msg("measurement %zu: %s with %d passes and %d failures: %s", i,
			         canary_verdict_name(r.verdict), counts.passes, counts.failures, r.message);
		if (!strstr(r.message, steps[i].message))
			fail_msg("measurement %zu: \"%s\" lacks \"%s\"", i, r.message, steps[i].message);
	}
	/* count 1, failureLimit 0: the first measurement decides */
	m = metric("cpu", 0, 0, 1, 0.5, 1, 0);
	counts.passes = counts.failures = 0;
	canary_sample s = value("q", 0.6);
	canary_gate_record r;
	canary_rule_metric(&r, &m, &s, &counts);
	assert_int_equal(r.verdict, CANARY_FAIL);
}

static void test_canary_metric__fail_message_fits_with_a_long_query(void **state)
{
	(void)state;
	char query[CANARY_QUERY_MAX];
	memset(query, 'q', sizeof(query) - 1);
	query[sizeof(query) - 1] = '\0';
	canary_metric m = metric("cpu", 0, 0, 1, 0.5, 1, 0);
	canary_sample s = value(query, 0.7);
	canary_gate_record r;
	canary_rule_metric(&r, &m, &s, NULL);
	assert_int_equal(r.verdict, CANARY_FAIL);
	assert_int_equal(strlen(r.message), sizeof(r.message) - 1);
	assert_string_equal(r.message + strlen(r.message) - 3, "...");
	assert_non_null(strstr(r.message, "value 0.7 > max 0.5; query: qqq"));
}

/* --- the gate records in the state and in summaries -------------------- */

static void test_canary_metric__records_keep_value_and_threshold(void **state)
{
	canary_state s, again;
	kube_buf text = KUBE_BUF_INIT;
	char err[256] = "";
	(void)state;
	canary_state_init(&s);
	s.phase = CANARY_PHASE_PAUSED;
	assert_int_equal(canary_ladder_parse(&s.ladder, "50", "1m", NULL, 0), 0);
	s.step_index = 0;
	s.gate_count = 3;
	snprintf(s.gates[0].name, sizeof(s.gates[0].name), "health");
	snprintf(s.gates[0].message, sizeof(s.gates[0].message), "1/1 canary pods Ready");
	snprintf(s.gates[1].name, sizeof(s.gates[1].name), "error-rate");
	s.gates[1].verdict = CANARY_FAIL;
	memset(s.gates[1].message, 'm', sizeof(s.gates[1].message) - 1); /* 511 bytes */
	snprintf(s.gates[1].value, sizeof(s.gates[1].value), "5.2%%");
	snprintf(s.gates[1].threshold, sizeof(s.gates[1].threshold), "<= 1%%");
	snprintf(s.gates[2].name, sizeof(s.gates[2].name), "latency-p99");
	s.gates[2].verdict = CANARY_WAIT;
	snprintf(s.gates[2].threshold, sizeof(s.gates[2].threshold), "<= 500ms");
	assert_int_equal(canary_state_format(&text, &s), 0);
	/* health has neither: left out */
	assert_non_null(
	        strstr(text.ptr, "{\"name\":\"health\",\"verdict\":\"PASS\",\"message\":\"1/1 canary pods Ready\"}"));
	assert_non_null(strstr(text.ptr, "\"value\":\"5.2%\",\"threshold\":\"<= 1%\"}"));
	assert_non_null(strstr(text.ptr, "{\"name\":\"latency-p99\",\"verdict\":\"WAIT\",\"threshold\":\"<= 500ms\"}"));
	if (canary_state_parse(&again, text.ptr, text.len, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(again.gate_count, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(again.gates[i].name, s.gates[i].name);
		assert_int_equal(again.gates[i].verdict, s.gates[i].verdict);
		assert_string_equal(again.gates[i].message, s.gates[i].message);
		assert_string_equal(again.gates[i].value, s.gates[i].value);
		assert_string_equal(again.gates[i].threshold, s.gates[i].threshold);
	}
	kube_buf_dispose(&text);
	/* a value of the wrong type is a damaged state */
	const char *bad = "{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"name\":\"x\",\"verdict\":\"PASS\","
	                  "\"value\":5}]}";
	assert_int_equal(canary_state_parse(&again, bad, strlen(bad), err, sizeof(err)), -1);
	assert_string_equal(err, "gates[0].value: not a string");
}

static void test_canary_metric__summary_of_failures_only(void **state)
{
	canary_gate_record records[3];
	char buf[128];
	(void)state;
	memset(records, 0, sizeof(records));
	snprintf(records[0].name, sizeof(records[0].name), "health");
	records[0].verdict = CANARY_WAIT;
	snprintf(records[0].message, sizeof(records[0].message), "0/1 canary pods Ready");
	snprintf(records[1].name, sizeof(records[1].name), "error-rate");
	records[1].verdict = CANARY_FAIL;
	snprintf(records[1].message, sizeof(records[1].message), "canary error rate 30%%");
	snprintf(records[2].name, sizeof(records[2].name), "cpu");
	records[2].verdict = CANARY_FAIL;
	snprintf(records[2].message, sizeof(records[2].message), "value 0.7 > max 0.5");
	canary_gates_summary_of(buf, sizeof(buf), records, 3, CANARY_FAIL);
	assert_string_equal(buf, "error-rate: canary error rate 30%; cpu: value 0.7 > max 0.5");
	canary_gates_summary(buf, sizeof(buf), records, 3);
	assert_string_equal(buf, "health: 0/1 canary pods Ready; error-rate: canary error rate 30%; cpu: value 0.7 > "
	                         "max 0.5");
	canary_gates_summary_of(buf, 20, records, 3, CANARY_FAIL);
	assert_string_equal(buf, "error-rate: cana...");
	canary_gates_summary_of(buf, sizeof(buf), records, 3, CANARY_PASS);
	assert_string_equal(buf, "");
}

/* --- queries on the wire ------------------------------------------------ */

static int group_setup(void **state)
{
	return test_tmpdir_setup(state);
}

static int group_teardown(void **state)
{
	return test_tmpdir_teardown(state);
}

static const char vector_reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                                   "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\""
                                   ":{},\"value\":[1795515970.959,\"0.25\"]}]}}";
static const char error_reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: "
                                  "close\r\n\r\n{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid "
                                  "parameter \\\"query\\\": 1:8: parse error: unexpected end of input inside braces\"}";
static const char proxy_503[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: "
        "close\r\n\r\n{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
        "\"Failure\",\"message\":\"no endpoints available for service \\\"prom\\\"\",\"reason\":"
        "\"ServiceUnavailable\",\"code\":503}";

static void test_canary_metric__queries_directly(void **state)
{
	struct test_api api;
	const char *replies[] = {vector_reply, error_reply, NULL};
	canary_prom_addr addr;
	canary_prom_result r;
	char url[128];
	(void)state;
	test_api_start(&api, replies, NULL, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/prom/", api.srv.port);
	assert_int_equal(canary_prom_addr_parse(&addr, url, NULL, 0), 0);
	assert_int_equal(canary_prom_query(&r, NULL, &addr, "sum(up{job=\"a b\"})"), 0);
	assert_int_equal(r.kind, CANARY_PROM_VALUE);
	assert_true(r.value == 0.25);
	/* Prometheus is asked to give up after 5 s */
	const char *line = test_server_request_line(&api.srv, 0);
	assert_string_equal(line,
	                    "GET /prom/api/v1/query?query=sum%28up%7Bjob%3D%22a%20b%22%7D%29&timeout=5s HTTP/1.1");
	assert_null(strstr(api.srv.requests[0], "Authorization:"));
	assert_int_equal(canary_prom_query(&r, NULL, &addr, "sum(up{"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 0);
	assert_string_equal(r.error, "bad_data: invalid parameter \"query\": 1:8: parse error: unexpected end of input "
	                             "inside braces");
	/* nothing listens any more: unreachable, naming the address */
	int port = api.srv.port;
	test_api_stop(&api);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	assert_int_equal(canary_prom_addr_parse(&addr, url, NULL, 0), 0);
	assert_int_equal(canary_prom_query(&r, NULL, &addr, "up"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 1);
	char want[128];
	snprintf(want, sizeof(want), "Prometheus http://127.0.0.1:%d is unreachable: ", port);
	if (strncmp(r.error, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", r.error, want);
}

/* A reply larger than the cap: refused, not read on. */
static const char *huge_reply(const char *request)
{
	static char *reply;
	(void)request;
	if (!reply) {
		size_t size = CANARY_PROM_BODY_MAX + 4096;
		reply = malloc(size + 1);
		assert_non_null(reply);
		int n = snprintf(reply, size,
		                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
		                 "close\r\n\r\n{\"status\":\"success\",\"x\":\"");
		memset(reply + n, 'x', size - (size_t)n);
		reply[size] = '\0';
	}
	return reply;
}

static void test_canary_metric__caps_direct_replies(void **state)
{
	struct test_api api;
	canary_prom_addr addr;
	canary_prom_result r;
	char url[64];
	(void)state;
	test_api_start(&api, NULL, huge_reply, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", api.srv.port);
	assert_int_equal(canary_prom_addr_parse(&addr, url, NULL, 0), 0);
	assert_int_equal(canary_prom_query(&r, NULL, &addr, "up"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_non_null(strstr(r.error, "a reply larger than 1048576 bytes"));
	test_api_stop(&api);
}

static void test_canary_metric__queries_through_the_service_proxy(void **state)
{
	struct test_api api;
	const char *replies[] = {vector_reply, error_reply, proxy_503, proxy_503, proxy_503,
	                         proxy_503,    proxy_503,   proxy_503, NULL};
	canary_prom_addr addr;
	canary_prom_result r;
	(void)state;
	test_api_start(&api, replies, NULL, NULL);
	assert_int_equal(canary_prom_addr_parse(&addr, "https:monitoring/prometheus:web", NULL, 0), 0);
	assert_int_equal(canary_prom_query(&r, api.client, &addr, "sum(up)"), 0);
	assert_int_equal(r.kind, CANARY_PROM_VALUE);
	assert_true(r.value == 0.25);
	assert_string_equal(test_server_request_line(&api.srv, 0),
	                    "GET /api/v1/namespaces/monitoring/services/https:prometheus:web/proxy/api/v1/query?query="
	                    "sum%28up%29&timeout=5s HTTP/1.1");
	/* Prometheus's own error, passed through */
	assert_int_equal(canary_prom_query(&r, api.client, &addr, "sum(up{"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 0);
	assert_non_null(strstr(r.error, "bad_data: invalid parameter"));
	/* the API server's: no endpoints (the client does not retry here) */
	assert_int_equal(canary_prom_query(&r, api.client, &addr, "sum(up)"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 1);
	assert_string_equal(r.error, "Prometheus https:monitoring/prometheus:web through the API server: HTTP 503: no "
	                             "endpoints available for service \"prom\"");
	test_api_stop(&api);
}

/* A client that retries (5 times, as commands' clients do) still asks a
 * proxied query once: a 5xx is an answer, and the gate asks again at its
 * next measurement rather than holding the run for the retries. */
static void test_canary_metric__proxied_queries_are_not_retried(void **state)
{
	struct test_api api;
	const char *replies[] = {proxy_503, proxy_503, proxy_503, proxy_503, proxy_503, proxy_503, vector_reply, NULL};
	kube_client *client = NULL;
	canary_prom_addr addr;
	canary_prom_result r;
	(void)state;
	test_api_start(&api, replies, NULL, NULL);
	assert_int_equal(kube_client_new(&client, api.config, NULL), 0);
	assert_int_equal(canary_prom_addr_parse(&addr, "monitoring/prometheus", NULL, 0), 0);
	assert_int_equal(canary_prom_query(&r, client, &addr, "sum(up)"), 0);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 1);
	assert_int_equal(atomic_load(&api.srv.served), 1);
	assert_int_equal(kube_client_request_count(client), 1);
	kube_client_free(client);
	test_api_stop(&api);
}

/* A service proxy that never answers: released by the test when done. */
static atomic_int hang_released;

static const char *hanging_reply(const char *request)
{
	(void)request;
	for (int i = 0; i < 3000 && !atomic_load(&hang_released); i++) {
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A query through a proxy that hangs ends after CANARY_PROM_REQUEST_MS
 * (no request timeout configured, a client that retries), unreachable. */
static void test_canary_metric__proxied_queries_are_bounded(void **state)
{
	struct test_api api;
	kube_client *client = NULL;
	canary_prom_addr addr;
	canary_prom_result r;
	(void)state;
	atomic_store(&hang_released, 0);
	test_api_start(&api, NULL, hanging_reply, NULL);
	assert_int_equal(kube_client_new(&client, api.config, NULL), 0);
	assert_int_equal(canary_prom_addr_parse(&addr, "monitoring/prometheus:9090", NULL, 0), 0);
	long long started = monotonic_ms();
	assert_int_equal(canary_prom_query(&r, client, &addr, "sum(up)"), 0);
	long long took = monotonic_ms() - started;
	atomic_store(&hang_released, 1);
	if (took < CANARY_PROM_REQUEST_MS - 100 || took > CANARY_PROM_REQUEST_MS + 1500)
		fail_msg("the query took %lld ms, want about %ld", took, CANARY_PROM_REQUEST_MS);
	assert_int_equal(r.kind, CANARY_PROM_ERROR);
	assert_int_equal(r.unreachable, 1);
	if (strncmp(r.error, "Prometheus monitoring/prometheus:9090 through the API server: timed out", 70) != 0)
		fail_msg("\"%s\"", r.error);
	assert_one_line(r.error);
	assert_int_equal(kube_client_request_count(client), 1);
	kube_client_free(client);
	test_api_stop(&api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_metric__parses_addresses),
	        cmocka_unit_test(test_canary_metric__rejects_bad_addresses),
	        cmocka_unit_test(test_canary_metric__parses_real_replies),
	        cmocka_unit_test(test_canary_metric__refuses_what_is_no_reply),
	        cmocka_unit_test(test_canary_metric__error_rate_rule),
	        cmocka_unit_test(test_canary_metric__error_rate_settings),
	        cmocka_unit_test(test_canary_metric__latency_rule),
	        cmocka_unit_test(test_canary_metric__custom_metric_measured_once),
	        cmocka_unit_test(test_canary_metric__custom_metric_counts_in_a_step),
	        cmocka_unit_test(test_canary_metric__fail_message_fits_with_a_long_query),
	        cmocka_unit_test(test_canary_metric__records_keep_value_and_threshold),
	        cmocka_unit_test(test_canary_metric__summary_of_failures_only),
	        cmocka_unit_test(test_canary_metric__queries_directly),
	        cmocka_unit_test(test_canary_metric__caps_direct_replies),
	        cmocka_unit_test(test_canary_metric__queries_through_the_service_proxy),
	        cmocka_unit_test(test_canary_metric__proxied_queries_are_not_retried),
	        cmocka_unit_test(test_canary_metric__proxied_queries_are_bounded),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
