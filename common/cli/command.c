/* The dispatcher behind every plugin's main(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kube/config.h>

#include "cli/color.h"
#include "cli/command.h"
#include "cli/complete.h"
#include "cli/exit.h"
#include "cli/harden.h"
#include "cli/helm_env.h"
#include "cli/help.h"
#include "cli/version.h"
#include "cli/vlog.h"

static int run(cli_args *args)
{
	const cli_program *prog = args->program;
	if (prog->helm_env) {
		int rc = cli_helm_env_apply(args);
		if (rc)
			return rc;
	}
	cli_vlog_install(args->verbosity, NULL);
	/* Run by Helm, which has already printed its own warning about a
	 * kubeconfig others can read: one is enough. */
	if (prog->helm_env && getenv("HELM_BIN"))
		cli_vlog_mute(KUBE_KUBECONFIG_READABLE_WARNING);
	args->color = cli_color_enabled(stdout, args->no_color);
	args->color_err = cli_color_enabled(stderr, args->no_color);

	if (args->help) {
		cli_help_print(stdout, prog, args->command);
		return 0;
	}
	if (args->version)
		return cli_version_run(args);
	if (!args->command) {
		cli_help_print(stdout, prog, NULL);
		return 0;
	}
	int rc = args->command->run(args);
	if (rc < 0)
		rc = cli_error_kube(NULL, rc);
	return rc;
}

int cli_main(const cli_program *prog, int argc, char **argv)
{
	/* Before anything reads a kubeconfig, a token or a key: a crash must
	 * not leave them in a core file. */
	(void)cli_harden_process();
	/* Reports run to megabytes: written in 64 KiB blocks, not musl's
	 * 1 KiB (BUFSIZ) or glibc's 4 KiB, when nobody watches them line by
	 * line (probecheck -A -o json over 5,000 Deployments: 19,806 writes
	 * down to a few hundred). A terminal keeps line buffering. */
	static char out_buffer[64 * 1024];
	if (!isatty(STDOUT_FILENO))
		(void)setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
	if (cli_complete_requested(argc, argv))
		return cli_complete_main(prog, argc, argv);
	cli_args args;
	int rc = cli_args_parse(&args, prog, argc, argv);
	if (rc == 0)
		rc = run(&args);
	else if (rc == CLI_EXIT_USAGE)
		cli_usage_error(&args, "%s", args.error);
	else
		cli_error("%s", args.error);
	cli_args_dispose(&args);

	/* Output that never reached its reader is a failure, not a success. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
		cli_error("write standard output: %s", strerror(errno));
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}
