/* Discovery with an on-disk cache: the server's resource types normalised
 * to one JSON array, fetched through aggregated discovery (or the legacy
 * per-group documents), kept under <cache>/discovery/<host_port>/ for six
 * hours like kubectl's, but never in kubectl's own cache. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kube/discovery.h>

#include "client_internal.h"
#include "fs.h"
#include "internal.h"

#define DISCOVERY_TTL_S (6 * 60 * 60)
#define AGGREGATED_ACCEPT                                                                                              \
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"                                        \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

/* One normalised entry: {"group","version","resource","kind","namespaced",
 * "singular","shortNames":[...]} ; the array keeps discovery order, core
 * group first, preferred version first within a group. */

static char *cache_file(const kube_client *client)
{
	const char *server = client->rest->server;
	const char *host = strstr(server, "://");
	host = host ? host + 3 : server;
	kube_buf dir = KUBE_BUF_INIT;
	int rc = kube_buf_printf(&dir, "%s/discovery/", client->cache_dir);
	/* host:port/prefix -> host_port_prefix, as kubectl names its folders */
	for (const char *p = host; !rc && *p; p++) {
		char c = (*p == ':' || *p == '/' || *p == '[' || *p == ']') ? '_' : *p;
		rc = kube_buf_put(&dir, &c, 1);
	}
	if (!rc)
		rc = kube_buf_puts(&dir, "/resources.json");
	if (rc) {
		kube_buf_dispose(&dir);
		return NULL;
	}
	return kube_buf_detach(&dir);
}

static int mkdir_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int failed = mkdir(path, 0750) != 0 && errno != EEXIST;
		*p = '/';
		if (failed)
			return -1;
	}
	return 0;
}

static json_t *read_cache(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || time(NULL) - st.st_mtime > DISCOVERY_TTL_S)
		return NULL;
	json_t *doc = json_load_file(path, 0, NULL);
	if (!json_is_array(doc)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Best effort: a cache that cannot be written only costs a refetch. The
 * file is replaced as credentials are (kube_file_write_atomic): mkstemp's
 * O_EXCL temporary file is never a symlink someone planted, and rename()
 * replaces a symlink at path instead of writing where it points. */
static void write_cache(const char *path, const json_t *entries)
{
	char *dir = kube_strdup(path);
	char *text = json_dumps(entries, JSON_COMPACT);
	int err = !dir || !text ? ENOMEM : mkdir_parents(dir) != 0 ? errno : 0;
	if (!err)
		err = kube_file_write_atomic(path, text, strlen(text), 0600);
	if (err) {
		char why[128];
		kube_log(KUBE_LOG_DECISION, "discovery: not cached in %s: %s", path,
		         kube_errno_text(err, why, sizeof(why)));
	} else {
		kube_log(KUBE_LOG_DECISION, "discovery cached in %s", path);
	}
	kube_free(text);
	kube_free(dir);
}

static int add_entry(json_t *entries, const char *group, const char *version, const json_t *resource,
                     const char *kind_fallback)
{
	const char *name = json_string_value(json_object_get(resource, "resource"));
	if (!name)
		name = json_string_value(json_object_get(resource, "name"));
	if (!name || strchr(name, '/')) /* subresources are not resource types */
		return 0;
	const char *kind = json_string_value(json_object_get(json_object_get(resource, "responseKind"), "kind"));
	if (!kind)
		kind = json_string_value(json_object_get(resource, "kind"));
	const char *scope = json_string_value(json_object_get(resource, "scope"));
	int namespaced =
	        scope ? strcmp(scope, "Namespaced") == 0 : json_is_true(json_object_get(resource, "namespaced"));
	const char *singular = json_string_value(json_object_get(resource, "singularResource"));
	if (!singular)
		singular = json_string_value(json_object_get(resource, "singularName"));
	json_t *short_names = json_object_get(resource, "shortNames");
	short_names = json_is_array(short_names) ? json_incref(short_names) : json_array();
	/* "o" steals short_names, also when packing fails */
	json_t *entry = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:o}", "group", group, "version", version, "resource",
	                          name, "kind", kind ? kind : kind_fallback, "namespaced", namespaced, "singular",
	                          singular ? singular : "", "shortNames", short_names);
	if (!entry || json_array_append_new(entries, entry) != 0)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

