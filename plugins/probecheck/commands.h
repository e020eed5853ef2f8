/* The subcommands of kubectl probecheck: one file each, listed in commands.c. */
#ifndef PROBECHECK_COMMANDS_H
#define PROBECHECK_COMMANDS_H

#include "cli/command.h"

/* The table cli_main dispatches through, ended by NULL. */
extern const cli_command *const probecheck_commands[];

/* audit.c: the default command (kubectl probecheck -f FILE). */
extern const cli_command probecheck_audit_command;
/* checks.c: the check catalogue. */
extern const cli_command probecheck_checks_command;

/* Completion (cli/complete.h): audit's targets with names from the
 * cluster, --fail-on, --checks and --skip; checks' check IDs. */
struct cli_completion;
struct cli_complete_request;
void probecheck_complete_audit(struct cli_completion *c, const struct cli_complete_request *req);
void probecheck_complete_checks(struct cli_completion *c, const struct cli_complete_request *req);

#endif
