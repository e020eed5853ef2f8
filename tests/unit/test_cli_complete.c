/* Tests of common/cli/complete.c and completion.c: cobra's __complete
 * answer for subcommands, flag names, flag values (the common ones, a
 * command's hook, --flag=VALUE), positional arguments after flags that
 * take values, the default command, object names from a canned API server
 * (metadata-only, one attempt), kubeconfig contexts, and the scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/complete.h"
#include "test_support.h"

/* ----- a program to complete against ----- */

static int run_ok(const cli_args *args)
{
	(void)args;
	return 0;
}

/* What the hook was last asked, for the tests to check. */
static struct {
	int calls;
	size_t position;
	char flag[64];
	char ns[64];
} seen;

static const kube_resource deployments = {"apps", "v1", "deployments", "Deployment", 1};

static void hook(cli_completion *c, const cli_complete_request *req)
{
	static const char *const modes[] = {"blue", "green", NULL};
	seen.calls++;
	seen.position = req->position;
	(void)snprintf(seen.flag, sizeof(seen.flag), "%s", req->flag ? req->flag->name : "");
	(void)snprintf(seen.ns, sizeof(seen.ns), "%s", req->args->config.ns ? req->args->config.ns : "");
	if (cli_complete_flag_is(req, "mode"))
		cli_complete_add_list(c, modes);
	else if (!req->flag && req->position == 0 && req->args->config.kubeconfig)
		(void)cli_complete_names(c, req, &deployments, NULL);
	else if (!req->flag)
		cli_complete_add(c, req->position == 0 ? "web" : "second", "an object");
}

static const cli_flag start_flags[] = {
        {"image", 0, CLI_FLAG_STRING, "IMAGE", "the canary image", NULL},
        {"mode", 0, CLI_FLAG_STRING, "MODE", "blue or green", NULL},
        {"patch", 0, CLI_FLAG_STRING, "FILE", "a patch file", NULL},
        {"into", 0, CLI_FLAG_STRING, "DIR", "a directory", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, NULL, "client or server", "client"},
        {"force", 'f', CLI_FLAG_BOOL, NULL, "force", NULL},
        {NULL, 0, CLI_FLAG_BOOL, NULL, NULL, NULL},
};
static const cli_command start_command = {.name = "start",
                                          .summary = "Start a run",
                                          .flags = start_flags,
                                          .min_args = 1,
                                          .max_args = 1,
                                          .run = run_ok,
                                          .complete = hook};
static const cli_command status_command = {.name = "status",
                                           .summary = "Show a run",
                                           .outputs =
                                                   CLI_OUTPUT_BIT(CLI_OUTPUT_TABLE) | CLI_OUTPUT_BIT(CLI_OUTPUT_JSON),
                                           .max_args = 1,
                                           .run = run_ok,
                                           .complete = hook};
static const cli_command *const commands[] = {&start_command, &status_command, &cli_completion_command, NULL};
static const cli_program program = {.name = "kubectl test", .binary = "kubectl-test", .commands = commands};

static const cli_command rollback_command = {
        .name = "rollback", .summary = "Roll back", .min_args = 1, .max_args = 2, .run = run_ok, .complete = hook};
static const cli_command *const helm_commands[] = {&rollback_command, NULL};
static const cli_program helm_program = {.name = "helm rb",
                                         .binary = "helm-rb",
                                         .commands = helm_commands,
                                         .default_command = &rollback_command,
                                         .helm_env = 1};

/* Completes the NULL-terminated words (the last one being typed) for prog
 * and returns the answer (a static buffer). */
static const char *complete_desc(const cli_program *prog, int descriptions, ...)
{
	static char answer[8192];
	char *words[32];
	int count = 0;
	va_list ap;
	va_start(ap, descriptions);
	for (char *word; (word = va_arg(ap, char *)) != NULL && count < 31;)
		words[count++] = word;
	va_end(ap);
	memset(&seen, 0, sizeof(seen));
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(cli_complete_run(out, prog, count, words, descriptions), 0);
	assert_int_equal(fclose(out), 0);
	(void)snprintf(answer, sizeof(answer), "%s", text);
	free(text);
	return answer;
}
#define complete(prog, ...)        complete_desc(prog, 1, __VA_ARGS__, NULL)
#define complete_nodesc(prog, ...) complete_desc(prog, 0, __VA_ARGS__, NULL)

