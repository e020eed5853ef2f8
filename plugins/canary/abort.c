/* kubectl canary abort: all traffic back to stable, the canary removed,
 * the reason recorded. It always wins: when another process holds the
 * lock it asks that process to abort (abortRequested in the state) and
 * waits for it, or for its lock to lapse. */
#include <stdio.h>
#include <string.h>

#include <kube/clock.h>
#include <kube/error.h>

#include "access.h"
#include "commands.h"
#include "engine.h"
#include "lock.h"
#include "router.h"

static const cli_flag canary_abort_flags[] = {
        {"reason", 0, CLI_FLAG_STRING, "TEXT", "Why, recorded in the run's state, its history and an Event", NULL},
        {"timeout", 0, CLI_FLAG_DURATION, "DUR",
         "How long to wait for another rollguard process that holds the lock to obey (default 2m)", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE",
         "Print the plan and change nothing: client, or server (sends the first writes with dryRun=All)", "client"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

/* Asks the holder of the lock to abort, then waits until the run is no
 * longer active (0, *done set) or the lock can be taken (0). */
static int request_abort(canary_ctx *ctx, const char *reason, long timeout_ms, int *done)
{
	int rc;
	*done = 0;
	for (int retry = 0; !ctx->state.abort_requested; retry++) {
		canary_whoami(ctx);
		ctx->state.abort_requested = 1;
		snprintf(ctx->state.abort_requested_by, sizeof(ctx->state.abort_requested_by), "%.255s",
		         ctx->user.username);
		if (reason[0])
			snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", reason);
		json_t *patch = json_object();
		if (!patch || canary_patch_set_state(patch, &ctx->state)) {
			json_decref(patch);
			return cli_error_nomem();
		}
		rc = canary_patch_deploy(ctx, patch, "request the abort from the process holding the lock");
		json_decref(patch);
		if (rc == CLI_EXIT_CONFLICT && retry < 3) {
			/* The holder moved meanwhile: read again and ask again. */
			if ((rc = canary_read_deploy(ctx)))
				return rc;
			if (!canary_phase_active(ctx->state.phase)) {
				*done = 1;
				return 0;
			}
			continue;
		}
		if (rc)
			return rc;
		fprintf(stderr, "deployment/%s: another rollguard process holds the lock; asked it to abort\n",
		        ctx->name);
	}
	long long deadline = kube_client_server_now_ms(ctx->client) + timeout_ms;
	for (;;) {
		kube_sleep_ms(1000);
		if ((rc = canary_read_deploy(ctx)))
			return rc;
		if (!canary_phase_active(ctx->state.phase)) {
			*done = 1;
			return 0;
		}
		rc = canary_lock_acquire(ctx, CANARY_LOCK_TRY);
		if (rc != CLI_EXIT_CONFLICT)
			return rc;
		if (kube_client_server_now_ms(ctx->client) > deadline) {
			cli_error("deployment/%s: the process holding the lock did not abort within %lds", ctx->name,
			          timeout_ms / 1000);
			cli_hint("the abort request stays recorded; run 'kubectl canary abort %s' again", ctx->name);
			return CLI_EXIT_CONFLICT;
		}
	}
}

static int run_abort(const cli_args *args)
{
	canary_ctx ctx;
	int rc;
	const char *reason = cli_flag_string(args, "reason");
	long timeout_ms = cli_flag_duration_ms(args, "timeout", 120000);
	if (!reason)
		reason = "";
	if ((rc = canary_ctx_open(&ctx, args)))
		goto done;
	if ((rc = canary_read_deploy(&ctx)))
		goto done;
	if (ctx.state.phase == CANARY_PHASE_ABORTED) {
		printf("deployment/%s: canary run %s is already aborted\n", ctx.name, ctx.state.run_id);
		goto done;
	}
	if ((rc = canary_require_run(&ctx)) || (rc = canary_access_check(&ctx, CANARY_NEEDS(canary_needs_finish))))
		goto done;
	rc = canary_lock_acquire(&ctx, CANARY_LOCK_TRY);
	if (rc == CLI_EXIT_CONFLICT) {
		int finished = 0;
		if (ctx.dry_run) {
			canary_plan(&ctx, "ask the rollguard process holding the lock to abort");
			rc = canary_print_plan(&ctx);
			goto done;
		}
		if ((rc = request_abort(&ctx, reason, timeout_ms, &finished)))
			goto done;
		if (finished) {
			printf("deployment/%s: canary run %s %s%s%s\n", ctx.name, ctx.state.run_id,
			       ctx.state.phase == CANARY_PHASE_ABORTED ? "aborted" : "ended as ",
			       ctx.state.phase == CANARY_PHASE_ABORTED ? "" : canary_phase_name(ctx.state.phase),
			       ctx.state.phase == CANARY_PHASE_ABORTED ? " by the process that held the lock" : "");
			rc = ctx.state.phase == CANARY_PHASE_ABORTED ? 0 : CLI_EXIT_CONFLICT;
			goto done;
		}
		if ((rc = canary_require_run(&ctx)))
			goto done;
	}
	if (rc)
		goto done;
	if ((rc = canary_read_canary(&ctx)))
		goto done;
	canary_whoami(&ctx);
	if (!reason[0] && ctx.state.reason[0])
		reason = ctx.state.reason;
	char full_reason[512];
	snprintf(full_reason, sizeof(full_reason), "%s", reason[0] ? reason : "aborted by the user");
	if ((rc = canary_step_abort(&ctx, full_reason)))
		goto done;
	if (ctx.dry_run) {
		rc = canary_print_plan(&ctx);
		goto done;
	}
	canary_record_event(&ctx, "Warning", "CanaryAborted", "canary run %s aborted by %s: %s", ctx.state.run_id,
	                    ctx.user.username, full_reason);
	printf("deployment/%s: canary run %s aborted: traffic is back on stable (%d pods) and %s is removed\n",
	       ctx.name, ctx.state.run_id, ctx.state.original_replicas, ctx.canary_name);
done:
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_abort_command = {
        .name = "abort",
        .usage = "abort DEPLOYMENT [--reason TEXT]",
        .summary = "Send all traffic back to stable and remove the canary",
        .description = "Scale the stable Deployment back to its original replica count (restoring its template when\n"
                       "the run was finishing), wait for its pods Ready, then remove the canary and record the\n"
                       "reason. When another rollguard process (a run) holds the lock, abort asks it to abort and\n"
                       "waits; a lock left by a killed process is waited out. Running abort again is harmless.\n"
                       "\n"
                       "Exit codes: 0 aborted (or already aborted); 1 stable did not come back (the canary is\n"
                       "kept); 4 API error; 5 no run in progress; 6 the lock holder did not obey within --timeout.",
        .examples = "  # Abort with a reason\n"
                    "  kubectl canary abort web --reason \"p99 latency regression\"",
        .flags = canary_abort_flags,
        .min_args = 1,
        .max_args = 1,
        .run = run_abort,
        .complete = canary_complete,
};
