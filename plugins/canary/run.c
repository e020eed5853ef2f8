/* kubectl canary run: starts (or resumes) a run and walks the whole
 * ladder: waits out each pause on the server's clock, evaluates the health
 * gate from watches of the canary pods and their events (not by polling)
 * and the metric gates from Prometheus at their interval, aborts by itself
 * when a gate fails, obeys an abort requested from elsewhere, and reports
 * progress as a live line, log lines or JSON events. The production-deploy
 * step of a CI pipeline. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kube/error.h>
#include <kube/log.h>
#include <kube/watch.h>

#include "access.h"
#include "commands.h"
#include "engine.h"
#include "lock.h"
#include "router.h"

static const cli_flag run_flags[] = {
        {"image", 0, CLI_FLAG_STRINGS, "[CONTAINER=]IMAGE",
         "The canary's image when the run is new; name the container when the pod has several (repeatable)", NULL},
        {"set-env", 0, CLI_FLAG_STRINGS, "NAME=VALUE", "As for start (repeatable)", NULL},
        {"patch", 0, CLI_FLAG_STRING, "FILE", "As for start", NULL},
        {"steps", 0, CLI_FLAG_STRING, "W1,W2,...", "As for start (default 5,25,50,100)", NULL},
        {"pause", 0, CLI_FLAG_STRING, "DUR,...", "As for start (default 5m)", NULL},
        {"router", 0, CLI_FLAG_STRING, "NAME",
         "As for start: replicas, gateway, istio, nginx or smi (detected when not given)", NULL},
        {"strategy", 0, CLI_FLAG_STRING, "NAME", "As for start", NULL},
        {"analysis", 0, CLI_FLAG_STRING, "FILE", "As for start: metric gates from Prometheus (YAML or JSON)", NULL},
        {"prometheus", 0, CLI_FLAG_STRING, "ADDR", "As for start: http(s)://HOST:PORT or NAMESPACE/SERVICE[:PORT]",
         NULL},
        {"max-p99", 0, CLI_FLAG_DURATION, "DUR", "As for start: fail when the canary's P99 latency is above DUR", NULL},
        {"min-requests", 0, CLI_FLAG_INT, "N", "As for start: canary requests in the window before judging (100)",
         NULL},
        {"auto", 0, CLI_FLAG_BOOL, NULL, "Treat indefinite pauses (inf) as passed instead of stopping at them", NULL},
        {"timeout", 0, CLI_FLAG_DURATION, "DUR",
         "Bound the whole run (default: the sum of the pauses + 10m); then --on-timeout", NULL},
        {"on-timeout", 0, CLI_FLAG_STRING, "abort|hold",
         "When --timeout expires: abort (exit 1, default) or hold the run where it is (exit 5)", NULL},
        {"on-interrupt", 0, CLI_FLAG_STRING, "hold|abort",
         "On SIGINT/SIGTERM: hold the run where it is (default) or abort it; exit 130/143 either way", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE",
         "Print the plan of the whole run and change nothing: client, or server (sends start's first writes with "
         "dryRun=All)",
         "client"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

/* One run command's working set. */
struct runner {
	canary_ctx *ctx;
	canary_pods *pods;
	kube_watch *events_watch; /* Warning events about Pods */
	kube_watch *deploy_watch; /* D itself: abort requests, other commands' steps */
	json_t *events;           /* name of the event → event */
	int json;                 /* -o json: CanaryEvent lines */
	int auto_inf;
	int on_timeout_hold, on_interrupt_abort;
	long long deadline_ms;
	cli_progress progress;
	int progress_on;
	char last_gate[512];
};

/* Writes a CanaryEvent line (with -o json) or nothing. */
static void emit(struct runner *r, const char *type, const char *message)
{
	canary_ctx *ctx = r->ctx;
	kube_log(KUBE_LOG_DECISION, "run: %s: %s", type, message);
	if (!r->json)
		return;
	char stamp[40];
	canary_time_format(stamp, sizeof(stamp), kube_client_server_now_ms(ctx->client));
	json_t *ev = cli_object_new("CanaryEvent");
	json_t *fields = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, s:i, s:s}", "time", stamp, "type", type,
	                           "metadata", "name", ctx->name, "namespace", ctx->ns, "runId", ctx->state.run_id,
	                           "phase", canary_phase_name(ctx->state.phase), "stepIndex", ctx->state.step_index,
	                           "weight", ctx->state.weight, "message", message);
	if (ev && fields && !json_object_update(ev, fields)) {
		cli_progress_interrupt();
		cli_output_json_line(stdout, ev);
		fflush(stdout);
	}
	json_decref(fields);
	json_decref(ev);
}

