/* Tests for exec credential plugins: ExecCredential parsing, the plugin's
 * environment and KUBERNETES_EXEC_INFO, interactive modes, caching, and
 * failures, through auth_exec.c and the dispatcher in front of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/error.h>

#include "auth.h"
#include "auth_exec.h"
#include "test_support.h"

#define V1       "client.authentication.k8s.io/v1"
#define V1BETA1  "client.authentication.k8s.io/v1beta1"
#define S(x)     ((char *)(x)) /* kube_rest's fields are not const */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------------------------- */

/* kube_auth_new plus one kube_auth_get, both expected to succeed. */
static struct kube_auth *auth_open(const struct kube_rest *rest, struct kube_credentials *creds)
{
	struct kube_auth *auth = NULL;
	assert_int_equal(kube_auth_new(&auth, rest), 0);
	assert_int_equal(kube_auth_get(auth, creds), 0);
	return auth;
}

/* A kube_rest whose exec plugin is a fixture script; the script counts
 * its runs in counter and exec_dump.sh writes what it saw to dump. */
struct plugin {
	struct kube_rest rest;
	struct kube_exec_config exec;
	char *args[4];
	char *env[6];
	char env_buf[2][300];
	char command[512], counter[256], dump[256];
};

static void plugin_init(struct plugin *p, const char *script, const char *api_version, const char *arg0,
                        const char *arg1, const char *arg2)
{
	memset(p, 0, sizeof(*p));
	kube_exec_cache_clear(); /* each test starts with no credential shared */
	(void)snprintf(p->command, sizeof(p->command), "%s", test_fixture_path(script));
	p->exec.command = p->command;
	p->exec.api_version = S(api_version);
	p->exec.interactive_mode = S("Never");
	p->args[0] = S(arg0), p->args[1] = S(arg1), p->args[2] = S(arg2);
	p->exec.args = p->args;
	unlink(test_tmp_path(p->counter, sizeof(p->counter), "counter"));
	unlink(test_tmp_path(p->dump, sizeof(p->dump), "dump"));
	(void)snprintf(p->env_buf[0], sizeof(p->env_buf[0]), "ROLLGUARD_COUNTER=%s", p->counter);
	(void)snprintf(p->env_buf[1], sizeof(p->env_buf[1]), "ROLLGUARD_DUMP=%s", p->dump);
	p->env[0] = p->env_buf[0], p->env[1] = p->env_buf[1];
	p->exec.env = p->env;
	p->rest.server = S("https://127.0.0.1:6443");
	p->rest.exec = &p->exec;
}

static int plugin_runs(const struct plugin *p)
{
	char *text = test_read_text(p->counter);
	return text ? (int)strtol(text, NULL, 10) : 0;
}

/* ---- ExecCredential parsing (table-driven over fixture files) ------------------------------------------------ */

static void test_auth_exec__parses_credential_fixtures(void **state)
{
	(void)state;
	static const struct {
		const char *file, *api_version;
		int rc;
		const char *token_or_message; /* NULL: a certificate pair */
		int64_t expiry_s;
	} cases[] = {
	        {"cred_v1_token.json", V1, 0, "v1-token", 4071006245},
	        {"cred_v1beta1_token.json", V1BETA1, 0, "beta-token", 0},
	        {"cred_expiry_offset.json", V1, 0, "offset-token", 1907749800},
	        {"cred_no_kind.json", V1, 0, "no-kind-token", 0},
	        {"cred_cert.json", V1, 0, NULL, 0},
	        {"cred_wrong_version.json", V1, KUBE_EAUTH,
	         "exec plugin is configured to use API version " V1 ", plugin returned version " V1BETA1, 0},
	        {"cred_wrong_kind.json", V1, KUBE_EAUTH, "no kind \"Secret\" is registered", 0},
	        {"cred_no_status.json", V1, KUBE_EAUTH, "exec plugin didn't return a status field", 0},
	        {"cred_empty_status.json", V1, KUBE_EAUTH, "exec plugin didn't return a token or cert/key pair", 0},
	        {"cred_cert_only.json", V1, KUBE_EAUTH, "exec plugin returned only certificate or key, not both", 0},
	        {"cred_bad_time.json", V1, KUBE_EAUTH, "parsing time \"2030-02-30T00:00:00Z\"", 0},
	        {"cred_token_number.json", V1, KUBE_EAUTH, "status.token must be a string", 0},
	        {"cred_malformed.json", V1, KUBE_EAUTH, "exec plugin: decoding stdout", 0},
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		char path[128];
		size_t len;
		(void)snprintf(path, sizeof(path), "auth/%s", cases[i].file);
		char *data = test_fixture_read(path, &len);
		struct kube_exec_credential cred;
		int rc = kube_exec_credential_parse(&cred, cases[i].api_version, data, len);
		if (cases[i].rc) {
			test_assert_error(rc, cases[i].rc, cases[i].token_or_message);
			assert_null(cred.token);
		} else {
			assert_int_equal(rc, 0);
			if (cases[i].token_or_message)
				assert_string_equal(cred.token, cases[i].token_or_message);
			else
				assert_true(cred.key_pem && strstr(cred.cert_pem, "BEGIN CERTIFICATE"));
			assert_int_equal(cred.has_expiry, cases[i].expiry_s != 0);
			assert_int_equal(cred.expiry_s, cases[i].expiry_s);
		}
		kube_exec_credential_clear(&cred);
		free(data);
	}
}

