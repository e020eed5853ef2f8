/* Builds a finding's fix: a YAML snippet shaped as a strategic merge
 * patch of the workload (so `kubectl patch --patch-file` can apply it),
 * holding only the fields to change, with numbers computed from the
 * workload's own values. Errors are sticky: a failed append marks the fix
 * and later calls do nothing. */
#ifndef PROBECHECK_FIX_H
#define PROBECHECK_FIX_H

#include <jansson.h>

#include <kube/buf.h>

#include "probe.h"
#include "workload.h"

typedef struct probecheck_fix {
	kube_buf buf;
	int failed; /* an append ran out of memory */
} probecheck_fix;

/* Empties the fix (keeps its memory). */
void probecheck_fix_reset(probecheck_fix *fix);

/* Writes the path from the workload down to its pod spec ("spec:\n
 * template:\n spec:\n" for a Deployment) and returns the indent of the pod
 * spec's fields. */
int probecheck_fix_pod(probecheck_fix *fix, const probecheck_workload *w);

/* probecheck_fix_pod, then "containers:" (or "initContainers:") and
 * "- name: NAME"; returns the indent of the container's fields. */
int probecheck_fix_container(probecheck_fix *fix, const probecheck_workload *w, const probecheck_container *c);

/* Writes "spec:" and returns the indent of the workload spec's fields. */
int probecheck_fix_spec(probecheck_fix *fix);

/* One line at indent spaces. */
void probecheck_fix_line(probecheck_fix *fix, int indent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "key:" and value below it as block YAML, indented under the key. */
void probecheck_fix_yaml(probecheck_fix *fix, int indent, const char *key, const json_t *value);

/* A probe of kind: the handler of from (its JSON as written) and the
 * given numbers; a number of 0 is left out (the API default applies). */
typedef struct probecheck_fix_numbers {
	long initial_delay, timeout, period, success, failure;
} probecheck_fix_numbers;
void probecheck_fix_probe(probecheck_fix *fix, int indent, enum probecheck_probe_kind kind,
                          const probecheck_probe *from, const probecheck_fix_numbers *numbers);

void probecheck_fix_dispose(probecheck_fix *fix);

#endif
