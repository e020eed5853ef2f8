/* Tests for the credential layer: ExecCredential parsing, exec plugins
 * (environment, caching, failures), tokenFile, refusals of removed
 * auth-providers, and oidc with a local issuer on 127.0.0.1. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "auth.h"
#include "auth_exec.h"
#include "auth_oidc.h"
#include "test_support.h"

#define V1      "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"
#define S(x)    ((char *)(x))

/* ---- helpers ------------------------------------------------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rollguard-auth-XXXXXX", base && *base ? base : "/tmp");
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
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, entry->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(tmpdir);
	return 0;
}

static const char *tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char data[65536];
	size_t n = fread(data, 1, sizeof(data) - 1, f);
	fclose(f);
	data[n] = '\0';
	return data;
}

static void assert_error(int rc, int code, const char *needle)
{
	assert_int_equal(rc, code);
	if (!strstr(kube_error_last()->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", kube_error_last()->message, needle);
}

static char *b64url(const char *text)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static char out[1024];
	size_t len = strlen(text), o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned n = (unsigned char)text[i] << 16;
		n |= i + 1 < len ? (unsigned char)text[i + 1] << 8 : 0;
		n |= i + 2 < len ? (unsigned char)text[i + 2] : 0;
		out[o++] = alphabet[(n >> 18) & 63];
		out[o++] = alphabet[(n >> 12) & 63];
		if (i + 1 < len)
			out[o++] = alphabet[(n >> 6) & 63];
		if (i + 2 < len)
			out[o++] = alphabet[n & 63];
	}
	out[o] = '\0';
	return out;
}

/* An unsigned JWT whose payload is claims. */
static void make_jwt(char *out, size_t size, const char *claims)
{
	snprintf(out, size, "eyJhbGciOiJub25lIn0.%s.c2ln", b64url(claims));
}

/* A kube_rest using one fixture script as exec plugin. */
struct plugin {
	struct kube_rest rest;
	struct kube_exec_config exec;
	char *args[4];
	char *env[6];
	char env_buf[4][300];
	char counter[256];
	char dump[256];
};

