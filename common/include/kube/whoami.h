/* Who the API server says the caller is (SelfSubjectReview,
 * authentication.k8s.io/v1, what `kubectl auth whoami` asks), remembered
 * per credential so commands that record the acting user in an audit trail
 * do not pay a request each time. */
#ifndef KUBE_WHOAMI_H
#define KUBE_WHOAMI_H

#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_identity {
	/* 512: a service account's name, "system:serviceaccount:<ns>:<name>",
	 * reaches 339 bytes */
	char username[512];
	char uid[128];
} kube_identity;

/* Fills *out with the user the server authenticates this client as
 * (after impersonation). The answer is cached on disk under the client's
 * cache directory ("whoami/"), keyed by a SHA-256 digest of the server URL,
 * the credential in use (token, client certificate or basic user) and the
 * impersonation settings, for an hour; the credential itself is never
 * written anywhere. A cache that cannot be read or written is ignored.
 * One request when not cached. Errors: those of kube_client_request
 * (KUBE_EAUTH, KUBE_EFORBIDDEN, ...); KUBE_EPROTOCOL when the reply names
 * no user or one longer than the fields above. */
int kube_whoami(kube_client *client, kube_identity *out);

#ifdef __cplusplus
}
#endif
#endif
