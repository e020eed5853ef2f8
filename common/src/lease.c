/* Leases (coordination.k8s.io/v1) as a lock between processes: created,
 * taken over once expired, renewed and released with resourceVersion
 * preconditions, expiry judged on the API server's clock. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kube/lease.h>

#include "client_internal.h"
#include "clock.h"
#include "internal.h"

#define LEASE_DEFAULT_DURATION_S 15

static const kube_resource leases = {"coordination.k8s.io", "v1", "leases", "Lease", 1};

struct kube_lease {
	char *ns;
	char *name;
	char *holder;
	int duration_s;
	json_t *object;       /* the Lease as the server last returned it */
	long long renewed_ms; /* monotonic time of the last acquire or renew */
};

/* ---- MicroTime ----------------------------------------------------------------------------------------------- */

/* ms since the epoch as a metav1.MicroTime: "2026-11-24T05:40:00.123456Z". */
static void micro_time_format(char *out, size_t size, long long ms)
{
	long long seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int micros = (int)(ms - seconds * 1000) * 1000;
	time_t t = (time_t)seconds;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	(void)snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	               tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

/* A metav1.MicroTime (or metav1.Time) to ms since the epoch; -1 when text
 * is not one. */
static int micro_time_parse(long long *out_ms, const char *text)
{
	int64_t seconds;
	long nanos;
	if (kube_time_parse_rfc3339(&seconds, &nanos, text) != 0)
		return -1;
	*out_ms = (long long)seconds * 1000 + nanos / 1000000;
	return 0;
}

/* ---- reading a Lease ----------------------------------------------------------------------------------------- */

static void read_holder(kube_lease_holder *out, const json_t *lease, long long server_now_ms)
{
	const json_t *spec = json_object_get(lease, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	const char *rv = json_string_value(json_object_get(json_object_get(lease, "metadata"), "resourceVersion"));
	long long renew_ms = 0;
	memset(out, 0, sizeof(*out));
	(void)snprintf(out->holder, sizeof(out->holder), "%s", holder ? holder : "");
	(void)snprintf(out->resource_version, sizeof(out->resource_version), "%s", rv ? rv : "");
	json_int_t duration = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
	out->duration_s = duration > 0 && duration < 0x7fffffff ? (int)duration : 0;
	/* client-go's leader election reads renewTime; a Lease written by a
	 * tool that sets only acquireTime is judged by that. */
	if (micro_time_parse(&renew_ms, json_string_value(json_object_get(spec, "renewTime"))) != 0 &&
	    micro_time_parse(&renew_ms, json_string_value(json_object_get(spec, "acquireTime"))) != 0)
		renew_ms = 0;
	out->renew_ms = renew_ms;
	/* No time at all: nothing to wait for. */
	out->expires_in_ms = renew_ms ? renew_ms + (long long)out->duration_s * 1000 - server_now_ms : 0;
}

static const char *lease_resource_version(const kube_lease *lease)
{
	return json_string_value(json_object_get(json_object_get(lease->object, "metadata"), "resourceVersion"));
}

/* ---- building a Lease ---------------------------------------------------------------------------------------- */

static int set_new(json_t *object, const char *key, json_t *value)
{
	/* json_object_set_new frees value when it fails */
	if (!value || json_object_set_new(object, key, value) != 0)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

static int set_time(json_t *spec, const char *key, long long ms)
{
	char text[64];
	micro_time_format(text, sizeof(text), ms);
	return set_new(spec, key, json_string(text));
}

/* The ownerReference of opts->owner: a reference, not a controller, and no
 * blockOwnerDeletion (which needs update rights on the owner's finalizers). */
static int owner_reference(json_t **out, const kube_lease *lease, const json_t *owner)
{
	const json_t *meta = json_object_get(owner, "metadata");
	const char *api_version = json_string_value(json_object_get(owner, "apiVersion"));
	const char *kind = json_string_value(json_object_get(owner, "kind"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	*out = NULL;
	if (!api_version || !kind || !name || !uid)
		return kube_error_set(KUBE_EINVALID,
		                      "lease %s/%s: the owner needs apiVersion, kind, metadata.name and metadata.uid",
		                      lease->ns, lease->name);
	*out = json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", api_version, "kind", kind, "name", name, "uid", uid);
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}

static int new_lease_object(json_t **out, const kube_lease *lease, const kube_lease_options *opts, long long now_ms)
{
	json_t *object = NULL, *owners = NULL, *labels = NULL;
	int rc = 0;
	*out = NULL;
	if (opts->owner && (rc = owner_reference(&owners, lease, opts->owner)) != 0)
		return rc;
	if (opts->labels && !(labels = json_deep_copy(opts->labels))) {
		json_decref(owners);
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	/* "o*" steals owners and labels, also when packing fails */
	object = json_pack("{s:s, s:s, s:{s:s, s:s, s:o*, s:o*}, s:{s:s, s:i, s:i}}", "apiVersion",
	                   "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", lease->name, "namespace",
	                   lease->ns, "labels", labels, "ownerReferences", owners, "spec", "holderIdentity",
	                   lease->holder, "leaseDurationSeconds", lease->duration_s, "leaseTransitions", 0);
	if (!object)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	json_t *spec = json_object_get(object, "spec");
	rc = set_time(spec, "acquireTime", now_ms);
	if (!rc)
		rc = set_time(spec, "renewTime", now_ms);
	if (rc) {
		json_decref(object);
		return rc;
	}
	*out = object;
	return 0;
}

/* current with our holder, duration and renewTime = now; a new holder also
 * gets acquireTime and one more leaseTransition, as client-go's leader
 * election records them. current's resourceVersion stays, which makes the
 * update conditional. */
static int held_lease_object(json_t **out, const kube_lease *lease, const json_t *current, long long now_ms)
{
	json_t *object = json_deep_copy(current);
	json_t *spec = NULL;
	int rc = 0;
	*out = NULL;
	if (!object)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	spec = json_object_get(object, "spec");
	if (!json_is_object(spec))
		rc = set_new(object, "spec", spec = json_object());
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	if (!rc && (!holder || strcmp(holder, lease->holder) != 0)) {
		json_int_t transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
		rc = set_new(spec, "holderIdentity", json_string(lease->holder));
		if (!rc)
			rc = set_new(spec, "leaseTransitions", json_integer(transitions + 1));
		if (!rc)
			rc = set_time(spec, "acquireTime", now_ms);
	}
	if (!rc)
		rc = set_new(spec, "leaseDurationSeconds", json_integer(lease->duration_s));
	if (!rc)
		rc = set_time(spec, "renewTime", now_ms);
	if (rc) {
		json_decref(object);
		return rc;
	}
	*out = object;
	return 0;
}

/* ---- acquiring ----------------------------------------------------------------------------------------------- */

static void lease_free_fields(kube_lease *lease)
{
	kube_free(lease->ns);
	kube_free(lease->name);
	kube_free(lease->holder);
	json_decref(lease->object);
}

void kube_lease_free(kube_lease *lease)
{
	if (!lease)
		return;
	lease_free_fields(lease);
	kube_free(lease);
}

const char *kube_lease_holder_identity(const kube_lease *lease)
{
	return lease->holder;
}

/* A write of ours lost to another process's (409, or 404 when the Lease
 * went away between our read and our write): a conflict for the caller,
 * keeping the server's Status, naming the winner when a read finds one. */
static int lost_race(kube_client *client, const kube_lease *lease, kube_lease_holder *held_by)
{
	const kube_error *err = kube_error_last();
	long status = err->http_status;
	char reason[128], server_message[1024];
	(void)snprintf(reason, sizeof(reason), "%s", err->reason);
	(void)snprintf(server_message, sizeof(server_message), "%s", err->server_message);
	kube_lease_holder winner;
	json_t *current = NULL;
	memset(&winner, 0, sizeof(winner));
	int known = kube_client_get(client, &current, &leases, lease->ns, lease->name, NULL) == 0;
	if (known) {
		read_holder(&winner, current, kube_client_server_now_ms(client));
		known = winner.holder[0] != '\0';
		if (known && held_by)
			*held_by = winner;
	}
	json_decref(current);
	kube_log(KUBE_LOG_DECISION, "lease %s/%s: another process wrote it first", lease->ns, lease->name);
	return kube_error_set_http(KUBE_ECONFLICT, status, reason, server_message,
	                           "lease %s/%s: another process took it first%s%s%s%s%s", lease->ns, lease->name,
	                           known ? " (now held by \"" : "", known ? winner.holder : "", known ? "\")" : "",
	                           server_message[0] ? ": " : "", server_message);
}

static long long seconds_rounded(long long ms)
{
	return ms > 0 ? (ms + 500) / 1000 : 0;
}

int kube_lease_acquire(kube_lease **out, kube_client *client, const char *ns, const char *name,
                       const kube_lease_options *opts, kube_lease_holder *held_by)
{
	json_t *current = NULL, *desired = NULL, *result = NULL;
	kube_lease *lease = NULL;
	int rc;

	assert(out && client && ns && name && opts && opts->holder && *opts->holder && opts->duration_s >= 0);
	*out = NULL;
	if (held_by)
		memset(held_by, 0, sizeof(*held_by));
	if (!(lease = kube_calloc(1, sizeof(*lease))))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	lease->duration_s = opts->duration_s ? opts->duration_s : LEASE_DEFAULT_DURATION_S;
	if (!(lease->ns = kube_strdup(ns)) || !(lease->name = kube_strdup(name)) ||
	    !(lease->holder = kube_strdup(opts->holder))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}

	/* When this client already knows the server's clock (an earlier reply
	 * carried a Date), the common case, a free lock, takes one request:
	 * create first, and read only when the Lease exists. Not when the
	 * caller names a released holder: that Lease is expected to be there,
	 * and the read comes first. */
	if (client->has_server_date && !opts->released_holder) {
		rc = new_lease_object(&desired, lease, opts, kube_client_server_now_ms(client));
		if (!rc)
			rc = kube_client_create(client, &result, &leases, ns, desired, NULL);
		if (!rc) {
			kube_log(KUBE_LOG_DECISION, "lease %s/%s: created for %s", ns, name, lease->holder);
			goto done;
		}
		json_decref(desired);
		desired = NULL;
		if (rc != KUBE_ECONFLICT) /* anything but AlreadyExists */
			goto done;
	}
	rc = kube_client_get(client, &current, &leases, ns, name, NULL);
	if (rc == KUBE_ENOTFOUND) {
		rc = new_lease_object(&desired, lease, opts, kube_client_server_now_ms(client));
		if (!rc)
			rc = kube_client_create(client, &result, &leases, ns, desired, NULL);
		if (rc == KUBE_ECONFLICT) /* AlreadyExists: someone created it after our read */
			rc = lost_race(client, lease, held_by);
		else if (!rc)
			kube_log(KUBE_LOG_DECISION, "lease %s/%s: created for %s", ns, name, lease->holder);
		goto done;
	}
	if (rc)
		goto done;

	/* Judged right after the read, on the clock of the server that
	 * answered it. */
	long long now_ms = kube_client_server_now_ms(client);
	kube_lease_holder seen;
	read_holder(&seen, current, now_ms);
	const char *holder = json_string_value(json_object_get(json_object_get(current, "spec"), "holderIdentity"));
	int ours = holder && strcmp(holder, lease->holder) == 0; /* seen.holder may be cut short */
	int released = !ours && holder && opts->released_holder && strcmp(holder, opts->released_holder) == 0;
	if (!ours && !released && seen.holder[0] && seen.expires_in_ms > 0) {
		if (held_by)
			*held_by = seen;
		rc = kube_error_set(KUBE_ECONFLICT, "lease %s/%s is held by \"%s\" for %llds more (renewed %llds ago)",
		                    ns, name, seen.holder, seconds_rounded(seen.expires_in_ms),
		                    seconds_rounded(now_ms - seen.renew_ms));
		goto done;
	}
	rc = held_lease_object(&desired, lease, current, now_ms);
	if (!rc)
		rc = kube_client_update(client, &result, &leases, ns, desired, NULL);
	if (rc == KUBE_ECONFLICT || rc == KUBE_ENOTFOUND)
		rc = lost_race(client, lease, held_by);
	else if (!rc)
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: %s for %s", ns, name,
		         ours             ? "renewed"
		         : released       ? "taken over (its holder's work is done)"
		         : seen.holder[0] ? "taken over (expired)"
		                          : "taken (no holder)",
		         lease->holder);

done:
	if (!rc) {
		lease->object = result;
		lease->renewed_ms = kube_now_ms();
		result = NULL;
		*out = lease;
		lease = NULL;
	}
	kube_lease_free(lease);
	json_decref(current);
	json_decref(desired);
	json_decref(result);
	return rc;
}

/* ---- holding and releasing ----------------------------------------------------------------------------------- */

int kube_lease_renew(kube_client *client, kube_lease *lease)
{
	json_t *desired = NULL, *result = NULL;
	assert(client && lease);
	int rc = held_lease_object(&desired, lease, lease->object, kube_client_server_now_ms(client));
	if (!rc)
		rc = kube_client_update(client, &result, &leases, lease->ns, desired, NULL);
	if (rc == KUBE_ECONFLICT || rc == KUBE_ENOTFOUND) {
		const kube_error *err = kube_error_last();
		rc = kube_error_set_http(KUBE_ECONFLICT, err->http_status, err->reason, err->server_message,
		                         "lease %s/%s was lost: %s", lease->ns, lease->name,
		                         err->server_message[0] ? err->server_message
		                                                : "it changed since it was taken");
	}
	if (!rc) {
		json_decref(lease->object);
		lease->object = result;
		result = NULL;
		lease->renewed_ms = kube_now_ms();
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: renewed", lease->ns, lease->name);
	}
	json_decref(desired);
	json_decref(result);
	return rc;
}

int kube_lease_keep(kube_client *client, kube_lease *lease)
{
	assert(client && lease);
	/* A third of the duration, as leader election's retry period relates
	 * to its lease: two renewals can fail before the Lease expires. */
	if (kube_now_ms() - lease->renewed_ms < (long long)lease->duration_s * 1000 / 3)
		return 0;
	return kube_lease_renew(client, lease);
}

int kube_lease_release(kube_client *client, kube_lease *lease)
{
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	assert(client && lease);
	opts.precondition_resource_version = lease_resource_version(lease);
	int rc = kube_client_delete(client, NULL, &leases, lease->ns, lease->name, &opts);
	if (rc == KUBE_ENOTFOUND || rc == KUBE_ECONFLICT) {
		/* Gone, or someone took it over after it expired: not ours to
		 * delete any more, and released either way. */
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: already released or taken over (%s)", lease->ns, lease->name,
		         kube_error_last()->message);
		kube_error_clear();
		return 0;
	}
	if (!rc)
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: released", lease->ns, lease->name);
	return rc;
}

int kube_lease_get_holder(kube_lease_holder *out, kube_client *client, const char *ns, const char *name)
{
	json_t *current = NULL;
	assert(out && client && ns && name);
	memset(out, 0, sizeof(*out));
	int rc = kube_client_get(client, &current, &leases, ns, name, NULL);
	if (!rc)
		read_holder(out, current, kube_client_server_now_ms(client));
	json_decref(current);
	return rc;
}
