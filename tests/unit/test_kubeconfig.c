/* Kubeconfig loading and resolution, table-driven from the case
 * directories under fixtures/kubeconfig/: each holds its kubeconfig files
 * and a case.json; adding a case is adding a directory whose name starts
 * with one of the groups below (merge_, paths_, flags_, namespace_, auth_,
 * errors_, incluster_).
 *
 * case.json: "kubeconfig_env" (KUBECONFIG entries relative to the case;
 * "kubeconfig_env_raw" passes them as written with the case as cwd when
 * "cwd" is true), "kubeconfig" (--kubeconfig), "home" ($HOME, else an
 * empty temporary directory), "flags" (kubectl flag names: context,
 * cluster, user, namespace, server, token, certificate-authority,
 * client-certificate, client-key, insecure-skip-tls-verify,
 * tls-server-name, as, as-group, as-uid, request-timeout), "env",
 * "in_cluster_dir"; then "expect" (kube_config accessors and kube_rest
 * fields by name, null meaning unset) or "error" {code, message
 * substring}. "also" lists variants with their own flags/env/expect.
 * Values starting with "./" are paths in the case directory; "{dir}" in
 * messages is the case directory. Tokens, passwords and "secrets" must
 * never appear in the log. Helm's warning about a kubeconfig others can
 * read is tested on files given each mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <kube/config.h>
#include <kube/error.h>
#include <kube/log.h>

#include "kubeconfig.h"
#include "rest.h"
#include "test_support.h"

#define CASES_DIR "kubeconfig"

/* Strings made for one case run (absolute paths), freed after it. */
struct arena {
	char *items[64];
	size_t count;
};

static struct arena case_arena;

static const char *arena_keep(struct arena *arena, char *s)
{
	if (!s || arena->count == sizeof(arena->items) / sizeof(arena->items[0])) {
		free(s);
		fail_msg("arena full or out of memory");
		return "";
	}
	arena->items[arena->count++] = s;
	return s;
}

static void arena_free(struct arena *arena)
{
	for (size_t i = 0; i < arena->count; i++)
		free(arena->items[i]);
	arena->count = 0;
}

static char *join(const char *a, const char *b)
{
	size_t len = strlen(a) + strlen(b) + 2;
	char *out = malloc(len);
	assert_non_null(out);
	(void)snprintf(out, len, "%s/%s", a, b);
	return out;
}

/* "./x" in case.json means x inside the case directory. */
static const char *case_path(struct arena *arena, const char *dir, const char *value)
{
	if (!value || strncmp(value, "./", 2) != 0)
		return value;
	return arena_keep(arena, join(dir, value + 2));
}

/* Replaces every "{dir}" with the case directory. */
static const char *expand_dir(struct arena *arena, const char *dir, const char *text)
{
	size_t len = strlen(text) + 1;
	for (const char *p = strstr(text, "{dir}"); p; p = strstr(p + 5, "{dir}"))
		len += strlen(dir);
	char *out = malloc(len);
	assert_non_null(out);
	out[0] = '\0';
	size_t used = 0;
	for (const char *p = text; *p;) {
		if (strncmp(p, "{dir}", 5) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%s", dir);
			p += 5;
		} else {
			out[used++] = *p++;
			out[used] = '\0';
		}
	}
	return arena_keep(arena, out);
}

/* Log lines of the current run, to prove secrets never reach the log. */
static char log_text[65536];

static void capture_log(int level, const char *line, void *user)
{
	(void)level;
	(void)user;
	size_t used = strlen(log_text);
	(void)snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
}

static char home_dir[256];

