/* What the API server lets the caller do in a namespace
 * (SelfSubjectRulesReview, authorization.k8s.io/v1, what `kubectl auth
 * can-i --list` asks), remembered per credential so that commands which
 * check their rights before their first change do not pay a request each
 * time. */
#ifndef KUBE_ACCESS_H
#define KUBE_ACCESS_H

#include <jansson.h>
#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The caller's test of a list of rules (an array of status.resourceRules
 * entries: verbs, apiGroups, resources, resourceNames): 1 when they grant
 * everything the caller needs, 0 otherwise. data is the caller's. */
typedef int (*kube_rules_grant_fn)(const json_t *rules, void *data);

/* Where the rules kube_rules_review returns come from. */
typedef enum kube_rules_source {
	/* A review sent now, which the server says is complete. */
	KUBE_RULES_REVIEWED,
	/* A review sent now, which the server says is incomplete (an
	 * authorizer that cannot list its rules, such as a webhook), or a
	 * reply without a status: a need the rules do not grant may still be
	 * allowed, so they cannot refuse anything. */
	KUBE_RULES_INCOMPLETE,
	/* The cache, and grants said they grant every need: no request. */
	KUBE_RULES_CACHED,
} kube_rules_source;

/* Sets *out_rules (owned, an array, empty when the reply lists none) to
 * the resource rules the server holds for this client (after
 * impersonation) in namespace ns, and *out_source to where they come from.
 *
 * The cache only ever grants: when grants is not NULL and the rules of an
 * earlier complete review of ns by the same credential are cached,
 * grants(rules, data) is asked, and when it says 1 those rules are
 * returned (KUBE_RULES_CACHED) with no request. Otherwise (no cache, an
 * expired one, or a need the cached rules do not grant) one
 * SelfSubjectRulesReview is sent and its answer returned, so a need that
 * is not granted is always decided by the server's answer of now, never
 * by the cache; the caller checks those rules itself (grants is not asked
 * again).
 *
 * A complete answer is written to the cache whether or not it grants the
 * caller's needs, replacing the earlier one. It is kept on disk under the
 * client's cache directory ("rules/"), keyed by a SHA-256 digest of the
 * server URL, the credential in use, the impersonation settings and ns,
 * for ten minutes: a right revoked meanwhile may still pass this check
 * (the server still refuses the request itself). The file holds the
 * rules and their expiry only; the credential is never written anywhere.
 * An incomplete answer and an error are never written, and a cache that
 * cannot be read or written is ignored.
 *
 * Errors: those of kube_client_request, unwrapped (KUBE_EAUTH,
 * KUBE_EFORBIDDEN, ...); KUBE_EPROTOCOL when the reply is not JSON;
 * KUBE_ENOMEM. On error *out_rules is NULL. */
int kube_rules_review(kube_client *client, const char *ns, kube_rules_grant_fn grants, void *data, json_t **out_rules,
                      kube_rules_source *out_source);

#ifdef __cplusplus
}
#endif
#endif
