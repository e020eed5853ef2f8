/* The canary's pod template: its revision hash, and --image and --set-env
 * applied to a copy of D's template. */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "template.h"
#include "text.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME  16777619u

/* The alphabet of Kubernetes' rand.SafeEncodeString (no vowels, no
 * look-alikes), which names pod-template-hash values. */
static const char hash_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* Where in the template a value sits: the labels rollguard adds are not
 * part of the template's identity. */
enum where {
	WHERE_ROOT,
	WHERE_METADATA,
	WHERE_LABELS,
	WHERE_OTHER,
};

struct member {
	const char *key;
	size_t key_len;
	const json_t *value;
};

static void fnv_bytes(uint32_t *hash, const void *data, size_t len)
{
	const unsigned char *byte = data;
	for (size_t i = 0; i < len; i++) {
		*hash ^= byte[i];
		*hash *= FNV32_PRIME;
	}
}

/* 64-bit little-endian, so the hash is the same on every machine. */
static void fnv_u64(uint32_t *hash, uint64_t value)
{
	unsigned char bytes[8];
	for (int i = 0; i < 8; i++)
		bytes[i] = (unsigned char)(value >> (8 * i));
	fnv_bytes(hash, bytes, sizeof(bytes));
}

/* Length-prefixed, so that {"ab":"c"} and {"a":"bc"} differ. */
static void fnv_string(uint32_t *hash, const char *text, size_t len)
{
	fnv_u64(hash, len);
	fnv_bytes(hash, text, len);
}

static void fnv_tag(uint32_t *hash, char tag)
{
	fnv_bytes(hash, &tag, 1);
}

static int compare_members(const void *a, const void *b)
{
	const struct member *left = a, *right = b;
	size_t common = left->key_len < right->key_len ? left->key_len : right->key_len;
	int order = memcmp(left->key, right->key, common);
	if (order)
		return order;
	return (left->key_len > right->key_len) - (left->key_len < right->key_len);
}

static int is_rollguard_label(const char *key, size_t len)
{
	return (len == strlen(CANARY_LABEL_TRACK) && memcmp(key, CANARY_LABEL_TRACK, len) == 0) ||
	       (len == strlen(CANARY_LABEL_REVISION) && memcmp(key, CANARY_LABEL_REVISION, len) == 0);
}

static int hash_value(uint32_t *hash, const json_t *value, enum where where);

/* Members in byte order of their keys: jansson keeps insertion order,
 * which depends on who wrote the object. */
static int hash_object(uint32_t *hash, const json_t *object, enum where where)
{
	size_t count = 0;
	struct member *members = kube_calloc(json_object_size(object) + 1, sizeof(*members));
	if (!members)
		return KUBE_ENOMEM;
	/* Iteration does not modify the object; jansson has no const iterator. */
	json_t *mutable_object = (json_t *)object;
	for (void *iter = json_object_iter(mutable_object); iter; iter = json_object_iter_next(mutable_object, iter)) {
		const char *key = json_object_iter_key(iter);
		size_t key_len = json_object_iter_key_len(iter);
		if (where == WHERE_LABELS && is_rollguard_label(key, key_len))
			continue;
		members[count].key = key;
		members[count].key_len = key_len;
		members[count].value = json_object_iter_value(iter);
		count++;
	}
	qsort(members, count, sizeof(*members), compare_members);
	fnv_tag(hash, 'o');
	fnv_u64(hash, count);
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		enum where child = WHERE_OTHER;
		if (where == WHERE_ROOT && members[i].key_len == 8 && memcmp(members[i].key, "metadata", 8) == 0)
			child = WHERE_METADATA;
		else if (where == WHERE_METADATA && members[i].key_len == 6 && memcmp(members[i].key, "labels", 6) == 0)
			child = WHERE_LABELS;
		fnv_string(hash, members[i].key, members[i].key_len);
		rc = hash_value(hash, members[i].value, child);
	}
	kube_free(members);
	return rc;
}