static void test_cli_complete__subcommands(void **state)
{
	(void)state;
	assert_string_equal(complete(&program, ""), "start\tStart a run\n"
	                                            "status\tShow a run\n"
	                                            "completion\tShell completion: let kubectl complete the plugin, "
	                                            "or print a bash, zsh or fish script\n"
	                                            "help\tHelp about any command\n"
	                                            ":4\n");
	assert_string_equal(complete_nodesc(&program, "st"), "start\nstatus\n:4\n");
	/* flags before the subcommand, with and without their values */
	assert_string_equal(complete_nodesc(&program, "-n", "ns", "--force", "sta"), "start\nstatus\n:4\n");
	assert_string_equal(complete_nodesc(&program, "help", "sta"), "start\nstatus\n:4\n");
	assert_string_equal(complete_nodesc(&program, "nosuch", ""), ":4\n");
}

static void test_cli_complete__flag_names(void **state)
{
	(void)state;
	assert_string_equal(complete(&program, "start", "--im"), "--image\tthe canary image\n:4\n");
	/* the command's -o only where it has outputs; the global flags everywhere */
	assert_string_equal(complete_nodesc(&program, "status", "--ou"), "--output\n--output-file\n:4\n");
	assert_string_equal(complete_nodesc(&program, "start", "--ou"), ":4\n");
	assert_string_equal(complete_nodesc(&program, "start", "--names"), "--namespace\n:4\n");
	/* a single dash: shorthands too */
	const char *all = complete_nodesc(&program, "start", "-");
	assert_non_null(strstr(all, "\n-f\n--force\n"));
	assert_non_null(strstr(all, "\n-n\n--namespace\n"));
	assert_null(strstr(all, "--version"));
	assert_non_null(strstr(complete_nodesc(&program, "--ver"), "--version\n"));
}

static void test_cli_complete__flag_values(void **state)
{
	(void)state;
	assert_string_equal(complete(&program, "start", "--mode", ""), "blue\ngreen\n:4\n");
	assert_string_equal(seen.flag, "mode");
	assert_string_equal(complete(&program, "start", "web", "--mode", "g"), "green\n:4\n");
	assert_string_equal(complete(&program, "start", "--mode=b"), "blue\n:4\n");
	/* --dry-run has a value of its own: the next word is an argument */
	assert_string_equal(complete(&program, "start", "--dry-run", "w"), "web\tan object\n:4\n");
	assert_string_equal(complete(&program, "start", "--force=t"), ":4\n");
	/* -o: the formats of the command */
	assert_string_equal(complete(&program, "status", "-o", ""), "table\njson\n:4\n");
	assert_string_equal(complete(&program, "status", "--output", "j"), "json\n:4\n");
	/* files: FILE and the path flags let the shell complete file names,
	 * DIR directories */
	assert_string_equal(complete(&program, "start", "--patch", ""), ":0\n");
	assert_string_equal(complete(&program, "start", "--into", ""), ":16\n");
	assert_string_equal(complete(&program, "--kubeconfig", ""), ":0\n");
	assert_string_equal(complete(&program, "start", "--image", ""), ":4\n");
	assert_string_equal(complete(&program, "--request-timeout", ""), ":4\n");
}

