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

/* Requires a run in progress (exit 5 otherwise) and picks its router. */
int canary_require_run(canary_ctx *ctx);

/* The CanaryStatus document of ctx's run (owned; NULL when memory runs
 * out); pods (may be NULL) gives the canary pods' readiness. */
json_t *canary_status_json(const canary_ctx *ctx, const canary_pods *pods);

#endif
