/* The three-way diff of a rollback's target manifest object, the live
 * object and the current manifest's object, as Helm's patch would apply
 * it, and Kubernetes quantities compared by the amount they mean. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "diff.h"
#include "manifest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How deep the diff follows an object: far beyond any Kubernetes schema,
 * and a bound on the recursion whatever a manifest holds. */
#define DIFF_MAX_DEPTH 64

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
	rollback_api_group(group, sizeof(group), rollback_string_member(target, "apiVersion"));
	d.service = group[0] == '\0' && strcmp(rollback_string_member(target, "kind"), "Service") == 0;
	int rc = json_is_object(target) && json_is_object(live)
	                 ? diff_object(&d, target, live, json_is_object(current) ? current : NULL, NULL, WHERE_ROOT, 0)
	                 : (json_equal(target, live) ? 0 : record(&d, live, target));
	kube_buf_dispose(&d.path);
	return rc;
}

int rollback_diff_path_under(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);
	return strncmp(path, prefix, len) == 0 && (path[len] == '\0' || path[len] == '.' || path[len] == '[');
}

int rollback_diff_touches(const rollback_diff *diff, const char *prefix)
{
	for (size_t i = 0; i < diff->count; i++) {
		if (rollback_diff_path_under(diff->items[i].path, prefix))
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