static int hash_value(uint32_t *hash, const json_t *value, enum where where)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return hash_object(hash, value, where);
	case JSON_ARRAY: {
		size_t i;
		const json_t *item;
		fnv_tag(hash, 'a');
		fnv_u64(hash, json_array_size(value));
		json_array_foreach(value, i, item)
		{
			int rc = hash_value(hash, item, WHERE_OTHER);
			if (rc)
				return rc;
		}
		return 0;
	}
	case JSON_STRING:
		fnv_tag(hash, 's');
		fnv_string(hash, json_string_value(value), json_string_length(value));
		return 0;
	case JSON_INTEGER:
		fnv_tag(hash, 'i');
		fnv_u64(hash, (uint64_t)json_integer_value(value));
		return 0;
	case JSON_REAL: {
		/* The bits, not printf's text, which depends on the locale. */
		double real = json_real_value(value);
		uint64_t bits;
		memcpy(&bits, &real, sizeof(bits));
		fnv_tag(hash, 'r');
		fnv_u64(hash, bits);
		return 0;
	}
	case JSON_TRUE:
		fnv_tag(hash, 't');
		return 0;
	case JSON_FALSE:
		fnv_tag(hash, 'f');
		return 0;
	case JSON_NULL:
	default:
		fnv_tag(hash, 'n');
		return 0;
	}
}

int canary_template_hash(char *out, const json_t *pod_template)
{
	uint32_t hash = FNV32_OFFSET;
	char digits[11];
	assert(out && pod_template);
	out[0] = '\0';
	int rc = hash_value(&hash, pod_template, WHERE_ROOT);
	if (rc)
		return rc;
	/* As Kubernetes names a template: SafeEncodeString of the decimal
	 * hash, here zero-padded to always give 10 characters. */
	(void)snprintf(digits, sizeof(digits), "%010lu", (unsigned long)hash);
	for (int i = 0; i < 10; i++)
		out[i] = hash_alphabet[(unsigned char)digits[i] % (sizeof(hash_alphabet) - 1)];
	out[10] = '\0';
	return 0;
}

/* --- changes ----------------------------------------------------------- */

#define QUOTE_MAX 64

static json_t *pod_spec_list(const json_t *pod_template, const char *key)
{
	json_t *list = json_object_get(json_object_get(pod_template, "spec"), key);
	return json_is_array(list) ? list : NULL;
}

static const char *container_name(const json_t *container)
{
	const char *name = json_string_value(json_object_get(container, "name"));
	return name ? name : "";
}

static int name_is(const json_t *object, const char *name, size_t len)
{
	const json_t *value = json_object_get(object, "name");
	return json_is_string(value) && json_string_length(value) == len &&
	       memcmp(json_string_value(value), name, len) == 0;
}

/* Appends "app, sidecar" to buf (size bytes, already holding a string). */
static void append_names(char *buf, size_t size, const json_t *list)
{
	size_t i;
	const json_t *item;
	char quoted[QUOTE_MAX + 4];
	json_array_foreach(list, i, item)
	{
		size_t used = strlen(buf);
		const char *name = container_name(item);
		(void)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		               canary_quote(quoted, QUOTE_MAX, name, strlen(name)));
	}
}

/* An image reference is printable ASCII without blanks (registry, path,
 * tag, digest); anything else is a typo or a shell quoting accident. */
static int image_ok(const char *image)
{
	for (const char *c = image; *c; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return 0;
	}
	return 1;
}

