/* The subcommands of kubectl canary: one file each, listed in commands.c,
 * and the helpers they share. */
#ifndef CANARY_COMMANDS_H
#define CANARY_COMMANDS_H

#include "canary.h"
#include "cli/command.h"
#include "observe.h"

/* The table cli_main dispatches through, ended by NULL. */
extern const cli_command *const canary_commands[];

extern const cli_command canary_start_command;
extern const cli_command canary_status_command;
extern const cli_command canary_promote_command;
extern const cli_command canary_abort_command;
extern const cli_command canary_list_command;
extern const cli_command canary_history_command;
extern const cli_command canary_run_command;

/* Completes a canary command's DEPLOYMENT argument (names from the
 * cluster) and the values of --router, --strategy, --on-timeout,
 * --on-interrupt and --dry-run (cli/complete.h). */
struct cli_completion;
struct cli_complete_request;
void canary_complete(struct cli_completion *c, const struct cli_complete_request *req);

/* Starts a run from ctx->args (start's and run's flags): creates the
 * canary and brings it to the first rung; resumes a start a killed process
 * left half-done. Prints errors and warnings only. Returns 0 or the exit
 * code. */
int canary_start(canary_ctx *ctx);

/* The revision (template hash, 11 bytes) the change flags of ctx->args
 * give D's template. Returns 0 or the exit code (printed). */
int canary_change_revision(canary_ctx *ctx, char *out);

/* 1 when any of --image, --set-env, --patch was given. */
int canary_change_given(const cli_args *args);

/* Requires a run in progress (exit 5 otherwise) and picks its router. */
int canary_require_run(canary_ctx *ctx);

/* The CanaryStatus document of ctx's run (owned; NULL when memory runs
 * out); pods (may be NULL) gives the canary pods' readiness. */
json_t *canary_status_json(const canary_ctx *ctx, const canary_pods *pods);

#endif
