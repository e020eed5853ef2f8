/* The preflight checks of a rollback over JSON objects: Kubernetes'
 * immutable fields (over the diff of diff.c), data-losing deletions,
 * workloads a no-op rollback leaves broken, rollback hooks and history
 * pruning. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "manifest.h"
#include "preflight.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How much of a value a message quotes. */
#define VALUE_MAX 64

/* ----- findings ----- */

static const char *const severity_names[] = {
        [ROLLBACK_SEVERITY_BLOCK] = "block",
        [ROLLBACK_SEVERITY_WARN] = "warn",
        [ROLLBACK_SEVERITY_INFO] = "info",
};

const char *rollback_severity_name(enum rollback_severity severity)
{
	return (size_t)severity < ARRAY_SIZE(severity_names) ? severity_names[severity] : "info";
}

int rollback_findings_add(rollback_findings *list, enum rollback_severity severity, const char *check,
                          const char *object, const char *fmt, ...)
{
	assert(list && check && fmt);
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		rollback_finding *items = kube_realloc(list->items, cap * sizeof(*items));
		if (!items)
			return KUBE_ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	rollback_finding *finding = &list->items[list->count];
	memset(finding, 0, sizeof(*finding));
	finding->severity = severity;
	rollback_copy_text(finding->check, sizeof(finding->check), check);
	rollback_copy_text(finding->object, sizeof(finding->object), object);
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(finding->message, sizeof(finding->message), fmt, ap);
	va_end(ap);
	list->count++;
	return 0;
}

void rollback_findings_dispose(rollback_findings *list)
{
	if (!list)
		return;
	kube_free(list->items);
	list->items = NULL;
	list->count = list->cap = 0;
}

/* ----- immutable fields ----- */

/* A value as a message quotes it: compact JSON, cut; "absent" for NULL. */
static void value_text(char *out, size_t size, const json_t *value)
{
	if (!value) {
		rollback_copy_text(out, size, "absent");
		return;
	}
	if (json_is_string(value)) {
		(void)snprintf(out, size, "%.*s", VALUE_MAX, json_string_value(value));
	} else {
		char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		(void)snprintf(out, size, "%.*s", VALUE_MAX, text ? text : "?");
		kube_free(text); /* jansson allocates through libkube's hook */
	}
	if (strlen(out) >= VALUE_MAX && size > VALUE_MAX + 3)
		memcpy(out + VALUE_MAX - 3, "...", 4);
	for (char *c = out; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	}
}

/* "path (old -> new)" for a change. */
static void change_text(char *out, size_t size, const rollback_change *change)
{
	char old_text[VALUE_MAX + 4], new_text[VALUE_MAX + 4];
	value_text(old_text, sizeof(old_text), change->live);
	value_text(new_text, sizeof(new_text), change->target);
	(void)snprintf(out, size, "%.200s (%s -> %s)", change->path, old_text, new_text);
}

typedef int (*change_filter)(const rollback_change *change, const void *user);

/* One finding naming the first changes that filter accepts (up to three). */
static int add_changes(rollback_findings *out, enum rollback_severity severity, const char *object,
                       const rollback_diff *diff, change_filter filter, const void *user, const char *what,
                       const char *why)
{
	char list[400] = "";
	size_t used = 0, shown = 0, total = 0;
	for (size_t i = 0; i < diff->count; i++) {
		if (!filter(&diff->items[i], user))
			continue;
		if (total++ >= 3 || used >= sizeof(list))
			continue;
		char one[VALUE_MAX * 2 + 220];
		change_text(one, sizeof(one), &diff->items[i]);
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", shown ? ", " : "", one);
		used += n > 0 ? (size_t)n : 0;
		shown++;
	}
	if (total == 0)
		return 0;
	char more[32] = "";
	if (total > shown)
		(void)snprintf(more, sizeof(more), " and %zu more", total - shown);
	return rollback_findings_add(out, severity, "immutable-field", object, "%s: %.300s%s; %s", what, list, more,
	                             why);
}

