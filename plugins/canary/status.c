/* kubectl canary status: the ladder, the weight requested and reached,
 * time in step, canary and stable pod health, the gates and the next
 * action, as a table or a CanaryStatus document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/watch.h>

#include "commands.h"
#include "engine.h"
#include "router.h"

/* 1 when the run's weight is a routing object's (gateway, istio, nginx,
 * smi), not a share of pods. */
static int traffic_router(const canary_state *st)
{
	return st->strategy == CANARY_STRATEGY_CANARY && st->router[0] && strcmp(st->router, "replicas") != 0;
}

json_t *canary_status_json(const canary_ctx *ctx, const canary_pods *pods)
{
	const canary_state *st = &ctx->state;
	json_t *doc = cli_object_new("CanaryStatus");
	json_t *state = canary_state_to_json(st);
	if (!doc || !state)
		goto fail;
	json_t *meta = json_pack("{s:s, s:s}", "name", ctx->name, "namespace", ctx->ns);
	if (!meta || json_object_set_new(doc, "metadata", meta))
		goto fail;
	/* The state's fields, then what was observed. */
	if (json_object_update(doc, state))
		goto fail;
	json_t *dstatus = json_object_get(ctx->deploy, "status");
	int stable_desired = canary_deploy_replicas(ctx->deploy);
	int stable_ready = (int)json_integer_value(json_object_get(dstatus, "readyReplicas"));
	int canary_desired =
	        ctx->canary ? (int)json_integer_value(json_object_get(json_object_get(ctx->canary, "spec"), "replicas"))
	                    : 0;
	int canary_ready = pods ? canary_pods_ready(pods)
	                        : (int)json_integer_value(
	                                  json_object_get(json_object_get(ctx->canary, "status"), "readyReplicas"));
	if (!canary_phase_active(st->phase)) /* the canary is gone once a run ends */
		canary_desired = canary_ready = 0;
	double reached =
	        canary_desired + stable_desired > 0 ? 100.0 * canary_desired / (canary_desired + stable_desired) : 0;
	if (st->phase == CANARY_PHASE_SUCCEEDED)
		reached = 100;
	else if (traffic_router(st))
		/* the routing object carries the weight of the last commit
		 * (and 100 once the finish has begun) */
		reached = st->phase == CANARY_PHASE_PROMOTING ? 100 : st->step_index >= 0 ? st->weight : 0;
	else if (st->strategy == CANARY_STRATEGY_BLUE_GREEN)
		reached = st->step_index >= 0 ? 100 : 0; /* the Services point at one colour */
	json_t *observed = json_pack("{s:{s:i, s:i}, s:{s:i, s:i}, s:{s:i, s:f}}", "stable", "desired", stable_desired,
	                             "ready", stable_ready, "canaryPods", "desired", canary_desired, "ready",
	                             canary_ready, "traffic", "requestedWeight", st->weight, "reachedWeight", reached);
	if (!observed || json_object_set_new(doc, "observed", observed))
		goto fail;
	if (canary_phase_active(st->phase) && st->step_index >= 0 && st->step_index < st->ladder.count - 1) {
		long pause = st->ladder.pauses_s[st->step_index];
		long long now = kube_client_server_now_ms(ctx->client);
		/* -1 means an indefinite pause; a finite one counts down to 0 */
		long long left = pause < 0 ? -1 : (st->step_started_ms + pause * 1000 - now + 999) / 1000;
		if (pause >= 0 && left < 0)
			left = 0;
		if (json_object_set_new(doc, "pauseRemainingSeconds", json_integer(left)))
			goto fail;
	}
	json_decref(state);
	return doc;
fail:
	json_decref(state);
	json_decref(doc);
	return NULL;
}

