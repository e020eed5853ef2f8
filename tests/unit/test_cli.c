/* Tests of common/cli: flag parsing, Helm's environment, exit codes and
 * error lines, redaction, atomic output files, colour, tables, progress,
 * the klog logger, help and version. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/version.h>

#include "cli/cli.h"
#include "internal.h"
#include "test_support.h"

/* ----- a program to parse against ----- */

static int run_ok(const cli_args *args)
{
	(void)args;
	return 0;
}

static int run_forbidden(const cli_args *args)
{
	(void)args;
	return kube_error_set_http(KUBE_EFORBIDDEN, 403, "Forbidden",
	                           "pods is forbidden: User \"dev\" cannot list resource \"pods\"", "list pods");
}

static const cli_flag start_flags[] = {
        {"image", 0, CLI_FLAG_STRING, "IMAGE", "the canary image", NULL},
        {"pause", 0, CLI_FLAG_DURATION, "DUR", "pause per step", NULL},
        {"to", 0, CLI_FLAG_INT, "W", "weight", NULL},
        {"set", 0, CLI_FLAG_STRINGS, "K=V", "repeatable", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, NULL, "client or server", "client"},
        {"force", 'f', CLI_FLAG_BOOL, NULL, "force", NULL},
        {NULL, 0, CLI_FLAG_BOOL, NULL, NULL, NULL},
};
static const cli_flag status_flags[] = {
        {"watch", 'w', CLI_FLAG_BOOL, NULL, "watch", NULL},
        {NULL, 0, CLI_FLAG_BOOL, NULL, NULL, NULL},
};
static const cli_command start_command = {.name = "start",
                                          .usage = "start DEPLOYMENT",
                                          .summary = "Start",
                                          .flags = start_flags,
                                          .min_args = 1,
                                          .max_args = 1,
                                          .run = run_ok};
static const cli_command status_command = {.name = "status",
                                           .summary = "Status",
                                           .flags = status_flags,
                                           .outputs = CLI_OUTPUTS_STANDARD,
                                           .features = CLI_CMD_ALL_NAMESPACES,
                                           .max_args = 1,
                                           .run = run_ok};
static const cli_command list_command = {.name = "list", .max_args = 0, .run = run_forbidden};
static const cli_command *const commands[] = {&cli_version_command, &start_command, &status_command, &list_command,
                                              NULL};
static const cli_program program = {.name = "kubectl test", .binary = "kubectl-test", .commands = commands};

static const cli_command rollback_command = {.name = "rollback", .min_args = 1, .max_args = 2, .run = run_ok};
static const cli_command plan_command = {.name = "plan", .min_args = 1, .max_args = 2, .run = run_ok};
static const cli_command *const helm_commands[] = {&rollback_command, &plan_command, NULL};
static const cli_program helm_program = {.name = "helm rb",
                                         .binary = "helm-rb",
                                         .commands = helm_commands,
                                         .default_command = &rollback_command,
                                         .helm_env = 1};

static const cli_command *const version_only[] = {&cli_version_command, NULL};
static const cli_program plugin_program = {.name = "kubectl x",
                                           .binary = "kubectl-x",
                                           .summary = "A plugin",
                                           .examples = "  # Print the version\n  kubectl x version",
                                           .commands = version_only};

/* Parses a NULL-terminated list of arguments (argv stays valid). */
static int parse(cli_args *args, const cli_program *prog, ...)
{
	static char *argv[32];
	int argc = 0;
	va_list ap;
	argv[argc++] = (char *)"kubectl-test";
	va_start(ap, prog);
	for (char *arg; (arg = va_arg(ap, char *)) != NULL && argc < 31;)
		argv[argc++] = arg;
	va_end(ap);
	argv[argc] = NULL;
	return cli_args_parse(args, prog, argc, argv);
}

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

