/* The YAML reader: libyaml events to jansson values with the typing rules
 * of Kubernetes' own reader (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1). */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include <kube/yaml.h>

#include "internal.h"
#include "yaml_resolve.h"

/* Nesting limit, alias expansion included. It bounds the recursion here
 * and in jansson (json_decref, json_equal) and the emitter. */
#define MAX_DEPTH 1000

/* go-yaml v2's alias-bomb guard (decode.go allowedAliasRatio): aliases
 * may produce 99% of the decoded nodes of a small document, scaling down
 * to 10% between 400,000 and 4,000,000 decoded nodes. */
#define ALIAS_RATIO_LOW  400000.0
#define ALIAS_RATIO_HIGH 4000000.0

#define MERGE_TAG "tag:yaml.org,2002:merge"

struct loader {
	yaml_parser_t parser;
	int parser_ready;
	yaml_event_t event; /* the current event, while have_event */
	int have_event;
	const char *data; /* the input, or rewritten */
	size_t len;
	char *rewritten;     /* JSON input with surrogate pairs rewritten, or NULL */
	json_t *anchors;     /* anchor name -> value, for the current document */
	size_t decode_count; /* nodes decoded in this document, alias copies included */
	size_t alias_count;  /* of which came from alias expansion */
};

static int load_node(struct loader *ld, int depth, json_t **out);

static int enomem(void)
{
	return kube_error_set(KUBE_ENOMEM, "out of memory");
}

static int mark_line(const yaml_mark_t *mark)
{
	return mark->line >= INT_MAX - 1 ? INT_MAX : (int)mark->line + 1;
}

static int parser_error(const struct loader *ld)
{
	const yaml_parser_t *parser = &ld->parser;
	size_t line = parser->problem_mark.line + 1;
	if (parser->error == YAML_MEMORY_ERROR)
		return enomem();
	if (parser->error == YAML_READER_ERROR) {
		/* reader errors (bad encoding) carry a byte offset, not a mark */
		line = 1;
		for (size_t i = 0; i < parser->problem_offset && i < ld->len; i++)
			line += ld->data[i] == '\n';
	}
	return kube_error_set(KUBE_EINVALID, "line %zu: %s", line,
	                      parser->problem ? parser->problem : "unknown problem parsing YAML");
}

static int next_event(struct loader *ld)
{
	if (ld->have_event)
		yaml_event_delete(&ld->event);
	ld->have_event = 0;
	if (!yaml_parser_parse(&ld->parser, &ld->event))
		return parser_error(ld);
	ld->have_event = 1;
	return 0;
}

static int too_deep(int line)
{
	(void)kube_error_set(KUBE_EINVALID, "line %d: document nested more than %d levels deep", line, MAX_DEPTH);
	return KUBE_EINVALID;
}

static int set_anchor(struct loader *ld, const char *name, json_t *value)
{
	if (name && json_object_set(ld->anchors, name, value))
		return enomem();
	return 0;
}

/* Counts value's nodes and levels. */
static void measure(json_t *value, size_t *nodes, int *depth)
{
	const char *key;
	json_t *child;
	size_t index;
	int deepest = 0, child_depth;
	*nodes += 1;
	if (json_is_array(value)) {
		json_array_foreach(value, index, child)
		{
			measure(child, nodes, &child_depth);
			deepest = child_depth > deepest ? child_depth : deepest;
		}
	} else if (json_is_object(value)) {
		json_object_foreach(value, key, child)
		{
			measure(child, nodes, &child_depth);
			deepest = child_depth > deepest ? child_depth : deepest;
		}
	}
	*depth = deepest + 1;
}

/* json_deep_copy that reports allocation failure from any level (older
 * janssons drop members silently). */
static json_t *copy_value(json_t *value)
{
	const char *key;
	size_t index, key_len;
	json_t *copy, *child;
	if (json_is_array(value)) {
		if (!(copy = json_array()))
			return NULL;
		json_array_foreach(value, index, child)
		{
			if (json_array_append_new(copy, copy_value(child)))
				goto fail;
		}
		return copy;
	}
	if (json_is_object(value)) {
		if (!(copy = json_object()))
			return NULL;
		json_object_keylen_foreach(value, key, key_len, child)
		{
			if (json_object_setn_new_nocheck(copy, key, key_len, copy_value(child)))
				goto fail;
		}
		return copy;
	}
	return json_deep_copy(value);
fail:
	json_decref(copy);
	return NULL;
}

