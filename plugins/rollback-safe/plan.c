/* The plan of a rollback: both manifests read, their kinds resolved
 * through discovery, the live objects listed once per type and namespace,
 * and every object's fate and every preflight finding worked out by
 * diff.c and preflight.c. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/discovery.h>
#include <kube/error.h>
#include <kube/log.h>

#include "cli/exit.h"
#include "cli/table.h"
#include "manifest.h"
#include "plan.h"
#include "release.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Paths a patch's detail names before "and N more". */
#define DETAIL_PATHS 4

static const char *const action_names[] = {
        [ROLLBACK_ACTION_CREATE] = "create",       [ROLLBACK_ACTION_PATCH] = "patch",
        [ROLLBACK_ACTION_DELETE] = "delete",       [ROLLBACK_ACTION_KEEP] = "keep",
        [ROLLBACK_ACTION_UNCHANGED] = "unchanged", [ROLLBACK_ACTION_UNHEALTHY] = "unhealthy",
};

const char *rollback_action_name(enum rollback_action action)
{
	return (size_t)action < ARRAY_SIZE(action_names) ? action_names[action] : "unknown";
}

/* One (apiVersion, kind) of the manifests and what discovery said. */
struct kind_entry {
	char api_version[320];
	char kind[128];
	kube_resource res;
	int served;
};

/* One object of a manifest. */
struct entry {
	const json_t *obj; /* borrowed from the parsed manifest */
	size_t kind_index;
	rollback_object_key key;
	size_t list_index;
	const json_t *live; /* borrowed from its list, NULL when absent */
	int duplicate;      /* an earlier object of the manifest has its key */
};

/* One LIST: a resource type in a namespace ("" for cluster-scoped). */
struct live_list {
	kube_resource res;
	char ns[254];
	size_t objects;        /* manifest objects it serves */
	const char *only_name; /* the name when objects == 1 */
	json_t *by_name;       /* name -> live object */
	int missing;           /* the server has no such resource (404) */
};

struct builder {
	rollback_ctx *ctx;
	const char *release_ns;
	long long current_revision, target_revision;
	rollback_findings findings;
	rollback_plan_object *objects;
	size_t object_count, object_cap;
	struct kind_entry *kinds;
	size_t kind_count, kind_cap;
	struct entry *target, *current, *hooks;
	size_t target_count, current_count, hook_count;
	struct live_list *lists;
	size_t list_count, list_cap;
	json_t *target_docs, *current_docs, *hook_docs;
	json_t *target_keys; /* key string -> index into target */
	json_t *current_keys;
	json_t *target_objects;
};

static int grow(void **items, size_t *cap, size_t count, size_t item_size)
{
	if (count < *cap)
		return 0;
	size_t new_cap = *cap ? *cap * 2 : 16;
	void *grown = kube_realloc(*items, new_cap * item_size);
	if (!grown)
		return KUBE_ENOMEM;
	*items = grown;
	*cap = new_cap;
	return 0;
}

/* Reads a manifest; one that cannot be read is a BLOCK finding and *out
 * stays NULL. Returns 0 or an exit code (printed). */
static int read_manifest(struct builder *b, json_t **out, const char *manifest, long long revision,
                         const char *hook_path)
{
	char err[384] = "", object[48];
	int rc = rollback_manifest_objects(out, manifest, b->release_ns, err, sizeof(err));
	if (rc == KUBE_ENOMEM)
		return cli_error_nomem();
	if (rc == 0)
		return 0;
	(void)snprintf(object, sizeof(object), "revision %lld", revision);
	if (hook_path)
		rc = rollback_findings_add(&b->findings, ROLLBACK_SEVERITY_BLOCK, "manifest", object,
		                           "revision %lld's hook %.120s cannot be read: %s", revision, hook_path, err);
	else
		rc = rollback_findings_add(&b->findings, ROLLBACK_SEVERITY_BLOCK, "manifest", object,
		                           "revision %lld's manifest cannot be read: %s", revision, err);
	return rc ? cli_error_nomem() : 0;
}

