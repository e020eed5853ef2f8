/* Who the API server says the caller is (a SelfSubjectReview), cached on
 * disk for an hour under a digest of the server, the credential and the
 * impersonation, never the credential itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kube/whoami.h>

#include "auth.h"
#include "client_internal.h"
#include "digest.h"
#include "fs.h"
#include "internal.h"

#define WHOAMI_TTL_S     (60 * 60)
#define WHOAMI_CACHE_MAX ((size_t)64 * 1024)

/* kubectl auth whoami asks v1 first and falls back to the beta and alpha
 * APIs of older servers. */
static const char *const review_versions[] = {"v1", "v1beta1", "v1alpha1"};

/* ---- the cache key ------------------------------------------------------------------------------------------- */

/* Hex SHA-256 of the server, the credential's fingerprint and the
 * impersonation settings: whatever changes who the server sees. */
static int cache_key(kube_client *client, char out[KUBE_AUTH_FINGERPRINT_SIZE])
{
	const struct kube_rest *rest = client->rest;
	char credential[KUBE_AUTH_FINGERPRINT_SIZE];
	struct kube_digest digest;

	out[0] = '\0';
	int rc = kube_auth_fingerprint(client->auth, credential);
	if (rc)
		return rc;
	rc = kube_digest_start(&digest, "whoami");
	if (!rc)
		rc = kube_digest_string(&digest, 'v', "rollguard-whoami-1");
	if (!rc)
		rc = kube_digest_string(&digest, 's', rest->server);
	if (!rc)
		rc = kube_digest_string(&digest, 'c', credential);
	if (!rc)
		rc = kube_digest_string(&digest, 'u', rest->impersonate_user);
	for (char **group = rest->impersonate_groups; !rc && group && *group; group++)
		rc = kube_digest_string(&digest, 'g', *group);
	if (!rc)
		rc = kube_digest_string(&digest, 'i', rest->impersonate_uid);
	for (char **extra = rest->impersonate_extra; !rc && extra && *extra; extra++)
		rc = kube_digest_string(&digest, 'e', *extra);
	if (!rc)
		rc = kube_digest_finish(&digest, out);
	kube_digest_dispose(&digest);
	return rc;
}

/* ---- the cache file ------------------------------------------------------------------------------------------ */

static int copy_identity(kube_identity *out, const char *username, const char *uid)
{
	if (!username || !*username || strlen(username) >= sizeof(out->username) ||
	    (uid && strlen(uid) >= sizeof(out->uid)))
		return -1;
	(void)snprintf(out->username, sizeof(out->username), "%s", username);
	(void)snprintf(out->uid, sizeof(out->uid), "%s", uid ? uid : "");
	return 0;
}

/* 1 with *out filled when path holds a fresh answer; 0 otherwise. Only a
 * private regular file of ours is believed. */
static int cache_read(kube_identity *out, const char *path)
{
	kube_buf data = KUBE_BUF_INIT;
	struct stat st;
	json_t *doc = NULL;
	int hit = 0;
	int rc = kube_file_load(&data, path, WHOAMI_CACHE_MAX, &st);
	if (rc == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 077) == 0)
		doc = json_loadb(kube_buf_cstr(&data), data.len, 0, NULL);
	else if (rc != ENOENT)
		kube_log(KUBE_LOG_DECISION, "whoami: ignoring the cache file %s", path);
	json_int_t expires = json_integer_value(json_object_get(doc, "expires"));
	time_t now = time(NULL);
	if (doc && expires > now && expires <= now + WHOAMI_TTL_S &&
	    copy_identity(out, json_string_value(json_object_get(doc, "username")),
	                  json_string_value(json_object_get(doc, "uid"))) == 0)
		hit = 1;
	json_decref(doc);
	kube_buf_dispose(&data);
	return hit;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		int failed = mkdir(path, 0700) != 0 && errno != EEXIST;
		*p = saved;
		if (failed || !saved)
			return failed ? -1 : 0;
	}
}

/* Best effort: a cache that cannot be written only costs a request. */
static void cache_write(const char *dir, const char *path, const kube_identity *identity)
{
	char *dir_copy = kube_strdup(dir);
	json_t *doc = json_pack("{s:s, s:s, s:I}", "username", identity->username, "uid", identity->uid, "expires",
	                        (json_int_t)time(NULL) + WHOAMI_TTL_S);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int err = !dir_copy || !text ? ENOMEM : make_dirs(dir_copy) != 0 ? errno : 0;
	if (!err)
		err = kube_file_write_atomic(path, text, strlen(text), 0600);
	if (err) {
		char why[128];
		kube_log(KUBE_LOG_DECISION, "whoami: not cached in %s: %s", dir,
		         kube_errno_text(err, why, sizeof(why)));
	}
	kube_free(text);
	json_decref(doc);
	kube_free(dir_copy);
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
	char key[KUBE_AUTH_FINGERPRINT_SIZE];
	char *dir = NULL, *path = NULL;
	memset(out, 0, sizeof(*out));
	int rc = cache_key(client, key);
	if (rc == KUBE_EAUTH || rc == KUBE_ECONFIG)
		return rc; /* no credential: the request could not be sent either */
	if (rc) {
		/* the cache is an optimisation: without a key, ask */
		kube_log(KUBE_LOG_DECISION, "whoami: not using the cache: %s", kube_error_last()->message);
		kube_error_clear();
		rc = 0;
	} else {
		dir = kube_asprintf("%s/whoami", client->cache_dir);
		path = dir ? kube_asprintf("%s/%s.json", dir, key) : NULL;
	}
	if (path && cache_read(out, path)) {
		kube_log(KUBE_LOG_DECISION, "whoami: %s (cached)", out->username);
		goto done;
	}
	rc = review(client, out);
	if (!rc) {
		kube_log(KUBE_LOG_DECISION, "whoami: %s (SelfSubjectReview)", out->username);
		if (path)
			cache_write(dir, path, out);
	}
done:
	if (rc)
		memset(out, 0, sizeof(*out));
	kube_free(path);
	kube_free(dir);
	return rc;
}
