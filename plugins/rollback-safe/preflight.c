/* The preflight checks of a rollback over JSON objects: the three-way
 * diff of target manifest, live object and current manifest, Kubernetes'
 * immutable fields, quantities, data-losing deletions, workloads a no-op
 * rollback leaves broken, rollback hooks and history pruning. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "manifest.h"
#include "preflight.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How deep the diff follows an object: far beyond any Kubernetes schema,
 * and a bound on the recursion whatever a manifest holds. */
#define DIFF_MAX_DEPTH 64
/* How much of a value a message quotes. */
#define VALUE_MAX      64

static void copy_text(char *out, size_t size, const char *text)
{
	size_t len = text ? strlen(text) : 0;
	if (size == 0)
		return;
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(out, text, len);
	out[len] = '\0';
}

static const char *str_member(const json_t *obj, const char *key)
{
	const char *value = json_string_value(json_object_get(obj, key));
	return value ? value : "";
}

static const char *obj_name(const json_t *obj)
{
	return str_member(json_object_get(obj, "metadata"), "name");
}

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
	copy_text(finding->check, sizeof(finding->check), check);
	copy_text(finding->object, sizeof(finding->object), object);
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

/* "Kind/name" of obj. */
static void object_label(char *out, size_t size, const json_t *obj)
{
	(void)snprintf(out, size, "%.127s/%.253s", str_member(obj, "kind"), obj_name(obj));
}

/* ----- quantities ----- */

struct suffix {
	const char *text;
	int base; /* 2 or 10 */
	int power;
};

/* Longest first, so "Ki" is not read as "K"... (there is no "K"; "k" is
 * kilo) and "Mi" not as "M". */
static const struct suffix suffixes[] = {
        {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50},
        {"Ei", 2, 60}, {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},
        {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};

static long double scale(long double value, int base, int power)
{
	for (; power > 0; power--)
		value *= base;
	for (; power < 0; power++)
		value /= base;
	return value;
}

int rollback_quantity_parse(long double *out, const char *text)
{
	const char *c = text;
	long double value = 0;
	int negative = 0, digits = 0, fraction_digits = 0;
	assert(out);
	if (!text)
		return -1;
	if (*c == '+' || *c == '-')
		negative = *c++ == '-';
	for (; *c >= '0' && *c <= '9'; c++, digits++)
		value = value * 10 + (*c - '0');
	if (*c == '.') {
		for (c++; *c >= '0' && *c <= '9'; c++, digits++, fraction_digits++)
			value = value * 10 + (*c - '0');
	}
	if (digits == 0 || digits > 40)
		return -1;
	value = scale(value, 10, -fraction_digits);
	if ((*c == 'e' || *c == 'E') && (c[1] == '+' || c[1] == '-' || (c[1] >= '0' && c[1] <= '9'))) {
		char *end = NULL;
		long exponent = strtol(c + 1, &end, 10);
		if (end == c + 1 || (end == c + 2 && (c[1] == '+' || c[1] == '-')) || *end != '\0' || exponent > 300 ||
		    exponent < -300)
			return -1;
		*out = scale(negative ? -value : value, 10, (int)exponent);
		return 0;
	}
	if (*c != '\0') {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
			if (strcmp(c, suffixes[i].text) == 0)
				break;
		}
		if (i == ARRAY_SIZE(suffixes))
			return -1;
		value = scale(value, suffixes[i].base, suffixes[i].power);
	}
	*out = negative ? -value : value;
	return 0;
}

static int quantity_of(long double *out, const json_t *value)
{
	if (json_is_number(value)) {
		*out = json_number_value(value);
		return 0;
	}
	return json_is_string(value) ? rollback_quantity_parse(out, json_string_value(value)) : -1;
}

static long double absolute(long double value)
{
	return value < 0 ? -value : value;
}

int rollback_quantity_cmp(int *out, const json_t *a, const json_t *b)
{
	long double left, right;
	assert(out);
	if (quantity_of(&left, a) != 0 || quantity_of(&right, b) != 0)
		return -1;
	/* "0.1" and "100m" reach the same amount by different roundings */
	long double magnitude = absolute(left) > absolute(right) ? absolute(left) : absolute(right);
	if (absolute(left - right) <= magnitude * 1e-12L)
		*out = 0;
	else
		*out = left < right ? -1 : 1;
	return 0;
}