static int excessive_aliasing(const struct loader *ld)
{
	double decoded = (double)ld->decode_count, allowed;
	if (ld->alias_count <= 100 || ld->decode_count <= 1000)
		return 0;
	if (decoded <= ALIAS_RATIO_LOW)
		allowed = 0.99;
	else if (decoded >= ALIAS_RATIO_HIGH)
		allowed = 0.10;
	else
		allowed = 0.99 - 0.89 * (decoded - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW);
	return (double)ld->alias_count / decoded > allowed;
}

/* An alias is a copy of the anchored value, so that changing one place of
 * the result never changes another. */
static int load_alias(struct loader *ld, int depth, json_t **out)
{
	const char *name = (const char *)ld->event.data.alias.anchor;
	int line = mark_line(&ld->event.start_mark);
	json_t *target = json_object_get(ld->anchors, name);
	size_t nodes = 0;
	int target_depth = 0;
	if (!target)
		return kube_error_set(KUBE_EINVALID, "line %d: unknown anchor '%s' referenced", line, name);
	measure(target, &nodes, &target_depth);
	if (depth + target_depth > MAX_DEPTH)
		return too_deep(line);
	ld->decode_count += nodes;
	ld->alias_count += nodes;
	if (excessive_aliasing(ld))
		return kube_error_set(KUBE_EINVALID, "line %d: document contains excessive aliasing", line);
	*out = copy_value(target);
	return *out ? 0 : enomem();
}

/* A scalar typed as go-yaml decodes it into interface{}. A key may be
 * .inf/.nan (sigs.k8s.io/yaml spells such keys ".inf"); a value cannot,
 * as JSON has no such numbers. */
static int load_scalar(struct loader *ld, int as_key, json_t **out)
{
	const yaml_event_t *event = &ld->event;
	const char *text = (const char *)event->data.scalar.value;
	const char *tag = (const char *)event->data.scalar.tag;
	size_t len = event->data.scalar.length;
	int line = mark_line(&event->start_mark);
	struct kube_yaml_scalar scalar = {.kind = KUBE_YAML_STR};
	char problem[128], spelled[32];
	json_t *value;
	int rc;

	/* untagged quoted, literal and folded scalars are strings */
	if (tag || event->data.scalar.plain_implicit) {
		rc = kube_yaml_resolve(&scalar, tag, text, len, problem, sizeof(problem));
		if (rc == KUBE_EINVALID)
			return kube_error_set(rc, "line %d: %s", line, problem);
		if (rc)
			return rc;
	}
	if (scalar.kind == KUBE_YAML_INT && !scalar.integer_too_big) {
		value = json_integer(scalar.integer);
	} else if (scalar.kind == KUBE_YAML_INT || scalar.kind == KUBE_YAML_FLOAT) {
		if (isfinite(scalar.real)) {
			value = json_real(scalar.real);
		} else if (as_key) {
			kube_yaml_format_float(spelled, sizeof(spelled), scalar.real, 64);
			value = json_string(spelled);
		} else {
			return kube_error_set(KUBE_EINVALID, "line %d: %.*s cannot be represented in JSON", line,
			                      (int)(len > 40 ? 40 : len), text);
		}
	} else if (scalar.kind == KUBE_YAML_NULL) {
		value = json_null();
	} else if (scalar.kind == KUBE_YAML_BOOL) {
		value = json_boolean(scalar.boolean);
	} else {
		value = json_stringn(text, len);
	}
	if (!value)
		return enomem();
	ld->decode_count++;
	if ((rc = set_anchor(ld, (const char *)event->data.scalar.anchor, value))) {
		json_decref(value);
		return rc;
	}
	*out = value;
	return 0;
}