static void plugin_init(struct plugin *p, const char *script, const char *api_version)
{
	static char command[512];
	memset(p, 0, sizeof(*p));
	snprintf(command, sizeof(command), "%s", test_fixture_path(script));
	p->exec.command = command;
	p->exec.api_version = S(api_version);
	p->exec.interactive_mode = S("Never");
	p->exec.args = p->args;
	p->exec.env = p->env;
	tmp_path(p->counter, sizeof(p->counter), "counter");
	tmp_path(p->dump, sizeof(p->dump), "dump");
	unlink(p->counter);
	unlink(p->dump);
	snprintf(p->env_buf[0], sizeof(p->env_buf[0]), "ROLLGUARD_COUNTER=%s", p->counter);
	snprintf(p->env_buf[1], sizeof(p->env_buf[1]), "ROLLGUARD_DUMP=%s", p->dump);
	p->env[0] = p->env_buf[0];
	p->env[1] = p->env_buf[1];
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
		const char *token_or_message;
		int64_t expiry_s;
	} cases[] = {
	        {"auth/cred_v1_token.json", V1, 0, "v1-token", 4071006245},
	        {"auth/cred_v1beta1_token.json", V1BETA1, 0, "beta-token", 0},
	        {"auth/cred_expiry_offset.json", V1, 0, "offset-token", 1907749800},
	        {"auth/cred_no_kind.json", V1, 0, "no-kind-token", 0},
	        {"auth/cred_cert.json", V1, 0, NULL, 0},
	        {"auth/cred_wrong_version.json", V1, KUBE_EAUTH,
	         "exec plugin is configured to use API version " V1 ", plugin returned version " V1BETA1, 0},
	        {"auth/cred_wrong_kind.json", V1, KUBE_EAUTH, "no kind \"Secret\" is registered", 0},
	        {"auth/cred_no_status.json", V1, KUBE_EAUTH, "exec plugin didn't return a status field", 0},
	        {"auth/cred_empty_status.json", V1, KUBE_EAUTH, "exec plugin didn't return a token or cert/key pair",
	         0},
	        {"auth/cred_cert_only.json", V1, KUBE_EAUTH, "exec plugin returned only certificate or key, not both",
	         0},
	        {"auth/cred_bad_time.json", V1, KUBE_EAUTH, "parsing time \"2030-02-30T00:00:00Z\"", 0},
	        {"auth/cred_token_number.json", V1, KUBE_EAUTH, "status.token must be a string", 0},
	        {"auth/cred_malformed.json", V1, KUBE_EAUTH, "exec plugin: decoding stdout", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *data = test_fixture_read(cases[i].file, &len);
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
				assert_true(cred.cert_pem && cred.key_pem &&
				            strstr(cred.cert_pem, "BEGIN CERTIFICATE"));
			assert_int_equal(cred.has_expiry, cases[i].expiry_s != 0);
			if (cases[i].expiry_s)
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
	for (size_t i = 0; i < 2; i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		plugin_init(&p, "auth/exec_token.sh", versions[i]);
		p.args[0] = S(versions[i]);
		p.args[1] = S("tok");
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		assert_int_equal(kube_auth_get(auth, &creds), 0);
		assert_string_equal(creds.bearer, "tok-1");
		assert_null(creds.cert_pem);
		kube_auth_free(auth);
	}
}

static void test_auth__exec_info_and_environment(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_auth *auth;
	struct kube_credentials creds;
	json_t *ext = json_pack("{s:s}", "audience", "rollguard");
	plugin_init(&p, "auth/exec_dump.sh", V1BETA1);
	p.args[0] = S(V1BETA1);
	p.args[1] = S("second-arg");
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

	struct kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	opts.stdin_is_tty = 0;
	struct kube_exec_auth *exec;
	const struct kube_exec_credential *cred;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	assert_int_equal(kube_exec_auth_get(exec, &cred), 0);
	assert_string_equal(cred->token, "dumped");
	kube_exec_auth_free(exec);

	char *dump = read_text(p.dump);
	assert_non_null(dump);
	assert_non_null(strstr(dump, "FOO=bar\n"));
	assert_non_null(strstr(dump, "PARENT=from-parent\n"));
	assert_non_null(strstr(dump, "OVERRIDE=from-config\n"));
	assert_non_null(strstr(dump, "ARGS=" V1BETA1 " second-arg\n"));
	assert_non_null(strstr(dump, "STDIN=/dev/null\n"));
	char *info_line = strstr(dump, "INFO=") + 5;
	*strchr(info_line, '\n') = '\0';
	json_error_t jerr;
	json_t *info = json_loads(info_line, 0, &jerr);
	assert_non_null(info);
	json_t *expected = json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s, s:s, s:{s:s}}, s:b}}", "kind", "ExecCredential",
	                             "apiVersion", V1BETA1, "spec", "cluster", "server", "https://127.0.0.1:6443",
	                             "tls-server-name", "kubernetes.internal", "certificate-authority-data",
	                             "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmJhego=", "proxy-url",
	                             "http://proxy.internal:3128", "config", "audience", "rollguard", "interactive", 0);
	assert_true(json_equal(info, expected));
	assert_string_equal(json_object_iter_key(json_object_iter(info)), "kind");
	json_decref(expected);
	json_decref(info);

	/* Without provideClusterInfo only spec.interactive is sent. */
	p.exec.provide_cluster_info = 0;
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	kube_auth_free(auth);
	dump = read_text(p.dump);
	assert_non_null(strstr(dump, "INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plugin p;
		struct kube_exec_auth *exec;
		const struct kube_exec_credential *cred;
		struct kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
		plugin_init(&p, "auth/exec_dump.sh", V1);
		p.args[0] = S(V1);
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
			assert_non_null(dump);
			assert_non_null(strstr(dump, cases[i].expect));
		}
		kube_exec_auth_free(exec);
	}
}