/* jansson's lexer does not always report a failed allocation as such (it
 * may call the input malformed), so this asserts what the parser owns: no
 * leak, no crash, and nothing left in *out on any error. */
static void test_auth_exec__parse_never_leaks_under_allocation_failure(void **state)
{
	(void)state;
	size_t len;
	char *data = test_fixture_read("auth/cred_cert.json", &len);
	for (long n = 1;; n++) {
		struct kube_exec_credential cred;
		test_alloc_fail_at(n);
		int rc = kube_exec_credential_parse(&cred, V1, data, len);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc)
			assert_true(rc < 0 && !cred.token && !cred.cert_pem && !cred.key_pem);
		kube_exec_credential_clear(&cred);
		if (used < n)
			break;
	}
	free(data);
}

/* ---- exec plugins -------------------------------------------------------------------------------------------- */

static void test_auth_exec__v1_and_v1beta1_tokens(void **state)
{
	(void)state;
	static const char *const versions[] = {V1, V1BETA1};
	for (size_t i = 0; i < COUNT(versions); i++) {
		struct plugin p;
		struct kube_credentials creds;
		plugin_init(&p, "auth/exec_token.sh", versions[i], versions[i], "tok", NULL);
		struct kube_auth *auth = auth_open(&p.rest, &creds);
		assert_string_equal(creds.bearer, "tok-1");
		assert_null(creds.cert_pem);
		kube_auth_free(auth);
	}
}

static void test_auth_exec__info_and_environment(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_credentials creds;
	struct kube_exec_auth *exec;
	const struct kube_exec_credential *cred;
	struct kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	json_t *ext = json_pack("{s:s}", "audience", "rollguard");
	plugin_init(&p, "auth/exec_dump.sh", V1BETA1, V1BETA1, "second-arg", NULL);
	p.env[2] = S("FOO=bar");
	p.env[3] = S("ROLLGUARD_OVERRIDE=from-config");
	setenv("ROLLGUARD_PARENT", "from-parent", 1);
	setenv("ROLLGUARD_OVERRIDE", "from-parent", 1);
	p.exec.interactive_mode = NULL; /* v1beta1 default: IfAvailable */
	p.exec.provide_cluster_info = 1;
	p.exec.cluster_config = ext;
	p.rest.tls_server_name = S("kubernetes.internal");
	p.rest.ca_data = S("-----BEGIN CERTIFICATE-----\nbaz\n");
	p.rest.ca_data_len = strlen(p.rest.ca_data);
	p.rest.proxy_url = S("http://proxy.internal:3128");
	opts.stdin_is_tty = 0;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	assert_int_equal(kube_exec_auth_get(exec, &cred), 0);
	assert_string_equal(cred->token, "dumped");
	kube_exec_auth_free(exec);

	/* The current environment, overridden by the configured env. */
	char *dump = test_read_text(p.dump);
	assert_non_null(dump);
	assert_non_null(strstr(dump, "FOO=bar\n"));
	assert_non_null(strstr(dump, "PARENT=from-parent\n"));
	assert_non_null(strstr(dump, "OVERRIDE=from-config\n"));
	assert_non_null(strstr(dump, "ARGS=" V1BETA1 " second-arg\n"));
	assert_non_null(strstr(dump, "STDIN=/dev/null\n"));
	char *info_line = strstr(dump, "INFO=") + 5;
	*strchr(info_line, '\n') = '\0';
	json_t *info = json_loads(info_line, 0, NULL);
	json_t *expected = json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s, s:s, s:O}, s:b}}", "kind", "ExecCredential",
	                             "apiVersion", V1BETA1, "spec", "cluster", "server", "https://127.0.0.1:6443",
	                             "tls-server-name", "kubernetes.internal", "certificate-authority-data",
	                             "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmJhego=", "proxy-url",
	                             "http://proxy.internal:3128", "config", ext, "interactive", 0);
	assert_true(json_equal(info, expected));
	assert_string_equal(json_object_iter_key(json_object_iter(info)), "kind");
	json_decref(expected);
	json_decref(info);

	/* Without provideClusterInfo only spec.interactive is sent. */
	p.exec.provide_cluster_info = 0;
	kube_auth_free(auth_open(&p.rest, &creds));
	assert_non_null(strstr(test_read_text(p.dump), "INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1
	                                               "\",\"spec\":{\"interactive\":false}}\n"));
	json_decref(ext);
	unsetenv("ROLLGUARD_PARENT");
	unsetenv("ROLLGUARD_OVERRIDE");
}

