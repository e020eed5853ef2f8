/* Cluster mode: resolves targets (deploy/NAME, a bare type, -l, -A) with
 * discovery, reads everything with a constant number of paginated LISTs
 * run concurrently (the workload kinds asked for, ReplicaSets or Jobs when
 * Deployments or CronJobs are, Pods, Services, PodDisruptionBudgets and
 * Events; a single workload type is listed after the others, audited page
 * by page), matches pods to workloads by ownerReferences (UIDs), and
 * audits each workload statically and from its live evidence. */
#ifndef PROBECHECK_CLUSTER_H
#define PROBECHECK_CLUSTER_H

#include "cli/cli.h"
#include "engine.h"

/* Audits the cluster targets of args (positional arguments, -l, -A) into
 * a new engine (*out, freed by the caller, also on failure) built from
 * options. Returns 0, or an exit code after printing the error line:
 * usage 2 (bad target, unknown resource type), configuration 3, API 4
 * (forbidden, not found with kubectl's wording, unreachable). */
int probecheck_cluster_audit(const cli_args *args, probecheck_options *options, probecheck_engine **out);

#endif
