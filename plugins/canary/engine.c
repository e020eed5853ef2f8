/* The steps of a canary run: first rung, next rung, finish, abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>

#include "engine.h"
#include "lock.h"
#include "router.h"
#include "router_json.h"
#include "template.h"

int canary_check_template(canary_ctx *ctx)
{
	char hash[16];
	json_t *tpl = json_object_get(json_object_get(ctx->deploy, "spec"), "template");
	if (canary_template_hash(hash, tpl))
		return cli_error_nomem();
	if (!strcmp(hash, ctx->state.stable_revision))
		return 0;
	if (ctx->state.phase == CANARY_PHASE_PROMOTING && !strcmp(hash, ctx->state.revision))
		return 0;
	cli_error("deployment/%s: its pod template changed since canary run %s started (revision %s, now %s)",
	          ctx->name, ctx->state.run_id, ctx->state.stable_revision, hash);
	cli_hint("abort the run with 'kubectl canary abort %s', then start a new one", ctx->name);
	return CLI_EXIT_CONFLICT;
}

int canary_current_canary_replicas(const canary_ctx *ctx)
{
	if (ctx->state.strategy == CANARY_STRATEGY_BLUE_GREEN)
		return ctx->state.original_replicas;
	if (ctx->state.step_index < 0)
		return 0;
	/* from the run's original count: with an HPA a traffic router's
	 * canary is sized anew (canary_run_replicas) each time it moves, and
	 * the gates ask at least the original count Ready, never more pods
	 * than the last move gave it */
	canary_split split;
	ctx->router->split(ctx, ctx->state.original_replicas, ctx->state.weight, &split);
	return split.canary;
}

json_t *canary_build_canary(const canary_ctx *ctx, const json_t *pod_template, int replicas)
{
	json_t *spec = json_object_get(ctx->deploy, "spec");
	json_t *tpl = json_deep_copy(pod_template);
	json_t *selector = json_deep_copy(json_object_get(spec, "selector"));
	json_t *object = json_pack(
	        "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}}", "apiVersion",
	        "apps/v1", "kind", "Deployment", "metadata", "name", ctx->canary_name, "namespace", ctx->ns, "labels",
	        CANARY_LABEL_MANAGED_BY, CANARY_MANAGED_BY, CANARY_LABEL_TRACK, "canary", "annotations",
	        CANARY_ANNOTATION_OF, ctx->name, "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment",
	        "name", ctx->name, "uid", canary_object_uid(ctx->deploy), "controller", 0, "blockOwnerDeletion", 0);
	json_t *new_spec = json_object();
	if (!tpl || !selector || !object || !new_spec)
		goto fail;
	json_t *labels = json_object_get(json_object_get(tpl, "metadata"), "labels");
	json_t *match = json_object_get(selector, "matchLabels");
	if (!json_is_object(labels) || !json_is_object(match))
		goto fail;
	if (json_object_set_new(labels, CANARY_LABEL_TRACK, json_string(canary_track(&ctx->state))) ||
	    json_object_set_new(labels, CANARY_LABEL_REVISION, json_string(ctx->state.revision)) ||
	    json_object_set_new(match, CANARY_LABEL_TRACK, json_string(canary_track(&ctx->state))) ||
	    json_object_set_new(match, CANARY_LABEL_REVISION, json_string(ctx->state.revision)))
		goto fail;
	static const char *const copied[] = {"minReadySeconds", "progressDeadlineSeconds", "strategy", NULL};
	for (int i = 0; copied[i]; i++) {
		json_t *v = json_object_get(spec, copied[i]);
		if (v && json_object_set(new_spec, copied[i], v))
			goto fail;
	}
	if (json_object_set_new(new_spec, "replicas", json_integer(replicas)) ||
	    json_object_set_new(new_spec, "revisionHistoryLimit", json_integer(1)))
		goto fail;
	/* each _set_new takes its value even when it fails */
	int bad = json_object_set_new(new_spec, "selector", selector);
	selector = NULL;
	if (!bad) {
		bad = json_object_set_new(new_spec, "template", tpl);
		tpl = NULL;
	}
	if (!bad) {
		bad = json_object_set_new(object, "spec", new_spec);
		new_spec = NULL;
	}
	if (bad)
		goto fail;
	return object;
fail:
	json_decref(tpl);
	json_decref(selector);
	json_decref(new_spec);
	json_decref(object);
	return NULL;
}

