/* The YAML reader: libyaml events to jansson values with the typing rules
 * of Kubernetes' own reader (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1),
 * from memory or in chunks from a read callback. */
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

/* Bytes asked of the read callback at a time. */
#define READ_CHUNK (64 * 1024)

/* The longest JSON escape rewrite_json_surrogates decides on: a pair,
 * "\\ud83d\\ude00". */
#define SURROGATE_PAIR_LEN 12

enum input_kind { INPUT_UNDECIDED, INPUT_YAML, INPUT_JSON };

/* What libyaml reads: the callback's bytes, JSON surrogate pairs rewritten
 * on the way (rewrite_json_surrogates). */
struct input {
	kube_yaml_read_fn read_fn;
	void *ctx;
	int read_rc; /* the callback's error, or 0 */
	int eof;     /* the callback said so */
	char *chunk; /* READ_CHUNK bytes: [next, ready) rewritten, not yet handed
	              * to libyaml; [ready, filled) waiting for more input */
	size_t next, ready, filled;
	enum input_kind kind; /* JSON when the first non-blank byte is '{' or '[' */
	int in_string;        /* of JSON, at chunk[ready] */
	char *history;        /* the last history_size bytes handed, a ring */
	size_t history_size;
	size_t handed;   /* bytes handed to libyaml */
	size_t newlines; /* '\n' among them */
};

