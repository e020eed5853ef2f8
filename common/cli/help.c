/* Help text: description, usage, commands, examples and flags. */
#include <stdio.h>
#include <string.h>

#include "cli/command.h"
#include "cli/flags.h"
#include "cli/help.h"
#include "cli/internal.h"
#include "cli/output.h"

#define PLACEHOLDER "{program}"

/* Writes text with each "{program}" replaced by the program's name. */
static void put_text(FILE *stream, const cli_program *prog, const char *text)
{
	const char *hit;
	while ((hit = strstr(text, PLACEHOLDER)) != NULL) {
		(void)fwrite(text, 1, (size_t)(hit - text), stream);
		(void)fputs(prog->name, stream);
		text = hit + strlen(PLACEHOLDER);
	}
	(void)fputs(text, stream);
}

/* One row of a flag section: its left column and its description. */
struct flag_row {
	char left[96];
	char help[512];
};

static void flag_row(struct flag_row *row, const cli_flag *flag, const char *help)
{
	char value[64] = "";
	if (flag->type != CLI_FLAG_BOOL && flag->no_opt_value)
		(void)snprintf(value, sizeof(value), "[=%s]", flag->no_opt_value);
	else if (flag->type != CLI_FLAG_BOOL)
		(void)snprintf(value, sizeof(value), " %s", flag->value_name ? flag->value_name : "string");
	if (flag->shorthand)
		(void)snprintf(row->left, sizeof(row->left), "  -%c, --%s%s", flag->shorthand, flag->name, value);
	else
		(void)snprintf(row->left, sizeof(row->left), "      --%s%s", flag->name, value);
	(void)snprintf(row->help, sizeof(row->help), "%s", help ? help : "");
}

static void print_rows(FILE *stream, const struct flag_row *rows, size_t count)
{
	size_t width = 0;
	for (size_t i = 0; i < count; i++)
		if (strlen(rows[i].left) > width)
			width = strlen(rows[i].left);
	for (size_t i = 0; i < count; i++)
		(void)fprintf(stream, "%-*s   %s\n", (int)width, rows[i].left, rows[i].help);
}

static void print_command_flags(FILE *stream, const cli_program *prog, const cli_command *cmd)
{
	struct flag_row rows[64];
	size_t count = 0;
	char help[256];
	const char *subject = cmd ? cmd->name : prog->name;

	(void)snprintf(help, sizeof(help), "%s%s", cli_common_flag_get(CLI_F_HELP)->help, subject);
	flag_row(&rows[count++], cli_common_flag_get(CLI_F_HELP), help);
	if (cmd && (cmd->features & CLI_CMD_ALL_NAMESPACES)) {
		const cli_flag *flag = cli_common_flag_get(CLI_F_ALL_NAMESPACES);
		flag_row(&rows[count++], flag, flag->help);
	}
	if (cmd && cmd->outputs) {
		char formats[128];
		cli_output_formats_describe(formats, sizeof(formats), cmd->outputs);
		(void)snprintf(help, sizeof(help), "%s%s", cli_common_flag_get(CLI_F_OUTPUT)->help, formats);
		flag_row(&rows[count++], cli_common_flag_get(CLI_F_OUTPUT), help);
		if (cmd->outputs & CLI_OUTPUT_BIT(CLI_OUTPUT_JSON))
			flag_row(&rows[count++], cli_common_flag_get(CLI_F_JSON),
			         cli_common_flag_get(CLI_F_JSON)->help);
		flag_row(&rows[count++], cli_common_flag_get(CLI_F_OUTPUT_FILE),
		         cli_common_flag_get(CLI_F_OUTPUT_FILE)->help);
	}
	if (!cmd)
		flag_row(&rows[count++], cli_common_flag_get(CLI_F_VERSION), cli_common_flag_get(CLI_F_VERSION)->help);
	for (size_t i = 0; cmd && cmd->flags && cmd->flags[i].name && count < CLI_ARRAY_SIZE(rows); i++)
		flag_row(&rows[count++], &cmd->flags[i], cmd->flags[i].help);
	(void)fputs("\nFlags:\n", stream);
	print_rows(stream, rows, count);
}