/* Writes the intent {runId, action, fromStep, toStep, toWeight} into the
 * annotations of patch (D-canary's). */
static int set_intent(json_t *patch, const canary_ctx *ctx, const char *action, int to_step, int weight)
{
	json_t *intent = json_pack("{s:s, s:s, s:i, s:i, s:i}", "runId", ctx->state.run_id, "action", action,
	                           "fromStep", ctx->state.step_index, "toStep", to_step, "toWeight", weight);
	char *text = intent ? json_dumps(intent, JSON_COMPACT) : NULL;
	json_decref(intent);
	if (!text)
		return KUBE_ENOMEM;
	json_t *meta = json_object_get(patch, "metadata");
	if (!meta && (json_object_set_new(patch, "metadata", meta = json_object()) || !meta)) {
		free(text);
		return KUBE_ENOMEM;
	}
	json_t *annotations = json_object_get(meta, "annotations");
	if (!annotations && (json_object_set_new(meta, "annotations", annotations = json_object()) || !annotations)) {
		free(text);
		return KUBE_ENOMEM;
	}
	int rc = json_object_set_new(annotations, CANARY_ANNOTATION_INTENT, json_string(text)) ? KUBE_ENOMEM : 0;
	free(text);
	return rc;
}

int canary_commit(canary_ctx *ctx, json_t *patch, const char *what)
{
	int rc;
	canary_whoami(ctx);
	snprintf(ctx->state.user, sizeof(ctx->state.user), "%.255s", ctx->user.username);
	/* the canary created (or found ours) is deleted by this uid at the end */
	if (!ctx->state.canary_uid[0] && ctx->canary && !ctx->dry_run)
		snprintf(ctx->state.canary_uid, sizeof(ctx->state.canary_uid), "%s", canary_object_uid(ctx->canary));
	if (!patch)
		return cli_error_nomem();
	if (canary_patch_set_state(patch, &ctx->state)) {
		json_decref(patch);
		return cli_error_nomem();
	}
	rc = canary_patch_deploy(ctx, patch, what);
	json_decref(patch);
	return rc;
}

enum canary_verdict canary_evaluate_gates(canary_ctx *ctx, canary_pods *pods, int desired, int *out_error)
{
	json_t *events = NULL;
	*out_error = canary_events_list(&events, ctx, canary_pods_items(pods));
	if (*out_error)
		return CANARY_WAIT;
	canary_gate_input in = {0};
	in.pods = canary_pods_items(pods);
	in.events = events;
	in.desired = desired;
	in.now_ms = kube_client_server_now_ms(ctx->client);
	in.step_started_ms = ctx->state.step_started_ms;
	in.progress_deadline_s = canary_progress_deadline_s(ctx->deploy);
	in.ctx = ctx;
	enum canary_verdict verdict =
	        canary_gates_evaluate(canary_gates_list(ctx->gates), &in, ctx->state.gates, &ctx->state.gate_count);
	ctx->state.gates_ms = in.now_ms;
	for (int i = 0; i < ctx->state.gate_count; i++)
		kube_log(KUBE_LOG_DECISION, "gate %s: %s: %s", ctx->state.gates[i].name,
		         canary_verdict_name(ctx->state.gates[i].verdict), ctx->state.gates[i].message);
	json_decref(events);
	return verdict;
}

int canary_step_create(canary_ctx *ctx, const json_t *canary_object)
{
	if (!ctx->canary) {
		if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
			canary_plan(
			        ctx, "create deployment/%s with %lld replica(s) of revision %s", ctx->canary_name,
			        json_integer_value(json_object_get(json_object_get(canary_object, "spec"), "replicas")),
			        ctx->state.revision);
			return 0;
		}
		kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
		opts.field_manager = CANARY_FIELD_MANAGER;
		opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
		json_t *created = NULL;
		int rc = kube_client_create(ctx->client, &created, &canary_res_deployments, ctx->ns, canary_object,
		                            &opts);
		if (rc) {
			json_decref(created);
			char what[320];
			snprintf(what, sizeof(what), "creating deployment/%s", ctx->canary_name);
			return cli_error_kube(what, rc);
		}
		if (ctx->dry_run) {
			canary_plan(ctx, "create deployment/%s with revision %s", ctx->canary_name,
			            ctx->state.revision);
			json_decref(created);
			return 0;
		}
		ctx->canary = created;
	}
	canary_kill_point("start-after-create");
	return 0;
}