/* The target's pre- and post-rollback hooks' objects, into b->hook_docs:
 * only those hooks run, so only those Helm builds. */
static int read_hooks(struct builder *b, const json_t *release)
{
	size_t i;
	const json_t *hook;
	if (!(b->hook_docs = json_array()))
		return cli_error_nomem();
	json_array_foreach(rollback_release_hooks(release), i, hook)
	{
		json_t *docs = NULL;
		if (!json_is_object(hook) || !rollback_hook_runs_on_rollback(hook))
			continue;
		int rc = read_manifest(b, &docs, rollback_string_member(hook, "manifest"), b->target_revision,
		                       rollback_string_member(hook, "path")[0] ? rollback_string_member(hook, "path")
		                                                               : rollback_string_member(hook, "name"));
		if (rc)
			return rc;
		if (docs && json_array_extend(b->hook_docs, docs) != 0)
			rc = cli_error_nomem();
		json_decref(docs);
		if (rc)
			return rc;
	}
	return 0;
}

/* The index of obj's (apiVersion, kind) in b->kinds, resolved through
 * discovery the first time. */
static int resolve_kind(struct builder *b, size_t *out, const json_t *obj)
{
	const char *api_version = rollback_string_member(obj, "apiVersion"),
	           *kind = rollback_string_member(obj, "kind");
	for (size_t i = 0; i < b->kind_count; i++) {
		if (strcmp(b->kinds[i].api_version, api_version) == 0 && strcmp(b->kinds[i].kind, kind) == 0) {
			*out = i;
			return 0;
		}
	}
	if (grow((void **)&b->kinds, &b->kind_cap, b->kind_count, sizeof(*b->kinds)) != 0)
		return cli_error_nomem();
	struct kind_entry *entry = &b->kinds[b->kind_count];
	memset(entry, 0, sizeof(*entry));
	rollback_copy_text(entry->api_version, sizeof(entry->api_version), api_version);
	rollback_copy_text(entry->kind, sizeof(entry->kind), kind);
	int rc = kube_discovery_resolve_kind(b->ctx->client, &entry->res, api_version, kind);
	if (rc != 0 && rc != KUBE_ENOTFOUND) {
		char what[512];
		(void)snprintf(what, sizeof(what), "resolving %.300s %.127s", api_version, kind);
		return cli_error_kube(what, rc);
	}
	entry->served = rc == 0;
	kube_log(KUBE_LOG_DECISION, "rollback plan: %s %s %s", api_version, kind,
	         entry->served ? "is served" : "is not served");
	*out = b->kind_count++;
	return 0;
}

/* Entries for docs, with their kinds resolved. */
static int make_entries(struct builder *b, struct entry **out, size_t *out_count, const json_t *docs)
{
	size_t i, count = json_array_size(docs);
	const json_t *obj;
	*out = NULL;
	*out_count = 0;
	if (count == 0)
		return 0;
	struct entry *entries = kube_calloc(count, sizeof(*entries));
	if (!entries)
		return cli_error_nomem();
	*out = entries;
	json_array_foreach(docs, i, obj)
	{
		struct entry *entry = &entries[i];
		int rc = resolve_kind(b, &entry->kind_index, obj);
		if (rc)
			return rc;
		*out_count = i + 1;
		entry->obj = obj;
		const struct kind_entry *kind = &b->kinds[entry->kind_index];
		rollback_object_key_of(&entry->key, obj,
		                       kind->res.namespaced ? rollback_object_ns(obj, b->release_ns) : "");
	}
	return 0;
}

/* A BLOCK finding for each entry whose kind the cluster does not serve.
 * role: "" for the target, "current" or "hook". */
