/* Whether one object is rolled out and Ready, as `kubectl rollout status`
 * decides it, and why not, naming the worst of a workload's pods: a pure
 * function over objects as the API returns them (verify.h does the
 * listing and the waiting). */
#ifndef ROLLBACK_READINESS_H
#define ROLLBACK_READINESS_H

#include <stddef.h>

#include <jansson.h>

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
