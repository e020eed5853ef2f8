/* libFuzzer target for the YAML reader and writer: any input either fails
 * cleanly or parses into documents that survive emit and re-parse
 * unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <kube/error.h>
#include <kube/yaml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* json_equal, except that object keys may hold NUL bytes (YAML "\0"),
 * which jansson's json_equal looks up as C strings. */
static int same_json(json_t *a, json_t *b)
{
	const char *key;
	size_t key_len, index;
	json_t *value;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach(a, key, key_len, value)
		{
			json_t *other = json_object_getn(b, key, key_len);
			if (!other || !same_json(value, other))
				return 0;
		}
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, index, value)
		{
			if (!same_json(value, json_array_get(b, index)))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *docs = NULL, *doc;
	size_t index;
	int rc = kube_yaml_parse_all(&docs, (const char *)data, size);
	if (rc) {
		if (rc != KUBE_EINVALID && rc != KUBE_ENOMEM)
			abort();
		return 0;
	}
	json_array_foreach(docs, index, doc)
	{
		kube_buf text = KUBE_BUF_INIT;
		json_t *back = NULL;
		if (kube_yaml_emit(&text, doc) != 0)
			abort();
		if (kube_yaml_parse_one(&back, text.ptr, text.len) != 0 || !same_json(back, doc))
			abort();
		json_decref(back);
		kube_buf_dispose(&text);
	}
	json_decref(docs);
	return 0;
}
