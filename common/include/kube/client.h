/* A connection to one API server and the requests libkube makes through
 * it: get, paginated list, create, update, patch (JSON, merge, strategic
 * merge, server-side apply), delete, subresources, with client-side rate
 * limiting and retries of idempotent requests. */
#ifndef KUBE_CLIENT_H
#define KUBE_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include <kube/buf.h>
#include <kube/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_client kube_client;

typedef struct kube_client_options {
	double qps;             /* client-side rate limit; 0 = kubectl's 50 */
	int burst;              /* 0 = kubectl's 300 */
	int max_retries;        /* for 429, 5xx and connection errors on idempotent requests; -1 = 5 */
	const char *user_agent; /* NULL = "rollguard/<version>" */
	const char *cache_dir;  /* discovery cache root; NULL = $XDG_CACHE_HOME/rollguard or ~/.cache/rollguard */
} kube_client_options;

#define KUBE_CLIENT_OPTIONS_INIT                                                                                       \
	{                                                                                                              \
		0, 0, -1, NULL, NULL                                                                                   \
	}

/* Creates a client for config (borrowed: it must outlive the client).
 * Errors: KUBE_ECONFIG (unreadable CA/cert/key), KUBE_EAUTH, KUBE_ENOMEM. */
int kube_client_new(kube_client **out, const kube_config *config, const kube_client_options *opts);
void kube_client_free(kube_client *client);

/* The namespace the configuration resolved (borrowed). */
const char *kube_client_namespace(const kube_client *client);

/* Number of HTTP requests sent so far (each retry counts). */
unsigned long kube_client_request_count(const kube_client *client);

/* The API server's clock now, in milliseconds since the epoch: the Date
 * header of the last reply this client received (second resolution) plus
 * the local monotonic time elapsed since, or the local wall clock when no
 * reply has carried a Date yet. Commands that store times in the cluster
 * use this so that machines with skewed clocks agree. */
long long kube_client_server_now_ms(const kube_client *client);

/* A resource type as discovery describes it. */
typedef struct kube_resource {
	char group[256]; /* "" for the core group; a DNS subdomain (<= 253) */
	char version[64];
	char resource[128]; /* plural, e.g. "deployments" */
	char kind[128];
	int namespaced;
} kube_resource;

/* ----- raw requests ----- */

typedef struct kube_response {
	long status;   /* HTTP status */
	kube_buf body; /* response body (decompressed) */
	char *content_type;
	long retry_after_s; /* from Retry-After, -1 when absent */
} kube_response;

void kube_response_dispose(kube_response *resp);

/* Sends one request to path (absolute, may carry a query). body may be NULL.
 * A 2xx status yields 0; any other status is mapped to an error code with the
 * server's Status kept in kube_error_last(), and *resp still holds the reply.
 * Retried with backoff and jitter (up to max_retries): 429 for every verb
 * (Retry-After honoured; the server did nothing), 5xx and dropped
 * connections for idempotent verbs (GET, HEAD, PUT, DELETE, OPTIONS), and
 * connections refused or unresolvable for every verb (nothing was sent).
 * A 401 refreshes exec/oidc/tokenFile credentials and retries once. */
int kube_client_request(kube_client *client, kube_response *resp, const char *verb, const char *path,
                        const char *content_type, const char *body, size_t body_len);

/* Per-request settings of kube_client_request_opts. */
typedef struct kube_request_options {
	/* The whole call, connecting, retries and their waits included, in
	 * milliseconds; 0 = no bound but the configuration's request timeout
	 * (per attempt). When it passes, the call ends with KUBE_ETIMEOUT. */
	long timeout_ms;
	int max_retries; /* -1 = the client's; 0 = one attempt (a 401 still re-authenticates once) */
} kube_request_options;

#define KUBE_REQUEST_OPTIONS_INIT                                                                                      \
	{                                                                                                              \
		0, -1                                                                                                  \
	}

/* kube_client_request with opts (NULL = KUBE_REQUEST_OPTIONS_INIT): e.g. a
 * request through a service proxy that must not outlast a deadline nor be
 * retried on 5xx. */
int kube_client_request_opts(kube_client *client, kube_response *resp, const char *verb, const char *path,
                             const char *content_type, const char *body, size_t body_len,
                             const kube_request_options *opts);

/* Like kube_client_request but parses a JSON reply into *out (owned). */
int kube_client_request_json(kube_client *client, json_t **out, const char *verb, const char *path,
                             const char *content_type, const json_t *body);

/* ----- typed requests ----- */

/* Builds the API path of a resource, e.g.
 * /apis/apps/v1/namespaces/NS/deployments/NAME/scale; ns ignored for
 * cluster-scoped resources, name and subresource may be NULL. Segments are
 * URL-escaped. */
int kube_resource_path(kube_buf *out, const kube_resource *res, const char *ns, const char *name,
                       const char *subresource);

