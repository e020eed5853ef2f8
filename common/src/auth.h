/* Per-client credential state: static token, tokenFile (re-read when it
 * changes), exec credential plugins (cached until expirationTimestamp,
 * re-run once on 401), the legacy oidc auth-provider (refreshed and
 * written back), and clear refusals for gcp/azure. */
#ifndef KUBE_AUTH_H
#define KUBE_AUTH_H

#include "digest.h"
#include "rest.h"

struct kube_auth;

/* What to attach to the next request. All strings borrowed from the auth
 * state and valid until the next kube_auth_* call. */
struct kube_credentials {
	const char *bearer;   /* Authorization: Bearer, or NULL */
	const char *username; /* basic auth, or NULL */
	const char *password;
	const char *cert_pem; /* client certificate from an exec plugin, or NULL */
	const char *key_pem;
};

/* Prepares credential state for rest (borrowed; must outlive the state).
 * Errors: KUBE_EAUTH for an unsupported auth-provider (gcp/azure name the
 * replacement plugin), KUBE_ENOMEM. */
int kube_auth_new(struct kube_auth **out, const struct kube_rest *rest);
void kube_auth_free(struct kube_auth *auth);

/* Fills creds for the next request, running the exec plugin or refreshing
 * the oidc token when the cached credential is missing or expired.
 * Errors: KUBE_EAUTH (plugin missing -> message carries installHint;
 * plugin failed; malformed ExecCredential; oidc refresh failed). */
int kube_auth_get(struct kube_auth *auth, struct kube_credentials *creds);

/* Called when the server answered 401. Drops cached credentials and
 * returns 1 when retrying the request once is worthwhile (an exec plugin
 * or a refreshable credential), 0 otherwise. */
int kube_auth_unauthorized(struct kube_auth *auth);

/* Size of a kube_auth_fingerprint: 64 lowercase hex digits and a NUL. */
#define KUBE_AUTH_FINGERPRINT_SIZE KUBE_DIGEST_HEX_SIZE

/* Writes to out a SHA-256 digest, in hex, of the credential the next
 * request sends: its kind, the bearer token (static, tokenFile, exec or
 * oidc), the basic-auth user and password, and the client certificate (an
 * exec plugin's, inline data, or the file's contents). The same credential
 * gives the same digest in every process, a different one another digest,
 * so caches can be keyed by who is asking without keeping the credential;
 * nothing of it is logged. Like kube_auth_get it may run the exec plugin or
 * refresh an oidc token. Errors: those of kube_auth_get; KUBE_ERROR when
 * the digest fails; KUBE_ENOMEM. */
int kube_auth_fingerprint(struct kube_auth *auth, char out[KUBE_AUTH_FINGERPRINT_SIZE]);

#endif
