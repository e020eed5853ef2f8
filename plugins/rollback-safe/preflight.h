/* The preflight of a rollback, as pure functions over JSON: the changes
 * Kubernetes refuses (immutable fields, over what diff.h says the apply
 * would change in a live object), deletions that lose data, workloads a
 * no-op rollback leaves broken, the hooks that run, and the history Helm
 * prunes. plan.c fetches what these read and turns their verdicts into a
 * plan. */
#ifndef ROLLBACK_PREFLIGHT_H
#define ROLLBACK_PREFLIGHT_H

#include <stddef.h>

#include <jansson.h>

#include "diff.h"
#include "rollback.h"

enum rollback_severity {
	ROLLBACK_SEVERITY_BLOCK, /* the rollback would fail or lose data: refused (exit 5) */
	ROLLBACK_SEVERITY_WARN,
	ROLLBACK_SEVERITY_INFO,
};

/* "block", "warn" or "info". */
const char *rollback_severity_name(enum rollback_severity severity);

typedef struct rollback_finding {
	enum rollback_severity severity;
	/* "removed-api", "immutable-field", "data-loss", "delete", "adopt",
	 * "hook", "history-prune", "manifest" */
	char check[32];
	char object[512]; /* "Deployment/web" or "revision 3" */
	char message[512];
} rollback_finding;

/* A growing list of findings. */
typedef struct rollback_findings {
	rollback_finding *items;
	size_t count;
	size_t cap;
} rollback_findings;

#define ROLLBACK_FINDINGS_INIT                                                                                         \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}

/* Appends a finding (texts copied, cut to the fields' sizes). Returns 0 or
 * KUBE_ENOMEM. */
int rollback_findings_add(rollback_findings *list, enum rollback_severity severity, const char *check,
                          const char *object, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Frees the items; list is empty after. */
void rollback_findings_dispose(rollback_findings *list);

/* Adds a BLOCK "immutable-field" finding, naming up to three fields with
 * their live -> target values, for each rule that changes of diff break on
 * target's kind (Kubernetes refuses the patch):
 * the selector of a Deployment, DaemonSet, ReplicaSet or StatefulSet; a
 * StatefulSet's spec fields other than replicas, template, updateStrategy,
 * persistentVolumeClaimRetentionPolicy, minReadySeconds, ordinals and
 * revisionHistoryLimit; a Job's template or selector; a Service's
 * clusterIP or clusterIPs; a PersistentVolumeClaim's storage request
 * smaller than live, or any spec field but resources.requests and
 * volumeAttributesClassName. diff is rollback_diff_objects(target, live,
 * ...); live is the object the cluster has. Returns 0 or KUBE_ENOMEM. */
int rollback_check_immutable(rollback_findings *out, const json_t *target, const json_t *live,
                             const rollback_diff *diff);

/* Whether live (a Deployment, StatefulSet or DaemonSet as the cluster has
 * it) has pods that are not ready by its status: a Deployment with fewer
 * ready or available replicas than spec.replicas, unavailable replicas, or
 * Progressing=False (ProgressDeadlineExceeded); a StatefulSet with fewer
 * ready replicas than spec.replicas; a DaemonSet with fewer ready pods
 * than desiredNumberScheduled. Returns 1 and a short reason in why ("1/3
 * ready"), or 0 (healthy, or not a workload kind). */
int rollback_workload_unhealthy(char *why, size_t size, const json_t *live);

/* What the rollback does to an object the target revision no longer has. */
enum rollback_delete_verdict {
	ROLLBACK_DELETE_DELETED = 0,
	ROLLBACK_DELETE_KEPT = 1,
	ROLLBACK_DELETE_GONE = 2,
};
/* Classifies the deletion of obj (an object of the current revision that
 * the target revision does not have) with live its object in the cluster
 * (NULL when it is gone). Returns ROLLBACK_DELETE_KEPT when live has
 * annotation helm.sh/resource-policy: keep (Helm reads it from the live
 * object, not the manifest), ROLLBACK_DELETE_GONE when live is NULL, else
 * ROLLBACK_DELETE_DELETED after adding a BLOCK "data-loss" finding for a
 * PersistentVolumeClaim, a PersistentVolume, a CustomResourceDefinition or
 * a StatefulSet whose persistentVolumeClaimRetentionPolicy deletes its
 * claims with it, else a WARN "delete" (plus, for a StatefulSet with
 * volumeClaimTemplates, an INFO that its claims stay). detail (detail_size
 * bytes) receives the plan's short text: "data loss: ...", "not in
 * revision N", the annotation, "already gone from the cluster".
 * target_revision names the revision in messages. Negative: KUBE_ENOMEM. */
int rollback_check_delete(rollback_findings *out, char *detail, size_t detail_size, const json_t *obj,
                          const json_t *live, long long target_revision);

/* Adds an INFO "hook" finding for each hook of hooks (a release's hooks
 * array) whose events include pre-rollback or post-rollback, in the order
 * Helm runs them (weight, then name): "hook Job/migrate runs pre-rollback
 * (weight -5, delete policy before-hook-creation)". Other hooks are
 * ignored. Returns 0 or KUBE_ENOMEM. */
int rollback_check_hooks(rollback_findings *out, const json_t *hooks);

/* 1 when hook (an element of a release's hooks array) runs on pre-rollback
 * or post-rollback, else 0. */
int rollback_hook_runs_on_rollback(const json_t *hook);

/* The revisions Helm deletes from history before it writes the rollback's
 * new revision, oldest first (Helm's storage removeLeastRecent with
 * history_max - 1: oldest first until history_max - 1 records remain,
 * never the newest revision labelled deployed). history_max 0 or less is
 * unlimited. *out (kube_free) is NULL when none. Returns 0 or
 * KUBE_ENOMEM. */
int rollback_history_pruned(long long **out, size_t *out_count, const rollback_history *history, long history_max);

/* Adds a BLOCK "history-prune" finding when the pruning removes
 * target_revision (suggesting the --history-max that keeps it), and an
 * INFO naming the other revisions it removes. Returns 0 or KUBE_ENOMEM. */
int rollback_check_history(rollback_findings *out, const rollback_history *history, long history_max,
                           long long target_revision);

#endif
