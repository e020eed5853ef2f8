/* Cuts listed objects down to what the checks read. */
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Seconds since the epoch of an RFC 3339 time ("2024-05-01T10:00:00Z",
 * fractions and offsets ignored), or -1 (also for NULL). */
static long long parse_time(const char *text)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                    &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static long json_long(const json_t *object, const char *key, long fallback)
{
	const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
	return json_is_integer(value) ? (long)json_integer_value(value) : fallback;
}

/* A copy in arena of object's string member key; NULL when it is absent
 * (*failed untouched) or memory runs out (*failed set). */
static const char *copy_string(probecheck_arena *arena, const json_t *object, const char *key, int *failed)
{
	const char *value = probecheck_json_string(object, key);
	const char *copy = probecheck_arena_strdup(arena, value);
	if (value && !copy)
		*failed = 1;
	return copy;
}

/* Fills s from a container status object; returns 0, or -1 when out of memory. */
static int compact_status(probecheck_arena *arena, probecheck_container_status *s, const json_t *status, int init)
{
	int failed = 0;
	const json_t *state = probecheck_json_object(status, "state");
	const json_t *running = probecheck_json_object(state, "running");
	const json_t *terminated = probecheck_json_object(probecheck_json_object(status, "lastState"), "terminated");
	const json_t *started = json_object_get(status, "started");
	memset(s, 0, sizeof(*s));
	s->name = copy_string(arena, status, "name", &failed);
	s->init = init;
	s->restart_count = json_long(status, "restartCount", 0);
	s->started = json_is_boolean(started) ? json_is_true(started) : -1;
	s->ready = json_is_true(json_object_get(status, "ready"));
	s->running = running != NULL;
	s->running_since = parse_time(probecheck_json_string(running, "startedAt"));
	s->waiting_reason = copy_string(arena, probecheck_json_object(state, "waiting"), "reason", &failed);
	s->terminated = terminated != NULL;
	s->terminated_reason = copy_string(arena, terminated, "reason", &failed);
	s->exit_code = json_long(terminated, "exitCode", 0);
	return failed ? -1 : 0;
}

/* The named entries of containerStatuses, then of initContainerStatuses. */
static int compact_statuses(probecheck_arena *arena, probecheck_pod *pod, const json_t *status)
{
	static const char *const keys[2] = {"containerStatuses", "initContainerStatuses"};
	size_t count = 0, i;
	const json_t *item;
	for (int init = 0; init < 2; init++) {
		json_array_foreach(probecheck_json_array(status, keys[init]), i, item)
		{
			count += probecheck_json_string(item, "name") != NULL;
		}
	}
	if (!count)
		return 0;
	if (!(pod->statuses = probecheck_arena_alloc(arena, count * sizeof(*pod->statuses))))
		return -1;
	for (int init = 0; init < 2; init++) {
		json_array_foreach(probecheck_json_array(status, keys[init]), i, item)
		{
			if (!probecheck_json_string(item, "name"))
				continue;
			if (compact_status(arena, &pod->statuses[pod->status_count++], item, init))
				return -1;
		}
	}
	return 0;
}

/* The transition time of the pod's (first) Ready condition when it is True, or -1. */
static long long ready_since(const json_t *status)
{
	size_t i;
	const json_t *item;
	json_array_foreach(probecheck_json_array(status, "conditions"), i, item)
	{
		const char *type = probecheck_json_string(item, "type");
		const char *value = probecheck_json_string(item, "status");
		if (type && strcmp(type, "Ready") == 0)
			return value && strcmp(value, "True") == 0
			               ? parse_time(probecheck_json_string(item, "lastTransitionTime"))
			               : -1;
	}
	return -1;
}

