/* kubectl canary promote: checks the gates and moves the run to the next
 * weight (or --to W, or --full to the end). A rung sends eight requests:
 * the watch of D (its current state), the Lease, one watch of the canary
 * pods (their current state and then their readiness), one LIST of Warning
 * events, the canary's scale with its intent, D's scale with the committed
 * state, an Event and the Lease's release (metric gates add their
 * Prometheus queries). The finish sends eight too: the watch of D (which
 * then follows D's rollout), the Lease, the pods' watch, the events, D's
 * template and replicas with the intent, the canary's delete (by the uid
 * in the state, with the template recorded at the start: no read of it),
 * the run's end (which frees the Lease: no release) and an Event. */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "commands.h"
#include "engine.h"
#include "lock.h"
#include "router.h"

static const cli_flag canary_promote_flags[] = {
        {"to", 0, CLI_FLAG_INT, "W", "Move to weight W (percent, above the current one) instead of the next rung",
         NULL},
        {"full", 0, CLI_FLAG_BOOL, NULL,
         "Skip the remaining rungs: write the new template into the Deployment and finish", NULL},
        {"force", 0, CLI_FLAG_BOOL, NULL, "Move on even though a gate fails or waits", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE",
         "Print the plan and change nothing: client, or server (sends the first writes with dryRun=All)", "client"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

/* The rung index for weight: the last rung at or below it. */
static int step_for_weight(const canary_ladder *ladder, int weight)
{
	int step = 0;
	for (int i = 0; i < ladder->count; i++)
		if (ladder->steps[i] <= weight)
			step = i;
	return step;
}

/* Requires an active run; returns 0 or the exit code (printed). */
int canary_require_run(canary_ctx *ctx)
{
	if (canary_phase_active(ctx->state.phase)) {
		if (!(ctx->router = canary_router_find(ctx->state.router))) {
			cli_error("deployment/%s: run %s uses router \"%s\", which this version does not know",
			          ctx->name, ctx->state.run_id, ctx->state.router);
			return CLI_EXIT_REFUSED;
		}
		return 0;
	}
	if (ctx->state.phase == CANARY_PHASE_NONE)
		cli_error("deployment/%s: no canary run in progress", ctx->name);
	else
		cli_error("deployment/%s: no canary run in progress (the last one, %s, %s)", ctx->name,
		          ctx->state.run_id, canary_phase_name(ctx->state.phase));
	cli_hint("start one with 'kubectl canary start %s --image IMAGE'", ctx->name);
	return CLI_EXIT_REFUSED;
}

static int run_promote(const cli_args *args)
{
	canary_ctx ctx;
	canary_pods *pods = NULL;
	int rc;
	if ((rc = canary_ctx_open(&ctx, args)))
		goto done;
	long to = cli_flag_long(args, "to", -1);
	int full = cli_flag_bool(args, "full"), force = cli_flag_bool(args, "force");
	if (full && to >= 0) {
		rc = cli_usage_error(args, "--full and --to cannot be combined");
		goto done;
	}
	if (to >= 0 && (to < 1 || to > 100)) {
		rc = cli_usage_error(args, "--to %ld: a weight is 1 to 100", to);
		goto done;
	}
	if ((rc = canary_watch_deploy(&ctx)) || (rc = canary_require_run(&ctx)) || (rc = canary_check_template(&ctx)) ||
	    (rc = canary_gates_load(&ctx, CANARY_GATES_ONCE)))
		goto done;
	canary_state *st = &ctx.state;
	int blue_green = st->strategy == CANARY_STRATEGY_BLUE_GREEN;
	if (st->intent.active && !strcmp(st->intent.action, "abort")) {
		cli_error("deployment/%s: the abort of canary run %s did not finish", ctx.name, st->run_id);
		cli_hint("run 'kubectl canary abort %s' to finish it", ctx.name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	if (st->step_index < 0 && st->phase == CANARY_PHASE_PROGRESSING) {
		cli_error("deployment/%s: the start of canary run %s did not finish", ctx.name, st->run_id);
		cli_hint("run the same 'kubectl canary start' again to finish it, or 'kubectl canary abort %s'",
		         ctx.name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	if (blue_green && to >= 0) {
		rc = cli_usage_error(
		        args, "--to does not apply to a blue-green run: promote switches, promote --full finishes");
		goto done;
	}
	int finishing = st->phase == CANARY_PHASE_PROMOTING || (blue_green && (full || st->step_index >= 0));
	int to_step = st->step_index + 1, weight = 0;
	if (!finishing && !blue_green) {
		if (full || to == 100)
			to_step = st->ladder.count - 1;
		else if (to > 0) {
			if (to <= st->weight) {
				rc = cli_usage_error(args, "--to %ld: the run is already at %d%%", to, st->weight);
				goto done;
			}
			to_step = step_for_weight(&st->ladder, (int)to);
			weight = (int)to;
		}
		if (to_step >= st->ladder.count)
			to_step = st->ladder.count - 1;
		if (!weight)
			weight = st->ladder.steps[to_step];
		finishing = weight >= 100;
	}
	if ((finishing && (rc = canary_access_check(&ctx, CANARY_NEEDS(canary_needs_finish)))) ||
	    (rc = canary_lock_acquire(&ctx, CANARY_LOCK_STEP)))
		goto done;
	canary_stall_point("promote-after-lock");
	if (ctx.state.phase != CANARY_PHASE_PROMOTING) {
		if ((rc = canary_pods_open(&pods, &ctx)))
			goto done;
		int desired = canary_current_canary_replicas(&ctx);
		enum canary_verdict verdict = canary_evaluate_gates(&ctx, pods, desired, &rc);
		if (rc)
			goto done;
		if (verdict != CANARY_PASS) {
			char summary[768];
			canary_gates_summary(summary, sizeof(summary), st->gates, st->gate_count);
			if (!force) {
				cli_error("deployment/%s: not promoting: %s", ctx.name, summary);
				cli_hint("wait and try again, abort with 'kubectl canary abort %s', or pass --force",
				         ctx.name);
				rc = CLI_EXIT_FAIL;
				goto done;
			}
			cli_warning("deployment/%s: promoting despite --force: %s", ctx.name, summary);
		}
	}
	if (!ctx.dry_run)
		canary_whoami(&ctx);
	int switched = 0;
	if (blue_green && st->phase != CANARY_PHASE_PROMOTING && st->step_index < 0) {
		/* The switch: every Service of D to green; blue stays up for an
		 * instant switch-back. */
		if ((rc = ctx.router->route(&ctx, 100)))
			goto done;
		canary_kill_point("promote-after-switch");
		st->step_index = 0;
		st->weight = 100;
		st->step_started_ms = kube_client_server_now_ms(ctx.client);
		if ((rc = canary_commit(&ctx, json_object(), "commit: traffic on green")))
			goto done;
		switched = 1;
	}
	if (switched && !finishing) {
		if (ctx.dry_run) {
			rc = canary_print_plan(&ctx);
			goto done;
		}
		canary_record_event(&ctx, "Normal", "CanarySwitched", "canary run %s switched traffic to %s by %s",
		                    st->run_id, ctx.canary_name, ctx.user.username);
		printf("deployment/%s: traffic switched to %s; blue is kept for an instant switch-back (abort); "
		       "promote --full finishes\n",
		       ctx.name, ctx.canary_name);
		goto done;
	}
	if (finishing) {
		if ((rc = canary_prepare_finish(&ctx)))
			goto done;
		rc = canary_step_finish(&ctx);
	} else {
		rc = canary_step_weight(&ctx, pods, to_step, weight);
	}
	if (ctx.abort_pending) {
		cli_error("deployment/%s: %s asked for an abort while this promote was under way; the abort proceeds",
		          ctx.name, st->abort_requested_by);
		goto done;
	}
	if (rc == CLI_EXIT_FAIL && st->reason[0]) {
		cli_error("deployment/%s: the canary failed while promoting: %s", ctx.name, st->reason);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx.name);
	}
	if (rc)
		goto done;
	if (ctx.dry_run) {
		rc = canary_print_plan(&ctx);
		goto done;
	}
	if (finishing) {
		canary_record_event(&ctx, "Normal", "CanarySucceeded", "canary run %s promoted fully by %s: %s",
		                    st->run_id, ctx.user.username, st->change);
		printf("deployment/%s: canary run %s succeeded: the new template is rolled out and %s is removed\n",
		       ctx.name, st->run_id, ctx.canary_name);
	} else {
		canary_split split;
		ctx.router->split(&ctx, st->original_replicas, weight, &split);
		canary_record_event(&ctx, "Normal", "CanaryPromoted", "canary run %s promoted to %d%% by %s%s",
		                    st->run_id, weight, ctx.user.username, force ? " (forced)" : "");
		if (strcmp(st->router, "replicas") != 0)
			printf("deployment/%s: promoted to %d%% (traffic weight set by the %s router)\n", ctx.name,
			       weight, st->router);
		else
			printf("deployment/%s: promoted to %d%% (%d of %d pods, %.0f%%)\n", ctx.name, weight,
			       split.canary, split.canary + split.stable, split.weight_reached);
	}
done:
	canary_pods_free(pods);
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_promote_command = {
        .name = "promote",
        .usage = "promote DEPLOYMENT [--to W | --full] [--force]",
        .summary = "Check the gates and move the canary to the next weight",
        .description = "Check the gates (canary pods Ready within the progress deadline, no restarts, crash loops,\n"
                       "OOM kills, image pull failures or probe failures; and the run's metric gates, each measured\n"
                       "once now from Prometheus) and move to the next rung of the ladder:\n"
                       "canary pods are added and Ready before stable pods are removed. At 100% (or with --full) the\n"
                       "new template and the original replica count are written into the Deployment, which rolls\n"
                       "out with its own strategy; then the canary is removed.\n"
                       "\n"
                       "Exit codes: 0 promoted; 1 a gate fails or waits (nothing changed; --force moves on anyway)\n"
                       "or the canary failed while scaling; 4 API error, or a right the finish needs is missing\n"
                       "(checked before any change); 5 no run in progress, an abort or a start of it unfinished,\n"
                       "or its metric analysis is not readable; 6 another rollguard process holds the lock, or\n"
                       "the Deployment changed underneath the run.",
        .examples = "  # Move to the next weight\n"
                    "  kubectl canary promote web\n"
                    "\n"
                    "  # Jump to 50%\n"
                    "  kubectl canary promote web --to 50\n"
                    "\n"
                    "  # Finish now: roll the new template into the Deployment\n"
                    "  kubectl canary promote web --full",
        .flags = canary_promote_flags,
        .min_args = 1,
        .max_args = 1,
        .run = run_promote,
        .complete = canary_complete,
};