static int report_unserved(struct builder *b, const struct entry *entries, size_t count, long long revision,
                           const char *role)
{
	for (size_t i = 0; i < count; i++) {
		const struct kind_entry *kind = &b->kinds[entries[i].kind_index];
		char label[400];
		if (kind->served)
			continue;
		rollback_object_label(label, sizeof(label), entries[i].obj);
		const char *hint = strcmp(role, "current") == 0
		                           ? "Helm cannot build the current revision either; helm mapkubeapis rewrites "
		                             "it to served versions"
		                           : "Helm cannot build it; roll back to a revision that uses a served version";
		if (rollback_findings_add(
		            &b->findings, ROLLBACK_SEVERITY_BLOCK, "removed-api", label,
		            "%s%s in revision %lld uses %.200s %.127s, which the cluster no longer serves: "
		            "%s",
		            strcmp(role, "hook") == 0 ? "hook " : "", label, revision, kind->api_version, kind->kind,
		            hint) != 0)
			return KUBE_ENOMEM;
	}
	return 0;
}

/* key string -> index, marking later objects with an earlier one's key. */
static int index_keys(json_t **out, struct entry *entries, size_t count)
{
	json_t *map = json_object();
	if (!map)
		return KUBE_ENOMEM;
	*out = map;
	for (size_t i = 0; i < count; i++) {
		char *key = rollback_object_key_string(&entries[i].key);
		if (!key)
			return KUBE_ENOMEM;
		int rc = 0;
		if (json_object_get(map, key))
			entries[i].duplicate = 1;
		else
			rc = json_object_set_new_nocheck(map, key, json_integer((json_int_t)i));
		kube_free(key);
		if (rc)
			return KUBE_ENOMEM;
	}
	return 0;
}

static struct entry *find_entry(json_t *keys, struct entry *entries, const rollback_object_key *key)
{
	char *text = rollback_object_key_string(key);
	const json_t *index = text ? json_object_get(keys, text) : NULL;
	kube_free(text);
	return index ? &entries[json_integer_value(index)] : NULL;
}

/* Assigns each served entry to the LIST of its type and namespace. */
static int assign_lists(struct builder *b, struct entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct entry *entry = &entries[i];
		const struct kind_entry *kind = &b->kinds[entry->kind_index];
		size_t j;
		if (!kind->served || entry->duplicate)
			continue;
		for (j = 0; j < b->list_count; j++) {
			const struct live_list *list = &b->lists[j];
			if (strcmp(list->res.group, kind->res.group) == 0 &&
			    strcmp(list->res.version, kind->res.version) == 0 &&
			    strcmp(list->res.resource, kind->res.resource) == 0 && strcmp(list->ns, entry->key.ns) == 0)
				break;
		}
		if (j == b->list_count) {
			if (grow((void **)&b->lists, &b->list_cap, b->list_count, sizeof(*b->lists)) != 0)
				return KUBE_ENOMEM;
			memset(&b->lists[j], 0, sizeof(b->lists[j]));
			b->lists[j].res = kind->res;
			rollback_copy_text(b->lists[j].ns, sizeof(b->lists[j].ns), entry->key.ns);
			b->list_count++;
		}
		struct live_list *list = &b->lists[j];
		/* the same object in both manifests needs no second selector */
		if (list->objects == 0 || strcmp(list->only_name, entry->key.name) != 0)
			list->objects++;
		if (list->objects == 1)
			list->only_name = entry->key.name;
		entry->list_index = j;
	}
	return 0;
}

/* Kubernetes' fields.EscapeValue. */
static int put_selector_value(kube_buf *buf, const char *value)
{
	int rc = 0;
	for (const char *c = value; *c && !rc; c++) {
		if (*c == '\\' || *c == ',' || *c == '=')
			rc = kube_buf_put(buf, "\\", 1);
		if (!rc)
			rc = kube_buf_put(buf, c, 1);
	}
	return rc;
}

