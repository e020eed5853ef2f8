/* The audit engine: takes objects one at a time (from manifests or the
 * API server), keeps Services and PodDisruptionBudgets in an index, runs
 * the check families and hands each workload with its findings to the
 * report, which writes it out as a record; the checks that depend on
 * Services and PDBs are resolved at the end, so objects may come in any
 * order while memory holds only the index and a small entry per workload. */
#ifndef PROBECHECK_ENGINE_H
#define PROBECHECK_ENGINE_H

#include <stddef.h>

#include <jansson.h>

#include "catalog.h"
#include "report.h"
#include "suppress.h"
#include "workload.h"

struct probecheck_ctx;

/* Called at the end of each workload's audit (cluster mode: live
 * evidence), with the context its findings are emitted through. Returns
 * 0 or KUBE_ENOMEM. */
typedef int (*probecheck_workload_hook)(struct probecheck_ctx *ctx, void *user);

typedef struct probecheck_options {
	unsigned char enabled[PROBECHECK_CHECK_COUNT]; /* 1 for each selected check */
	int strict;                                    /* report suppressed findings and list them */
	enum probecheck_severity fail_on;
	const probecheck_config *config; /* borrowed; NULL for none */
	const char *default_namespace;   /* for objects without metadata.namespace; NULL: "" */
	probecheck_workload_hook hook;   /* NULL: none */
	void *hook_user;
} probecheck_options;

typedef struct probecheck_engine probecheck_engine;

/* Creates an engine; *out NULL on failure. Returns 0 or KUBE_ENOMEM. */
int probecheck_engine_new(probecheck_engine **out, const probecheck_options *options);

/* Audits one object (borrowed for the call) from source. Workload kinds
 * are checked, Services and PDBs indexed, other kinds skipped (with a
 * warning when they carry a pod template). Returns 0, KUBE_EINVALID with
 * the problem in err (an object the API server would reject in a way
 * probecheck cannot check), or KUBE_ENOMEM. */
int probecheck_engine_add(probecheck_engine *engine, const json_t *object, const probecheck_source *source, char *err,
                          size_t err_size);

/* Resolves the findings that depend on Services and PDBs and counts the
 * report. Returns 0, KUBE_ENOMEM, or KUBE_ERROR when a record cannot be
 * read back (the error printed). */
int probecheck_engine_finish(probecheck_engine *engine);

/* The number of workloads audited so far. */
size_t probecheck_engine_workload_count(const probecheck_engine *engine);

/* Forgets the workloads audited after the first count, and their findings
 * (a listing that started over). */
void probecheck_engine_truncate(probecheck_engine *engine, size_t count);

/* The report (borrowed from the engine). */
probecheck_report *probecheck_engine_report(probecheck_engine *engine);

void probecheck_engine_free(probecheck_engine *engine);

#endif