int canary_step_weight(canary_ctx *ctx, canary_pods *pods, int to_step, int weight)
{
	canary_split split;
	char reason[512];
	int total = canary_run_replicas(ctx), rc;
	ctx->router->split(ctx, total, weight, &split);
	int current = (int)json_integer_value(json_object_get(json_object_get(ctx->canary, "spec"), "replicas"));
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "scale deployment/%s to %d and wait for its pods Ready", ctx->canary_name,
		            split.canary);
		canary_plan(ctx, "scale deployment/%s to %d (weight %d%%, reached %.0f%%)", ctx->name, split.stable,
		            weight, split.weight_reached);
		return 0;
	}
	if (current != split.canary) {
		json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", split.canary);
		char what[128];
		snprintf(what, sizeof(what), "scale to %d for %d%%", split.canary, weight);
		if (!patch || set_intent(patch, ctx, "promote", to_step, weight)) {
			json_decref(patch);
			return cli_error_nomem();
		}
		rc = canary_patch_canary(ctx, patch, what);
		json_decref(patch);
		if (rc)
			return rc;
	}
	canary_kill_point("promote-after-canary-scale");
	if (ctx->dry_run)
		return 0;
	long timeout_ms = canary_progress_deadline_s(ctx->deploy) * 1000;
	if ((rc = canary_pods_wait_ready(pods, split.canary, timeout_ms, reason, sizeof(reason)))) {
		if (rc == CLI_EXIT_FAIL)
			snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", reason);
		return rc;
	}
	if (ctx->router->route && (rc = ctx->router->route(ctx, weight)))
		return rc;
	/* Stable down and the new rung committed in one patch. */
	ctx->state.step_index = to_step;
	ctx->state.weight = weight;
	ctx->state.step_started_ms = kube_client_server_now_ms(ctx->client);
	ctx->state.intent.active = 0;
	ctx->state.phase = CANARY_PHASE_PAUSED;
	json_t *patch = ctx->state.hpa[0] ? json_object() : json_pack("{s:{s:i}}", "spec", "replicas", split.stable);
	char what[160];
	snprintf(what, sizeof(what), "scale to %d, commit %d%% (rung %d of %d)", split.stable, weight, to_step + 1,
	         ctx->state.ladder.count);
	if ((rc = canary_commit(ctx, patch, what)))
		return rc;
	canary_kill_point("promote-after-commit");
	return 0;
}

/* The canary's template as the start recorded it: D's (still the stable
 * one, canary_check_template saw to that) with the change of annotation
 * rollguard.io/canary-template applied (owned), when it hashes to the
 * run's revision; NULL when there is none or it does not (an older run, an
 * edited annotation) or memory runs out. */
static json_t *recorded_template(const canary_ctx *ctx)
{
	const json_t *meta = json_object_get(ctx->deploy, "metadata");
	const char *text =
	        json_string_value(json_object_get(json_object_get(meta, "annotations"), CANARY_ANNOTATION_TEMPLATE));
	if (!text || ctx->state.phase == CANARY_PHASE_PROMOTING)
		return NULL;
	json_t *change = json_loads(text, 0, NULL);
	json_t *tpl =
	        json_is_object(change)
	                ? canary_merge_apply(json_object_get(json_object_get(ctx->deploy, "spec"), "template"), change)
	                : NULL;
	json_decref(change);
	char hash[16];
	if (tpl && (canary_template_hash(hash, tpl) || strcmp(hash, ctx->state.revision) != 0)) {
		kube_log(KUBE_LOG_DECISION, "annotation %s does not give revision %s: reading deployment/%s",
		         CANARY_ANNOTATION_TEMPLATE, ctx->state.revision, ctx->canary_name);
		json_decref(tpl);
		tpl = NULL;
	}
	return tpl;
}

/* D's template with the canary's change (owned): the canary's template
 * without rollguard's two labels, or, when D-canary was not read, the one
 * the start recorded. */
