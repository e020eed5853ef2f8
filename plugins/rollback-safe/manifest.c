/* A Helm release manifest split into Kubernetes objects the way Helm's
 * kube client reads it back, the identity Helm matches objects by, and
 * the small accessors the plan and the preflight read objects with. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "manifest.h"

/* How much of a "# Source:" path a message quotes. */
#define SOURCE_MAX 200

struct splitter {
	json_t *objects;
	char source[SOURCE_MAX + 1]; /* the current document's # Source, or "" */
	int first_line;              /* the current chunk's first line in the manifest */
	int reason_set;              /* a document was refused and err says why */
	char *err;
	size_t err_size;
};

/* Messages are one line of printable ASCII whatever the manifest held. */
static void make_printable(char *text)
{
	for (char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	}
}

static void set_reason(struct splitter *sp, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_reason(struct splitter *sp, int line, const char *fmt, ...)
{
	char what[384];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	sp->reason_set = 1;
	if (!sp->err || sp->err_size == 0)
		return;
	if (sp->source[0])
		(void)snprintf(sp->err, sp->err_size, "manifest line %d (%s): %s", line, sp->source, what);
	else
		(void)snprintf(sp->err, sp->err_size, "manifest line %d: %s", line, what);
	make_printable(sp->err);
}

static const char *type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int has_string(const json_t *value)
{
	return json_is_string(value) && json_string_length(value) > 0;
}

/* item is 0 for a document, n for the n-th item of a List. */
static int check_object(struct splitter *sp, const json_t *obj, int line, size_t item)
{
	char what[48] = "object";
	const char *missing = NULL;
	if (item)
		(void)snprintf(what, sizeof(what), "List item %zu", item);
	if (!json_is_object(obj)) {
		set_reason(sp, line, "%s is %s, not a Kubernetes object", what, type_name(obj));
		return KUBE_EINVALID;
	}
	if (!has_string(json_object_get(obj, "apiVersion")))
		missing = "apiVersion";
	else if (!has_string(json_object_get(obj, "kind")))
		missing = "kind";
	else if (!has_string(json_object_get(json_object_get(obj, "metadata"), "name")))
		missing = "metadata.name";
	if (missing) {
		set_reason(sp, line, "%s has no %s", what, missing);
		return KUBE_EINVALID;
	}
	return 0;
}

static int append(struct splitter *sp, const json_t *obj)
{
	/* jansson has no const append; the array only takes a reference */
	return json_array_append(sp->objects, (json_t *)obj) != 0 ? KUBE_ENOMEM : 0;
}

static int is_list(const json_t *doc)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	size_t len = kind ? strlen(kind) : 0;
	return len >= 4 && strcmp(kind + len - 4, "List") == 0 && json_is_array(json_object_get(doc, "items"));
}

static int on_document(const json_t *doc, int line, void *user)
{
	struct splitter *sp = user;
	int abs_line = sp->first_line + line - 1;
	if (json_is_object(doc) && is_list(doc)) {
		size_t i;
		const json_t *item;
		json_array_foreach(json_object_get(doc, "items"), i, item)
		{
			int rc = check_object(sp, item, abs_line, i + 1);
			if (!rc)
				rc = append(sp, item);
			if (rc)
				return rc;
		}
		return 0;
	}
	int rc = check_object(sp, doc, abs_line, 0);
	return rc ? rc : append(sp, doc);
}

/* The path of the first "# Source: " comment of the chunk, as Helm writes
 * it after each separator. */
static void find_source(struct splitter *sp, const char *chunk, size_t len)
{
	static const char prefix[] = "# Source: ";
	const size_t prefix_len = sizeof(prefix) - 1;
	sp->source[0] = '\0';
	for (size_t at = 0; at < len;) {
		const char *line = chunk + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t line_len = nl ? (size_t)(nl - line) : len - at;
		if (line_len > prefix_len && memcmp(line, prefix, prefix_len) == 0) {
			size_t path_len = line_len - prefix_len;
			while (path_len &&
			       (line[prefix_len + path_len - 1] == '\r' || line[prefix_len + path_len - 1] == ' '))
				path_len--;
			if (path_len > SOURCE_MAX)
				path_len = SOURCE_MAX;
			memcpy(sp->source, line + prefix_len, path_len);
			sp->source[path_len] = '\0';
			make_printable(sp->source);
			return;
		}
		at += line_len + 1;
	}
}

/* "line N: problem" from the YAML reader, N counted from the chunk's
 * start, re-told with N counted from the manifest's. */