/* ----- the diff ----- */

enum where {
	WHERE_ROOT,
	WHERE_METADATA,
	WHERE_OTHER,
};

struct differ {
	rollback_diff *out;
	kube_buf path;
	int service; /* the object is a core Service */
};

static int is_zero(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 1;
	case JSON_INTEGER:
		return json_integer_value(value) == 0;
	case JSON_REAL:
		return json_real_value(value) == 0.0;
	case JSON_STRING:
		return json_string_length(value) == 0;
	case JSON_ARRAY:
		return json_array_size(value) == 0;
	case JSON_OBJECT: {
		const char *key;
		const json_t *member;
		/* jansson has no const iteration; nothing is modified */
		json_object_foreach((json_t *)value, key, member)
		{
			if (!is_zero(member))
				return 0;
		}
		return 1;
	}
	default:
		return 0;
	}
}

static int skipped_key(enum where where, const char *key)
{
	static const char *const root[] = {"apiVersion", "kind", "status"};
	static const char *const metadata[] = {"namespace",         "uid",           "resourceVersion",
	                                       "generation",        "managedFields", "creationTimestamp",
	                                       "deletionTimestamp", "selfLink"};
	const char *const *list = where == WHERE_ROOT ? root : where == WHERE_METADATA ? metadata : NULL;
	size_t count = where == WHERE_ROOT ? ARRAY_SIZE(root) : where == WHERE_METADATA ? ARRAY_SIZE(metadata) : 0;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i], key) == 0)
			return 1;
	}
	return 0;
}

/* The API server fills these in and keeps them when an update leaves them
 * empty (the Service registry's patchAllocatedValues). */
static int service_allocated(const struct differ *d, const char *key)
{
	return d->service && key &&
	       (strcmp(key, "clusterIP") == 0 || strcmp(key, "clusterIPs") == 0 || strcmp(key, "nodePort") == 0 ||
	        strcmp(key, "healthCheckNodePort") == 0);
}

static int quantity_context(const char *key, const char *parent_key)
{
	static const char *const parents[] = {"limits", "requests", "hard", "capacity", "allocatable"};
	if (key && (strcmp(key, "storage") == 0 || strcmp(key, "sizeLimit") == 0))
		return 1;
	for (size_t i = 0; parent_key && i < ARRAY_SIZE(parents); i++) {
		if (strcmp(parent_key, parents[i]) == 0)
			return 1;
	}
	return 0;
}

static int scalar_equal(const json_t *target, const json_t *live, const char *key, const char *parent_key)
{
	int order;
	if (json_equal(target, live))
		return 1;
	if (json_is_number(target) && json_is_number(live))
		return json_number_value(target) == json_number_value(live);
	if ((quantity_context(key, parent_key) || json_is_number(target) != json_is_number(live)) &&
	    rollback_quantity_cmp(&order, target, live) == 0)
		return order == 0;
	return 0;
}

static int record(struct differ *d, const json_t *live, const json_t *target)
{
	rollback_diff *out = d->out;
	if (out->count == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		rollback_change *items = kube_realloc(out->items, cap * sizeof(*items));
		if (!items)
			return KUBE_ENOMEM;
		out->items = items;
		out->cap = cap;
	}
	char *path = kube_strdup(kube_buf_cstr(&d->path));
	if (!path)
		return KUBE_ENOMEM;
	out->items[out->count].path = path;
	out->items[out->count].live = live;
	out->items[out->count].target = target;
	out->count++;
	return 0;
}

static void path_truncate(struct differ *d, size_t len)
{
	if (d->path.ptr) {
		d->path.len = len;
		d->path.ptr[len] = '\0';
	}
}

static int path_key(struct differ *d, const char *key)
{
	if (d->path.len && kube_buf_put(&d->path, ".", 1) != 0)
		return KUBE_ENOMEM;
	return kube_buf_puts(&d->path, key) ? KUBE_ENOMEM : 0;
}

/* The name a list item is known by: its name, else its metadata.name
 * (volumeClaimTemplates), else NULL. */
static const char *item_name(const json_t *item)
{
	const char *name = json_string_value(json_object_get(item, "name"));
	if (!name)
		name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
	return name;
}