static json_t *promoted_template(const canary_ctx *ctx)
{
	if (!ctx->canary)
		return recorded_template(ctx);
	json_t *tpl = json_deep_copy(json_object_get(json_object_get(ctx->canary, "spec"), "template"));
	json_t *labels = json_object_get(json_object_get(tpl, "metadata"), "labels");
	json_object_del(labels, CANARY_LABEL_TRACK);
	json_object_del(labels, CANARY_LABEL_REVISION);
	return tpl;
}

int canary_prepare_finish(canary_ctx *ctx)
{
	int promoting = ctx->state.phase == CANARY_PHASE_PROMOTING;
	if (ctx->canary)
		return 0;
	if (ctx->state.canary_uid[0] && (promoting || !ctx->router->traffic)) {
		json_t *tpl = promoting ? NULL : recorded_template(ctx);
		json_decref(tpl);
		if (promoting || tpl) {
			kube_log(KUBE_LOG_DECISION,
			         "the finish needs no read of deployment/%s: its template from annotation %s, its uid "
			         "%s from the state",
			         ctx->canary_name, CANARY_ANNOTATION_TEMPLATE, ctx->state.canary_uid);
			return 0;
		}
	}
	return canary_read_canary(ctx);
}

/* The merge patch of D's spec.template that makes it want exactly (owned;
 * NULL when memory runs out): keys of D's template that want lacks are
 * nulled, so nothing of the other template (a nodeSelector, tolerations,
 * annotations a --patch added) survives, and the template hashes, and
 * rolls out under the pod-template-hash, of want. */
static json_t *template_patch(const canary_ctx *ctx, const json_t *want)
{
	return canary_merge_patch(json_object_get(json_object_get(ctx->deploy, "spec"), "template"), want);
}

/* Before a traffic router sends all traffic to the canary (the finish):
 * the canary at want pods (an HPA may have grown D since the last rung)
 * and want of them Ready -- whatever --force said about the gates, no
 * traffic goes to pods that cannot serve it. A pod that fails (restarts
 * while not Ready, CrashLoopBackOff, ...) stops the wait at once; so does
 * the progress deadline. Returns 0 or the exit code (CLI_EXIT_FAIL with
 * ctx->state.reason set: nothing was moved). */
static int canary_ready_for_all(canary_ctx *ctx, int want)
{
	int have = (int)json_integer_value(json_object_get(json_object_get(ctx->canary, "spec"), "replicas"));
	int rc;
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		if (ctx->canary && have < want)
			canary_plan(ctx, "scale deployment/%s to %d", ctx->canary_name, want);
		canary_plan(ctx, "wait for %d canary pod(s) Ready before all traffic moves to them", want);
		return 0;
	}
	if (have < want) {
		json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", want);
		char what[128];
		snprintf(what, sizeof(what), "scale to %d before the finish", want);
		if (!patch || set_intent(patch, ctx, "finish", ctx->state.ladder.count - 1, 100)) {
			json_decref(patch);
			return cli_error_nomem();
		}
		rc = canary_patch_canary(ctx, patch, what);
		json_decref(patch);
		if (rc)
			return rc;
	}
	if (ctx->dry_run) {
		canary_plan(ctx, "wait for %d canary pod(s) Ready before all traffic moves to them", want);
		return 0;
	}
	canary_pods *pods = NULL;
	if ((rc = canary_pods_open(&pods, ctx)))
		return rc;
	long long started = kube_client_server_now_ms(ctx->client);
	long timeout_ms = canary_progress_deadline_s(ctx->deploy) * 1000;
	for (;;) {
		if (canary_pods_ready(pods) >= want)
			break;
		canary_gate_input in = {0};
		canary_gate_record record;
		in.pods = canary_pods_items(pods);
		in.desired = want;
		in.now_ms = kube_client_server_now_ms(ctx->client);
		in.step_started_ms = started;
		in.progress_deadline_s = timeout_ms / 1000;
		if (canary_gate_health.evaluate(&canary_gate_health, &in, &record)) {
			rc = cli_error_nomem();
			break;
		}
		if (record.verdict == CANARY_FAIL) {
			snprintf(ctx->state.reason, sizeof(ctx->state.reason),
			         "%.400s; no traffic was moved to the canary", record.message);
			rc = CLI_EXIT_FAIL;
			break;
		}
		kube_log(KUBE_LOG_DECISION, "before the finish: %s", record.message);
		if ((rc = canary_wait_tick(ctx)) || (rc = canary_pods_poll(pods, 1000)))
			break;
	}
	canary_pods_free(pods);
	return rc;
}

