/* Exec credential plugins as client-go runs them (plugin/pkg/client/auth/
 * exec): the plugin is started without a shell, told about the request in
 * KUBERNETES_EXEC_INFO, prints an ExecCredential, and its credential is
 * cached until expirationTimestamp. */
#ifndef KUBE_AUTH_EXEC_H
#define KUBE_AUTH_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "rest.h"

/* What a plugin returned. Strings are owned (kube_malloc) and NULL when
 * the plugin left them empty. */
struct kube_exec_credential {
	char *token;
	char *cert_pem; /* status.clientCertificateData */
	char *key_pem;  /* status.clientKeyData */
	int has_expiry; /* 0: valid for the life of the process */
	int64_t expiry_s;
	long expiry_ns;
};

/* Frees the strings and zeroes cred; NULL is fine. */
void kube_exec_credential_clear(struct kube_exec_credential *cred);

/* Parses a plugin's stdout the way client-go decodes it: an ExecCredential
 * of exactly api_version with a status holding a token and/or a
 * certificate/key pair (both or neither) and an optional RFC 3339
 * expirationTimestamp. On success *out owns the strings (release with
 * kube_exec_credential_clear); on error *out is zeroed. Errors: KUBE_EAUTH
 * with client-go's wording ("exec plugin didn't return a status field",
 * "exec plugin is configured to use API version A, plugin returned version
 * B", ...); KUBE_ENOMEM. Never logs or echoes credential contents. */
int kube_exec_credential_parse(struct kube_exec_credential *out, const char *api_version, const char *data, size_t len);

/* Knobs for running plugins; the zeros mean client-go-like defaults. */
struct kube_exec_options {
	long timeout_ms;   /* 0: 2 minutes, 10 minutes for an interactive plugin */
	size_t max_output; /* stdout cap in bytes; 0: 1 MiB */
	int stdin_is_tty;  /* -1: isatty(STDIN_FILENO); 0/1 override it (tests) */
};

#define KUBE_EXEC_OPTIONS_INIT                                                                                         \
	{                                                                                                              \
		0, 0, -1                                                                                               \
	}

struct kube_exec_auth;

/* Validates rest->exec (apiVersion must be client.authentication.k8s.io/v1
 * or v1beta1) and, when provideClusterInfo is set, captures the cluster
 * (server, TLS settings, CA bundle from ca_data or ca_file, proxy-url,
 * extension config) for KUBERNETES_EXEC_INFO. rest is borrowed and must
 * outlive the state; opts is copied (NULL: defaults). Errors:
 * KUBE_ECONFIG (bad apiVersion, unreadable CA file), KUBE_ENOMEM. */
int kube_exec_auth_new(struct kube_exec_auth **out, const struct kube_rest *rest, const struct kube_exec_options *opts);
void kube_exec_auth_free(struct kube_exec_auth *auth);

/* The cached credential, running the plugin first when there is none or
 * it has expired. *out is borrowed until the next call on auth. Errors:
 * KUBE_EAUTH ("exec: executable X not found" with the installHint,
 * "exec: executable X failed with exit code N", interactive mode refused,
 * timeout, output too large, malformed ExecCredential); KUBE_ENOMEM. */
int kube_exec_auth_get(struct kube_exec_auth *auth, const struct kube_exec_credential **out);

/* Drops the cached credential so the next get runs the plugin again. */
void kube_exec_auth_reset(struct kube_exec_auth *auth);

/* ---- the process-wide cache (auth_exec_cache.c) ---- */

/* 1 when cred has an expiry that has passed. */
int kube_exec_credential_expired(const struct kube_exec_credential *cred);

/* The cache key of a plugin configuration (owned): apiVersion, command,
 * args, env, interactiveMode and the cluster info it is given. */
int kube_exec_cache_key(char **out, const struct kube_exec_config *config, const json_t *cluster);

/* Lookup and store run under kube_exec_cache_lock(), held across running the
 * plugin so that concurrent clients wait for one run instead of each
 * starting their own. lookup copies an unexpired entry into *out (release
 * with kube_exec_credential_clear) and returns 1, 0 when there is none, or
 * KUBE_ENOMEM; store keeps a copy (a full cache just stops sharing). */
void kube_exec_cache_lock(void);
void kube_exec_cache_unlock(void);
int kube_exec_cache_lookup(struct kube_exec_credential *out, const char *key);
int kube_exec_cache_store(const char *key, const struct kube_exec_credential *cred);

/* Drops one entry (after a 401), or all of them (tests). Take the lock
 * themselves. */
void kube_exec_cache_forget(const char *key);
void kube_exec_cache_clear(void);

#endif
