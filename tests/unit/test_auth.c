/* Tests for the credential layer: ExecCredential parsing, exec plugins
 * (environment, caching, failures), tokenFile, refusals of removed
 * auth-providers, and oidc against a local issuer on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "auth.h"
#include "auth_exec.h"
#include "auth_oidc.h"
#include "test_support.h"

#define V1       "client.authentication.k8s.io/v1"
#define V1BETA1  "client.authentication.k8s.io/v1beta1"
#define S(x)     ((char *)(x)) /* kube_rest's fields are not const */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/rollguard-auth-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	DIR *dir = opendir(tmpdir);
	struct dirent *entry;
	char path[512];
	while (dir && (entry = readdir(dir)) != NULL) {
		(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, entry->d_name);
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(tmpdir);
	return 0;
}

static const char *tmp_path(char *buf, size_t size, const char *name)
{
	(void)snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs(text, f);
	(void)fclose(f);
}

/* The file's contents in a static buffer, or NULL when it does not exist. */
static char *read_text(const char *path)
{
	static char data[65536];
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	data[fread(data, 1, sizeof(data) - 1, f)] = '\0';
	(void)fclose(f);
	return data;
}

static void assert_error(int rc, int code, const char *needle)
{
	assert_int_equal(rc, code);
	if (!strstr(kube_error_last()->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", kube_error_last()->message, needle);
}

/* kube_auth_new plus one kube_auth_get, both expected to succeed. */
static struct kube_auth *auth_open(const struct kube_rest *rest, struct kube_credentials *creds)
{
	struct kube_auth *auth = NULL;
	assert_int_equal(kube_auth_new(&auth, rest), 0);
	assert_int_equal(kube_auth_get(auth, creds), 0);
	return auth;
}

/* An unsigned JWT whose payload is claims (base64url, no padding). */
static void make_jwt(char *out, size_t size, const char *claims)
{
	unsigned char payload[512];
	int n = EVP_EncodeBlock(payload, (const unsigned char *)claims, (int)strlen(claims));
	for (int i = 0; i < n; i++)
		payload[i] = payload[i] == '+' ? '-' : payload[i] == '/' ? '_' : payload[i] == '=' ? '\0' : payload[i];
	(void)snprintf(out, size, "eyJhbGciOiJub25lIn0.%s.c2ln", (char *)payload);
}

static void make_jwt_expiring_in(char *out, size_t size, long seconds)
{
	char claims[64];
	(void)snprintf(claims, sizeof(claims), "{\"exp\":%lld}", (long long)time(NULL) + seconds);
	make_jwt(out, size, claims);
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
	(void)snprintf(p->command, sizeof(p->command), "%s", test_fixture_path(script));
	p->exec.command = p->command;
	p->exec.api_version = S(api_version);
	p->exec.interactive_mode = S("Never");
	p->args[0] = S(arg0), p->args[1] = S(arg1), p->args[2] = S(arg2);
	p->exec.args = p->args;
	unlink(tmp_path(p->counter, sizeof(p->counter), "counter"));
	unlink(tmp_path(p->dump, sizeof(p->dump), "dump"));
	(void)snprintf(p->env_buf[0], sizeof(p->env_buf[0]), "ROLLGUARD_COUNTER=%s", p->counter);
	(void)snprintf(p->env_buf[1], sizeof(p->env_buf[1]), "ROLLGUARD_DUMP=%s", p->dump);
	p->env[0] = p->env_buf[0], p->env[1] = p->env_buf[1];
	p->exec.env = p->env;
	p->rest.server = S("https://127.0.0.1:6443");
	p->rest.exec = &p->exec;
}

static int plugin_runs(const struct plugin *p)
{
	char *text = read_text(p->counter);
	return text ? (int)strtol(text, NULL, 10) : 0;
}

/* ---- ExecCredential parsing (table-driven over fixture files) ------------------------------------------------ */

static void test_auth__parses_exec_credential_fixtures(void **state)
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
			assert_error(rc, cases[i].rc, cases[i].token_or_message);
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
static void test_auth__parse_never_leaks_under_allocation_failure(void **state)
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

static void test_auth__exec_v1_and_v1beta1_tokens(void **state)
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

static void test_auth__exec_info_and_environment(void **state)
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
	char *dump = read_text(p.dump);
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
	assert_non_null(strstr(read_text(p.dump), "INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1
	                                          "\",\"spec\":{\"interactive\":false}}\n"));
	json_decref(ext);
	unsetenv("ROLLGUARD_PARENT");
	unsetenv("ROLLGUARD_OVERRIDE");
}

static void test_auth__exec_interactive_modes(void **state)
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
		char *dump = read_text(p.dump);
		if (cases[i].rc) {
			assert_error(rc, cases[i].rc, cases[i].expect);
			assert_null(dump); /* the plugin never ran */
		} else {
			assert_int_equal(rc, 0);
			assert_true(dump && strstr(dump, cases[i].expect));
		}
		kube_exec_auth_free(exec);
	}
}