/* Puts the process environment and options in the state a case asks for. */
static void setup_case(const char *dir, const json_t *spec, const json_t *variant, kube_config_options *opts,
                       struct arena *arena)
{
	static const char *const cleared[] = {"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
	                                      "POD_NAMESPACE"};
	kube_config_options init = KUBE_CONFIG_OPTIONS_INIT;
	const char *value;
	const json_t *item;
	size_t i;
	*opts = init;
	for (i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
		unsetenv(cleared[i]);
	const char *home = json_string_value(json_object_get(spec, "home"));
	setenv("HOME", home ? arena_keep(arena, join(dir, home)) : home_dir, 1);

	const json_t *env_list = json_object_get(spec, "kubeconfig_env");
	const json_t *raw_list = json_object_get(spec, "kubeconfig_env_raw");
	if (env_list || raw_list) {
		char joined[4096] = "";
		size_t used = 0;
		json_array_foreach(env_list ? env_list : raw_list, i, item)
		{
			const char *entry = json_string_value(item);
			const char *path = env_list && *entry ? arena_keep(arena, join(dir, entry)) : entry;
			used += (size_t)snprintf(joined + used, sizeof(joined) - used, "%s%s", i ? ":" : "", path);
		}
		setenv("KUBECONFIG", joined, 1);
	}
	if ((value = json_string_value(json_object_get(spec, "kubeconfig"))) != NULL)
		opts->kubeconfig = arena_keep(arena, join(dir, value));
	if ((value = json_string_value(json_object_get(spec, "in_cluster_dir"))) != NULL)
		opts->in_cluster_dir = arena_keep(arena, join(dir, value));

	const json_t *envs[] = {json_object_get(spec, "env"), json_object_get(variant, "env")};
	for (i = 0; i < 2; i++) {
		const char *key;
		json_object_foreach((json_t *)envs[i], key, item) setenv(key, json_string_value(item), 1);
	}

	const json_t *flags = json_object_get(variant, "flags");
	if (!flags)
		flags = json_object_get(spec, "flags");
	struct {
		const char *name;
		const char **field;
	} strings[] = {
	        {"context", &opts->context},
	        {"cluster", &opts->cluster},
	        {"user", &opts->user},
	        {"namespace", &opts->ns},
	        {"server", &opts->server},
	        {"token", &opts->token},
	        {"certificate-authority", &opts->certificate_authority},
	        {"client-certificate", &opts->client_certificate},
	        {"client-key", &opts->client_key},
	        {"tls-server-name", &opts->tls_server_name},
	        {"as", &opts->as},
	        {"as-uid", &opts->as_uid},
	};
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		*strings[i].field = case_path(arena, dir, json_string_value(json_object_get(flags, strings[i].name)));
	if ((item = json_object_get(flags, "insecure-skip-tls-verify")) != NULL)
		opts->insecure_skip_tls_verify = json_is_true(item);
	if ((value = json_string_value(json_object_get(flags, "request-timeout"))) != NULL)
		assert_int_equal(kube_duration_parse(&opts->request_timeout_ms, value), 0);
	static const char *groups[16];
	const json_t *group_list = json_object_get(flags, "as-group");
	opts->as_groups_count = json_array_size(group_list);
	assert_true(opts->as_groups_count <= 16);
	json_array_foreach(group_list, i, item) groups[i] = json_string_value(item);
	opts->as_groups = groups;
}

static void check_string(const char *what, const char *actual, const json_t *expected, const char *dir,
                         struct arena *arena)
{
	if (json_is_null(expected)) {
		if (actual)
			fail_msg("%s: expected none, got \"%s\"", what, actual);
		return;
	}
	const char *want = case_path(arena, dir, json_string_value(expected));
	if (!actual || strcmp(actual, want) != 0)
		fail_msg("%s: expected \"%s\", got \"%s\"", what, want, actual ? actual : "(none)");
}

static void check_list(const char *what, char **actual, const json_t *expected)
{
	size_t i, count = 0;
	while (actual && actual[count])
		count++;
	if (json_is_null(expected)) {
		assert_true(actual == NULL);
		return;
	}
	if (count != json_array_size(expected)) {
		fail_msg("%s: expected %zu items, got %zu", what, json_array_size(expected), count);
		return;
	}
	for (i = 0; actual && i < count; i++) {
		const char *want = json_string_value(json_array_get(expected, i));
		if (!want || strcmp(actual[i], want) != 0)
			fail_msg("%s[%zu]: expected \"%s\", got \"%s\"", what, i, want ? want : "(none)", actual[i]);
	}
}

static void check_json(const char *what, const json_t *actual, const json_t *expected)
{
	if (json_is_null(expected) ? actual != NULL : !json_equal((json_t *)actual, (json_t *)expected))
		fail_msg("%s differs from the expected value", what);
}

static void check_exec(const struct kube_exec_config *exec, const json_t *expected, const char *dir,
                       struct arena *arena)
{
	if (json_is_null(expected)) {
		assert_null(exec);
		return;
	}
	assert_non_null(exec);
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)expected, key, value)
	{
		if (strcmp(key, "command") == 0)
			check_string("exec.command", exec->command, value, dir, arena);
		else if (strcmp(key, "api_version") == 0)
			check_string("exec.api_version", exec->api_version, value, dir, arena);
		else if (strcmp(key, "install_hint") == 0)
			check_string("exec.install_hint", exec->install_hint, value, dir, arena);
		else if (strcmp(key, "interactive_mode") == 0)
			check_string("exec.interactive_mode", exec->interactive_mode, value, dir, arena);
		else if (strcmp(key, "args") == 0)
			check_list("exec.args", exec->args, value);
		else if (strcmp(key, "env") == 0)
			check_list("exec.env", exec->env, value);
		else if (strcmp(key, "provide_cluster_info") == 0)
			assert_int_equal(exec->provide_cluster_info, json_is_true(value));
		else if (strcmp(key, "cluster_config") == 0)
			check_json("exec.cluster_config", exec->cluster_config, value);
		else
			fail_msg("unknown exec expectation %s", key);
	}
}