/* The next action a person (or run) takes, one line. */
static void next_action(const canary_ctx *ctx, char *buf, size_t size)
{
	const canary_state *st = &ctx->state;
	if (st->intent.active && !strcmp(st->intent.action, "abort")) {
		snprintf(buf, size,
		         "an abort is in progress; if no rollguard process is working, run 'kubectl canary abort %s' "
		         "to finish it",
		         ctx->name);
		return;
	}
	switch (st->phase) {
	case CANARY_PHASE_PROGRESSING:
		if (st->step_index < 0) {
			snprintf(buf, size,
			         "the start is in progress; if no rollguard process is working, run the same "
			         "'kubectl canary start' again or 'kubectl canary abort %s'",
			         ctx->name);
			break;
		}
		snprintf(buf, size,
		         "a step is in progress (%s); if no rollguard process is working, run "
		         "'kubectl canary promote %s' to resume or 'abort'",
		         st->intent.active ? st->intent.action : "start", ctx->name);
		break;
	case CANARY_PHASE_PAUSED:
		if (st->abort_requested)
			snprintf(buf, size, "abort requested by %s", st->abort_requested_by);
		else if (st->step_index + 1 < st->ladder.count)
			snprintf(buf, size, "promote to %d%%", st->ladder.steps[st->step_index + 1]);
		else
			snprintf(buf, size, "promote --full");
		break;
	case CANARY_PHASE_PROMOTING:
		snprintf(buf, size, "deployment/%s is rolling out the new template; promote again to finish",
		         ctx->name);
		break;
	case CANARY_PHASE_FAILED:
		snprintf(buf, size, "needs a person: %s", st->message);
		break;
	default:
		snprintf(buf, size, "none");
	}
}

static int print_table(FILE *f, const canary_ctx *ctx, const json_t *doc)
{
	const canary_state *st = &ctx->state;
	char stamp[40], pause[32], next[768];
	if (st->phase == CANARY_PHASE_NONE) {
		fprintf(f, "deployment/%s: no canary run\n", ctx->name);
		return 0;
	}
	json_t *observed = json_object_get(doc, "observed");
	json_t *stable = json_object_get(observed, "stable"), *canary = json_object_get(observed, "canaryPods");
	int cd = (int)json_integer_value(json_object_get(canary, "desired"));
	int sd = (int)json_integer_value(json_object_get(stable, "desired"));
	fprintf(f, "Deployment:  %s/%s\n", ctx->ns, ctx->name);
	fprintf(f, "Run:         %s (%s router), started by %s\n", st->run_id, st->router, st->started_by);
	fprintf(f, "Phase:       %s\n", canary_phase_name(st->phase));
	fprintf(f, "Change:      %s (revision %s)\n", st->change, st->revision);
	fprintf(f, "Ladder:     ");
	for (int i = 0; i < st->ladder.count; i++) {
		const char *mark = i == st->step_index ? "*" : "";
		fprintf(f, " %s%d%%%s", mark, st->ladder.steps[i], mark);
		if (i < st->ladder.count - 1) {
			canary_pause_format(pause, sizeof(pause), st->ladder.pauses_s[i]);
			fprintf(f, " (%s) ->", pause);
		}
	}
	fprintf(f, "\n");
	if (st->strategy == CANARY_STRATEGY_BLUE_GREEN)
		fprintf(f, "Traffic:     on %s (%s)\n", st->step_index >= 0 ? "green" : "blue",
		        st->step_index >= 0 ? ctx->canary_name : ctx->name);
	else if (traffic_router(st))
		fprintf(f, "Weight:      %d%% requested, %.0f%% routed by the %s router (service %s-canary)\n",
		        st->weight,
		        json_real_value(json_object_get(json_object_get(observed, "traffic"), "reachedWeight")),
		        st->router, st->service);
	else
		fprintf(f, "Weight:      %d%% requested, %d/%d pods = %.0f%%\n", st->weight, cd, cd + sd,
		        json_real_value(json_object_get(json_object_get(observed, "traffic"), "reachedWeight")));
	fprintf(f, "Stable:      %lld/%d Ready\n", json_integer_value(json_object_get(stable, "ready")), sd);
	fprintf(f, "Canary:      %lld/%d Ready\n", json_integer_value(json_object_get(canary, "ready")), cd);
	if (st->step_started_ms) {
		canary_time_format(stamp, sizeof(stamp), st->step_started_ms);
		long long in_step = (kube_client_server_now_ms(ctx->client) - st->step_started_ms) / 1000;
		char age[32];
		cli_format_duration(age, sizeof(age), (long)(in_step * 1000));
		fprintf(f, "In step:     %s (since %s)", age, stamp);
		json_t *left = json_object_get(doc, "pauseRemainingSeconds");
		if (left && json_integer_value(left) >= 0) {
			cli_format_duration(age, sizeof(age), (long)json_integer_value(left) * 1000);
			fprintf(f, ", pause ends in %s", age);
		} else if (left) {
			fprintf(f, ", paused until a manual promote");
		}
		fprintf(f, "\n");
	}
	int width = 7; /* "health " lines up with the labels above */
	for (int i = 0; i < st->gate_count; i++)
		if ((int)strlen(st->gates[i].name) > width)
			width = (int)strlen(st->gates[i].name);
	for (int i = 0; i < st->gate_count; i++) {
		const canary_gate_record *g = &st->gates[i];
		/* a metric gate's last value against what it is held to */
		fprintf(f, "Gate %-*s %s", width, g->name, canary_verdict_name(g->verdict));
		if (g->value[0] || g->threshold[0])
			fprintf(f, " [%s%s%s]", g->value[0] ? g->value : "no value", g->threshold[0] ? ", needs " : "",
			        g->threshold);
		fprintf(f, ": %s\n", g->message);
	}
	if (st->reason[0])
		fprintf(f, "Reason:      %s\n", st->reason);
	next_action(ctx, next, sizeof(next));
	fprintf(f, "Next:        %s\n", next);
	return 0;
}