/* Re-reads the state from a newer D (a watch event). */
static void take_deploy(struct runner *r, json_t *deploy)
{
	canary_ctx *ctx = r->ctx;
	json_t *text = json_object_get(json_object_get(json_object_get(deploy, "metadata"), "annotations"),
	                               CANARY_ANNOTATION_STATE);
	canary_state st;
	char err[256];
	if (!json_is_string(text) ||
	    canary_state_parse(&st, json_string_value(text), json_string_length(text), err, sizeof(err)))
		return;
	if (strcmp(st.run_id, ctx->state.run_id) != 0)
		return; /* another run's state: the one we follow ended */
	json_decref(ctx->deploy);
	ctx->deploy = json_incref(deploy);
	ctx->state = st;
}

/* Takes in whatever the three watches have, waiting up to wait_ms on the
 * pods. Returns 0 or the exit code (printed). */
static int poll_watches(struct runner *r, long wait_ms)
{
	int rc = canary_pods_poll(r->pods, wait_ms);
	if (rc)
		return rc;
	for (int w = 0; w < 2; w++) {
		kube_watch *watch = w ? r->deploy_watch : r->events_watch;
		for (;;) {
			kube_watch_event ev = {0};
			rc = kube_watch_next(watch, &ev, 0);
			if (rc == KUBE_ETIMEOUT)
				break;
			if (rc)
				return cli_error_kube(w ? "watching the Deployment" : "watching events", rc);
			size_t i;
			json_t *item;
			if (w == 1) {
				if (ev.type == KUBE_WATCH_RELIST)
					json_array_foreach(json_object_get(ev.object, "items"), i, item)
					        take_deploy(r, item);
				else if (ev.type == KUBE_WATCH_ADDED || ev.type == KUBE_WATCH_MODIFIED)
					take_deploy(r, ev.object);
			} else {
				if (ev.type == KUBE_WATCH_RELIST) {
					json_object_clear(r->events);
					json_array_foreach(json_object_get(ev.object, "items"), i, item)
					{
						const char *name = json_string_value(
						        json_object_get(json_object_get(item, "metadata"), "name"));
						if (name)
							json_object_set(r->events, name, item);
					}
				} else if (ev.type == KUBE_WATCH_ADDED || ev.type == KUBE_WATCH_MODIFIED ||
				           ev.type == KUBE_WATCH_DELETED) {
					const char *name = json_string_value(
					        json_object_get(json_object_get(ev.object, "metadata"), "name"));
					if (name && ev.type == KUBE_WATCH_DELETED)
						json_object_del(r->events, name);
					else if (name)
						json_object_set(r->events, name, ev.object);
				}
			}
			kube_watch_event_dispose(&ev);
		}
	}
	return 0;
}

/* ctx->wait_hook while a step waits: reads the watch of D, so an abort
 * requested meanwhile stops the wait (the state itself is taken in again
 * after the step). */
static int step_wait_hook(canary_ctx *ctx, void *user)
{
	struct runner *r = user;
	for (;;) {
		kube_watch_event ev = {0};
		int rc = kube_watch_next(r->deploy_watch, &ev, 0);
		if (rc == KUBE_ETIMEOUT)
			return 0;
		if (rc)
			return cli_error_kube("watching the Deployment", rc);
		size_t i;
		json_t *item;
		if (ev.type == KUBE_WATCH_RELIST)
			json_array_foreach(json_object_get(ev.object, "items"), i, item)
			        canary_note_abort_request(ctx, item);
		else if (ev.type == KUBE_WATCH_ADDED || ev.type == KUBE_WATCH_MODIFIED)
			canary_note_abort_request(ctx, ev.object);
		kube_watch_event_dispose(&ev);
	}
}

/* The gates: health on what the watches show, metric gates measured at
 * their interval (each holds its last result in between). */