static void test_cli__flags_both_forms(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "status", "--namespace", "prod", "--context=kind", "-s", "https://k:6443",
	                       "--token=abc", "--kubeconfig", "/k", "--cluster=c", "--user", "u", "--as=me", "--as-uid",
	                       "7", "--certificate-authority=/ca", "--client-certificate", "/crt", "--client-key=/key",
	                       "--tls-server-name", "api", NULL),
	                 0);
	assert_ptr_equal(a.command, &status_command);
	assert_string_equal(a.config.ns, "prod");
	assert_string_equal(a.config.context, "kind");
	assert_string_equal(a.config.server, "https://k:6443");
	assert_string_equal(a.config.token, "abc");
	assert_string_equal(a.config.kubeconfig, "/k");
	assert_string_equal(a.config.cluster, "c");
	assert_string_equal(a.config.user, "u");
	assert_string_equal(a.config.as, "me");
	assert_string_equal(a.config.as_uid, "7");
	assert_string_equal(a.config.certificate_authority, "/ca");
	assert_string_equal(a.config.client_certificate, "/crt");
	assert_string_equal(a.config.client_key, "/key");
	assert_string_equal(a.config.tls_server_name, "api");
	assert_int_equal(a.config.insecure_skip_tls_verify, -1);
	assert_int_equal(a.config.request_timeout_ms, -1);
	cli_args_dispose(&a);

	static const char *const short_forms[][2] = {{"-n", "prod"}, {"-nprod", NULL}, {"-n=prod", NULL}};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(parse(&a, &program, "status", short_forms[i][0], short_forms[i][1], NULL), 0);
		assert_string_equal(a.config.ns, "prod");
		cli_args_dispose(&a);
	}
}

static void test_cli__flags_as_group_repeatable(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "--as-group", "a", "status", "--as-group=b", "--as-group", "c,d", NULL),
	                 0);
	assert_int_equal(a.config.as_groups_count, 3);
	assert_string_equal(a.config.as_groups[0], "a");
	assert_string_equal(a.config.as_groups[1], "b");
	assert_string_equal(a.config.as_groups[2], "c,d");
	cli_args_dispose(&a);
}

static void test_cli__flags_verbosity_variants(void **state)
{
	static const char *const forms[][2] = {
	        {"-v", "6"}, {"-v6", NULL}, {"--v=6", NULL}, {"-v=6", NULL}, {"--v", "6"}};
	cli_args a;
	(void)state;
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(parse(&a, &program, forms[i][0], forms[i][1], NULL), 0);
		assert_int_equal(a.verbosity, 6);
		assert_true(a.verbosity_given);
		cli_args_dispose(&a);
	}
	assert_int_equal(parse(&a, &program, "status", "-v", "loud", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "invalid argument \"loud\" for \"-v, --v\" flag: must be a non-negative integer");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "--v=-1", NULL), CLI_EXIT_USAGE);
	cli_args_dispose(&a);
}

static void test_cli__flags_unknown_flag(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "status", "--bogus", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown flag: --bogus");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "-wZ", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown shorthand flag: 'Z' in -wZ");
	cli_args_dispose(&a);
	/* another command's flag is unknown here */
	assert_int_equal(parse(&a, &program, "status", "--image=x", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown flag: --image");
	cli_args_dispose(&a);
	/* before the subcommand, an unknown flag is named rather than its value */
	assert_int_equal(parse(&a, &program, "--bogus", "x", "status", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown flag: --bogus");
	cli_args_dispose(&a);
}

static void test_cli__flags_missing_value(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "status", "--namespace", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "flag needs an argument: --namespace");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "-n", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "flag needs an argument: 'n' in -n");
	cli_args_dispose(&a);
	/* the next argument is the value even when it looks like a flag */
	assert_int_equal(parse(&a, &program, "status", "--token", "-x", NULL), 0);
	assert_string_equal(a.config.token, "-x");
	cli_args_dispose(&a);
}

static void test_cli__flags_request_timeout(void **state)
{
	static const struct {
		const char *text;
		long ms;
	} good[] = {{"0", 0}, {"30s", 30000}, {"1m", 60000}, {"5", 5000}, {"1h2m3.5s", 3723500}, {"500ms", 500}};
	cli_args a;
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(&a, &program, "status", "--request-timeout", good[i].text, NULL), 0);
		assert_int_equal(a.config.request_timeout_ms, good[i].ms);
		cli_args_dispose(&a);
	}
	static const char *const bad[] = {"soon", "30x", "-5s", "", "1m-"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&a, &program, "status", "--request-timeout", bad[i], NULL), CLI_EXIT_USAGE);
		assert_non_null(strstr(a.error, "for \"--request-timeout\" flag"));
		cli_args_dispose(&a);
	}
}