static int fetch_list(struct builder *b, struct live_list *list)
{
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	kube_buf selector = KUBE_BUF_INIT;
	json_t *result = NULL;
	size_t i;
	json_t *item;
	int rc = 0;
	opts.limit = 500;
	if (list->objects == 1) {
		rc = kube_buf_puts(&selector, "metadata.name=");
		if (!rc)
			rc = put_selector_value(&selector, list->only_name);
		opts.field_selector = kube_buf_cstr(&selector);
	} else if (list->res.group[0] == '\0' && strcmp(list->res.resource, "secrets") == 0) {
		/* Helm's own release records can be a megabyte each */
		opts.field_selector = "type!=helm.sh/release.v1";
	}
	if (rc) {
		rc = cli_error_nomem();
		goto done;
	}
	rc = kube_client_list(b->ctx->client, &result, &list->res, list->res.namespaced ? list->ns : NULL, &opts);
	if (rc == KUBE_ENOTFOUND) {
		/* discovery came from a cache older than the API's removal */
		kube_log(KUBE_LOG_DECISION, "rollback plan: %s/%s %s is not served (404); forgetting discovery",
		         list->res.group, list->res.version, list->res.resource);
		list->missing = 1;
		(void)kube_discovery_invalidate(b->ctx->client);
		rc = 0;
		goto done;
	}
	if (rc) {
		char what[512];
		if (list->res.namespaced)
			(void)snprintf(what, sizeof(what), "listing %.127s in namespace %.253s", list->res.resource,
			               list->ns);
		else
			(void)snprintf(what, sizeof(what), "listing %.127s", list->res.resource);
		rc = cli_error_kube(what, rc);
		goto done;
	}
	char api_version[330];
	if (list->res.group[0])
		(void)snprintf(api_version, sizeof(api_version), "%.255s/%.63s", list->res.group, list->res.version);
	else
		rollback_copy_text(api_version, sizeof(api_version), list->res.version);
	if (!(list->by_name = json_object())) {
		rc = cli_error_nomem();
		goto done;
	}
	json_array_foreach(json_object_get(result, "items"), i, item)
	{
		const char *name = rollback_object_name(item);
		if (!json_is_object(item) || !name[0])
			continue;
		/* a typed list's items carry no apiVersion and kind */
		if ((!json_object_get(item, "apiVersion") &&
		     json_object_set_new(item, "apiVersion", json_string(api_version)) != 0) ||
		    (!json_object_get(item, "kind") &&
		     json_object_set_new(item, "kind", json_string(list->res.kind)) != 0) ||
		    json_object_set_nocheck(list->by_name, name, item) != 0) {
			rc = cli_error_nomem();
			goto done;
		}
	}
	kube_log(KUBE_LOG_DECISION, "rollback plan: %zu %s live in %s", json_object_size(list->by_name),
	         list->res.resource, list->ns[0] ? list->ns : "the cluster");
done:
	json_decref(result);
	kube_buf_dispose(&selector);
	return rc;
}

/* Kinds whose LIST the server answered 404 are not served after all. */
static void forget_missing(struct builder *b)
{
	for (size_t i = 0; i < b->list_count; i++) {
		const kube_resource *res = &b->lists[i].res;
		if (!b->lists[i].missing)
			continue;
		for (size_t j = 0; j < b->kind_count; j++) {
			kube_resource *kind = &b->kinds[j].res;
			if (b->kinds[j].served && strcmp(kind->group, res->group) == 0 &&
			    strcmp(kind->version, res->version) == 0 && strcmp(kind->resource, res->resource) == 0)
				b->kinds[j].served = 0;
		}
	}
}

static void attach_live(struct builder *b, struct entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct entry *entry = &entries[i];
		if (b->kinds[entry->kind_index].served && !entry->duplicate)
			entry->live = json_object_get(b->lists[entry->list_index].by_name, entry->key.name);
	}
}

static int add_object(struct builder *b, const struct entry *entry, enum rollback_action action, const char *detail)
{
	if (grow((void **)&b->objects, &b->object_cap, b->object_count, sizeof(*b->objects)) != 0)
		return KUBE_ENOMEM;
	rollback_plan_object *object = &b->objects[b->object_count++];
	memset(object, 0, sizeof(*object));
	rollback_copy_text(object->api_version, sizeof(object->api_version),
	                   rollback_string_member(entry->obj, "apiVersion"));
	rollback_copy_text(object->kind, sizeof(object->kind), entry->key.kind);
	rollback_copy_text(object->ns, sizeof(object->ns), entry->key.ns);
	rollback_copy_text(object->name, sizeof(object->name), entry->key.name);
	object->action = action;
	rollback_copy_text(object->detail, sizeof(object->detail), detail);
	return 0;
}

