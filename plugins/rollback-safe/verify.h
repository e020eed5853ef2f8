/* Health verification after helm rolled back (SPEC §5.2 Verify): every
 * workload of the target manifest rolled out and Ready, judged as
 * `kubectl rollout status` judges it, with a reason per object that is
 * not, naming its worst pod. */
#ifndef ROLLBACK_VERIFY_H
#define ROLLBACK_VERIFY_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "rollback.h"

typedef struct rollback_verify_object {
	char kind[128]; /* as the manifest spells it: "Deployment" */
	char ns[254];
	char name[254];
	int ready;
	char reason[512]; /* why not ready; "" when ready */
} rollback_verify_object;

typedef struct rollback_verify_result {
	rollback_verify_object *objects; /* in manifest order */
	size_t count;
	int all_ready;
	long elapsed_ms;
} rollback_verify_result;

/* Waits until every Deployment, StatefulSet, DaemonSet (apps), Job
 * (batch) and PersistentVolumeClaim (core) among objects is rolled out
 * and Ready, or timeout_ms passes (0 or less: one look). objects is a JSON
 * array of the target manifest's objects (apiVersion, kind,
 * metadata.name; metadata.namespace, else ctx->ns); other kinds and
 * duplicates are ignored. Each round (about a second apart) lists each
 * (kind, namespace) that still has an object not ready, once (never one
 * GET per object), and, only while some workload is not ready, the pods
 * of its namespace for the reason. Stops early when every object not
 * ready has failed for good (a Job that failed). Shows progress on stderr
 * (a live line on a terminal, a line per change elsewhere) unless quiet.
 * SIGINT and SIGTERM stop the wait (raised again afterwards when the
 * program has a handler for them).
 * Returns 0 with the verdict in out->all_ready; or an exit code (printed):
 * 4 (or as cli_error_kube maps it) when a list of workloads fails, 130 /
 * 143 when interrupted. out holds what was seen in every case; release it
 * with rollback_verify_dispose. */
int rollback_verify(rollback_ctx *ctx, const json_t *objects, long timeout_ms, int quiet, rollback_verify_result *out);

/* {"ready":bool,"elapsedMs":n,"objects":[{"kind","namespace","name",
 * "ready","reason"}]} (the caller's), or NULL when memory runs out. */
json_t *rollback_verify_json(const rollback_verify_result *r);

/* One line per object: "deployment/web: ready", or "deployment/web: not
 * ready: 0/2 pods ready: pod web-abc: CrashLoopBackOff (back-off ...)". */
void rollback_verify_print(const rollback_verify_result *r, FILE *stream);

/* Frees what out holds and zeroes it; safe on a zeroed result. */
void rollback_verify_dispose(rollback_verify_result *r);

/* What rollback_workload_ready says of an object. Compare against these
 * values: ROLLBACK_FAILED is non-zero too. */
enum rollback_readiness {
	ROLLBACK_NOT_READY = 0, /* not yet: keep waiting */
	ROLLBACK_READY = 1,
	ROLLBACK_FAILED = 2, /* will not become ready by itself: a Job that failed */
};

/* Whether live (one object as the API returns it, `kind` set; NULL when
 * it does not exist: "not found") is rolled out and Ready, as `kubectl
 * rollout status` decides it:
 *   Deployment: status.observedGeneration >= metadata.generation,
 *     updatedReplicas >= spec.replicas (default 1), no old replicas left
 *     (status.replicas <= updatedReplicas), availableReplicas >=
 *     updatedReplicas; Progressing=False ProgressDeadlineExceeded is
 *     named in the reason (the wait goes on).
 *   StatefulSet: observedGeneration, readyReplicas >= spec.replicas;
 *     RollingUpdate with a partition: updatedReplicas >= replicas -
 *     partition; otherwise updateRevision == currentRevision.
 *   DaemonSet: observedGeneration, updatedNumberScheduled (RollingUpdate)
 *     and numberAvailable >= desiredNumberScheduled.
 *   Job: condition Complete=True; Failed=True is ROLLBACK_FAILED with its
 *     reason and message.
 *   PersistentVolumeClaim: status.phase Bound.
 * Other kinds are ROLLBACK_READY. An object being deleted is not ready.
 * When not ready, reason says why; for workloads it names the worst of
 * pods (an array of the namespace's pods, may be NULL) that the
 * workload's spec.selector matches: a container waiting in
 * CrashLoopBackOff, ImagePullBackOff, ErrImagePull, InvalidImageName,
 * CreateContainerConfigError and the like, then OOMKilled, a failed or
 * unschedulable pod, restarts, and last a pod not Ready with its message.
 * reason is "" when ready. */
enum rollback_readiness rollback_workload_ready(const json_t *live, const json_t *pods, char *reason,
                                                size_t reason_size);

#endif
