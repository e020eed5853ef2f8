/* Helpers shared by the files of common/cli; not for plugin code. */
#ifndef CLI_INTERNAL_H
#define CLI_INTERNAL_H

#include <stddef.h>

#include "cli/flags.h"

#define CLI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Appends group to args->config.as_groups (the string is borrowed: it must
 * outlive args). Returns 0 or -1 when memory runs out. */
int cli_args_add_group(cli_args *args, const char *group);

/* Returns a copy of the len bytes at s owned by args (freed by
 * cli_args_dispose), or NULL when memory runs out. */
const char *cli_args_keep(cli_args *args, const char *s, size_t len);

/* "kubectl canary status" (or the program's name alone without a command)
 * into buf. */
void cli_args_command_path(const cli_args *args, char *buf, size_t size);

#endif
