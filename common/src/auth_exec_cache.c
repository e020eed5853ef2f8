/* The process-wide cache of exec credentials, keyed by the plugin's
 * configuration, as client-go keeps one authenticator per configuration:
 * the clients a program opens on several threads (probecheck's concurrent
 * lists) run a plugin once, not once each. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "auth_exec.h"
#include "internal.h"
#include "secret.h"

#define EXEC_CACHE_SLOTS 16

struct cache_entry {
	char *key;
	struct kube_exec_credential cred;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[EXEC_CACHE_SLOTS];

int kube_exec_credential_expired(const struct kube_exec_credential *cred)
{
	struct timespec now;
	if (!cred->has_expiry)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec > cred->expiry_s ||
	       ((int64_t)now.tv_sec == cred->expiry_s && now.tv_nsec > cred->expiry_ns);
}

static int add_field(kube_buf *key, const char *value)
{
	/* length-prefixed, so no value can fake a field boundary */
	return kube_buf_printf(key, "%zu:%s;", value ? strlen(value) : 0, value ? value : "");
}

int kube_exec_cache_key(char **out, const struct kube_exec_config *config, const json_t *cluster)
{
	kube_buf key = KUBE_BUF_INIT;
	/* no JSON_SORT_KEYS: jansson 2.14 drops a key, not the dump, when an
	 * allocation fails while sorting (the object is built in a fixed order) */
	char *cluster_text = cluster ? json_dumps(cluster, JSON_COMPACT) : NULL;
	int rc = cluster && !cluster_text ? kube_error_set(KUBE_ENOMEM, "out of memory") : 0;
	*out = NULL;
	if (!rc)
		rc = add_field(&key, config->api_version);
	if (!rc)
		rc = add_field(&key, config->command);
	for (char **arg = config->args; !rc && arg && *arg; arg++)
		rc = add_field(&key, *arg);
	if (!rc)
		rc = kube_buf_puts(&key, "|");
	for (char **env = config->env; !rc && env && *env; env++)
		rc = add_field(&key, *env);
	if (!rc)
		rc = add_field(&key, config->interactive_mode);
	if (!rc)
		rc = add_field(&key, cluster_text);
	kube_free(cluster_text);
	if (rc) {
		kube_buf_dispose(&key);
		return rc;
	}
	*out = kube_buf_detach(&key);
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}

void kube_exec_cache_lock(void)
{
	(void)pthread_mutex_lock(&cache_lock);
}

void kube_exec_cache_unlock(void)
{
	(void)pthread_mutex_unlock(&cache_lock);
}

static struct cache_entry *find(const char *key)
{
	for (size_t i = 0; i < EXEC_CACHE_SLOTS; i++)
		if (cache[i].key && strcmp(cache[i].key, key) == 0)
			return &cache[i];
	return NULL;
}

static int copy_string(char **out, const char *value)
{
	*out = NULL;
	if (value && !(*out = kube_strdup(value)))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

static int copy_credential(struct kube_exec_credential *out, const struct kube_exec_credential *cred)
{
	memset(out, 0, sizeof(*out));
	int rc = copy_string(&out->token, cred->token);
	if (!rc)
		rc = copy_string(&out->cert_pem, cred->cert_pem);
	if (!rc)
		rc = copy_string(&out->key_pem, cred->key_pem);
	if (rc) {
		kube_exec_credential_clear(out);
		return rc;
	}
	out->has_expiry = cred->has_expiry;
	out->expiry_s = cred->expiry_s;
	out->expiry_ns = cred->expiry_ns;
	return 0;
}

int kube_exec_cache_lookup(struct kube_exec_credential *out, const char *key)
{
	struct cache_entry *entry = find(key);
	if (!entry || kube_exec_credential_expired(&entry->cred))
		return 0;
	int rc = copy_credential(out, &entry->cred);
	return rc ? rc : 1;
}

int kube_exec_cache_store(const char *key, const struct kube_exec_credential *cred)
{
	struct cache_entry *entry = find(key);
	for (size_t i = 0; !entry && i < EXEC_CACHE_SLOTS; i++)
		if (!cache[i].key)
			entry = &cache[i];
	if (!entry)
		return 0; /* full: only the sharing is lost */
	struct kube_exec_credential copy;
	char *key_copy = entry->key ? entry->key : kube_strdup(key);
	if (!key_copy)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = copy_credential(&copy, cred);
	if (rc) {
		if (key_copy != entry->key)
			kube_free(key_copy);
		return rc;
	}
	kube_exec_credential_clear(&entry->cred);
	entry->key = key_copy;
	entry->cred = copy;
	return 0;
}

static void drop(struct cache_entry *entry)
{
	kube_exec_credential_clear(&entry->cred);
	kube_free(entry->key);
	entry->key = NULL;
}

void kube_exec_cache_forget(const char *key)
{
	kube_exec_cache_lock();
	struct cache_entry *entry = key ? find(key) : NULL;
	if (entry)
		drop(entry);
	kube_exec_cache_unlock();
}

void kube_exec_cache_clear(void)
{
	kube_exec_cache_lock();
	for (size_t i = 0; i < EXEC_CACHE_SLOTS; i++)
		if (cache[i].key)
			drop(&cache[i]);
	kube_exec_cache_unlock();
}
