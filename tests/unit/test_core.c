/* Unit tests of libkube's primitives: the growable buffer, the error
 * record, the token bucket, resource paths and log redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kube/buf.h>
#include <kube/client.h>
#include <kube/error.h>

#include "client_internal.h"
#include "internal.h"
#include "ratelimit.h"
#include "redact.h"
#include "test_support.h"

static void test_core__buf_grows_and_stays_terminated(void **state)
{
	(void)state;
	kube_buf buf = KUBE_BUF_INIT;
	assert_string_equal(kube_buf_cstr(&buf), "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kube_buf_printf(&buf, "%d,", i), 0);
	assert_int_equal(buf.len, strlen(buf.ptr));
	assert_true(strncmp(buf.ptr, "0,1,2,", 6) == 0);
	kube_buf_consume(&buf, 2);
	assert_true(strncmp(buf.ptr, "1,2,", 4) == 0);
	kube_buf_dispose(&buf);
	assert_null(buf.ptr);
}

static void test_core__buf_limit_refuses_growth(void **state)
{
	(void)state;
	kube_buf buf = KUBE_BUF_INIT;
	buf.limit = 8;
	assert_int_equal(kube_buf_puts(&buf, "12345678"), 0);
	assert_int_equal(kube_buf_puts(&buf, "9"), KUBE_EPROTOCOL);
	assert_int_equal(buf.len, 8);
	kube_buf_dispose(&buf);
}

static void test_core__buf_urlescape(void **state)
{
	(void)state;
	kube_buf buf = KUBE_BUF_INIT;
	assert_int_equal(kube_buf_put_urlescaped(&buf, "app=web,tier in (a b)/x~y_z.-"), 0);
	assert_string_equal(buf.ptr, "app%3Dweb%2Ctier%20in%20%28a%20b%29%2Fx~y_z.-");
	kube_buf_dispose(&buf);
}

static void test_core__buf_allocation_failure(void **state)
{
	(void)state;
	kube_buf buf = KUBE_BUF_INIT;
	test_alloc_fail_at(1);
	assert_int_equal(kube_buf_puts(&buf, "x"), KUBE_ENOMEM);
	test_alloc_fail_at(0);
	assert_null(buf.ptr);
}

static void test_core__error_keeps_server_status(void **state)
{
	(void)state;
	kube_error_clear();
	assert_int_equal(kube_error_last()->code, 0);
	kube_error_set_http(KUBE_EFORBIDDEN, 403, "Forbidden", "pods is forbidden: User \"x\"\nsecond line",
	                    "GET %s: %s", "/api/v1/pods", "forbidden");
	const kube_error *err = kube_error_last();
	assert_int_equal(err->code, KUBE_EFORBIDDEN);
	assert_int_equal(err->http_status, 403);
	assert_string_equal(err->reason, "Forbidden");
	/* one line only */
	assert_string_equal(err->server_message, "pods is forbidden: User \"x\"");
	assert_string_equal(err->message, "GET /api/v1/pods: forbidden");
	kube_error_wrap("list pods");
	assert_string_equal(kube_error_last()->message, "list pods: GET /api/v1/pods: forbidden");
	assert_string_equal(kube_error_name(KUBE_EFORBIDDEN), "KUBE_EFORBIDDEN");
	assert_string_equal(kube_error_name(-999), "KUBE_ERROR");
}

static void test_core__ratelimit_burst_then_qps(void **state)
{
	(void)state;
	struct kube_ratelimit rl;
	kube_ratelimit_init(&rl, 10, 3, 1000);
	assert_int_equal(kube_ratelimit_take(&rl, 1000), 0);
	assert_int_equal(kube_ratelimit_take(&rl, 1000), 0);
	assert_int_equal(kube_ratelimit_take(&rl, 1000), 0);
	/* bucket empty: the fourth waits one token's worth (100 ms at 10 qps) */
	assert_int_equal(kube_ratelimit_take(&rl, 1000), 100);
	/* 250 ms later 2.5 tokens refilled, 1 owed: one more is free */
	assert_int_equal(kube_ratelimit_take(&rl, 1250), 0);
}

