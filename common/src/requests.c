/* Typed requests on resources: paths, get, paginated list, create, update,
 * patch, delete, logs and eviction. */
#include <pthread.h>
#include <string.h>

#include "client_internal.h"
#include "internal.h"

int kube_resource_path(kube_buf *out, const kube_resource *res, const char *ns, const char *name,
                       const char *subresource)
{
	int rc;
	if (res->group[0])
		rc = kube_buf_printf(out, "/apis/%s/%s", res->group, res->version);
	else
		rc = kube_buf_printf(out, "/api/%s", res->version);
	if (!rc && res->namespaced && ns && *ns) {
		rc = kube_buf_puts(out, "/namespaces/");
		if (!rc)
			rc = kube_buf_put_urlescaped(out, ns);
	}
	if (!rc)
		rc = kube_buf_printf(out, "/%s", res->resource);
	if (!rc && name) {
		rc = kube_buf_puts(out, "/");
		if (!rc)
			rc = kube_buf_put_urlescaped(out, name);
	}
	if (!rc && subresource)
		rc = kube_buf_printf(out, "/%s", subresource);
	return rc;
}

/* Appends "?k=v" or "&k=v" with v escaped. */
static int add_query(kube_buf *path, const char *key, const char *value)
{
	int rc = kube_buf_printf(path, "%c%s=", strchr(kube_buf_cstr(path), '?') ? '&' : '?', key);
	if (!rc)
		rc = kube_buf_put_urlescaped(path, value);
	return rc;
}

int kube_client_get(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                    const kube_get_options *opts)
{
	kube_buf path = KUBE_BUF_INIT;
	int rc = kube_resource_path(&path, res, ns, name, opts ? opts->subresource : NULL);
	if (!rc)
		rc = kube_client_request_json(client, out, "GET", path.ptr, NULL, NULL);
	kube_buf_dispose(&path);
	return rc;
}

static int list_path(kube_buf *path, const kube_resource *res, const char *ns, const kube_list_options *opts,
                     const char *continue_token)
{
	char limit[32];
	snprintf(limit, sizeof(limit), "%ld", opts->limit > 0 ? opts->limit : 500);
	int rc = kube_resource_path(path, res, ns, NULL, NULL);
	if (!rc)
		rc = add_query(path, "limit", limit);
	if (!rc && opts->label_selector && *opts->label_selector)
		rc = add_query(path, "labelSelector", opts->label_selector);
	if (!rc && opts->field_selector && *opts->field_selector)
		rc = add_query(path, "fieldSelector", opts->field_selector);
	if (!rc && continue_token)
		rc = add_query(path, "continue", continue_token);
	else if (!rc && opts->resource_version)
		rc = add_query(path, "resourceVersion", opts->resource_version);
	return rc;
}

/* The process-wide bound on decoded list pages (kube_list_set_max_pages). */
static pthread_mutex_t pages_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pages_freed = PTHREAD_COND_INITIALIZER;
static int pages_max;
static int pages_in_memory;

void kube_list_set_max_pages(int max_pages)
{
	(void)pthread_mutex_lock(&pages_lock);
	pages_max = max_pages > 0 ? max_pages : 0;
	(void)pthread_cond_broadcast(&pages_freed);
	(void)pthread_mutex_unlock(&pages_lock);
}

static void page_acquire(void)
{
	(void)pthread_mutex_lock(&pages_lock);
	while (pages_max && pages_in_memory >= pages_max)
		(void)pthread_cond_wait(&pages_freed, &pages_lock);
	pages_in_memory++;
	(void)pthread_mutex_unlock(&pages_lock);
}

static void page_release(void)
{
	(void)pthread_mutex_lock(&pages_lock);
	pages_in_memory--;
	(void)pthread_cond_signal(&pages_freed);
	(void)pthread_mutex_unlock(&pages_lock);
}

