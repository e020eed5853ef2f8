/* Pinning D's Services: while a run that must keep the new pods out of the
 * stable Services is in progress (blue-green, and every router but
 * replicas), each Service whose selector picks D's pods gets the
 * pod-template-hash of D's current ReplicaSet added to its selector, its
 * original selector saved on it; it can then be pointed at the new pods
 * (their track and revision) and back, and the end of the run restores the
 * original selector exactly. */
#ifndef CANARY_SERVICE_PIN_H
#define CANARY_SERVICE_PIN_H

#include "canary.h"

/* On a pinned Service: the Deployment it was pinned for, and its selector
 * before (JSON). */
#define CANARY_ANNOTATION_SELECTOR_OF       "rollguard.io/selector-of"
#define CANARY_ANNOTATION_ORIGINAL_SELECTOR "rollguard.io/original-selector"

extern const kube_resource canary_res_services;

/* 1 when selector (a Service's spec.selector) is not empty and every key
 * of it is a label of D's pod template. */
int canary_selects_d(const canary_ctx *ctx, const json_t *selector);

/* D's Services, one LIST: those pinned for D (annotated), and unless
 * pinned_only those whose selector picks D's pods. *out: an array
 * (owned). Returns 0 or the exit code (printed). */
int canary_services_find(canary_ctx *ctx, json_t **out, int pinned_only);

/* The selector a pinned Service saved (owned), or NULL (not pinned, or
 * the annotation is not a selector). */
json_t *canary_service_original_selector(const json_t *svc);

/* The pod-template-hash of D's current ReplicaSet (one LIST). No such
 * ReplicaSet (a rollout in progress): exit 5. */
int canary_services_stable_hash(canary_ctx *ctx, char *out, size_t size);

/* Pins every Service that selects D's pods and is not pinned yet to the
 * pods of hash (not empty: exit 1); *out_count (may be NULL) gets how many Services of D
 * there are, pinned before or now. Returns 0 or the exit code (printed). */
int canary_services_pin(canary_ctx *ctx, const char *hash, size_t *out_count);

/* Points every pinned Service at the new pods (to_new: the original
 * selector with the run's track and revision) or back at D's pods of
 * ctx->state.blue_hash. A Service already there is left alone. With no
 * blue_hash in the state (a run whose start was interrupted by an older
 * version), the hash the Service is pinned to now is taken, else D's
 * current ReplicaSet's: an empty hash is never written. */
int canary_services_point(canary_ctx *ctx, int to_new);

/* Restores every pinned Service's original selector and removes the two
 * annotations. */
int canary_services_unpin(canary_ctx *ctx);

#endif
