/* SHA-256 digests of tagged, length-prefixed fields, written out in hex:
 * the keys of caches and credential fingerprints, which tell values apart
 * without keeping them. */
#ifndef KUBE_DIGEST_H
#define KUBE_DIGEST_H

#include <stddef.h>

/* 64 lowercase hex digits and a NUL. */
#define KUBE_DIGEST_HEX_SIZE 65

/* A digest being built, on the caller's stack: kube_digest_start, then
 * kube_digest_field for each field, kube_digest_finish, and always
 * kube_digest_dispose. */
struct kube_digest {
	struct evp_md_ctx_st *ctx; /* an EVP_MD_CTX, named by its tag to keep OpenSSL out of this header */
	const char *what;          /* names the digest in error messages (borrowed) */
};

/* Starts a SHA-256 digest; what names it in error messages ("what: SHA-256
 * failed") and must outlive it. Errors: KUBE_ENOMEM; KUBE_ERROR when
 * OpenSSL cannot start it. */
int kube_digest_start(struct kube_digest *digest, const char *what);

/* Adds one field: its tag, len as 8 bytes big-endian, then len bytes of
 * data, so that no value can fake a boundary between fields. Errors:
 * KUBE_ERROR. */
int kube_digest_field(struct kube_digest *digest, char tag, const void *data, size_t len);

/* kube_digest_field with a string's bytes; NULL is digested as "". */
int kube_digest_string(struct kube_digest *digest, char tag, const char *value);

/* Finishes the digest and writes it to out in hex (out is "" on error).
 * Errors: KUBE_ERROR. */
int kube_digest_finish(struct kube_digest *digest, char out[KUBE_DIGEST_HEX_SIZE]);

/* Frees what the digest holds: after kube_digest_start, whether it
 * succeeded or not; again is fine. */
void kube_digest_dispose(struct kube_digest *digest);

#endif
