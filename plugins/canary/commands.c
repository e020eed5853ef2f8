/* The command table of kubectl canary. Adding a subcommand: a file
 * defining its cli_command, its declaration in commands.h, a line here. */
#include "cli/version.h"
#include "commands.h"

const cli_command *const canary_commands[] = {
        &cli_version_command,
        NULL,
};
