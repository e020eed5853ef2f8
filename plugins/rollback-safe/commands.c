/* The command table of helm rollback-safe. Adding a subcommand: a file
 * defining its cli_command, its declaration in commands.h, a line here. */
#include "cli/complete.h"
#include "cli/version.h"
#include "commands.h"

const cli_command *const rollback_commands[] = {
        &rollback_rollback_command,
        &rollback_plan_command,
        &rollback_history_command,
        &rollback_unlock_command,
        &cli_helm_completion_command,
        &cli_version_command,
        NULL,
};