/* name -> the first item of that name in list (NULL or not an array: an
 * empty index), so that matching lists by name stays linear however long
 * they are. Returns the index (owned) or NULL when memory runs out. */
static json_t *index_names(const json_t *list)
{
	size_t i;
	const json_t *item;
	json_t *index = json_object();
	json_array_foreach(list, i, item)
	{
		const char *name = json_is_object(item) && index ? item_name(item) : NULL;
		/* the index only takes references: nothing is modified */
		if (name && !json_object_get(index, name) &&
		    json_object_set_nocheck(index, name, (json_t *)item) != 0) {
			json_decref(index);
			return NULL;
		}
	}
	return index;
}

static int diff_value(struct differ *d, const json_t *target, const json_t *live, const json_t *current,
                      const char *key, const char *parent_key, enum where where, int depth);

static int diff_object(struct differ *d, const json_t *target, const json_t *live, const json_t *current,
                       const char *own_key, enum where where, int depth)
{
	const char *key;
	const json_t *member;
	size_t base = d->path.len;
	int rc;
	json_object_foreach((json_t *)target, key, member)
	{
		if (skipped_key(where, key))
			continue;
		enum where child = where == WHERE_ROOT && strcmp(key, "metadata") == 0 ? WHERE_METADATA : WHERE_OTHER;
		if ((rc = path_key(d, key)) != 0)
			return rc;
		rc = diff_value(d, member, json_object_get(live, key), json_object_get(current, key), key, own_key,
		                child, depth + 1);
		path_truncate(d, base);
		if (rc)
			return rc;
	}
	if (!json_is_object(current))
		return 0;
	/* what the current revision set and the target drops, the patch removes */
	json_object_foreach((json_t *)current, key, member)
	{
		const json_t *live_member = json_object_get(live, key);
		if (skipped_key(where, key) || json_object_get(target, key) || is_zero(member) || !live_member ||
		    is_zero(live_member) || service_allocated(d, key))
			continue;
		if ((rc = path_key(d, key)) == 0)
			rc = record(d, live_member, NULL);
		path_truncate(d, base);
		if (rc)
			return rc;
	}
	return 0;
}

static int diff_indexed(struct differ *d, const json_t *target, const json_t *live, const json_t *current,
                        const char *key, const char *parent_key, int depth)
{
	size_t i, base = d->path.len;
	const json_t *item;
	const json_t *current_list = json_array_size(current) == json_array_size(target) ? current : NULL;
	if (json_array_size(target) != json_array_size(live))
		return record(d, live, target);
	json_array_foreach(target, i, item)
	{
		if (kube_buf_printf(&d->path, "[%zu]", i) != 0)
			return KUBE_ENOMEM;
		int rc = diff_value(d, item, json_array_get(live, i), json_array_get(current_list, i), key, parent_key,
		                    WHERE_OTHER, depth + 1);
		path_truncate(d, base);
		if (rc)
			return rc;
	}
	return 0;
}

/* Lists whose target items all have distinct names match item by name,
 * as strategic merge does for containers, env, ports, volumes; the order
 * does not matter and items the apply never managed stay. */
static int diff_array(struct differ *d, const json_t *target, const json_t *live, const json_t *current,
                      const char *key, const char *parent_key, int depth)
{
	size_t i, base = d->path.len;
	const json_t *item;
	int rc = 0;
	json_t *target_names = index_names(target), *live_names = NULL, *current_names = NULL;
	if (!target_names)
		return KUBE_ENOMEM;
	if (json_array_size(target) == 0 || json_object_size(target_names) != json_array_size(target)) {
		json_decref(target_names);
		return diff_indexed(d, target, live, current, key, parent_key, depth);
	}
	if (!(live_names = index_names(live)) || !(current_names = index_names(current))) {
		rc = KUBE_ENOMEM;
		goto done;
	}
	json_array_foreach(target, i, item)
	{
		const char *name = item_name(item);
		const json_t *live_item = json_object_get(live_names, name);
		if (kube_buf_printf(&d->path, "[%s]", name) != 0) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		rc = live_item ? diff_value(d, item, live_item, json_object_get(current_names, name), key, parent_key,
		                            WHERE_OTHER, depth + 1)
		               : record(d, NULL, item);
		path_truncate(d, base);
		if (rc)
			goto done;
	}
	/* what the current revision had and the target drops, the patch removes */
	json_array_foreach(current, i, item)
	{
		const char *name = json_is_object(item) ? item_name(item) : NULL;
		const json_t *live_item =
		        name && !json_object_get(target_names, name) ? json_object_get(live_names, name) : NULL;
		if (!live_item || json_object_get(current_names, name) != item)
			continue; /* not live, or a repeated name reported once */
		if (kube_buf_printf(&d->path, "[%s]", name) != 0) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		rc = record(d, live_item, NULL);
		path_truncate(d, base);
		if (rc)
			goto done;
	}
done:
	json_decref(target_names);
	json_decref(live_names);
	json_decref(current_names);
	return rc;
}

