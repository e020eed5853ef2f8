/* What the gates look at: the canary pods of one revision, tracked through
 * one watch that starts with the current pods (so evaluating the gates and
 * then waiting for new pods to become Ready costs a single request), and
 * the Warning events about them. */
#ifndef CANARY_OBSERVE_H
#define CANARY_OBSERVE_H

#include <jansson.h>

#include "canary.h"

typedef struct canary_pods canary_pods;

/* 1 when pod's Ready condition is True and it is not being deleted. */
int canary_pod_ready(const json_t *pod);

/* Opens the watch of the new pods of ctx's run (its track and revision)
 * and takes in the current ones. Returns 0 or the exit code (printed). */
int canary_pods_open(canary_pods **out, canary_ctx *ctx);

/* Takes in the pod changes that arrive within wait_ms (0: only what is
 * already there). Returns 0 or the exit code (printed). */
int canary_pods_poll(canary_pods *pods, long wait_ms);

/* Waits until at least ready canary pods are Ready, or a pod fails
 * (restart, CrashLoopBackOff, ...: returns CLI_EXIT_FAIL with reason),
 * or timeout_ms passes (CLI_EXIT_FAIL with reason). Keeps ctx's Lease. */
int canary_pods_wait_ready(canary_pods *pods, int ready, long timeout_ms, char *reason, size_t reason_size);

/* The pods now, an object of name → pod (borrowed). */
const json_t *canary_pods_items(const canary_pods *pods);
int canary_pods_ready(const canary_pods *pods);
int canary_pods_count(const canary_pods *pods);

void canary_pods_free(canary_pods *pods);

/* The Warning events about pods (one LIST of Warning events about Pods in
 * the namespace, kept when they name one of pods): an array (owned). */
int canary_events_list(json_t **out, canary_ctx *ctx, const json_t *pods);

#endif