static int is_workload(const json_t *obj)
{
	char group[256];
	const char *kind = rollback_string_member(obj, "kind");
	rollback_api_group(group, sizeof(group), rollback_string_member(obj, "apiVersion"));
	return (strcmp(group, "apps") == 0 || strcmp(group, "extensions") == 0) &&
	       (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0);
}

/* What the apply does to a target object that exists live. */
static int plan_existing(struct builder *b, const struct entry *entry, const struct entry *in_current)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	char detail[512] = "", why[128], paths[400], label[400];
	enum rollback_action action;
	/* the three-way removal only makes sense between the same versions */
	const json_t *current_obj = in_current && strcmp(rollback_string_member(in_current->obj, "apiVersion"),
	                                                 rollback_string_member(entry->obj, "apiVersion")) == 0
	                                    ? in_current->obj
	                                    : NULL;
	int rc = rollback_diff_objects(&diff, entry->obj, entry->live, current_obj);
	if (!rc)
		rc = rollback_check_immutable(&b->findings, entry->obj, entry->live, &diff);
	if (!rc && !in_current && b->current_docs) {
		rollback_object_label(label, sizeof(label), entry->obj);
		/* Helm 3 fails half-way here: a block when it is the helm that
		 * will run; a warning when the plan does not know. */
		rc = rollback_findings_add(&b->findings,
		                           b->ctx->helm_major == 3 ? ROLLBACK_SEVERITY_BLOCK : ROLLBACK_SEVERITY_WARN,
		                           "adopt", label,
		                           "%s exists in the cluster but not in revision %lld's manifest: Helm 3 stops "
		                           "the rollback with 'no %.127s with the name \"%.253s\" found'; Helm 4 "
		                           "patches it from its live state",
		                           label, b->current_revision, entry->key.kind, entry->key.name);
	}
	if (rc) {
		rollback_diff_dispose(&diff);
		return rc;
	}
	rollback_diff_describe(paths, sizeof(paths), &diff, DETAIL_PATHS);
	if (is_workload(entry->obj) && !rollback_diff_touches(&diff, "spec.template") &&
	    rollback_workload_unhealthy(why, sizeof(why), entry->live)) {
		action = ROLLBACK_ACTION_UNHEALTHY;
		(void)snprintf(detail, sizeof(detail),
		               "%.100s: the pod template does not change, so the rollback restarts nothing "
		               "(helm/helm#9633)%s%.290s",
		               why, diff.count ? "; patches " : "", paths);
	} else if (diff.count == 0) {
		action = ROLLBACK_ACTION_UNCHANGED;
	} else {
		action = ROLLBACK_ACTION_PATCH;
		rollback_copy_text(detail, sizeof(detail), paths);
	}
	rollback_diff_dispose(&diff);
	return add_object(b, entry, action, detail);
}

static int plan_target(struct builder *b)
{
	for (size_t i = 0; i < b->target_count; i++) {
		const struct entry *entry = &b->target[i];
		int rc = 0;
		if (!b->kinds[entry->kind_index].served)
			continue;
		if (entry->duplicate) {
			char label[400];
			rollback_object_label(label, sizeof(label), entry->obj);
			if (rollback_findings_add(
			            &b->findings, ROLLBACK_SEVERITY_WARN, "manifest", label,
			            "%s appears more than once in revision %lld's manifest; the plan uses "
			            "the first",
			            label, b->target_revision) != 0)
				return KUBE_ENOMEM;
			continue;
		}
		const struct entry *in_current =
		        b->current_keys ? find_entry(b->current_keys, b->current, &entry->key) : NULL;
		if (!entry->live)
			rc = add_object(b, entry, ROLLBACK_ACTION_CREATE, "");
		else
			rc = plan_existing(b, entry, in_current);
		if (rc)
			return rc;
	}
	return 0;
}