static void test_auth_exec__interactive_modes(void **state)
{
	(void)state;
	static const struct {
		const char *mode;
		int tty, rc;
		const char *expect;
	} cases[] = {
	        {"Never", 1, 0, "\"interactive\":false"},
	        {"IfAvailable", 0, 0, "\"interactive\":false"},
	        {"IfAvailable", 1, 0, "\"interactive\":true"},
	        {"Always", 1, 0, "\"interactive\":true"},
	        {"Always", 0, KUBE_EAUTH,
	         "exec plugin cannot support interactive mode: standard input is not a terminal"},
	        {NULL, 1, KUBE_EAUTH, "exec plugin cannot support interactive mode: unknown interactiveMode: \"\""},
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct plugin p;
		struct kube_exec_auth *exec;
		const struct kube_exec_credential *cred;
		struct kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
		plugin_init(&p, "auth/exec_dump.sh", V1, V1, NULL, NULL);
		p.exec.interactive_mode = S(cases[i].mode);
		opts.stdin_is_tty = cases[i].tty;
		assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
		int rc = kube_exec_auth_get(exec, &cred);
		char *dump = test_read_text(p.dump);
		if (cases[i].rc) {
			test_assert_error(rc, cases[i].rc, cases[i].expect);
			assert_null(dump); /* the plugin never ran */
		} else {
			assert_int_equal(rc, 0);
			assert_true(dump && strstr(dump, cases[i].expect));
		}
		kube_exec_auth_free(exec);
	}
}

static void test_auth_exec__command_not_found_names_install_hint(void **state)
{
	(void)state;
	static const char *const commands[] = {"rollguard-no-such-plugin", "/nonexistent/rollguard-plugin"};
	for (size_t i = 0; i < COUNT(commands); i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		char expected[256];
		plugin_init(&p, "auth/exec_token.sh", V1, NULL, NULL, NULL);
		p.exec.command = S(commands[i]);
		p.exec.install_hint = S("Install the plugin:\n  brew install rollguard-login\n");
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		int rc = kube_auth_get(auth, &creds);
		(void)snprintf(expected, sizeof(expected), "exec: executable %s not found", commands[i]);
		test_assert_error(rc, KUBE_EAUTH, expected);
		test_assert_error(rc, KUBE_EAUTH, "Install the plugin: brew install rollguard-login");
		assert_null(strchr(kube_error_last()->message, '\n'));
		kube_auth_free(auth);
	}
}

static void test_auth_exec__failures_are_reported(void **state)
{
	(void)state;
	static const struct {
		const char *script, *arg, *expect;
	} cases[] = {
	        {"auth/exec_exit3.sh", NULL, "failed with exit code 3"},
	        {"auth/exec_cat.sh", "cred_wrong_version.json", "plugin returned version " V1BETA1},
	        {"auth/exec_cat.sh", "cred_malformed.json", "exec plugin: decoding stdout"},
	        {"auth/exec_cat.sh", "cred_cert_mismatch.json", "tls: private key does not match public key"},
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		char expected[600];
		plugin_init(&p, cases[i].script, V1, cases[i].arg, NULL, NULL);
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		test_assert_error(kube_auth_get(auth, &creds), KUBE_EAUTH, cases[i].expect);
		(void)snprintf(expected, sizeof(expected), "exec: executable %s failed with exit code 3", p.command);
		if (i == 0)
			assert_string_equal(kube_error_last()->message, expected);
		kube_auth_free(auth);
	}
}

static void test_auth_exec__client_certificate(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_cat.sh", V1, "cred_cert.json", NULL, NULL);
	struct kube_auth *auth = auth_open(&p.rest, &creds);
	assert_null(creds.bearer);
	assert_non_null(strstr(creds.cert_pem, "-----BEGIN CERTIFICATE-----\n"));
	assert_non_null(strstr(creds.key_pem, "-----BEGIN PRIVATE KEY-----\n"));
	kube_auth_free(auth);
}

static void test_auth_exec__caches_until_expiration(void **state)
{
	(void)state;
	static const struct {
		const char *expiry, *second_token;
		int runs;
	} cases[] = {
	        {"2099-01-01T00:00:00Z", "cached-1", 1}, /* still valid: cached */
	        {NULL, "cached-1", 1},                   /* no expiry: for the life of the process */
	        {"2001-01-01T00:00:00Z", "cached-2", 2}, /* expired: the plugin runs again */
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct plugin p;
		struct kube_credentials creds;
		plugin_init(&p, "auth/exec_token.sh", V1, V1, "cached", cases[i].expiry);
		struct kube_auth *auth = auth_open(&p.rest, &creds);
		assert_string_equal(creds.bearer, "cached-1");
		assert_int_equal(kube_auth_get(auth, &creds), 0);
		assert_string_equal(creds.bearer, cases[i].second_token);
		assert_int_equal(plugin_runs(&p), cases[i].runs);
		kube_auth_free(auth);
	}
}