int canary_template_set_image(json_t *pod_template, const char *spec, const char *what, char *err, size_t err_size)
{
	const char *equals, *image;
	json_t *containers, *init_containers, *target = NULL;
	char quoted[QUOTE_MAX + 4], names[512];
	size_t name_len = 0;
	assert(pod_template && spec);
	if (!what)
		what = "the pod template";
	equals = strchr(spec, '=');
	image = equals ? equals + 1 : spec;
	if (equals && (name_len = (size_t)(equals - spec)) == 0) {
		canary_set_err(err, err_size, "--image \"%s\": empty container name before \"=\"",
		               canary_quote(quoted, QUOTE_MAX, spec, strlen(spec)));
		return -1;
	}
	if (!*image) {
		canary_set_err(err, err_size, "--image \"%s\": empty image",
		               canary_quote(quoted, QUOTE_MAX, spec, strlen(spec)));
		return -1;
	}
	if (!image_ok(image)) {
		canary_set_err(err, err_size, "--image \"%s\": not an image reference (blanks or non-ASCII characters)",
		               canary_quote(quoted, QUOTE_MAX, image, strlen(image)));
		return -1;
	}
	containers = pod_spec_list(pod_template, "containers");
	init_containers = pod_spec_list(pod_template, "initContainers");
	if (json_array_size(containers) == 0) {
		canary_set_err(err, err_size, "%s has no containers", what);
		return -1;
	}
	if (!equals) {
		if (json_array_size(containers) != 1) {
			names[0] = '\0';
			append_names(names, sizeof(names), containers);
			canary_set_err(err, err_size, "%s has %zu containers (%s): name one as CONTAINER=IMAGE", what,
			               json_array_size(containers), names);
			return -1;
		}
		target = json_array_get(containers, 0);
	} else {
		size_t i;
		json_t *item;
		/* Names are unique across containers and init containers. */
		json_array_foreach(containers, i, item)
		{
			if (!target && name_is(item, spec, name_len))
				target = item;
		}
		json_array_foreach(init_containers, i, item)
		{
			if (!target && name_is(item, spec, name_len))
				target = item;
		}
		if (!target) {
			(void)snprintf(names, sizeof(names), "containers: ");
			append_names(names, sizeof(names), containers);
			if (json_array_size(init_containers) > 0) {
				size_t used = strlen(names);
				(void)snprintf(names + used, sizeof(names) - used, "; init containers: ");
				append_names(names, sizeof(names), init_containers);
			}
			canary_set_err(err, err_size, "container \"%s\" not found in %s (%s)",
			               canary_quote(quoted, QUOTE_MAX, spec, name_len), what, names);
			return -1;
		}
	}
	if (!json_is_object(target)) {
		canary_set_err(err, err_size, "%s: a container is not an object", what);
		return -1;
	}
	if (json_object_set_new(target, "image", json_string(image)) != 0) {
		canary_set_err(err, err_size, "--image: out of memory");
		return -1;
	}
	return 0;
}

/* Kubernetes' rule for environment variable names (a C identifier that
 * may also hold '-' and '.'): [-._a-zA-Z][-._a-zA-Z0-9]*. */
static int env_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
		int digit = c >= '0' && c <= '9';
		if (!letter && !(digit && i > 0))
			return 0;
	}
	return 1;
}

/* A fresh {"name": name, "value": value}; NULL when memory runs out. */
static json_t *env_var(const char *name, size_t name_len, const char *value, size_t value_len)
{
	json_t *var = json_object();
	if (!var || json_object_set_new(var, "name", json_stringn(name, name_len)) ||
	    json_object_set_new(var, "value", json_stringn(value, value_len))) {
		json_decref(var);
		return NULL;
	}
	return var;
}

/* Applies the change to one container's env as `kubectl set env` does:
 * the first variable of that name is replaced where it stands, later ones
 * of that name are dropped, a new one goes at the end; value NULL removes
 * them all. */