static void test_cli_complete__positional(void **state)
{
	(void)state;
	assert_string_equal(complete(&program, "start", "-n", "team", ""), "web\tan object\n:4\n");
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.position, 0);
	assert_string_equal(seen.ns, "team");
	assert_string_equal(complete(&program, "--namespace=other", "start", "--image", "x:1", "w"),
	                    "web\tan object\n:4\n");
	assert_string_equal(seen.ns, "other");
	/* start takes one argument */
	assert_string_equal(complete(&program, "start", "web", ""), ":4\n");
	assert_int_equal(seen.calls, 0);
	/* after --, flags are arguments */
	assert_string_equal(complete(&program, "start", "--", ""), "web\tan object\n:4\n");
	assert_string_equal(complete(&program, "start", "--", "-"), ":4\n");
	assert_int_equal(seen.calls, 1);
	assert_string_equal(complete(&program, "completion", ""), "bash\nzsh\nfish\n"
	                                                          "install\tLink kubectl_complete-<plugin> to this "
	                                                          "binary for kubectl\n:4\n");
}

static void test_cli_complete__default_command(void **state)
{
	(void)state;
	unsetenv("HELM_NAMESPACE");
	assert_string_equal(complete_nodesc(&helm_program, ""), "rollback\nhelp\nweb\n:4\n");
	assert_string_equal(complete_nodesc(&helm_program, "web", ""), "second\n:4\n");
	assert_int_equal(seen.position, 1);
	assert_string_equal(complete_nodesc(&helm_program, "rollback", ""), "web\n:4\n");
	assert_string_equal(complete_nodesc(&helm_program, "rollback", "web", "2", ""), ":4\n");
	/* Helm hands -n over as HELM_NAMESPACE */
	setenv("HELM_NAMESPACE", "from-helm", 1);
	(void)complete_nodesc(&helm_program, "");
	assert_string_equal(seen.ns, "from-helm");
	unsetenv("HELM_NAMESPACE");
}