static int plan_deletions(struct builder *b)
{
	for (size_t i = 0; i < b->current_count; i++) {
		const struct entry *entry = &b->current[i];
		char detail[512];
		if (!b->kinds[entry->kind_index].served || entry->duplicate ||
		    find_entry(b->target_keys, b->target, &entry->key))
			continue;
		int verdict = rollback_check_delete(&b->findings, detail, sizeof(detail), entry->obj, entry->live,
		                                    b->target_revision);
		if (verdict < 0)
			return verdict;
		if (add_object(b, entry,
		               verdict == ROLLBACK_DELETE_KEPT ? ROLLBACK_ACTION_KEEP : ROLLBACK_ACTION_DELETE,
		               detail) != 0)
			return KUBE_ENOMEM;
	}
	return 0;
}

/* The target's served objects, namespaced as the apply places them. */
static int make_target_objects(struct builder *b)
{
	if (!(b->target_objects = json_array()))
		return KUBE_ENOMEM;
	for (size_t i = 0; i < b->target_count; i++) {
		const struct entry *entry = &b->target[i];
		const struct kind_entry *kind = &b->kinds[entry->kind_index];
		if (!kind->served || entry->duplicate)
			continue;
		json_t *copy = json_deep_copy(entry->obj);
		json_t *metadata = json_object_get(copy, "metadata");
		int rc = !copy || !json_is_object(metadata);
		if (!rc)
			rc = kind->res.namespaced
			             ? json_object_set_new(metadata, "namespace", json_string(entry->key.ns))
			             : (json_object_del(metadata, "namespace"), 0);
		if (!rc)
			rc = json_array_append_new(b->target_objects, copy);
		else
			json_decref(copy);
		if (rc)
			return KUBE_ENOMEM;
	}
	return 0;
}

static int build(struct builder *b, const rollback_record *current, const rollback_record *target,
                 const rollback_history *history, long history_max)
{
	int rc;
	if ((rc = read_manifest(b, &b->target_docs, rollback_release_manifest(target->release), b->target_revision,
	                        NULL)) != 0 ||
	    (rc = read_manifest(b, &b->current_docs, rollback_release_manifest(current->release), b->current_revision,
	                        NULL)) != 0 ||
	    (!b->ctx->no_hooks && (rc = read_hooks(b, target->release)) != 0))
		return rc;
	if ((rc = make_entries(b, &b->target, &b->target_count, b->target_docs)) != 0 ||
	    (rc = make_entries(b, &b->current, &b->current_count, b->current_docs)) != 0 ||
	    (rc = make_entries(b, &b->hooks, &b->hook_count, b->hook_docs)) != 0)
		return rc;
	if (index_keys(&b->target_keys, b->target, b->target_count) != 0 ||
	    (b->current_docs && index_keys(&b->current_keys, b->current, b->current_count) != 0) ||
	    assign_lists(b, b->target, b->target_count) != 0 || assign_lists(b, b->current, b->current_count) != 0)
		return cli_error_nomem();
	for (size_t i = 0; i < b->list_count; i++) {
		if ((rc = fetch_list(b, &b->lists[i])) != 0)
			return rc;
	}
	forget_missing(b);
	if (report_unserved(b, b->target, b->target_count, b->target_revision, "") != 0 ||
	    report_unserved(b, b->current, b->current_count, b->current_revision, "current") != 0 ||
	    report_unserved(b, b->hooks, b->hook_count, b->target_revision, "hook") != 0)
		return cli_error_nomem();
	attach_live(b, b->target, b->target_count);
	attach_live(b, b->current, b->current_count);
	if (make_target_objects(b) != 0)
		return cli_error_nomem();
	/* without the target's manifest there is nothing to plan against */
	if (b->target_docs && (plan_target(b) != 0 || (b->current_docs && plan_deletions(b) != 0)))
		return cli_error_nomem();
	if ((!b->ctx->no_hooks && rollback_check_hooks(&b->findings, rollback_release_hooks(target->release)) != 0) ||
	    rollback_check_history(&b->findings, history, history_max, b->target_revision) != 0)
		return cli_error_nomem();
	return 0;
}