int kube_client_list_pages(kube_client *client, const kube_resource *res, const char *ns, const kube_list_options *opts,
                           kube_list_page_fn fn, void *user, char **out_resource_version)
{
	kube_list_options defaults = KUBE_LIST_OPTIONS_INIT;
	kube_buf path = KUBE_BUF_INIT;
	char *continue_token = NULL;
	json_t *page = NULL;
	int restarted = 0;
	int rc = 0;

	if (out_resource_version)
		*out_resource_version = NULL;
	if (!opts)
		opts = &defaults;
	const char *accept =
	        opts->metadata_only ? "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io" : NULL;
	for (;;) {
		kube_buf_clear(&path);
		if ((rc = list_path(&path, res, ns, opts, continue_token)) != 0)
			break;
		kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
		rc = kube_client_send(client, &resp, "GET", path.ptr, accept, NULL, NULL, 0);
		if (rc == KUBE_EGONE && continue_token && !restarted) {
			/* The continue token expired mid-list: start over once, as
			 * client-go's pager does. */
			kube_log(KUBE_LOG_DECISION, "list continue token expired; restarting the list");
			kube_response_dispose(&resp);
			kube_free(continue_token);
			continue_token = NULL;
			restarted = 1;
			continue;
		}
		if (rc == 0) {
			json_error_t err;
			page_acquire();
			page = json_loadb(kube_buf_cstr(&resp.body), resp.body.len, 0, &err);
			if (!page)
				page_release();
			if (!page)
				rc = kube_error_set(KUBE_EPROTOCOL, "GET %s: response is not JSON: %s", path.ptr,
				                    err.text);
		}
		kube_response_dispose(&resp);
		if (rc)
			break;
		json_t *items = json_object_get(page, "items");
		if (!items || json_is_null(items)) {
			/* an empty list may carry "items": null */
			items = json_array();
			if (!items || json_object_set_new(page, "items", items) != 0) {
				rc = kube_error_set(KUBE_ENOMEM, "out of memory");
				break;
			}
		}
		if (!json_is_array(items)) {
			rc = kube_error_set(KUBE_EPROTOCOL, "GET %s: list has no items array", path.ptr);
			break;
		}
		if (fn && (rc = fn(items, continue_token == NULL, user)) != 0)
			break;
		json_t *meta = json_object_get(page, "metadata");
		const char *next = json_string_value(json_object_get(meta, "continue"));
		if (out_resource_version) {
			kube_free(*out_resource_version);
			*out_resource_version =
			        kube_strdup(json_string_value(json_object_get(meta, "resourceVersion")));
		}
		kube_free(continue_token);
		continue_token = next && *next ? kube_strdup(next) : NULL;
		json_decref(page);
		page = NULL;
		page_release();
		if (!continue_token)
			break;
	}
	if (page) {
		json_decref(page);
		page_release();
	}
	kube_free(continue_token);
	kube_buf_dispose(&path);
	if (rc && out_resource_version) {
		kube_free(*out_resource_version);
		*out_resource_version = NULL;
	}
	return rc;
}

