/* What a check family sees while the engine audits one workload, and how
 * it reports: one function per family (checks/<family>.c), each walking
 * the workload's containers and probes and calling probecheck_emit. */
#ifndef PROBECHECK_CHECKS_H
#define PROBECHECK_CHECKS_H

#include "arena.h"
#include "catalog.h"
#include "fix.h"
#include "probe.h"
#include "report.h"
#include "workload.h"

typedef struct probecheck_ctx {
	struct probecheck_engine *engine;
	const probecheck_workload *workload;
	/* probes[i][kind] for container i, parsed once per workload */
	const probecheck_probe (*probes)[PROBECHECK_PROBE_KINDS];
	probecheck_fix *fix; /* the fix being built; probecheck_emit takes it and resets it */
	probecheck_arena *arena;
} probecheck_ctx;

/* 1 when check is selected and applies to this workload's kind. */
int probecheck_applies(const probecheck_ctx *ctx, enum probecheck_check check);

/* Records a finding of check (ignored when it does not apply) on container
 * c (NULL: the workload) and probe (a probe kind, or -1), with flags
 * PROBECHECK_DEFER_*, the message from fmt, and ctx->fix as its fix
 * (which is then reset). Returns 0 or KUBE_ENOMEM. */
int probecheck_emit(probecheck_ctx *ctx, enum probecheck_check check, enum probecheck_severity severity,
                    const probecheck_container *c, int probe, unsigned flags, const char *fmt, ...)
        __attribute__((format(printf, 7, 8)));

/* The container's probe of that kind (json NULL when absent). */
const probecheck_probe *probecheck_ctx_probe(const probecheck_ctx *ctx, size_t container,
                                             enum probecheck_probe_kind kind);

/* 1 when the container is long-running: a regular container or a native sidecar. */
int probecheck_container_runs(const probecheck_container *c);

/* The families. Each returns 0 or KUBE_ENOMEM. */
int probecheck_check_presence(probecheck_ctx *ctx);
int probecheck_check_correctness(probecheck_ctx *ctx);
int probecheck_check_timing(probecheck_ctx *ctx);
int probecheck_check_intent(probecheck_ctx *ctx);
int probecheck_check_hygiene(probecheck_ctx *ctx);

/* Live evidence for cluster targets: pods are the workload's compact pods
 * (cluster_compact.h), each with its Events. */
struct probecheck_pod_link;
int probecheck_check_live(probecheck_ctx *ctx, const struct probecheck_pod_link *pods);

/* Active findings (--exercise) from the probes of set run for the
 * workload at that index of the cluster's selection. */
struct probecheck_exercise_set;
int probecheck_check_active(probecheck_ctx *ctx, const struct probecheck_exercise_set *set, size_t workload);

#endif
