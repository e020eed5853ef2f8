/* Who the API server says the caller is (a SelfSubjectReview), cached on
 * disk for an hour under a digest of the server, the credential and the
 * impersonation, never the credential itself. */
#include <stdio.h>
#include <string.h>

#include <kube/whoami.h>

#include "cred_cache.h"
#include "internal.h"

#define WHOAMI_TTL_S     (60 * 60)
#define WHOAMI_CACHE_MAX ((size_t)64 * 1024)

/* kubectl auth whoami asks v1 first and falls back to the beta and alpha
 * APIs of older servers. */
static const char *const review_versions[] = {"v1", "v1beta1", "v1alpha1"};

/* ---- the cache file ------------------------------------------------------------------------------------------ */

static const struct kube_cred_cache_kind whoami_cache = {
        "whoami", "rollguard-whoami-1", "whoami", WHOAMI_TTL_S, WHOAMI_CACHE_MAX,
};

static int copy_identity(kube_identity *out, const char *username, const char *uid)
{
	if (!username || !*username || strlen(username) >= sizeof(out->username) ||
	    (uid && strlen(uid) >= sizeof(out->uid)))
		return -1;
	(void)snprintf(out->username, sizeof(out->username), "%s", username);
	(void)snprintf(out->uid, sizeof(out->uid), "%s", uid ? uid : "");
	return 0;
}

/* 1 with *out filled when the cache holds a fresh answer; 0 otherwise. */
static int cache_read(kube_identity *out, const struct kube_cred_cache *cache)
{
	json_t *doc = kube_cred_cache_read(cache);
	int hit = doc && copy_identity(out, json_string_value(json_object_get(doc, "username")),
	                               json_string_value(json_object_get(doc, "uid"))) == 0;
	json_decref(doc);
	return hit;
}

/* Best effort: a cache that cannot be written only costs a request. */
static void cache_write(const struct kube_cred_cache *cache, const kube_identity *identity)
{
	json_t *doc = json_pack("{s:s, s:s}", "username", identity->username, "uid", identity->uid);
	kube_cred_cache_write(cache, doc);
	json_decref(doc);
}

/* ---- the review ---------------------------------------------------------------------------------------------- */

static int review(kube_client *client, kube_identity *out)
{
	json_t *reply = NULL;
	int rc = KUBE_ENOTFOUND;
	for (size_t i = 0; rc == KUBE_ENOTFOUND && i < KUBE_ARRAY_SIZE(review_versions); i++) {
		char path[96], api_version[64];
		(void)snprintf(path, sizeof(path), "/apis/authentication.k8s.io/%s/selfsubjectreviews",
		               review_versions[i]);
		(void)snprintf(api_version, sizeof(api_version), "authentication.k8s.io/%s", review_versions[i]);
		json_t *body = json_pack("{s:s, s:s}", "apiVersion", api_version, "kind", "SelfSubjectReview");
		if (!body)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		rc = kube_client_request_json(client, &reply, "POST", path, NULL, body);
		json_decref(body);
	}
	if (rc)
		return kube_error_wrap("whoami");
	const json_t *user = json_object_get(json_object_get(reply, "status"), "userInfo");
	if (copy_identity(out, json_string_value(json_object_get(user, "username")),
	                  json_string_value(json_object_get(user, "uid"))) != 0)
		rc = kube_error_set(KUBE_EPROTOCOL, "whoami: the SelfSubjectReview names no user, or one too long");
	json_decref(reply);
	return rc;
}

int kube_whoami(kube_client *client, kube_identity *out)
{
	struct kube_cred_cache cache;
	memset(out, 0, sizeof(*out));
	int rc = kube_cred_cache_open(&cache, client, &whoami_cache, NULL);
	if (rc)
		return rc; /* no credential: the request could not be sent either */
	if (cache_read(out, &cache)) {
		kube_log(KUBE_LOG_DECISION, "whoami: %s (cached)", out->username);
		goto done;
	}
	rc = review(client, out);
	if (!rc) {
		kube_log(KUBE_LOG_DECISION, "whoami: %s (SelfSubjectReview)", out->username);
		cache_write(&cache, out);
	}
done:
	if (rc)
		memset(out, 0, sizeof(*out));
	kube_cred_cache_dispose(&cache);
	return rc;
}
