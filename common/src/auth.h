/* Per-client credential state: static token, tokenFile (re-read when it
 * changes), exec credential plugins (cached until expirationTimestamp,
 * re-run once on 401), the legacy oidc auth-provider (refreshed and
 * written back), and clear refusals for gcp/azure. */
#ifndef KUBE_AUTH_H
#define KUBE_AUTH_H

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

#endif
