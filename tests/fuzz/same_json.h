/* Shared by the YAML fuzz targets. */
#ifndef FUZZ_SAME_JSON_H
#define FUZZ_SAME_JSON_H

#include <jansson.h>

/* json_equal, except that object keys may hold NUL bytes (YAML "\0"),
 * which jansson's json_equal looks up as C strings. */
static inline int fuzz_same_json(json_t *a, json_t *b)
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
			if (!other || !fuzz_same_json(value, other))
				return 0;
		}
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, index, value)
		{
			if (!fuzz_same_json(value, json_array_get(b, index)))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

#endif