static enum canary_verdict evaluate(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	json_t *events = json_array();
	const json_t *pods = canary_pods_items(r->pods);
	const char *key;
	json_t *event;
	json_object_foreach(r->events, key, event)
	{
		const char *pod = json_string_value(json_object_get(json_object_get(event, "involvedObject"), "name"));
		if (pod && json_object_get(pods, pod))
			json_array_append(events, event);
	}
	canary_gate_input in = {0};
	in.pods = pods;
	in.events = events;
	in.desired = canary_current_canary_replicas(ctx);
	in.now_ms = kube_client_server_now_ms(ctx->client);
	in.step_started_ms = ctx->state.step_started_ms;
	in.progress_deadline_s = canary_progress_deadline_s(ctx->deploy);
	in.ctx = ctx;
	enum canary_verdict verdict =
	        canary_gates_evaluate(canary_gates_list(ctx->gates), &in, ctx->state.gates, &ctx->state.gate_count);
	json_decref(events);
	return verdict;
}

static int open_watches(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	kube_buf selector = {0};
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	int rc;
	if ((rc = canary_pods_open(&r->pods, ctx)))
		return rc;
	opts.field_selector = "involvedObject.kind=Pod,type=Warning";
	opts.initial_events = 1;
	if ((rc = kube_watch_open(&r->events_watch, ctx->client, &canary_res_events, ctx->ns, &opts)))
		return cli_error_kube("watching events", rc);
	if (kube_buf_printf(&selector, "metadata.name=%s", ctx->name))
		return cli_error_nomem();
	opts.field_selector = kube_buf_cstr(&selector);
	rc = kube_watch_open(&r->deploy_watch, ctx->client, &canary_res_deployments, ctx->ns, &opts);
	kube_buf_dispose(&selector);
	return rc ? cli_error_kube("watching the Deployment", rc) : 0;
}

/* Takes the lock for one step, waiting while another process holds it
 * briefly (an abort in progress, a status-changing command). Re-reads D
 * after taking it. Returns 0 or the exit code. */
static int take_step_lock(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	for (;;) {
		int rc = canary_lock_acquire(ctx, CANARY_LOCK_TRY);
		if (!rc)
			break;
		if (rc != CLI_EXIT_CONFLICT)
			return rc;
		if (canary_interrupted())
			return canary_interrupt_exit();
		if ((rc = poll_watches(r, 1000)))
			return rc;
		if (!canary_phase_active(ctx->state.phase))
			return 0;
	}
	int rc = canary_read_deploy(ctx);
	if (!rc && canary_phase_active(ctx->state.phase))
		rc = canary_check_template(ctx);
	return rc;
}

/* Aborts the run ourselves (a failed gate, a timeout, an interrupt, a
 * request from abort). */
static int abort_run(struct runner *r, const char *reason)
{
	canary_ctx *ctx = r->ctx;
	int rc = take_step_lock(r);
	if (!rc && canary_phase_active(ctx->state.phase) && !(rc = canary_read_canary(ctx))) {
		canary_whoami(ctx);
		rc = canary_step_abort(ctx, reason);
		if (!rc)
			canary_record_event(ctx, "Warning", "CanaryAborted", "canary run %s aborted by run (%s): %s",
			                    ctx->state.run_id, ctx->user.username, reason);
	}
	canary_lock_release(ctx);
	if (!rc)
		emit(r, "Aborted", reason);
	return rc;
}