struct loader {
	yaml_parser_t parser;
	int parser_ready;
	yaml_event_t event; /* the current event, while have_event */
	int have_event;
	struct input input;
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

/* The line of the byte at offset among those handed to libyaml. */
static size_t input_line_at(const struct input *in, size_t offset)
{
	size_t line = in->newlines + 1;
	size_t from = offset < in->handed ? offset : in->handed;
	/* libyaml fails on a byte still in its raw buffer, which is no larger
	 * than the ring (loader_init); were it ever, the line comes out early */
	if (in->handed - from > in->history_size)
		from = in->handed - in->history_size;
	for (size_t i = from; i < in->handed; i++)
		line -= in->history[i % in->history_size] == '\n';
	return line;
}

static int parser_error(const struct loader *ld)
{
	const yaml_parser_t *parser = &ld->parser;
	size_t line = parser->problem_mark.line + 1;
	if (parser->error == YAML_MEMORY_ERROR)
		return enomem();
	if (parser->error == YAML_READER_ERROR && ld->input.read_rc)
		return ld->input.read_rc;       /* libyaml's "input error": the callback's own */
	if (parser->error == YAML_READER_ERROR) /* bad encoding: a byte offset, not a mark */
		line = input_line_at(&ld->input, parser->problem_offset);
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
	json_t *array = json_array(), *item = NULL;
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
 * encoding/json decodes it; lines stay where they were. Rewrites the
 * chunk's bytes from ready to filled in place (never longer) and moves
 * ready past them, except, before the end of the input, an escape that
 * may go on in bytes not read yet. */
static void rewrite_json_surrogates(struct input *in)
{
	char *chunk = in->chunk;
	size_t i = in->ready, n = in->ready;
	for (size_t at = in->ready; in->kind == INPUT_UNDECIDED && at < in->filled; at++) {
		char c = chunk[at];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			in->kind = c == '{' || c == '[' ? INPUT_JSON : INPUT_YAML;
	}
	if (in->kind != INPUT_JSON) {
		in->ready = in->filled;
		return;
	}
	while (i < in->filled) {
		size_t left = in->filled - i;
		long high;
		if (in->in_string && chunk[i] == '\\' && left < SURROGATE_PAIR_LEN && !in->eof)
			break;
		high = in->in_string ? unicode_escape(chunk + i, left) : -1;
		if (high >= 0xd800 && high <= 0xdfff) {
			long low = high < 0xdc00 ? unicode_escape(chunk + i + 6, left - 6) : -1;
			int pair = low >= 0xdc00 && low <= 0xdfff;
			char escape[11]; /* "\\U0001f600" or "\\ufffd" */
			int escape_len = pair ? snprintf(escape, sizeof(escape), "\\U%08lx",
			                                 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
			                      : snprintf(escape, sizeof(escape), "\\ufffd");
			memcpy(chunk + n, escape, (size_t)escape_len);
			n += (size_t)escape_len;
			i += pair ? 12 : 6;
			continue;
		}
		if (chunk[i] == '"')
			in->in_string = !in->in_string;
		if (chunk[i] == '\\' && in->in_string && left > 1)
			chunk[n++] = chunk[i++];
		chunk[n++] = chunk[i++];
	}
	memmove(chunk + n, chunk + i, in->filled - i);
	in->filled = n + (in->filled - i);
	in->ready = n;
}

/* Asks the callback for the next chunk, after the bytes still waiting.
 * Returns 0, or -1 with its error in read_rc. */
static int input_fill(struct input *in)
{
	size_t kept = in->filled - in->ready;
	ssize_t got;
	memmove(in->chunk, in->chunk + in->ready, kept);
	in->next = in->ready = 0;
	in->filled = kept;
	kube_error_clear(); /* to tell whether the callback describes its failure */
	got = in->read_fn(in->ctx, in->chunk + kept, READ_CHUNK - kept);
	if (got < 0) {
		in->read_rc = got < INT_MIN ? KUBE_ERROR : (int)got;
		if (kube_error_last()->code == KUBE_OK)
			(void)kube_error_set(in->read_rc, "read error");
		return -1;
	}
	assert((size_t)got <= READ_CHUNK - kept);
	in->eof = got == 0;
	in->filled += (size_t)got;
	rewrite_json_surrogates(in);
	return 0;
}

/* Counts and keeps the bytes handed to libyaml, for input_line_at. */
static void input_remember(struct input *in, const char *bytes, size_t len)
{
	for (const char *p = bytes, *end = bytes + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		in->newlines++;
	if (len > in->history_size) {
		in->handed += len - in->history_size;
		bytes += len - in->history_size;
		len = in->history_size;
	}
	while (len) {
		size_t at = in->handed % in->history_size;
		size_t n = len < in->history_size - at ? len : in->history_size - at;
		memcpy(in->history + at, bytes, n);
		in->handed += n;
		bytes += n;
		len -= n;
	}
}

/* libyaml's read handler. It fills the buffer whole until the input ends,
 * as libyaml's own string input does, so that how the callback cuts the
 * input never shows: libyaml decodes (and fails on bad encoding) a whole
 * buffer at a time, which decides the documents delivered before such an
 * error. */
static int input_read(void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
	struct input *in = data;
	size_t done = 0;
	while (done < size) {
		size_t n = in->ready - in->next;
		if (!n && in->eof)
			break;
		if (!n) {
			if (input_fill(in))
				return 0; /* libyaml's "input error" */
			continue;
		}
		n = n < size - done ? n : size - done;
		memcpy(buffer + done, in->chunk + in->next, n);
		input_remember(in, in->chunk + in->next, n);
		in->next += n;
		done += n;
	}
	*size_read = done;
	return 1;
}

static int loader_init(struct loader *ld, kube_yaml_read_fn read_fn, void *ctx)
{
	size_t raw_size;
	memset(ld, 0, sizeof(*ld));
	ld->input.read_fn = read_fn;
	ld->input.ctx = ctx;
	if (!(ld->anchors = json_object()))
		return enomem();
	if (!yaml_parser_initialize(&ld->parser))
		return enomem();
	ld->parser_ready = 1;
	/* a byte libyaml fails on is still in its raw buffer: remember as many */
	raw_size = (size_t)(ld->parser.raw_buffer.end - ld->parser.raw_buffer.start);
	ld->input.history_size = raw_size ? raw_size : 1;
	if (!(ld->input.chunk = kube_malloc(READ_CHUNK + ld->input.history_size)))
		return enomem();
	ld->input.history = ld->input.chunk + READ_CHUNK;
	yaml_parser_set_input(&ld->parser, input_read, &ld->input);
	return next_event(ld); /* STREAM-START */
}

static void loader_dispose(struct loader *ld)
{
	if (ld->have_event)
		yaml_event_delete(&ld->event);
	if (ld->parser_ready)
		yaml_parser_delete(&ld->parser);
	json_decref(ld->anchors);
	kube_free(ld->input.chunk);
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

int kube_yaml_parse_reader(kube_yaml_read_fn read_fn, void *ctx, kube_yaml_doc_fn fn, void *user)
{
	struct loader ld;
	json_t *doc = NULL;
	int line = 0, rc;
	assert(read_fn);
	assert(fn);
	rc = loader_init(&ld, read_fn, ctx);
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

/* kube_yaml_parse_stream's input: the caller's bytes, handed out in turn. */
struct memory_input {
	const char *data;
	size_t len;
};

static ssize_t read_memory(void *ctx, char *buf, size_t size)
{
	struct memory_input *mem = ctx;
	size_t n = mem->len < size ? mem->len : size;
	if (!n)
		return 0;
	memcpy(buf, mem->data, n);
	mem->data += n;
	mem->len -= n;
	return (ssize_t)n;
}

int kube_yaml_parse_stream(const char *data, size_t len, kube_yaml_doc_fn fn, void *user)
{
	struct memory_input mem = {data, len};
	assert(data || !len);
	return kube_yaml_parse_reader(read_memory, &mem, fn, user);
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
