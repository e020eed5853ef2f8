/* -h/--help and the `help` subcommand: usage, description, examples,
 * subcommands and flags, laid out as cobra (kubectl, helm) lays them out.
 * "{program}" in a command's texts stands for the program's name. */
#ifndef CLI_HELP_H
#define CLI_HELP_H

#include <stdio.h>

#include "cli/command.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Prints the help of cmd, or of prog itself when cmd is NULL. */
void cli_help_print(FILE *stream, const cli_program *prog, const cli_command *cmd);

#ifdef __cplusplus
}
#endif
#endif
