/* YAML <-> JSON with the typing rules of Kubernetes' own reader
 * (sigs.k8s.io/yaml over YAML 1.1): unquoted y/n/yes/no/on/off/true/false
 * in any case are booleans, quoted scalars stay strings, ~/null/empty are
 * null, integers and floats as YAML 1.1 reads them; multi-document
 * streams. */
#ifndef KUBE_YAML_H
#define KUBE_YAML_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a whole YAML (or JSON, a YAML subset) stream. On success *out is a
 * JSON array with one element per non-empty document (owned by the
 * caller). Errors: KUBE_EINVALID with "line N: problem" in the last error;
 * KUBE_ENOMEM. */
int kube_yaml_parse_all(json_t **out, const char *data, size_t len);

/* Parses a stream that must hold exactly one document (an empty stream
 * yields an empty object). Errors as kube_yaml_parse_all, plus
 * KUBE_EINVALID for more than one document. */
int kube_yaml_parse_one(json_t **out, const char *data, size_t len);

/* Streams documents one at a time so memory stays bounded on large inputs:
 * the callback gets each document (borrowed for the call) and its starting
 * line; a non-zero return stops the stream and is returned. */
typedef int (*kube_yaml_doc_fn)(const json_t *doc, int line, void *user);
int kube_yaml_parse_stream(const char *data, size_t len, kube_yaml_doc_fn fn, void *user);

/* Stores up to size bytes of the input in buf. Returns how many (0 only at
 * the end of the input, after which it is not called again), or a
 * negative KUBE_E* for a failure to read; the last error then says "read
 * error" unless the callback described the failure itself (libkube's own
 * readers, with kube_error_set). */
typedef ssize_t (*kube_yaml_read_fn)(void *ctx, char *buf, size_t size);

/* kube_yaml_parse_stream over input that read_fn(ctx, ...) hands over in
 * chunks (of 64 KiB at most), so that memory is bounded by the largest
 * document, not the stream: the same documents, lines and errors whatever
 * the sizes read_fn returns, or read_fn's error when it fails (fn has had
 * the documents parsed before). */
int kube_yaml_parse_reader(kube_yaml_read_fn read_fn, void *ctx, kube_yaml_doc_fn fn, void *user);

/* Appends value rendered as block-style YAML (as kubectl -o yaml prints:
 * keys in the object's order, strings quoted only where needed so they
 * read back as strings). */
int kube_yaml_emit(kube_buf *out, const json_t *value);

#ifdef __cplusplus
}
#endif
#endif