/* Deletes D-canary (absent counts as done). */
static int delete_canary(canary_ctx *ctx)
{
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "delete deployment/%s", ctx->canary_name);
		return 0;
	}
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	opts.propagation_policy = "Background";
	opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
	/* the object this run created, by its uid, whether it was read or not:
	 * one of the same name made since by someone else stays */
	opts.precondition_uid = ctx->canary ? canary_object_uid(ctx->canary) : ctx->state.canary_uid;
	if (!opts.precondition_uid[0])
		opts.precondition_uid = NULL;
	int rc = kube_client_delete(ctx->client, NULL, &canary_res_deployments, ctx->ns, ctx->canary_name, &opts);
	if (rc == KUBE_ECONFLICT && opts.precondition_uid) {
		cli_warning("deployment/%s is no longer the one canary run %s created (uid %s): left in place",
		            ctx->canary_name, ctx->state.run_id, opts.precondition_uid);
		rc = 0;
	}
	if (rc && rc != KUBE_ENOTFOUND) {
		char what[320];
		snprintf(what, sizeof(what), "deleting deployment/%s", ctx->canary_name);
		return cli_error_kube(what, rc);
	}
	if (ctx->dry_run)
		canary_plan(ctx, "delete deployment/%s", ctx->canary_name);
	json_decref(ctx->canary);
	ctx->canary = NULL;
	return 0;
}

/* Ends the run in phase with the state moved to the history, the active
 * label removed and the saved template and the metric analysis dropped,
 * in one patch of D. */
static int end_run(canary_ctx *ctx, enum canary_phase phase, json_t *patch)
{
	kube_buf history = {0};
	int dropped = 0;
	ctx->state.phase = phase;
	ctx->state.intent.active = 0;
	ctx->state.abort_requested = 0;
	ctx->state.finished_ms = kube_client_server_now_ms(ctx->client);
	json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
	const char *old = json_string_value(json_object_get(annotations, CANARY_ANNOTATION_HISTORY));
	if (!patch)
		return cli_error_nomem();
	if (canary_history_append(&history, old, &ctx->state, &dropped)) {
		json_decref(patch);
		return cli_error_nomem();
	}
	if (dropped)
		cli_warning("deployment/%s: annotation %s was not a history; starting a new one", ctx->name,
		            CANARY_ANNOTATION_HISTORY);
	json_t *meta = json_object_get(patch, "metadata");
	if (!meta)
		json_object_set_new(patch, "metadata", meta = json_object());
	json_t *ann =
	        json_pack("{s:s, s:n, s:n, s:n}", CANARY_ANNOTATION_HISTORY, kube_buf_cstr(&history),
	                  CANARY_ANNOTATION_STABLE_TEMPLATE, CANARY_ANNOTATION_ANALYSIS, CANARY_ANNOTATION_TEMPLATE);
	json_t *labels = json_pack("{s:n}", CANARY_LABEL_ACTIVE);
	kube_buf_dispose(&history);
	if (!meta || !ann || !labels || json_object_set_new(meta, "annotations", ann) ||
	    json_object_set_new(meta, "labels", labels) ||
	    (ctx->annotation_lock && json_object_set_new(ann, CANARY_ANNOTATION_LOCK, json_null()))) {
		json_decref(patch);
		return cli_error_nomem();
	}
	/* The end names this process as the lock's last holder: the next
	 * command takes the Lease over at once, so it is left to expire rather
	 * than deleted (one request fewer), and the annotation lock goes in
	 * this same patch. */
	if (ctx->lease || ctx->annotation_lock)
		snprintf(ctx->state.lock_holder, sizeof(ctx->state.lock_holder), "%s", ctx->holder);
	char what[64];
	snprintf(what, sizeof(what), "end the run: %s", canary_phase_name(phase));
	int rc = canary_commit(ctx, patch, what);
	if (!rc && !ctx->dry_run && (ctx->lease || ctx->annotation_lock))
		ctx->lock_ended = 1;
	return rc;
}

