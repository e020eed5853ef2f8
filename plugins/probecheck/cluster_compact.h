/* Cluster mode keeps no listed object whole: each page is cut down, as it
 * arrives, to the fields the checks read. Pods keep their identity, owner,
 * phase and the status fields checks/live.c and exercise.c read (the spec
 * only for --exercise); Events only those checks/live.c counts; Services
 * and PodDisruptionBudgets their selector. The results are JSON objects of
 * the original shape, so the checks read them as they read the API's. */
#ifndef PROBECHECK_CLUSTER_COMPACT_H
#define PROBECHECK_CLUSTER_COMPACT_H

#include <jansson.h>

/* The uid of object's controller (or first) owner, or NULL. */
const char *probecheck_owner_uid(const json_t *object);

/* A new pod object (NULL when out of memory) with metadata name,
 * namespace, uid, deletionTimestamp and the controller owner's uid, and
 * status phase, podIP, the Ready condition and the container statuses'
 * name, restartCount, started, ready, state and lastState.terminated; with
 * keep_spec, the spec too (shared, not copied). */
json_t *probecheck_compact_pod(const json_t *pod, int keep_spec);

/* 1 when checks/live.c reads events of this reason. */
int probecheck_event_wanted(const json_t *event);

/* A new event object with the fields checks/live.c reads, or NULL. */
json_t *probecheck_compact_event(const json_t *event);

/* A new Service or PodDisruptionBudget with kind, apiVersion, metadata
 * name and namespace, and spec.selector, or NULL. */
json_t *probecheck_compact_selecting(const json_t *object, const char *kind, const char *api_version);

#endif