/* One promotion step from the current rung (or the half-done step). */
static int promote_step(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	int from_step = ctx->state.step_index;
	enum canary_phase from_phase = ctx->state.phase;
	int rc = take_step_lock(r);
	if (rc || !canary_phase_active(ctx->state.phase)) {
		canary_lock_release(ctx);
		return rc;
	}
	canary_state *st = &ctx->state;
	if (st->step_index != from_step || st->phase != from_phase) {
		/* Someone else moved the run while we waited for the lock: judge
		 * the new rung (its pause, its gate) before moving again. */
		canary_lock_release(ctx);
		return 0;
	}
	int to_step = st->step_index + 1;
	if (to_step >= st->ladder.count)
		to_step = st->ladder.count - 1;
	int weight = st->ladder.steps[to_step];
	canary_whoami(ctx);
	char message[128];
	if (st->phase == CANARY_PHASE_PROMOTING || weight >= 100) {
		if (!(rc = canary_prepare_finish(ctx)))
			rc = canary_step_finish(ctx);
		snprintf(message, sizeof(message), "the new template is rolled out into deployment/%s", ctx->name);
		if (!rc)
			canary_record_event(ctx, "Normal", "CanarySucceeded", "canary run %s succeeded (run by %s): %s",
			                    st->run_id, ctx->user.username, st->change);
	} else {
		rc = canary_step_weight(ctx, r->pods, to_step, weight);
		snprintf(message, sizeof(message), "promoted to %d%%", weight);
		if (!rc)
			canary_record_event(ctx, "Normal", "CanaryPromoted",
			                    "canary run %s promoted to %d%% by run (%s)", st->run_id, weight,
			                    ctx->user.username);
	}
	canary_lock_release(ctx);
	if (!rc)
		emit(r, st->phase == CANARY_PHASE_SUCCEEDED ? "Succeeded" : "Promoted", message);
	return rc;
}

/* The progress line. */
static void show(struct runner *r, const char *next_live, const char *next_log)
{
	canary_ctx *ctx = r->ctx;
	char step[64];
	if (!r->progress_on || r->json)
		return;
	snprintf(step, sizeof(step), "step %d/%d (%d%%)", ctx->state.step_index + 1, ctx->state.ladder.count,
	         ctx->state.weight);
	cli_progress_update(&r->progress, step, canary_pods_ready(r->pods), canary_current_canary_replicas(ctx),
	                    r->progress.live ? next_live : next_log);
}

static void print_resume_hint(const canary_ctx *ctx)
{
	if (ctx->state.step_index < 0) {
		fprintf(stderr,
		        "resume with: kubectl canary run %s -n %s and the same --image/--set-env/--patch flags   "
		        "abort with: kubectl canary abort %s -n %s\n",
		        ctx->name, ctx->ns, ctx->name, ctx->ns);
		return;
	}
	fprintf(stderr, "resume with: kubectl canary run %s -n %s   abort with: kubectl canary abort %s -n %s\n",
	        ctx->name, ctx->ns, ctx->name, ctx->ns);
}

/* SIGINT/SIGTERM: hold the run where it is (and say how to resume or
 * abort), or with --on-interrupt=abort abort it; 130/143 either way. */
static int on_interrupt(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	int sig = canary_interrupt_exit();
	cli_progress_finish(&r->progress);
	if (r->on_interrupt_abort) {
		fprintf(stderr, "deployment/%s: interrupted: aborting the run\n", ctx->name);
		canary_signals_reset(); /* let the abort's own waits run to the end */
		int rc = abort_run(r, "run was interrupted (--on-interrupt=abort)");
		return rc ? rc : sig;
	}
	emit(r, "Interrupted", "the run is held where it is");
	fprintf(stderr, "deployment/%s: interrupted: the run is held at %d%% (phase %s)\n", ctx->name,
	        ctx->state.weight, canary_phase_name(ctx->state.phase));
	print_resume_hint(ctx);
	return sig;
}

/* What a step's failure means for the run: an interrupt, an abort asked
 * for meanwhile, or a canary that failed while scaling (a failed gate)
 * each end in their own way; anything else is returned as it is. */
static int after_step(struct runner *r, int rc)
{
	canary_ctx *ctx = r->ctx;
	char reason[800];
	if (rc == CLI_EXIT_SIGINT || rc == CLI_EXIT_SIGTERM)
		return on_interrupt(r);
	if (ctx->abort_pending) {
		ctx->abort_pending = 0;
		fprintf(stderr, "deployment/%s: abort requested by %s\n", ctx->name, ctx->state.abort_requested_by);
		snprintf(reason, sizeof(reason), "%s", ctx->state.reason[0] ? ctx->state.reason : "abort requested");
		return (rc = abort_run(r, reason)) ? rc : CLI_EXIT_FAIL;
	}
	if (rc == CLI_EXIT_FAIL && ctx->state.reason[0] && canary_phase_active(ctx->state.phase)) {
		snprintf(reason, sizeof(reason), "gate failed: health: %s", ctx->state.reason);
		emit(r, "GateFailed", ctx->state.reason);
		cli_error("deployment/%s: %s: aborting the run", ctx->name, reason);
		return (rc = abort_run(r, reason)) ? rc : CLI_EXIT_FAIL;
	}
	return rc;
}

