/* The legacy "oidc" auth-provider as client-go runs it (plugin/pkg/client/
 * auth/oidc): the id-token is used while its JWT exp is ahead of now by
 * more than 10 seconds; otherwise the refresh-token is exchanged at the
 * issuer's token endpoint (found through OpenID discovery) and the new
 * tokens are written back to the kubeconfig file the user came from. */
#ifndef KUBE_AUTH_OIDC_H
#define KUBE_AUTH_OIDC_H

#include <stdint.h>

#include "rest.h"

struct kube_oidc_auth;

/* Copies provider's config (the state never writes into rest). timeout_ms
 * bounds each request to the issuer (0: 30 seconds). Errors: KUBE_ECONFIG
 * ("Must provide idp-issuer-url", "Must provide client-id", bad
 * idp-certificate-authority-data), KUBE_ENOMEM. */
int kube_oidc_auth_new(struct kube_oidc_auth **out, const struct kube_auth_provider *provider, long timeout_ms);
void kube_oidc_auth_free(struct kube_oidc_auth *oidc);

/* The id-token to send, refreshing (and persisting) it first when it has
 * expired. *out is borrowed until the next call on oidc. Errors:
 * KUBE_EAUTH ("No valid id-token, and cannot refresh without
 * refresh-token", "ID Token is not a valid JWT", "failed to refresh
 * token: ...", "could not persist new tokens: ..."); KUBE_ENOMEM. */
int kube_oidc_auth_token(struct kube_oidc_auth *oidc, const char **out);

/* After a 401: forces a refresh on the next kube_oidc_auth_token and
 * returns 1 when there is a refresh-token to do it with, else 0. */
int kube_oidc_auth_invalidate(struct kube_oidc_auth *oidc);

/* client-go's idTokenExpired, inverted: *out_valid is 1 when the JWT's
 * payload (base64url, unverified) has an exp later than now_s + 10.
 * Errors: KUBE_EAUTH for a token that is not a JWT or whose claims do not
 * parse; KUBE_ENOMEM. */
int kube_oidc_id_token_valid(int *out_valid, const char *id_token, int64_t now_s);

#endif