/* Reads what status shows: D's state, the canary and its pods' gates.
 * *pods is opened on the first call and kept for -w. */
static int gather(canary_ctx *ctx, canary_pods **pods)
{
	int rc;
	if (!canary_phase_active(ctx->state.phase))
		return 0;
	if ((rc = canary_read_canary(ctx)))
		return rc;
	ctx->router = canary_router_find(ctx->state.router);
	if (!ctx->gates && (rc = canary_gates_load(ctx, CANARY_GATES_ONCE)))
		return rc;
	if (!ctx->router || !ctx->canary)
		return 0;
	if (!*pods && (rc = canary_pods_open(pods, ctx)))
		return rc;
	canary_evaluate_gates(ctx, *pods, canary_current_canary_replicas(ctx), &rc);
	return rc;
}

/* Renders the run on f. With last (for -w), only when something but the
 * clocks changed since the text *last holds (updated). */
static int render(const cli_args *args, canary_ctx *ctx, const canary_pods *pods, FILE *f, char **last)
{
	json_t *doc = canary_status_json(ctx, pods);
	int rc;
	if (!doc)
		return cli_error_nomem();
	if (last) {
		json_t *bare = json_deep_copy(doc);
		json_object_del(bare, "pauseRemainingSeconds");
		json_object_del(bare, "gatesAt");
		char *text = bare ? json_dumps(bare, JSON_COMPACT) : NULL;
		json_decref(bare);
		if (!text) {
			json_decref(doc);
			return cli_error_nomem();
		}
		if (*last && !strcmp(*last, text)) {
			free(text);
			json_decref(doc);
			return 0;
		}
		if (*last && args->output != CLI_OUTPUT_JSON && args->output != CLI_OUTPUT_YAML)
			fprintf(f, "\n");
		free(*last);
		*last = text;
	}
	if (args->output == CLI_OUTPUT_JSON || args->output == CLI_OUTPUT_YAML)
		rc = cli_output_document(f, args->output, doc);
	else
		rc = print_table(f, ctx, doc);
	json_decref(doc);
	fflush(f);
	return rc;
}

/* -w: shows the run again at every change of D or of the canary pods,
 * from watches, until the run ends (or SIGINT). */
