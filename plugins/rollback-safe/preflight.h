/* The preflight of a rollback, as pure functions over JSON: what the
 * apply would change in a live object (target manifest against the live
 * object, three-way with the current manifest), the changes Kubernetes
 * refuses (immutable fields), deletions that lose data, workloads a no-op
 * rollback leaves broken, the hooks that run, and the history Helm prunes.
 * plan.c fetches what these read and turns their verdicts into a plan. */
#ifndef ROLLBACK_PREFLIGHT_H
#define ROLLBACK_PREFLIGHT_H

#include <stddef.h>

#include <jansson.h>

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

/* One field the apply would change: path as a user reads it
 * ("spec.template.spec.containers[app].image"; list items by their name
 * where the list's items all have one, else by index), and the live and
 * target values (borrowed from the objects diffed; live NULL when the
 * field is absent live, target NULL when the apply removes it). */
typedef struct rollback_change {
	char *path;
	const json_t *live;
	const json_t *target;
} rollback_change;

typedef struct rollback_diff {
	rollback_change *items;
	size_t count;
	size_t cap;
} rollback_diff;

#define ROLLBACK_DIFF_INIT                                                                                             \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}

/* What applying target (an object of the target manifest) changes in live
 * (the object as the cluster has it), with current the same object in the
 * current revision's manifest (NULL when it is not there): every field
 * target sets whose value live does not have (target is a "subset" of
 * live when there is none), and every field current set that target
 * drops and live still has (Helm's three-way patch removes those).
 * Objects compare key-wise; lists item-wise by index (a list of another
 * length is one change of the whole list), or by name for lists whose
 * target items all have distinct names (containers, env, volumes, ports,
 * volumeClaimTemplates by metadata.name). Fields the server owns are not
 * compared: top-level apiVersion, kind and status, and metadata's
 * namespace, uid, resourceVersion, generation, creationTimestamp and
 * managedFields. target's null means "no opinion"; target's empty values
 * (false, 0, "", {}, []) match an absent live field (the API drops them).
 * Numbers compare by value; quantities (resources limits/requests, hard,
 * capacity, storage, sizeLimit, or a number against a string) compare by
 * the amount they mean ("500m" = "0.5", "1Gi" = "1024Mi"). A Service's
 * server-allocated clusterIP, clusterIPs, nodePort and healthCheckNodePort
 * left empty in target keep their live values. The diff borrows from the
 * three objects. Returns 0 or KUBE_ENOMEM (out then holds a partial
 * list, disposed as usual). */
int rollback_diff_objects(rollback_diff *out, const json_t *target, const json_t *live, const json_t *current);

/* 1 when some change's path is prefix or lies under it (prefix followed by
 * '.' or '['), else 0. */
int rollback_diff_touches(const rollback_diff *diff, const char *prefix);

/* Writes the paths of up to max_paths changes into out ("spec.replicas,
 * metadata.labels.version and 3 more"); "" when there are none. */
void rollback_diff_describe(char *out, size_t size, const rollback_diff *diff, size_t max_paths);

void rollback_diff_dispose(rollback_diff *diff);

/* Parses a Kubernetes quantity ("500m", "1.5Gi", "10G", "1e3", "100") into
 * its amount in base units. Returns 0, or -1 when text is not a quantity. */
int rollback_quantity_parse(long double *out, const char *text);

/* Compares two quantities given as JSON strings or numbers: *out is <0,
 * 0 or >0 as a is less than, equal to or greater than b. Returns 0, or -1
 * when either is not a quantity. */
int rollback_quantity_cmp(int *out, const json_t *a, const json_t *b);

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