static int collect_page(const json_t *items, int first_page, void *user)
{
	json_t *all = user;
	if (first_page)
		json_array_clear(all); /* the list started over */
	if (json_array_extend(all, (json_t *)items) != 0)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

int kube_client_list(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                     const kube_list_options *opts)
{
	char *resource_version = NULL;
	json_t *items = json_array();
	*out = NULL;
	if (!items)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = kube_client_list_pages(client, res, ns, opts, collect_page, items, &resource_version);
	if (rc == 0) {
		char kind[160];
		snprintf(kind, sizeof(kind), "%sList", res->kind);
		char api_version[sizeof(res->group) + sizeof(res->version) + 1];
		if (res->group[0])
			snprintf(api_version, sizeof(api_version), "%s/%s", res->group, res->version);
		else
			snprintf(api_version, sizeof(api_version), "%s", res->version);
		*out = json_pack("{s:s, s:s, s:{s:s?}, s:o}", "apiVersion", api_version, "kind", kind, "metadata",
		                 "resourceVersion", resource_version, "items", items);
		items = NULL;
		if (!*out)
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	json_decref(items);
	kube_free(resource_version);
	return rc;
}

static int write_path(kube_buf *path, const kube_resource *res, const char *ns, const char *name,
                      const kube_write_options *opts, int apply)
{
	int rc = kube_resource_path(path, res, ns, name, opts ? opts->subresource : NULL);
	if (!rc && opts && opts->dry_run)
		rc = add_query(path, "dryRun", "All");
	if (!rc)
		rc = add_query(path, "fieldManager", opts && opts->field_manager ? opts->field_manager : "rollguard");
	if (!rc && apply && opts && opts->force)
		rc = add_query(path, "force", "true");
	return rc;
}

static const char *object_name(const json_t *object)
{
	return json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
}

int kube_client_create(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                       const json_t *object, const kube_write_options *opts)
{
	kube_buf path = KUBE_BUF_INIT;
	int rc = write_path(&path, res, ns, NULL, opts, 0);
	if (!rc)
		rc = kube_client_request_json(client, out, "POST", path.ptr, NULL, object);
	kube_buf_dispose(&path);
	return rc;
}

int kube_client_update(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                       const json_t *object, const kube_write_options *opts)
{
	const char *name = object_name(object);
	if (!name)
		return kube_error_set(KUBE_EINVALID, "update: object has no metadata.name");
	kube_buf path = KUBE_BUF_INIT;
	int rc = write_path(&path, res, ns, name, opts, 0);
	if (!rc)
		rc = kube_client_request_json(client, out, "PUT", path.ptr, NULL, object);
	kube_buf_dispose(&path);
	return rc;
}

int kube_client_patch(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                      enum kube_patch_type type, const json_t *patch, const kube_write_options *opts)
{
	static const char *const content_types[] = {
	        [KUBE_PATCH_JSON] = "application/json-patch+json",
	        [KUBE_PATCH_MERGE] = "application/merge-patch+json",
	        [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
	        [KUBE_PATCH_APPLY] = "application/apply-patch+yaml", /* JSON is YAML */
	};
	kube_buf path = KUBE_BUF_INIT;
	int rc = write_path(&path, res, ns, name, opts, type == KUBE_PATCH_APPLY);
	if (!rc)
		rc = kube_client_request_json(client, out, "PATCH", path.ptr, content_types[type], patch);
	kube_buf_dispose(&path);
	return rc;
}

int kube_client_delete(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                       const kube_delete_options *opts)
{
	kube_delete_options defaults = KUBE_DELETE_OPTIONS_INIT;
	kube_buf path = KUBE_BUF_INIT;
	json_t *body = NULL;
	int rc;
	if (!opts)
		opts = &defaults;
	rc = kube_resource_path(&path, res, ns, name, NULL);
	if (!rc && opts->dry_run)
		rc = add_query(&path, "dryRun", "All");
	/* json_pack's "s?"/"o?" leave out absent values; every field or none */
	int conditional = opts->precondition_resource_version || opts->precondition_uid;
	json_t *preconditions = conditional
	                                ? json_pack("{s:s*, s:s*}", "resourceVersion",
	                                            opts->precondition_resource_version, "uid", opts->precondition_uid)
	                                : NULL;
	json_t *grace = opts->grace_period_s >= 0 ? json_integer(opts->grace_period_s) : NULL;
	body = json_pack("{s:s, s:s, s:s*, s:o*, s:o*}", "apiVersion", "v1", "kind", "DeleteOptions",
	                 "propagationPolicy", opts->propagation_policy, "preconditions", preconditions,
	                 "gracePeriodSeconds", grace);
	if (!body || (conditional && !preconditions) || (opts->grace_period_s >= 0 && !grace))
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	if (!rc)
		rc = kube_client_request_json(client, out, "DELETE", path.ptr, NULL, body);
	json_decref(body);
	kube_buf_dispose(&path);
	return rc;
}

int kube_client_pod_log(kube_client *client, kube_buf *out, const char *ns, const char *pod,
                        const kube_log_options *opts)
{
	static const kube_resource pods = {"", "v1", "pods", "Pod", 1};
	kube_log_options defaults = KUBE_LOG_OPTIONS_INIT;
	kube_buf path = KUBE_BUF_INIT;
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	char number[32];
	if (!opts)
		opts = &defaults;
	int rc = kube_resource_path(&path, &pods, ns, pod, "log");
	if (!rc && opts->container)
		rc = add_query(&path, "container", opts->container);
	if (!rc && opts->tail_lines >= 0) {
		snprintf(number, sizeof(number), "%ld", opts->tail_lines);
		rc = add_query(&path, "tailLines", number);
	}
	if (!rc && opts->previous)
		rc = add_query(&path, "previous", "true");
	if (!rc) {
		snprintf(number, sizeof(number), "%ld", opts->limit_bytes > 0 ? opts->limit_bytes : 1048576L);
		rc = add_query(&path, "limitBytes", number);
	}
	if (!rc)
		rc = kube_client_request(client, &resp, "GET", path.ptr, NULL, NULL, 0);
	if (!rc)
		rc = kube_buf_put(out, kube_buf_cstr(&resp.body), resp.body.len);
	kube_response_dispose(&resp);
	kube_buf_dispose(&path);
	return rc;
}

int kube_client_evict(kube_client *client, const char *ns, const char *pod, int dry_run)
{
	static const kube_resource pods = {"", "v1", "pods", "Pod", 1};
	kube_buf path = KUBE_BUF_INIT;
	json_t *delete_options = dry_run ? json_pack("{s:[s]}", "dryRun", "All") : NULL;
	json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o*}", "apiVersion", "policy/v1", "kind", "Eviction",
	                         "metadata", "name", pod, "namespace", ns, "deleteOptions", delete_options);
	/* a dry run must never turn into a real eviction: no body, no request */
	int rc = body && (!dry_run || delete_options) ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
	if (!rc)
		rc = kube_resource_path(&path, &pods, ns, pod, "eviction");
	if (!rc)
		rc = kube_client_request_json(client, NULL, "POST", path.ptr, NULL, body);
	if (rc && kube_error_last()->http_status == 429) {
		/* A PodDisruptionBudget refused: a conflict with the budget, not load. */
		const kube_error *err = kube_error_last();
		rc = kube_error_set_http(KUBE_ECONFLICT, 429, err->reason, err->server_message, "%s", err->message);
	}
	json_decref(body);
	kube_buf_dispose(&path);
	return rc;
}
