/* Manifest input for -f: files, directories (recursively: *.yaml, *.yml,
 * *.json, in name order) and "-" for standard input; multi-document
 * YAML and JSON read in chunks and streamed one document at a time (memory
 * follows the largest document, not the file); List kinds unpacked; helm
 * template's "# Source: chart/templates/x.yaml" comments kept as each
 * object's origin. */
#ifndef PROBECHECK_INPUT_H
#define PROBECHECK_INPUT_H

#include <stddef.h>

#include <jansson.h>

#include "workload.h"

#define PROBECHECK_STDIN_NAME "STDIN"

/* Reads path ("-": standard input) whole into *out (kube_malloc'd,
 * NUL-terminated), its length in *len: for small files (--config). Returns 0, KUBE_EINVALID with a
 * message in err ("the path \"x\" does not exist", ...), or KUBE_ENOMEM. */
int probecheck_file_read(char **out, size_t *len, const char *path, char *err, size_t err_size);

/* Writes kube_error_last()'s "line N: problem" as "FILE:N: problem". */
void probecheck_format_parse_error(char *err, size_t err_size, const char *file);

/* Called for each object. Returns 0; KUBE_EINVALID with the problem in err
 * (reported as "error: FILE:LINE: problem"); or another KUBE_E*, which
 * stops everything. */
typedef int (*probecheck_object_fn)(void *user, const json_t *object, const probecheck_source *source, char *err,
                                    size_t err_size);

typedef struct probecheck_input_stats {
	size_t files;   /* manifest files read */
	size_t objects; /* objects handed to fn */
	size_t errors;  /* inputs reported as errors */
} probecheck_input_stats;

/* Streams every object of every path to fn. A missing path, an unreadable
 * file, a YAML error or an object fn refuses prints
 * "error: FILE[:LINE]: problem" and stops, or with keep_going moves on to
 * the next document or file. Returns 0 when no input had an error,
 * CLI_EXIT_USAGE when one had (printed), or a negative KUBE_E* from fn. */
int probecheck_input_each(const char *const *paths, size_t count, int keep_going, probecheck_object_fn fn, void *user,
                          probecheck_input_stats *stats);

#endif
