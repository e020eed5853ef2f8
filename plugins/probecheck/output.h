/* The renderings of a ProbeReport: the table (grouped by workload,
 * severities coloured on a terminal), JSON and YAML (kind ProbeReport),
 * SARIF 2.1.0 and JUnit XML. Each returns 0, or prints the error and
 * returns an exit code. */
#ifndef PROBECHECK_OUTPUT_H
#define PROBECHECK_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

#include "cli/output.h"
#include "report.h"

int probecheck_output_table(FILE *stream, const probecheck_report *report, int wide, int color);

int probecheck_output_sarif(FILE *stream, const probecheck_report *report);

int probecheck_output_junit(FILE *stream, const probecheck_report *report);

/* Produces the next item of a streamed array (owned by the caller), or
 * NULL: *done set to 1 at the end, to -1 after an error it has printed
 * (a record that cannot be read back), else out of memory. */
typedef json_t *(*probecheck_item_fn)(void *user, int *done);

/* One array of a streamed document: parent[key] (parent is the document
 * or an object inside it), its items from next(user) one at a time. */
typedef struct probecheck_streamed_array {
	json_t *parent;
	const char *key;
	probecheck_item_fn next;
	void *user;
} probecheck_streamed_array;

/* Writes doc as JSON (format CLI_OUTPUT_JSON, as cli_output_json indents
 * it) or YAML with each of the count arrays (at most 8) filled from its
 * items as they come, so no such array ever exists whole. Returns 0, or
 * prints the error and returns an exit code. */
int probecheck_output_streamed(FILE *stream, enum cli_output_format format, json_t *doc,
                               const probecheck_streamed_array *arrays, size_t count);

/* Writes the ProbeReport as JSON or YAML, workloads and findings streamed. */
int probecheck_output_report(FILE *stream, enum cli_output_format format, const probecheck_report *report);

/* Shared by the renderings: "Deployment team-a/web" (no namespace part
 * when it is empty), written into buf. */
void probecheck_workload_label(char *buf, size_t size, const probecheck_report_workload *w);

/* "metadata.annotations" / "config: ..." and the like, for a suppression's origin. */
const char *probecheck_suppression_origin_name(enum probecheck_suppression_origin origin);

#endif
