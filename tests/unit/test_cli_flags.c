/* Tests of common/cli/flags.c: kubectl's connection flags in both forms
 * and any position, each command's own flags, output and logging flags,
 * subcommand and argument checks, and Helm's plugin environment filling
 * what the flags left unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "test_support.h"

/* ----- a program to parse against ----- */

static int run_ok(const cli_args *args)
{
	(void)args;
	return 0;
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
static const cli_command *const commands[] = {&cli_version_command, &start_command, &status_command, NULL};
static const cli_program program = {.name = "kubectl test", .binary = "kubectl-test", .commands = commands};

static const cli_command rollback_command = {.name = "rollback", .min_args = 1, .max_args = 2, .run = run_ok};
static const cli_command plan_command = {.name = "plan", .min_args = 1, .max_args = 2, .run = run_ok};
static const cli_command *const helm_commands[] = {&rollback_command, &plan_command, NULL};
static const cli_program helm_program = {.name = "helm rb",
                                         .binary = "helm-rb",
                                         .commands = helm_commands,
                                         .default_command = &rollback_command,
                                         .helm_env = 1};

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

static void test_cli_flags__both_forms(void **state)
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

static void test_cli_flags__as_group_repeatable(void **state)
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

static void test_cli_flags__verbosity_variants(void **state)
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

static void test_cli_flags__unknown_flag(void **state)
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
	/* a subcommand's flag with no subcommand named (found by fuzz_cli_args) */
	assert_int_equal(parse(&a, &program, "--image", "x", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown flag: --image");
	cli_args_dispose(&a);
	assert_int_equal(parse(&a, &program, "-w", NULL), CLI_EXIT_USAGE);
	assert_string_equal(a.error, "unknown shorthand flag: 'w' in -w");
	cli_args_dispose(&a);
}

static void test_cli_flags__missing_value(void **state)
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

static void test_cli_flags__request_timeout(void **state)
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

static void test_cli_flags__anywhere(void **state)
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

static void test_cli_flags__double_dash(void **state)
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

static void test_cli_flags__command_table(void **state)
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

static void test_cli_flags__common_bools_and_output(void **state)
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

static void test_cli_flags__commands_and_arguments(void **state)
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

static void test_cli_flags__subcommand_wins_over_object(void **state)
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

static void test_cli_flags__helm_env_fills_unset(void **state)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cli_flags__both_forms),
	        cmocka_unit_test(test_cli_flags__as_group_repeatable),
	        cmocka_unit_test(test_cli_flags__verbosity_variants),
	        cmocka_unit_test(test_cli_flags__unknown_flag),
	        cmocka_unit_test(test_cli_flags__missing_value),
	        cmocka_unit_test(test_cli_flags__request_timeout),
	        cmocka_unit_test(test_cli_flags__anywhere),
	        cmocka_unit_test(test_cli_flags__double_dash),
	        cmocka_unit_test(test_cli_flags__command_table),
	        cmocka_unit_test(test_cli_flags__common_bools_and_output),
	        cmocka_unit_test(test_cli_flags__commands_and_arguments),
	        cmocka_unit_test(test_cli_flags__subcommand_wins_over_object),
	        cmocka_unit_test(test_cli_flags__helm_env_fills_unset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