probecheck_pod *probecheck_compact_pod(probecheck_arena *arena, const json_t *pod, int keep_spec)
{
	const json_t *meta = probecheck_json_object(pod, "metadata");
	const json_t *status = probecheck_json_object(pod, "status");
	const char *phase = probecheck_json_string(status, "phase");
	const char *owner = probecheck_owner_uid(pod);
	probecheck_pod *out = probecheck_arena_alloc(arena, sizeof(*out));
	int failed = 0;
	if (!out)
		return NULL;
	memset(out, 0, sizeof(*out));
	out->name = copy_string(arena, meta, "name", &failed);
	out->namespace_name = copy_string(arena, meta, "namespace", &failed);
	out->uid = copy_string(arena, meta, "uid", &failed);
	out->owner_uid = probecheck_arena_strdup(arena, owner);
	failed |= owner && !out->owner_uid;
	out->pod_ip = copy_string(arena, status, "podIP", &failed);
	out->phase_running = phase && strcmp(phase, "Running") == 0;
	out->deleting = json_object_get(meta, "deletionTimestamp") != NULL;
	out->ready_since = ready_since(status);
	if (failed || compact_statuses(arena, out, status))
		return NULL;
	if (keep_spec && json_is_object(json_object_get(pod, "spec")))
		out->spec = json_incref(json_object_get(pod, "spec"));
	return out;
}

void probecheck_pod_release(probecheck_pod *pod)
{
	json_decref(pod->spec);
	pod->spec = NULL;
}

const probecheck_container_status *probecheck_pod_status(const probecheck_pod *pod, const char *container, int init)
{
	for (size_t i = 0; i < pod->status_count; i++)
		if (!pod->statuses[i].init == !init && strcmp(pod->statuses[i].name, container) == 0)
			return &pod->statuses[i];
	return NULL;
}

static const char *const event_reasons[] = {
        [PROBECHECK_EVENT_UNHEALTHY] = "Unhealthy",
        [PROBECHECK_EVENT_KILLING] = "Killing",
        [PROBECHECK_EVENT_PROBE_WARNING] = "ProbeWarning",
};

/* The reason of an event checks/live.c reads, or -1. */
static int event_reason(const json_t *event)
{
	const char *reason = probecheck_json_string(event, "reason");
	const char *kind = probecheck_json_string(probecheck_json_object(event, "involvedObject"), "kind");
	if (!reason || !kind || strcmp(kind, "Pod") != 0 || !probecheck_json_string(event, "message"))
		return -1;
	for (size_t i = 0; i < sizeof(event_reasons) / sizeof(event_reasons[0]); i++)
		if (strcmp(reason, event_reasons[i]) == 0)
			return (int)i;
	return -1;
}

int probecheck_event_wanted(const json_t *event)
{
	return event_reason(event) >= 0;
}

probecheck_event *probecheck_compact_event(probecheck_arena *arena, const json_t *event)
{
	static const char *const time_keys[] = {"lastTimestamp", "eventTime", "firstTimestamp"};
	int reason = event_reason(event), failed = 0;
	probecheck_event *out = reason >= 0 ? probecheck_arena_alloc(arena, sizeof(*out)) : NULL;
	if (!out)
		return NULL;
	memset(out, 0, sizeof(*out));
	out->reason = (enum probecheck_event_reason)reason;
	out->message = copy_string(arena, event, "message", &failed);
	out->field_path = copy_string(arena, probecheck_json_object(event, "involvedObject"), "fieldPath", &failed);
	out->count = json_long(probecheck_json_object(event, "series"), "count", -1);
	if (out->count < 1)
		out->count = json_long(event, "count", 1);
	if (out->count < 1)
		out->count = 1;
	out->time = -1;
	for (size_t i = 0; i < sizeof(time_keys) / sizeof(time_keys[0]) && out->time < 0; i++)
		out->time = parse_time(probecheck_json_string(event, time_keys[i]));
	return failed ? NULL : out;
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
 * src[key] is an object. */
static int copy_object(json_t *dst, const json_t *src, const char *key, const char *const *keys)
{
	const json_t *from = probecheck_json_object(src, key);
	json_t *to;
	if (!from)
		return 0;
	if (!(to = json_object()) || json_object_set_new(dst, key, to) || copy(to, from, keys))
		return -1;
	return 0;
}

json_t *probecheck_compact_selecting(const json_t *object, const char *kind, const char *api_version)
{
	static const char *const meta_keys[] = {"name", "namespace", NULL};
	static const char *const spec_keys[] = {"selector", NULL};
	json_t *out = json_pack("{s:s, s:s}", "kind", kind, "apiVersion", api_version);
	if (!out || copy_object(out, object, "metadata", meta_keys) || copy_object(out, object, "spec", spec_keys)) {
		json_decref(out);
		return NULL;
	}
	return out;
}