static void yaml_reason(struct splitter *sp)
{
	const char *message = kube_error_last()->message;
	if (strncmp(message, "line ", 5) == 0) {
		char *end = NULL;
		long line = strtol(message + 5, &end, 10);
		if (end && end != message + 5 && end[0] == ':' && end[1] == ' ' && line > 0 && line < 1000000000L) {
			set_reason(sp, sp->first_line + (int)line - 1, "%.300s", end + 2);
			return;
		}
	}
	set_reason(sp, sp->first_line, "%.300s", message[0] ? message : "invalid YAML");
}

static int parse_chunk(struct splitter *sp, const char *chunk, size_t len)
{
	find_source(sp, chunk, len);
	int rc = kube_yaml_parse_stream(chunk, len, on_document, sp);
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc) {
		if (!sp->reason_set)
			yaml_reason(sp);
		return -1;
	}
	return 0;
}

/* Kubernetes' YAMLReader: "---" at the start of a line, followed by
 * nothing but blanks or a comment, separates documents. */
static int is_separator(const char *line, size_t len)
{
	if (len < 3 || memcmp(line, "---", 3) != 0)
		return 0;
	for (size_t i = 3; i < len; i++) {
		if (line[i] == '#')
			return 1;
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	}
	return 1;
}

int rollback_manifest_objects(json_t **out, const char *manifest, const char *release_ns, char *err, size_t err_size)
{
	struct splitter sp;
	size_t len = manifest ? strlen(manifest) : 0, chunk_start = 0;
	int line_no = 1, rc = 0;
	assert(out);
	(void)release_ns;
	*out = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.err = err;
	sp.err_size = err_size;
	sp.first_line = 1;
	if (err && err_size)
		err[0] = '\0';
	if (!(sp.objects = json_array()))
		goto nomem;
	for (size_t at = 0; at < len && rc == 0; line_no++) {
		const char *line = manifest + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t line_len = nl ? (size_t)(nl - line) : len - at;
		if (is_separator(line, line_len)) {
			rc = parse_chunk(&sp, manifest + chunk_start, at - chunk_start);
			chunk_start = at + line_len + (nl ? 1 : 0);
			sp.first_line = line_no + 1;
		}
		at += line_len + (nl ? 1 : 0);
	}
	if (rc == 0 && chunk_start < len)
		rc = parse_chunk(&sp, manifest + chunk_start, len - chunk_start);
	if (rc == KUBE_ENOMEM)
		goto nomem;
	if (rc) {
		json_decref(sp.objects);
		return -1;
	}
	*out = sp.objects;
	return 0;
nomem:
	json_decref(sp.objects);
	rollback_copy_text(err, err_size, "out of memory");
	return KUBE_ENOMEM;
}

/* Copies the len bytes at text into out, cut to size - 1 bytes and
 * NUL-terminated; nothing when size is 0. */
static void copy_span(char *out, size_t size, const char *text, size_t len)
{
	if (size == 0)
		return;
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(out, text, len);
	out[len] = '\0';
}

void rollback_copy_text(char *out, size_t size, const char *text)
{
	copy_span(out, size, text, text ? strlen(text) : 0);
}

const char *rollback_string_member(const json_t *obj, const char *key)
{
	const char *value = json_string_value(json_object_get(obj, key));
	return value ? value : "";
}

const char *rollback_object_name(const json_t *obj)
{
	return rollback_string_member(json_object_get(obj, "metadata"), "name");
}

void rollback_object_label(char *out, size_t size, const json_t *obj)
{
	(void)snprintf(out, size, "%.127s/%.253s", rollback_string_member(obj, "kind"), rollback_object_name(obj));
}

const char *rollback_object_ns(const json_t *obj, const char *release_ns)
{
	const json_t *ns = json_object_get(json_object_get(obj, "metadata"), "namespace");
	return has_string(ns) ? json_string_value(ns) : release_ns;
}

void rollback_api_group(char *out, size_t size, const char *api_version)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	copy_span(out, size, api_version, slash ? (size_t)(slash - api_version) : 0);
}

void rollback_object_key_of(rollback_object_key *out, const json_t *obj, const char *ns)
{
	assert(out);
	rollback_api_group(out->group, sizeof(out->group), json_string_value(json_object_get(obj, "apiVersion")));
	rollback_copy_text(out->kind, sizeof(out->kind), json_string_value(json_object_get(obj, "kind")));
	rollback_copy_text(out->ns, sizeof(out->ns), ns);
	rollback_copy_text(out->name, sizeof(out->name),
	                   json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
}

int rollback_object_key_equal(const rollback_object_key *a, const rollback_object_key *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->kind, b->kind) == 0 && strcmp(a->ns, b->ns) == 0 &&
	       strcmp(a->group, b->group) == 0;
}

char *rollback_object_key_string(const rollback_object_key *key)
{
	return kube_asprintf("%s\x1f%s\x1f%s\x1f%s", key->group, key->kind, key->ns, key->name);
}