int rollback_plan_build(rollback_ctx *ctx, rollback_plan *out, const rollback_record *current,
                        const rollback_record *target, const rollback_history *history, long history_max)
{
	struct builder b;
	assert(ctx && ctx->client && out && current && target && current->release && target->release);
	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.ctx = ctx;
	b.release_ns = ctx->ns && ctx->ns[0] ? ctx->ns : rollback_release_namespace(target->release);
	if (!b.release_ns[0])
		b.release_ns = "default";
	b.current_revision = out->current_revision = current->revision;
	b.target_revision = out->target_revision = target->revision;
	int rc = build(&b, current, target, history, history_max);
	out->objects = b.objects;
	out->object_count = b.object_count;
	out->findings = b.findings.items;
	out->finding_count = b.findings.count;
	out->target_objects = b.target_objects;
	for (size_t i = 0; i < b.list_count; i++)
		json_decref(b.lists[i].by_name);
	kube_free(b.lists);
	kube_free(b.kinds);
	kube_free(b.target);
	kube_free(b.current);
	kube_free(b.hooks);
	json_decref(b.target_keys);
	json_decref(b.current_keys);
	json_decref(b.target_docs);
	json_decref(b.current_docs);
	json_decref(b.hook_docs);
	return rc;
}

int rollback_plan_blocked(const rollback_plan *plan)
{
	for (size_t i = 0; i < plan->finding_count; i++) {
		if (plan->findings[i].severity == ROLLBACK_SEVERITY_BLOCK)
			return 1;
	}
	return 0;
}

json_t *rollback_plan_objects_json(const rollback_plan *plan)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < plan->object_count; i++) {
		const rollback_plan_object *object = &plan->objects[i];
		json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "apiVersion", object->api_version, "kind",
		                         object->kind, "namespace", object->ns, "name", object->name, "action",
		                         rollback_action_name(object->action), "detail", object->detail);
		if (!item || json_array_append_new(array, item) != 0) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

json_t *rollback_plan_findings_json(const rollback_plan *plan)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < plan->finding_count; i++) {
		const rollback_finding *finding = &plan->findings[i];
		json_t *item =
		        json_pack("{s:s, s:s, s:s, s:s}", "severity", rollback_severity_name(finding->severity),
		                  "check", finding->check, "object", finding->object, "message", finding->message);
		if (!item || json_array_append_new(array, item) != 0) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

void rollback_plan_print(const rollback_plan *plan, FILE *stream, int wide)
{
	static const cli_column columns[] = {
	        {"ACTION", 0}, {"KIND", 0}, {"NAME", 0}, {"NAMESPACE", CLI_COLUMN_WIDE}, {"DETAIL", 0},
	};
	if (plan->object_count == 0) {
		(void)fprintf(stream, "No objects to roll back to in revision %lld.\n", plan->target_revision);
	} else {
		cli_table *table = cli_table_new(columns, ARRAY_SIZE(columns));
		for (size_t i = 0; table && i < plan->object_count; i++) {
			const rollback_plan_object *object = &plan->objects[i];
			const char *cells[] = {rollback_action_name(object->action), object->kind, object->name,
			                       object->ns, object->detail};
			if (cli_table_add_row(table, cells) != 0)
				break;
		}
		if (table)
			cli_table_print(table, stream, wide);
		cli_table_free(table);
	}
	if (plan->finding_count)
		(void)fputc('\n', stream);
	for (size_t i = 0; i < plan->finding_count; i++) {
		const rollback_finding *finding = &plan->findings[i];
		const char *severity = finding->severity == ROLLBACK_SEVERITY_BLOCK  ? "BLOCK"
		                       : finding->severity == ROLLBACK_SEVERITY_WARN ? "WARN"
		                                                                     : "INFO";
		(void)fprintf(stream, "%s %s %s: %s\n", severity, finding->check, finding->object, finding->message);
	}
}

void rollback_plan_dispose(rollback_plan *plan)
{
	if (!plan)
		return;
	kube_free(plan->objects);
	kube_free(plan->findings);
	json_decref(plan->target_objects);
	memset(plan, 0, sizeof(*plan));
}
