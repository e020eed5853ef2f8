/* Answers about the caller cached on disk under a digest of the server,
 * the credential and the impersonation, never the credential itself
 * (cred_cache.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cred_cache.h"

#include "auth.h"
#include "client_internal.h"
#include "fs.h"
#include "internal.h"

/* ---- the key ------------------------------------------------------------------------------------------------- */

int kube_cred_cache_key(kube_client *client, const struct kube_cred_cache_kind *kind, const char *scope,
                        char out[KUBE_DIGEST_HEX_SIZE])
{
	const struct kube_rest *rest = client->rest;
	char credential[KUBE_AUTH_FINGERPRINT_SIZE];
	struct kube_digest digest;

	out[0] = '\0';
	int rc = kube_auth_fingerprint(client->auth, credential);
	if (rc)
		return rc;
	rc = kube_digest_start(&digest, kind->dir);
	if (!rc)
		rc = kube_digest_string(&digest, 'v', kind->version);
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
	/* after every field of the identity, and only when given: the keys of
	 * a cache without a scope stay what they were before scopes */
	if (!rc && scope)
		rc = kube_digest_string(&digest, 'n', scope);
	if (!rc)
		rc = kube_digest_finish(&digest, out);
	kube_digest_dispose(&digest);
	return rc;
}

int kube_cred_cache_open(struct kube_cred_cache *cache, kube_client *client, const struct kube_cred_cache_kind *kind,
                         const char *scope)
{
	char key[KUBE_DIGEST_HEX_SIZE];
	memset(cache, 0, sizeof(*cache));
	cache->kind = kind;
	int rc = kube_cred_cache_key(client, kind, scope, key);
	if (rc == KUBE_EAUTH || rc == KUBE_ECONFIG)
		return rc; /* no credential: the request could not be sent either */
	if (rc) {
		/* the cache is an optimisation: without a key, ask */
		kube_log(KUBE_LOG_DECISION, "%s: not using the cache: %s", kind->what, kube_error_last()->message);
		kube_error_clear();
		return 0;
	}
	cache->dir = kube_asprintf("%s/%s", client->cache_dir, kind->dir);
	cache->path = cache->dir ? kube_asprintf("%s/%s.json", cache->dir, key) : NULL;
	if (!cache->path)
		kube_cred_cache_dispose(cache);
	return 0;
}

void kube_cred_cache_dispose(struct kube_cred_cache *cache)
{
	kube_free(cache->path);
	kube_free(cache->dir);
	cache->path = NULL;
	cache->dir = NULL;
}

/* ---- reading ------------------------------------------------------------------------------------------------- */

/* 1 when st is a regular file of ours that no one else may read or
 * write. */
static int private_file(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() && (st->st_mode & 077) == 0;
}

json_t *kube_cred_cache_read(const struct kube_cred_cache *cache)
{
	const struct kube_cred_cache_kind *kind = cache->kind;
	kube_buf data = KUBE_BUF_INIT;
	struct stat link, st;
	json_t *doc = NULL;
	if (!cache->path)
		return NULL;
	/* the name itself must be the file: a symlink is not believed, whatever
	 * it points at, and what is read must be what was looked at */
	int rc = lstat(cache->path, &link) != 0 ? errno : !private_file(&link) ? EPERM : 0;
	if (!rc)
		rc = kube_file_load(&data, cache->path, kind->max_bytes, &st);
	if (rc == 0 && private_file(&st) && st.st_dev == link.st_dev && st.st_ino == link.st_ino)
		doc = json_loadb(kube_buf_cstr(&data), data.len, 0, NULL);
	else if (rc != ENOENT)
		kube_log(KUBE_LOG_DECISION, "%s: ignoring the cache file %s", kind->what, cache->path);
	kube_buf_dispose(&data);
	json_int_t expires = json_integer_value(json_object_get(doc, "expires"));
	time_t now = time(NULL);
	if (doc && (expires <= now || expires > now + kind->ttl_s)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

/* ---- writing ------------------------------------------------------------------------------------------------- */

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

void kube_cred_cache_write(const struct kube_cred_cache *cache, json_t *doc)
{
	const struct kube_cred_cache_kind *kind = cache->kind;
	if (!cache->path)
		return;
	char *dir_copy = kube_strdup(cache->dir);
	char *text = NULL;
	if (doc && json_object_set_new(doc, "expires", json_integer((json_int_t)time(NULL) + kind->ttl_s)) == 0)
		text = json_dumps(doc, JSON_COMPACT);
	int err = !dir_copy || !text ? ENOMEM : 0;
	if (!err && strlen(text) > kind->max_bytes) {
		kube_log(KUBE_LOG_DECISION, "%s: not cached in %s: larger than %zu bytes", kind->what, cache->dir,
		         kind->max_bytes);
	} else {
		if (!err)
			err = make_dirs(dir_copy) != 0 ? errno : 0;
		if (!err)
			err = kube_file_write_atomic(cache->path, text, strlen(text), 0600);
		if (err) {
			char why[128];
			kube_log(KUBE_LOG_DECISION, "%s: not cached in %s: %s", kind->what, cache->dir,
			         kube_errno_text(err, why, sizeof(why)));
		}
	}
	kube_free(text);
	kube_free(dir_copy);
}
