/* Tests for the credential dispatcher: static tokens and basic auth,
 * tokenFile re-reads, allocation failures while choosing a source, and
 * refusals of removed auth-providers. Exec plugins and oidc have their
 * own suites (test_auth_exec.c, test_auth_oidc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/error.h>

#include "auth.h"
#include "auth_exec.h"
#include "test_support.h"

#define V1       "client.authentication.k8s.io/v1"
#define S(x)     ((char *)(x)) /* kube_rest's fields are not const */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- static credentials and tokenFile ------------------------------------------------------------------------ */

static void test_auth__static_token_and_basic_auth(void **state)
{
	(void)state;
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.token = S("static");
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "static");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	rest.token = NULL;
	rest.username = S("admin");
	rest.password = S("hunter2");
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_null(creds.bearer);
	assert_string_equal(creds.username, "admin");
	assert_string_equal(creds.password, "hunter2");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	rest.token = S("static");
	test_assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "username/password or bearer token may be set");
}

static void test_auth__token_file_reread_when_changed(void **state)
{
	(void)state;
	char path[512];
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.token_file = S(test_tmp_path(path, sizeof(path), "token"));

	unlink(path);
	test_assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, "failed to read token file");
	test_write_text(path, "  \n");
	test_assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, "read empty token from file");

	test_write_text(path, "first-token\n");
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "first-token");
	assert_int_equal(kube_auth_unauthorized(auth), 0); /* same contents: no point retrying */

	test_write_text(path, "second-token-longer\n");
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "second-token-longer");

	test_write_text(path, "third-token-longer!\n"); /* same size: caught by mtime/ctime or on 401 */
	assert_int_equal(kube_auth_unauthorized(auth), 1);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "third-token-longer!");

	unlink(path); /* unreadable now: the last good token stays */
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "third-token-longer!");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);
}

/* Every allocation kube_auth_new makes may fail: each failure is reported
 * as KUBE_ENOMEM and leaks nothing (ASan's leak check runs at exit). */
static void test_auth__new_reports_every_allocation_failure(void **state)
{
	(void)state;
	char token_path[512], command[512];
	struct kube_exec_config exec = {0};
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url",
	                        "http://127.0.0.1:1", "idp-certificate-authority-data",
	                        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmJhego=", "refresh-token", "r");
	struct kube_auth_provider provider = {S("oidc"), cfg, S("/nonexistent/kubeconfig"), S("oidc-user")};
	struct kube_rest token_rest = {0}, oidc_rest = {0}, exec_rest = {0};
	token_rest.token_file = S(test_tmp_path(token_path, sizeof(token_path), "token"));
	test_write_text(token_path, "file-token\n");
	oidc_rest.auth_provider = &provider;
	(void)snprintf(command, sizeof(command), "%s", test_fixture_path("auth/exec_token.sh"));
	exec.command = command;
	exec.api_version = S(V1);
	exec.interactive_mode = S("Never");
	exec.provide_cluster_info = 1;
	exec.cluster_config = cfg;
	exec_rest.server = S("https://127.0.0.1:6443");
	exec_rest.exec = &exec;
	exec_rest.ca_data = S("pem"), exec_rest.ca_data_len = 3;
	const struct kube_rest *rests[] = {&token_rest, &oidc_rest, &exec_rest};
	for (size_t i = 0; i < COUNT(rests); i++) {
		for (long n = 1;; n++) {
			struct kube_auth *auth = NULL;
			test_alloc_fail_at(n);
			int rc = kube_auth_new(&auth, rests[i]);
			long used = test_alloc_count();
			test_alloc_fail_at(0);
			kube_auth_free(auth);
			if (used < n) {
				assert_int_equal(rc, 0);
				break;
			}
			assert_int_equal(rc, KUBE_ENOMEM);
			assert_null(auth);
		}
	}
	json_decref(cfg);
}

/* ---- auth-providers ------------------------------------------------------------------------------------------ */

static void test_auth__removed_auth_providers_name_replacements(void **state)
{
	(void)state;
	static const struct {
		const char *name, *expect;
	} cases[] = {
	        {"gcp", "install gke-gcloud-auth-plugin and use an exec credential"},
	        {"azure", "install kubelogin"},
	        {"keystone", "unknown auth-provider keystone"},
	};
	struct kube_auth *auth = NULL;
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct kube_auth_provider provider = {S(cases[i].name), NULL, NULL, NULL};
		struct kube_rest rest = {0};
		rest.auth_provider = &provider;
		test_assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, cases[i].expect);
		assert_null(strchr(kube_error_last()->message, '\n'));
		assert_null(auth);
	}
	struct kube_exec_config exec = {0};
	struct kube_auth_provider provider = {S("gcp"), NULL, NULL, NULL};
	struct kube_rest rest = {0};
	rest.exec = &exec;
	rest.auth_provider = &provider;
	test_assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "execProvider and authProvider cannot be used");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_auth__static_token_and_basic_auth),
	        cmocka_unit_test(test_auth__token_file_reread_when_changed),
	        cmocka_unit_test(test_auth__new_reports_every_allocation_failure),
	        cmocka_unit_test(test_auth__removed_auth_providers_name_replacements),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
