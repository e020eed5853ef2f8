/* Tests of common/cli/redact.c: every shape of credential the CLI masks
 * in log lines (headers, bearer tokens, JSON values at any depth of
 * escaping, Secrets, PEM and base64 keys, JWTs, form parameters), table-
 * driven, and its behaviour when memory runs out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "cli/cli.h"
#include "test_support.h"

static const struct {
	const char *in;
	const char *out;
} redactions[] = {
        {"Authorization: Bearer abc.def-123", "Authorization: Bearer <masked>"},
        {"authorization: basic dXNlcjpwYXNz", "authorization: basic <masked>"},
        {"Proxy-Authorization: Basic Zm9vOmJhcg==", "Proxy-Authorization: Basic <masked>"},
        {"Authorization: sometoken", "Authorization: <masked>"},
        {"Authorization: Bearer <masked>", "Authorization: Bearer <masked>"},
        {"curl -H \"Authorization: Bearer abc\" https://x", "curl -H \"Authorization: Bearer <masked>\" https://x"},
        {"map[Authorization:[Bearer abc] Accept:[json]]", "map[Authorization:[Bearer <masked>] Accept:[json]]"},
        {"map[Authorization:[Basic Zm9v]]", "map[Authorization:[Basic <masked>]]"},
        {"{\"header\":\"Bearer abc\"}", "{\"header\":\"Bearer <masked>\"}"},
        {"using bearer token from /var/run/token", "using bearer token from /var/run/token"},
        {"{\"token\":\"abc\"}", "{\"token\":\"<redacted>\"}"},
        {"{\"Token\": \"abc\", \"tokenFile\": \"/f\"}", "{\"Token\": \"<redacted>\", \"tokenFile\": \"/f\"}"},
        {"{\"kind\":\"ExecCredential\",\"status\":{\"token\": \"abc\",\"expirationTimestamp\":\"2024\"}}",
         "{\"kind\":\"ExecCredential\",\"status\":{\"token\": \"<redacted>\",\"expirationTimestamp\":\"2024\"}}"},
        {"{\"id-token\":\"a\",\"refresh-token\":\"b\",\"name\":\"c\"}",
         "{\"id-token\":\"<redacted>\",\"refresh-token\":\"<redacted>\",\"name\":\"c\"}"},
        {"{\"password\":\"p\\\"q\\\\\",\"user\":\"u\"}", "{\"password\":\"<redacted>\",\"user\":\"u\"}"},
        {"{\"client-key-data\":\"AAAA\",\"client-certificate-data\":\"BBBB\"}",
         "{\"client-key-data\":\"<redacted>\",\"client-certificate-data\":\"BBBB\"}"},
        {"{\"Authorization\": \"Bearer abc\"}", "{\"Authorization\": \"<redacted>\"}"},
        {"{\"token\":null,\"n\":1}", "{\"token\":null,\"n\":1}"},
        {"{\"token\":\"abc", "{\"token\":\"<redacted>"},
        {"{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"YQ==\",\"b\": "
         "\"Yg==\"},\"type\":\"Opaque\"}",
         "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"<redacted>\","
         "\"b\": \"<redacted>\"},\"type\":\"Opaque\"}"},
        {"{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"x\"},\"data\":{\"k\":\"dg==\"}}]}",
         "{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"x\"},\"data\":{\"k\":\"<redacted>\"}}]}"},
        {"{\"kind\":\"Secret\",\"stringData\":{\"k\":\"plain\"}}",
         "{\"kind\":\"Secret\",\"stringData\":{\"k\":\"<redacted>\"}}"},
        {"{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\"}}", "{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\"}}"},
        {"{\"kind\":\"Secret\",\"data\":{\"pw\":\"c2Vj", "{\"kind\":\"Secret\",\"data\":{\"pw\":\"<redacted>"},
        /* last-applied-configuration: sorted keys put data before kind */
        {"{\"metadata\":{\"annotations\":{\"last-applied\":\"{\\\"data\\\":{\\\"pw\\\":\\\"c2Vj\\\"},\\\"kind\\\":"
         "\\\"Secret\\\"}\\n\"}},\"kind\":\"Secret\",\"data\":{\"pw\":\"c2Vj\"}}",
         "{\"metadata\":{\"annotations\":{\"last-applied\":\"{\\\"data\\\":{\\\"pw\\\":\\\"<redacted>\\\"},"
         "\\\"kind\\\":\\\"Secret\\\"}\\n\"}},\"kind\":\"Secret\",\"data\":{\"pw\":\"<redacted>\"}}"},
        {"{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"token\\\\\\\":\\\\\\\"s\\\\\\\"}\\\"}\"}",
         "{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"token\\\\\\\":\\\\\\\"<redacted>\\\\\\\"}\\\"}\"}"},
        {"key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
         "key: -----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----\n"},
        {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
         "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
        {"{\"key\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n\"}",
         "{\"key\":\"-----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----\\n\"}"},
        {"-----BEGIN EC PRIVATE KEY-----\nMHcC", "-----BEGIN EC PRIVATE KEY-----<redacted>"},
        {"client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBCi0tLS0tRU5EIFJTQSBQUklWQVRF"
         "IEtFWS0tLS0tCg==\n",
         "client-key-data: <redacted>\n"},
        {"certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIy",
         "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIy"},
        {"token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_x used", "token <masked> used"},
        {"grant_type=refresh_token&refresh_token=abc&client_secret=def&client_id=kube",
         "grant_type=refresh_token&refresh_token=<masked>&client_secret=<masked>&client_id=kube"},
        {"GET https://x/p?token=abc&watch=1", "GET https://x/p?token=<masked>&watch=1"},
        {"GET https://10.0.0.1:6443/api/v1/namespaces/default/pods 200 OK in 5 milliseconds",
         "GET https://10.0.0.1:6443/api/v1/namespaces/default/pods 200 OK in 5 milliseconds"},
        {"", ""},
};

static void test_cli_redact__table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(redactions) / sizeof(redactions[0]); i++) {
		char *out = cli_redact_string(redactions[i].in);
		assert_non_null(out);
		if (strcmp(out, redactions[i].out) != 0)
			fail_msg("case %zu:\n  in:   %s\n  got:  %s\n  want: %s", i, redactions[i].in, out,
			         redactions[i].out);
		/* idempotent: redacting twice changes nothing more */
		char *again = cli_redact_string(out);
		assert_string_equal(again, out);
		kube_free(again);
		kube_free(out);
	}
}

static void test_cli_redact__out_of_memory(void **state)
{
	(void)state;
	for (long n = 1; n < 40; n++) {
		kube_buf out = KUBE_BUF_INIT;
		test_alloc_fail_at(n);
		int rc = cli_redact(&out, redactions[19].in, strlen(redactions[19].in));
		test_alloc_fail_at(0);
		assert_true(rc == 0 || rc == KUBE_ENOMEM);
		if (rc == 0)
			assert_string_equal(kube_buf_cstr(&out), redactions[19].out);
		kube_buf_dispose(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cli_redact__table),
	        cmocka_unit_test(test_cli_redact__out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
