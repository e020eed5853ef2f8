/* What every helm rollback-safe command shares: the connection, the
 * release and its storage driver, the history as read from the cluster
 * (metadata first, bodies only where needed), and the helpers that read
 * and rewrite release records. One rollback_ctx lives for one command. */
#ifndef ROLLBACK_ROLLBACK_H
#define ROLLBACK_ROLLBACK_H

#include <stddef.h>

#include <jansson.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/whoami.h>

#include "cli/cli.h"
#include "release.h"

#define ROLLBACK_COMPONENT       "helm-rollback-safe"
#define ROLLBACK_FIELD_MANAGER   "helm-rollback-safe"
#define ROLLBACK_LABEL_MANAGED   "app.kubernetes.io/managed-by"
#define ROLLBACK_MANAGED_BY      "rollguard"
/* Helm's storage object names: sh.helm.release.v1.<release>.v<revision>. */
#define ROLLBACK_STORAGE_PREFIX  "sh.helm.release.v1."
/* The Lease a rollback-safe run holds while it executes:
 * rollguard-release-<release>, recording the run id and the revision the
 * helm child is creating (SPEC §5.2). */
#define ROLLBACK_LEASE_PREFIX    "rollguard-release-"
#define ROLLBACK_DEFAULT_LOCK_MS (10L * 60 * 1000)
#define ROLLBACK_DEFAULT_TIMEOUT (5L * 60 * 1000)

enum rollback_dry_run {
	ROLLBACK_DRY_RUN_NONE,
	ROLLBACK_DRY_RUN_CLIENT,
	ROLLBACK_DRY_RUN_SERVER,
};

/* One revision of the release as its storage object says. The metadata
 * fields come from a metadata-only list (labels); body and object only
 * once the record was read in full. */
typedef struct rollback_record {
	long long revision;          /* label `version` (and the name's suffix) */
	enum rollback_status status; /* label `status`; the body's when read */
	int status_known;            /* the label named one of Helm's statuses */
	char object_name[254];       /* sh.helm.release.v1.<r>.v<N> */
	char resource_version[64];
	char uid[64];
	long long created_s;  /* label createdAt (Unix seconds), 0 when absent */
	long long modified_s; /* label modifiedAt, 0 when absent */
	json_t *object;       /* the whole Secret/ConfigMap (owned) or NULL */
	json_t *release;      /* the decoded release body (owned) or NULL */
} rollback_record;

/* The release's history, ascending by revision. */
typedef struct rollback_history {
	rollback_record *items;
	size_t count;
} rollback_history;

typedef struct rollback_ctx {
	const cli_args *args;
	kube_config *config;
	kube_client *client;
	const char *ns;      /* the release namespace */
	const char *release; /* the release name, or NULL */
	enum rollback_storage storage;
	const kube_resource *storage_res; /* Secrets or ConfigMaps */
	enum rollback_dry_run dry_run;
	kube_identity user; /* the acting user, "" until kube_whoami */
	rollback_history history;
	/* Called from long waits (verification) about once a second, e.g. to
	 * keep the run's Lease; a non-zero return (an exit code) ends the
	 * wait with it. NULL: none. */
	int (*tick)(void *user);
	void *tick_user;
	/* The major of the helm that will run the rollback, 0 when not
	 * looked up (plan and --dry-run do not run helm). */
	int helm_major;
	/* --no-hooks: helm will not build or run the target's hooks. */
	int no_hooks;
} rollback_ctx;

/* Built-in resource types (no discovery request needed). */
extern const kube_resource rollback_res_secrets;
extern const kube_resource rollback_res_configmaps;
extern const kube_resource rollback_res_leases;
extern const kube_resource rollback_res_pods;

/* Loads the configuration, picks the storage driver from HELM_DRIVER
 * (refusing sql and memory: exit 3 with a reason: a configuration the plugin cannot read), connects, and names
 * the release (args->positional[0], checked against Helm's release name
 * rules). Returns 0 or the exit code (printed). */
int rollback_ctx_open(rollback_ctx *ctx, const cli_args *args);
void rollback_ctx_close(rollback_ctx *ctx);

/* Lists the release's storage objects (owner=helm,name=<release>),
 * metadata only, into ctx->history (replacing what it held). With
 * bodies, lists the full objects and decodes every body instead. A
 * release with no records → exit 4 "release: not found" (printed).
 * Returns 0 or the exit code (printed). */
int rollback_history_load(rollback_ctx *ctx, int bodies);
void rollback_history_clear(rollback_history *history);
/* The record of revision, or NULL. */
rollback_record *rollback_history_find(rollback_history *history, long long revision);
/* The newest record (Helm's "last": highest revision, any status), or NULL. */
rollback_record *rollback_history_last(rollback_history *history);

/* GETs and decodes rec's storage object unless rec->release is already
 * set; rec->status becomes the body's. Returns 0 or the exit code
 * (printed). */
int rollback_record_read(rollback_ctx *ctx, rollback_record *rec);

/* Makes rec an unread record of revision: zeroed, the revision and its
 * storage object's name sh.helm.release.v1.<release>.v<revision> set. */
void rollback_record_init(const rollback_ctx *ctx, rollback_record *rec, long long revision);
/* A reference to rec's storage object (read) for an Event's
 * involvedObject or an ownerReference: apiVersion v1, kind Secret or
 * ConfigMap, its metadata. NULL when memory runs out. */
json_t *rollback_record_ref(const rollback_ctx *ctx, const rollback_record *rec);

/* rollback_record_read that prints nothing: failures (absent, forbidden,
 * undecodable) are logged at -v 4 and return non-zero. For looking at a
 * record that may not exist. */
int rollback_record_peek(rollback_ctx *ctx, rollback_record *rec);
/* Frees what a record read outside ctx->history holds. */
void rollback_record_dispose(rollback_record *rec);

/* Rewrites rec (read first) with its status set to status and the
 * description to description: body info.status and the `status` label
 * together, label modifiedAt set to now, a conditional update on
 * rec->resource_version (exit 6 when the record changed since it was
 * read). Every other field of the body and the object is kept. Returns 0
 * or the exit code (printed). */
int rollback_record_set_status(rollback_ctx *ctx, rollback_record *rec, enum rollback_status status,
                               const char *description);

/* The record's age in milliseconds by the server's clock, from
 * modifiedAt, else createdAt, else the body's info.last_deployed; -1 when
 * none is known. */
long long rollback_record_age_ms(rollback_ctx *ctx, const rollback_record *rec);

/* Records an Event on rec's storage object (best effort: a failure is
 * logged at -v 4, never fatal). */
void rollback_record_event(rollback_ctx *ctx, const rollback_record *rec, const char *type, const char *reason,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Asks the server who the acting user is (for audit records), once;
 * "unknown user" when it cannot say. Nothing on a dry run. */
void rollback_whoami(rollback_ctx *ctx);

/* Reads --dry-run into ctx->dry_run (usage error for a bad value); the
 * plan command counts as a client dry run. Returns 0 or the exit code. */
int rollback_ctx_dry_run(rollback_ctx *ctx);

#endif
