/* Shell completion: the engine that answers cobra's __complete protocol
 * (kubectl runs kubectl_complete-<plugin>, Helm runs plugin.complete, the
 * scripts of `completion bash|zsh|fish` run `<binary> __complete`), the
 * helpers a command's completion hook uses to add candidates (fixed values,
 * object names from the cluster under a short deadline), and the
 * `completion` subcommand. Candidates come from the same command and flag
 * tables the parser uses. */
#ifndef CLI_COMPLETE_H
#define CLI_COMPLETE_H

#include <stdio.h>

#include <jansson.h>

#include <kube/client.h>

#include "cli/command.h"
#include "cli/flags.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cobra's ShellCompDirective bits, printed as the last line ":N". */
#define CLI_COMPLETE_ERROR       1u  /* an error: the shell completes nothing */
#define CLI_COMPLETE_NO_SPACE    2u  /* no space after the completed word */
#define CLI_COMPLETE_NO_FILE     4u  /* no file names when there are no candidates */
#define CLI_COMPLETE_FILTER_EXT  8u  /* the candidates are file extensions */
#define CLI_COMPLETE_FILTER_DIRS 16u /* complete directory names only */
#define CLI_COMPLETE_KEEP_ORDER  32u /* do not sort the candidates */

/* How long one request to the cluster may take unless --request-timeout
 * says otherwise; it is not retried: a shell waits for the answer. */
#define CLI_COMPLETE_TIMEOUT_MS 2000L

/* The candidates being collected (opaque). */
typedef struct cli_completion cli_completion;

/* What a command's completion hook is asked for. */
typedef struct cli_complete_request {
	/* The words before the one being completed, parsed leniently: the
	 * connection flags (and Helm's environment for a Helm plugin), the
	 * command's flags, and the positional arguments. */
	const cli_args *args;
	const cli_command *command;
	/* The flag whose value is completed, or NULL for a positional argument. */
	const cli_flag *flag;
	/* With flag NULL: which positional argument (0 = the first after the
	 * command's name; args->positional holds the ones before it). */
	size_t position;
	/* What has been typed of the word (for a flag's value given as
	 * --flag=VALUE, the part after "="). */
	const char *word;
} cli_complete_request;

/* 1 when argv asks for completion: argv[1] is "__complete" or
 * "__completeNoDesc", or the binary runs as kubectl_complete-<plugin>. */
int cli_complete_requested(int argc, char **argv);

/* Answers a completion request (cli_main calls it): standard input and
 * standard error are pointed at /dev/null first (kubectl hands the plugin
 * the user's terminal, and an exec credential plugin must not prompt),
 * then the candidates and ":N" are written to standard output. Returns 0
 * always: any failure is no candidates and ":4". */
int cli_complete_main(const cli_program *prog, int argc, char **argv);

/* The engine behind cli_complete_main, writing to out: words are the
 * arguments after the program (the last one is being completed, possibly
 * ""); descriptions 0 leaves out the "\tdescription" part. Returns 0, or
 * -1 when memory ran out (":1" was written). */
int cli_complete_run(FILE *out, const cli_program *prog, int word_count, char **words, int descriptions);

/* Adds value when it starts with what has been typed; description may be
 * NULL. A value already added is not added again. */
void cli_complete_add(cli_completion *c, const char *value, const char *description);
/* Adds each value of a NULL-terminated list. */
void cli_complete_add_list(cli_completion *c, const char *const *values);
/* Sets bits of the directive (CLI_COMPLETE_NO_FILE is set from the start;
 * clear it with cli_complete_file_names). */
void cli_complete_directive(cli_completion *c, unsigned bits);
/* Lets the shell complete file names (no CLI_COMPLETE_NO_FILE); with
 * dirs_only, directory names only. */
void cli_complete_file_names(cli_completion *c, int dirs_only);
/* Candidates are added as prefix + value (TYPE/ for TYPE/NAME, the
 * earlier items of a comma-separated list) while matching value against
 * what is typed after the prefix; NULL: none. Borrowed until reset. */
void cli_complete_prefix(cli_completion *c, const char *prefix);

/* Calls fn for each item of one metadata-only LIST page (at most 500) of
 * res in the namespace of req (from -n, Helm's environment or the
 * kubeconfig; all namespaces when res is cluster-scoped), each request
 * within CLI_COMPLETE_TIMEOUT_MS and without retries. The client is made once
 * per completion. Returns 0, or a negative KUBE_E*; prints nothing. A
 * failure adds no candidates and leaves the directive as it is (":4"
 * unless the hook changed it): the hooks ignore it, as cobra does. */
typedef void (*cli_complete_item_fn)(cli_completion *c, const json_t *item, void *user);
int cli_complete_list(cli_completion *c, const cli_complete_request *req, const kube_resource *res,
                      const char *label_selector, cli_complete_item_fn fn, void *user);
/* Adds the names of the objects cli_complete_list finds. */
int cli_complete_names(cli_completion *c, const cli_complete_request *req, const kube_resource *res,
                       const char *label_selector);
/* The client cli_complete_list uses (borrowed), made on first use with
 * the request's connection flags; NULL on failure. */
kube_client *cli_complete_client(cli_completion *c, const cli_complete_request *req);

/* 1 when req completes the value of the command's flag called name. */
int cli_complete_flag_is(const cli_complete_request *req, const char *name);

/* The `completion` subcommand of the kubectl plugins: `completion
 * bash|zsh|fish` prints a script completing the binary run directly
 * (kubectl-canary ...), `completion install [--dir DIR]` creates the link
 * kubectl_complete-<plugin> through which kubectl >= 1.26 completes
 * `kubectl <plugin> ...`. */
extern const cli_command cli_completion_command;
/* The same for a Helm plugin: scripts only (Helm completes `helm
 * <plugin> ...` itself through the plugin's plugin.complete). */
extern const cli_command cli_helm_completion_command;

/* Writes the completion script of prog's binary for shell ("bash", "zsh"
 * or "fish"). Returns 0, or -1 for another shell. */
int cli_complete_script(FILE *out, const cli_program *prog, const char *shell);

#ifdef __cplusplus
}
#endif
#endif
