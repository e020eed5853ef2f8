/* Redaction of what libkube logs: credentials in headers and Secret data
 * or tokens in request and response bodies never reach the log callback. */
#ifndef KUBE_REDACT_H
#define KUBE_REDACT_H

#include <stddef.h>

#include <kube/buf.h>

/* Appends a loggable rendering of an HTTP body to out: JSON with Secret
 * data/stringData values and credential fields replaced by "<redacted>";
 * non-JSON text truncated to limit bytes. */
int kube_redact_body(kube_buf *out, const char *body, size_t len, size_t limit);

/* Appends header (one "Name: value" line) with credential values masked. */
int kube_redact_header(kube_buf *out, const char *header);

#endif
