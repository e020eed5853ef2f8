/* A program's table of subcommands and the dispatcher every main() calls:
 * parse, pick the subcommand, run it, map its error to the suite's exit
 * code, print. Adding a subcommand is one file defining a cli_command and
 * one entry in the program's table. */
#ifndef CLI_COMMAND_H
#define CLI_COMMAND_H

#include "cli/flags.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs a command. Returns an exit code (enum cli_exit; 0 success) after
 * printing whatever error it met, or a negative KUBE_E* code, which the
 * dispatcher prints from kube_error_last() and maps with
 * cli_exit_from_kube(). */
typedef int (*cli_command_fn)(const cli_args *args);

struct cli_completion;
struct cli_complete_request;

/* Adds the completion candidates for a flag's value or a positional
 * argument of the command (cli/complete.h). */
typedef void (*cli_complete_fn)(struct cli_completion *c, const struct cli_complete_request *req);

/* cli_command.features */
#define CLI_CMD_ALL_NAMESPACES 0x1u /* accepts -A/--all-namespaces */

/* A subcommand. In usage, description and examples "{program}" stands for
 * the program's name; examples are indented two spaces, each preceded by a
 * "# what it does" line, as kubectl writes them. */
typedef struct cli_command {
	const char *name;        /* "status" */
	const char *usage;       /* after the program's name: "status DEPLOYMENT [-w]" */
	const char *summary;     /* one line, for the program's command list */
	const char *description; /* paragraphs for its help; NULL = summary */
	const char *examples;    /* "  # Show ...\n  kubectl canary status web" */
	const cli_flag *flags;   /* its own flags, ended by {NULL}; NULL = none */
	unsigned outputs;        /* CLI_OUTPUT_BIT mask of -o formats; 0 = no -o/--output-file */
	unsigned features;       /* CLI_CMD_* */
	int min_args;            /* positional arguments after the name */
	int max_args;            /* -1 = no limit */
	cli_command_fn run;
	/* Completion of its positional arguments and of the values of its
	 * own flags; NULL: none beyond what cli/complete.c knows. */
	cli_complete_fn complete;
} cli_command;

typedef struct cli_program {
	const char *name;                   /* as users type it: "kubectl canary", "helm rollback-safe" */
	const char *binary;                 /* "kubectl-canary" */
	const char *summary;                /* one line */
	const char *description;            /* paragraphs for the root help; NULL = summary */
	const char *examples;               /* root help's Examples section */
	const cli_command *const *commands; /* ended by NULL */
	/* The command run when the first argument is not a command name
	 * (helm rollback-safe RELEASE, kubectl probecheck deploy/api); NULL:
	 * such an argument is an unknown command. */
	const cli_command *default_command;
	int helm_env; /* fill unset connection options from Helm's plugin environment */
} cli_program;

/* The whole of a plugin's main(): hardens the process (no core dumps,
 * cli_harden_process), answers shell completion when argv[1] is
 * __complete or the binary runs as kubectl_complete-<plugin>
 * (cli/complete.h); otherwise parses argv, applies Helm's environment
 * when prog->helm_env, installs the -v logger, decides colour, then shows
 * help, the version, or runs the command. Usage errors print
 * "error: ..." and "hint: see '<prog> --help'" and return 2. Returns the
 * process exit code. */
int cli_main(const cli_program *prog, int argc, char **argv);

/* Finds a command by name in prog's table, or NULL. */
const cli_command *cli_command_find(const cli_program *prog, const char *name);

#ifdef __cplusplus
}
#endif
#endif