/* The loop: returns the exit code. */
static int walk(struct runner *r)
{
	canary_ctx *ctx = r->ctx;
	canary_state *st = &ctx->state;
	int rc;
	for (;;) {
		if ((rc = poll_watches(r, 200)))
			return rc;
		if (!canary_phase_active(st->phase)) {
			if (st->phase == CANARY_PHASE_SUCCEEDED)
				return 0;
			cli_error("deployment/%s: canary run %s %s%s%s%s", ctx->name, st->run_id,
			          st->phase == CANARY_PHASE_ABORTED ? "was aborted" : "ended as ",
			          st->phase == CANARY_PHASE_ABORTED ? "" : canary_phase_name(st->phase),
			          st->reason[0] ? ": " : "", st->reason);
			return CLI_EXIT_FAIL;
		}
		if (canary_interrupted())
			return on_interrupt(r);
		if (st->abort_requested) {
			char reason[600];
			snprintf(reason, sizeof(reason), "%s", st->reason[0] ? st->reason : "abort requested");
			fprintf(stderr, "deployment/%s: abort requested by %s\n", ctx->name, st->abort_requested_by);
			if ((rc = abort_run(r, reason)))
				return rc;
			return CLI_EXIT_FAIL;
		}
		if (st->intent.active && !strcmp(st->intent.action, "abort")) {
			/* An abort (this run's own, or abort's) was killed after
			 * it recorded its intent: finish it, never promote. */
			char reason[600];
			snprintf(reason, sizeof(reason), "%s", st->reason[0] ? st->reason : "an interrupted abort");
			fprintf(stderr, "deployment/%s: finishing the interrupted abort of canary run %s\n", ctx->name,
			        st->run_id);
			if ((rc = abort_run(r, reason)))
				return rc;
			return CLI_EXIT_FAIL;
		}
		long long now = kube_client_server_now_ms(ctx->client);
		if (now > r->deadline_ms) {
			emit(r, "TimedOut", "--timeout expired");
			if (r->on_timeout_hold) {
				cli_error("deployment/%s: --timeout expired: the run is held at %d%%", ctx->name,
				          st->weight);
				print_resume_hint(ctx);
				return CLI_EXIT_REFUSED;
			}
			cli_error("deployment/%s: --timeout expired: aborting the run", ctx->name);
			return (rc = abort_run(r, "run --timeout expired")) ? rc : CLI_EXIT_FAIL;
		}
		if (st->phase != CANARY_PHASE_PAUSED || st->step_index < 0) {
			/* A half-done step (ours, killed, or another machine's):
			 * finish it. */
			if ((rc = promote_step(r)))
				return after_step(r, rc);
			continue;
		}
		enum canary_verdict verdict = evaluate(r);
		char summary[768];
		canary_gates_summary(summary, sizeof(summary), st->gates, st->gate_count);
		if (verdict == CANARY_FAIL) {
			/* the reason names the gates that failed, with their values
			 * and queries, not those that merely wait */
			char reason[800], failed[768];
			canary_gates_summary_of(failed, sizeof(failed), st->gates, st->gate_count, CANARY_FAIL);
			snprintf(reason, sizeof(reason), "gate failed: %s", failed);
			emit(r, "GateFailed", failed);
			cli_progress_finish(&r->progress);
			cli_error("deployment/%s: %s: aborting the run", ctx->name, reason);
			return (rc = abort_run(r, reason)) ? rc : CLI_EXIT_FAIL;
		}
		if (strcmp(summary, r->last_gate) != 0) {
			snprintf(r->last_gate, sizeof(r->last_gate), "%.511s", summary);
			if (verdict == CANARY_WAIT)
				emit(r, "GateWaiting", summary);
		}
		long pause = st->ladder.pauses_s[st->step_index];
		char live[160], log[160], stamp[40];
		if (pause == CANARY_PAUSE_INDEFINITE && !r->auto_inf) {
			cli_progress_finish(&r->progress);
			emit(r, "Paused", "paused until a manual promote");
			fprintf(stderr,
			        "deployment/%s: paused at %d%% until a manual promote: kubectl canary promote %s -n "
			        "%s\n",
			        ctx->name, st->weight, ctx->name, ctx->ns);
			return 0;
		}
		long long left_ms = pause == CANARY_PAUSE_INDEFINITE ? 0 : st->step_started_ms + pause * 1000 - now;
		if (verdict == CANARY_WAIT) {
			snprintf(live, sizeof(live), "waiting: %.150s", summary);
			show(r, live, live);
			continue;
		}
		if (left_ms > 0) {
			char left[32];
			cli_format_duration(left, sizeof(left), (long)left_ms + 999);
			canary_time_format(stamp, sizeof(stamp), st->step_started_ms + pause * 1000);
			int next = st->step_index + 1 < st->ladder.count ? st->ladder.steps[st->step_index + 1] : 100;
			snprintf(live, sizeof(live), "promote to %d%% in %s", next, left);
			snprintf(log, sizeof(log), "promote to %d%% at %s", next, stamp);
			show(r, live, log);
			continue;
		}
		if ((rc = promote_step(r)))
			return after_step(r, rc);
	}
}

