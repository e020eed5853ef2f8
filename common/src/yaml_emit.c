/* The YAML writer: jansson values to block-style YAML as kubectl -o yaml
 * prints it (go-yaml v2's encoder choices over libyaml's emitter). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include <kube/yaml.h>

#include "internal.h"
#include "yaml_resolve.h"

/* As deep as the reader accepts. */
#define MAX_DEPTH 1000

struct writer {
	yaml_emitter_t emitter;
	kube_buf *out;
	int write_error; /* what stopped kube_buf, already recorded as the last error */
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct writer *writer = data;
	int rc = kube_buf_put(writer->out, buffer, size);
	if (rc) {
		writer->write_error = rc;
		return 0;
	}
	return 1;
}

static int enomem(void)
{
	return kube_error_set(KUBE_ENOMEM, "out of memory writing YAML");
}

/* Emits an initialized event (libyaml takes it over, even on failure). */
static int emit(struct writer *writer, yaml_event_t *event)
{
	if (yaml_emitter_emit(&writer->emitter, event))
		return 0;
	if (writer->write_error)
		return writer->write_error;
	if (writer->emitter.error == YAML_MEMORY_ERROR)
		return enomem();
	return kube_error_set(KUBE_EINVALID, "cannot write YAML: %s",
	                      writer->emitter.problem ? writer->emitter.problem : "unknown problem");
}

static int emit_scalar(struct writer *writer, const char *text, size_t len, yaml_scalar_style_t style)
{
	yaml_event_t event;
	if (len > INT_MAX)
		return kube_error_set(KUBE_EINVALID, "cannot write YAML: string of %zu bytes", len);
	/* fails on allocation, or on invalid UTF-8 that jansson would not have let in */
	if (!yaml_scalar_event_initialize(&event, NULL, NULL, (const yaml_char_t *)text, (int)len, 1, 1, style))
		return enomem();
	return emit(writer, &event);
}

/* go-yaml's stringv: literal block for multi-line text, plain when the
 * text reads back as this string, double-quoted otherwise. libyaml turns
 * plain into single-quoted and literal into double-quoted where the text
 * does not allow them (leading spaces, ": ", "#", control characters...). */
static int emit_string(struct writer *writer, const char *text, size_t len)
{
	int plain = kube_yaml_plain_is_string(text, len);
	yaml_scalar_style_t style;
	if (plain < 0)
		return plain;
	if (memchr(text, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else
		style = plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(writer, text, len, style);
}

/* Reals keep a fraction or exponent so that they read back as reals. */
static int emit_real(struct writer *writer, double value)
{
	char text[48];
	kube_yaml_format_float(text, sizeof(text), value, 64);
	if (strspn(text, "-0123456789") == strlen(text))
		(void)snprintf(text + strlen(text), sizeof(text) - strlen(text), ".0");
	return emit_scalar(writer, text, strlen(text), YAML_PLAIN_SCALAR_STYLE);
}

static int emit_value(struct writer *writer, json_t *value, int depth)
{
	yaml_event_t event;
	const char *key;
	size_t key_len, index;
	json_t *child;
	char text[32];
	int rc;
	if (depth > MAX_DEPTH)
		return kube_error_set(KUBE_EINVALID, "cannot write YAML: value nested more than %d levels deep",
		                      MAX_DEPTH);
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		/* {} for an empty object, as kubectl prints it */
		if (!yaml_mapping_start_event_initialize(&event, NULL, NULL, 1,
		                                         json_object_size(value) ? YAML_BLOCK_MAPPING_STYLE
		                                                                 : YAML_FLOW_MAPPING_STYLE))
			return enomem();
		if ((rc = emit(writer, &event)))
			return rc;
		json_object_keylen_foreach(value, key, key_len, child)
		{
			if ((rc = emit_string(writer, key, key_len)) || (rc = emit_value(writer, child, depth + 1)))
				return rc;
		}
		if (!yaml_mapping_end_event_initialize(&event))
			return enomem();
		return emit(writer, &event);
	case JSON_ARRAY:
		if (!yaml_sequence_start_event_initialize(&event, NULL, NULL, 1,
		                                          json_array_size(value) ? YAML_BLOCK_SEQUENCE_STYLE
		                                                                 : YAML_FLOW_SEQUENCE_STYLE))
			return enomem();
		if ((rc = emit(writer, &event)))
			return rc;
		json_array_foreach(value, index, child)
		{
			if ((rc = emit_value(writer, child, depth + 1)))
				return rc;
		}
		if (!yaml_sequence_end_event_initialize(&event))
			return enomem();
		return emit(writer, &event);
	case JSON_STRING:
		return emit_string(writer, json_string_value(value), json_string_length(value));
	case JSON_INTEGER:
		(void)snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		return emit_scalar(writer, text, strlen(text), YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		return emit_real(writer, json_real_value(value));
	case JSON_TRUE:
		return emit_scalar(writer, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(writer, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	default:
		return emit_scalar(writer, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
}

static int emit_document(struct writer *writer, json_t *value)
{
	yaml_event_t event;
	int rc;
	if (!yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING))
		return enomem();
	if ((rc = emit(writer, &event)))
		return rc;
	if (!yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1))
		return enomem();
	if ((rc = emit(writer, &event)) || (rc = emit_value(writer, value, 0)))
		return rc;
	if (!yaml_document_end_event_initialize(&event, 1))
		return enomem();
	if ((rc = emit(writer, &event)))
		return rc;
	/* no "..." after a top-level plain scalar (go-yaml's finish()) */
	writer->emitter.open_ended = 0;
	if (!yaml_stream_end_event_initialize(&event))
		return enomem();
	return emit(writer, &event);
}

int kube_yaml_emit(kube_buf *out, const json_t *value)
{
	struct writer writer = {.out = out};
	size_t start = out->len;
	int rc;
	if (!yaml_emitter_initialize(&writer.emitter))
		return enomem();
	yaml_emitter_set_output(&writer.emitter, write_handler, &writer);
	yaml_emitter_set_unicode(&writer.emitter, 1);
	rc = emit_document(&writer, (json_t *)value);
	yaml_emitter_delete(&writer.emitter);
	if (rc && out->ptr) { /* leave out as it was */
		out->len = start;
		out->ptr[start] = '\0';
	}
	return rc;
}
