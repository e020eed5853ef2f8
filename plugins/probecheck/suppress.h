/* Suppressions: the probecheck.rollguard.io/ignore annotation on an
 * object or its pod template ("check[,container:check] reason"), and the
 * rules of a --config file that target workloads by kind, namespace,
 * name, labels and container. A reason is mandatory in both. */
#ifndef PROBECHECK_SUPPRESS_H
#define PROBECHECK_SUPPRESS_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "catalog.h"
#include "report.h"
#include "workload.h"

#define PROBECHECK_IGNORE_ANNOTATION "probecheck.rollguard.io/ignore"

/* One parsed item of an annotation, or a config rule that matched a
 * workload: which checks (check -1: all) on which container (NULL: any;
 * config rules: a glob). */
typedef struct probecheck_suppress_item {
	int check;
	const unsigned char *checks; /* config rules: one flag per check, instead of check */
	const char *container;
	int container_glob;
	const probecheck_suppression *by;
} probecheck_suppress_item;

/* A problem found in an annotation: reported as suppression-invalid. */
typedef struct probecheck_suppress_problem {
	const char *message; /* in the arena */
} probecheck_suppress_problem;

/* Parses one annotation value of w. Appends the items it grants to
 * *items (grown with kube_realloc; *count and *cap updated) and calls
 * problem(user, message) for every problem (message in arena). An
 * annotation without a reason grants nothing. Returns 0 or KUBE_ENOMEM. */
typedef int (*probecheck_problem_fn)(void *user, const char *message);
int probecheck_suppress_parse_annotation(probecheck_arena *arena, const probecheck_workload *w, const char *value,
                                         enum probecheck_suppression_origin origin, probecheck_suppress_item **items,
                                         size_t *count, size_t *cap, probecheck_problem_fn problem, void *user);

/* The suppression in items[0..count) that covers check on container
 * ("" for workload-level findings, which only whole-workload items
 * cover), or NULL. */
const probecheck_suppression *probecheck_suppress_find(const probecheck_suppress_item *items, size_t count, int check,
                                                       const char *container);

/* A --config file. */
typedef struct probecheck_config probecheck_config;

/* Loads a config file (YAML or JSON):
 *
 *   apiVersion: rollguard.io/v1
 *   kind: ProbecheckConfig
 *   ignore:
 *   - checks: [probe-liveness-missing]   # check IDs, or "*"
 *     kinds: [Deployment]                # optional, any of
 *     namespace: "team-*"                # optional glob
 *     name: "web-*"                      # optional glob
 *     labels: {app: web}                 # optional, all must match
 *     container: istio-proxy             # optional glob
 *     reason: vendored chart, probes set by the mesh
 *
 * Returns 0; CLI-style errors are written to err: KUBE_EINVALID (a
 * missing file, bad YAML "FILE:LINE: ...", an unknown field or check, a
 * rule without checks or reason) or KUBE_ENOMEM. */
int probecheck_config_load(probecheck_config **out, const char *path, char *err, size_t err_size);
void probecheck_config_free(probecheck_config *config);

/* Appends an item for each rule of config that targets w. */
int probecheck_config_match(const probecheck_config *config, const probecheck_workload *w,
                            probecheck_suppress_item **items, size_t *count, size_t *cap);

#endif