/* Aggregated discovery: APIGroupDiscoveryList. */
static int add_aggregated(json_t *entries, const json_t *list)
{
	size_t i, j, k;
	json_t *group, *version, *resource;
	json_array_foreach(json_object_get(list, "items"), i, group)
	{
		const char *group_name = json_string_value(json_object_get(json_object_get(group, "metadata"), "name"));
		json_array_foreach(json_object_get(group, "versions"), j, version)
		{
			const char *version_name = json_string_value(json_object_get(version, "version"));
			if (!version_name)
				continue;
			json_array_foreach(json_object_get(version, "resources"), k, resource)
			{
				int rc = add_entry(entries, group_name ? group_name : "", version_name, resource, "");
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int get_json(kube_client *client, json_t **out, const char *path, const char *accept, int *aggregated)
{
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	int rc = kube_client_send(client, &resp, "GET", path, accept, NULL, NULL, 0);
	*out = NULL;
	if (!rc) {
		if (aggregated)
			*aggregated = resp.content_type && strstr(resp.content_type, "apidiscovery.k8s.io") != NULL;
		*out = json_loadb(kube_buf_cstr(&resp.body), resp.body.len, 0, NULL);
		if (!*out)
			rc = kube_error_set(KUBE_EPROTOCOL, "GET %s: discovery document is not JSON", path);
	}
	kube_response_dispose(&resp);
	return rc;
}

/* Legacy discovery: one APIResourceList per group version. */
static int add_legacy_group_version(kube_client *client, json_t *entries, const char *group, const char *version)
{
	json_t *list = NULL;
	char *path = group[0] ? kube_asprintf("/apis/%s/%s", group, version) : kube_asprintf("/api/%s", version);
	if (!path)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = get_json(client, &list, path, NULL, NULL);
	size_t i;
	json_t *resource;
	json_array_foreach(json_object_get(list, "resources"), i, resource)
	{
		if (!rc)
			rc = add_entry(entries, group, version, resource, "");
	}
	json_decref(list);
	kube_free(path);
	/* A broken aggregated API must not hide every other group. */
	if (rc && rc != KUBE_ENOMEM) {
		kube_log(KUBE_LOG_DECISION, "discovery: skipping %s/%s: %s", group, version,
		         kube_error_last()->message);
		rc = 0;
	}
	return rc;
}

static int fetch(kube_client *client, json_t **out)
{
	json_t *entries = json_array();
	json_t *core = NULL, *groups = NULL;
	int aggregated = 0;
	*out = NULL;
	if (!entries)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = get_json(client, &core, "/api", AGGREGATED_ACCEPT, &aggregated);
	if (!rc && aggregated) {
		rc = add_aggregated(entries, core);
		if (!rc)
			rc = get_json(client, &groups, "/apis", AGGREGATED_ACCEPT, NULL);
		if (!rc)
			rc = add_aggregated(entries, groups);
	} else if (!rc) {
		kube_log(KUBE_LOG_DECISION, "discovery: aggregated discovery not served; using per-group documents");
		rc = add_legacy_group_version(client, entries, "", "v1");
		if (!rc)
			rc = get_json(client, &groups, "/apis", NULL, NULL);
		size_t i;
		json_t *group;
		json_array_foreach(json_object_get(groups, "groups"), i, group)
		{
			const char *name = json_string_value(json_object_get(group, "name"));
			json_t *preferred = json_object_get(group, "preferredVersion");
			const char *version = json_string_value(json_object_get(preferred, "version"));
			if (!rc && name && version)
				rc = add_legacy_group_version(client, entries, name, version);
		}
	}
	json_decref(core);
	json_decref(groups);
	if (rc) {
		json_decref(entries);
		return rc;
	}
	*out = entries;
	return 0;
}

static int name_matches(const json_t *entry, const char *name)
{
	const char *resource = json_string_value(json_object_get(entry, "resource"));
	const char *singular = json_string_value(json_object_get(entry, "singular"));
	const char *kind = json_string_value(json_object_get(entry, "kind"));
	if (strcasecmp(resource, name) == 0 || (singular && *singular && strcasecmp(singular, name) == 0) ||
	    (kind && strcasecmp(kind, name) == 0))
		return 1;
	/* kubectl derives the singular from the kind when discovery has none */
	size_t i;
	json_t *short_name;
	json_array_foreach(json_object_get(entry, "shortNames"), i, short_name)
	{
		if (strcasecmp(json_string_value(short_name), name) == 0)
			return 1;
	}
	return 0;
}

/* The first entry matching (resource, version, group), version/group NULL
 * meaning any; for "any version" only a group's first (preferred) version
 * counts. */
static const json_t *lookup(const json_t *entries, const char *resource, const char *version, const char *group)
{
	size_t i;
	json_t *entry;
	const char *preferred_group = NULL, *preferred_version = NULL;
	json_array_foreach(entries, i, entry)
	{
		const char *entry_group = json_string_value(json_object_get(entry, "group"));
		const char *entry_version = json_string_value(json_object_get(entry, "version"));
		/* Track each group's first version: it is the preferred one. */
		if (!preferred_group || strcmp(preferred_group, entry_group) != 0) {
			preferred_group = entry_group;
			preferred_version = entry_version;
		}
		if (group && strcmp(group, entry_group) != 0)
			continue;
		if (version ? strcmp(version, entry_version) != 0 : strcmp(preferred_version, entry_version) != 0)
			continue;
		if (name_matches(entry, resource))
			return entry;
	}
	return NULL;
}

static const json_t *resolve_in(const json_t *entries, const char *name)
{
	const json_t *hit = NULL;
	char copy[512];
	if (strlen(name) >= sizeof(copy))
		return NULL; /* longer than any resource.version.group */
	(void)snprintf(copy, sizeof(copy), "%s", name);
	char *dot = strchr(copy, '.');
	if (!dot)
		return lookup(entries, copy, NULL, NULL);
	*dot = '\0';
	char *rest = dot + 1;
	char *second_dot = strchr(rest, '.');
	/* resource.version.group first, as kubectl's ParseResourceArg does */
	if (second_dot) {
		*second_dot = '\0';
		hit = lookup(entries, copy, rest, second_dot + 1);
		*second_dot = '.';
	}
	return hit ? hit : lookup(entries, copy, NULL, rest);
}

static int copy_field(char *dst, size_t size, const json_t *entry, const char *key)
{
	const char *value = json_string_value(json_object_get(entry, key));
	if (!value || strlen(value) >= size)
		return kube_error_set(KUBE_EPROTOCOL, "discovery: %s \"%s\" is longer than %zu bytes", key,
		                      value ? value : "", size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int fill(kube_resource *out, const json_t *entry)
{
	int rc = copy_field(out->group, sizeof(out->group), entry, "group");
	if (!rc)
		rc = copy_field(out->version, sizeof(out->version), entry, "version");
	if (!rc)
		rc = copy_field(out->resource, sizeof(out->resource), entry, "resource");
	if (!rc)
		rc = copy_field(out->kind, sizeof(out->kind), entry, "kind");
	out->namespaced = json_is_true(json_object_get(entry, "namespaced"));
	return rc;
}

/* The entry for apiVersion + kind, exact match. */
static const json_t *resolve_kind_in(const json_t *entries, const char *api_version, const char *kind)
{
	const char *slash = strchr(api_version, '/');
	size_t group_len = slash ? (size_t)(slash - api_version) : 0;
	const char *version = slash ? slash + 1 : api_version;
	size_t i;
	json_t *entry;
	json_array_foreach(entries, i, entry)
	{
		const char *entry_group = json_string_value(json_object_get(entry, "group"));
		if (strlen(entry_group) != group_len || strncmp(entry_group, api_version, group_len) != 0)
			continue;
		if (strcmp(json_string_value(json_object_get(entry, "version")), version) == 0 &&
		    strcmp(json_string_value(json_object_get(entry, "kind")), kind) == 0)
			return entry;
	}
	return NULL;
}

/* Looks name (or apiVersion + kind) up in the cached discovery, refetching
 * once when a cached copy misses. */
static int resolve(kube_client *client, kube_resource *out, const char *name, const char *api_version)
{
	char *path = cache_file(client);
	json_t *entries = NULL;
	int rc = 0;
	if (!path)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int from_cache = (entries = read_cache(path)) != NULL;
	if (from_cache)
		kube_log(KUBE_LOG_DECISION, "discovery from cache %s", path);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!entries) {
			if ((rc = fetch(client, &entries)) != 0)
				break;
			write_cache(path, entries);
		}
		const json_t *hit =
		        api_version ? resolve_kind_in(entries, api_version, name) : resolve_in(entries, name);
		if (hit) {
			rc = fill(out, hit);
			break;
		}
		if (api_version)
			rc = kube_error_set(KUBE_ENOTFOUND, "no matches for kind \"%s\" in version \"%s\"", name,
			                    api_version);
		else
			rc = kube_error_set(KUBE_ENOTFOUND, "the server doesn't have a resource type \"%s\"", name);
		if (!from_cache)
			break;
		/* A stale cache may predate a CRD: refetch once, like kubectl. */
		json_decref(entries);
		entries = NULL;
		from_cache = 0;
	}
	json_decref(entries);
	kube_free(path);
	return rc;
}

int kube_discovery_resolve(kube_client *client, kube_resource *out, const char *name)
{
	return resolve(client, out, name, NULL);
}

int kube_discovery_resolve_kind(kube_client *client, kube_resource *out, const char *api_version, const char *kind)
{
	return resolve(client, out, kind, api_version);
}

int kube_discovery_invalidate(kube_client *client)
{
	char *path = cache_file(client);
	if (!path)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	if (unlink(path) != 0 && errno != ENOENT) {
		int rc = kube_error_set(KUBE_ERROR, "cannot remove %s: %s", path, strerror(errno));
		kube_free(path);
		return rc;
	}
	kube_free(path);
	return 0;
}
