/* Where a command's report goes and how it is rendered: stdout or an
 * --output-file replaced atomically (temp file in the same directory,
 * fsync, rename), and the machine formats (JSON as kubectl indents it,
 * YAML through kube_yaml_emit) of objects carrying rollguard's apiVersion
 * and a kind. */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cli_args;
struct cli_table;

#define CLI_API_VERSION "rollguard.io/v1"

enum cli_output_format {
	CLI_OUTPUT_TABLE, /* the default: human-readable */
	CLI_OUTPUT_WIDE,  /* the table with its wide-only columns */
	CLI_OUTPUT_JSON,
	CLI_OUTPUT_YAML,
	CLI_OUTPUT_SARIF,
	CLI_OUTPUT_JUNIT,
};

/* Masks of the formats a command accepts (cli_command.outputs). */
#define CLI_OUTPUT_BIT(format) (1u << (format))
#define CLI_OUTPUTS_STANDARD                                                                                           \
	(CLI_OUTPUT_BIT(CLI_OUTPUT_TABLE) | CLI_OUTPUT_BIT(CLI_OUTPUT_WIDE) | CLI_OUTPUT_BIT(CLI_OUTPUT_JSON) |        \
	 CLI_OUTPUT_BIT(CLI_OUTPUT_YAML))

/* "table", "wide", "json", ... Returns 0, or -1 for an unknown name. */
int cli_output_format_parse(enum cli_output_format *out, const char *name);
const char *cli_output_format_name(enum cli_output_format format);
/* Writes the names in mask as "table|wide|json|yaml" into buf. */
void cli_output_formats_describe(char *buf, size_t size, unsigned mask);

/* A report's destination. stream is what the command writes to. */
typedef struct cli_output {
	FILE *stream;
	char *path;      /* the --output-file, NULL for stdout */
	char *temp_path; /* the temp file beside it until commit */
} cli_output;

/* Opens stdout (path NULL or "-") or a temp file beside path (mkstemp:
 * created, never opened through a symlink), given the mode path has when
 * it is a regular file (permission bits only), else 0666 less the umask.
 * Returns 0, or prints the error and returns CLI_EXIT_USAGE (path is a
 * directory or a symbolic link, which is never followed; the directory
 * does not exist or is not writable) or CLI_EXIT_FAIL. */
int cli_output_open(cli_output *out, const char *path);

/* Finishes the output. With status 0: flushes; for a file also fsyncs,
 * renames over path and fsyncs the directory; returns 0, or prints the
 * error, removes the temp file (path keeps its old content) and returns
 * CLI_EXIT_FAIL. With status != 0 (the command failed): removes the temp
 * file, leaves path untouched and returns status. Safe to call on a
 * zeroed or already closed cli_output. */
int cli_output_close(cli_output *out, int status);

/* Returns {"apiVersion": CLI_API_VERSION, "kind": kind} (owned), or NULL
 * when memory runs out. Commands add their fields after these two. */
json_t *cli_object_new(const char *kind);

/* Writes doc as kubectl -o json does (4-space indent, keys in insertion
 * order, trailing newline). Returns 0 or CLI_EXIT_FAIL (printed). */
int cli_output_json(FILE *stream, const json_t *doc);
/* Writes doc on one line (for streams of events, one per line). */
int cli_output_json_line(FILE *stream, const json_t *doc);
/* Writes doc as block YAML (kube_yaml_emit). Returns 0 or CLI_EXIT_FAIL. */
int cli_output_yaml(FILE *stream, const json_t *doc);
/* JSON or YAML per format; other formats are the command's job (asserted). */
int cli_output_document(FILE *stream, enum cli_output_format format, const json_t *doc);

/* Writes a command's report where args says (standard output, or the
 * --output-file through cli_output_open and cli_output_close): doc as
 * JSON or YAML for -o json and -o yaml, else table, with its wide columns
 * for -o wide. table may be NULL when the format is JSON or YAML; both
 * are borrowed. Returns 0, or prints the error and returns the exit code
 * cli_output_open or cli_output_close returned (the file keeps its old
 * content then). */
int cli_output_report(const struct cli_args *args, const json_t *doc, const struct cli_table *table);

#ifdef __cplusplus
}
#endif
#endif