static const char deployments_page[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/"
        "v1\",\"metadata\":{\"continue\":\"more\"},"
        "\"items\":[{\"metadata\":{\"name\":\"web\"}},{\"metadata\":{\"name\":\"worker\"}},"
        "{\"metadata\":{\"name\":\"api\"}}]}";
static const char server_error[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                   "Connection: close\r\n\r\n{\"kind\":\"Status\",\"code\":503}";

static void test_cli_complete__cluster_names(void **state)
{
	(void)state;
	struct test_api api;
	const char *const replies[] = {deployments_page, NULL};
	test_api_start(&api, replies, NULL, NULL);
	assert_string_equal(complete(&program, "--kubeconfig", api.kubeconfig, "start", "w"), "web\nworker\n:4\n");
	/* one page, metadata only, in the kubeconfig's namespace */
	assert_int_equal(atomic_load(&api.srv.served), 1);
	const char *line = test_server_request_line(&api.srv, 0);
	assert_non_null(strstr(line, "GET /apis/apps/v1/namespaces/ns/deployments?"));
	assert_non_null(strstr(line, "limit=500"));
	assert_non_null(strstr(api.srv.requests[0], "as=PartialObjectMetadataList"));
	test_api_stop(&api);

	/* an error: no candidates, :4, and no retry */
	const char *const failing[] = {server_error, server_error, NULL};
	test_api_start(&api, failing, NULL, NULL);
	assert_string_equal(complete(&program, "--kubeconfig", api.kubeconfig, "start", ""), ":4\n");
	assert_int_equal(atomic_load(&api.srv.served), 1);
	test_api_stop(&api);

	/* no configuration at all */
	assert_string_equal(complete(&program, "--kubeconfig", "/nonexistent/kubeconfig", "start", ""), ":4\n");
}

static void test_cli_complete__kubeconfig_names(void **state)
{
	char path[512];
	(void)state;
	test_tmp_path(path, sizeof(path), "kubeconfig-contexts");
	test_write_text(path,
	                "apiVersion: v1\nkind: Config\n"
	                "clusters:\n- name: prod\n  cluster: {server: https://prod.example:6443}\n"
	                "users:\n- name: admin\n  user: {token: sekret}\n"
	                "contexts:\n- name: prod-admin\n  context: {cluster: prod, user: admin, namespace: shop}\n"
	                "- name: staging\n  context: {cluster: prod, user: admin}\n"
	                "current-context: staging\n");
	assert_string_equal(complete(&program, "--kubeconfig", path, "--context", ""),
	                    "prod-admin\tcluster prod, namespace shop\nstaging\tcluster prod\n:4\n");
	assert_string_equal(complete(&program, "--kubeconfig", path, "--context=st"), "staging\tcluster prod\n:4\n");
	assert_string_equal(complete(&program, "--kubeconfig", path, "--cluster", ""), "prod\n:4\n");
	assert_string_equal(complete(&program, "--kubeconfig", path, "--user", ""), "admin\n:4\n");
	/* KUBECONFIG's list when --kubeconfig is not given */
	setenv("KUBECONFIG", path, 1);
	assert_string_equal(complete_nodesc(&program, "--context", "p"), "prod-admin\n:4\n");
	unsetenv("KUBECONFIG");
}

static void test_cli_complete__requested(void **state)
{
	(void)state;
	char *complete_argv[] = {(char *)"kubectl-test", (char *)"__complete", (char *)""};
	char *nodesc_argv[] = {(char *)"kubectl-test", (char *)"__completeNoDesc"};
	char *link_argv[] = {(char *)"/home/u/.krew/bin/kubectl_complete-test", (char *)"start"};
	char *plain_argv[] = {(char *)"kubectl-test", (char *)"start", (char *)"__complete"};
	assert_true(cli_complete_requested(3, complete_argv));
	assert_true(cli_complete_requested(2, nodesc_argv));
	assert_true(cli_complete_requested(2, link_argv));
	assert_false(cli_complete_requested(3, plain_argv));
	assert_false(cli_complete_requested(1, plain_argv));
}

static void test_cli_complete__scripts(void **state)
{
	(void)state;
	static const char *const shells[] = {"bash", "zsh", "fish"};
	static const char *const registrations[] = {"complete -F __kubectl_test_complete kubectl-test\n",
	                                            "compdef __kubectl_test_complete kubectl-test\n",
	                                            "complete -c kubectl-test -f -a '(__kubectl_test_complete)'\n"};
	for (size_t i = 0; i < 3; i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		assert_non_null(out);
		assert_int_equal(cli_complete_script(out, &program, shells[i]), 0);
		assert_int_equal(fclose(out), 0);
		assert_non_null(strstr(text, registrations[i]));
		assert_non_null(strstr(text, "__complete"));
		assert_null(strstr(text, "@F@"));
		assert_null(strstr(text, "@B@"));
		free(text);
	}
	assert_int_equal(cli_complete_script(stdout, &program, "tcsh"), -1);
}

/* Out of memory anywhere: an answer of ":1" or a complete one, no crash. */
static void test_cli_complete__out_of_memory(void **state)
{
	char *words[] = {(char *)"-n", (char *)"team", (char *)"start", (char *)"--mode", (char *)""};
	(void)state;
	for (long n = 1;; n++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		assert_non_null(out);
		test_alloc_fail_at(n);
		int rc = cli_complete_run(out, &program, 5, words, 1);
		test_alloc_fail_at(0);
		assert_int_equal(fclose(out), 0);
		if (rc == 0) {
			assert_string_equal(text, "blue\ngreen\n:4\n");
			free(text);
			break;
		}
		assert_int_equal(rc, -1);
		assert_string_equal(text, ":1\n");
		free(text);
		assert_true(n < 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cli_complete__subcommands),
	        cmocka_unit_test(test_cli_complete__flag_names),
	        cmocka_unit_test(test_cli_complete__flag_values),
	        cmocka_unit_test(test_cli_complete__positional),
	        cmocka_unit_test(test_cli_complete__default_command),
	        cmocka_unit_test(test_cli_complete__cluster_names),
	        cmocka_unit_test(test_cli_complete__kubeconfig_names),
	        cmocka_unit_test(test_cli_complete__requested),
	        cmocka_unit_test(test_cli_complete__scripts),
	        cmocka_unit_test(test_cli_complete__out_of_memory),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