/* --dry-run: the rungs after the current one, each after its pause. */
static void plan_ladder(canary_ctx *ctx)
{
	const canary_state *st = &ctx->state;
	char pause[32];
	for (int i = st->step_index < 0 ? 0 : st->step_index; i + 1 < st->ladder.count; i++) {
		int next = st->ladder.steps[i + 1];
		if (st->ladder.pauses_s[i] == CANARY_PAUSE_INDEFINITE)
			snprintf(pause, sizeof(pause), "a manual promote (or --auto)");
		else
			canary_pause_format(pause, sizeof(pause), st->ladder.pauses_s[i]);
		if (next >= 100) {
			canary_plan(ctx,
			            "write the canary's template into deployment/%s and remove %s, after %s at %d%%",
			            ctx->name, ctx->canary_name, pause, st->ladder.steps[i]);
		} else {
			canary_split split;
			ctx->router->split(ctx, st->original_replicas, next, &split);
			canary_plan(ctx, "promote to %d%% (%d canary, %d stable pods), after %s at %d%%", next,
			            split.canary, split.stable, pause, st->ladder.steps[i]);
		}
	}
	char names[256];
	canary_gates_names(names, sizeof(names), ctx->gates);
	canary_plan(ctx, "abort at once if a gate (%s) fails on the way", names);
}

