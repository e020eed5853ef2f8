/* The subcommands of kubectl probecheck: one file each, listed in commands.c. */
#ifndef PROBECHECK_COMMANDS_H
#define PROBECHECK_COMMANDS_H

#include "cli/command.h"

/* The table cli_main dispatches through, ended by NULL. */
extern const cli_command *const probecheck_commands[];

/* Each subcommand file defines one of these, e.g. in checks.c:
 * extern const cli_command probecheck_checks_command; */

#endif
