/* Label selectors of Services and PDBs, hashed by namespace and one label pair. */
#include <stdint.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "selector.h"

enum selector_op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST };

typedef struct selector_expression {
	const char *key;
	enum selector_op op;
	const char **values;
	size_t value_count;
} selector_expression;

/* Entries and slots are kept small: an index holds every Service and PDB
 * of the input until the end. */
struct probecheck_selector_entry {
	const char *name;
	probecheck_label *labels; /* matchLabels (or a Service's selector) */
	selector_expression *expressions;
	probecheck_selector_entry *next; /* in the same bucket */
	uint32_t label_count;
	uint32_t expression_count;
};

struct probecheck_selector_slot {
	/* "ns\0k\0v", or "ns\0" for namespace-wide entries, after its length
	 * in two bytes (keys are packed in KEY_MAX bytes) */
	const unsigned char *key;
	probecheck_selector_entry *head;
};

#define KEY_MAX 1024

static size_t key_length(const unsigned char *key)
{
	return (size_t)key[0] << 8 | key[1];
}

static uint32_t hash_bytes(const char *data, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Packs ns, key, value into buf: "ns\0key\0value" (or "ns\0" when key is
 * NULL). Returns the length, or 0 when it does not fit. */
static size_t pack_key(char *buf, size_t size, const char *ns, const char *key, const char *value)
{
	size_t ns_len = strlen(ns), len = ns_len + 1;
	if (len > size)
		return 0;
	memcpy(buf, ns, ns_len + 1);
	if (key) {
		size_t k = strlen(key), v = strlen(value);
		if (len + k + 1 + v + 1 > size)
			return 0;
		memcpy(buf + len, key, k + 1);
		memcpy(buf + len + k + 1, value, v + 1); /* the NUL is not part of the key's length */
		len += k + 1 + v;
	}
	return len;
}

static struct probecheck_selector_slot *find_slot(const probecheck_selector_index *index, const char *key,
                                                  size_t key_len, uint32_t hash)
{
	if (!index->slot_count)
		return NULL;
	size_t mask = index->slot_count - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct probecheck_selector_slot *slot = &index->slots[i];
		if (!slot->key || (key_length(slot->key) == key_len && memcmp(slot->key + 2, key, key_len) == 0))
			return slot;
	}
}

static int grow(probecheck_selector_index *index)
{
	size_t count = index->slot_count ? index->slot_count * 2 : 64;
	struct probecheck_selector_slot *slots = kube_calloc(count, sizeof(*slots));
	if (!slots)
		return KUBE_ENOMEM;
	struct probecheck_selector_slot *old = index->slots;
	size_t old_count = index->slot_count;
	index->slots = slots;
	index->slot_count = count;
	for (size_t i = 0; i < old_count; i++) {
		if (!old[i].key)
			continue;
		const char *key = (const char *)old[i].key + 2;
		size_t len = key_length(old[i].key);
		*find_slot(index, key, len, hash_bytes(key, len)) = old[i];
	}
	kube_free(old);
	return 0;
}

static int file_entry(probecheck_selector_index *index, const char *ns, probecheck_selector_entry *entry)
{
	char key[KEY_MAX];
	size_t len = entry->label_count ? pack_key(key, sizeof(key), ns, entry->labels[0].key, entry->labels[0].value)
	                                : pack_key(key, sizeof(key), ns, NULL, NULL);
	if (!len) /* absurdly long labels: file it namespace-wide, where it is always checked */
		len = pack_key(key, sizeof(key), ns, NULL, NULL);
	if (!len)
		return KUBE_EINVALID;
	if ((index->used + 1) * 2 > index->slot_count) {
		int rc = grow(index);
		if (rc)
			return rc;
	}
	struct probecheck_selector_slot *slot = find_slot(index, key, len, hash_bytes(key, len));
	if (!slot->key) {
		unsigned char *copy = probecheck_arena_bytes(index->arena, len + 2);
		if (!copy)
			return KUBE_ENOMEM;
		copy[0] = (unsigned char)(len >> 8);
		copy[1] = (unsigned char)len;
		memcpy(copy + 2, key, len);
		slot->key = copy;
		index->used++;
	}
	entry->next = slot->head;
	slot->head = entry;
	index->entries++;
	return 0;
}

static int copy_labels(probecheck_selector_index *index, probecheck_selector_entry *entry, const json_t *map)
{
	size_t count = json_object_size(map), i = 0;
	const char *key;
	const json_t *value;
	if (!count)
		return 0;
	if (count > UINT32_MAX)
		return KUBE_EINVALID;
	entry->labels = probecheck_arena_alloc(index->arena, count * sizeof(*entry->labels));
	if (!entry->labels)
		return KUBE_ENOMEM;
	json_object_foreach((json_t *)map, key, value)
	{
		if (!json_is_string(value))
			return KUBE_EINVALID;
		entry->labels[i].key = probecheck_arena_strdup(index->arena, key);
		entry->labels[i].value = probecheck_arena_strdup(index->arena, json_string_value(value));
		if (!entry->labels[i].key || !entry->labels[i].value)
			return KUBE_ENOMEM;
		i++;
	}
	entry->label_count = (uint32_t)count;
	return 0;
}

static probecheck_selector_entry *new_entry(probecheck_selector_index *index, const char *name)
{
	probecheck_selector_entry *entry = probecheck_arena_alloc(index->arena, sizeof(*entry));
	if (!entry)
		return NULL;
	memset(entry, 0, sizeof(*entry));
	entry->name = probecheck_arena_strdup(index->arena, name);
	return entry->name ? entry : NULL;
}

