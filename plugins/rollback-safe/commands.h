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

#endif
