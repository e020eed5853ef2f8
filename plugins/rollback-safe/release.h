/* Helm release storage records: the `release` value of a Secret or
 * ConfigMap sh.helm.release.v1.<name>.v<revision>, decoded into a generic
 * JSON tree (so fields this plugin does not know survive a rewrite) and
 * encoded back, with accessors for the fields rollback-safe reads. */
#ifndef ROLLBACK_RELEASE_H
#define ROLLBACK_RELEASE_H

#include <stddef.h>

#include <jansson.h>
#include <kube/buf.h>

/* The largest release JSON accepted, after inflating: a record is at most
 * 1 MiB of Secret data, and a gzip bomb must not take the host down. */
#define ROLLBACK_RELEASE_MAX_JSON (64u * 1024 * 1024)

/* Which object holds the record, which decides the layers of base64: a
 * ConfigMap's data is Helm's base64 string itself; a Secret's data, as the
 * API returns it, is base64 of that string. */
enum rollback_storage {
	ROLLBACK_STORAGE_SECRET,
	ROLLBACK_STORAGE_CONFIGMAP,
};

/* A release's info.status (Helm's pkg/release/common/status.go). */
enum rollback_status {
	ROLLBACK_STATUS_UNKNOWN,
	ROLLBACK_STATUS_DEPLOYED,
	ROLLBACK_STATUS_UNINSTALLED,
	ROLLBACK_STATUS_SUPERSEDED,
	ROLLBACK_STATUS_FAILED,
	ROLLBACK_STATUS_UNINSTALLING,
	ROLLBACK_STATUS_PENDING_INSTALL,
	ROLLBACK_STATUS_PENDING_UPGRADE,
	ROLLBACK_STATUS_PENDING_ROLLBACK,
};

/* Helm's name of status ("pending-upgrade"); "unknown" for values out of
 * range. */
const char *rollback_status_name(enum rollback_status status);
/* Sets *out from Helm's name; 0, or -1 for NULL or a name Helm does not
 * define (*out untouched). */
int rollback_status_parse(enum rollback_status *out, const char *name);
/* 1 for the pending-* statuses (Helm's IsPending: an operation holds the
 * release), else 0. */
int rollback_status_is_pending(enum rollback_status status);

/* Decodes value[0..len), a record's data `release` exactly as the API
 * returns it for storage: base64 (twice for a Secret), gunzip when the
 * bytes start with gzip's magic 1f 8b 08 (else they are taken as raw JSON,
 * as Helm reads records written before compression), then JSON that must
 * be an object with a string `name`, an integer `version` >= 1 and an
 * object `info` with a string `status`. The caller owns *out (json_decref).
 * Returns 0; -1 with a one-line reason in err (bad base64, inflate error,
 * more than ROLLBACK_RELEASE_MAX_JSON bytes, not JSON, a missing or
 * mistyped required field); or KUBE_ENOMEM with "out of memory" in err.
 * On error *out is NULL. */
int rollback_release_decode(json_t **out, const char *value, size_t len, enum rollback_storage storage, char *err,
                            size_t err_size);

/* Appends to out the data `release` value for release as storage holds
 * it, the inverse of rollback_release_decode: compact JSON (member order
 * kept), gzip, base64, and for a Secret base64 again. Returns 0; -1 with
 * a reason in err when the JSON is larger than ROLLBACK_RELEASE_MAX_JSON;
 * KUBE_ENOMEM. On error out may hold part of the text. */
int rollback_release_encode(kube_buf *out, const json_t *release, enum rollback_storage storage, char *err,
                            size_t err_size);

/* Sets both places a release's status lives, which must never disagree:
 * the body's info.status in release and the `status` label in labels (the
 * storage object's metadata.labels; Helm's "deployed" query goes by the
 * label). Either both change or neither. Returns 0, -1 with a reason in
 * err when release has no info object, or KUBE_ENOMEM. */
int rollback_release_set_status(json_t *release, json_t *labels, enum rollback_status status, char *err,
                                size_t err_size);

/* Accessors of a decoded release. Strings are borrowed from release and
 * are "" when the field is absent or not a string. */
const char *rollback_release_name(const json_t *release);
/* The revision (`version`); 0 when absent or not an integer. */
long long rollback_release_version(const json_t *release);
const char *rollback_release_namespace(const json_t *release);
/* info.status; ROLLBACK_STATUS_UNKNOWN when absent or not one of Helm's. */
enum rollback_status rollback_release_status(const json_t *release);
const char *rollback_release_description(const json_t *release);
/* info.last_deployed, RFC 3339 as Helm wrote it ("" for Helm 3's zero). */
const char *rollback_release_last_deployed(const json_t *release);
const char *rollback_release_chart_name(const json_t *release);
const char *rollback_release_chart_version(const json_t *release);
const char *rollback_release_app_version(const json_t *release);
/* The rendered non-hook resources, "---"-separated YAML documents. */
const char *rollback_release_manifest(const json_t *release);
/* The hooks array (borrowed), NULL when absent or not an array. */
const json_t *rollback_release_hooks(const json_t *release);

#endif
