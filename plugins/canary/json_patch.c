/* JSON Patches of D: merge patches translated, test operations, and Go's
 * encoding of them. */
#include <string.h>

#include <kube/error.h>

#include "json_patch.h"

#define ROLLGUARD_PREFIX "rollguard.io/"

int canary_json_pointer_append(kube_buf *pointer, const char *token)
{
	int rc = kube_buf_puts(pointer, "/");
	for (const char *p = token; !rc && *p; p++) {
		if (*p == '~')
			rc = kube_buf_puts(pointer, "~0");
		else if (*p == '/')
			rc = kube_buf_puts(pointer, "~1");
		else
			rc = kube_buf_put(pointer, p, 1);
	}
	return rc;
}

/* Appends {"op": op, "path": path, "value": value}; value (NULL for
 * "remove") is taken, also when this fails. */
static int append_op(json_t *ops, const char *op, const kube_buf *path, json_t *value)
{
	/* "o*" takes value, also when packing fails, and leaves out a NULL */
	json_t *entry = json_pack("{s:s, s:s, s:o*}", "op", op, "path", kube_buf_cstr(path), "value", value);
	if (!entry)
		return KUBE_ENOMEM;
	return json_array_append_new(ops, entry) ? KUBE_ENOMEM : 0;
}

/* value with the null members of its objects dropped, as a merge patch
 * applied to nothing leaves it (RFC 7386: arrays are values, kept whole).
 * New reference; NULL on ENOMEM. */
static json_t *without_nulls(const json_t *value)
{
	if (!json_is_object(value))
		return json_incref((json_t *)value);
	json_t *out = json_object();
	const char *key;
	json_t *member;
	if (!out)
		return NULL;
	json_object_foreach((json_t *)value, key, member)
	{
		if (json_is_null(member))
			continue;
		json_t *copy = without_nulls(member);
		if (!copy || json_object_set_new(out, key, copy)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int from_merge(json_t *ops, const kube_buf *at, const json_t *target, const json_t *merge_patch)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)merge_patch, key, value)
	{
		json_t *have = json_object_get(target, key);
		kube_buf path = KUBE_BUF_INIT;
		int rc = kube_buf_put(&path, at->ptr ? at->ptr : "", at->len);
		if (!rc)
			rc = canary_json_pointer_append(&path, key);
		if (!rc && json_is_null(value)) {
			if (have)
				rc = append_op(ops, "remove", &path, NULL);
		} else if (!rc && json_is_object(value) && json_is_object(have)) {
			rc = from_merge(ops, &path, have, value);
		} else if (!rc) {
			json_t *copy = without_nulls(value);
			rc = copy ? append_op(ops, "add", &path, copy) : KUBE_ENOMEM;
		}
		kube_buf_dispose(&path);
		if (rc)
			return rc;
	}
	return 0;
}

int canary_json_patch_from_merge(json_t *ops, const json_t *target, const json_t *merge_patch)
{
	kube_buf root = KUBE_BUF_INIT;
	return from_merge(ops, &root, target, merge_patch);
}

/* A test that the value at path (path/map/key when map and key are given)
 * is value. */
static int append_test(json_t *ops, const char *path, const char *map, const char *key, json_t *value)
{
	kube_buf pointer = KUBE_BUF_INIT;
	int rc = kube_buf_puts(&pointer, path);
	if (!rc && map)
		rc = canary_json_pointer_append(&pointer, map);
	if (!rc && key)
		rc = canary_json_pointer_append(&pointer, key);
	if (!rc)
		rc = append_op(ops, "test", &pointer, json_incref(value));
	kube_buf_dispose(&pointer);
	return rc;
}

int canary_json_patch_guard(json_t *ops, const json_t *object)
{
	static const char *const maps[] = {"annotations", "labels"};
	json_t *meta = json_object_get(object, "metadata");
	json_t *uid = json_object_get(meta, "uid");
	json_t *spec = json_object_get(object, "spec");
	int rc = 0;
	if (uid)
		rc = append_test(ops, "/metadata/uid", NULL, NULL, uid);
	if (!rc && spec)
		rc = append_test(ops, "/spec", NULL, NULL, spec);
	for (size_t i = 0; !rc && i < sizeof(maps) / sizeof(maps[0]); i++) {
		const char *key;
		json_t *value;
		json_object_foreach(json_object_get(meta, maps[i]), key, value)
		{
			if (!strncmp(key, ROLLGUARD_PREFIX, sizeof(ROLLGUARD_PREFIX) - 1) &&
			    (rc = append_test(ops, "/metadata", maps[i], key, value)))
				break;
		}
	}
	return rc;
}

/* 1 for the bytes canary_json_patch_encode may have to rewrite. */
static int escaped(unsigned char c)
{
	return c == '\\' || c == '<' || c == '>' || c == '&' || c == 0xe2;
}

struct dump_text {
	kube_buf text;
	int failed;
};

/* jansson ignores a failure to write an object's key, so one is kept
 * here. */
static int collect(const char *chunk, size_t size, void *data)
{
	struct dump_text *dump = data;
	if (!dump->failed && kube_buf_put(&dump->text, chunk, size))
		dump->failed = 1;
	return dump->failed ? -1 : 0;
}

int canary_json_patch_encode(kube_buf *out, const json_t *ops)
{
	static const char hex[] = "0123456789abcdef";
	struct dump_text dump = {KUBE_BUF_INIT, 0};
	int rc = json_dump_callback(ops, collect, &dump, JSON_COMPACT) || dump.failed ? KUBE_ENOMEM : 0;
	const unsigned char *s = (const unsigned char *)kube_buf_cstr(&dump.text);
	size_t len = dump.text.len;
	/* '<', '>', '&' and the two line separators occur only inside strings
	 * of a JSON text, so they can be escaped wherever they are */
	for (size_t i = 0; !rc && i < len;) {
		char seq[7] = {'\\', 'u', '0', '0', '0', '0', '\0'};
		if (s[i] == '\\' && i + 5 < len && s[i + 1] == 'u') {
			/* jansson writes \u001F, Go \u001f */
			memcpy(seq + 2, s + i + 2, 4);
			for (int k = 2; k < 6; k++)
				if (seq[k] >= 'A' && seq[k] <= 'F')
					seq[k] = (char)(seq[k] - 'A' + 'a');
			rc = kube_buf_put(out, seq, 6);
			i += 6;
		} else if (s[i] == '\\' && i + 1 < len) {
			rc = kube_buf_put(out, s + i, 2);
			i += 2;
		} else if (s[i] == '<' || s[i] == '>' || s[i] == '&') {
			seq[4] = hex[s[i] >> 4];
			seq[5] = hex[s[i] & 0xf];
			rc = kube_buf_put(out, seq, 6);
			i++;
		} else if (s[i] == 0xe2 && i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			rc = kube_buf_puts(out, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 3;
		} else {
			size_t run = 1;
			while (i + run < len && !escaped(s[i + run]))
				run++;
			rc = kube_buf_put(out, s + i, run);
			i += run;
		}
	}
	kube_buf_dispose(&dump.text);
	return rc;
}