static void test_auth__exec_command_not_found_names_install_hint(void **state)
{
	(void)state;
	static const char *const commands[] = {"rollguard-no-such-plugin", "/nonexistent/rollguard-plugin"};
	for (size_t i = 0; i < 2; i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		plugin_init(&p, "auth/exec_token.sh", V1);
		p.exec.command = S(commands[i]);
		p.exec.install_hint = S("Install the plugin:\n  brew install rollguard-login\n");
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		int rc = kube_auth_get(auth, &creds);
		char expected[256];
		snprintf(expected, sizeof(expected), "exec: executable %s not found", commands[i]);
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		plugin_init(&p, cases[i].script, V1);
		p.args[0] = S(cases[i].arg);
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		assert_error(kube_auth_get(auth, &creds), KUBE_EAUTH, cases[i].expect);
		if (i == 0) {
			char expected[600];
			snprintf(expected, sizeof(expected), "exec: executable %s failed with exit code 3",
			         p.exec.command);
			assert_string_equal(kube_error_last()->message, expected);
		}
		kube_auth_free(auth);
	}
}

static void test_auth__exec_client_certificate(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_auth *auth;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_cat.sh", V1);
	p.args[0] = S("cred_cert.json");
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_null(creds.bearer);
	assert_non_null(strstr(creds.cert_pem, "-----BEGIN CERTIFICATE-----\n"));
	assert_non_null(strstr(creds.key_pem, "-----BEGIN PRIVATE KEY-----\n"));
	kube_auth_free(auth);
}

static void test_auth__exec_caches_until_expiration(void **state)
{
	(void)state;
	static const char *const expiries[] = {"2099-01-01T00:00:00Z", NULL};
	for (size_t i = 0; i < 2; i++) {
		struct plugin p;
		struct kube_auth *auth;
		struct kube_credentials creds;
		plugin_init(&p, "auth/exec_token.sh", V1);
		p.args[0] = S(V1);
		p.args[1] = S("cached");
		p.args[2] = S(expiries[i]);
		assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
		assert_int_equal(kube_auth_get(auth, &creds), 0);
		assert_int_equal(kube_auth_get(auth, &creds), 0);
		assert_string_equal(creds.bearer, "cached-1");
		assert_int_equal(plugin_runs(&p), 1);
		kube_auth_free(auth);
	}
}

static void test_auth__exec_reruns_expired_credential(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_auth *auth;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_token.sh", V1);
	p.args[0] = S(V1);
	p.args[1] = S("stale");
	p.args[2] = S("2001-01-01T00:00:00Z");
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "stale-1");
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "stale-2");
	assert_int_equal(plugin_runs(&p), 2);
	kube_auth_free(auth);
}