static int under_prefix(const rollback_change *change, const void *user)
{
	return rollback_diff_path_under(change->path, user);
}

static int under_prefixes(const rollback_change *change, const void *user)
{
	for (const char *const *prefix = user; *prefix; prefix++) {
		if (rollback_diff_path_under(change->path, *prefix))
			return 1;
	}
	return 0;
}

/* A spec field other than the ones listed (NULL-ended, as "spec.x"). */
static int spec_field_except(const rollback_change *change, const void *user)
{
	if (strcmp(change->path, "spec") == 0)
		return 1;
	return rollback_diff_path_under(change->path, "spec") && !under_prefixes(change, user);
}

static int is_storage_request(const rollback_change *change, const void *user)
{
	(void)user;
	return strcmp(change->path, "spec.resources.requests.storage") == 0;
}

static int check_pvc(rollback_findings *out, const char *object, const rollback_diff *diff)
{
	static const char *const mutable_fields[] = {"spec.resources.requests", "spec.volumeAttributesClassName", NULL};
	for (size_t i = 0; i < diff->count; i++) {
		const rollback_change *change = &diff->items[i];
		int order;
		if (!is_storage_request(change, NULL) || !change->live || !change->target ||
		    rollback_quantity_cmp(&order, change->target, change->live) != 0 || order >= 0)
			continue;
		char old_text[VALUE_MAX + 4], new_text[VALUE_MAX + 4];
		value_text(old_text, sizeof(old_text), change->live);
		value_text(new_text, sizeof(new_text), change->target);
		int rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "immutable-field", object,
		                               "spec.resources.requests.storage cannot shrink (%s -> %s): Kubernetes "
		                               "only expands a volume claim (helm/helm#11359)",
		                               old_text, new_text);
		if (rc)
			return rc;
	}
	return add_changes(out, ROLLBACK_SEVERITY_BLOCK, object, diff, spec_field_except, mutable_fields,
	                   "a PersistentVolumeClaim's spec is immutable after creation except resources.requests",
	                   "Kubernetes rejects the patch");
}

int rollback_check_immutable(rollback_findings *out, const json_t *target, const json_t *live,
                             const rollback_diff *diff)
{
	static const char *const statefulset_mutable[] = {"spec.replicas",
	                                                  "spec.template",
	                                                  "spec.updateStrategy",
	                                                  "spec.ordinals",
	                                                  "spec.minReadySeconds",
	                                                  "spec.persistentVolumeClaimRetentionPolicy",
	                                                  "spec.revisionHistoryLimit",
	                                                  "spec.selector" /* reported on its own */,
	                                                  NULL};
	static const char *const job_immutable[] = {"spec.template", "spec.selector", NULL};
	char group[256], object[400];
	const char *kind = rollback_string_member(target, "kind");
	int rc = 0;
	(void)live;
	rollback_api_group(group, sizeof(group), rollback_string_member(target, "apiVersion"));
	rollback_object_label(object, sizeof(object), target);
	int apps = strcmp(group, "apps") == 0 || strcmp(group, "extensions") == 0;
	int core = group[0] == '\0';
	if (apps && (strcmp(kind, "Deployment") == 0 || strcmp(kind, "DaemonSet") == 0 ||
	             strcmp(kind, "ReplicaSet") == 0 || strcmp(kind, "StatefulSet") == 0))
		rc = add_changes(out, ROLLBACK_SEVERITY_BLOCK, object, diff, under_prefix, "spec.selector",
		                 "spec.selector is immutable",
		                 "Kubernetes rejects the patch (field is immutable, helm/charts#7680)");
	if (!rc && apps && strcmp(kind, "StatefulSet") == 0) {
		rc = add_changes(out, ROLLBACK_SEVERITY_BLOCK, object, diff, spec_field_except, statefulset_mutable,
		                 "a StatefulSet's spec is immutable except replicas, template, updateStrategy, "
		                 "persistentVolumeClaimRetentionPolicy, minReadySeconds, ordinals and "
		                 "revisionHistoryLimit",
		                 "Kubernetes rejects the patch (helm/helm#7998)");
	} else if (!rc && strcmp(group, "batch") == 0 && strcmp(kind, "Job") == 0) {
		rc = add_changes(out, ROLLBACK_SEVERITY_BLOCK, object, diff, under_prefixes, job_immutable,
		                 "a Job's spec.template and spec.selector are immutable",
		                 "Kubernetes rejects the patch (helm/helm#7725); delete the Job first");
	} else if (!rc && core && strcmp(kind, "Service") == 0) {
		static const char *const service_ips[] = {"spec.clusterIP", "spec.clusterIPs", NULL};
		rc = add_changes(out, ROLLBACK_SEVERITY_BLOCK, object, diff, under_prefixes, service_ips,
		                 "spec.clusterIP and spec.clusterIPs are immutable",
		                 "Kubernetes rejects the patch (helm/helm#6378)");
	} else if (!rc && core && strcmp(kind, "PersistentVolumeClaim") == 0) {
		rc = check_pvc(out, object, diff);
	}
	return rc;
}