static void print_global_flags(FILE *stream, const cli_program *prog)
{
	struct flag_row rows[CLI_F_COUNT];
	size_t count = 0;
	for (int id = 0; id <= CLI_F_V; id++) {
		const cli_flag *flag = cli_common_flag_get((enum cli_common_flag)id);
		flag_row(&rows[count++], flag, flag->help);
	}
	(void)fputs("\nGlobal Flags:\n", stream);
	print_rows(stream, rows, count);
	if (prog->helm_env)
		(void)fputs("\nUnset connection flags are taken from the environment Helm gives its plugins "
		            "(HELM_NAMESPACE,\n"
		            "HELM_KUBECONTEXT, HELM_KUBEAPISERVER, HELM_KUBETOKEN, HELM_KUBECAFILE, HELM_KUBEASUSER, "
		            "...).\n",
		            stream);
}

static void print_commands(FILE *stream, const cli_program *prog)
{
	size_t width = strlen("help");
	for (size_t i = 0; prog->commands && prog->commands[i]; i++)
		if (strlen(prog->commands[i]->name) > width)
			width = strlen(prog->commands[i]->name);
	/* cobra lists commands sorted, its own "help" among them */
	const char *previous = "";
	(void)fputs("\nAvailable Commands:\n", stream);
	for (;;) {
		const char *name = NULL, *summary = NULL;
		if (strcmp("help", previous) > 0) {
			name = "help";
			summary = "Help about any command";
		}
		for (size_t i = 0; prog->commands && prog->commands[i]; i++) {
			const cli_command *cmd = prog->commands[i];
			if (strcmp(cmd->name, previous) > 0 && (!name || strcmp(cmd->name, name) < 0)) {
				name = cmd->name;
				summary = cmd->summary;
			}
		}
		if (!name)
			break;
		(void)fprintf(stream, "  %-*s   %s\n", (int)width, name, summary ? summary : "");
		previous = name;
	}
}

/* A usage line without the command's own name in front. */
static const char *usage_tail(const cli_command *cmd)
{
	size_t n = strlen(cmd->name);
	const char *usage = cmd->usage ? cmd->usage : cmd->name;
	if (strncmp(usage, cmd->name, n) == 0 && (usage[n] == ' ' || usage[n] == '\0'))
		usage += n + (usage[n] == ' ');
	return usage;
}

void cli_help_print(FILE *stream, const cli_program *prog, const cli_command *cmd)
{
	const char *description = cmd ? (cmd->description ? cmd->description : cmd->summary)
	                              : (prog->description ? prog->description : prog->summary);
	const char *examples = cmd ? cmd->examples : prog->examples;
	if (description) {
		put_text(stream, prog, description);
		(void)fputc('\n', stream);
	}

	(void)fputs("\nUsage:\n", stream);
	if (cmd) {
		/* After the command's name, a default command's "[name] " marker
		 * would say the name twice. */
		const char *tail = usage_tail(cmd);
		size_t n = strlen(cmd->name);
		if (tail[0] == '[' && strncmp(tail + 1, cmd->name, n) == 0 && tail[n + 1] == ']' &&
		    (tail[n + 2] == ' ' || tail[n + 2] == '\0'))
			tail += n + 2 + (tail[n + 2] == ' ');
		(void)fprintf(stream, "  %s %s%s%s [flags]\n", prog->name, cmd->name, *tail ? " " : "", tail);
		if (cmd == prog->default_command)
			(void)fprintf(stream, "  %s %s [flags]\n", prog->name, usage_tail(cmd));
	} else {
		(void)fprintf(stream, "  %s [command] [flags]\n", prog->name);
		if (prog->default_command)
			(void)fprintf(stream, "  %s %s [flags]\n", prog->name, usage_tail(prog->default_command));
	}

	if (!cmd)
		print_commands(stream, prog);
	if (examples && *examples) {
		(void)fputs("\nExamples:\n", stream);
		put_text(stream, prog, examples);
		(void)fputc('\n', stream);
	}
	print_command_flags(stream, prog, cmd);
	print_global_flags(stream, prog);
	if (!cmd)
		(void)fprintf(stream, "\nUse \"%s [command] --help\" for more information about a command.\n",
		              prog->name);
}
