/* Tests of plugins/rollback-safe/helm.c: the `helm rollback` command line
 * for Helm 3 and Helm 4 (every connection flag, the =true form, flags it
 * must never pass, the ones it must refuse), finding helm through
 * HELM_BIN and PATH, and running fake helm scripts: exit codes passed
 * through, stdout sent to stderr, signals forwarded, the child killed
 * with its parent. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "helm.h"
#include "test_support.h"

static const rollback_helm helm3 = {"/opt/helm3/helm", "v3.22.0", 3, 22};
static const rollback_helm helm4 = {"/opt/helm4/helm", "v4.3.1", 4, 3};
static const rollback_helm helm42 = {"/opt/helm4/helm", "v4.2.4", 4, 2};

/* ---- helpers ------------------------------------------------------------------------------------------------- */

static size_t argv_count(char **argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	return n;
}

/* Asserts argv is exactly want (NULL-ended). */
static void assert_argv(char **argv, const char *const *want)
{
	size_t i;
	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

/* The index of arg in argv, or -1. */
static int argv_find(char **argv, const char *arg)
{
	for (int i = 0; argv[i]; i++)
		if (strcmp(argv[i], arg) == 0)
			return i;
	return -1;
}

static rollback_helm_rollback basic_rollback(void)
{
	rollback_helm_rollback opts = ROLLBACK_HELM_ROLLBACK_INIT;
	opts.release = "web";
	opts.revision = 3;
	opts.ns = "prod";
	return opts;
}

/* Where cli_error lines go during a test, read back with errors_text(). */
static char errors_path[512];

static void errors_begin(void)
{
	test_tmp_path(errors_path, sizeof(errors_path), "errors.txt");
	FILE *f = fopen(errors_path, "w");
	assert_non_null(f);
	cli_error_stream_set(f);
}

static const char *errors_text(void)
{
	fflush(cli_error_stream());
	fclose(cli_error_stream());
	cli_error_stream_set(NULL);
	const char *text = test_read_text(errors_path);
	return text ? text : "";
}

/* Writes an executable shell script named name in the test directory;
 * returns its path (static buffer). */
static const char *write_script(const char *name, const char *body)
{
	static char path[512];
	char text[4096];
	test_tmp_path(path, sizeof(path), name);
	snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
	test_write_text(path, text);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

/* The process's stdout and stderr sent to files while a child runs. */
typedef struct captured {
	int saved_out, saved_err;
	char out_path[512], err_path[512];
} captured;

static void capture_begin(captured *c)
{
	fflush(stdout);
	fflush(stderr);
	test_tmp_path(c->out_path, sizeof(c->out_path), "stdout.txt");
	test_tmp_path(c->err_path, sizeof(c->err_path), "stderr.txt");
	int out = open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err = open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0 && err >= 0);
	c->saved_out = dup(STDOUT_FILENO);
	c->saved_err = dup(STDERR_FILENO);
	assert_true(c->saved_out >= 0 && c->saved_err >= 0);
	assert_true(dup2(out, STDOUT_FILENO) >= 0 && dup2(err, STDERR_FILENO) >= 0);
	close(out);
	close(err);
}

static void capture_end(captured *c)
{
	fflush(stdout);
	fflush(stderr);
	dup2(c->saved_out, STDOUT_FILENO);
	dup2(c->saved_err, STDERR_FILENO);
	close(c->saved_out);
	close(c->saved_err);
}

/* A copy of a file's text (the caller's), "" when it does not exist. */
static char *file_text(const char *path)
{
	const char *text = test_read_text(path);
	return strdup(text ? text : "");
}

static void set_helm(rollback_helm *helm, const char *path)
{
	memset(helm, 0, sizeof(*helm));
	snprintf(helm->path, sizeof(helm->path), "%s", path);
	snprintf(helm->version, sizeof(helm->version), "v3.22.0");
	helm->major = 3;
}

/* Starts the script name (body as write_script takes it) as helm, with
 * no arguments; returns the child's pid. */
static pid_t start_script(const char *name, const char *body)
{
	rollback_helm helm;
	set_helm(&helm, write_script(name, body));
	char *const argv[] = {helm.path, NULL};
	pid_t pid = 0;
	assert_int_equal(rollback_helm_start(&pid, &helm, argv), 0);
	return pid;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static volatile sig_atomic_t handler_saw;

static void test_handler(int sig)
{
	handler_saw = sig;
}

/* ---- the command line ---------------------------------------------------------------------------------------- */

static void test_rollback_helm__argv_minimal_h3_and_h4(void **state)
{
	(void)state;
	rollback_helm_rollback opts = basic_rollback();
	char **argv = NULL;
	assert_int_equal(rollback_helm_argv(&argv, &helm3, &opts), 0);
	static const char *const want3[] = {"/opt/helm3/helm", "rollback", "web", "3", "--namespace", "prod", NULL};
	assert_argv(argv, want3);
	rollback_helm_argv_free(argv);

	assert_int_equal(rollback_helm_argv(&argv, &helm4, &opts), 0);
	static const char *const want4[] = {"/opt/helm4/helm", "rollback", "web", "3", "--namespace", "prod", NULL};
	assert_argv(argv, want4);
	rollback_helm_argv_free(argv);
}

static void test_rollback_helm__argv_every_option_h3_and_h4(void **state)
{
	(void)state;
	rollback_helm_rollback opts = basic_rollback();
	opts.revision = 12;
	opts.timeout_ms = 300000;
	opts.history_max = 0;
	opts.no_hooks = 1;
	opts.cleanup_on_fail = 1;
	const rollback_helm *helms[] = {&helm3, &helm4};
	for (size_t h = 0; h < 2; h++) {
		char **argv = NULL;
		assert_int_equal(rollback_helm_argv(&argv, helms[h], &opts), 0);
		const char *const want[] = {
		        helms[h]->path, "rollback",      "web", "12",         "--namespace",       "prod", "--timeout",
		        "300s",         "--history-max", "0",   "--no-hooks", "--cleanup-on-fail", NULL};
		assert_argv(argv, want);
		rollback_helm_argv_free(argv);
	}
}

static void test_rollback_helm__argv_timeout_as_go_duration(void **state)
{
	(void)state;
	static const struct {
		long ms;
		const char *want;
	} cases[] = {{1000, "1s"}, {90000, "90s"}, {1500, "1500ms"}, {600001, "600001ms"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rollback_helm_rollback opts = basic_rollback();
		opts.timeout_ms = cases[i].ms;
		char **argv = NULL;
		assert_int_equal(rollback_helm_argv(&argv, &helm4, &opts), 0);
		int at = argv_find(argv, "--timeout");
		assert_true(at > 0);
		assert_string_equal(argv[at + 1], cases[i].want);
		rollback_helm_argv_free(argv);
	}
	/* 0: helm's own default, no flag; no --history-max when -1 */
	rollback_helm_rollback opts = basic_rollback();
	char **argv = NULL;
	assert_int_equal(rollback_helm_argv(&argv, &helm3, &opts), 0);
	assert_int_equal(argv_find(argv, "--timeout"), -1);
	assert_int_equal(argv_find(argv, "--history-max"), -1);
	rollback_helm_argv_free(argv);
}

static void test_rollback_helm__argv_never_waits_forces_or_recreates(void **state)
{
	(void)state;
	static const char *const ids[] = {"ctx"};
	kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
	conn.context = ids[0];
	conn.insecure_skip_tls_verify = 1;
	rollback_helm_rollback opts = basic_rollback();
	opts.timeout_ms = 5000;
	opts.history_max = 3;
	opts.no_hooks = 1;
	opts.cleanup_on_fail = 1;
	opts.description = "why";
	opts.conn = &conn;
	const rollback_helm *helms[] = {&helm3, &helm4, &helm42};
	static const char *const banned[] = {"--wait", "--force", "--recreate-pods", "--dry-run", "--server-side"};
	for (size_t h = 0; h < 3; h++) {
		char **argv = NULL;
		assert_int_equal(rollback_helm_argv(&argv, helms[h], &opts), 0);
		for (size_t i = 0; argv[i]; i++)
			for (size_t b = 0; b < sizeof(banned) / sizeof(banned[0]); b++)
				assert_false(strncmp(argv[i], banned[b], strlen(banned[b])) == 0);
		rollback_helm_argv_free(argv);
	}
}

static void test_rollback_helm__argv_description_only_for_helm_4_3(void **state)
{
	(void)state;
	rollback_helm_rollback opts = basic_rollback();
	opts.description = "rollback-safe run r-1: back to 2";
	char **argv = NULL;
	assert_int_equal(rollback_helm_argv(&argv, &helm4, &opts), 0);
	int at = argv_find(argv, "--description");
	assert_true(at > 0);
	assert_string_equal(argv[at + 1], "rollback-safe run r-1: back to 2");
	rollback_helm_argv_free(argv);

	const rollback_helm *older[] = {&helm3, &helm42};
	for (size_t h = 0; h < 2; h++) {
		assert_int_equal(rollback_helm_argv(&argv, older[h], &opts), 0);
		assert_int_equal(argv_find(argv, "--description"), -1);
		assert_int_equal(argv_count(argv), 6);
		rollback_helm_argv_free(argv);
	}

	/* Helm refuses more than 256 characters: cut, never inside a
	 * character ("é" is two bytes; 255 'a' + "é" would end at 257) */
	char text[400];
	memset(text, 'a', 255);
	snprintf(text + 255, sizeof(text) - 255, "\xc3\xa9tail");
	opts.description = text;
	assert_int_equal(rollback_helm_argv(&argv, &helm4, &opts), 0);
	at = argv_find(argv, "--description");
	assert_true(at > 0);
	assert_int_equal(strlen(argv[at + 1]), 255);
	assert_int_equal(strspn(argv[at + 1], "a"), 255);
	rollback_helm_argv_free(argv);
}

static void test_rollback_helm__argv_maps_every_connection_flag(void **state)
{
	(void)state;
	static const char *const groups[] = {"system:masters", "devs"};
	kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
	conn.context = "kind-a";
	conn.kubeconfig = "/home/me/.kube/other";
	conn.server = "https://10.0.0.1:6443";
	conn.token = "s3cr3t";
	conn.certificate_authority = "/etc/ca.pem";
	conn.insecure_skip_tls_verify = 1;
	conn.tls_server_name = "api.internal";
	conn.as = "alice";
	conn.as_groups = groups;
	conn.as_groups_count = 2;
	conn.ns = "ignored-for-helm";        /* the release namespace is opts.ns */
	conn.request_timeout_ms = 30000;     /* the plugin's own requests only */
	conn.in_cluster_dir = "/var/run/sa"; /* idem */
	rollback_helm_rollback opts = basic_rollback();
	opts.conn = &conn;
	const rollback_helm *helms[] = {&helm3, &helm4};
	for (size_t h = 0; h < 2; h++) {
		char **argv = NULL;
		assert_int_equal(rollback_helm_argv(&argv, helms[h], &opts), 0);
		const char *const want[] = {helms[h]->path,
		                            "rollback",
		                            "web",
		                            "3",
		                            "--namespace",
		                            "prod",
		                            "--kube-context",
		                            "kind-a",
		                            "--kubeconfig",
		                            "/home/me/.kube/other",
		                            "--kube-apiserver",
		                            "https://10.0.0.1:6443",
		                            "--kube-ca-file",
		                            "/etc/ca.pem",
		                            "--kube-insecure-skip-tls-verify=true",
		                            "--kube-tls-server-name",
		                            "api.internal",
		                            "--kube-as-user",
		                            "alice",
		                            "--kube-as-group",
		                            "system:masters",
		                            "--kube-as-group",
		                            "devs",
		                            NULL};
		assert_argv(argv, want);
		/* the token never reaches argv */
		for (size_t i = 0; argv[i]; i++)
			assert_null(strstr(argv[i], "s3cr3t"));
		rollback_helm_argv_free(argv);
	}
}

static void test_rollback_helm__argv_insecure_only_when_1_and_always_with_equals(void **state)
{
	(void)state;
	static const int values[] = {-1, 0, 1};
	for (size_t v = 0; v < 3; v++) {
		kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
		conn.insecure_skip_tls_verify = values[v];
		rollback_helm_rollback opts = basic_rollback();
		opts.conn = &conn;
		char **argv = NULL;
		assert_int_equal(rollback_helm_argv(&argv, &helm3, &opts), 0);
		for (size_t i = 0; argv[i]; i++) {
			/* a bare flag would swallow the argument after it */
			assert_int_not_equal(strcmp(argv[i], "--kube-insecure-skip-tls-verify"), 0);
			assert_int_not_equal(strcmp(argv[i], "--kube-insecure-skip-tls-verify=false"), 0);
		}
		assert_int_equal(argv_find(argv, "--kube-insecure-skip-tls-verify=true") > 0, values[v] == 1);
		assert_int_equal(argv_count(argv), values[v] == 1 ? 7 : 6);
		rollback_helm_argv_free(argv);
	}
}

static void test_rollback_helm__argv_skips_empty_connection_values(void **state)
{
	(void)state;
	static const char *const groups[] = {""};
	kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
	conn.context = "";
	conn.token = "";
	conn.as_groups = groups;
	conn.as_groups_count = 1;
	conn.cluster = ""; /* empty is not given: no refusal */
	rollback_helm_rollback opts = basic_rollback();
	opts.conn = &conn;
	char **argv = NULL;
	assert_int_equal(rollback_helm_argv(&argv, &helm4, &opts), 0);
	assert_int_equal(argv_count(argv), 6);
	rollback_helm_argv_free(argv);
}

static void test_rollback_helm__argv_refuses_flags_helm_cannot_take(void **state)
{
	(void)state;
	static const char *const flags[] = {"--cluster", "--user", "--client-certificate", "--client-key", "--as-uid"};
	for (size_t f = 0; f < 5; f++) {
		kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
		conn.context = "kind-a";
		const char **slot[] = {&conn.cluster, &conn.user, &conn.client_certificate, &conn.client_key,
		                       &conn.as_uid};
		*slot[f] = "value";
		rollback_helm_rollback opts = basic_rollback();
		opts.conn = &conn;
		char *sentinel[1] = {NULL};
		char **argv = sentinel; /* must become NULL */
		errors_begin();
		int rc = rollback_helm_argv(&argv, &helm4, &opts);
		const char *errors = errors_text();
		assert_int_equal(rc, CLI_EXIT_USAGE);
		assert_null(argv);
		assert_non_null(strstr(errors, "error: "));
		assert_non_null(strstr(errors, flags[f]));
		assert_non_null(strstr(errors, "cannot be handed to helm"));
	}
}

static void test_rollback_helm__argv_out_of_memory(void **state)
{
	(void)state;
	static const char *const groups[] = {"a", "b", "c"};
	kube_config_options conn = KUBE_CONFIG_OPTIONS_INIT;
	conn.context = "ctx";
	conn.as_groups = groups;
	conn.as_groups_count = 3;
	rollback_helm_rollback opts = basic_rollback();
	opts.timeout_ms = 1000;
	opts.conn = &conn;
	int failed = 0;
	for (long n = 1; n < 200; n++) {
		char **argv = NULL;
		errors_begin();
		test_alloc_fail_at(n);
		int rc = rollback_helm_argv(&argv, &helm3, &opts);
		test_alloc_fail_at(0);
		errors_text();
		if (rc == 0) {
			assert_non_null(argv);
			rollback_helm_argv_free(argv);
			break;
		}
		assert_int_equal(rc, CLI_EXIT_FAIL);
		assert_null(argv);
		failed++;
	}
	assert_true(failed > 5);
}

/* ---- finding helm -------------------------------------------------------------------------------------------- */

/* A fake helm answering `version --template {{.Version}}` with version;
 * any other arguments exit 9. */
static const char *fake_version_helm(const char *name, const char *version)
{
	char body[512];
	snprintf(body, sizeof(body),
	         "if [ \"$1\" = version ] && [ \"$2\" = --template ] && [ \"$3\" = '{{.Version}}' ] && [ $# -eq 3 ]; "
	         "then printf '%s'; exit 0; fi\nexit 9\n",
	         version);
	return write_script(name, body);
}

static void test_rollback_helm__find_helm_bin_helm4_and_helm3(void **state)
{
	static const struct {
		const char *name, *says; /* the script, what its `helm version` prints */
		const char *version;
		int major, minor;
	} helms[] = {
	        {"helm-four", "v4.3.1", "v4.3.1", 4, 3},
	        {"helm-three", "v3.22.0\n", "v3.22.0", 3, 22},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(helms) / sizeof(helms[0]); i++) {
		rollback_helm helm;
		const char *path = fake_version_helm(helms[i].name, helms[i].says);
		setenv("HELM_BIN", path, 1);
		assert_int_equal(rollback_helm_find(&helm), 0);
		assert_string_equal(helm.path, path);
		assert_string_equal(helm.version, helms[i].version);
		assert_int_equal(helm.major, helms[i].major);
		assert_int_equal(helm.minor, helms[i].minor);
	}
	unsetenv("HELM_BIN");
}

static void test_rollback_helm__find_on_path(void **state)
{
	(void)state;
	char dir[512], expected[600];
	test_tmp_path(dir, sizeof(dir), "bin");
	mkdir(dir, 0755);
	char script[600];
	snprintf(script, sizeof(script), "%s/helm", dir);
	test_write_text(script, "#!/bin/sh\nprintf v3.17.2\n");
	assert_int_equal(chmod(script, 0755), 0);
	snprintf(expected, sizeof(expected), "%s/helm", dir);

	const char *old_path = getenv("PATH");
	char *saved = strdup(old_path ? old_path : "");
	char path_value[1200];
	/* a missing directory first, then ours */
	snprintf(path_value, sizeof(path_value), "/nonexistent/rollguard:%s:/usr/bin:/bin", dir);
	setenv("PATH", path_value, 1);
	unsetenv("HELM_BIN");
	rollback_helm helm;
	int rc = rollback_helm_find(&helm);
	setenv("HELM_BIN", "", 1); /* empty counts as unset */
	int rc_empty = rollback_helm_find(&helm);
	unsetenv("HELM_BIN");
	setenv("PATH", saved, 1);
	free(saved);
	assert_int_equal(rc, 0);
	assert_int_equal(rc_empty, 0);
	assert_string_equal(helm.path, expected);
	assert_int_equal(helm.major, 3);
	assert_int_equal(helm.minor, 17);
}

static void test_rollback_helm__find_not_found_exits_3(void **state)
{
	(void)state;
	const char *old_path = getenv("PATH");
	char *saved = strdup(old_path ? old_path : "");
	char dir[512];
	setenv("PATH", test_tmp_path(dir, sizeof(dir), "empty-dir-on-path"), 1);
	unsetenv("HELM_BIN");
	rollback_helm helm;
	errors_begin();
	int rc = rollback_helm_find(&helm);
	const char *errors = errors_text();
	setenv("PATH", saved, 1);
	free(saved);
	assert_int_equal(rc, CLI_EXIT_CONFIG);
	assert_string_equal(errors, "error: helm not found: set HELM_BIN or put helm on PATH\n");

	/* HELM_BIN naming something that is not an executable file */
	char plain[512];
	test_write_text(test_tmp_path(plain, sizeof(plain), "not-executable"), "#!/bin/sh\nprintf v3.0.0\n");
	chmod(plain, 0644);
	static const char *const bad[] = {"/nonexistent/helm", "/tmp", NULL};
	const char *values[] = {bad[0], bad[1], plain};
	for (size_t i = 0; i < 3; i++) {
		setenv("HELM_BIN", values[i], 1);
		errors_begin();
		rc = rollback_helm_find(&helm);
		errors = errors_text();
		assert_int_equal(rc, CLI_EXIT_CONFIG);
		assert_non_null(strstr(errors, "error: helm not found: HELM_BIN="));
		assert_non_null(strstr(errors, values[i]));
		assert_non_null(strstr(errors, "hint: "));
	}
	unsetenv("HELM_BIN");
}

static void test_rollback_helm__find_version_failures(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int rc;
		const char *needle;
	} cases[] = {
	        {"echo 'Error: unknown flag: --template' >&2\nexit 1\n", CLI_EXIT_FAIL, "exited with status 1"},
	        {"printf 'not a version'\n", CLI_EXIT_FAIL, "not a Helm version: \"not a version\""},
	        {"printf ''\n", CLI_EXIT_FAIL, "not a Helm version"},
	        {"printf 'v3'\n", CLI_EXIT_FAIL, "not a Helm version"},
	        {"kill -KILL $$\n", CLI_EXIT_FAIL, "exited with status 137"},
	        {"printf 'v2.17.0'\n", CLI_EXIT_CONFIG, "needs Helm 3 or 4"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("HELM_BIN", write_script("helm-bad", cases[i].body), 1);
		rollback_helm helm;
		captured c;
		errors_begin();
		capture_begin(&c);
		int rc = rollback_helm_find(&helm);
		capture_end(&c);
		const char *errors = errors_text();
		if (rc != cases[i].rc || !strstr(errors, cases[i].needle))
			fail_msg("case %zu: rc %d, errors: %s", i, rc, errors);
	}
	unsetenv("HELM_BIN");
}

static void test_rollback_helm__find_helm_5_counts_as_4(void **state)
{
	(void)state;
	setenv("HELM_BIN", fake_version_helm("helm-five", "v5.0.0-rc.1"), 1);
	rollback_helm helm;
	assert_int_equal(rollback_helm_find(&helm), 0);
	unsetenv("HELM_BIN");
	assert_int_equal(helm.major, 5);
	assert_string_equal(helm.version, "v5.0.0-rc.1");
	rollback_helm_rollback opts = basic_rollback();
	opts.description = "d";
	char **argv = NULL;
	assert_int_equal(rollback_helm_argv(&argv, &helm, &opts), 0);
	assert_true(argv_find(argv, "--description") > 0);
	rollback_helm_argv_free(argv);
}

/* ---- running helm -------------------------------------------------------------------------------------------- */

static void test_rollback_helm__start_wait_exit_code_and_stdout_to_stderr(void **state)
{
	(void)state;
	rollback_helm helm;
	set_helm(&helm, write_script("helm-run", "echo \"helm says on stdout: $*\"\necho 'helm error line' >&2\n"
	                                         "exit 3\n"));
	char *const argv[] = {helm.path, (char *)"rollback", (char *)"web", (char *)"2", NULL};
	captured c;
	capture_begin(&c);
	printf("plugin stdout before\n");
	pid_t pid = 0;
	int rc_start = rollback_helm_start(&pid, &helm, argv);
	int code = -1;
	int rc_wait = rc_start == 0 ? rollback_helm_wait(pid, &code) : -1;
	printf("plugin stdout after\n");
	capture_end(&c);
	char *out = file_text(c.out_path), *err = file_text(c.err_path);
	assert_int_equal(rc_start, 0);
	assert_int_equal(rc_wait, 0);
	assert_int_equal(code, 3);
	assert_int_equal(rollback_helm_signal(), 0);
	assert_string_equal(out, "plugin stdout before\nplugin stdout after\n");
	assert_non_null(strstr(err, "helm says on stdout: rollback web 2\n"));
	assert_non_null(strstr(err, "helm error line\n"));
	free(out);
	free(err);
}

static void test_rollback_helm__wait_killed_child_is_128_plus_signal(void **state)
{
	(void)state;
	pid_t pid = start_script("helm-killed", "kill -TERM $$\nsleep 5\n");
	int code = -1;
	assert_int_equal(rollback_helm_wait(pid, &code), 0);
	assert_int_equal(code, 128 + SIGTERM);

	pid = start_script("helm-ok", "exit 0\n");
	assert_int_equal(rollback_helm_wait(pid, &code), 0);
	assert_int_equal(code, 0);
}

static void test_rollback_helm__start_not_executable_exits_1(void **state)
{
	(void)state;
	rollback_helm helm;
	set_helm(&helm, "/nonexistent/helm");
	char *const argv[] = {helm.path, NULL};
	pid_t pid = 0;
	errors_begin();
	int rc = rollback_helm_start(&pid, &helm, argv);
	const char *errors = errors_text();
	assert_int_equal(rc, CLI_EXIT_FAIL);
	assert_non_null(strstr(errors, "error: cannot run /nonexistent/helm: No such file or directory"));
	/* no child left behind to reap */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The tick sends the plugin a SIGTERM once, as `kill` from CI would;
 * should helm still run ten ticks later, the signal was never forwarded
 * and the tick ends it (exit 137) rather than hang the suite. */
struct sigterm_tick {
	int ticks;
	pid_t child;
};

static int tick_sends_sigterm(void *user)
{
	struct sigterm_tick *t = user;
	if (t->ticks++ == 0)
		kill(getpid(), SIGTERM);
	else if (t->ticks > 10)
		kill(t->child, SIGKILL);
	return 0;
}

static void test_rollback_helm__wait_forwards_sigterm_and_keeps_waiting(void **state)
{
	(void)state;
	char marker[512];
	test_tmp_path(marker, sizeof(marker), "term-seen");
	unlink(marker);
	char body[1024];
	/* helm that takes its time to finish after the signal: the wait must
	 * go on until it exits */
	snprintf(body, sizeof(body),
	         "trap 'sleep 0.3; echo term > \"%s\"; exit 7' TERM\nwhile :; do sleep 0.05; done\n", marker);
	rollback_helm helm;
	set_helm(&helm, write_script("helm-trap", body));
	char *const argv[] = {helm.path, NULL};

	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old);
	handler_saw = 0;

	struct sigterm_tick tick = {0, 0};
	assert_int_equal(rollback_helm_start(&tick.child, &helm, argv), 0);
	int code = -1;
	int rc = rollback_helm_wait_tick(tick.child, &code, tick_sends_sigterm, &tick);
	sigaction(SIGTERM, &old, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(code, 7);
	assert_true(tick.ticks >= 1 && tick.ticks <= 10);
	assert_int_equal(rollback_helm_signal(), SIGTERM);
	/* raised again for the program's own handler */
	assert_int_equal(handler_saw, SIGTERM);
	assert_non_null(test_read_text(marker));
}

static int tick_gives_up(void *user)
{
	int *ticks = user;
	return ++*ticks >= 1 ? 42 : 0;
}

static void test_rollback_helm__wait_tick_failure_stops_helm(void **state)
{
	(void)state;
	pid_t pid = start_script("helm-slow", "exec sleep 30\n");
	int code = -1, ticks = 0;
	time_t before = time(NULL);
	assert_int_equal(rollback_helm_wait_tick(pid, &code, tick_gives_up, &ticks), 42);
	assert_true(time(NULL) - before < 10);
	assert_int_equal(code, 128 + SIGTERM);
	assert_int_equal(ticks, 1);
	assert_int_equal(rollback_helm_signal(), 0);
}

/* 1 when pid is gone or a zombie nobody reaped yet. */
static int process_dead(pid_t pid)
{
	char path[64], stat_text[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t n = fread(stat_text, 1, sizeof(stat_text) - 1, f);
	fclose(f);
	stat_text[n] = '\0';
	const char *paren = strrchr(stat_text, ')');
	return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

static void test_rollback_helm__child_dies_with_the_plugin(void **state)
{
	(void)state;
	char pidfile[512], body[2048];
	test_tmp_path(pidfile, sizeof(pidfile), "helm.pid");
	unlink(pidfile);
	snprintf(body, sizeof(body), "echo $$ > \"%s.tmp\"\nmv \"%s.tmp\" \"%s\"\nexec sleep 30\n", pidfile, pidfile,
	         pidfile);
	rollback_helm helm;
	set_helm(&helm, write_script("helm-orphan", body));
	char *const argv[] = {helm.path, NULL};
	/* a stand-in plugin that starts helm and dies without a word */
	pid_t plugin = fork();
	assert_true(plugin >= 0);
	if (plugin == 0) {
		pid_t child;
		if (rollback_helm_start(&child, &helm, argv) != 0)
			_exit(1);
		for (int i = 0; i < 200 && access(pidfile, F_OK) != 0; i++)
			sleep_ms(10);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(plugin, &status, 0), plugin);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const char *text = test_read_text(pidfile);
	assert_non_null(text);
	pid_t helm_pid = (pid_t)strtol(text, NULL, 10);
	assert_true(helm_pid > 0);
	int dead = 0;
	for (int i = 0; i < 300 && !(dead = process_dead(helm_pid)); i++)
		sleep_ms(10);
	if (!dead)
		kill(helm_pid, SIGKILL);
	assert_true(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rollback_helm__argv_minimal_h3_and_h4),
	        cmocka_unit_test(test_rollback_helm__argv_every_option_h3_and_h4),
	        cmocka_unit_test(test_rollback_helm__argv_timeout_as_go_duration),
	        cmocka_unit_test(test_rollback_helm__argv_never_waits_forces_or_recreates),
	        cmocka_unit_test(test_rollback_helm__argv_description_only_for_helm_4_3),
	        cmocka_unit_test(test_rollback_helm__argv_maps_every_connection_flag),
	        cmocka_unit_test(test_rollback_helm__argv_insecure_only_when_1_and_always_with_equals),
	        cmocka_unit_test(test_rollback_helm__argv_skips_empty_connection_values),
	        cmocka_unit_test(test_rollback_helm__argv_refuses_flags_helm_cannot_take),
	        cmocka_unit_test(test_rollback_helm__argv_out_of_memory),
	        cmocka_unit_test(test_rollback_helm__find_helm_bin_helm4_and_helm3),
	        cmocka_unit_test(test_rollback_helm__find_on_path),
	        cmocka_unit_test(test_rollback_helm__find_not_found_exits_3),
	        cmocka_unit_test(test_rollback_helm__find_version_failures),
	        cmocka_unit_test(test_rollback_helm__find_helm_5_counts_as_4),
	        cmocka_unit_test(test_rollback_helm__start_wait_exit_code_and_stdout_to_stderr),
	        cmocka_unit_test(test_rollback_helm__wait_killed_child_is_128_plus_signal),
	        cmocka_unit_test(test_rollback_helm__start_not_executable_exits_1),
	        cmocka_unit_test(test_rollback_helm__wait_forwards_sigterm_and_keeps_waiting),
	        cmocka_unit_test(test_rollback_helm__wait_tick_failure_stops_helm),
	        cmocka_unit_test(test_rollback_helm__child_dies_with_the_plugin),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
