/* Cuts listed objects down to what the checks read. */
#include <string.h>

#include "cluster_compact.h"
#include "workload.h"

const char *probecheck_owner_uid(const json_t *object)
{
	const json_t *refs = probecheck_json_array(probecheck_json_object(object, "metadata"), "ownerReferences");
	const char *first = NULL;
	size_t i;
	const json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		const char *uid = probecheck_json_string(ref, "uid");
		if (!first)
			first = uid;
		if (json_is_true(json_object_get(ref, "controller")))
			return uid;
	}
	return first;
}

/* Copies the members of src named in keys (NULL-ended) into dst, sharing
 * their values. Returns 0 or -1. */
static int copy(json_t *dst, const json_t *src, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *value = json_is_object(src) ? json_object_get(src, *keys) : NULL;
		if (value && json_object_set(dst, *keys, value))
			return -1;
	}
	return 0;
}

/* dst[key] = a new object with src[key]'s members named in keys, when
 * src[key] is an object; returns the new object through out (may be NULL). */
static int copy_object(json_t *dst, const json_t *src, const char *key, const char *const *keys, json_t **out)
{
	const json_t *from = probecheck_json_object(src, key);
	json_t *to;
	if (out)
		*out = NULL;
	if (!from)
		return 0;
	if (!(to = json_object()) || json_object_set_new(dst, key, to) || copy(to, from, keys))
		return -1;
	if (out)
		*out = to;
	return 0;
}

static json_t *compact_status(const json_t *status)
{
	static const char *const top[] = {"name", "restartCount", "started", "ready", NULL};
	static const char *const waiting[] = {"reason", NULL};
	static const char *const running[] = {"startedAt", NULL};
	static const char *const terminated[] = {"reason", "exitCode", NULL};
	static const char *const none[] = {NULL};
	json_t *out = json_object(), *state, *last;
	if (!out || copy(out, status, top) || copy_object(out, status, "state", none, &state) ||
	    copy_object(state, probecheck_json_object(status, "state"), "waiting", waiting, NULL) ||
	    copy_object(state, probecheck_json_object(status, "state"), "running", running, NULL) ||
	    copy_object(out, status, "lastState", none, &last) ||
	    copy_object(last, probecheck_json_object(status, "lastState"), "terminated", terminated, NULL)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int compact_statuses(json_t *dst, const json_t *status, const char *key)
{
	const json_t *list = probecheck_json_array(status, key);
	json_t *to;
	if (!list)
		return 0;
	if (!(to = json_array()) || json_object_set_new(dst, key, to))
		return -1;
	size_t i;
	const json_t *item;
	json_array_foreach(list, i, item)
	{
		if (json_array_append_new(to, compact_status(item)))
			return -1;
	}
	return 0;
}

/* The Ready condition only: checks/live.c reads no other. */
static int compact_conditions(json_t *dst, const json_t *status)
{
	static const char *const keys[] = {"type", "status", "lastTransitionTime", NULL};
	size_t i;
	const json_t *item;
	json_array_foreach(probecheck_json_array(status, "conditions"), i, item)
	{
		const char *type = probecheck_json_string(item, "type");
		if (!type || strcmp(type, "Ready") != 0)
			continue;
		json_t *list = json_array(), *ready = json_object();
		if (!list || !ready) {
			json_decref(list);
			json_decref(ready);
			return -1;
		}
		if (json_object_set_new(dst, "conditions", list) || json_array_append_new(list, ready))
			return -1;
		return copy(ready, item, keys);
	}
	return 0;
}

json_t *probecheck_compact_pod(const json_t *pod, int keep_spec)
{
	static const char *const meta_keys[] = {"name", "namespace", "uid", "deletionTimestamp", NULL};
	static const char *const status_keys[] = {"phase", "podIP", NULL};
	const json_t *meta_in = probecheck_json_object(pod, "metadata");
	const json_t *status_in = probecheck_json_object(pod, "status");
	const char *owner = probecheck_owner_uid(pod);
	json_t *out = json_object(), *meta = json_object(), *status = json_object();
	/* json_object_set_new() takes the reference even when it fails */
	int failed = !out || json_object_set_new(out, "metadata", meta) || json_object_set_new(out, "status", status);
	if (!out) {
		json_decref(meta);
		json_decref(status);
	}
	if (failed) {
		json_decref(out);
		return NULL;
	}
	failed = copy(meta, meta_in, meta_keys) || copy(status, status_in, status_keys) ||
	         compact_conditions(status, status_in) || compact_statuses(status, status_in, "containerStatuses") ||
	         compact_statuses(status, status_in, "initContainerStatuses");
	if (!failed && owner)
		failed = json_object_set_new(meta, "ownerReferences",
		                             json_pack("[{s:s, s:b}]", "uid", owner, "controller", 1)) != 0;
	if (!failed && keep_spec && json_object_get(pod, "spec"))
		failed = json_object_set(out, "spec", json_object_get(pod, "spec")) != 0;
	if (failed) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int probecheck_event_wanted(const json_t *event)
{
	static const char *const reasons[] = {"Unhealthy", "Killing", "ProbeWarning"};
	const char *reason = probecheck_json_string(event, "reason");
	const char *kind = probecheck_json_string(probecheck_json_object(event, "involvedObject"), "kind");
	if (!reason || !kind || strcmp(kind, "Pod") != 0 || !probecheck_json_string(event, "message"))
		return 0;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return 1;
	return 0;
}

json_t *probecheck_compact_event(const json_t *event)
{
	static const char *const keys[] = {"reason",    "message",        "count", "lastTimestamp",
	                                   "eventTime", "firstTimestamp", NULL};
	static const char *const involved[] = {"fieldPath", NULL};
	static const char *const series[] = {"count", NULL};
	json_t *out = json_object();
	if (!out || copy(out, event, keys) || copy_object(out, event, "involvedObject", involved, NULL) ||
	    copy_object(out, event, "series", series, NULL)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *probecheck_compact_selecting(const json_t *object, const char *kind, const char *api_version)
{
	static const char *const meta_keys[] = {"name", "namespace", NULL};
	static const char *const spec_keys[] = {"selector", NULL};
	json_t *out = json_pack("{s:s, s:s}", "kind", kind, "apiVersion", api_version);
	if (!out || copy_object(out, object, "metadata", meta_keys, NULL) ||
	    copy_object(out, object, "spec", spec_keys, NULL)) {
		json_decref(out);
		return NULL;
	}
	return out;
}
