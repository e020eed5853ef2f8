/* Tests of common/cli: exit codes and error lines, the klog logger and
 * libkube's warnings (a kubeconfig others can read), no core dumps,
 * atomic output files (never through a symlink) and reports rendered as
 * -o asks, colour, tables, progress, help and version. Flag parsing and
 * redaction have their own suites (test_cli_flags.c, test_cli_redact.c). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/log.h>
#include <kube/version.h>

#include "cli/cli.h"
#include "cli/vlog.h"
#include "internal.h"
#include "test_support.h"

/* ----- programs to run ----- */

static int run_forbidden(const cli_args *args)
{
	(void)args;
	return kube_error_set_http(KUBE_EFORBIDDEN, 403, "Forbidden",
	                           "pods is forbidden: User \"dev\" cannot list resource \"pods\"", "list pods");
}

static const cli_command list_command = {.name = "list", .max_args = 0, .run = run_forbidden};
static const cli_command *const commands[] = {&list_command, NULL};
static const cli_program program = {.name = "kubectl test", .binary = "kubectl-test", .commands = commands};

/* Loads the configuration twice, as a command that reloads it would. */
static int run_load_config(const cli_args *args)
{
	for (int i = 0; i < 2; i++) {
		kube_config *config = NULL;
		int rc = kube_config_load(&config, &args->config);
		kube_config_free(config);
		if (rc)
			return rc;
	}
	return 0;
}

static const cli_command load_command = {.name = "load", .max_args = 0, .run = run_load_config};
static const cli_command *const load_commands[] = {&load_command, NULL};
static const cli_program load_program = {.name = "kubectl test", .binary = "kubectl-test", .commands = load_commands};
static const cli_program helm_load_program = {
        .name = "helm test", .binary = "helm-test", .commands = load_commands, .helm_env = 1};

static const cli_command *const version_only[] = {&cli_version_command, NULL};
static const cli_program plugin_program = {.name = "kubectl x",
                                           .binary = "kubectl-x",
                                           .summary = "A plugin",
                                           .examples = "  # Print the version\n  kubectl x version",
                                           .commands = version_only};

/* Everything written to f so far (malloc'd). */
static char *slurp(FILE *f)
{
	long size;
	assert_int_equal(fflush(f), 0);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	char *text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	rewind(f);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	return text;
}

