/* Base64 as Go's encoding/base64 does it, in the two encodings libkube
 * meets: standard (kubeconfig []byte fields, CA data, Secret data, Helm
 * release records) and raw URL (JWT segments). */
#ifndef KUBE_BASE64_H
#define KUBE_BASE64_H

#include <stddef.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kube_base64_encoding {
	KUBE_BASE64_STD,     /* StdEncoding: '+' and '/', padding to a multiple of 4 required */
	KUBE_BASE64_RAW_URL, /* RawURLEncoding: '-' and '_', no padding accepted */
};

/* Decodes text[0..len) in encoding into a new NUL-terminated buffer *out
 * of *out_len bytes (free with kube_free). CR and LF are skipped wherever
 * they stand, as Go's decoders skip them; trailing bits are not checked
 * (Go's non-strict mode). Returns 0; KUBE_ENOMEM (recorded); or
 * KUBE_EINVALID, not recorded so that the caller can name the field, with
 * the offset Go reports in "illegal base64 data at input byte N" in
 * *bad_at when bad_at is not NULL. On error *out is NULL. */
int kube_base64_decode(char **out, size_t *out_len, const char *text, size_t len, enum kube_base64_encoding encoding,
                       size_t *bad_at);

/* Appends data[0..len) to out in StdEncoding, padded, without line breaks
 * (Go's base64.StdEncoding.EncodeToString). Returns 0, or KUBE_ENOMEM /
 * KUBE_EPROTOCOL (out's limit) as kube_buf_put does; on error out may hold
 * part of the text. */
int kube_base64_encode(kube_buf *out, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