static void test_cli__flags_anywhere(void **state)
{
	cli_args a;
	(void)state;
	/* after positionals */
	assert_int_equal(parse(&a, &program, "status", "web", "-n", "prod", "-w", NULL), 0);
	assert_ptr_equal(a.command, &status_command);
	assert_int_equal(a.positional_count, 1);
	assert_string_equal(a.positional[0], "web");
	assert_string_equal(a.config.ns, "prod");
	assert_true(cli_flag_bool(&a, "watch"));
	cli_args_dispose(&a);
	/* before the subcommand, including one that takes a value */
	assert_int_equal(parse(&a, &program, "-n", "prod", "--image", "nginx:2", "start", "web", NULL), 0);
	assert_ptr_equal(a.command, &start_command);
	assert_string_equal(cli_flag_string(&a, "image"), "nginx:2");
	assert_int_equal(a.positional_count, 1);
	assert_string_equal(a.positional[0], "web");
	cli_args_dispose(&a);
}

static void test_cli__flags_double_dash(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "status", "--", "-n", NULL), 0);
	assert_null(a.config.ns);
	assert_int_equal(a.positional_count, 1);
	assert_string_equal(a.positional[0], "-n");
	cli_args_dispose(&a);
	/* after --, a command's name is an object's name */
	assert_int_equal(parse(&a, &helm_program, "--", "plan", NULL), 0);
	assert_ptr_equal(a.command, &rollback_command);
	assert_string_equal(a.positional[0], "plan");
	cli_args_dispose(&a);
}

static void test_cli__flags_command_table(void **state)
{
	cli_args a;
	const char *const *sets;
	(void)state;
	assert_int_equal(parse(&a, &program, "start", "web", "--pause", "10m", "--to=50", "--set", "a=1", "--set=b=2",
	                       "--dry-run", "-f", NULL),
	                 0);
	assert_int_equal(cli_flag_duration_ms(&a, "pause", -1), 600000);
	assert_int_equal(cli_flag_long(&a, "to", -1), 50);
	assert_int_equal(cli_flag_strings(&a, "set", &sets), 2);
	assert_string_equal(sets[0], "a=1");
	assert_string_equal(sets[1], "b=2");
	assert_string_equal(cli_flag_string(&a, "dry-run"), "client");
	assert_true(cli_flag_bool(&a, "force"));
	assert_null(cli_flag_string(&a, "image"));
	assert_false(cli_flag_given(&a, "image"));
	cli_args_dispose(&a);

	assert_int_equal(parse(&a, &program, "start", "--dry-run=server", "--force=false", "web", NULL), 0);
	assert_string_equal(cli_flag_string(&a, "dry-run"), "server");
	assert_true(cli_flag_given(&a, "force"));
	assert_false(cli_flag_bool(&a, "force"));
	assert_int_equal(cli_flag_long(&a, "to", 100), 100);
	cli_args_dispose(&a);

	assert_int_equal(parse(&a, &program, "start", "web", "--to", "half", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "invalid argument \"half\" for \"--to\" flag: must be an integer");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "start", "web", "--force=maybe", NULL), CLI_EXIT_USAGE);
	cli_args_dispose(&a);
}

static void test_cli__flags_common_bools_and_output(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "status", "--insecure-skip-tls-verify", "-Aowide", "--no-color", NULL), 0);
	assert_int_equal(a.config.insecure_skip_tls_verify, 1);
	assert_true(a.all_namespaces);
	assert_int_equal(a.output, CLI_OUTPUT_WIDE);
	assert_true(a.no_color);
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "--insecure-skip-tls-verify=false", "--json", "--output-file",
	                       "/tmp/r.json", NULL),
	                 0);
	assert_int_equal(a.config.insecure_skip_tls_verify, 0);
	assert_int_equal(a.output, CLI_OUTPUT_JSON);
	assert_string_equal(a.output_file, "/tmp/r.json");
	cli_args_dispose(&a);

	assert_int_equal(parse(&a, &program, "status", "-o", "sarif", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error,
	                    "\"kubectl test status\" does not support -o sarif (one of: table|wide|json|yaml)");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "-o", "xml", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "invalid argument \"xml\" for \"-o, --output\" flag: must be one of "
	                             "table|wide|json|yaml|sarif|junit");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "start", "web", "-o", "json", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "\"kubectl test start\" does not support -o/--output");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "start", "web", "-A", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "\"kubectl test start\" does not support -A/--all-namespaces");
	cli_args_dispose(&a);
}

