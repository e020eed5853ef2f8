/* libFuzzer target for the command-line parser (cli_args_parse): the input
 * split at NUL bytes is argv for a program with a default command and
 * flags of every type; parsing succeeds with arguments the command
 * accepts, or fails with one usage message, and frees all it made. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/flags.h"
#include "cli/version.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_nothing(const cli_args *args)
{
	(void)args;
	return 0;
}

/* A flag of every type, each with a shorthand, so that clusters such as
 * "-fp10m" or "-xi=img" reach every branch of the shorthand parser. A
 * flag has the same type in every command that declares it. */
static const cli_flag rollout_flags[] = {
        {"image", 'i', CLI_FLAG_STRING, NULL, "image", NULL},
        {"pause", 'p', CLI_FLAG_DURATION, NULL, "pause", NULL},
        {"weight", 'w', CLI_FLAG_INT, NULL, "weight", NULL},
        {"label", 'l', CLI_FLAG_STRINGS, NULL, "labels", NULL},
        {"dry-run", 'd', CLI_FLAG_STRING, NULL, "mode", "client"},
        {"force", 'f', CLI_FLAG_BOOL, NULL, "force", NULL},
        {NULL, 0, CLI_FLAG_BOOL, NULL, NULL, NULL},
};
static const cli_flag list_flags[] = {
        {"image", 'i', CLI_FLAG_STRING, NULL, "image", NULL},
        {"watch", 'W', CLI_FLAG_BOOL, NULL, "watch", NULL},
        {NULL, 0, CLI_FLAG_BOOL, NULL, NULL, NULL},
};
static const cli_command rollout_command = {
        .name = "rollout", .flags = rollout_flags, .min_args = 1, .max_args = 2, .run = run_nothing};
static const cli_command list_command = {.name = "list",
                                         .flags = list_flags,
                                         .outputs = CLI_OUTPUTS_STANDARD,
                                         .features = CLI_CMD_ALL_NAMESPACES,
                                         .max_args = -1,
                                         .run = run_nothing};
static const cli_command *const commands[] = {&cli_version_command, &rollout_command, &list_command, NULL};
/* Like helm rollback-safe: an argument that names no command goes to list. */
static const cli_program program = {
        .name = "kubectl fuzz", .binary = "kubectl-fuzz", .commands = commands, .default_command = &list_command};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	if (size > 1 << 14)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = (char *)"kubectl-fuzz";
	for (size_t start = 0; start <= size && argc <= MAX_ARGS; start += strlen(text + start) + 1)
		argv[argc++] = text + start;
	argv[argc] = NULL;

	cli_args args;
	int rc = cli_args_parse(&args, &program, argc, argv);
	if (rc != 0 && rc != CLI_EXIT_USAGE && rc != CLI_EXIT_FAIL)
		abort();
	if (rc == CLI_EXIT_USAGE && (!args.error[0] || (strchr(args.error, '\n') && !memchr(data, '\n', size))))
		abort(); /* a usage error is one line, unless it quotes an argument holding a newline */
	if (rc == 0 && args.command && !args.help && !args.version) { /* --version skips the checks */
		int count = (int)args.positional_count;
		if (count < args.command->min_args || (args.command->max_args >= 0 && count > args.command->max_args))
			abort(); /* parsing checked the arguments */
		for (size_t i = 0; i < args.positional_count; i++)
			if (!args.positional[i])
				abort();
	}
	cli_args_dispose(&args);
	free(text);
	return 0;
}