static void test_auth__exec_command_not_found_names_install_hint(void **state)
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
		assert_error(rc, KUBE_EAUTH, expected);
		assert_error(rc, KUBE_EAUTH, "Install the plugin: brew install rollguard-login");
		assert_null(strchr(kube_error_last()->message, '\n'));
		kube_auth_free(auth);
	}
}

static void test_auth__exec_failures_are_reported(void **state)
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
		assert_error(kube_auth_get(auth, &creds), KUBE_EAUTH, cases[i].expect);
		(void)snprintf(expected, sizeof(expected), "exec: executable %s failed with exit code 3", p.command);
		if (i == 0)
			assert_string_equal(kube_error_last()->message, expected);
		kube_auth_free(auth);
	}
}

static void test_auth__exec_client_certificate(void **state)
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

static void test_auth__exec_caches_until_expiration(void **state)
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

static void test_auth__exec_unauthorized_reruns_once(void **state)
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

static void test_auth__exec_timeout_and_output_cap(void **state)
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
	assert_error(kube_exec_auth_get(exec, &cred), KUBE_EAUTH, "timed out");
	assert_true(time(NULL) - start < 5);
	kube_exec_auth_free(exec);

	plugin_init(&p, "auth/exec_flood.sh", V1, NULL, NULL, NULL);
	opts.timeout_ms = 0;
	opts.max_output = 4096;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	assert_error(kube_exec_auth_get(exec, &cred), KUBE_EAUTH, "wrote more than 4096 bytes to stdout");
	kube_exec_auth_free(exec);
}

static void test_auth__exec_ignored_when_other_credentials_given(void **state)
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
	assert_error(kube_auth_new(&auth, &p.rest), KUBE_ECONFIG, "exec plugin: invalid apiVersion");
	assert_null(auth);
}

/* ---- static credentials and tokenFile ------------------------------------------------------------------------ */

static void test_auth__static_token_and_basic_auth(void **state)
{
	(void)state;
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.token = S("static");
	auth = auth_open(&rest, &creds);
	assert_string_equal(creds.bearer, "static");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	rest.token = NULL;
	rest.username = S("admin");
	rest.password = S("hunter2");
	auth = auth_open(&rest, &creds);
	assert_null(creds.bearer);
	assert_string_equal(creds.username, "admin");
	assert_string_equal(creds.password, "hunter2");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	rest.token = S("static");
	assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "username/password or bearer token may be set");
}

static void test_auth__token_file_reread_when_changed(void **state)
{
	(void)state;
	char path[512];
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.token_file = S(tmp_path(path, sizeof(path), "token"));

	unlink(path);
	assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, "failed to read token file");
	write_text(path, "  \n");
	assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, "read empty token from file");

	write_text(path, "first-token\n");
	auth = auth_open(&rest, &creds);
	assert_string_equal(creds.bearer, "first-token");
	assert_int_equal(kube_auth_unauthorized(auth), 0); /* same contents: no point retrying */

	write_text(path, "second-token-longer\n");
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "second-token-longer");

	write_text(path, "third-token-longer!\n"); /* same size: caught by mtime/ctime or on 401 */
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
	char token_path[512];
	struct plugin p;
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url",
	                        "http://127.0.0.1:1", "idp-certificate-authority-data",
	                        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmJhego=", "refresh-token", "r");
	struct kube_auth_provider provider = {S("oidc"), cfg, S("/nonexistent/kubeconfig"), S("oidc-user")};
	struct kube_rest token_rest = {0}, oidc_rest = {0};
	token_rest.token_file = S(tmp_path(token_path, sizeof(token_path), "token"));
	write_text(token_path, "file-token\n");
	oidc_rest.auth_provider = &provider;
	plugin_init(&p, "auth/exec_token.sh", V1, NULL, NULL, NULL);
	p.exec.provide_cluster_info = 1;
	p.exec.cluster_config = cfg;
	p.rest.ca_data = S("pem"), p.rest.ca_data_len = 3;
	const struct kube_rest *rests[] = {&token_rest, &oidc_rest, &p.rest};
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
		assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, cases[i].expect);
		assert_null(strchr(kube_error_last()->message, '\n'));
		assert_null(auth);
	}
	struct kube_exec_config exec = {0};
	struct kube_auth_provider provider = {S("gcp"), NULL, NULL, NULL};
	struct kube_rest rest = {0};
	rest.exec = &exec;
	rest.auth_provider = &provider;
	assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "execProvider and authProvider cannot be used");
}