static void test_auth__exec_unauthorized_reruns_once(void **state)
{
	(void)state;
	struct plugin p;
	struct kube_auth *auth;
	struct kube_credentials creds;
	plugin_init(&p, "auth/exec_token.sh", V1);
	p.args[0] = S(V1);
	p.args[1] = S("rotated");
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
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
	struct timespec start, end;

	plugin_init(&p, "auth/exec_sleep.sh", V1);
	opts.timeout_ms = 300;
	assert_int_equal(kube_exec_auth_new(&exec, &p.rest, &opts), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_error(kube_exec_auth_get(exec, &cred), KUBE_EAUTH, "timed out");
	clock_gettime(CLOCK_MONOTONIC, &end);
	assert_true(end.tv_sec - start.tv_sec < 5);
	kube_exec_auth_free(exec);

	plugin_init(&p, "auth/exec_flood.sh", V1);
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
	plugin_init(&p, "auth/exec_token.sh", V1);
	p.args[0] = S(V1);
	p.args[1] = S("unused");
	p.rest.token = S("flag-token");
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, "flag-token");
	kube_auth_free(auth);

	p.rest.token = NULL;
	p.rest.cert_data = S("cert"), p.rest.cert_data_len = 4;
	p.rest.key_data = S("key"), p.rest.key_data_len = 3;
	assert_int_equal(kube_auth_new(&auth, &p.rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
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
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
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
	plugin_init(&p, "auth/exec_token.sh", V1);
	p.exec.provide_cluster_info = 1;
	p.exec.cluster_config = cfg;
	p.rest.ca_data = S("pem"), p.rest.ca_data_len = 3;
	const struct kube_rest *rests[] = {&token_rest, &oidc_rest, &p.rest};
	for (size_t i = 0; i < sizeof(rests) / sizeof(rests[0]); i++) {
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_auth_provider provider = {S(cases[i].name), NULL, NULL, NULL};
		struct kube_rest rest = {0};
		struct kube_auth *auth = NULL;
		rest.auth_provider = &provider;
		assert_error(kube_auth_new(&auth, &rest), KUBE_EAUTH, cases[i].expect);
		assert_null(strchr(kube_error_last()->message, '\n'));
		assert_null(auth);
	}
	struct kube_exec_config exec = {0};
	struct kube_auth_provider provider = {S("gcp"), NULL, NULL, NULL};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char jwt[512];
		int valid = -1;
		make_jwt(jwt, sizeof(jwt), cases[i].claims);
		assert_int_equal(kube_oidc_id_token_valid(&valid, jwt, 1000), cases[i].rc);
		assert_int_equal(valid, cases[i].valid);
	}
	int valid;
	assert_error(kube_oidc_id_token_valid(&valid, "not-a-jwt", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	assert_error(kube_oidc_id_token_valid(&valid, "a.b.c.d", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	assert_error(kube_oidc_id_token_valid(&valid, "a.eyJleHAiOjF9=.c", 0), KUBE_EAUTH, "illegal base64 data");
}

static json_t *oidc_config(const char *issuer, const char *id_token, const char *refresh_token)
{
	json_t *cfg = json_pack("{s:s, s:s, s:s}", "client-id", "rollguard", "client-secret", "s3cret",
	                        "idp-issuer-url", issuer);
	if (id_token)
		json_object_set_new(cfg, "id-token", json_string(id_token));
	if (refresh_token)
		json_object_set_new(cfg, "refresh-token", json_string(refresh_token));
	return cfg;
}

static void test_auth__oidc_uses_unexpired_id_token(void **state)
{
	(void)state;
	char jwt[512], claims[64];
	snprintf(claims, sizeof(claims), "{\"exp\":%lld}", (long long)time(NULL) + 3600);
	make_jwt(jwt, sizeof(jwt), claims);
	/* The issuer is unreachable: nothing may be fetched. */
	json_t *cfg = oidc_config("http://127.0.0.1:1", jwt, "refresh");
	struct kube_auth_provider provider = {S("oidc"), cfg, NULL, S("oidc-user")};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.auth_provider = &provider;
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
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
	volatile int stop;
	int reject_basic;
	char id_token[512];
	int token_requests;
	char bodies[2][512];
	char auth_headers[2][256];
};

static void idp_handle(struct idp *idp, int conn)
{
	char req[8192], resp[2048], body[1024];
	size_t len = 0;
	char *end = NULL;
	struct timeval tv = {2, 0};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(req) - 1) {
		ssize_t n = recv(conn, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL) {
			char *cl = strstr(req, "Content-Length: ");
			size_t want = cl && cl < end ? (size_t)strtol(cl + 16, NULL, 10) : 0;
			if (len >= (size_t)(end + 4 - req) + want)
				break;
		}
	}
	if (!end)
		return;
	int status = 200;
	if (strncmp(req, "GET /.well-known/openid-configuration ", 38) == 0) {
		snprintf(body, sizeof(body),
		         "{\"issuer\":\"http://127.0.0.1:%d\",\"token_endpoint\":\"http://127.0.0.1:%d/token\"}",
		         idp->port, idp->port);
	} else if (strncmp(req, "POST /token ", 12) == 0 && idp->token_requests < 2) {
		int i = idp->token_requests++;
		char *auth = strstr(req, "Authorization: ");
		snprintf(idp->bodies[i], sizeof(idp->bodies[i]), "%s", end + 4);
		if (auth && auth < end)
			snprintf(idp->auth_headers[i], sizeof(idp->auth_headers[i]), "%.*s",
			         (int)strcspn(auth + 15, "\r"), auth + 15);
		if (idp->reject_basic && auth && auth < end) {
			status = 401;
			snprintf(body, sizeof(body), "{\"error\":\"invalid_client\"}");
		} else {
			snprintf(body, sizeof(body),
			         "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
			         "\"refresh_token\":\"new-refresh\",\"id_token\":\"%s\"}",
			         idp->id_token);
		}
	} else {
		status = 404;
		snprintf(body, sizeof(body), "not found");
	}
	int n = snprintf(resp, sizeof(resp),
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 status, status == 200 ? "OK" : "Error", strlen(body), body);
	send(conn, resp, (size_t)n, 0);
}

static void *idp_main(void *arg)
{
	struct idp *idp = arg;
	while (!idp->stop) {
		struct pollfd pfd = {idp->fd, POLLIN, 0};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		int conn = accept(idp->fd, NULL, NULL);
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
	char claims[64];
	snprintf(claims, sizeof(claims), "{\"exp\":%lld}", (long long)time(NULL) + 3600);
	make_jwt(idp->id_token, sizeof(idp->id_token), claims);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	idp->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(idp->fd >= 0);
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
	idp->stop = 1;
	pthread_join(idp->thread, NULL);
	close(idp->fd);
}

/* Refreshes the expired id-token of a temp copy of the fixture kubeconfig
 * and returns the copy's parsed contents afterwards. */
static json_t *refresh_and_reload(struct idp *idp, const char *expect_bearer, const char *error)
{
	char path[512], lock[600], issuer[64];
	json_t *doc = NULL;
	size_t len;
	char *fixture = test_fixture_read("auth/oidc_kubeconfig.yaml", &len);
	tmp_path(path, sizeof(path), "kubeconfig");
	write_text(path, fixture);
	chmod(path, 0644);
	free(fixture);
	fixture = read_text(path);
	assert_int_equal(kube_yaml_parse_one(&doc, fixture, strlen(fixture)), 0);
	json_t *cfg = json_object_get(
	        json_object_get(json_object_get(json_array_get(json_object_get(doc, "users"), 1), "user"),
	                        "auth-provider"),
	        "config");
	snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d/", idp->port);
	json_object_set_new(cfg, "idp-issuer-url", json_string(issuer));

	struct kube_auth_provider provider = {S("oidc"), cfg, path, S("oidc-user")};
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
		/* Now valid: used without another round trip. */
		assert_int_equal(kube_auth_get(auth, &creds), 0);
	}
	kube_auth_free(auth);
	json_decref(doc);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_not_equal(access(lock, F_OK), 0);
	char *text = read_text(path);
	assert_int_equal(kube_yaml_parse_one(&doc, text, strlen(text)), 0);
	if (!error)
		assert_int_equal(st.st_mode & 0777, 0600);
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
	assert_string_equal(idp.auth_headers[0], "Basic cm9sbGd1YXJkOnMzY3JldA==");
	json_t *users = json_object_get(doc, "users");
	json_t *cfg = json_object_get(
	        json_object_get(json_object_get(json_array_get(users, 1), "user"), "auth-provider"), "config");
	assert_string_equal(json_string_value(json_object_get(cfg, "id-token")), idp.id_token);
	assert_string_equal(json_string_value(json_object_get(cfg, "refresh-token")), "new-refresh");
	assert_string_equal(json_string_value(json_object_get(cfg, "client-secret")), "s3cret");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(json_array_get(users, 0), "user"), "token")),
	        "other-token");
	assert_string_equal(json_string_value(json_object_get(doc, "current-context")), "test");
	json_decref(doc);
}

static void test_auth__oidc_refresh_retries_with_form_credentials(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp.reject_basic = 1;
	idp_start(&idp);
	json_t *doc = refresh_and_reload(&idp, idp.id_token, NULL);
	idp_stop(&idp);
	assert_int_equal(idp.token_requests, 2);
	assert_string_equal(idp.auth_headers[1], "");
	assert_string_equal(
	        idp.bodies[1],
	        "client_id=rollguard&client_secret=s3cret&grant_type=refresh_token&refresh_token=old-refresh");
	json_decref(doc);
}

static void test_auth__oidc_refresh_failure_keeps_kubeconfig(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp_start(&idp);
	idp.token_requests = 2; /* the token endpoint now answers 404 */
	json_t *doc = refresh_and_reload(&idp, NULL, "failed to refresh token: oauth2: cannot fetch token: 404");
	idp_stop(&idp);
	json_t *cfg = json_object_get(
	        json_object_get(json_object_get(json_array_get(json_object_get(doc, "users"), 1), "user"),
	                        "auth-provider"),
	        "config");
	assert_string_equal(json_string_value(json_object_get(cfg, "refresh-token")), "old-refresh");
	json_decref(doc);
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
	        cmocka_unit_test(test_auth__exec_reruns_expired_credential),
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
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