int canary_step_finish(canary_ctx *ctx)
{
	int rc;
	char reason[512];
	/* with an HPA, D's replica count is the HPA's, re-read now */
	int total = ctx->state.hpa[0] ? canary_deploy_replicas(ctx->deploy) : ctx->state.original_replicas;
	json_t *promoted = NULL;
	if (ctx->state.phase != CANARY_PHASE_PROMOTING && ctx->dry_run != CANARY_DRY_RUN_CLIENT &&
	    !(promoted = promoted_template(ctx))) {
		if (ctx->canary)
			return cli_error_nomem();
		cli_error("deployment/%s is missing: the run cannot finish", ctx->canary_name);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		return CLI_EXIT_FAIL;
	}
	if (ctx->state.phase != CANARY_PHASE_PROMOTING && ctx->state.strategy == CANARY_STRATEGY_CANARY &&
	    ctx->router->route) {
		/* a traffic router: all traffic on the canary before D rolls
		 * out, once its pods are Ready */
		if ((ctx->router->traffic && (rc = canary_ready_for_all(ctx, total))) ||
		    (rc = ctx->router->route(ctx, 100))) {
			json_decref(promoted);
			return rc;
		}
	}
	if (ctx->state.phase != CANARY_PHASE_PROMOTING) {
		/* Save the stable template, then D gets the new one and N pods:
		 * one patch, so the intent and the act land together. */
		json_t *stable_tpl = json_object_get(json_object_get(ctx->deploy, "spec"), "template");
		char *saved = json_dumps(stable_tpl, JSON_COMPACT);
		if (!promoted) /* a client dry run without D-canary */
			promoted = promoted_template(ctx);
		json_t *tpl = promoted ? template_patch(ctx, promoted) : NULL;
		json_decref(promoted);
		if (!saved || !tpl) {
			free(saved);
			json_decref(tpl);
			return cli_error_nomem();
		}
		/* "o" takes tpl, also when packing fails */
		json_t *patch = json_pack("{s:{s:{s:s}, s:{s:s}}, s:{s:o}}", "metadata", "annotations",
		                          CANARY_ANNOTATION_STABLE_TEMPLATE, saved, "labels", CANARY_LABEL_ACTIVE,
		                          "true", "spec", "template", tpl);
		free(saved);
		if (!patch)
			return cli_error_nomem();
		if (!ctx->state.hpa[0] &&
		    json_object_set_new(json_object_get(patch, "spec"), "replicas", json_integer(total))) {
			json_decref(patch);
			return cli_error_nomem();
		}
		ctx->state.phase = CANARY_PHASE_PROMOTING;
		ctx->state.intent.active = 1;
		snprintf(ctx->state.intent.action, sizeof(ctx->state.intent.action), "finish");
		ctx->state.intent.from_step = ctx->state.step_index;
		ctx->state.intent.to_step = ctx->state.ladder.count - 1;
		ctx->state.intent.to_weight = 100;
		ctx->state.intent.at_ms = kube_client_server_now_ms(ctx->client);
		char what[160];
		snprintf(what, sizeof(what), "write the canary's template and %d replicas into deployment/%s", total,
		         ctx->name);
		if ((rc = canary_commit(ctx, patch, what)))
			return rc;
		canary_kill_point("finish-after-template");
	}
	if (ctx->dry_run) {
		canary_plan(ctx, "wait for deployment/%s to roll out, then delete deployment/%s", ctx->name,
		            ctx->canary_name);
		return 0;
	}
	long timeout_ms = canary_progress_deadline_s(ctx->deploy) * 1000 + 60000;
	if ((rc = canary_wait_ready(ctx, ctx->name, total, 1, timeout_ms, reason, sizeof(reason)))) {
		if (rc == CLI_EXIT_FAIL)
			snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", reason);
		return rc;
	}
	if (ctx->router->cleanup && (rc = ctx->router->cleanup(ctx)))
		return rc;
	if ((rc = delete_canary(ctx)))
		return rc;
	canary_kill_point("finish-after-delete");
	ctx->state.step_index = ctx->state.ladder.count - 1;
	ctx->state.weight = 100;
	return end_run(ctx, CANARY_PHASE_SUCCEEDED, json_object());
}

