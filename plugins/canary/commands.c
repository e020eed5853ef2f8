/* The command table of kubectl canary. Adding a subcommand: a file
 * defining its cli_command, its declaration in commands.h, a line here. */
#include "cli/complete.h"
#include "cli/version.h"
#include "commands.h"

const cli_command *const canary_commands[] = {
        &canary_start_command,   &canary_status_command,
        &canary_promote_command, &canary_abort_command,
        &canary_list_command,    &canary_history_command,
        &canary_run_command,     &cli_completion_command,
        &cli_version_command,    NULL,
};