static void test_core__resource_paths(void **state)
{
	(void)state;
	static const struct {
		kube_resource res;
		const char *ns, *name, *sub, *want;
	} cases[] = {
	        {{"", "v1", "pods", "Pod", 1}, "default", "web-1", "log", "/api/v1/namespaces/default/pods/web-1/log"},
	        {{"apps", "v1", "deployments", "Deployment", 1},
	         "team a",
	         "web",
	         "scale",
	         "/apis/apps/v1/namespaces/team%20a/deployments/web/scale"},
	        {{"apps", "v1", "deployments", "Deployment", 1}, NULL, NULL, NULL, "/apis/apps/v1/deployments"},
	        {{"", "v1", "nodes", "Node", 0}, "ignored", "n1", NULL, "/api/v1/nodes/n1"},
	        {{"coordination.k8s.io", "v1", "leases", "Lease", 1},
	         "x",
	         "a/b",
	         NULL,
	         "/apis/coordination.k8s.io/v1/namespaces/x/leases/a%2Fb"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kube_buf path = KUBE_BUF_INIT;
		assert_int_equal(kube_resource_path(&path, &cases[i].res, cases[i].ns, cases[i].name, cases[i].sub), 0);
		assert_string_equal(path.ptr, cases[i].want);
		kube_buf_dispose(&path);
	}
}

static void test_core__redact_secret_data_and_tokens(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *must_not_contain;
		const char *must_contain;
	} cases[] = {
	        {"{\"kind\":\"Secret\",\"data\":{\"password\":\"aHVudGVyMg==\"}}", "aHVudGVyMg==", "<redacted>"},
	        {"{\"kind\":\"SecretList\",\"items\":[{\"data\":{\"k\":\"c2VjcmV0\"},\"stringData\":{\"s\":\"plain\"}}]"
	         "}",
	         "c2VjcmV0", "<redacted>"},
	        {"{\"kind\":\"SecretList\",\"items\":[{\"stringData\":{\"s\":\"plain-secret\"}}]}", "plain-secret",
	         "<redacted>"},
	        {"{\"kind\":\"TokenRequest\",\"status\":{\"token\":\"eyJhbGciOi\"}}", "eyJhbGciOi", "<redacted>"},
	        {"{\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"-----BEGIN\"}}", "-----BEGIN",
	         "<redacted>"},
	        {"{\"kind\":\"ConfigMap\",\"data\":{\"color\":\"blue\"}}", "<redacted>", "blue"},
	        {"plain text with -----BEGIN RSA PRIVATE KEY----- inside", "BEGIN RSA", "private key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kube_buf out = KUBE_BUF_INIT;
		assert_int_equal(kube_redact_body(&out, cases[i].body, strlen(cases[i].body), 10240), 0);
		if (strstr(out.ptr, cases[i].must_not_contain))
			fail_msg("case %zu leaked: %s", i, out.ptr);
		if (!strstr(out.ptr, cases[i].must_contain))
			fail_msg("case %zu lacks %s: %s", i, cases[i].must_contain, out.ptr);
		kube_buf_dispose(&out);
	}
}

static void test_core__redact_headers(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	        {"Authorization: Bearer abc.def", "Authorization: Bearer <masked>"},
	        {"authorization: Basic dXNlcjpwYXNz", "authorization: Basic <masked>"},
	        {"Authorization: opaque", "Authorization: <masked>"},
	        {"Proxy-Authorization: Basic eA==", "Proxy-Authorization: Basic <masked>"},
	        {"Accept: application/json", "Accept: application/json"},
	        {"Impersonate-User: alice", "Impersonate-User: alice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kube_buf out = KUBE_BUF_INIT;
		assert_int_equal(kube_redact_header(&out, cases[i].in), 0);
		assert_string_equal(out.ptr, cases[i].want);
		kube_buf_dispose(&out);
	}
}

static void test_core__redact_truncates_long_text(void **state)
{
	(void)state;
	char body[100];
	memset(body, 'x', sizeof(body));
	kube_buf out = KUBE_BUF_INIT;
	assert_int_equal(kube_redact_body(&out, body, sizeof(body), 10), 0);
	assert_string_equal(out.ptr, "xxxxxxxxxx... (100 bytes)");
	kube_buf_dispose(&out);
}

static void test_core__http_status_mapping_keeps_server_message(void **state)
{
	(void)state;
	static const struct {
		long status;
		int code;
	} cases[] = {
	        {400, KUBE_EINVALID},  {401, KUBE_EAUTH},    {403, KUBE_EFORBIDDEN}, {404, KUBE_ENOTFOUND},
	        {409, KUBE_ECONFLICT}, {410, KUBE_EGONE},    {422, KUBE_EINVALID},   {429, KUBE_ENETWORK},
	        {500, KUBE_ENETWORK},  {503, KUBE_ENETWORK}, {504, KUBE_ETIMEOUT},   {302, KUBE_EPROTOCOL},
	};
	const char *status_json = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
	                          "\"message\":\"pods \\\"x\\\" is forbidden\",\"reason\":\"Forbidden\",\"code\":403}";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kube_buf body = KUBE_BUF_INIT;
		assert_int_equal(kube_buf_puts(&body, status_json), 0);
		assert_int_equal(kube_http_status_error(cases[i].status, &body, "GET", "/api/v1/pods/x"),
		                 cases[i].code);
		const kube_error *err = kube_error_last();
		assert_int_equal(err->http_status, cases[i].status);
		assert_string_equal(err->reason, "Forbidden");
		assert_string_equal(err->server_message, "pods \"x\" is forbidden");
		assert_string_equal(err->message, "GET /api/v1/pods/x: pods \"x\" is forbidden");
		kube_buf_dispose(&body);
	}
	/* A body that is not a Status: the HTTP status speaks. */
	kube_buf html = KUBE_BUF_INIT;
	assert_int_equal(kube_buf_puts(&html, "<html>bad gateway</html>"), 0);
	assert_int_equal(kube_http_status_error(502, &html, "GET", "/x"), KUBE_ENETWORK);
	assert_string_equal(kube_error_last()->message, "GET /x: server error (HTTP 502)");
	assert_string_equal(kube_error_last()->server_message, "");
	kube_buf_dispose(&html);
}

