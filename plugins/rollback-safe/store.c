/* A release's history as Helm's storage keeps it: one Secret or ConfigMap
 * per revision, labelled owner=helm, name=<release>, status, version,
 * createdAt, modifiedAt. Listed metadata-only; a record's body is fetched
 * and decoded only when a command needs it, and rewritten with the body's
 * info.status and the status label changed together, conditionally. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/event.h>
#include <kube/log.h>

#include "rollback.h"

static const char *meta_string(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(json_object_get(object, "metadata"), key));
}

static const char *label(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(object, "metadata"), "labels"), key));
}

/* A decimal label value; 0 when absent or not a number. */
static long long label_number(const json_t *object, const char *key)
{
	const char *text = label(object, key);
	if (!text || !text[0])
		return 0;
	char *end = NULL;
	errno = 0;
	long long value = strtoll(text, &end, 10);
	if (errno || *end || value < 0)
		return 0;
	return value;
}

/* The revision: the `version` label, else the object name's ".v<N>". */
static long long record_revision(const json_t *object)
{
	long long revision = label_number(object, "version");
	if (revision > 0)
		return revision;
	const char *name = meta_string(object, "name");
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (!dot || dot[1] != 'v')
		return 0;
	char *end = NULL;
	errno = 0;
	revision = strtoll(dot + 2, &end, 10);
	return errno || *end || revision < 0 ? 0 : revision;
}

void rollback_record_dispose(rollback_record *rec)
{
	json_decref(rec->object);
	json_decref(rec->release);
	memset(rec, 0, sizeof(*rec));
}

/* Fills rec's metadata fields from object (metadata-only or whole). */
static void record_fill(rollback_record *rec, const json_t *object)
{
	const char *value;
	rec->revision = record_revision(object);
	rec->status_known = rollback_status_parse(&rec->status, label(object, "status")) == 0;
	if (!rec->status_known)
		rec->status = ROLLBACK_STATUS_UNKNOWN;
	snprintf(rec->object_name, sizeof(rec->object_name), "%.253s",
	         (value = meta_string(object, "name")) ? value : "");
	snprintf(rec->resource_version, sizeof(rec->resource_version), "%.63s",
	         (value = meta_string(object, "resourceVersion")) ? value : "");
	snprintf(rec->uid, sizeof(rec->uid), "%.63s", (value = meta_string(object, "uid")) ? value : "");
	rec->created_s = label_number(object, "createdAt");
	rec->modified_s = label_number(object, "modifiedAt");
}

void rollback_history_clear(rollback_history *history)
{
	for (size_t i = 0; i < history->count; i++)
		rollback_record_dispose(&history->items[i]);
	free(history->items);
	history->items = NULL;
	history->count = 0;
}

static int by_revision(const void *a, const void *b)
{
	const rollback_record *x = a, *y = b;
	return x->revision < y->revision ? -1 : x->revision > y->revision;
}

/* Decodes object's data.release into rec->release. Returns 0 or the exit
 * code (printed; only logged at -v 4 when quiet). */
static int decode_body(rollback_ctx *ctx, rollback_record *rec, const json_t *object, int quiet)
{
	char err[256];
	const char *kind = ctx->storage == ROLLBACK_STORAGE_SECRET ? "secret" : "configmap";
	const char *value = json_string_value(json_object_get(json_object_get(object, "data"), "release"));
	json_t *release = NULL;
	int rc = value ? rollback_release_decode(&release, value, strlen(value), ctx->storage, err, sizeof(err)) : -1;
	if (!value)
		snprintf(err, sizeof(err), "no data key \"release\": not a Helm release record");
	if (rc == KUBE_ENOMEM)
		return cli_error_nomem();
	if (rc) {
		if (quiet)
			kube_log(KUBE_LOG_DECISION, "%s %s: %s", kind, rec->object_name, err);
		else
			cli_error("%s %s: cannot decode the release record: %s", kind, rec->object_name, err);
		return CLI_EXIT_FAIL;
	}
	json_decref(rec->release);
	rec->release = release;
	/* The body is what Helm's lock and history read; the label is only
	 * an index of it. */
	rec->status = rollback_release_status(release);
	rec->status_known = 1;
	return 0;
}