static void test_auth__oidc_id_token_validity(void **state)
{
	(void)state;
	static const struct {
		const char *claims;
		int rc, valid;
	} cases[] = {
	        {"{\"exp\":1011}", 0, 1},     /* now + 10 < exp */
	        {"{\"exp\":1010}", 0, 0},     /* inside the 10 s skew */
	        {"{\"exp\":1011.9}", 0, 1},   /* floats truncated */
	        {"{\"exp\":\"2000\"}", 0, 1}, /* json.Number from a string */
	        {"{\"sub\":\"x\"}", 0, 0},    /* no exp: the zero time */
	        {"{\"exp\":true}", KUBE_EAUTH, 0}, {"[1]", KUBE_EAUTH, 0},
	};
	int valid;
	for (size_t i = 0; i < COUNT(cases); i++) {
		char jwt[512];
		make_jwt(jwt, sizeof(jwt), cases[i].claims);
		valid = -1;
		assert_int_equal(kube_oidc_id_token_valid(&valid, jwt, 1000), cases[i].rc);
		assert_int_equal(valid, cases[i].valid);
	}
	assert_error(kube_oidc_id_token_valid(&valid, "not-a-jwt", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	assert_error(kube_oidc_id_token_valid(&valid, "a.b.c.d", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	assert_error(kube_oidc_id_token_valid(&valid, "a.eyJleHAiOjF9=.c", 0), KUBE_EAUTH, "illegal base64 data");
}

static void test_auth__oidc_uses_unexpired_id_token(void **state)
{
	(void)state;
	char jwt[512];
	make_jwt_expiring_in(jwt, sizeof(jwt), 3600);
	/* The issuer is unreachable: nothing may be fetched. */
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url",
	                        "http://127.0.0.1:1", "id-token", jwt, "refresh-token", "refresh");
	struct kube_auth_provider provider = {S("oidc"), cfg, NULL, S("oidc-user")};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.auth_provider = &provider;
	auth = auth_open(&rest, &creds);
	assert_string_equal(creds.bearer, jwt);
	kube_auth_free(auth);

	json_object_del(cfg, "refresh-token");
	make_jwt(jwt, sizeof(jwt), "{\"exp\":1000}");
	json_object_set_new(cfg, "id-token", json_string(jwt));
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_error(kube_auth_get(auth, &creds), KUBE_EAUTH,
	             "No valid id-token, and cannot refresh without refresh-token");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	json_object_del(cfg, "idp-issuer-url");
	assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "Must provide idp-issuer-url");
	json_decref(cfg);
}

/* A tiny OpenID provider on 127.0.0.1: discovery plus a token endpoint
 * that answers refresh grants, recording what it was sent. */
struct idp {
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	int reject_basic; /* answer 401 invalid_client to credentials in a header */
	char id_token[512];
	int token_requests; /* past 2, the token endpoint answers 404 */
	char bodies[2][512];
	char auth_headers[2][256];
};

static void idp_handle(struct idp *idp, int conn)
{
	char req[8192], resp[2048], body[1024];
	size_t len = 0;
	char *end = NULL, *auth;
	struct timeval tv = {2, 0};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (ssize_t n; len < sizeof(req) - 1 && (n = recv(conn, req + len, sizeof(req) - 1 - len, 0)) > 0;) {
		req[len += (size_t)n] = '\0';
		char *cl = strstr(req, "Content-Length: ");
		if ((end = strstr(req, "\r\n\r\n")) != NULL &&
		    len >= (size_t)(end + 4 - req) + (cl && cl < end ? (size_t)strtol(cl + 16, NULL, 10) : 0))
			break;
	}
	if (!end)
		return;
	int status = 200;
	if (strncmp(req, "GET /.well-known/openid-configuration ", 38) == 0) {
		(void)snprintf(body, sizeof(body),
		               "{\"issuer\":\"http://127.0.0.1:%d\",\"token_endpoint\":\"http://127.0.0.1:%d/token\"}",
		               idp->port, idp->port);
	} else if (strncmp(req, "POST /token ", 12) == 0 && idp->token_requests < 2) {
		int i = idp->token_requests++;
		(void)snprintf(idp->bodies[i], sizeof(idp->bodies[i]), "%s", end + 4);
		if ((auth = strstr(req, "Authorization: ")) != NULL && auth < end)
			(void)snprintf(idp->auth_headers[i], sizeof(idp->auth_headers[i]), "%.*s",
			               (int)strcspn(auth + 15, "\r"), auth + 15);
		if (idp->reject_basic && auth && auth < end) {
			status = 401;
			(void)snprintf(body, sizeof(body), "{\"error\":\"invalid_client\"}");
		} else {
			(void)snprintf(body, sizeof(body),
			               "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
			               "\"refresh_token\":\"new-refresh\",\"id_token\":\"%s\"}",
			               idp->id_token);
		}
	} else {
		status = 404;
		(void)snprintf(body, sizeof(body), "not found");
	}
	int n = snprintf(resp, sizeof(resp),
	                 "HTTP/1.1 %d Whatever\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 status, strlen(body), body);
	send(conn, resp, (size_t)n, 0);
}

static void *idp_main(void *arg)
{
	struct idp *idp = arg;
	while (!atomic_load(&idp->stop)) {
		struct pollfd pfd = {idp->fd, POLLIN, 0};
		int conn = poll(&pfd, 1, 50) > 0 ? accept(idp->fd, NULL, NULL) : -1;
		if (conn >= 0) {
			idp_handle(idp, conn);
			close(conn);
		}
	}
	return NULL;
}

static void idp_start(struct idp *idp)
{
	struct sockaddr_in addr = {0};
	socklen_t addr_len = sizeof(addr);
	make_jwt_expiring_in(idp->id_token, sizeof(idp->id_token), 3600);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((idp->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(idp->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(idp->fd, 8), 0);
	assert_int_equal(getsockname(idp->fd, (struct sockaddr *)&addr, &addr_len), 0);
	idp->port = ntohs(addr.sin_port);
	assert_int_equal(pthread_create(&idp->thread, NULL, idp_main, idp), 0);
	setenv("NO_PROXY", "127.0.0.1", 1);
	setenv("no_proxy", "127.0.0.1", 1);
}

static void idp_stop(struct idp *idp)
{
	atomic_store(&idp->stop, 1);
	pthread_join(idp->thread, NULL);
	close(idp->fd);
}

static json_t *user_config(json_t *doc, size_t user)
{
	json_t *entry = json_array_get(json_object_get(doc, "users"), user);
	return json_object_get(json_object_get(json_object_get(entry, "user"), "auth-provider"), "config");
}

/* Copies the fixture kubeconfig (mode 0644), points its oidc user at idp,
 * fetches credentials (expecting expect_bearer, or error), and returns the
 * copy as parsed afterwards. */
static json_t *refresh_and_reload(struct idp *idp, const char *expect_bearer, const char *error)
{
	char path[512], lock[600], issuer[64];
	json_t *doc = NULL;
	struct stat st;
	char *fixture = test_fixture_read("auth/oidc_kubeconfig.yaml", NULL);
	write_text(tmp_path(path, sizeof(path), "kubeconfig"), fixture);
	chmod(path, 0644);
	assert_int_equal(kube_yaml_parse_one(&doc, fixture, strlen(fixture)), 0);
	free(fixture);
	(void)snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d/", idp->port);
	json_object_set_new(user_config(doc, 1), "idp-issuer-url", json_string(issuer));

	struct kube_auth_provider provider = {S("oidc"), user_config(doc, 1), path, S("oidc-user")};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.auth_provider = &provider;
	rest.request_timeout_ms = 5000;
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	int rc = kube_auth_get(auth, &creds);
	if (error) {
		assert_error(rc, KUBE_EAUTH, error);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(creds.bearer, expect_bearer);
		assert_int_equal(kube_auth_get(auth, &creds), 0); /* now valid: no second refresh */
	}
	kube_auth_free(auth);
	json_decref(doc);

	(void)snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_not_equal(access(lock, F_OK), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, error ? 0644 : 0600);
	char *text = read_text(path);
	assert_int_equal(kube_yaml_parse_one(&doc, text, strlen(text)), 0);
	return doc;
}

static void test_auth__oidc_refresh_writes_back_tokens(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp_start(&idp);
	json_t *doc = refresh_and_reload(&idp, idp.id_token, NULL);
	idp_stop(&idp);

	assert_int_equal(idp.token_requests, 1);
	assert_string_equal(idp.bodies[0], "grant_type=refresh_token&refresh_token=old-refresh");
	assert_string_equal(idp.auth_headers[0], "Basic cm9sbGd1YXJkOnMzY3JldA=="); /* rollguard:s3cret */
	json_t *cfg = user_config(doc, 1);
	assert_string_equal(json_string_value(json_object_get(cfg, "id-token")), idp.id_token);
	assert_string_equal(json_string_value(json_object_get(cfg, "refresh-token")), "new-refresh");
	assert_string_equal(json_string_value(json_object_get(cfg, "client-secret")), "s3cret");
	json_t *other = json_object_get(json_array_get(json_object_get(doc, "users"), 0), "user");
	assert_string_equal(json_string_value(json_object_get(other, "token")), "other-token");
	assert_string_equal(json_string_value(json_object_get(doc, "current-context")), "test");
	json_decref(doc);
}

static void test_auth__oidc_refresh_retries_with_form_credentials(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp.reject_basic = 1;
	idp_start(&idp);
	json_decref(refresh_and_reload(&idp, idp.id_token, NULL));
	idp_stop(&idp);
	assert_int_equal(idp.token_requests, 2);
	assert_string_equal(idp.auth_headers[1], "");
	assert_string_equal(
	        idp.bodies[1],
	        "client_id=rollguard&client_secret=s3cret&grant_type=refresh_token&refresh_token=old-refresh");
}

static void test_auth__oidc_refresh_failure_keeps_kubeconfig(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp_start(&idp);
	idp.token_requests = 2; /* the token endpoint answers 404 from now on */
	json_t *doc = refresh_and_reload(&idp, NULL, "failed to refresh token: oauth2: cannot fetch token: 404");
	idp_stop(&idp);
	assert_string_equal(json_string_value(json_object_get(user_config(doc, 1), "refresh-token")), "old-refresh");
	json_decref(doc);
}

static void test_auth__oidc_unauthorized_forces_refresh(void **state)
{
	(void)state;
	char issuer[64], jwt[512];
	struct idp idp = {0};
	struct kube_credentials creds;
	idp_start(&idp);
	(void)snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", idp.port);
	make_jwt_expiring_in(jwt, sizeof(jwt), 7200);
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url", issuer, "id-token",
	                        jwt, "refresh-token", "old-refresh");
	struct kube_auth_provider provider = {S("oidc"), cfg, NULL, NULL}; /* nowhere to persist */
	struct kube_rest rest = {0};
	rest.auth_provider = &provider;
	struct kube_auth *auth = auth_open(&rest, &creds);
	assert_string_equal(creds.bearer, jwt);
	assert_int_equal(kube_auth_unauthorized(auth), 1);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, idp.id_token);
	kube_auth_free(auth);
	idp_stop(&idp);
	assert_int_equal(idp.token_requests, 1);
	json_decref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_auth__parses_exec_credential_fixtures),
	        cmocka_unit_test(test_auth__parse_never_leaks_under_allocation_failure),
	        cmocka_unit_test(test_auth__exec_v1_and_v1beta1_tokens),
	        cmocka_unit_test(test_auth__exec_info_and_environment),
	        cmocka_unit_test(test_auth__exec_interactive_modes),
	        cmocka_unit_test(test_auth__exec_command_not_found_names_install_hint),
	        cmocka_unit_test(test_auth__exec_failures_are_reported),
	        cmocka_unit_test(test_auth__exec_client_certificate),
	        cmocka_unit_test(test_auth__exec_caches_until_expiration),
	        cmocka_unit_test(test_auth__exec_unauthorized_reruns_once),
	        cmocka_unit_test(test_auth__exec_timeout_and_output_cap),
	        cmocka_unit_test(test_auth__exec_ignored_when_other_credentials_given),
	        cmocka_unit_test(test_auth__static_token_and_basic_auth),
	        cmocka_unit_test(test_auth__token_file_reread_when_changed),
	        cmocka_unit_test(test_auth__new_reports_every_allocation_failure),
	        cmocka_unit_test(test_auth__removed_auth_providers_name_replacements),
	        cmocka_unit_test(test_auth__oidc_id_token_validity),
	        cmocka_unit_test(test_auth__oidc_uses_unexpired_id_token),
	        cmocka_unit_test(test_auth__oidc_refresh_writes_back_tokens),
	        cmocka_unit_test(test_auth__oidc_refresh_retries_with_form_credentials),
	        cmocka_unit_test(test_auth__oidc_refresh_failure_keeps_kubeconfig),
	        cmocka_unit_test(test_auth__oidc_unauthorized_forces_refresh),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
