/* What every kubectl canary command shares: the connection, the stable
 * Deployment D and its canary as last read, the run state, the acting
 * user, the plan a --dry-run prints, and the helpers that read and write
 * those objects. One canary_ctx lives for one command. */
#ifndef CANARY_CANARY_H
#define CANARY_CANARY_H

#include <jansson.h>
#include <kube/buf.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/lease.h>
#include <kube/watch.h>
#include <kube/whoami.h>

#include "cli/cli.h"
#include "state.h"

#define CANARY_COMPONENT                  "kubectl-canary"
#define CANARY_FIELD_MANAGER              "kubectl-canary"
#define CANARY_LABEL_ACTIVE               "rollguard.io/canary-active"
#define CANARY_LABEL_MANAGED_BY           "app.kubernetes.io/managed-by"
#define CANARY_MANAGED_BY                 "rollguard"
/* On D-canary: the step being carried out (written in the same patch that
 * scales the canary, so the intent is on record before anything moves). */
#define CANARY_ANNOTATION_INTENT          "rollguard.io/step-intent"
/* On D-canary: the Deployment it serves. */
#define CANARY_ANNOTATION_OF              "rollguard.io/canary-of"
/* On D while it carries the canary's template (phase Promoting): the
 * stable template, so an abort can put it back exactly. */
#define CANARY_ANNOTATION_STABLE_TEMPLATE "rollguard.io/canary-stable-template"
/* On D during a run: the canary's change to D's pod template, as a JSON
 * merge patch, so the finish writes the canary's template into D without
 * reading D-canary (the run's revision is its hash, checked). */
#define CANARY_ANNOTATION_TEMPLATE        "rollguard.io/canary-template"
/* On D when the user may not use Leases: the lock (SPEC §3.4). */
#define CANARY_ANNOTATION_LOCK            "rollguard.io/canary-lock"

enum canary_dry_run {
	CANARY_DRY_RUN_NONE,
	CANARY_DRY_RUN_CLIENT,
	CANARY_DRY_RUN_SERVER,
};

struct canary_router;

typedef struct canary_ctx {
	const cli_args *args;
	kube_config *config;
	kube_client *client;
	const char *ns;
	const char *name;         /* D */
	char canary_name[254];    /* D-canary */
	json_t *deploy;           /* D as last read (owned) */
	json_t *canary;           /* D-canary as last read, NULL when absent (owned) */
	kube_watch *deploy_watch; /* D read through a watch that stays open (canary_watch_deploy), or NULL */
	canary_state state;       /* parsed from D's annotation (phase NONE when absent) */
	kube_identity user;       /* the acting user (kube_whoami), "" until known */
	enum canary_dry_run dry_run;
	kube_buf plan;       /* the steps a dry run would carry out, one per line */
	kube_lease *lease;   /* held Lease, or NULL */
	int annotation_lock; /* holding the annotation lock on D instead of a Lease */
	long long annotation_lock_renewed_ms;
	char holder[320]; /* this process's lock identity */
	/* The run's end was committed naming this process as its lockHolder:
	 * the lock is free without a release of its own. */
	int lock_ended;
	const struct canary_router *router;
	/* The gates this command checks, health first, then the run's metric
	 * gates (canary_gates_load; owned, freed by canary_ctx_close).
	 * NULL: health only. */
	struct canary_gates *gates;
	/* Set when a patch of D found that `abort` asked this run to abort
	 * (abortRequested in the state): the step stops, exit 6 with the
	 * abort's message; run then carries out the abort itself. */
	int abort_pending;
	/* Called from every wait loop (run: reads its watch of D, so a wait
	 * sees an abort request); NULL: none. Returns 0 or an exit code. */
	int (*wait_hook)(struct canary_ctx *ctx, void *user);
	void *wait_user;
} canary_ctx;

/* Built-in resource types (no discovery request needed). */
extern const kube_resource canary_res_deployments;
extern const kube_resource canary_res_pods;
extern const kube_resource canary_res_events;
extern const kube_resource canary_res_hpas;

/* Loads the configuration, connects, and names D (args->positional[0]).
 * Returns 0 or the exit code (printed). */
int canary_ctx_open(canary_ctx *ctx, const cli_args *args);
void canary_ctx_close(canary_ctx *ctx);

/* Parses --dry-run into ctx->dry_run. Returns 0 or CLI_EXIT_USAGE (printed). */
int canary_ctx_dry_run(canary_ctx *ctx);

/* GETs D (KUBE_ENOTFOUND printed as kubectl does: exit 4) and parses its
 * state annotation into ctx->state (a state that does not parse: exit 5,
 * nothing changed, with a hint to inspect or remove it). */
int canary_read_deploy(canary_ctx *ctx);

/* canary_read_deploy through a watch of D (its current state delivered by
 * the watch itself): the same one request, and kept open in
 * ctx->deploy_watch, where canary_wait_ready follows D's rollout (the
 * finish) without opening another. A user who may get D but not watch it
 * is served by the GET. */
int canary_watch_deploy(canary_ctx *ctx);

/* Takes deploy (a newer D, e.g. from a watch; NULL: ctx->deploy as it is)
 * and parses its state into ctx->state, as canary_read_deploy does after
 * its GET. */
