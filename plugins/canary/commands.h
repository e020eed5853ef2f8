/* The subcommands of kubectl canary: one file each, listed in commands.c. */
#ifndef CANARY_COMMANDS_H
#define CANARY_COMMANDS_H

#include "cli/command.h"

/* The table cli_main dispatches through, ended by NULL. */
extern const cli_command *const canary_commands[];

/* Each subcommand file defines one of these, e.g. in status.c:
 * extern const cli_command canary_status_command; */

#endif