/* ----- workload health ----- */

static long long int_member(const json_t *obj, const char *key, long long fallback)
{
	const json_t *value = json_object_get(obj, key);
	return json_is_integer(value) ? (long long)json_integer_value(value) : fallback;
}

static int deadline_exceeded(const json_t *status)
{
	size_t i;
	const json_t *condition;
	json_array_foreach(json_object_get(status, "conditions"), i, condition)
	{
		if (strcmp(rollback_string_member(condition, "type"), "Progressing") == 0 &&
		    strcmp(rollback_string_member(condition, "status"), "False") == 0 &&
		    strcmp(rollback_string_member(condition, "reason"), "ProgressDeadlineExceeded") == 0)
			return 1;
	}
	return 0;
}

int rollback_workload_unhealthy(char *why, size_t size, const json_t *live)
{
	char group[256];
	const char *kind = rollback_string_member(live, "kind");
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	long long desired, ready, unavailable = 0;
	int deadline = 0;
	if (size)
		why[0] = '\0';
	rollback_api_group(group, sizeof(group), rollback_string_member(live, "apiVersion"));
	if (strcmp(group, "apps") != 0 && strcmp(group, "extensions") != 0)
		return 0;
	if (strcmp(kind, "Deployment") == 0) {
		desired = int_member(spec, "replicas", 1);
		ready = int_member(status, "readyReplicas", 0);
		long long available = int_member(status, "availableReplicas", 0);
		unavailable = int_member(status, "unavailableReplicas", 0);
		deadline = deadline_exceeded(status);
		if (desired > 0 && available < ready)
			ready = available; /* ready but not yet available for minReadySeconds */
	} else if (strcmp(kind, "StatefulSet") == 0) {
		desired = int_member(spec, "replicas", 1);
		ready = int_member(status, "readyReplicas", 0);
	} else if (strcmp(kind, "DaemonSet") == 0) {
		desired = int_member(status, "desiredNumberScheduled", 0);
		ready = int_member(status, "numberReady", 0);
		unavailable = int_member(status, "numberUnavailable", 0);
	} else {
		return 0;
	}
	if (desired <= 0 && !deadline)
		return 0;
	if (ready >= desired && unavailable <= 0 && !deadline)
		return 0;
	if (size)
		(void)snprintf(why, size, "%lld/%lld ready%s", ready, desired,
		               deadline ? ", progress deadline exceeded" : "");
	return 1;
}

/* ----- deletions ----- */

/* The names of a StatefulSet's volumeClaimTemplates, "data, logs". */
static void claim_template_names(char *out, size_t size, const json_t *statefulset)
{
	size_t i, used = 0;
	const json_t *claim;
	out[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(statefulset, "spec"), "volumeClaimTemplates"), i, claim)
	{
		if (used >= size)
			break;
		int n = snprintf(out + used, size - used, "%s%.63s", i ? ", " : "", rollback_object_name(claim));
		used += n > 0 ? (size_t)n : 0;
	}
}