static void test_cli__flags_commands_and_arguments(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &program, "frobnicate", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown command \"frobnicate\" for \"kubectl test\"");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "start", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "\"kubectl test start\" requires exactly 1 argument, got 0");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "status", "a", "b", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "\"kubectl test status\" accepts at most 1 argument, got 2");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "version", "x", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "\"kubectl test version\" accepts no arguments, got \"x\"");
	cli_args_dispose(&a);
	/* no subcommand: root help */
	assert_int_equal(parse(&a, &program, "-n", "x", NULL), 0);
	assert_null(a.command);
	cli_args_dispose(&a);
	/* help forms */
	assert_int_equal(parse(&a, &program, "help", "start", NULL), 0);
	assert_true(a.help);
	assert_ptr_equal(a.command, &start_command);
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "start", "--help", NULL), 0); /* help skips argument checks */
	assert_true(a.help);
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "help", "nope", NULL), CLI_EXIT_USAGE);
	cli_args_dispose(&a);
}

static void test_cli__flags_subcommand_wins_over_object(void **state)
{
	cli_args a;
	(void)state;
	assert_int_equal(parse(&a, &helm_program, "rollback", "plan", NULL), 0);
	assert_ptr_equal(a.command, &rollback_command);
	assert_string_equal(a.positional[0], "plan");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &helm_program, "plan", "web", "3", NULL), 0);
	assert_ptr_equal(a.command, &plan_command);
	assert_int_equal(a.positional_count, 2);
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &helm_program, "-n", "x", "web", "3", NULL), 0);
	assert_ptr_equal(a.command, &rollback_command);
	assert_string_equal(a.positional[0], "web");
	assert_string_equal(a.positional[1], "3");
	cli_args_dispose(&a);
}