static int load_sequence(struct loader *ld, int depth, json_t **out)
{
	const char *anchor_name = (const char *)ld->event.data.sequence_start.anchor;
	char *anchor = NULL;
	json_t *array = json_array(), *item;
	int rc = 0;
	if (!array || (anchor_name && !(anchor = kube_strdup(anchor_name)))) {
		rc = enomem();
		goto done;
	}
	ld->decode_count++;
	for (;;) {
		if ((rc = next_event(ld)))
			goto done;
		if (ld->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		if ((rc = load_node(ld, depth + 1, &item)))
			goto done;
		if (json_array_append_new(array, item)) {
			rc = enomem();
			goto done;
		}
	}
	if ((rc = set_anchor(ld, anchor, array)))
		goto done;
	*out = array;
	array = NULL;
done:
	kube_free(anchor);
	json_decref(array);
	return rc;
}

/* go-yaml's isMerge: a plain (or !!merge-tagged) "<<" key. */
static int is_merge_key(const yaml_event_t *event)
{
	const char *tag = (const char *)event->data.scalar.tag;
	return event->type == YAML_SCALAR_EVENT && event->data.scalar.length == 2 &&
	       memcmp(event->data.scalar.value, "<<", 2) == 0 &&
	       (event->data.scalar.plain_implicit || (tag && strcmp(tag, MERGE_TAG) == 0));
}

/* A key as sigs.k8s.io/yaml turns it into a JSON key: strings as they are,
 * ints in decimal, floats as Go's FormatFloat(f, 'g', -1, 32), booleans as
 * true/false; null and collections are rejected. */
static int key_string(json_t **out, json_t *key, int line)
{
	char text[64];
	switch (json_typeof(key)) {
	case JSON_STRING:
		*out = json_incref(key);
		return 0;
	case JSON_INTEGER:
		(void)snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
		break;
	case JSON_REAL:
		kube_yaml_format_float(text, sizeof(text), json_real_value(key), 32);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		(void)snprintf(text, sizeof(text), "%s", json_is_true(key) ? "true" : "false");
		break;
	case JSON_NULL:
		return kube_error_set(KUBE_EINVALID, "line %d: unsupported map key: null", line);
	default:
		return kube_error_set(KUBE_EINVALID, "line %d: invalid map key: a %s", line,
		                      json_is_array(key) ? "sequence" : "mapping");
	}
	*out = json_string(text);
	return *out ? 0 : enomem();
}

static int load_key(struct loader *ld, int depth, json_t **out)
{
	int line = mark_line(&ld->event.start_mark);
	json_t *key = NULL;
	int rc;
	if (ld->event.type == YAML_SEQUENCE_START_EVENT || ld->event.type == YAML_MAPPING_START_EVENT)
		return kube_error_set(KUBE_EINVALID, "line %d: invalid map key: a %s", line,
		                      ld->event.type == YAML_SEQUENCE_START_EVENT ? "sequence" : "mapping");
	/* a scalar, or an alias (to anything: key_string rejects collections) */
	rc = ld->event.type == YAML_SCALAR_EVENT ? load_scalar(ld, 1, &key) : load_node(ld, depth, &key);
	if (!rc) {
		assert(key);
		rc = key_string(out, key, line);
	}
	json_decref(key);
	return rc;
}

/* Copies src's members into dst: all of them, or only keys dst lacks. */
static int copy_members(json_t *dst, json_t *src, int overwrite)
{
	const char *key;
	size_t key_len;
	json_t *value;
	json_object_keylen_foreach(src, key, key_len, value)
	{
		if (!overwrite && json_object_getn(dst, key, key_len))
			continue;
		if (json_object_setn_nocheck(dst, key, key_len, value))
			return enomem();
	}
	return 0;
}

/* A "<<" entry: a mapping, or a sequence of mappings where earlier ones
 * win. A later "<<" in the same mapping overrides an earlier one, as in
 * go-yaml; the mapping's own keys override all merged ones (merged keys
 * never count as duplicates). */
static int merge_into(json_t **merged, json_t *value, int line)
{
	json_t *contribution = NULL, *source;
	size_t index;
	int rc = 0;
	if (json_is_array(value)) {
		json_array_foreach(value, index, source)
		{
			if (!json_is_object(source))
				goto want_map;
		}
	} else if (!json_is_object(value)) {
		goto want_map;
	}
	if ((!*merged && !(*merged = json_object())) || !(contribution = json_object()))
		return enomem();
	if (json_is_object(value)) {
		rc = copy_members(contribution, value, 0);
	} else {
		json_array_foreach(value, index, source)
		{
			if ((rc = copy_members(contribution, source, 0)))
				break;
		}
	}
	if (!rc)
		rc = copy_members(*merged, contribution, 1);
	json_decref(contribution);
	return rc;
want_map:
	return kube_error_set(KUBE_EINVALID, "line %d: map merge requires map or sequence of maps as the value", line);
}

/* kubectl rejects duplicate keys (go-yaml's strict mode: "key already set
 * in map"); keys compare after conversion to strings. */
static int set_member(json_t *object, json_t *key, json_t *value, int line)
{
	const char *name = json_string_value(key);
	size_t len = json_string_length(key);
	if (json_object_getn(object, name, len))
		return kube_error_set(KUBE_EINVALID, "line %d: duplicate key \"%s\"", line, name);
	return json_object_setn_nocheck(object, name, len, value) ? enomem() : 0;
}

static int load_mapping(struct loader *ld, int depth, json_t **out)
{
	const char *anchor_name = (const char *)ld->event.data.mapping_start.anchor;
	char *anchor = NULL;
	json_t *object = json_object(), *merged = NULL, *key = NULL, *value = NULL;
	int rc = 0, line, merge;
	if (!object || (anchor_name && !(anchor = kube_strdup(anchor_name)))) {
		rc = enomem();
		goto done;
	}
	ld->decode_count++;
	for (;;) {
		if ((rc = next_event(ld)))
			goto done;
		if (ld->event.type == YAML_MAPPING_END_EVENT)
			break;
		line = mark_line(&ld->event.start_mark);
		merge = is_merge_key(&ld->event);
		if (!merge && (rc = load_key(ld, depth + 1, &key)))
			goto done;
		if ((rc = next_event(ld)) || (rc = load_node(ld, depth + 1, &value)))
			goto done;
		rc = merge ? merge_into(&merged, value, line) : set_member(object, key, value, line);
		json_decref(key);
		json_decref(value);
		key = value = NULL;
		if (rc)
			goto done;
	}
	if ((merged && (rc = copy_members(object, merged, 0))) || (rc = set_anchor(ld, anchor, object)))
		goto done;
	*out = object;
	object = NULL;
done:
	kube_free(anchor);
	json_decref(object);
	json_decref(merged);
	json_decref(key);
	json_decref(value);
	return rc;
}

/* Loads the node whose first event is current; on return the current
 * event is the node's last. */
static int load_node(struct loader *ld, int depth, json_t **out)
{
	int line = mark_line(&ld->event.start_mark);
	if (depth > MAX_DEPTH)
		return too_deep(line);
	switch (ld->event.type) {
	case YAML_SCALAR_EVENT:
		return load_scalar(ld, 0, out);
	case YAML_ALIAS_EVENT:
		return load_alias(ld, depth, out);
	case YAML_SEQUENCE_START_EVENT:
		return load_sequence(ld, depth, out);
	case YAML_MAPPING_START_EVENT:
		return load_mapping(ld, depth, out);
	default:
		return kube_error_set(KUBE_EINVALID, "line %d: unexpected YAML event %d", line, (int)ld->event.type);
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code unit of a "\\uXXXX" escape at text, or -1. */
static long unicode_escape(const char *text, size_t len)
{
	long unit = 0;
	if (len < 6 || text[0] != '\\' || text[1] != 'u')
		return -1;
	for (size_t i = 2; i < 6; i++) {
		int digit = hex_value(text[i]);
		if (digit < 0)
			return -1;
		unit = unit * 16 + digit;
	}
	return unit;
}

/* libyaml rejects the UTF-16 surrogate pairs JSON writes for characters
 * beyond U+FFFF ("\\ud83d\\ude00"), which kubectl reads with encoding/json.
 * For input that is JSON (starts with '{' or '['), rewrites each pair in a
 * string as YAML's "\\U0001f600" and a lone surrogate as "\\ufffd", as
 * encoding/json decodes it; lines stay where they were. Sets *out to the
 * rewritten copy, or NULL when there is nothing to rewrite. */
static int rewrite_json_surrogates(char **out, size_t *out_len, const char *data, size_t len)
{
	size_t start = 0, n = 0;
	int in_string = 0, surrogates = 0;
	char *copy;
	*out = NULL;
	while (start < len && data[start] && strchr(" \t\r\n", data[start]))
		start++;
	if (start == len || (data[start] != '{' && data[start] != '['))
		return 0;
	for (size_t i = 0; i + 2 < len && !surrogates; i++)
		surrogates = data[i] == '\\' && data[i + 1] == 'u' && (data[i + 2] | 0x20) == 'd';
	if (!surrogates)
		return 0;
	if (!(copy = kube_malloc(len + 1)))
		return enomem();
	for (size_t i = 0; i < len;) {
		long high = in_string ? unicode_escape(data + i, len - i) : -1;
		if (high >= 0xd800 && high <= 0xdfff) {
			long low = high < 0xdc00 ? unicode_escape(data + i + 6, len - i - 6) : -1;
			if (low >= 0xdc00 && low <= 0xdfff) {
				(void)snprintf(copy + n, 11, "\\U%08lx",
				               0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00));
				n += 10;
				i += 12;
			} else {
				memcpy(copy + n, "\\ufffd", 6);
				n += 6;
				i += 6;
			}
			continue;
		}
		if (data[i] == '"')
			in_string = !in_string;
		if (data[i] == '\\' && in_string && i + 1 < len)
			copy[n++] = data[i++];
		copy[n++] = data[i++];
	}
	copy[n] = '\0';
	*out = copy;
	*out_len = n;
	return 0;
}

static int loader_init(struct loader *ld, const char *data, size_t len)
{
	int rc;
	memset(ld, 0, sizeof(*ld));
	ld->data = data ? data : "";
	ld->len = data ? len : 0;
	if ((rc = rewrite_json_surrogates(&ld->rewritten, &ld->len, ld->data, ld->len)))
		return rc;
	if (ld->rewritten)
		ld->data = ld->rewritten;
	if (!(ld->anchors = json_object()))
		return enomem();
	if (!yaml_parser_initialize(&ld->parser))
		return enomem();
	ld->parser_ready = 1;
	yaml_parser_set_input_string(&ld->parser, (const unsigned char *)ld->data, ld->len);
	return next_event(ld); /* STREAM-START */
}

static void loader_dispose(struct loader *ld)
{
	if (ld->have_event)
		yaml_event_delete(&ld->event);
	if (ld->parser_ready)
		yaml_parser_delete(&ld->parser);
	json_decref(ld->anchors);
	kube_free(ld->rewritten);
}

/* Loads the next document into *out (json null when it is empty) and its
 * first line. Returns 1, 0 at the end of the stream, or an error. */
static int load_document(struct loader *ld, json_t **out, int *line)
{
	int rc;
	*out = NULL;
	if ((rc = next_event(ld)))
		return rc;
	if (ld->event.type == YAML_STREAM_END_EVENT)
		return 0;
	json_object_clear(ld->anchors); /* anchors are per document */
	ld->decode_count = ld->alias_count = 0;
	if ((rc = next_event(ld)))
		return rc;
	*line = mark_line(&ld->event.start_mark);
	if ((rc = load_node(ld, 0, out)))
		return rc;
	if ((rc = next_event(ld))) { /* DOCUMENT-END */
		json_decref(*out);
		*out = NULL;
		return rc;
	}
	return 1;
}

int kube_yaml_parse_stream(const char *data, size_t len, kube_yaml_doc_fn fn, void *user)
{
	struct loader ld;
	json_t *doc = NULL;
	int line = 0, rc;
	assert(fn);
	assert(data || !len);
	rc = loader_init(&ld, data, len);
	while (!rc) {
		rc = load_document(&ld, &doc, &line);
		if (rc <= 0)
			break;
		/* kubectl skips empty and null documents */
		rc = json_is_null(doc) ? 0 : fn(doc, line, user);
		json_decref(doc);
	}
	loader_dispose(&ld);
	return rc;
}

static int collect_doc(const json_t *doc, int line, void *user)
{
	(void)line;
	return json_array_append((json_t *)user, (json_t *)doc) ? enomem() : 0;
}

int kube_yaml_parse_all(json_t **out, const char *data, size_t len)
{
	json_t *docs = json_array();
	int rc;
	if (!docs)
		return enomem();
	if ((rc = kube_yaml_parse_stream(data, len, collect_doc, docs))) {
		json_decref(docs);
		return rc;
	}
	*out = docs;
	return 0;
}

struct one_doc {
	json_t *value;
};

static int keep_one_doc(const json_t *doc, int line, void *user)
{
	struct one_doc *one = user;
	if (one->value)
		return kube_error_set(KUBE_EINVALID, "line %d: expected one YAML document, found more", line);
	one->value = json_incref((json_t *)doc);
	return 0;
}

int kube_yaml_parse_one(json_t **out, const char *data, size_t len)
{
	struct one_doc one = {NULL};
	int rc = kube_yaml_parse_stream(data, len, keep_one_doc, &one);
	if (rc) {
		json_decref(one.value);
		return rc;
	}
	if (!one.value && !(one.value = json_object()))
		return enomem();
	*out = one.value;
	return 0;
}