static void check_auth_provider(const struct kube_auth_provider *provider, const json_t *expected, const char *dir,
                                struct arena *arena)
{
	if (json_is_null(expected)) {
		assert_null(provider);
		return;
	}
	assert_non_null(provider);
	check_string("auth_provider.name", provider->name, json_object_get(expected, "name"), dir, arena);
	check_string("auth_provider.source_file", provider->source_file, json_object_get(expected, "source_file"), dir,
	             arena);
	check_string("auth_provider.user_name", provider->user_name, json_object_get(expected, "user_name"), dir,
	             arena);
	check_json("auth_provider.config", provider->config, json_object_get(expected, "config"));
}

static void check_data(const char *what, const char *data, size_t len, const json_t *expected)
{
	if (json_is_null(expected)) {
		assert_null(data);
		return;
	}
	const char *want = json_string_value(expected);
	assert_non_null(data);
	if (len != strlen(want) || memcmp(data, want, len) != 0)
		fail_msg("%s: decoded bytes differ", what);
}

static void check_expectations(const kube_config *config, const json_t *expect, const char *dir, struct arena *arena)
{
	const struct kube_rest *rest = kube_config_rest(config);
	static const struct {
		const char *key;
		size_t offset;
	} rest_strings[] = {
	        {"tls_server_name", offsetof(struct kube_rest, tls_server_name)},
	        {"ca_file", offsetof(struct kube_rest, ca_file)},
	        {"proxy_url", offsetof(struct kube_rest, proxy_url)},
	        {"cert_file", offsetof(struct kube_rest, cert_file)},
	        {"key_file", offsetof(struct kube_rest, key_file)},
	        {"token", offsetof(struct kube_rest, token)},
	        {"token_file", offsetof(struct kube_rest, token_file)},
	        {"username", offsetof(struct kube_rest, username)},
	        {"password", offsetof(struct kube_rest, password)},
	        {"impersonate_user", offsetof(struct kube_rest, impersonate_user)},
	        {"impersonate_uid", offsetof(struct kube_rest, impersonate_uid)},
	};
	const char *key;
	const json_t *value;
	json_object_foreach((json_t *)expect, key, value)
	{
		size_t i;
		for (i = 0; i < sizeof(rest_strings) / sizeof(rest_strings[0]); i++) {
			if (strcmp(key, rest_strings[i].key) == 0)
				break;
		}
		if (i < sizeof(rest_strings) / sizeof(rest_strings[0])) {
			const char *actual = *(char *const *)((const char *)rest + rest_strings[i].offset);
			check_string(key, actual, value, dir, arena);
		} else if (strcmp(key, "server") == 0) {
			check_string(key, kube_config_server(config), value, dir, arena);
		} else if (strcmp(key, "namespace") == 0) {
			check_string(key, kube_config_namespace(config), value, dir, arena);
		} else if (strcmp(key, "context") == 0) {
			check_string(key, kube_config_context_name(config), value, dir, arena);
		} else if (strcmp(key, "cluster") == 0) {
			check_string(key, kube_config_cluster_name(config), value, dir, arena);
		} else if (strcmp(key, "user") == 0) {
			check_string(key, kube_config_user_name(config), value, dir, arena);
		} else if (strcmp(key, "namespace_explicit") == 0) {
			assert_int_equal(kube_config_namespace_explicit(config), json_is_true(value));
		} else if (strcmp(key, "insecure") == 0) {
			assert_int_equal(rest->insecure, json_is_true(value));
		} else if (strcmp(key, "in_cluster") == 0) {
			assert_int_equal(rest->in_cluster, json_is_true(value));
		} else if (strcmp(key, "request_timeout_ms") == 0) {
			assert_int_equal(rest->request_timeout_ms, json_integer_value(value));
		} else if (strcmp(key, "ca_data") == 0) {
			check_data(key, rest->ca_data, rest->ca_data_len, value);
		} else if (strcmp(key, "cert_data") == 0) {
			check_data(key, rest->cert_data, rest->cert_data_len, value);
		} else if (strcmp(key, "key_data") == 0) {
			check_data(key, rest->key_data, rest->key_data_len, value);
		} else if (strcmp(key, "impersonate_groups") == 0) {
			check_list(key, rest->impersonate_groups, value);
		} else if (strcmp(key, "impersonate_extra") == 0) {
			check_list(key, rest->impersonate_extra, value);
		} else if (strcmp(key, "exec") == 0) {
			check_exec(rest->exec, value, dir, arena);
		} else if (strcmp(key, "auth_provider") == 0) {
			check_auth_provider(rest->auth_provider, value, dir, arena);
		} else {
			fail_msg("unknown expectation %s", key);
		}
	}
}