static void test_cli__helm_env_fills_unset(void **state)
{
	static const char *const env[][2] = {
	        {"HELM_NAMESPACE", "helm-ns"},
	        {"HELM_KUBECONTEXT", "helm-ctx"},
	        {"HELM_KUBEAPISERVER", "https://helm:6443"},
	        {"HELM_KUBETOKEN", "tok"},
	        {"HELM_KUBECAFILE", "/helm/ca"},
	        {"HELM_KUBETLS_SERVER_NAME", "helm-api"},
	        {"HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "true"},
	        {"HELM_KUBEASUSER", "helm-user"},
	        {"HELM_KUBEASGROUPS", "g1,,g2"},
	        {"HELM_DEBUG", "true"},
	};
	const size_t count = sizeof(env) / sizeof(env[0]);
	cli_args a;
	(void)state;
	for (size_t i = 0; i < count; i++)
		setenv(env[i][0], env[i][1], 1);
	assert_int_equal(parse(&a, &helm_program, "web", "-n", "flag-ns", NULL), 0);
	assert_int_equal(cli_helm_env_apply(&a), 0);
	assert_string_equal(a.config.ns, "flag-ns"); /* flags win */
	assert_string_equal(a.config.context, "helm-ctx");
	assert_string_equal(a.config.server, "https://helm:6443");
	assert_string_equal(a.config.token, "tok");
	assert_string_equal(a.config.certificate_authority, "/helm/ca");
	assert_string_equal(a.config.tls_server_name, "helm-api");
	assert_int_equal(a.config.insecure_skip_tls_verify, 1);
	assert_string_equal(a.config.as, "helm-user");
	assert_int_equal(a.config.as_groups_count, 2);
	assert_string_equal(a.config.as_groups[0], "g1");
	assert_string_equal(a.config.as_groups[1], "g2");
	assert_int_equal(a.verbosity, 4);
	assert_null(a.config.kubeconfig); /* KUBECONFIG stays libkube's */
	cli_args_dispose(&a);

	/* Helm exports "false" and empty values for what was not given */
	setenv("HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "false", 1);
	setenv("HELM_KUBETOKEN", "", 1);
	assert_int_equal(parse(&a, &helm_program, "web", "-v", "0", "--as-group", "mine", NULL), 0);
	assert_int_equal(cli_helm_env_apply(&a), 0);
	assert_int_equal(a.config.insecure_skip_tls_verify, -1);
	assert_null(a.config.token);
	assert_int_equal(a.verbosity, 0);
	assert_int_equal(a.config.as_groups_count, 1);
	assert_string_equal(a.config.as_groups[0], "mine");
	cli_args_dispose(&a);
	for (size_t i = 0; i < count; i++)
		unsetenv(env[i][0]);
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

/* ----- redaction ----- */

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

static void test_cli__redact_table(void **state)
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

static void test_cli__redact_out_of_memory(void **state)
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

/* Entries in dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Removes dir and what it holds (two levels are all the tests make). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[512];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			remove_tree(path);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
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
	assert_int_equal(count_entries(dir), 2);
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
	assert_int_equal(count_entries(dir), 1);

	/* the command failed: the temp file goes, the old report stays */
	assert_int_equal(cli_output_open(&out, path), 0);
	(void)fputs("half", out.stream);
	assert_int_equal(cli_output_close(&out, CLI_EXIT_API), CLI_EXIT_API);
	now = read_file(path);
	assert_string_equal(now, "new\n");
	free(now);
	assert_int_equal(count_entries(dir), 1);

	/* the rename fails: error, no temp file left */
	(void)snprintf(path, sizeof(path), "%s/later-a-dir", dir);
	assert_int_equal(cli_output_open(&out, path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	(void)snprintf(text, sizeof(text), "%s/keep", path);
	write_file(text, "x");
	assert_int_equal(cli_output_close(&out, 0), CLI_EXIT_FAIL);
	assert_int_equal(count_entries(dir), 2);

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
	remove_tree(dir);
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
	};
	FILE *f = tmpfile();
	(void)state;
	cli_table *table = cli_table_new(columns, 4);
	assert_non_null(table);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(cli_table_add_row(table, rows[i]), 0);
	assert_int_equal(cli_table_rows(table), 3);
	cli_table_print(table, f, 0);
	cli_table_print(table, f, 1);
	char *text = slurp(f);
	assert_string_equal(text, "NAME        READY   AGE\n"
	                          "web-7d4b9   1/1     5m\n"
	                          "a           0/1     10d\n"
	                          "\033[31mcrash\033[0m       0/1     1s\n"
	                          "NAME        READY   NODE          AGE\n"
	                          "web-7d4b9   1/1     kind-worker   5m\n"
	                          "a           0/1                   10d\n"
	                          "\033[31mcrash\033[0m       0/1     n             1s\n");
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
	remove_tree(dir);
	free(dir);
	kube_log_set(NULL, 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cli__flags_both_forms),
	        cmocka_unit_test(test_cli__flags_as_group_repeatable),
	        cmocka_unit_test(test_cli__flags_verbosity_variants),
	        cmocka_unit_test(test_cli__flags_unknown_flag),
	        cmocka_unit_test(test_cli__flags_missing_value),
	        cmocka_unit_test(test_cli__flags_request_timeout),
	        cmocka_unit_test(test_cli__flags_anywhere),
	        cmocka_unit_test(test_cli__flags_double_dash),
	        cmocka_unit_test(test_cli__flags_command_table),
	        cmocka_unit_test(test_cli__flags_common_bools_and_output),
	        cmocka_unit_test(test_cli__flags_commands_and_arguments),
	        cmocka_unit_test(test_cli__flags_subcommand_wins_over_object),
	        cmocka_unit_test(test_cli__helm_env_fills_unset),
	        cmocka_unit_test(test_cli__exit_code_mapping),
	        cmocka_unit_test(test_cli__error_lines),
	        cmocka_unit_test(test_cli__redact_table),
	        cmocka_unit_test(test_cli__redact_out_of_memory),
	        cmocka_unit_test(test_cli__vlog_format_klog),
	        cmocka_unit_test(test_cli__output_file_atomic),
	        cmocka_unit_test(test_cli__color_decision),
	        cmocka_unit_test(test_cli__table_golden),
	        cmocka_unit_test(test_cli__progress_lines),
	        cmocka_unit_test(test_cli__help_lists_implemented_commands),
	        cmocka_unit_test(test_cli__version_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