int rollback_history_load(rollback_ctx *ctx, int bodies)
{
	char selector[128];
	json_t *list = NULL;
	snprintf(selector, sizeof(selector), "owner=helm,name=%s", ctx->release);
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	opts.label_selector = selector;
	opts.metadata_only = !bodies;
	int rc = kube_client_list(ctx->client, &list, ctx->storage_res, ctx->ns, &opts);
	if (rc) {
		char what[160];
		snprintf(what, sizeof(what), "reading the history of release %s", ctx->release);
		return cli_error_kube(what, rc);
	}
	rollback_history_clear(&ctx->history);
	json_t *items = json_object_get(list, "items");
	size_t n = json_array_size(items);
	if (n == 0) {
		json_decref(list);
		cli_error("release %s: not found in namespace %s (no %s labelled owner=helm,name=%s)", ctx->release,
		          ctx->ns, ctx->storage == ROLLBACK_STORAGE_SECRET ? "Secrets" : "ConfigMaps", ctx->release);
		cli_hint("check the namespace (-n) and HELM_DRIVER; 'helm list -A' shows where releases live");
		return CLI_EXIT_API;
	}
	ctx->history.items = kube_calloc(n, sizeof(*ctx->history.items));
	if (!ctx->history.items) {
		json_decref(list);
		return cli_error_nomem();
	}
	size_t i;
	json_t *item;
	rc = 0;
	json_array_foreach(items, i, item)
	{
		rollback_record *rec = &ctx->history.items[ctx->history.count];
		record_fill(rec, item);
		if (rec->revision <= 0) {
			kube_log(KUBE_LOG_DECISION, "ignoring %s: no revision in its labels or name", rec->object_name);
			memset(rec, 0, sizeof(*rec));
			continue;
		}
		ctx->history.count++;
		if (bodies) {
			rec->object = json_incref(item);
			if ((rc = decode_body(ctx, rec, item, 0)))
				break;
		}
	}
	json_decref(list);
	if (rc)
		return rc;
	if (ctx->history.count == 0) {
		cli_error(
		        "release %s: not found in namespace %s (no record labelled owner=helm,name=%s has a revision)",
		        ctx->release, ctx->ns, ctx->release);
		return CLI_EXIT_API;
	}
	qsort(ctx->history.items, ctx->history.count, sizeof(*ctx->history.items), by_revision);
	return 0;
}

rollback_record *rollback_history_find(rollback_history *history, long long revision)
{
	for (size_t i = 0; i < history->count; i++)
		if (history->items[i].revision == revision)
			return &history->items[i];
	return NULL;
}

rollback_record *rollback_history_last(rollback_history *history)
{
	return history->count ? &history->items[history->count - 1] : NULL;
}

static int record_get(rollback_ctx *ctx, rollback_record *rec, int quiet)
{
	if (rec->release && rec->object)
		return 0;
	json_t *object = NULL;
	int rc = kube_client_get(ctx->client, &object, ctx->storage_res, ctx->ns, rec->object_name, NULL);
	if (rc && quiet) {
		kube_log(KUBE_LOG_DECISION, "reading %s: %s", rec->object_name, kube_error_last()->message);
		kube_error_clear();
		return CLI_EXIT_API;
	}
	if (rc) {
		char what[320];
		snprintf(what, sizeof(what), "reading revision %lld of release %s", rec->revision, ctx->release);
		return cli_error_kube(what, rc);
	}
	record_fill(rec, object);
	json_decref(rec->object);
	rec->object = object;
	return decode_body(ctx, rec, object, quiet);
}

int rollback_record_read(rollback_ctx *ctx, rollback_record *rec)
{
	return record_get(ctx, rec, 0);
}

int rollback_record_peek(rollback_ctx *ctx, rollback_record *rec)
{
	return record_get(ctx, rec, 1);
}