int canary_take_deploy(canary_ctx *ctx, json_t *deploy);

/* GETs D-canary into ctx->canary (NULL when absent). When it exists but
 * rollguard did not create it for D (no managed-by label, or no
 * ownerReference to D's uid): exit 5, untouched. */
int canary_read_canary(canary_ctx *ctx);

/* Before the finish: reads D-canary only when the finish needs more than
 * the run's state and D hold (the canary's uid, and its template recorded
 * at the start): a traffic router, which checks the canary's size, or a
 * run started by an older version. Returns 0 or the exit code (printed). */
int canary_prepare_finish(canary_ctx *ctx);

/* Fills ctx->user (kube_whoami). A failure leaves "unknown" and is only
 * logged: the audit trail must not block an abort. */
void canary_whoami(canary_ctx *ctx);

/* D's spec.replicas, spec.progressDeadlineSeconds (600 when unset). */
int canary_deploy_replicas(const json_t *deploy);
long canary_progress_deadline_s(const json_t *deploy);
/* metadata.resourceVersion / uid of an object, "" when absent (borrowed). */
const char *canary_object_rv(const json_t *object);
const char *canary_object_uid(const json_t *object);

/* The value of the rollguard.io/track label on the new pods: "canary",
 * or "green" for blue-green. */
const char *canary_track(const canary_state *state);

/* The label selector of the new pods of state's run:
 * "rollguard.io/track=canary,rollguard.io/revision=REV". */
int canary_pod_selector(kube_buf *out, const canary_state *state);

/* Patches D with patch (a merge patch, owned by the caller), conditional
 * on D as last read. When patch writes the run's state over the state D
 * has, it goes as a JSON Patch whose test operations hold D's uid, spec
 * and rollguard.io/ annotations and labels as read, so the Deployment
 * controller's status writes do not get in the way; otherwise (no state
 * yet, the annotation lock) as a merge patch on the resourceVersion read.
 * When the condition fails, D is read again: if what the run owns is
 * unchanged, patched again on the new resourceVersion; if an abort was
 * requested, exit 6 with ctx->abort_pending set; else exit 6, "D changed
 * since it was read". Replaces ctx->deploy with the reply. With a dry run,
 * appends what to the plan instead (server: sends it with dryRun=All).
 * Returns 0 or the exit code (printed). */
int canary_patch_deploy(canary_ctx *ctx, json_t *patch, const char *what);

/* Writes ctx->state into the patch's metadata.annotations (creating the
 * path), for canary_patch_deploy. Returns 0 or KUBE_ENOMEM. */
int canary_patch_set_state(json_t *patch, const canary_state *state);

/* Merge-patches D-canary; replaces ctx->canary with the reply. */
int canary_patch_canary(canary_ctx *ctx, json_t *patch, const char *what);

/* Records a Kubernetes Event on D (failures only logged). */
void canary_record_event(canary_ctx *ctx, const char *type, const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Appends one line to the plan ("create deployment/web-canary ..."). */
void canary_plan(canary_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* SIGINT and SIGTERM set a flag instead of killing the process, so a
 * wait can stop and leave a resumable state (run). */
void canary_signals_install(void);
/* Forgets a signal that arrived (the handlers stay). */
void canary_signals_reset(void);
/* 0, or the signal (SIGINT, SIGTERM) that arrived since the install. */
int canary_interrupted(void);

/* The exit code for the signal that arrived: 130 or 143. */
int canary_interrupt_exit(void);

/* One turn of a wait loop: keeps the lock, runs ctx->wait_hook, and stops
 * the wait (CLI_EXIT_CONFLICT) when an abort was requested meanwhile, or
 * on SIGINT/SIGTERM (130/143). Returns 0 to go on waiting. */
int canary_wait_tick(canary_ctx *ctx);

/* 1 when deploy's state annotation asks ctx's run to abort; then
 * ctx->abort_pending is set and who asked, and why, copied. */
int canary_note_abort_request(canary_ctx *ctx, const json_t *deploy);

/* Prints the plan of a dry run: "deployment/web: would ..." lines. */
int canary_print_plan(const canary_ctx *ctx);

/* A fresh run id: "YYYYMMDD-HHMMSS-xxxx" from the server's clock. */
void canary_new_run_id(char *buf, size_t size, long long now_ms);

/* The HPA that targets D (scaleTargetRef kind Deployment, name D) into
 * name ("" when none). One LIST. Forbidden: assumes none, warns. */
int canary_find_hpa(canary_ctx *ctx, char *name, size_t size);

/* Waits until the Deployment named deploy_name has at least ready Ready
 * replicas of its current generation (and, with complete, has finished its
 * rollout: updated = available = replicas, no old pods), watching it from
 * the object last read. Fails with exit 1 and reason when the Deployment's
 * Progressing condition says ProgressDeadlineExceeded, it is deleted, or
 * timeout_ms passes. Each turn is a canary_wait_tick (lock kept, abort
 * requests and signals stop the wait); watching D itself also notices an
 * abort request in its state. Returns 0 or the exit code; reason (may be
 * NULL) gets why. */
int canary_wait_ready(canary_ctx *ctx, const char *deploy_name, int ready, int complete, long timeout_ms, char *reason,
                      size_t reason_size);

#endif