int probecheck_selector_add_map(probecheck_selector_index *index, const char *ns, const char *name,
                                const json_t *selector)
{
	if (!json_is_object(selector) || json_object_size(selector) == 0)
		return 0;
	probecheck_selector_entry *entry = new_entry(index, name);
	if (!entry)
		return KUBE_ENOMEM;
	int rc = copy_labels(index, entry, selector);
	return rc ? rc : file_entry(index, ns, entry);
}

static int parse_expression(probecheck_selector_index *index, selector_expression *out, const json_t *expr)
{
	static const struct {
		const char *name;
		enum selector_op op;
	} ops[] = {{"In", OP_IN}, {"NotIn", OP_NOT_IN}, {"Exists", OP_EXISTS}, {"DoesNotExist", OP_DOES_NOT_EXIST}};
	const char *key = json_is_object(expr) ? json_string_value(json_object_get(expr, "key")) : NULL;
	const char *op = json_is_object(expr) ? json_string_value(json_object_get(expr, "operator")) : NULL;
	const json_t *values = json_is_object(expr) ? json_object_get(expr, "values") : NULL;
	size_t i;
	if (!key || !op || (values && !json_is_null(values) && !json_is_array(values)))
		return KUBE_EINVALID;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].name) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return KUBE_EINVALID;
	out->op = ops[i].op;
	out->key = probecheck_arena_strdup(index->arena, key);
	out->value_count = json_is_array(values) ? json_array_size(values) : 0;
	out->values = out->value_count ? probecheck_arena_alloc(index->arena, out->value_count * sizeof(char *)) : NULL;
	if (!out->key || (out->value_count && !out->values))
		return KUBE_ENOMEM;
	for (i = 0; i < out->value_count; i++) {
		const char *value = json_string_value(json_array_get(values, i));
		if (!value)
			return KUBE_EINVALID;
		if (!(out->values[i] = probecheck_arena_strdup(index->arena, value)))
			return KUBE_ENOMEM;
	}
	return 0;
}

int probecheck_selector_add_label_selector(probecheck_selector_index *index, const char *ns, const char *name,
                                           const json_t *selector)
{
	if (!json_is_object(selector))
		return selector && !json_is_null(selector) ? KUBE_EINVALID : 0;
	const json_t *labels = json_object_get(selector, "matchLabels");
	const json_t *expressions = json_object_get(selector, "matchExpressions");
	if ((labels && !json_is_null(labels) && !json_is_object(labels)) ||
	    (expressions && !json_is_null(expressions) && !json_is_array(expressions)))
		return KUBE_EINVALID;
	probecheck_selector_entry *entry = new_entry(index, name);
	if (!entry)
		return KUBE_ENOMEM;
	int rc = json_is_object(labels) ? copy_labels(index, entry, labels) : 0;
	if (rc)
		return rc;
	size_t count = json_is_array(expressions) ? json_array_size(expressions) : 0;
	if (count > UINT32_MAX)
		return KUBE_EINVALID;
	if (count) {
		entry->expressions = probecheck_arena_alloc(index->arena, count * sizeof(*entry->expressions));
		if (!entry->expressions)
			return KUBE_ENOMEM;
		for (size_t i = 0; i < count; i++)
			if ((rc = parse_expression(index, &entry->expressions[i], json_array_get(expressions, i))))
				return rc;
		entry->expression_count = (uint32_t)count;
	}
	return file_entry(index, ns, entry);
}

static const char *label_value(const probecheck_label *labels, size_t count, const char *key)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

static int entry_matches(const probecheck_selector_entry *entry, const probecheck_label *labels, size_t count)
{
	for (size_t i = 0; i < entry->label_count; i++) {
		const char *value = label_value(labels, count, entry->labels[i].key);
		if (!value || strcmp(value, entry->labels[i].value) != 0)
			return 0;
	}
	for (size_t i = 0; i < entry->expression_count; i++) {
		const selector_expression *expr = &entry->expressions[i];
		const char *value = label_value(labels, count, expr->key);
		int in = 0;
		for (size_t v = 0; value && v < expr->value_count; v++)
			in |= strcmp(value, expr->values[v]) == 0;
		switch (expr->op) {
		case OP_IN:
			if (!in)
				return 0;
			break;
		case OP_NOT_IN:
			if (in)
				return 0;
			break;
		case OP_EXISTS:
			if (!value)
				return 0;
			break;
		case OP_DOES_NOT_EXIST:
			if (value)
				return 0;
			break;
		}
	}
	return 1;
}

static const char *match_bucket(const probecheck_selector_index *index, const char *key, size_t len,
                                const probecheck_label *labels, size_t count)
{
	const struct probecheck_selector_slot *slot = find_slot(index, key, len, hash_bytes(key, len));
	for (const probecheck_selector_entry *e = slot ? slot->head : NULL; e; e = e->next)
		if (entry_matches(e, labels, count))
			return e->name;
	return NULL;
}

const char *probecheck_selector_match(const probecheck_selector_index *index, const char *ns,
                                      const probecheck_label *labels, size_t label_count)
{
	char key[KEY_MAX];
	size_t len;
	const char *found;
	if (!index->entries)
		return NULL;
	for (size_t i = 0; i < label_count; i++) {
		len = pack_key(key, sizeof(key), ns, labels[i].key, labels[i].value);
		if (len && (found = match_bucket(index, key, len, labels, label_count)))
			return found;
	}
	len = pack_key(key, sizeof(key), ns, NULL, NULL);
	return len ? match_bucket(index, key, len, labels, label_count) : NULL;
}

void probecheck_selector_dispose(probecheck_selector_index *index)
{
	kube_free(index->slots);
	index->slots = NULL;
	index->slot_count = index->used = index->entries = 0;
}
