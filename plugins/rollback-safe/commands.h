/* The subcommands of helm rollback-safe: one file each, listed in commands.c. */
#ifndef ROLLBACK_COMMANDS_H
#define ROLLBACK_COMMANDS_H

#include "cli/command.h"

/* The table cli_main dispatches through, ended by NULL. */
extern const cli_command *const rollback_commands[];

/* Each subcommand file defines one of these, e.g. in history.c:
 * extern const cli_command rollback_history_command; */

extern const cli_command rollback_rollback_command;
extern const cli_command rollback_plan_command;
extern const cli_command rollback_history_command;
extern const cli_command rollback_unlock_command;

/* Completion (cli/complete.h): RELEASE from Helm's storage in the
 * namespace, and for rollback and plan REVISION from that release's
 * records. */
struct cli_completion;
struct cli_complete_request;
void rollback_complete(struct cli_completion *c, const struct cli_complete_request *req);

#endif
