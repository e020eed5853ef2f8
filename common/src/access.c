/* What the caller may do in a namespace (a SelfSubjectRulesReview), its
 * complete answers cached on disk for ten minutes under a digest of the
 * server, the credential, the impersonation and the namespace, and
 * believed only to grant (kube/access.h). */
#include <kube/access.h>

#include "cred_cache.h"
#include "internal.h"

#define RULES_TTL_S     (10 * 60)
#define RULES_CACHE_MAX ((size_t)1024 * 1024)

static const struct kube_cred_cache_kind rules_cache = {
        "rules", "rollguard-rules-1", "rules review", RULES_TTL_S, RULES_CACHE_MAX,
};

/* The cached rules of the review (owned), or NULL. */
static json_t *cache_read(const struct kube_cred_cache *cache)
{
	json_t *doc = kube_cred_cache_read(cache);
	json_t *rules = json_object_get(doc, "rules");
	if (json_is_array(rules))
		json_incref(rules);
	else
		rules = NULL;
	json_decref(doc);
	return rules;
}

/* Best effort: a cache that cannot be written only costs a request. */
static void cache_write(const struct kube_cred_cache *cache, json_t *rules)
{
	json_t *doc = json_pack("{s:O}", "rules", rules);
	kube_cred_cache_write(cache, doc);
	json_decref(doc);
}

/* One SelfSubjectRulesReview of ns: *out its status (owned), NULL when
 * the reply has none. */
static int review(kube_client *client, const char *ns, json_t **out)
{
	json_t *reply = NULL;
	*out = NULL;
	json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "authorization.k8s.io/v1", "kind",
	                         "SelfSubjectRulesReview", "spec", "namespace", ns);
	if (!body)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = kube_client_request_json(client, &reply, "POST",
	                                  "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", "application/json",
	                                  body);
	json_decref(body);
	if (rc)
		return rc;
	json_t *status = json_object_get(reply, "status");
	if (json_is_object(status))
		*out = json_incref(status);
	json_decref(reply);
	return 0;
}

int kube_rules_review(kube_client *client, const char *ns, kube_rules_grant_fn grants, void *data, json_t **out_rules,
                      kube_rules_source *out_source)
{
	struct kube_cred_cache cache;
	json_t *status = NULL;
	*out_rules = NULL;
	*out_source = KUBE_RULES_INCOMPLETE;
	int rc = kube_cred_cache_open(&cache, client, &rules_cache, ns);
	if (rc)
		return rc; /* no credential: the request could not be sent either */
	if (grants) {
		json_t *cached = cache_read(&cache);
		if (cached && grants(cached, data)) {
			*out_rules = cached;
			*out_source = KUBE_RULES_CACHED;
			goto done;
		}
		json_decref(cached);
	}
	rc = review(client, ns, &status);
	if (rc)
		goto done;
	json_t *rules = json_object_get(status, "resourceRules");
	*out_rules = json_is_array(rules) ? json_incref(rules) : json_array();
	if (!*out_rules) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	if (status && !json_is_true(json_object_get(status, "incomplete"))) {
		*out_source = KUBE_RULES_REVIEWED;
		cache_write(&cache, *out_rules);
	}
done:
	json_decref(status);
	kube_cred_cache_dispose(&cache);
	return rc;
}