typedef struct kube_get_options {
	const char *subresource; /* "status", "scale", ... or NULL */
} kube_get_options;
#define KUBE_GET_OPTIONS_INIT                                                                                          \
	{                                                                                                              \
		NULL                                                                                                   \
	}

/* GET one object. Errors: KUBE_ENOTFOUND, KUBE_EFORBIDDEN, ... */
int kube_client_get(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                    const kube_get_options *opts);

typedef struct kube_list_options {
	const char *label_selector;
	const char *field_selector;
	long limit;                   /* page size; 0 = 500 */
	const char *resource_version; /* NULL = most recent */
	int metadata_only;            /* ask for PartialObjectMetadataList */
} kube_list_options;
#define KUBE_LIST_OPTIONS_INIT                                                                                         \
	{                                                                                                              \
		NULL, NULL, 0, NULL, 0                                                                                 \
	}

/* Called once per page with that page's items (borrowed); a non-zero
 * return stops the list and is returned. first_page is 1 for the first page
 * of a listing: when an expired continue token makes the list start over,
 * the first page comes again with first_page 1, and whatever earlier pages
 * gave must be dropped. */
typedef int (*kube_list_page_fn)(const json_t *items, int first_page, void *user);

/* Lists across all pages (limit/continue), restarting from the beginning
 * once if a continue token expires (410), calling fn per page. When
 * out_resource_version is not NULL it receives the list's resourceVersion
 * (owned). ns NULL or "" = all namespaces. */
int kube_client_list_pages(kube_client *client, const kube_resource *res, const char *ns, const kube_list_options *opts,
                           kube_list_page_fn fn, void *user, char **out_resource_version);

/* Bounds how many list pages, across every client and thread of the
 * process, are decoded and in memory at once (0, the default: no bound).
 * A list waiting for its turn holds only its raw response body; programs
 * that run many lists concurrently (probecheck) keep their peak memory
 * near max_pages decoded pages. */
void kube_list_set_max_pages(int max_pages);

/* Lists across all pages into one List object (*out, owned) whose items
 * hold every page's items. */
int kube_client_list(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                     const kube_list_options *opts);

typedef struct kube_write_options {
	int dry_run;               /* dryRun=All */
	const char *field_manager; /* NULL = "rollguard" */
	const char *subresource;   /* "status", "scale", ... */
	int force;                 /* server-side apply: force conflicts */
} kube_write_options;
#define KUBE_WRITE_OPTIONS_INIT                                                                                        \
	{                                                                                                              \
		0, NULL, NULL, 0                                                                                       \
	}

int kube_client_create(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                       const json_t *object, const kube_write_options *opts);

/* PUT; the object's metadata.resourceVersion makes it conditional
 * (KUBE_ECONFLICT when it changed). */
int kube_client_update(kube_client *client, json_t **out, const kube_resource *res, const char *ns,
                       const json_t *object, const kube_write_options *opts);

enum kube_patch_type {
	KUBE_PATCH_JSON,      /* application/json-patch+json */
	KUBE_PATCH_MERGE,     /* application/merge-patch+json */
	KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	KUBE_PATCH_APPLY      /* server-side apply, application/apply-patch+yaml (JSON body) */
};

int kube_client_patch(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                      enum kube_patch_type type, const json_t *patch, const kube_write_options *opts);

typedef struct kube_delete_options {
	const char *propagation_policy; /* "Foreground", "Background", "Orphan" or NULL */
	const char *precondition_resource_version;
	int dry_run;
	long grace_period_s; /* -1 = server default */
	/* Deletes only the object of this uid (a precondition: 409 Conflict
	 * when the name now belongs to another object), so an object a caller
	 * created is removed without reading it first. NULL: any. */
	const char *precondition_uid;
} kube_delete_options;
#define KUBE_DELETE_OPTIONS_INIT                                                                                       \
	{                                                                                                              \
		NULL, NULL, 0, -1, NULL                                                                                \
	}

/* DELETE; *out (may be NULL) receives the server's reply. */
int kube_client_delete(kube_client *client, json_t **out, const kube_resource *res, const char *ns, const char *name,
                       const kube_delete_options *opts);

typedef struct kube_log_options {
	const char *container;
	long tail_lines; /* -1 = all */
	int previous;
	long limit_bytes; /* 0 = 1 MiB cap */
} kube_log_options;
#define KUBE_LOG_OPTIONS_INIT                                                                                          \
	{                                                                                                              \
		NULL, -1, 0, 0                                                                                         \
	}

/* GET pods/NAME/log into out (plain text). */
int kube_client_pod_log(kube_client *client, kube_buf *out, const char *ns, const char *pod,
                        const kube_log_options *opts);

/* POST pods/NAME/eviction (policy/v1). An eviction a PodDisruptionBudget
 * blocks (HTTP 429) is KUBE_ECONFLICT with the server's message and is not
 * retried. */
int kube_client_evict(kube_client *client, const char *ns, const char *pod, int dry_run);

#ifdef __cplusplus
}
#endif
#endif
