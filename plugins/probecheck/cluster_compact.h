/* Cluster mode keeps no listed object whole: each page is cut down, as it
 * arrives, to the fields the checks read. Pods and Events become small C
 * structs in the list's arena (the values checks/live.c and exercise.c
 * read, times already parsed; the spec only for --exercise); Services and
 * PodDisruptionBudgets stay JSON objects of the original shape with only
 * their selector, since the engine reads them as it reads manifests. */
#ifndef PROBECHECK_CLUSTER_COMPACT_H
#define PROBECHECK_CLUSTER_COMPACT_H

#include <jansson.h>

#include "arena.h"

/* The Event reasons checks/live.c reads. */
enum probecheck_event_reason {
	PROBECHECK_EVENT_UNHEALTHY,
	PROBECHECK_EVENT_KILLING,
	PROBECHECK_EVENT_PROBE_WARNING,
};

/* A kubelet Event about a pod. */
typedef struct probecheck_event {
	enum probecheck_event_reason reason;
	const char *message;    /* never NULL */
	const char *field_path; /* involvedObject.fieldPath or NULL */
	long count;             /* series.count, else count; at least 1 */
	long long time;         /* lastTimestamp, else eventTime, else firstTimestamp (epoch seconds); -1: none */
	struct probecheck_event *next; /* the pod's next Event, in list order */
} probecheck_event;

/* One entry of a pod's containerStatuses or initContainerStatuses. */
typedef struct probecheck_container_status {
	const char *name; /* never NULL: entries without a name are dropped */
	int init;         /* from initContainerStatuses */
	long restart_count;
	int started;                   /* started: 1 true, 0 false, -1 absent */
	int ready;                     /* ready is true */
	int running;                   /* state.running is set */
	long long running_since;       /* state.running.startedAt (epoch seconds), -1 when absent */
	const char *waiting_reason;    /* state.waiting.reason or NULL */
	int terminated;                /* lastState.terminated is set */
	const char *terminated_reason; /* lastState.terminated.reason or NULL */
	long exit_code;                /* lastState.terminated.exitCode, 0 when absent */
} probecheck_container_status;

/* A listed pod. Strings are NULL when the API left them out. */
typedef struct probecheck_pod {
	const char *name, *namespace_name, *uid;
	const char *owner_uid; /* the controller (or first) owner's uid */
	const char *pod_ip;    /* status.podIP */
	int phase_running;     /* status.phase is Running */
	int deleting;          /* metadata.deletionTimestamp is set */
	long long ready_since; /* the Ready condition's lastTransitionTime when it is True (epoch seconds), else -1 */
	probecheck_container_status *statuses;
	size_t status_count;
	json_t *spec;                   /* --exercise only: the pod's spec (a reference, owned), else NULL */
	const probecheck_event *events; /* the pod's Events, set once every list is in */
	struct probecheck_pod *next;    /* in list order */
} probecheck_pod;

/* A workload's pods, in list order. */
typedef struct probecheck_pod_link {
	const probecheck_pod *pod;
	struct probecheck_pod_link *next;
} probecheck_pod_link;

/* The uid of object's controller (or first) owner, or NULL. */
const char *probecheck_owner_uid(const json_t *object);

/* A new pod in arena (NULL when out of memory) from a listed pod; with
 * keep_spec, it holds a reference to the pod's spec, which
 * probecheck_pod_release drops. */
probecheck_pod *probecheck_compact_pod(probecheck_arena *arena, const json_t *pod, int keep_spec);

/* Drops what a compact pod holds outside its arena (the spec). */
void probecheck_pod_release(probecheck_pod *pod);

/* The container's status in pod (init: from initContainerStatuses), or NULL. */
const probecheck_container_status *probecheck_pod_status(const probecheck_pod *pod, const char *container, int init);

/* 1 when checks/live.c reads events of this reason. */
int probecheck_event_wanted(const json_t *event);

/* A new event in arena from a wanted event (probecheck_event_wanted), or
 * NULL when out of memory. */
probecheck_event *probecheck_compact_event(probecheck_arena *arena, const json_t *event);

/* A new Service or PodDisruptionBudget with kind, apiVersion, metadata
 * name and namespace, and spec.selector, or NULL. */
json_t *probecheck_compact_selecting(const json_t *object, const char *kind, const char *api_version);

#endif
