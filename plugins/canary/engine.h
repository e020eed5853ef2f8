/* The steps of a canary run. Each is idempotent and derived from D's state
 * annotation and the objects observed, with its intent written before it
 * acts and its result committed after (SPEC §3.6), so any command resumes
 * or rolls back a step a killed process left half-done. The capacity
 * invariant holds throughout: pods are added and Ready before others are
 * removed. */
#ifndef CANARY_ENGINE_H
#define CANARY_ENGINE_H

#include "canary.h"
#include "gate.h"
#include "observe.h"

/* Exit 6 when D's pod template is neither the one the run started from
 * nor (while Promoting) the canary's: someone changed it underneath. */
int canary_check_template(canary_ctx *ctx);

/* Builds D-canary for a new run: D's spec with pod_template (labels for
 * track and revision added here), replicas, owner and labels. Owned. */
json_t *canary_build_canary(const canary_ctx *ctx, const json_t *pod_template, int replicas);

/* Creates D-canary (or, when it exists from this run, leaves it), then
 * carries out the first rung. Needs the state written with intent
 * "start". */
int canary_step_create(canary_ctx *ctx, const json_t *canary_object);

/* Moves to rung to_step at weight (1..99): canary up (intent recorded in
 * the same patch), wait for its pods Ready (stopping on a failing pod),
 * route, stable down and the state committed in one patch of D. pods is
 * the open watch of the canary pods. Returns 0 or the exit code (printed;
 * CLI_EXIT_FAIL with ctx->state.reason set when the canary failed). */
int canary_step_weight(canary_ctx *ctx, canary_pods *pods, int to_step, int weight);

/* The last rung: D gets the canary's template and its original replica
 * count (saving the stable template first), rolls out with its own
 * strategy, then the canary is removed and the run Succeeded. */
int canary_step_finish(canary_ctx *ctx);

/* Abort: D back to N pods of the stable template (restored when it had
 * been replaced), Ready, then the canary removed; phase Aborted with
 * reason. Idempotent. */
int canary_step_abort(canary_ctx *ctx, const char *reason);

/* Evaluates ctx->gates (health only when NULL) now for the canary pods
 * (watched by pods) into ctx->state's gate records; returns the verdict.
 * *out_error gets an exit code when evaluation itself failed (printed). */
enum canary_verdict canary_evaluate_gates(canary_ctx *ctx, canary_pods *pods, int desired, int *out_error);

/* Commits ctx->state (with the acting user) into D in one conditional
 * patch, together with whatever patch already holds (taken: freed here;
 * NULL is out of memory). Returns 0 or the exit code (printed). */
int canary_commit(canary_ctx *ctx, json_t *patch, const char *what);

/* The canary's replicas at the current rung (0 before the first). */
int canary_current_canary_replicas(const canary_ctx *ctx);

#endif