static void test_core__redact_last_applied_secret(void **state)
{
	(void)state;
	/* kubectl apply keeps a copy of the Secret's data in an annotation */
	const char *body = "{\"kind\":\"Secret\",\"metadata\":{\"annotations\":{"
	                   "\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"data\\\":{\\\"k\\\":"
	                   "\\\"c2VjcmV0\\\"}}\"}},\"data\":{\"k\":\"c2VjcmV0\"}}";
	kube_buf out = KUBE_BUF_INIT;
	assert_int_equal(kube_redact_body(&out, body, strlen(body), 10240), 0);
	assert_null(strstr(out.ptr, "c2VjcmV0"));
	assert_non_null(strstr(out.ptr, "last-applied-configuration\":\"<redacted>\""));
	kube_buf_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_core__buf_grows_and_stays_terminated),
	        cmocka_unit_test(test_core__buf_limit_refuses_growth),
	        cmocka_unit_test(test_core__buf_urlescape),
	        cmocka_unit_test(test_core__buf_allocation_failure),
	        cmocka_unit_test(test_core__error_keeps_server_status),
	        cmocka_unit_test(test_core__ratelimit_burst_then_qps),
	        cmocka_unit_test(test_core__resource_paths),
	        cmocka_unit_test(test_core__redact_secret_data_and_tokens),
	        cmocka_unit_test(test_core__redact_headers),
	        cmocka_unit_test(test_core__redact_last_applied_secret),
	        cmocka_unit_test(test_core__redact_truncates_long_text),
	        cmocka_unit_test(test_core__http_status_mapping_keeps_server_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