static int update_env(json_t *container, const char *name, size_t name_len, const char *value, size_t value_len)
{
	json_t *env = json_object_get(container, "env"), *var;
	size_t first = SIZE_MAX, removed = 0;
	if (json_is_null(env))
		env = NULL;
	for (size_t i = 0; i < json_array_size(env);) {
		if (!name_is(json_array_get(env, i), name, name_len)) {
			i++;
		} else if (value && first == SIZE_MAX) {
			first = i++;
		} else {
			json_array_remove(env, i);
			removed++;
		}
	}
	if (!value) {
		/* The API server leaves an empty list out; so do we. */
		if (removed && json_array_size(env) == 0)
			json_object_del(container, "env");
		return 0;
	}
	if (!(var = env_var(name, name_len, value, value_len)))
		return KUBE_ENOMEM;
	if (first != SIZE_MAX)
		return json_array_set_new(env, first, var) ? KUBE_ENOMEM : 0;
	if (!env) {
		env = json_array();
		if (!env || json_object_set_new(container, "env", env)) {
			json_decref(var);
			return KUBE_ENOMEM;
		}
	}
	return json_array_append_new(env, var) ? KUBE_ENOMEM : 0;
}

int canary_template_set_env(json_t *pod_template, const char *spec, char *err, size_t err_size)
{
	const char *equals = strchr(spec, '=');
	size_t spec_len = strlen(spec), name_len;
	json_t *lists[2], *item;
	const char *value = NULL;
	char quoted[QUOTE_MAX + 4];
	size_t i, value_len = 0;
	int rc = 0, containers = 0;
	assert(pod_template && spec);
	if (equals) {
		name_len = (size_t)(equals - spec);
	} else if (spec_len > 0 && spec[spec_len - 1] == '-') {
		name_len = spec_len - 1;
	} else {
		canary_set_err(err, err_size, "--set-env \"%s\": want NAME=VALUE, or NAME- to remove a variable",
		               canary_quote(quoted, QUOTE_MAX, spec, spec_len));
		return -1;
	}
	if (!env_name_ok(spec, name_len)) {
		canary_set_err(err, err_size,
		               "--set-env: \"%s\" is not a valid variable name (letters, digits, '_', '-' and '.', "
		               "not starting with a digit)",
		               canary_quote(quoted, QUOTE_MAX, spec, name_len));
		return -1;
	}
	if (equals) {
		value = equals + 1;
		value_len = spec_len - name_len - 1;
		json_t *checked = json_stringn(value, value_len);
		if (!checked) {
			/* jansson refuses invalid UTF-8 and a lack of memory
			 * alike; an unchecked copy tells them apart. */
			json_t *raw = json_stringn_nocheck(value, value_len);
			if (raw)
				canary_set_err(err, err_size, "--set-env %s: the value is not UTF-8 text",
				               canary_quote(quoted, QUOTE_MAX, spec, name_len));
			else
				canary_set_err(err, err_size, "--set-env %s: out of memory",
				               canary_quote(quoted, QUOTE_MAX, spec, name_len));
			json_decref(raw);
			return -1;
		}
		json_decref(checked);
	}
	lists[0] = pod_spec_list(pod_template, "containers");
	lists[1] = pod_spec_list(pod_template, "initContainers");
	/* Check every container first so a refusal changes nothing. */
	for (int l = 0; l < 2; l++) {
		json_array_foreach(lists[l], i, item)
		{
			const json_t *env = json_object_get(item, "env");
			if (!json_is_object(item)) {
				canary_set_err(err, err_size,
				               "--set-env: the pod template has a container that is not an object");
				return -1;
			}
			if (env && !json_is_array(env) && !json_is_null(env)) {
				canary_set_err(err, err_size,
				               "--set-env: container \"%s\" has an env that is not a list",
				               canary_quote(quoted, QUOTE_MAX, container_name(item),
				                            strlen(container_name(item))));
				return -1;
			}
			containers++;
		}
	}
	if (containers == 0) {
		canary_set_err(err, err_size, "--set-env: the pod template has no containers");
		return -1;
	}
	/* kubectl set env changes init containers too. */
	for (int l = 0; l < 2 && rc == 0; l++) {
		json_array_foreach(lists[l], i, item)
		{
			if ((rc = update_env(item, spec, name_len, value, value_len)) != 0)
				break;
		}
	}
	if (rc) {
		canary_set_err(err, err_size, "--set-env %s: out of memory",
		               canary_quote(quoted, QUOTE_MAX, spec, name_len));
		return -1;
	}
	return 0;
}