/* The kinds whose deletion takes data with it whatever their spec says. */
struct data_loss {
	const char *group; /* "" for the core API */
	const char *kind;
	const char *detail; /* the plan's text */
	const char *what;   /* what the deletion does, in the finding */
};

static const struct data_loss data_loss_kinds[] = {
        {"", "PersistentVolumeClaim", "data loss: PersistentVolumeClaim",
         "the rollback deletes it, and its volume with the data unless the PersistentVolume's reclaim policy is "
         "Retain"},
        {"", "PersistentVolume", "data loss: PersistentVolume",
         "the rollback deletes it, and its storage with it unless its reclaim policy is Retain"},
        {"apiextensions.k8s.io", "CustomResourceDefinition", "data loss: CustomResourceDefinition and all its objects",
         "the rollback deletes it and with it every object of that kind in the cluster"},
        {"", "Namespace", "data loss: Namespace and everything in it",
         "the rollback deletes it and with it every object in it, PVCs and Secrets no manifest names included"},
};

static const struct data_loss *data_loss_of(const char *group, const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(data_loss_kinds); i++) {
		if (strcmp(group, data_loss_kinds[i].group) == 0 && strcmp(kind, data_loss_kinds[i].kind) == 0)
			return &data_loss_kinds[i];
	}
	return NULL;
}

int rollback_check_delete(rollback_findings *out, char *detail, size_t detail_size, const json_t *obj,
                          const json_t *live, long long target_revision)
{
	char group[256], object[400], claims[160];
	const char *kind = rollback_string_member(obj, "kind");
	assert(out && detail && obj);
	rollback_copy_text(detail, detail_size, "");
	if (!live) {
		rollback_copy_text(detail, detail_size, "already gone from the cluster");
		return ROLLBACK_DELETE_GONE;
	}
	/* Helm reads the policy from the object it fetched before deleting */
	const char *policy = rollback_string_member(json_object_get(json_object_get(live, "metadata"), "annotations"),
	                                            "helm.sh/resource-policy");
	if (strcmp(policy, "keep") == 0) {
		rollback_copy_text(detail, detail_size, "helm.sh/resource-policy: keep");
		return ROLLBACK_DELETE_KEPT;
	}
	rollback_api_group(group, sizeof(group), rollback_string_member(obj, "apiVersion"));
	rollback_object_label(object, sizeof(object), obj);
	const struct data_loss *loss = data_loss_of(group, kind);
	int rc;
	if (loss) {
		rollback_copy_text(detail, detail_size, loss->detail);
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "data-loss", object,
		                           "revision %lld does not have %s: %s; annotate it "
		                           "helm.sh/resource-policy=keep to keep it",
		                           target_revision, object, loss->what);
	} else if ((strcmp(group, "apps") == 0 || strcmp(group, "extensions") == 0) &&
	           strcmp(kind, "StatefulSet") == 0 &&
	           strcmp(rollback_string_member(json_object_get(json_object_get(live, "spec"),
	                                                         "persistentVolumeClaimRetentionPolicy"),
	                                         "whenDeleted"),
	                  "Delete") == 0) {
		claim_template_names(claims, sizeof(claims), live);
		rollback_copy_text(detail, detail_size, "data loss: the StatefulSet's PersistentVolumeClaims");
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "data-loss", object,
		                           "revision %lld does not have %s: the rollback deletes it, and its "
		                           "persistentVolumeClaimRetentionPolicy whenDeleted: Delete deletes the "
		                           "claims of its volumeClaimTemplates (%s) with it",
		                           target_revision, object, claims[0] ? claims : "none");
	} else {
		(void)snprintf(detail, detail_size, "not in revision %lld", target_revision);
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_WARN, "delete", object,
		                           "revision %lld does not have %s: the rollback deletes it", target_revision,
		                           object);
		if (!rc && (strcmp(group, "apps") == 0 || strcmp(group, "extensions") == 0) &&
		    strcmp(kind, "StatefulSet") == 0) {
			claim_template_names(claims, sizeof(claims), live);
			if (claims[0])
				rc = rollback_findings_add(out, ROLLBACK_SEVERITY_INFO, "delete", object,
				                           "the PersistentVolumeClaims of %s's volumeClaimTemplates "
				                           "(%s) stay: Kubernetes keeps them when a StatefulSet is "
				                           "deleted",
				                           object, claims);
		}
	}
	return rc ? rc : ROLLBACK_DELETE_DELETED;
}