/* Secrets a case names must never reach the log, at any verbosity. */
static void check_log_has_no_secrets(const json_t *spec, const json_t *expect)
{
	const char *fields[] = {"token", "password"};
	for (size_t i = 0; i < 2; i++) {
		const char *secret = json_string_value(json_object_get(expect, fields[i]));
		if (secret && strstr(log_text, secret))
			fail_msg("the log contains the %s", fields[i]);
	}
	size_t i;
	const json_t *item;
	json_array_foreach(json_object_get(spec, "secrets"), i, item)
	{
		if (strstr(log_text, json_string_value(item)))
			fail_msg("the log contains a secret");
	}
}

static void run_variant(const char *name, const char *dir, const json_t *spec, const json_t *variant)
{
	struct arena *arena = &case_arena;
	kube_config_options opts;
	kube_config *config = NULL;
	char cwd[4096];
	int chdir_case = json_is_true(json_object_get(spec, "cwd"));
	const json_t *expect = json_object_get(variant ? variant : spec, "expect");
	const json_t *error = json_object_get(spec, "error");

	print_message("case %s%s\n", name, variant ? " (variant)" : "");
	setup_case(dir, spec, variant, &opts, arena);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	if (chdir_case)
		assert_int_equal(chdir(dir), 0);
	log_text[0] = '\0';
	kube_log_set(capture_log, 10, NULL);
	int rc = kube_config_load(&config, &opts);
	kube_log_set(NULL, 0, NULL);
	if (chdir_case)
		assert_int_equal(chdir(cwd), 0);

	if (error && !variant) {
		const char *message = kube_error_last()->message;
		const char *want = expand_dir(arena, dir, json_string_value(json_object_get(error, "message")));
		if (rc == 0)
			fail_msg("%s: expected %s, got success", name,
			         json_string_value(json_object_get(error, "code")));
		assert_string_equal(kube_error_name(rc), json_string_value(json_object_get(error, "code")));
		assert_int_equal(kube_error_last()->code, rc);
		if (!strstr(message, want))
			fail_msg("%s: message \"%s\" lacks \"%s\"", name, message, want);
		assert_null(strchr(message, '\n'));
		assert_null(config);
	} else {
		if (rc != 0)
			fail_msg("%s: %s: %s", name, kube_error_name(rc), kube_error_last()->message);
		check_expectations(config, expect, dir, arena);
		check_log_has_no_secrets(spec, expect);
	}
	kube_config_free(config);
	arena_free(arena);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every case directory whose name starts with prefix ("" = all
 * without running them, to list). Returns how many matched. */
static size_t run_cases(const char *prefix, int run)
{
	char *names[256];
	size_t count = 0;
	DIR *cases = opendir(test_fixture_path(CASES_DIR));
	assert_non_null(cases);
	for (struct dirent *entry; (entry = readdir(cases)) != NULL;) {
		struct stat st;
		char relative[512];
		(void)snprintf(relative, sizeof(relative), "%s/%s", CASES_DIR, entry->d_name);
		if (entry->d_name[0] == '.' || strncmp(entry->d_name, prefix, strlen(prefix)) != 0 ||
		    stat(test_fixture_path(relative), &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		assert_true(count < 256);
		names[count] = strdup(entry->d_name);
		assert_non_null(names[count++]);
	}
	closedir(cases);
	qsort(names, count, sizeof(names[0]), compare_names);
	for (size_t i = 0; i < count; i++) {
		char relative[512];
		(void)snprintf(relative, sizeof(relative), "%s/%s", CASES_DIR, names[i]);
		char *dir = strdup(test_fixture_path(relative));
		char *case_file = join(dir, "case.json");
		json_error_t parse_error;
		json_t *spec = json_load_file(case_file, 0, &parse_error);
		if (!spec)
			fail_msg("%s: %s", case_file, parse_error.text);
		if (run) {
			size_t j;
			const json_t *variant;
			run_variant(names[i], dir, spec, NULL);
			json_array_foreach(json_object_get(spec, "also"), j, variant)
			        run_variant(names[i], dir, spec, variant);
		}
		json_decref(spec);
		free(case_file);
		free(dir);
		free(names[i]);
	}
	return count;
}

static const char *const groups[] = {"merge_", "paths_", "flags_", "namespace_", "auth_", "errors_", "incluster_"};

static void test_kubeconfig__merge_follows_kubectl_precedence(void **state)
{
	(void)state;
	assert_true(run_cases("merge_", 1) > 0);
}

static void test_kubeconfig__relative_paths_resolve_per_defining_file(void **state)
{
	(void)state;
	assert_true(run_cases("paths_", 1) > 0);
}

static void test_kubeconfig__flags_override_kubeconfig(void **state)
{
	(void)state;
	assert_true(run_cases("flags_", 1) > 0);
}

static void test_kubeconfig__namespace_from_flag_context_default(void **state)
{
	(void)state;
	assert_true(run_cases("namespace_", 1) > 0);
}

static void test_kubeconfig__auth_stanzas_are_parsed(void **state)
{
	(void)state;
	assert_true(run_cases("auth_", 1) > 0);
}

static void test_kubeconfig__errors_are_one_line_econfig(void **state)
{
	(void)state;
	assert_true(run_cases("errors_", 1) > 0);
}

static void test_kubeconfig__in_cluster_fallback(void **state)
{
	(void)state;
	assert_true(run_cases("incluster_", 1) > 0);
}

static void test_kubeconfig__every_case_belongs_to_a_group(void **state)
{
	(void)state;
	size_t grouped = 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		grouped += run_cases(groups[i], 0);
	assert_int_equal(grouped, run_cases("", 0));
}

static void test_kubeconfig__duration_parse_matches_kubectl(void **state)
{
	static const struct {
		const char *text;
		int rc;
		long ms;
	} cases[] = {
	        {"0", 0, 0},
	        {"30", 0, 30000},
	        {"+5", 0, 5000},
	        {"-0", 0, 0},
	        {"30s", 0, 30000},
	        {"1m", 0, 60000},
	        {"1h2m3.5s", 0, 3723500},
	        {"500ms", 0, 500},
	        {"1.5h", 0, 5400000},
	        {".5s", 0, 500},
	        {"2s500ms", 0, 2500},
	        {"1500us", 0, 2},
	        {"1\xc2\xb5s", 0, 1},
	        {"1ns", 0, 1},
	        {"0s", 0, 0},
	        {"-0s", 0, 0},
	        {"-1s", KUBE_EINVALID, 0},
	        {"-5", KUBE_EINVALID, 0},
	        {"", KUBE_EINVALID, 0},
	        {"s", KUBE_EINVALID, 0},
	        {"1.5", KUBE_EINVALID, 0},
	        {"1d", KUBE_EINVALID, 0},
	        {"1 s", KUBE_EINVALID, 0},
	        {" 1s", KUBE_EINVALID, 0},
	        {"1s ", KUBE_EINVALID, 0},
	        {"abc", KUBE_EINVALID, 0},
	        {".s", KUBE_EINVALID, 0},
	        {"99999999999999999999", KUBE_EINVALID, 0},
	        {"9999999999h", KUBE_EINVALID, 0},
	        {"2562047h48m", KUBE_EINVALID, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long ms = -7;
		int rc = kube_duration_parse(&ms, cases[i].text);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": expected %d, got %d", cases[i].text, cases[i].rc, rc);
		if (rc == 0 && ms != cases[i].ms)
			fail_msg("\"%s\": expected %ld ms, got %ld", cases[i].text, cases[i].ms, ms);
		if (rc != 0) {
			assert_int_equal(ms, -7);
			assert_non_null(strstr(kube_error_last()->message, "invalid duration"));
		}
	}
	assert_int_equal(kube_duration_parse(&(long){0}, NULL), KUBE_EINVALID);
}

static void test_kubeconfig__path_resolve_joins_and_cleans(void **state)
{
	static const struct {
		const char *origin;
		const char *path;
		const char *want;
	} cases[] = {
	        {"/a/b/config", "ca.crt", "/a/b/ca.crt"},
	        {"/a/b/config", "../c/x.pem", "/a/c/x.pem"},
	        {"/a/b/config", "./x/./y//z", "/a/b/x/y/z"},
	        {"/a/b/config", "/etc/ca.crt", "/etc/ca.crt"},
	        {"/config", "x", "/x"},
	        {"/a/config", "../../../x", "/x"},
	        {"/a/b/config", "x/..", "/a/b"},
	        {"/a/b/config", "x/", "/a/b/x"},
	};
	char cwd[4096], want[4200];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = kube_path_resolve(cases[i].path, cases[i].origin);
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *got = kube_path_resolve("ca.crt", "sub/config");
	(void)snprintf(want, sizeof(want), "%s/sub/ca.crt", strcmp(cwd, "/") == 0 ? "" : cwd);
	assert_string_equal(got, want);
	free(got);
}

/* The fuzz target's entry: kubeconfig bytes with a made-up path, no disk. */
static void test_kubeconfig__parses_bytes_without_disk(void **state)
{
	static const char first[] = "clusters:\n- name: c\n  cluster:\n    server: https://first:6443\n"
	                            "users:\n- name: u\n  user:\n    token: t1\n"
	                            "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: one}\n";
	static const char second[] = "{\"current-context\": \"x\", \"clusters\": [{\"name\": \"c\", \"cluster\": "
	                             "{\"server\": \"https://second\"}}]}";
	struct kube_kubeconfig kc = KUBE_KUBECONFIG_INIT;
	kube_config *config = NULL;
	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_kubeconfig_add(&kc, "/virtual/first", first, strlen(first)), 0);
	assert_int_equal(kube_kubeconfig_add(&kc, "/virtual/second", second, strlen(second)), 0);
	assert_int_equal(kube_kubeconfig_add(&kc, "/virtual/bad", "clusters: {", 11), KUBE_ECONFIG);
	assert_non_null(strstr(kube_error_last()->message, "/virtual/bad: "));
	assert_int_equal(kc.nfiles, 2);
	assert_int_equal(kube_config_resolve(&config, &kc, NULL), 0);
	assert_string_equal(kube_config_server(config), "https://first:6443");
	assert_string_equal(kube_config_namespace(config), "one");
	assert_string_equal(kube_config_rest(config)->token, "t1");
	kube_config_free(config);
	kube_kubeconfig_dispose(&kc);
}

/* Warning lines (KUBE_LOG_WARN) of the current load. */
static char warn_text[4096];

static void capture_warnings(int level, const char *line, void *user)
{
	(void)user;
	size_t used = strlen(warn_text);
	if (level <= KUBE_LOG_WARN)
		(void)snprintf(warn_text + used, sizeof(warn_text) - used, "%s\n", line);
}

/* Loads the kubeconfig files kubectl would (explicit_path, else
 * KUBECONFIG, else ~/.kube/config) and returns the warnings logged. */
static const char *load_warnings(const char *explicit_path)
{
	struct kube_kubeconfig kc = KUBE_KUBECONFIG_INIT;
	warn_text[0] = '\0';
	kube_log_set(capture_warnings, 0, NULL);
	int rc = kube_kubeconfig_load(&kc, explicit_path);
	kube_log_set(NULL, 0, NULL);
	kube_kubeconfig_dispose(&kc);
	assert_int_equal(rc, 0);
	return warn_text;
}

#define WORLD_READABLE "Kubernetes configuration file is world-readable. This is insecure. Location: "
#define GROUP_READABLE "Kubernetes configuration file is group-readable. This is insecure. Location: "

/* Helm's warning (cmd/helm root_unix.go) for every kubeconfig file read
 * that its group or others can read, in Helm's words: one line per file,
 * world-readable winning over group-readable; nothing for 0600, for a file
 * that is not regular (KUBECONFIG=/dev/null) or one that is missing. */
static void test_kubeconfig__readable_by_others_warns_like_helm(void **state)
{
	static const char config_text[] = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
	                                  "\"https://k:6443\"}\ncurrent-context: x\n";
	static const struct {
		mode_t mode;
		const char *warning; /* NULL: none */
	} cases[] = {
	        {0644, WORLD_READABLE}, {0604, WORLD_READABLE}, {0640, GROUP_READABLE},
	        {0660, GROUP_READABLE}, {0600, NULL},           {0400, NULL},
	};
	char a[512], b[512], kube_dir[512], home_config[600], list[2048], want[1200];
	(void)state;
	unsetenv("KUBECONFIG");
	(void)snprintf(a, sizeof(a), "%s/a.kubeconfig", home_dir);
	(void)snprintf(b, sizeof(b), "%s/b.kubeconfig", home_dir);
	test_write_text(a, config_text);
	test_write_text(b, config_text);

	/* --kubeconfig, each mode */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(chmod(a, cases[i].mode), 0);
		if (cases[i].warning)
			(void)snprintf(want, sizeof(want), "%s%s\n", cases[i].warning, a);
		else
			want[0] = '\0';
		assert_string_equal(load_warnings(a), want);
	}

	/* every file of KUBECONFIG, each once (a is listed twice), missing
	 * ones and /dev/null skipped */
	assert_int_equal(chmod(a, 0644), 0);
	assert_int_equal(chmod(b, 0640), 0);
	(void)snprintf(list, sizeof(list), "%s:/dev/null:%s/missing:%s:%s", a, home_dir, b, a);
	setenv("KUBECONFIG", list, 1);
	(void)snprintf(want, sizeof(want), "%s%s\n%s%s\n", WORLD_READABLE, a, GROUP_READABLE, b);
	assert_string_equal(load_warnings(NULL), want);
	unsetenv("KUBECONFIG");

	/* ~/.kube/config */
	setenv("HOME", home_dir, 1);
	(void)snprintf(kube_dir, sizeof(kube_dir), "%s/.kube", home_dir);
	(void)snprintf(home_config, sizeof(home_config), "%s/config", kube_dir);
	assert_int_equal(mkdir(kube_dir, 0700), 0);
	test_write_text(home_config, config_text);
	assert_int_equal(chmod(home_config, 0640), 0);
	(void)snprintf(want, sizeof(want), "%s%s\n", GROUP_READABLE, home_config);
	assert_string_equal(load_warnings(NULL), want);
	assert_int_equal(chmod(home_config, 0600), 0);
	assert_string_equal(load_warnings(NULL), "");

	unlink(home_config);
	rmdir(kube_dir);
	unlink(a);
	unlink(b);
}

/* Every allocation in loading and resolving can fail: the result is
 * KUBE_ENOMEM and nothing leaks (the sanitizer build checks leaks). */
static void test_kubeconfig__allocation_failures_return_enomem(void **state)
{
	static const char *const rich[] = {"auth_exec",
	                                   "auth_provider",
	                                   "paths_relative_per_defining_file",
	                                   "incluster_fallback",
	                                   "auth_impersonation_from_kubeconfig",
	                                   "auth_inline_data",
	                                   "merge_current_context_first_setter"};
	(void)state;
	for (size_t c = 0; c < sizeof(rich) / sizeof(rich[0]); c++) {
		char relative[256];
		(void)snprintf(relative, sizeof(relative), "%s/%s", CASES_DIR, rich[c]);
		char *dir = strdup(test_fixture_path(relative));
		char *case_file = join(dir, "case.json");
		json_t *spec = json_load_file(case_file, 0, NULL);
		assert_non_null(spec);
		for (long n = 1;; n++) {
			struct arena *arena = &case_arena;
			kube_config_options opts;
			kube_config *config = NULL;
			setup_case(dir, spec, NULL, &opts, arena);
			test_alloc_fail_at(n);
			int rc = kube_config_load(&config, &opts);
			long count = test_alloc_count();
			test_alloc_fail_at(0);
			kube_config_free(config);
			arena_free(arena);
			if (rc == 0) {
				if (count >= n)
					fail_msg("%s: allocation %ld failed but loading succeeded", rich[c], n);
				break;
			}
			if (rc != KUBE_ENOMEM)
				fail_msg("%s: allocation %ld failed: %s: %s", rich[c], n, kube_error_name(rc),
				         kube_error_last()->message);
			assert_null(config);
		}
		json_decref(spec);
		free(case_file);
		free(dir);
	}
}

static int make_home(void **state)
{
	(void)state;
	(void)snprintf(home_dir, sizeof(home_dir), "%s/rollguard-kcfg-XXXXXX",
	               getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(home_dir) ? 0 : -1;
}

static int remove_home(void **state)
{
	(void)state;
	return rmdir(home_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kubeconfig__merge_follows_kubectl_precedence),
	        cmocka_unit_test(test_kubeconfig__relative_paths_resolve_per_defining_file),
	        cmocka_unit_test(test_kubeconfig__flags_override_kubeconfig),
	        cmocka_unit_test(test_kubeconfig__namespace_from_flag_context_default),
	        cmocka_unit_test(test_kubeconfig__auth_stanzas_are_parsed),
	        cmocka_unit_test(test_kubeconfig__errors_are_one_line_econfig),
	        cmocka_unit_test(test_kubeconfig__in_cluster_fallback),
	        cmocka_unit_test(test_kubeconfig__every_case_belongs_to_a_group),
	        cmocka_unit_test(test_kubeconfig__duration_parse_matches_kubectl),
	        cmocka_unit_test(test_kubeconfig__path_resolve_joins_and_cleans),
	        cmocka_unit_test(test_kubeconfig__parses_bytes_without_disk),
	        cmocka_unit_test(test_kubeconfig__readable_by_others_warns_like_helm),
	        cmocka_unit_test(test_kubeconfig__allocation_failures_return_enomem),
	};
	return cmocka_run_group_tests(tests, make_home, remove_home);
}