int canary_step_abort(canary_ctx *ctx, const char *reason)
{
	int rc;
	char why[512];
	/* with an HPA, D's replica count is the HPA's, re-read now */
	int total = ctx->state.hpa[0] ? canary_deploy_replicas(ctx->deploy) : ctx->state.original_replicas;
	int promoting = ctx->state.phase == CANARY_PHASE_PROMOTING;
	if (reason && reason[0])
		snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", reason);
	/* Traffic back to stable first: the router, then D at N pods (with
	 * its template restored when Promoting had replaced it). While
	 * Promoting, stable's pods come back with that template, so the
	 * router moves traffic only once they are Ready. */
	if (!promoting && ctx->router->restore) {
		if ((rc = ctx->router->restore(ctx)))
			return rc;
		canary_kill_point("abort-after-restore");
	}
	json_t *patch = json_object();
	json_t *spec = json_object();
	if (!patch || !spec || json_object_set_new(patch, "spec", spec)) {
		json_decref(patch);
		return cli_error_nomem();
	}
	if (!ctx->state.hpa[0] && json_object_set_new(spec, "replicas", json_integer(total))) {
		json_decref(patch);
		return cli_error_nomem();
	}
	json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
	const char *saved = json_string_value(json_object_get(annotations, CANARY_ANNOTATION_STABLE_TEMPLATE));
	if (saved) {
		/* exactly the saved template: what the canary's added is
		 * removed, so D rolls back to the stable pod-template-hash the
		 * pinned Services select */
		json_t *tpl = json_loads(saved, 0, NULL);
		json_t *diff = json_is_object(tpl) ? template_patch(ctx, tpl) : NULL;
		int bad = !json_is_object(tpl);
		json_decref(tpl);
		if (bad || !diff || json_object_set_new(spec, "template", diff)) {
			json_decref(patch);
			if (!bad)
				return cli_error_nomem();
			cli_error("deployment/%s: annotation %s does not hold a pod template", ctx->name,
			          CANARY_ANNOTATION_STABLE_TEMPLATE);
			return CLI_EXIT_FAIL;
		}
	}
	ctx->state.intent.active = 1;
	snprintf(ctx->state.intent.action, sizeof(ctx->state.intent.action), "abort");
	ctx->state.intent.from_step = ctx->state.step_index;
	ctx->state.intent.to_step = -1;
	ctx->state.intent.to_weight = 0;
	ctx->state.intent.at_ms = kube_client_server_now_ms(ctx->client);
	char what[160];
	snprintf(what, sizeof(what), "scale to %d%s (abort)", total, saved ? " with the stable template restored" : "");
	if ((rc = canary_commit(ctx, patch, what)))
		return rc;
	canary_kill_point("abort-after-stable-scale");
	if (!ctx->dry_run) {
		long timeout_ms = canary_progress_deadline_s(ctx->deploy) * 1000 + 60000;
		rc = canary_wait_ready(ctx, ctx->name, total, saved != NULL, timeout_ms, why, sizeof(why));
		if (rc == CLI_EXIT_FAIL) {
			/* Keep the canary: removing it now would lose capacity. */
			cli_error("deployment/%s: stable did not come back to %d Ready pods: %s; the canary is kept",
			          ctx->name, total, why);
			cli_hint("fix the stable pods, then run 'kubectl canary abort %s' again", ctx->name);
			return CLI_EXIT_FAIL;
		}
		if (rc)
			return rc;
	} else {
		canary_plan(ctx, "wait for deployment/%s to have %d Ready pods", ctx->name, total);
	}
	if (promoting && ctx->router->restore) {
		if ((rc = ctx->router->restore(ctx)))
			return rc;
		canary_kill_point("abort-after-restore");
	}
	/* the gateway, mesh or ingress controller takes the restored route
	 * in before the canary's pods (and then its Service) go */
	if (ctx->router->traffic && ctx->canary && (rc = canary_route_settle(ctx)))
		return rc;
	if ((rc = delete_canary(ctx)))
		return rc;
	canary_kill_point("abort-after-delete");
	if (ctx->router->cleanup && (rc = ctx->router->cleanup(ctx)))
		return rc;
	return end_run(ctx, CANARY_PHASE_ABORTED, json_object());
}