/* ----- hooks ----- */

static int has_event(const json_t *hook, const char *event)
{
	size_t i;
	const json_t *value;
	json_array_foreach(json_object_get(hook, "events"), i, value)
	{
		if (json_is_string(value) && strcmp(json_string_value(value), event) == 0)
			return 1;
	}
	return 0;
}

int rollback_hook_runs_on_rollback(const json_t *hook)
{
	return has_event(hook, "pre-rollback") || has_event(hook, "post-rollback");
}

struct ordered_hook {
	const json_t *hook;
	size_t index;
};

/* Helm runs hooks by weight, then by name. */
static int compare_hooks(const void *a, const void *b)
{
	const struct ordered_hook *left = a, *right = b;
	long long left_weight = int_member(left->hook, "weight", 0),
	          right_weight = int_member(right->hook, "weight", 0);
	if (left_weight != right_weight)
		return left_weight < right_weight ? -1 : 1;
	int order = strcmp(rollback_string_member(left->hook, "name"), rollback_string_member(right->hook, "name"));
	if (order != 0)
		return order;
	return left->index < right->index ? -1 : left->index > right->index;
}

int rollback_check_hooks(rollback_findings *out, const json_t *hooks)
{
	size_t i, count = 0;
	const json_t *hook;
	int rc = 0;
	if (!json_is_array(hooks) || json_array_size(hooks) == 0)
		return 0;
	struct ordered_hook *ordered = kube_calloc(json_array_size(hooks), sizeof(*ordered));
	if (!ordered)
		return KUBE_ENOMEM;
	json_array_foreach(hooks, i, hook)
	{
		if (json_is_object(hook) && rollback_hook_runs_on_rollback(hook)) {
			ordered[count].hook = hook;
			ordered[count].index = i;
			count++;
		}
	}
	qsort(ordered, count, sizeof(*ordered), compare_hooks);
	for (i = 0; i < count && rc == 0; i++) {
		char object[400], policies[128] = "";
		size_t j, used = 0;
		const json_t *policy;
		hook = ordered[i].hook;
		(void)snprintf(object, sizeof(object), "%.127s/%.253s", rollback_string_member(hook, "kind"),
		               rollback_string_member(hook, "name"));
		json_array_foreach(json_object_get(hook, "delete_policies"), j, policy)
		{
			if (!json_is_string(policy) || used >= sizeof(policies))
				continue;
			int n = snprintf(policies + used, sizeof(policies) - used, "%s%.40s", used ? "," : "",
			                 json_string_value(policy));
			used += n > 0 ? (size_t)n : 0;
		}
		int pre = has_event(hook, "pre-rollback"), post = has_event(hook, "post-rollback");
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_INFO, "hook", object,
		                           "hook %s runs %s (weight %lld, delete policy %s)", object,
		                           pre && post ? "pre-rollback and post-rollback"
		                           : pre       ? "pre-rollback"
		                                       : "post-rollback",
		                           int_member(hook, "weight", 0), used ? policies : "before-hook-creation");
	}
	kube_free(ordered);
	return rc;
}

/* ----- history ----- */

static int compare_revisions(const void *a, const void *b)
{
	long long left = *(const long long *)a, right = *(const long long *)b;
	return left < right ? -1 : left > right;
}