static int run_run(const cli_args *args)
{
	canary_ctx ctx;
	struct runner r;
	int rc;
	memset(&r, 0, sizeof(r));
	r.ctx = &ctx;
	if ((rc = canary_ctx_open(&ctx, args)))
		goto done;
	const char *on_timeout = cli_flag_string(args, "on-timeout");
	const char *on_interrupt = cli_flag_string(args, "on-interrupt");
	if (on_timeout && strcmp(on_timeout, "abort") != 0 && strcmp(on_timeout, "hold") != 0) {
		rc = cli_usage_error(args, "invalid --on-timeout \"%s\": must be abort or hold", on_timeout);
		goto done;
	}
	if (on_interrupt && strcmp(on_interrupt, "abort") != 0 && strcmp(on_interrupt, "hold") != 0) {
		rc = cli_usage_error(args, "invalid --on-interrupt \"%s\": must be hold or abort", on_interrupt);
		goto done;
	}
	r.on_timeout_hold = on_timeout && !strcmp(on_timeout, "hold");
	r.on_interrupt_abort = on_interrupt && !strcmp(on_interrupt, "abort");
	r.auto_inf = cli_flag_bool(args, "auto");
	r.json = args->output == CLI_OUTPUT_JSON;
	if (args->output_file) {
		rc = cli_usage_error(args, "run streams its events to standard output: --output-file is not supported");
		goto done;
	}
	if (!(r.events = json_object())) {
		rc = cli_error_nomem();
		goto done;
	}
	canary_signals_install();
	if ((rc = canary_read_deploy(&ctx)))
		goto done;
	if ((canary_phase_active(ctx.state.phase) && ctx.state.strategy == CANARY_STRATEGY_BLUE_GREEN) ||
	    (cli_flag_string(args, "strategy") && strcmp(cli_flag_string(args, "strategy"), "canary") != 0)) {
		rc = cli_usage_error(args, "run walks canary ladders; drive a blue-green run with start, promote and "
		                           "promote --full");
		goto done;
	}
	int active = canary_phase_active(ctx.state.phase);
	if (active && canary_change_given(args)) {
		char revision[16];
		if ((rc = canary_change_revision(&ctx, revision)))
			goto done;
		if (strcmp(revision, ctx.state.revision) != 0) {
			cli_error("deployment/%s is already in a canary run of another revision (%s, %s at %d%%)",
			          ctx.name, ctx.state.run_id, canary_phase_name(ctx.state.phase), ctx.state.weight);
			cli_hint("follow it with 'kubectl canary run %s' (no change flags), or abort it first",
			         ctx.name);
			rc = CLI_EXIT_REFUSED;
			goto done;
		}
	}
	if (!active && !canary_change_given(args)) {
		rc = cli_usage_error(args,
		                     "deployment/%s has no canary run in progress: say what to change with --image, "
		                     "--set-env or --patch",
		                     ctx.name);
		goto done;
	}
	if ((rc = canary_access_check(&ctx, CANARY_NEEDS(canary_needs_run))))
		goto done;
	if (ctx.dry_run) {
		if (!active && (rc = canary_start(&ctx)) == 0)
			kube_buf_clear(&ctx.plan); /* start printed its own plan */
		if (!rc && !ctx.router && !(ctx.router = canary_router_find(ctx.state.router)))
			rc = canary_require_run(&ctx);
		if (!rc && active)
			rc = canary_gates_load(&ctx, CANARY_GATES_ONCE);
		if (!rc) {
			if (!active)
				ctx.state.step_index = 0;
			plan_ladder(&ctx);
			rc = canary_print_plan(&ctx);
		}
		goto done;
	}
	if (!active || (ctx.state.phase == CANARY_PHASE_PROGRESSING && ctx.state.step_index < 0 &&
	                !(ctx.state.intent.active && !strcmp(ctx.state.intent.action, "abort")))) {
		rc = canary_start(&ctx);
		canary_lock_release(&ctx);
		if ((rc == CLI_EXIT_SIGINT || rc == CLI_EXIT_SIGTERM) && !ctx.dry_run) {
			if (!ctx.router)
				ctx.router = canary_router_find(ctx.state.router);
			if (r.on_interrupt_abort && ctx.router && !open_watches(&r)) {
				canary_signals_reset();
				int arc = abort_run(&r, "run was interrupted (--on-interrupt=abort)");
				rc = arc ? arc : rc;
			} else {
				fprintf(stderr, "deployment/%s: interrupted while the run was starting\n", ctx.name);
				print_resume_hint(&ctx);
			}
			goto done;
		}
		if (rc == CLI_EXIT_FAIL && canary_phase_active(ctx.state.phase) && !ctx.dry_run) {
			/* The canary failed while coming up: a failed gate. */
			char reason[600];
			snprintf(reason, sizeof(reason), "gate failed: health: %s", ctx.state.reason);
			if (!ctx.router)
				ctx.router = canary_router_find(ctx.state.router);
			if (!(rc = open_watches(&r)))
				rc = abort_run(&r, reason);
			if (!rc) {
				fprintf(stderr, "deployment/%s: the run is aborted; stable is back at %d pods\n",
				        ctx.name, ctx.state.original_replicas);
				rc = CLI_EXIT_FAIL;
			}
			goto done;
		}
		if (rc)
			goto done;
		emit(&r, "Started", ctx.state.change);
	} else if ((rc = canary_require_run(&ctx)) || (rc = canary_check_template(&ctx)) ||
	           (rc = canary_analysis_check_kept(&ctx))) {
		goto done;
	} else {
		emit(&r, "Resumed", "following the run in progress");
	}
	if (!ctx.router)
		ctx.router = canary_router_find(ctx.state.router);
	/* the run's metric gates, from the analysis start stored on D */
	if ((rc = canary_gates_load(&ctx, CANARY_GATES_POLL)))
		goto done;
	long sum_s = 0;
	for (int i = 0; i < ctx.state.ladder.count - 1; i++)
		if (ctx.state.ladder.pauses_s[i] > 0)
			sum_s += ctx.state.ladder.pauses_s[i];
	long timeout_ms = cli_flag_duration_ms(args, "timeout", (sum_s + 600) * 1000);
	r.deadline_ms = kube_client_server_now_ms(ctx.client) + timeout_ms;
	cli_progress_init(&r.progress, stderr, -1);
	r.progress_on = 1;
	if ((rc = open_watches(&r)))
		goto done;
	ctx.wait_hook = step_wait_hook;
	ctx.wait_user = &r;
	rc = walk(&r);
	cli_progress_finish(&r.progress);
	r.progress_on = 0;
	if (r.json) {
		json_t *doc = canary_status_json(&ctx, r.pods);
		if (doc)
			cli_output_json(stdout, doc);
		json_decref(doc);
	} else if (!rc) {
		if (ctx.state.phase == CANARY_PHASE_SUCCEEDED)
			printf("deployment/%s: canary run %s succeeded\n", ctx.name, ctx.state.run_id);
		else
			printf("deployment/%s: canary run %s is %s at %d%%\n", ctx.name, ctx.state.run_id,
			       canary_phase_name(ctx.state.phase), ctx.state.weight);
	}
	if (rc == CLI_EXIT_FAIL && ctx.state.phase == CANARY_PHASE_ABORTED)
		fprintf(stderr, "deployment/%s: the run is aborted; stable is back at %d pods\n", ctx.name,
		        ctx.state.original_replicas);
done:
	if (r.progress_on)
		cli_progress_finish(&r.progress);
	canary_pods_free(r.pods);
	kube_watch_free(r.events_watch);
	kube_watch_free(r.deploy_watch);
	json_decref(r.events);
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_run_command = {
        .name = "run",
        .usage = "run DEPLOYMENT [--image [CONTAINER=]IMAGE ...] [--auto] [--timeout DUR] [--on-timeout abort|hold]",
        .summary = "Start (or resume) a canary run and walk the whole ladder, aborting on a failed gate",
        .description = "Start a run (with --image, --set-env or --patch, as start) or follow the one in progress, and\n"
                       "walk the ladder: wait out each pause on the API server's clock, evaluate the health gate\n"
                       "from watches of the canary pods and their events (and the metric gates from Prometheus at\n"
                       "their interval, with --analysis or --prometheus), promote, and at 100% roll the new\n"
                       "template into the Deployment. A failed gate aborts the run at once; a gate that waits\n"
                       "(too few requests, no data, Prometheus unreachable) holds the ladder. A pause of inf stops\n"
                       "the run (exit 0, phase Paused) until someone promotes, unless --auto. kubectl canary abort\n"
                       "from anywhere stops it (exit 1). Automatic abort happens only while some run is working.\n"
                       "\n"
                       "Progress goes to stderr: a live line on a terminal, a line per change elsewhere. With\n"
                       "-o json, stdout gets one CanaryEvent per line and the final CanaryStatus.\n"
                       "\n"
                       "Exit codes: 0 succeeded, or stopped at an indefinite pause; 1 aborted (failed gate,\n"
                       "--timeout with --on-timeout abort, abort from elsewhere); 2 usage error; 4 API error;\n"
                       "5 a run of another revision is in progress, --timeout expired with --on-timeout hold, or\n"
                       "the run's metric analysis is not readable;\n"
                       "6 another process holds the lock; 130/143 interrupted (the run is left resumable).",
        .examples = "  # The deploy step of a pipeline\n"
                    "  kubectl canary run web --image app=registry/web:2.0 --steps 10,50,100 --pause 5m\n"
                    "\n"
                    "  # Follow a run in progress, with JSON events for the pipeline\n"
                    "  kubectl canary run web -o json",
        .flags = run_flags,
        .outputs = CLI_OUTPUT_BIT(CLI_OUTPUT_TABLE) | CLI_OUTPUT_BIT(CLI_OUTPUT_JSON),
        .min_args = 1,
        .max_args = 1,
        .run = run_run,
        .complete = canary_complete,
};
