/* Writes a report document whose big arrays (workloads, findings, SARIF results) are produced item by
 * item, so a report of any size never exists as one JSON tree: the rest of the document is rendered as
 * usual around a placeholder per array, and the items are rendered one at a time and indented into its
 * place. The bytes are the same as rendering the whole tree with cli_output_document. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kube/buf.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "cli/exit.h"
#include "output.h"

#define PLACEHOLDER  "@@probecheck-streamed-items-"
#define MAX_STREAMED 8
#define REPORTED     1 /* an item could not be made, its error already printed */

/* Writes text with prefix before each non-empty line. */
static int write_indented(FILE *stream, const char *text, size_t len, const char *first_prefix, const char *prefix)
{
	const char *p = text, *end = text + len;
	int first = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (line && fputs(first ? first_prefix : prefix, stream) == EOF)
			return -1;
		if (fwrite(p, 1, line, stream) != line || (nl && fputc('\n', stream) == EOF))
			return -1;
		first = 0;
		p += line + (nl != NULL);
	}
	return 0;
}

static int render_item(kube_buf *out, enum cli_output_format format, const json_t *item)
{
	kube_buf_clear(out);
	if (format == CLI_OUTPUT_YAML)
		return kube_yaml_emit(out, item);
	char *text = json_dumps(item, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	if (!text)
		return KUBE_ENOMEM;
	int rc = kube_buf_puts(out, text);
	free(text);
	return rc;
}

static int stream_items(FILE *stream, enum cli_output_format format, size_t indent, probecheck_item_fn next, void *user,
                        int *out_count)
{
	kube_buf item_text = KUBE_BUF_INIT;
	char first_prefix[128], prefix[128];
	int rc = 0, count = 0;
	if (indent > 100)
		indent = 100;
	if (format == CLI_OUTPUT_YAML) {
		(void)snprintf(first_prefix, sizeof(first_prefix), "%*s- ", (int)indent, "");
		(void)snprintf(prefix, sizeof(prefix), "%*s  ", (int)indent, "");
	} else {
		(void)snprintf(prefix, sizeof(prefix), "%*s", (int)indent + 4, "");
		(void)snprintf(first_prefix, sizeof(first_prefix), "%s", prefix);
	}
	for (;;) {
		int done = 0;
		json_t *item = next(user, &done);
		if (!item) {
			rc = done > 0 ? 0 : done < 0 ? REPORTED : KUBE_ENOMEM;
			break;
		}
		rc = render_item(&item_text, format, item);
		json_decref(item);
		if (rc)
			break;
		if (format == CLI_OUTPUT_JSON) {
			const char *sep = count ? ",\n" : "[\n";
			if (fputs(sep, stream) == EOF) {
				rc = KUBE_ERROR;
				break;
			}
		} else if (count == 0 && fputc('\n', stream) == EOF) {
			rc = KUBE_ERROR;
			break;
		}
		/* JSON items end without a newline; YAML items end with one. */
		if (write_indented(stream, kube_buf_cstr(&item_text), item_text.len, first_prefix, prefix)) {
			rc = KUBE_ERROR;
			break;
		}
		count++;
	}
	kube_buf_dispose(&item_text);
	*out_count = count;
	return rc;
}

/* Writes the items of one array in place of its placeholder, which starts
 * at mark in the skeleton text; returns where the skeleton goes on, or
 * NULL with *rc set. */
static const char *stream_array(FILE *stream, enum cli_output_format format, const char *text, const char *from,
                                const char *mark, size_t mark_len, const probecheck_streamed_array *array, int *rc)
{
	const char *line = mark;
	while (line > text && line[-1] != '\n')
		line--;
	size_t indent = strspn(line, " ");
	const char *value = mark, *after = mark + mark_len;
	if (value > from && (value[-1] == '"' || value[-1] == '\'')) /* JSON quotes it; YAML may */
		value--, after++;
	/* YAML: "key:" ends the line, the list follows below it. */
	size_t head = (size_t)(value - from) - (format == CLI_OUTPUT_YAML && value > line && value[-1] == ' ');
	int count = 0;
	if (fwrite(from, 1, head, stream) != head) {
		*rc = KUBE_ERROR;
		return NULL;
	}
	if ((*rc = stream_items(stream, format, indent, array->next, array->user, &count)))
		return NULL;
	int failed = 0;
	if (format == CLI_OUTPUT_JSON)
		failed = count ? fprintf(stream, "\n%*s]", (int)indent, "") < 0 : fputs("[]", stream) == EOF;
	else if (!count)
		failed = fputs(" []", stream) == EOF;
	else if (*after == '\n')
		after++; /* the items ended the line */
	if (failed) {
		*rc = KUBE_ERROR;
		return NULL;
	}
	return after;
}

int probecheck_output_streamed(FILE *stream, enum cli_output_format format, json_t *doc,
                               const probecheck_streamed_array *arrays, size_t count)
{
	kube_buf skeleton = KUBE_BUF_INIT;
	char *json_text = NULL;
	int rc = 0;
	if (count > MAX_STREAMED) {
		cli_error("render report: %zu streamed arrays (at most %d)", count, MAX_STREAMED);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < count; i++) {
		char mark[64];
		(void)snprintf(mark, sizeof(mark), PLACEHOLDER "%zu@@", i);
		if (json_object_set_new(arrays[i].parent, arrays[i].key, json_string(mark)))
			return cli_error_nomem();
	}
	if (format == CLI_OUTPUT_YAML) {
		rc = kube_yaml_emit(&skeleton, doc);
	} else {
		json_text = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		rc = json_text ? kube_buf_puts(&skeleton, json_text) : KUBE_ENOMEM;
		free(json_text);
	}
	if (rc) {
		kube_buf_dispose(&skeleton);
		return cli_error_nomem();
	}
	/* The placeholders in the order the rendering put them. */
	const char *text = kube_buf_cstr(&skeleton), *from = text;
	size_t done = 0;
	while (done < count && from) {
		const char *mark = strstr(from, PLACEHOLDER);
		char *end = NULL;
		unsigned long index = mark ? strtoul(mark + strlen(PLACEHOLDER), &end, 10) : 0;
		if (!mark || !end || strncmp(end, "@@", 2) != 0 || index >= count) {
			kube_buf_dispose(&skeleton);
			cli_error("render report: an item placeholder is missing");
			return CLI_EXIT_FAIL;
		}
		from = stream_array(stream, format, text, from, mark, (size_t)(end + 2 - mark), &arrays[index], &rc);
		done++;
	}
	if (rc == KUBE_ENOMEM || rc == REPORTED) {
		kube_buf_dispose(&skeleton);
		return rc == REPORTED ? CLI_EXIT_FAIL : cli_error_nomem();
	}
	int failed = rc != 0 || !from;
	if (!failed) {
		size_t rest = strlen(from);
		failed = fwrite(from, 1, rest, stream) != rest ||
		         (format == CLI_OUTPUT_JSON && fputc('\n', stream) == EOF);
	}
	kube_buf_dispose(&skeleton);
	if (failed) {
		cli_error("write report: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return 0;
}