int rollback_history_pruned(long long **out, size_t *out_count, const rollback_history *history, long history_max)
{
	assert(out && out_count);
	*out = NULL;
	*out_count = 0;
	if (history_max <= 0 || !history || history->count == 0)
		return 0;
	/* Helm's Create calls removeLeastRecent(max - 1) to make room */
	size_t keep = (size_t)(history_max - 1), count = history->count, pruned = 0;
	if (count <= keep)
		return 0;
	long long last_deployed = 0;
	int have_deployed = 0;
	long long *revisions = kube_calloc(count, sizeof(*revisions));
	long long *result = kube_calloc(count, sizeof(*result));
	if (!revisions || !result) {
		kube_free(revisions);
		kube_free(result);
		return KUBE_ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const rollback_record *rec = &history->items[i];
		revisions[i] = rec->revision;
		/* Helm's Deployed() goes by the status label, newest first */
		if (rec->status == ROLLBACK_STATUS_DEPLOYED && (!have_deployed || rec->revision > last_deployed)) {
			last_deployed = rec->revision;
			have_deployed = 1;
		}
	}
	qsort(revisions, count, sizeof(*revisions), compare_revisions);
	for (size_t i = 0; i < count; i++) {
		if (count - pruned == keep)
			break;
		if (have_deployed && revisions[i] == last_deployed)
			continue;
		result[pruned++] = revisions[i];
	}
	kube_free(revisions);
	if (pruned == 0) {
		kube_free(result);
		return 0;
	}
	*out = result;
	*out_count = pruned;
	return 0;
}

static int contains_revision(const long long *revisions, size_t count, long long revision)
{
	for (size_t i = 0; i < count; i++) {
		if (revisions[i] == revision)
			return 1;
	}
	return 0;
}

int rollback_check_history(rollback_findings *out, const rollback_history *history, long history_max,
                           long long target_revision)
{
	long long *pruned = NULL, next = 0;
	size_t count = 0;
	int rc = rollback_history_pruned(&pruned, &count, history, history_max);
	if (rc || count == 0)
		return rc;
	for (size_t i = 0; i < history->count; i++) {
		if (history->items[i].revision >= next)
			next = history->items[i].revision + 1;
	}
	if (contains_revision(pruned, count, target_revision)) {
		/* the smallest --history-max that keeps the target */
		long keeps = history_max + 1;
		for (;; keeps++) {
			long long *again = NULL;
			size_t again_count = 0;
			if ((rc = rollback_history_pruned(&again, &again_count, history, keeps)) != 0)
				break;
			int still = contains_revision(again, again_count, target_revision);
			kube_free(again);
			if (!still)
				break;
		}
		char object[48];
		(void)snprintf(object, sizeof(object), "revision %lld", target_revision);
		if (!rc)
			rc = rollback_findings_add(
			        out, ROLLBACK_SEVERITY_BLOCK, "history-prune", object,
			        "with --history-max %ld Helm prunes revision %lld from history before "
			        "it writes revision %lld, so the target would be gone after the "
			        "rollback; pass --history-max %ld or more (0 for no limit)",
			        history_max, target_revision, next, keeps);
	}
	char list[200] = "", first[48] = "";
	size_t used = 0, others = 0;
	for (size_t i = 0; i < count && !rc; i++) {
		if (pruned[i] == target_revision)
			continue;
		if (others++ == 0)
			(void)snprintf(first, sizeof(first), "revision %lld", pruned[i]);
		if (others > 8 || used >= sizeof(list))
			continue;
		int n = snprintf(list + used, sizeof(list) - used, "%s%lld", others > 1 ? ", " : "", pruned[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	if (!rc && others)
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_INFO, "history-prune", first,
		                           "Helm prunes revision%s %s%s from history before it writes revision %lld "
		                           "(--history-max %ld)",
		                           others > 1 ? "s" : "", list, others > 8 ? " and more" : "", next,
		                           history_max);
	kube_free(pruned);
	return rc;
}
