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

/* cli_args_parse for a line still being typed (completion): unknown
 * flags, bad values, an unknown command and a wrong number of arguments
 * are skipped; the rest is parsed as usual. Returns 0, or CLI_EXIT_FAIL
 * when memory runs out. Release out with cli_args_dispose. */
int cli_args_parse_partial(cli_args *out, const struct cli_program *prog, int argc, char **argv);

/* The flag named name (name_len bytes) or shorthand, among the common
 * flags and command's (every command's when command is NULL), or NULL.
 * *out_common_id (may be NULL) is its enum cli_common_flag, or -1 for a
 * command's own flag. */
const cli_flag *cli_flag_lookup(const struct cli_program *prog, const struct cli_command *command, const char *name,
                                size_t name_len, char shorthand, int *out_common_id);

/* 1 when flag takes the next argument as its value (not BOOL, not a
 * STRING with a no_opt_value). */
int cli_flag_takes_value(const cli_flag *flag);

#endif