static int watch_status(const cli_args *args, canary_ctx *ctx, canary_pods **pods, char **last)
{
	kube_buf selector = {0};
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	int rc;
	if (kube_buf_printf(&selector, "metadata.name=%s", ctx->name))
		return cli_error_nomem();
	opts.field_selector = kube_buf_cstr(&selector);
	opts.resource_version = canary_object_rv(ctx->deploy);
	rc = kube_watch_open(&watch, ctx->client, &canary_res_deployments, ctx->ns, &opts);
	kube_buf_dispose(&selector);
	if (rc)
		return cli_error_kube("watching the Deployment", rc);
	canary_signals_install();
	while (canary_phase_active(ctx->state.phase) && !canary_interrupted()) {
		int changed = 0;
		kube_watch_event ev = {0};
		rc = kube_watch_next(watch, &ev, 500);
		if (rc == KUBE_ETIMEOUT) {
			rc = 0;
		} else if (rc) {
			rc = cli_error_kube("watching the Deployment", rc);
			break;
		} else {
			changed = ev.type == KUBE_WATCH_MODIFIED || ev.type == KUBE_WATCH_ADDED;
			/* the event carries D: no need to GET it again */
			if (changed && (rc = canary_take_deploy(ctx, ev.object))) {
				kube_watch_event_dispose(&ev);
				break;
			}
			kube_watch_event_dispose(&ev);
		}
		if (*pods) {
			int before = canary_pods_ready(*pods), count = canary_pods_count(*pods);
			if ((rc = canary_pods_poll(*pods, 0)))
				break;
			changed |= before != canary_pods_ready(*pods) || count != canary_pods_count(*pods);
		}
		if (!changed)
			continue;
		if ((rc = gather(ctx, pods)))
			break;
		if ((rc = render(args, ctx, *pods, stdout, last)))
			break;
	}
	kube_watch_free(watch);
	return rc;
}

static int run_status(const cli_args *args)
{
	canary_ctx ctx;
	canary_pods *pods = NULL;
	cli_output out = {0};
	int watch = cli_flag_bool(args, "watch");
	int rc;
	if (watch && args->output_file)
		return cli_usage_error(args, "--watch writes to standard output: drop --output-file");
	if ((rc = canary_ctx_open(&ctx, args)) || (rc = canary_read_deploy(&ctx)) || (rc = gather(&ctx, &pods)))
		goto done;
	if (watch) {
		char *last = NULL;
		if (!(rc = render(args, &ctx, pods, stdout, &last)))
			rc = watch_status(args, &ctx, &pods, &last);
		free(last);
		goto done;
	}
	if ((rc = cli_output_open(&out, args->output_file)))
		goto done;
	rc = cli_output_close(&out, render(args, &ctx, pods, out.stream, NULL));
done:
	canary_pods_free(pods);
	canary_ctx_close(&ctx);
	return rc;
}

static const cli_flag status_flags[] = {
        {"watch", 'w', CLI_FLAG_BOOL, NULL, "After showing the run, show it again at every change until it ends", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};

const cli_command canary_status_command = {
        .name = "status",
        .usage = "status DEPLOYMENT [-w]",
        .summary = "Show a canary run: ladder, weight, pod health, gates and the next action",
        .description = "Show the state of DEPLOYMENT's canary run as any machine sees it: the ladder and the rung\n"
                       "reached, the weight requested and the weight the pod counts reach, time in step and the\n"
                       "pause countdown, canary and stable pods Ready, the gates evaluated now (a metric gate with\n"
                       "its value and threshold), and what comes next.\n"
                       "\n"
                       "Exit codes: 0 shown (also when there is no run); 4 API error; 5 the state annotation or\n"
                       "the metric analysis (rollguard.io/canary-analysis) is not readable.",
        .examples = "  # Show the run\n"
                    "  kubectl canary status web\n"
                    "\n"
                    "  # Follow it until it ends\n"
                    "  kubectl canary status web -w\n"
                    "\n"
                    "  # As JSON (kind CanaryStatus)\n"
                    "  kubectl canary status web -o json",
        .flags = status_flags,
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 1,
        .max_args = 1,
        .run = run_status,
        .complete = canary_complete,
};