int rollback_record_set_status(rollback_ctx *ctx, rollback_record *rec, enum rollback_status status,
                               const char *description)
{
	char err[256], stamp[32];
	kube_buf encoded = KUBE_BUF_INIT;
	json_t *object = NULL, *release = NULL, *updated = NULL;
	int rc = rollback_record_read(ctx, rec);
	if (rc)
		return rc;
	/* Work on copies, so a failed write leaves rec as the cluster has it. */
	object = json_deep_copy(rec->object);
	release = json_deep_copy(rec->release);
	json_t *meta = json_object_get(object, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	if (!object || !release || !json_is_object(labels)) {
		rc = object && release ? CLI_EXIT_FAIL : cli_error_nomem();
		if (rc == CLI_EXIT_FAIL)
			cli_error("%s: the record has no labels", rec->object_name);
		goto done;
	}
	rc = rollback_release_set_status(release, labels, status, err, sizeof(err));
	if (rc == 0 && description) {
		json_t *info = json_object_get(release, "info");
		rc = json_object_set_new(info, "description", json_string(description)) ? KUBE_ENOMEM : 0;
	}
	long long now_s = kube_client_server_now_ms(ctx->client) / 1000;
	snprintf(stamp, sizeof(stamp), "%lld", now_s);
	if (rc == 0 && json_object_set_new(labels, "modifiedAt", json_string(stamp)))
		rc = KUBE_ENOMEM;
	if (rc == 0)
		rc = rollback_release_encode(&encoded, release, ctx->storage, err, sizeof(err));
	if (rc == KUBE_ENOMEM) {
		rc = cli_error_nomem();
		goto done;
	}
	if (rc) {
		cli_error("%s: %s", rec->object_name, err);
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	json_t *data = json_object_get(object, "data");
	if (!json_is_object(data) ||
	    json_object_set_new(data, "release", json_stringn(kube_buf_cstr(&encoded), encoded.len))) {
		rc = cli_error_nomem();
		goto done;
	}
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	opts.field_manager = ROLLBACK_FIELD_MANAGER;
	opts.dry_run = ctx->dry_run == ROLLBACK_DRY_RUN_SERVER;
	rc = kube_client_update(ctx->client, &updated, ctx->storage_res, ctx->ns, object, &opts);
	if (rc == KUBE_ECONFLICT) {
		cli_error("release %s: revision %lld changed since it was read (%s)", ctx->release, rec->revision,
		          kube_error_last()->message);
		cli_hint("another helm or rollback-safe is working on the release; run the command again");
		rc = CLI_EXIT_CONFLICT;
		goto done;
	}
	if (rc) {
		char what[320];
		snprintf(what, sizeof(what), "writing revision %lld of release %s", rec->revision, ctx->release);
		rc = cli_error_kube(what, rc);
		goto done;
	}
	if (opts.dry_run) {
		json_decref(updated);
		updated = NULL;
		goto done;
	}
	json_decref(rec->object);
	json_decref(rec->release);
	rec->object = updated;
	rec->release = release;
	updated = release = NULL;
	record_fill(rec, rec->object);
	rec->status = status;
	rec->status_known = 1;
done:
	kube_buf_dispose(&encoded);
	json_decref(updated);
	json_decref(release);
	json_decref(object);
	return rc;
}

void rollback_record_init(const rollback_ctx *ctx, rollback_record *rec, long long revision)
{
	memset(rec, 0, sizeof(*rec));
	rec->revision = revision;
	snprintf(rec->object_name, sizeof(rec->object_name), ROLLBACK_STORAGE_PREFIX "%s.v%lld", ctx->release,
	         revision);
}

json_t *rollback_record_ref(const rollback_ctx *ctx, const rollback_record *rec)
{
	/* A storage object from a list item carries no apiVersion/kind;
	 * Events and ownerReferences need both. */
	return json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind",
	                 ctx->storage == ROLLBACK_STORAGE_SECRET ? "Secret" : "ConfigMap", "metadata",
	                 json_object_get(rec->object, "metadata"));
}

long long rollback_record_age_ms(rollback_ctx *ctx, const rollback_record *rec)
{
	long long at_s = rec->modified_s ? rec->modified_s : rec->created_s;
	if (!at_s)
		return -1;
	long long age = kube_client_server_now_ms(ctx->client) - at_s * 1000;
	return age < 0 ? 0 : age;
}

void rollback_record_event(rollback_ctx *ctx, const rollback_record *rec, const char *type, const char *reason,
                           const char *fmt, ...)
{
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (!rec->object || ctx->dry_run)
		return;
	kube_event_options opts = KUBE_EVENT_OPTIONS_INIT;
	opts.type = type;
	opts.reason = reason;
	opts.message = message;
	opts.component = ROLLBACK_COMPONENT;
	json_t *ref = rollback_record_ref(ctx, rec);
	if (!ref)
		return;
	int rc = kube_event_record(ctx->client, ref, &opts);
	if (rc) {
		kube_log(KUBE_LOG_DECISION, "recording event %s on %s: %s", reason, rec->object_name,
		         kube_error_last()->message);
		kube_error_clear();
	}
	json_decref(ref);
}
