/* Small answers of the API server about the caller (who it is, what it may
 * do), remembered on disk per credential: a JSON document with an
 * "expires" field in <cache_dir>/<kind>/<key>.json, where the key is a
 * SHA-256 digest of the server URL, the credential's fingerprint, the
 * impersonation settings and a scope of the caller's (a namespace), never
 * the credential itself. Only a private regular file of ours is believed;
 * writes are atomic and best effort: a cache that cannot be read or
 * written only costs a request. Used by whoami.c and access.c. Not
 * installed. */
#ifndef KUBE_CRED_CACHE_H
#define KUBE_CRED_CACHE_H

#include <stddef.h>

#include <jansson.h>

#include <kube/client.h>

#include "digest.h"

/* What one cache holds: static descriptions, one per kind of answer. */
struct kube_cred_cache_kind {
	const char *dir;     /* the directory under the cache directory, and the digest's name: "whoami" */
	const char *version; /* digested first ("rollguard-whoami-1"): another value when the format changes */
	const char *what;    /* starts the cache's log lines: "whoami" */
	long ttl_s;          /* how long an answer is believed; a stored expiry further away is not */
	size_t max_bytes;    /* larger files are neither read nor written */
};

/* The cache file of one answer: kube_cred_cache_open, then read and write,
 * and always kube_cred_cache_dispose. */
struct kube_cred_cache {
	const struct kube_cred_cache_kind *kind; /* borrowed */
	char *dir;                               /* <cache_dir>/<kind->dir>; NULL: no cache */
	char *path;                              /* <dir>/<key>.json; NULL: no cache */
};

/* The hex SHA-256 key of the answers client gets for kind: the server
 * URL, the credential's fingerprint, the impersonation settings (user,
 * groups, uid, extra), then scope when not NULL. Errors: those of
 * kube_auth_fingerprint (KUBE_EAUTH, KUBE_ECONFIG when the credential
 * cannot be had, KUBE_ENOMEM, KUBE_ERROR); out is "" on error. */
int kube_cred_cache_key(kube_client *client, const struct kube_cred_cache_kind *kind, const char *scope,
                        char out[KUBE_DIGEST_HEX_SIZE]);

/* Sets cache up for the answer of kind (and scope) to client. Returns
 * KUBE_EAUTH or KUBE_ECONFIG, the last error kept, when no credential can
 * be had (a request could not be sent either); 0 otherwise. On any other
 * failure (no digest, no memory) the reason is logged at
 * KUBE_LOG_DECISION, the last error cleared, and cache left without a
 * file: reads miss and writes do nothing. */
int kube_cred_cache_open(struct kube_cred_cache *cache, kube_client *client, const struct kube_cred_cache_kind *kind,
                         const char *scope);

/* The cached document (owned) when cache's file is a private regular
 * file of ours (mode 0600 or stricter, our uid), is valid JSON of at most
 * kind->max_bytes and its "expires" (seconds since the epoch) is in the
 * future but no further than kind->ttl_s away; NULL otherwise (a file that
 * exists but is not believed is logged). The caller checks the other
 * fields and ignores a document it cannot use. */
json_t *kube_cred_cache_read(const struct kube_cred_cache *cache);

/* Writes doc (a JSON object, borrowed; NULL: out of memory) with
 * "expires" set to now + kind->ttl_s into cache's file, mode 0600,
 * atomically, making its directory (0700) when missing. Best effort: a
 * failure is logged at KUBE_LOG_DECISION and nothing else. doc must hold
 * no credential. */
void kube_cred_cache_write(const struct kube_cred_cache *cache, json_t *doc);

/* Frees what cache holds; again is fine. */
void kube_cred_cache_dispose(struct kube_cred_cache *cache);

#endif