static void test_cli__exit_code_mapping(void **state)
{
	static const struct {
		int code;
		int http;
		int exit;
	} table[] = {
	        {KUBE_OK, 0, 0},       {KUBE_ECONFIG, 0, 3},     {KUBE_EAUTH, 401, 3},      {KUBE_ETLS, 0, 3},
	        {KUBE_ENETWORK, 0, 4}, {KUBE_ENETWORK, 503, 4},  {KUBE_EFORBIDDEN, 403, 4}, {KUBE_ENOTFOUND, 404, 4},
	        {KUBE_ETIMEOUT, 0, 4}, {KUBE_EPROTOCOL, 200, 4}, {KUBE_EGONE, 410, 4},      {KUBE_ECONFLICT, 409, 6},
	        {KUBE_EINVALID, 0, 2}, {KUBE_EINVALID, 422, 4},  {KUBE_ERROR, 500, 4},      {KUBE_ERROR, 0, 1},
	        {KUBE_ENOMEM, 0, 1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(cli_exit_from_kube(table[i].code, table[i].http), table[i].exit);
	assert_non_null(strstr(cli_hint_for_kube(KUBE_ETLS), "--certificate-authority"));
	assert_non_null(strstr(cli_hint_for_kube(KUBE_EFORBIDDEN), "kubectl auth can-i"));
	assert_null(cli_hint_for_kube(KUBE_ENOMEM));
}

static void test_cli__error_lines(void **state)
{
	FILE *err = tmpfile();
	(void)state;
	assert_non_null(err);
	cli_error_stream_set(err);
	kube_error_set_http(KUBE_EFORBIDDEN, 403, "Forbidden", "deployments.apps \"web\" is forbidden: no",
	                    "get deployment web");
	assert_int_equal(cli_error_kube("promote web", KUBE_EFORBIDDEN), CLI_EXIT_API);
	kube_error_set_http(KUBE_ENOTFOUND, 404, "NotFound", "x not found", "get x: x not found");
	assert_int_equal(cli_error_kube(NULL, KUBE_ENOTFOUND), CLI_EXIT_API);
	char *text = slurp(err);
	assert_string_equal(text, "error: promote web: get deployment web: deployments.apps \"web\" is forbidden: no\n"
	                          "hint: check your permissions with 'kubectl auth can-i --list'\n"
	                          "error: get x: x not found\n"
	                          "hint: check the name and the namespace (-n/--namespace)\n");
	free(text);

	/* cli_main: unknown command, and a command failing with a libkube code */
	assert_int_equal(ftruncate(fileno(err), 0), 0);
	rewind(err);
	char *unknown[] = {(char *)"kubectl-x", (char *)"frob", NULL};
	assert_int_equal(cli_main(&plugin_program, 2, unknown), CLI_EXIT_USAGE);
	char *list[] = {(char *)"kubectl-test", (char *)"list", NULL};
	assert_int_equal(cli_main(&program, 2, list), CLI_EXIT_API);
	text = slurp(err);
	assert_string_equal(text, "error: unknown command \"frob\" for \"kubectl x\"\n"
	                          "hint: see 'kubectl x --help'\n"
	                          "error: list pods: pods is forbidden: User \"dev\" cannot list resource \"pods\"\n"
	                          "hint: check your permissions with 'kubectl auth can-i --list'\n");
	free(text);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	kube_log_set(NULL, 0, NULL);
}

static void test_cli__vlog_format_klog(void **state)
{
	kube_buf line = KUBE_BUF_INIT;
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(
	        cli_vlog_format(&line, 6, "GET https://k/api 200 Authorization: Bearer abc", 1700827200, 123, 42), 0);
	assert_string_equal(
	        kube_buf_cstr(&line),
	        "I1124 12:00:00.000123      42 request] GET https://k/api 200 Authorization: Bearer <masked>\n");
	kube_buf_clear(&line);
	assert_int_equal(cli_vlog_format(&line, 0, "deprecated API\n", 1700827200, 0, 1), 0);
	assert_string_equal(kube_buf_cstr(&line), "W1124 12:00:00.000000       1 warning] deprecated API\n");
	kube_buf_dispose(&line);
}

/* libkube's warnings are the user's: "warning: <line>" on the error
 * stream, redacted, each text once, none of it in the -v log. */
static void test_cli__library_warnings_print_once(void **state)
{
	FILE *err = tmpfile(), *log = tmpfile();
	(void)state;
	assert_non_null(err);
	assert_non_null(log);
	cli_error_stream_set(err);
	cli_vlog_install(0, log);
	kube_log(KUBE_LOG_WARN, "the server said no (unit test)");
	kube_log(KUBE_LOG_WARN, "the server said no (unit test)");
	kube_log(KUBE_LOG_WARN, "sent Authorization: Bearer abc (unit test)\n");
	kube_log(KUBE_LOG_DECISION, "a decision -v 0 does not show");
	kube_log_set(NULL, 0, NULL);
	char *text = slurp(err);
	assert_string_equal(text, "warning: the server said no (unit test)\n"
	                          "warning: sent Authorization: Bearer <masked> (unit test)\n");
	free(text);
	text = slurp(log);
	assert_string_equal(text, "");
	free(text);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	(void)fclose(log);
}

/* A kubeconfig others can read: Helm's sentence, as the suite's warning,
 * once however often the command loads it; nothing for 0600. */
static void test_cli__kubeconfig_readable_warning(void **state)
{
	static const char config_text[] = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
	                                  "\"https://k:6443\"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: "
	                                  "x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
	char dir[] = "/tmp/test_cli.XXXXXX";
	char path[256], want[512];
	FILE *err = tmpfile();
	(void)state;
	assert_non_null(err);
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/config", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs(config_text, f);
	assert_int_equal(fclose(f), 0);
	char *argv[] = {(char *)"kubectl-test", (char *)"load", (char *)"--kubeconfig", path, NULL};
	cli_error_stream_set(err);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cli_main(&load_program, 4, argv), 0);
	char *text = slurp(err);
	(void)snprintf(want, sizeof(want),
	               "warning: Kubernetes configuration file is world-readable. This is insecure. Location: %s\n",
	               path);
	assert_string_equal(text, want);
	free(text);

	assert_int_equal(ftruncate(fileno(err), 0), 0);
	rewind(err);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(cli_main(&load_program, 4, argv), 0);
	text = slurp(err);
	assert_string_equal(text, "");
	free(text);

	/* Run by Helm (HELM_BIN set), which printed its own warning: none.
	 * Group-readable is a text not seen yet, so the once-per-process
	 * rule cannot be what keeps it quiet. */
	assert_int_equal(ftruncate(fileno(err), 0), 0);
	rewind(err);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(setenv("HELM_BIN", "/usr/bin/helm", 1), 0);
	assert_int_equal(cli_main(&helm_load_program, 4, argv), 0);
	assert_int_equal(unsetenv("HELM_BIN"), 0);
	cli_vlog_mute(NULL);
	text = slurp(err);
	assert_string_equal(text, "");
	free(text);
	/* and the same file without Helm around: the warning */
	assert_int_equal(cli_main(&load_program, 4, argv), 0);
	text = slurp(err);
	(void)snprintf(want, sizeof(want),
	               "warning: Kubernetes configuration file is group-readable. This is insecure. Location: %s\n",
	               path);
	assert_string_equal(text, want);
	free(text);

	cli_error_stream_set(NULL);
	(void)fclose(err);
	kube_log_set(NULL, 0, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* WCOREDUMP is not POSIX: Linux's bit 0x80 of the wait status. */
#ifdef WCOREDUMP
#define CORE_DUMPED(status) WCOREDUMP(status)
#else
#define CORE_DUMPED(status) (((status)&0x80) != 0)
#endif

/* In a child, so that the test runner keeps its own limits: after
 * cli_harden_process the core limit is 0 (soft and hard), the process is
 * not dumpable, still reads /proc/self/exe (completion needs it), and a
 * crash leaves no core. */
static void test_cli__harden_process_no_core_dumps(void **state)
{
	int status = 0;
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit limit;
		char self[4096];
		if (cli_harden_process() != 0)
			_exit(10);
		if (getrlimit(RLIMIT_CORE, &limit) != 0 || limit.rlim_cur != 0 || limit.rlim_max != 0)
			_exit(11);
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
			_exit(12);
		if (readlink("/proc/self/exe", self, sizeof(self)) <= 0)
			_exit(13);
		(void)signal(SIGABRT, SIG_DFL);
		(void)raise(SIGABRT); /* a crash whose default action is a core dump */
		_exit(14);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		fail_msg("the hardened child failed check %d", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_false(CORE_DUMPED(status));
}

/* ----- output files ----- */

static char *make_dir(void)
{
	char *dir = strdup("/tmp/test_cli.XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = slurp(f);
	(void)fclose(f);
	return text;
}

static void test_cli__output_file_atomic(void **state)
{
	cli_output out;
	char path[256], text[300];
	char *dir = make_dir();
	FILE *err = tmpfile();
	(void)state;
	cli_error_stream_set(err);
	(void)snprintf(path, sizeof(path), "%s/report.json", dir);
	write_file(path, "old\n");
	chmod(path, 0640);

	/* while writing, the old file is intact and the temp file sits beside it */
	assert_int_equal(cli_output_open(&out, path), 0);
	assert_ptr_not_equal(out.stream, stdout);
	(void)fputs("new\n", out.stream);
	assert_int_equal(test_count_entries(dir), 2);
	char *old = read_file(path);
	assert_string_equal(old, "old\n");
	free(old);
	assert_int_equal(cli_output_close(&out, 0), 0);
	char *now = read_file(path);
	assert_string_equal(now, "new\n");
	free(now);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(test_count_entries(dir), 1);

	/* the command failed: the temp file goes, the old report stays */
	assert_int_equal(cli_output_open(&out, path), 0);
	(void)fputs("half", out.stream);
	assert_int_equal(cli_output_close(&out, CLI_EXIT_API), CLI_EXIT_API);
	now = read_file(path);
	assert_string_equal(now, "new\n");
	free(now);
	assert_int_equal(test_count_entries(dir), 1);

	/* the rename fails: error, no temp file left */
	(void)snprintf(path, sizeof(path), "%s/later-a-dir", dir);
	assert_int_equal(cli_output_open(&out, path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	(void)snprintf(text, sizeof(text), "%s/keep", path);
	write_file(text, "x");
	assert_int_equal(cli_output_close(&out, 0), CLI_EXIT_FAIL);
	assert_int_equal(test_count_entries(dir), 2);

	/* a directory that does not exist is a usage error */
	(void)snprintf(path, sizeof(path), "%s/missing/report.json", dir);
	assert_int_equal(cli_output_open(&out, path), CLI_EXIT_USAGE);
	assert_int_equal(cli_output_close(&out, 0), 0);
	char *errors = slurp(err);
	assert_non_null(strstr(errors, "error: replace output file"));
	assert_non_null(strstr(errors, "error: create output file"));
	free(errors);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	test_remove_tree(dir);
	free(dir);
}

/* A symlink at --output-file is refused with one error line naming it:
 * neither the file it points to (in another directory) nor the link
 * changes, and no temporary file is left. */
static void test_cli__output_file_refuses_symlink(void **state)
{
	cli_output out;
	char path[256], victim[256], missing[256], want[600];
	char *dir = make_dir(), *other = make_dir();
	FILE *err = tmpfile();
	struct stat st;
	(void)state;
	assert_non_null(err);
	cli_error_stream_set(err);
	(void)snprintf(victim, sizeof(victim), "%s/victim", other);
	write_file(victim, "precious\n");
	assert_int_equal(chmod(victim, 0644), 0);
	(void)snprintf(path, sizeof(path), "%s/report.json", dir);
	assert_int_equal(symlink(victim, path), 0);

	assert_int_equal(cli_output_open(&out, path), CLI_EXIT_USAGE);
	assert_null(out.stream);
	assert_int_equal(cli_output_close(&out, 0), 0);
	char *text = slurp(err);
	(void)snprintf(want, sizeof(want), "error: output file %s: is a symbolic link; name the file itself\n", path);
	assert_string_equal(text, want);
	free(text);
	char *kept = read_file(victim);
	assert_string_equal(kept, "precious\n");
	free(kept);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(test_count_entries(dir), 1);

	/* a dangling link: nothing is created where it points */
	assert_int_equal(unlink(path), 0);
	(void)snprintf(missing, sizeof(missing), "%s/created", other);
	assert_int_equal(symlink(missing, path), 0);
	assert_int_equal(cli_output_open(&out, path), CLI_EXIT_USAGE);
	assert_int_equal(test_count_entries(other), 1);
	assert_int_equal(test_count_entries(dir), 1);

	cli_error_stream_set(NULL);
	(void)fclose(err);
	test_remove_tree(dir);
	test_remove_tree(other);
	free(dir);
	free(other);
}

/* A replaced report keeps its permission bits but not set-id bits; a new
 * one gets 0666 less the umask. */
static void test_cli__output_file_mode(void **state)
{
	cli_output out;
	char path[256];
	char *dir = make_dir();
	struct stat st;
	(void)state;
	(void)snprintf(path, sizeof(path), "%s/report", dir);
	mode_t mask = umask(027);
	assert_int_equal(cli_output_open(&out, path), 0);
	(void)fputs("new\n", out.stream);
	assert_int_equal(cli_output_close(&out, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(chmod(path, 04755), 0);
	assert_int_equal(cli_output_open(&out, path), 0);
	assert_int_equal(cli_output_close(&out, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	umask(mask);
	test_remove_tree(dir);
	free(dir);
}

static void test_cli__output_report(void **state)
{
	static const cli_column columns[] = {{"name", 0}, {"node", CLI_COLUMN_WIDE}};
	static const char *const row[] = {"web", "kind-worker"};
	static const struct {
		enum cli_output_format format;
		const char *text;
	} cases[] = {
	        {CLI_OUTPUT_TABLE, "NAME\nweb\n"},
	        {CLI_OUTPUT_WIDE, "NAME   NODE\nweb    kind-worker\n"},
	        {CLI_OUTPUT_JSON, "{\n    \"apiVersion\": \"rollguard.io/v1\",\n    \"kind\": \"Thing\",\n"
	                          "    \"name\": \"web\"\n}\n"},
	        {CLI_OUTPUT_YAML, "apiVersion: rollguard.io/v1\nkind: Thing\nname: web\n"},
	};
	char path[256];
	char *dir = make_dir();
	FILE *err = tmpfile();
	cli_args args;
	(void)state;
	json_t *doc = cli_object_new("Thing");
	cli_table *table = cli_table_new(columns, 2);
	assert_non_null(doc);
	assert_non_null(table);
	assert_int_equal(json_object_set_new(doc, "name", json_string("web")), 0);
	assert_int_equal(cli_table_add_row(table, row), 0);
	memset(&args, 0, sizeof(args));
	(void)snprintf(path, sizeof(path), "%s/report", dir);
	args.output_file = path;

	/* the table, wide or not, or the document, as -o says */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		args.output = cases[i].format;
		assert_int_equal(cli_output_report(&args, doc, table), 0);
		char *text = read_file(path);
		assert_string_equal(text, cases[i].text);
		free(text);
	}
	/* JSON and YAML need no table */
	args.output = CLI_OUTPUT_JSON;
	assert_int_equal(cli_output_report(&args, doc, NULL), 0);
	char *text = read_file(path);
	assert_string_equal(text, cases[2].text);
	free(text);
	assert_int_equal(test_count_entries(dir), 1);

	/* a directory that does not exist: a usage error, nothing written */
	cli_error_stream_set(err);
	(void)snprintf(path, sizeof(path), "%s/missing/report", dir);
	assert_int_equal(cli_output_report(&args, doc, table), CLI_EXIT_USAGE);
	char *errors = slurp(err);
	assert_non_null(strstr(errors, "error: create output file"));
	free(errors);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	assert_int_equal(test_count_entries(dir), 1);
	cli_table_free(table);
	json_decref(doc);
	test_remove_tree(dir);
	free(dir);
}

static void test_cli__color_decision(void **state)
{
	(void)state;
	assert_true(cli_color_decide(1, 0, NULL));
	assert_false(cli_color_decide(0, 0, NULL));
	assert_false(cli_color_decide(1, 1, NULL));
	assert_false(cli_color_decide(1, 0, ""));
	assert_false(cli_color_decide(1, 0, "1"));

	FILE *file = tmpfile();
	unsetenv("NO_COLOR");
	assert_false(cli_color_enabled(file, 0));
	(void)fclose(file);
	int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		FILE *tty = fdopen(fd, "w");
		assert_true(cli_color_enabled(tty, 0));
		assert_false(cli_color_enabled(tty, 1));
		setenv("NO_COLOR", "", 1);
		assert_false(cli_color_enabled(tty, 0));
		unsetenv("NO_COLOR");
		(void)fclose(tty);
	}
	assert_string_equal(cli_style_start(0, CLI_STYLE_ERROR), "");
	assert_string_equal(cli_style_start(1, CLI_STYLE_ERROR), "\033[31m");
	assert_int_equal(cli_style_for_severity("Warning"), CLI_STYLE_WARNING);
	assert_int_equal(cli_style_for_severity("error"), CLI_STYLE_ERROR);
}

static void test_cli__table_golden(void **state)
{
	static const cli_column columns[] = {{"name", 0}, {"ready", 0}, {"node", CLI_COLUMN_WIDE}, {"age", 0}};
	static const char *const rows[][4] = {
	        {"web-7d4b9", "1/1", "kind-worker", "5m"},
	        {"a", "0/1", NULL, "10d"},
	        {"\033[31mcrash\033[0m", "0/1", "n", "1s"},
	        /* text from the cluster may hold newlines and tabs: one line */
	        {"b\nc", "1/1", "x\ty\r", "2h"},
	};
	FILE *f = tmpfile();
	(void)state;
	cli_table *table = cli_table_new(columns, 4);
	assert_non_null(table);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(cli_table_add_row(table, rows[i]), 0);
	assert_int_equal(cli_table_rows(table), 4);
	cli_table_print(table, f, 0);
	cli_table_print(table, f, 1);
	char *text = slurp(f);
	assert_string_equal(text, "NAME        READY   AGE\n"
	                          "web-7d4b9   1/1     5m\n"
	                          "a           0/1     10d\n"
	                          "\033[31mcrash\033[0m       0/1     1s\n"
	                          "b c         1/1     2h\n"
	                          "NAME        READY   NODE          AGE\n"
	                          "web-7d4b9   1/1     kind-worker   5m\n"
	                          "a           0/1                   10d\n"
	                          "\033[31mcrash\033[0m       0/1     n             1s\n"
	                          "b c         1/1     x y           2h\n");
	/* streamed (measured, then printed row by row, nothing kept): the same
	 * bytes */
	cli_table *streamed = cli_table_new(columns, 4);
	FILE *g = tmpfile();
	assert_non_null(streamed);
	for (int wide = 0; wide < 2; wide++) {
		for (size_t i = 0; i < 4; i++)
			cli_table_measure(streamed, rows[i]);
		cli_table_print_header(streamed, g, wide);
		for (size_t i = 0; i < 4; i++)
			cli_table_print_row(streamed, g, rows[i], wide);
	}
	assert_int_equal(cli_table_rows(streamed), 0);
	char *streamed_text = slurp(g);
	assert_string_equal(streamed_text, text);
	free(streamed_text);
	(void)fclose(g);
	cli_table_free(streamed);
	free(text);
	(void)fclose(f);
	cli_table_free(table);
	assert_int_equal(cli_text_width("h\xc3\xa9llo\033[1m!"), 6);
}

static long fake_now;
static long fake_clock(void)
{
	return fake_now;
}

static void test_cli__progress_lines(void **state)
{
	cli_progress progress;
	FILE *f = tmpfile();
	(void)state;
	cli_progress_init(&progress, f, 0);
	progress.clock_ms = fake_clock;
	progress.start_ms = fake_now = 0;
	cli_progress_update(&progress, "step 1/3 (5%)", 1, 4, "wait for ready pods");
	fake_now = 65000;
	cli_progress_update(&progress, "step 1/3 (5%)", 1, 4, "wait for ready pods");
	cli_progress_update(&progress, "step 1/3 (5%)", 4, 4, "promote to 25%");
	cli_progress_finish(&progress);
	char *text = slurp(f);
	assert_string_equal(text, "step 1/3 (5%)  elapsed 0s  ready 1/4  next: wait for ready pods\n"
	                          "step 1/3 (5%)  elapsed 1m05s  ready 4/4  next: promote to 25%\n");
	free(text);
	(void)fclose(f);

	f = tmpfile();
	cli_progress_init(&progress, f, 1);
	progress.clock_ms = fake_clock;
	progress.start_ms = fake_now = 0;
	cli_progress_update(&progress, "step 2/3", -1, -1, NULL);
	cli_progress_interrupt();
	fake_now = 7200000;
	cli_progress_update(&progress, "step 2/3", -1, -1, NULL);
	cli_progress_finish(&progress);
	text = slurp(f);
	assert_string_equal(text, "\rstep 2/3  elapsed 0s\033[K\r\033[K\rstep 2/3  elapsed 2h00m\033[K\n");
	free(text);
	(void)fclose(f);
}

static void test_cli__help_lists_implemented_commands(void **state)
{
	FILE *f = tmpfile();
	(void)state;
	cli_help_print(f, &plugin_program, NULL);
	cli_help_print(f, &plugin_program, &cli_version_command);
	char *text = slurp(f);
	assert_non_null(strstr(text, "Usage:\n  kubectl x [command] [flags]\n"));
	assert_non_null(strstr(text, "Available Commands:\n  help      Help about any command\n"
	                             "  version   Print the version"));
	assert_null(strstr(text, "  start"));
	assert_non_null(strstr(text, "Examples:\n  # Print the version\n  kubectl x version\n"));
	assert_non_null(strstr(text, "Usage:\n  kubectl x version [-o json|yaml] [flags]\n"));
	assert_non_null(strstr(text, "  kubectl x version -o json\n")); /* {program} replaced */
	assert_non_null(strstr(text, "  -o, --output string"));
	assert_non_null(strstr(text, "Global Flags:\n"));
	assert_non_null(strstr(text, "      --request-timeout string"));
	free(text);
	(void)fclose(f);
}

static void test_cli__version_object(void **state)
{
	(void)state;
	json_t *doc = cli_version_object("kubectl-x");
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "rollguard.io/v1");
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "Version");
	assert_string_equal(json_string_value(json_object_get(doc, "version")), kube_version_string());
	assert_string_equal(json_string_value(json_object_get(doc, "commit")), kube_version_commit());
	assert_string_equal(json_string_value(json_object_get(doc, "buildDate")), kube_version_build_date());
	assert_string_equal(json_string_value(json_object_get(doc, "libcurl")), kube_version_curl());
	assert_non_null(strstr(kube_version_openssl(), json_string_value(json_object_get(doc, "openssl"))));
	assert_string_equal(json_string_value(json_object_get(doc, "binary")), "kubectl-x");
	assert_int_equal(json_object_size(doc), 8);
	json_decref(doc);

	/* through the dispatcher, written to a file as kubectl indents JSON */
	char *dir = make_dir();
	char path[256];
	(void)snprintf(path, sizeof(path), "%s/v.json", dir);
	char *argv[] = {
	        (char *)"kubectl-x", (char *)"--version", (char *)"--json", (char *)"--output-file", path, NULL};
	assert_int_equal(cli_main(&plugin_program, 4 + 1, argv), 0);
	char *text = read_file(path);
	const char *head = "{\n    \"apiVersion\": \"rollguard.io/v1\",\n    \"kind\": \"Version\",\n";
	assert_int_equal(strncmp(text, head, strlen(head)), 0);
	json_t *loaded = json_loads(text, 0, NULL);
	assert_non_null(loaded);
	assert_string_equal(json_string_value(json_object_get(loaded, "binary")), "kubectl-x");
	json_decref(loaded);
	free(text);
	test_remove_tree(dir);
	free(dir);
	kube_log_set(NULL, 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cli__exit_code_mapping),
	        cmocka_unit_test(test_cli__error_lines),
	        cmocka_unit_test(test_cli__vlog_format_klog),
	        cmocka_unit_test(test_cli__library_warnings_print_once),
	        cmocka_unit_test(test_cli__kubeconfig_readable_warning),
	        cmocka_unit_test(test_cli__harden_process_no_core_dumps),
	        cmocka_unit_test(test_cli__output_file_atomic),
	        cmocka_unit_test(test_cli__output_file_refuses_symlink),
	        cmocka_unit_test(test_cli__output_file_mode),
	        cmocka_unit_test(test_cli__output_report),
	        cmocka_unit_test(test_cli__color_decision),
	        cmocka_unit_test(test_cli__table_golden),
	        cmocka_unit_test(test_cli__progress_lines),
	        cmocka_unit_test(test_cli__help_lists_implemented_commands),
	        cmocka_unit_test(test_cli__version_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