static int diff_value(struct differ *d, const json_t *target, const json_t *live, const json_t *current,
                      const char *key, const char *parent_key, enum where where, int depth)
{
	if (json_is_null(target))
		return 0; /* no opinion */
	if (service_allocated(d, key) && is_zero(target))
		return 0;
	if (!live || json_is_null(live))
		return is_zero(target) ? 0 : record(d, NULL, target);
	if (depth > DIFF_MAX_DEPTH)
		return json_equal(target, live) ? 0 : record(d, live, target);
	switch (json_typeof(target)) {
	case JSON_OBJECT:
		return json_is_object(live) ? diff_object(d, target, live, current, key, where, depth)
		                            : record(d, live, target);
	case JSON_ARRAY:
		return json_is_array(live) ? diff_array(d, target, live, current, key, parent_key, depth)
		                           : record(d, live, target);
	default:
		return scalar_equal(target, live, key, parent_key) ? 0 : record(d, live, target);
	}
}

int rollback_diff_objects(rollback_diff *out, const json_t *target, const json_t *live, const json_t *current)
{
	struct differ d = {out, KUBE_BUF_INIT, 0};
	assert(out && target && live);
	char group[256];
	rollback_api_group(group, sizeof(group), str_member(target, "apiVersion"));
	d.service = group[0] == '\0' && strcmp(str_member(target, "kind"), "Service") == 0;
	int rc = json_is_object(target) && json_is_object(live)
	                 ? diff_object(&d, target, live, json_is_object(current) ? current : NULL, NULL, WHERE_ROOT, 0)
	                 : (json_equal(target, live) ? 0 : record(&d, live, target));
	kube_buf_dispose(&d.path);
	return rc;
}

static int path_under(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);
	return strncmp(path, prefix, len) == 0 && (path[len] == '\0' || path[len] == '.' || path[len] == '[');
}

int rollback_diff_touches(const rollback_diff *diff, const char *prefix)
{
	for (size_t i = 0; i < diff->count; i++) {
		if (path_under(diff->items[i].path, prefix))
			return 1;
	}
	return 0;
}

void rollback_diff_describe(char *out, size_t size, const rollback_diff *diff, size_t max_paths)
{
	size_t used = 0;
	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < diff->count && i < max_paths && used < size; i++) {
		int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "", diff->items[i].path);
		used += n > 0 ? (size_t)n : 0;
	}
	if (diff->count > max_paths && used < size)
		(void)snprintf(out + used, size - used, " and %zu more", diff->count - max_paths);
}

void rollback_diff_dispose(rollback_diff *diff)
{
	if (!diff)
		return;
	for (size_t i = 0; i < diff->count; i++)
		kube_free(diff->items[i].path);
	kube_free(diff->items);
	diff->items = NULL;
	diff->count = diff->cap = 0;
}

/* ----- immutable fields ----- */

/* A value as a message quotes it: compact JSON, cut; "absent" for NULL. */
static void value_text(char *out, size_t size, const json_t *value)
{
	if (!value) {
		copy_text(out, size, "absent");
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
	return path_under(change->path, user);
}

static int under_prefixes(const rollback_change *change, const void *user)
{
	for (const char *const *prefix = user; *prefix; prefix++) {
		if (path_under(change->path, *prefix))
			return 1;
	}
	return 0;
}

/* A spec field other than the ones listed (NULL-ended, as "spec.x"). */
static int spec_field_except(const rollback_change *change, const void *user)
{
	if (strcmp(change->path, "spec") == 0)
		return 1;
	return path_under(change->path, "spec") && !under_prefixes(change, user);
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
	const char *kind = str_member(target, "kind");
	int rc = 0;
	(void)live;
	rollback_api_group(group, sizeof(group), str_member(target, "apiVersion"));
	object_label(object, sizeof(object), target);
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
		if (strcmp(str_member(condition, "type"), "Progressing") == 0 &&
		    strcmp(str_member(condition, "status"), "False") == 0 &&
		    strcmp(str_member(condition, "reason"), "ProgressDeadlineExceeded") == 0)
			return 1;
	}
	return 0;
}

