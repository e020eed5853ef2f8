/* The plan of a rollback from the release's current revision to a target
 * revision: what the apply would do to each object of either manifest
 * against the live cluster (create, patch, delete, keep, leave unchanged,
 * or leave unchanged while its pods are unhealthy), and the preflight
 * findings that block it or that a user should know (SPEC §5.2). */
#ifndef ROLLBACK_PLAN_H
#define ROLLBACK_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "preflight.h"
#include "rollback.h"

enum rollback_action {
	ROLLBACK_ACTION_CREATE,
	ROLLBACK_ACTION_PATCH,
	ROLLBACK_ACTION_DELETE,
	ROLLBACK_ACTION_KEEP,
	ROLLBACK_ACTION_UNCHANGED,
	ROLLBACK_ACTION_UNHEALTHY,
};

/* "create", "patch", "delete", "keep", "unchanged" or "unhealthy". */
const char *rollback_action_name(enum rollback_action action);

typedef struct rollback_plan_object {
	char api_version[128];
	char kind[128];
	char ns[254]; /* "" for cluster-scoped kinds */
	char name[254];
	enum rollback_action action;
	/* patch: the changed field paths ("spec.template.spec.containers[app].image");
	 * unhealthy: why; delete: "data loss: PersistentVolumeClaim", "not in
	 * revision 3"; keep: the annotation */
	char detail[512];
} rollback_plan_object;

typedef struct rollback_plan {
	long long current_revision, target_revision;
	rollback_plan_object *objects; /* target manifest order, then deletions */
	size_t object_count;
	rollback_finding *findings; /* in the order found */
	size_t finding_count;
	/* The target manifest's objects of kinds the cluster serves, each with
	 * metadata.namespace filled in for namespaced kinds and removed for
	 * cluster-scoped ones (owned; the verify step reads it). */
	json_t *target_objects;
} rollback_plan;

/* Builds the plan of rolling the release back from current to target
 * (records whose `release` bodies are decoded; revision and release are
 * read). history is the release's history (metadata is enough) and
 * history_max Helm's --history-max (0 = unlimited), for the pruning check.
 *
 * Reads discovery once per distinct apiVersion and kind of both manifests
 * and of the target's rollback hooks, and lists each resource type once
 * per namespace (paginated; a field selector on the name when the type has
 * a single object), never one GET per object. What Helm would refuse or
 * lose is a finding, not an error: an unparsable manifest (BLOCK
 * "manifest"), kinds the cluster no longer serves (BLOCK "removed-api";
 * also when a LIST answers 404 because discovery came from a stale cache,
 * which is then forgotten), immutable fields, data-losing deletions,
 * history pruning of the target; and warnings: other deletions, objects
 * that exist live but not in the current manifest (WARN "adopt": Helm 3
 * refuses those), objects listed twice (WARN "manifest"). Deployments,
 * StatefulSets and DaemonSets whose pod template the rollback leaves as it
 * is while their pods are not ready are "unhealthy" (helm/helm#9633).
 *
 * *out is filled (dispose with rollback_plan_dispose, also after an
 * error). Returns 0, or the exit code after printing the error (API errors
 * through cli_error_kube, out of memory). */
int rollback_plan_build(rollback_ctx *ctx, rollback_plan *out, const rollback_record *current,
                        const rollback_record *target, const rollback_history *history, long history_max);

/* 1 when plan has a BLOCK finding, else 0. */
int rollback_plan_blocked(const rollback_plan *plan);

/* The objects as a JSON array of {apiVersion, kind, namespace, name,
 * action, detail} (owned), or NULL when memory runs out. */
json_t *rollback_plan_objects_json(const rollback_plan *plan);

/* The findings as a JSON array of {severity: "block"|"warn"|"info",
 * check, object, message} (owned), or NULL when memory runs out. */
json_t *rollback_plan_findings_json(const rollback_plan *plan);

/* Prints the plan for people: a table of the objects (ACTION KIND NAME
 * DETAIL; NAMESPACE too when wide), then one line per finding ("BLOCK
 * immutable-field Deployment/web: ..."). */
void rollback_plan_print(const rollback_plan *plan, FILE *stream, int wide);

/* Frees what plan holds and zeroes it; NULL and a zeroed plan are fine. */
void rollback_plan_dispose(rollback_plan *plan);

#endif
