/* The `version` subcommand and --version: rollguard's version, commit and
 * build date, and the libcurl and OpenSSL in use; as text or as a
 * rollguard.io/v1 Version object. */
#ifndef CLI_VERSION_H
#define CLI_VERSION_H

#include <stdio.h>

#include <jansson.h>

#include "cli/command.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The command every program lists in its table. */
extern const cli_command cli_version_command;

/* {apiVersion, kind: Version, version, commit, buildDate, libcurl,
 * openssl, binary} (owned), or NULL when memory runs out. */
json_t *cli_version_object(const char *binary);

/* "<binary> version <v> (commit <c>, built <date>)", "libcurl <x>",
 * "OpenSSL <y>", one per line. */
void cli_version_print(FILE *stream, const char *binary);

/* Runs `version` for args (-o json|yaml, --output-file). */
int cli_version_run(const cli_args *args);

#ifdef __cplusplus
}
#endif
#endif