static void test_auth_exec__unauthorized_reruns_once(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_token.sh", V1, V1, "rotated", NULL);
	struct kube_auth *auth = auth_open(&p.rest, &creds);
	assert_string_equal(creds.bearer, "rotated-1");
	assert_int_equal(kube_auth_unauthorized(auth), 1);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "rotated-2");
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_int_equal(plugin_runs(&p), 2);
	kube_auth_free(auth);
}

static void test_auth_exec__clients_share_one_plugin_run(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_credentials first, second;
	plugin_init(&p, "auth/exec_token.sh", V1, V1, "shared", NULL);
	/* two clients of one configuration (probecheck's list threads): one run */
	struct kube_auth *a = auth_open(&p.rest, &first);
	struct kube_auth *b = auth_open(&p.rest, &second);
	assert_string_equal(first.bearer, "shared-1");
	assert_string_equal(second.bearer, "shared-1");
	assert_int_equal(plugin_runs(&p), 1);
	/* a 401 drops the shared copy too: the next client runs the plugin */
	assert_int_equal(kube_auth_unauthorized(a), 1);
	assert_int_equal(kube_auth_get(a, &first), 0);
	assert_string_equal(first.bearer, "shared-2");
	struct kube_auth *c = auth_open(&p.rest, &second);
	assert_string_equal(second.bearer, "shared-2");
	assert_int_equal(plugin_runs(&p), 2);
	kube_auth_free(a);
	kube_auth_free(b);
	kube_auth_free(c);
}

static void test_auth_exec__timeout_and_output_cap(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_exec_auth *exec;
	const struct kube_exec_credential *cred;
	struct kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	time_t start = time(NULL);

	plugin_init(&p, "auth/exec_sleep.sh", V1, NULL, NULL, NULL);
	opts.timeout_ms = 300;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	test_assert_error(kube_exec_auth_get(exec, &cred), KUBE_EAUTH, "timed out");
	assert_true(time(NULL) - start < 5);
	kube_exec_auth_free(exec);

	plugin_init(&p, "auth/exec_flood.sh", V1, NULL, NULL, NULL);
	opts.timeout_ms = 0;
	opts.max_output = 4096;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	test_assert_error(kube_exec_auth_get(exec, &cred), KUBE_EAUTH, "wrote more than 4096 bytes to stdout");
	kube_exec_auth_free(exec);
}

static void test_auth_exec__ignored_when_other_credentials_given(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_auth *auth;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_token.sh", V1, V1, "unused", NULL);
	p.rest.token = S("flag-token");
	auth = auth_open(&p.rest, &creds);
	assert_string_equal(creds.bearer, "flag-token");
	kube_auth_free(auth);

	p.rest.token = NULL;
	p.rest.cert_data = S("cert"), p.rest.cert_data_len = 4;
	p.rest.key_data = S("key"), p.rest.key_data_len = 3;
	auth = auth_open(&p.rest, &creds);
	assert_null(creds.bearer);
	assert_int_equal(plugin_runs(&p), 0);
	kube_auth_free(auth);

	/* An invalid apiVersion is refused up front all the same. */
	p.exec.api_version = S("client.authentication.k8s.io/v1alpha1");
	test_assert_error(kube_auth_new(&auth, &p.rest), KUBE_ECONFIG, "exec plugin: invalid apiVersion");
	assert_null(auth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_auth_exec__parses_credential_fixtures),
	        cmocka_unit_test(test_auth_exec__parse_never_leaks_under_allocation_failure),
	        cmocka_unit_test(test_auth_exec__v1_and_v1beta1_tokens),
	        cmocka_unit_test(test_auth_exec__info_and_environment),
	        cmocka_unit_test(test_auth_exec__interactive_modes),
	        cmocka_unit_test(test_auth_exec__command_not_found_names_install_hint),
	        cmocka_unit_test(test_auth_exec__failures_are_reported),
	        cmocka_unit_test(test_auth_exec__client_certificate),
	        cmocka_unit_test(test_auth_exec__caches_until_expiration),
	        cmocka_unit_test(test_auth_exec__unauthorized_reruns_once),
	        cmocka_unit_test(test_auth_exec__clients_share_one_plugin_run),
	        cmocka_unit_test(test_auth_exec__timeout_and_output_cap),
	        cmocka_unit_test(test_auth_exec__ignored_when_other_credentials_given),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