int rollback_workload_unhealthy(char *why, size_t size, const json_t *live)
{
	char group[256];
	const char *kind = str_member(live, "kind");
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	long long desired, ready, unavailable = 0;
	int deadline = 0;
	if (size)
		why[0] = '\0';
	rollback_api_group(group, sizeof(group), str_member(live, "apiVersion"));
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
		int n = snprintf(out + used, size - used, "%s%.63s", i ? ", " : "", obj_name(claim));
		used += n > 0 ? (size_t)n : 0;
	}
}

int rollback_check_delete(rollback_findings *out, char *detail, size_t detail_size, const json_t *obj,
                          const json_t *live, long long target_revision)
{
	char group[256], object[400], claims[160];
	const char *kind = str_member(obj, "kind");
	assert(out && detail && obj);
	copy_text(detail, detail_size, "");
	if (!live) {
		copy_text(detail, detail_size, "already gone from the cluster");
		return ROLLBACK_DELETE_GONE;
	}
	/* Helm reads the policy from the object it fetched before deleting */
	const char *policy = str_member(json_object_get(json_object_get(live, "metadata"), "annotations"),
	                                "helm.sh/resource-policy");
	if (strcmp(policy, "keep") == 0) {
		copy_text(detail, detail_size, "helm.sh/resource-policy: keep");
		return ROLLBACK_DELETE_KEPT;
	}
	rollback_api_group(group, sizeof(group), str_member(obj, "apiVersion"));
	object_label(object, sizeof(object), obj);
	int core = group[0] == '\0', rc;
	if (core && strcmp(kind, "PersistentVolumeClaim") == 0) {
		copy_text(detail, detail_size, "data loss: PersistentVolumeClaim");
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "data-loss", object,
		                           "revision %lld does not have %s: the rollback deletes it, and its volume "
		                           "with the data unless the PersistentVolume's reclaim policy is Retain; "
		                           "annotate it helm.sh/resource-policy=keep to keep it",
		                           target_revision, object);
	} else if (core && strcmp(kind, "PersistentVolume") == 0) {
		copy_text(detail, detail_size, "data loss: PersistentVolume");
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "data-loss", object,
		                           "revision %lld does not have %s: the rollback deletes it, and its storage "
		                           "with it unless its reclaim policy is Retain; annotate it "
		                           "helm.sh/resource-policy=keep to keep it",
		                           target_revision, object);
	} else if (strcmp(group, "apiextensions.k8s.io") == 0 && strcmp(kind, "CustomResourceDefinition") == 0) {
		copy_text(detail, detail_size, "data loss: CustomResourceDefinition and all its objects");
		rc = rollback_findings_add(out, ROLLBACK_SEVERITY_BLOCK, "data-loss", object,
		                           "revision %lld does not have %s: the rollback deletes it and with it every "
		                           "object of that kind in the cluster; annotate it "
		                           "helm.sh/resource-policy=keep to keep it",
		                           target_revision, object);
	} else if ((strcmp(group, "apps") == 0 || strcmp(group, "extensions") == 0) &&
	           strcmp(kind, "StatefulSet") == 0 &&
	           strcmp(str_member(json_object_get(json_object_get(live, "spec"),
	                                             "persistentVolumeClaimRetentionPolicy"),
	                             "whenDeleted"),
	                  "Delete") == 0) {
		claim_template_names(claims, sizeof(claims), live);
		copy_text(detail, detail_size, "data loss: the StatefulSet's PersistentVolumeClaims");
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
	int order = strcmp(str_member(left->hook, "name"), str_member(right->hook, "name"));
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
		(void)snprintf(object, sizeof(object), "%.127s/%.253s", str_member(hook, "kind"),
		               str_member(hook, "name"));
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
