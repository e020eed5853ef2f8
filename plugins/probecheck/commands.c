/* The command table of kubectl probecheck. Adding a subcommand: a file
 * defining its cli_command, its declaration in commands.h, a line here. */
#include "cli/complete.h"
#include "cli/version.h"
#include "commands.h"

const cli_command *const probecheck_commands[] = {
        &probecheck_audit_command, &probecheck_checks_command, &cli_completion_command, &cli_version_command, NULL,
};
