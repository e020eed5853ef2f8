/* Health verification after helm rolled back (SPEC §5.2 Verify): every
 * workload of the target manifest rolled out and Ready, judged as
 * `kubectl rollout status` judges it (readiness.h), with a reason per
 * object that is not, naming its worst pod. */
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

#endif
