/* kubectl canary start: creates D-canary with the new pod template and
 * brings it to the first rung of the ladder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>
#include <kube/yaml.h>

#include "access.h"
#include "commands.h"
#include "engine.h"
#include "lock.h"
#include "router.h"
#include "router_json.h"
#include "service_pin.h"
#include "template.h"

static const cli_flag canary_start_flags[] = {
        {"image", 0, CLI_FLAG_STRINGS, "[CONTAINER=]IMAGE",
         "The canary's image; name the container when the pod has several (repeatable)", NULL},
        {"set-env", 0, CLI_FLAG_STRINGS, "NAME=VALUE",
         "Set (or with NAME- remove) an environment variable in every container of the canary (repeatable)", NULL},
        {"patch", 0, CLI_FLAG_STRING, "FILE",
         "A strategic merge patch of the Deployment (YAML or JSON) changing only spec.template", NULL},
        {"steps", 0, CLI_FLAG_STRING, "W1,W2,...", "The ladder of traffic weights in percent (default 5,25,50,100)",
         NULL},
        {"pause", 0, CLI_FLAG_STRING, "DUR,...",
         "How long run stays at each rung: one value per rung but the last, or one for all; 0 moves on, inf "
         "waits for a manual promote (default 5m)",
         NULL},
        {"router", 0, CLI_FLAG_STRING, "NAME",
         "How a weight becomes traffic: replicas, gateway, istio, nginx or smi (default: detected from the "
         "HTTPRoute, VirtualService, Ingress or TrafficSplit that sends to the Deployment's Service, else "
         "replicas)",
         NULL},
        {"strategy", 0, CLI_FLAG_STRING, "NAME", "canary (default)", NULL},
        {"analysis", 0, CLI_FLAG_STRING, "FILE",
         "Metric gates from Prometheus: an analysis file (YAML or JSON: prometheus, interval, window, template, "
         "minRequests, errorRate, maxP99, queries, metrics)",
         NULL},
        {"prometheus", 0, CLI_FLAG_STRING, "ADDR",
         "Metric gates from the Prometheus at ADDR: http(s)://HOST:PORT[/PREFIX], or NAMESPACE/SERVICE[:PORT] "
         "through the API server's service proxy (https:NAMESPACE/SERVICE:PORT for TLS)",
         NULL},
        {"max-p99", 0, CLI_FLAG_DURATION, "DUR",
         "With metric gates: fail when the canary's P99 latency is above DUR (e.g. 500ms)", NULL},
        {"min-requests", 0, CLI_FLAG_INT, "N",
         "With metric gates: canary requests in the window before the gates judge (default 100)", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE",
         "Print the plan and change nothing: client, or server (sends the first writes with dryRun=All)", "client"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

/* Applies --patch FILE to a copy of D through the API server's own
 * strategic merge (a dry run, nothing stored) and takes its template. */
static int apply_patch_file(canary_ctx *ctx, json_t **tpl, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cli_usage_error(ctx->args, "--patch %s: cannot read it", path);
	kube_buf data = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (kube_buf_put(&data, chunk, n)) {
			fclose(f);
			kube_buf_dispose(&data);
			return cli_error_nomem();
		}
	fclose(f);
	json_t *patch = NULL;
	int rc = kube_yaml_parse_one(&patch, data.ptr ? data.ptr : "", data.len);
	kube_buf_dispose(&data);
	if (rc || !json_is_object(patch)) {
		json_decref(patch);
		return cli_usage_error(ctx->args, "--patch %s: not a YAML or JSON object%s%s", path, rc ? ": " : "",
		                       rc ? kube_error_last()->message : "");
	}
	json_t *spec = json_object_get(patch, "spec");
	if (json_object_size(patch) != 1 || !json_is_object(spec) || json_object_size(spec) != 1 ||
	    !json_object_get(spec, "template")) {
		json_decref(patch);
		return cli_usage_error(ctx->args, "--patch %s: may change only spec.template", path);
	}
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	opts.dry_run = 1;
	opts.field_manager = CANARY_FIELD_MANAGER;
	json_t *reply = NULL;
	rc = kube_client_patch(ctx->client, &reply, &canary_res_deployments, ctx->ns, ctx->name, KUBE_PATCH_STRATEGIC,
	                       patch, &opts);
	json_decref(patch);
	if (rc) {
		json_decref(reply);
		char what[300];
		snprintf(what, sizeof(what), "--patch %s", path);
		return cli_error_kube(what, rc);
	}
	json_decref(*tpl);
	*tpl = json_deep_copy(json_object_get(json_object_get(reply, "spec"), "template"));
	json_decref(reply);
	return *tpl ? 0 : cli_error_nomem();
}

/* The canary's template from D's and the change flags; fills change. */
static int build_template(canary_ctx *ctx, json_t **out, char *change, size_t change_size)
{
	const char *const *images, *const *envs;
	size_t image_count = cli_flag_strings(ctx->args, "image", &images);
	size_t env_count = cli_flag_strings(ctx->args, "set-env", &envs);
	const char *patch_file = cli_flag_string(ctx->args, "patch");
	char err[512], what[300];
	size_t used = 0;
	int rc = 0;
	snprintf(what, sizeof(what), "deployment/%s", ctx->name);
	json_t *tpl = json_deep_copy(json_object_get(json_object_get(ctx->deploy, "spec"), "template"));
	if (!tpl)
		return cli_error_nomem();
	change[0] = '\0';
	if (patch_file && (rc = apply_patch_file(ctx, &tpl, patch_file))) {
		json_decref(tpl);
		return rc;
	}
	if (patch_file)
		used += (size_t)snprintf(change + used, change_size - used, "patch %s", patch_file);
	for (size_t i = 0; i < image_count; i++) {
		if (canary_template_set_image(tpl, images[i], what, err, sizeof(err))) {
			json_decref(tpl);
			cli_error("--image %s: %s", images[i], err);
			return CLI_EXIT_USAGE;
		}
		if (used < change_size)
			used += (size_t)snprintf(change + used, change_size - used, "%simage %s", used ? ", " : "",
			                         images[i]);
	}
	for (size_t i = 0; i < env_count; i++) {
		if (canary_template_set_env(tpl, envs[i], err, sizeof(err))) {
			json_decref(tpl);
			return cli_usage_error(ctx->args, "--set-env %s: %s", envs[i], err);
		}
		if (used < change_size)
			used += (size_t)snprintf(change + used, change_size - used, "%senv %.*s", used ? ", " : "",
			                         (int)strcspn(envs[i], "="),
			                         envs[i]); /* the name only: values may be secrets */
	}
	*out = tpl;
	return 0;
}

int canary_change_given(const cli_args *args)
{
	return cli_flag_given(args, "image") || cli_flag_given(args, "set-env") || cli_flag_given(args, "patch");
}

int canary_change_revision(canary_ctx *ctx, char *out)
{
	json_t *tpl = NULL;
	char change[512];
	int rc = build_template(ctx, &tpl, change, sizeof(change));
	if (!rc && canary_template_hash(out, tpl))
		rc = cli_error_nomem();
	json_decref(tpl);
	return rc;
}

int canary_start(canary_ctx *ctx)
{
	const cli_args *args = ctx->args;
	canary_ladder ladder;
	canary_pods *pods = NULL;
	json_t *tpl = NULL, *canary_object = NULL;
	canary_analysis *analysis = NULL; /* metric gates, or NULL */
	char err[256], change[512], revision[16], hpa[254];
	int rc;
	if (!canary_change_given(args)) {
		rc = cli_usage_error(args, "say what the canary changes: --image, --set-env or --patch");
		goto done;
	}
	const char *strategy = cli_flag_string(args, "strategy");
	int blue_green = strategy && strcmp(strategy, "blue-green") == 0;
	if (strategy && !blue_green && strcmp(strategy, "canary") != 0) {
		rc = cli_usage_error(args, "unknown --strategy \"%s\": must be canary or blue-green", strategy);
		goto done;
	}
	if (blue_green &&
	    (cli_flag_given(args, "steps") || cli_flag_given(args, "pause") || cli_flag_given(args, "router"))) {
		rc = cli_usage_error(args, "--strategy blue-green takes no --steps, --pause or --router");
		goto done;
	}
	/* the analysis file is read and checked before anything is asked of
	 * the cluster */
	if ((rc = canary_analysis_from_flags(&analysis, args)))
		goto done;
	if (blue_green && analysis) {
		rc = cli_usage_error(args, "--strategy blue-green takes no metric gates (--analysis, --prometheus): "
		                           "green serves no traffic until the switch");
		goto done;
	}
	if (canary_ladder_parse(&ladder, blue_green ? "100" : cli_flag_string(args, "steps"),
	                        blue_green ? "0" : cli_flag_string(args, "pause"), err, sizeof(err))) {
		rc = cli_usage_error(args, "%s", err);
		goto done;
	}
	if (!blue_green && ladder.count < 2) {
		rc = cli_usage_error(args, "--steps: a canary needs at least one weight below 100 (use promote --full "
		                           "semantics with --steps 1,100)");
		goto done;
	}
	const char *router_name = cli_flag_string(args, "router");
	if (router_name && (!canary_router_find(router_name) || !strcmp(router_name, "blue-green"))) {
		rc = cli_usage_error(args, "unknown --router \"%s\": must be replicas, gateway, istio, nginx or smi",
		                     router_name);
		goto done;
	}
	ctx->router =
	        blue_green ? &canary_router_bluegreen : canary_router_find(router_name ? router_name : "replicas");
	if ((rc = canary_read_deploy(ctx)))
		goto done;
	snprintf(ctx->canary_name, sizeof(ctx->canary_name), "%s-%s", ctx->name, blue_green ? "green" : "canary");
	if ((rc = build_template(ctx, &tpl, change, sizeof(change))))
		goto done;
	if (canary_template_hash(revision, tpl)) {
		rc = cli_error_nomem();
		goto done;
	}
	int resuming = 0;
	if (canary_phase_active(ctx->state.phase)) {
		/* Re-running the start a killed process left half-done converges. */
		if (ctx->state.phase == CANARY_PHASE_PROGRESSING && ctx->state.step_index < 0 &&
		    ctx->state.intent.active && !strcmp(ctx->state.intent.action, "start") &&
		    !strcmp(ctx->state.revision, revision) &&
		    (ctx->state.strategy == CANARY_STRATEGY_BLUE_GREEN) == blue_green) {
			resuming = 1;
		} else {
			cli_error("deployment/%s is already in a canary run (%s, %s at %d%%, revision %s)", ctx->name,
			          ctx->state.run_id, canary_phase_name(ctx->state.phase), ctx->state.weight,
			          ctx->state.revision);
			cli_hint("see 'kubectl canary status %s'; end it with promote --full or abort", ctx->name);
			rc = CLI_EXIT_REFUSED;
			goto done;
		}
	}
	if ((rc = canary_read_canary(ctx)))
		goto done;
	if (ctx->canary && !resuming) {
		cli_error("deployment/%s is left over from an earlier run and no run is in progress", ctx->canary_name);
		cli_hint("delete it with 'kubectl delete deployment %s -n %s', then start again", ctx->canary_name,
		         ctx->ns);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	char stable_revision[16];
	if (canary_template_hash(stable_revision, json_object_get(json_object_get(ctx->deploy, "spec"), "template"))) {
		rc = cli_error_nomem();
		goto done;
	}
	if (!resuming && !strcmp(stable_revision, revision)) {
		rc = cli_usage_error(args, "the change leaves the pod template of deployment/%s as it is", ctx->name);
		goto done;
	}
	int total = resuming ? canary_run_replicas(ctx) : canary_deploy_replicas(ctx->deploy);
	if (total < 1) {
		cli_error("deployment/%s is scaled to 0: there is no traffic to split", ctx->name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	canary_route_choice route;
	if ((rc = canary_router_choose(&route, ctx, blue_green ? "blue-green" : router_name, resuming)))
		goto done;
	ctx->router = route.router;
	if (!resuming && (rc = canary_find_hpa(ctx, hpa, sizeof(hpa))))
		goto done;
	/* The hash the router pins D's Services to is part of the run's
	 * intent: an abort after an interrupted start points them back at it. */
	char blue_hash[sizeof(ctx->state.blue_hash)] = "";
	if (!resuming && ctx->router->pins && (rc = canary_services_stable_hash(ctx, blue_hash, sizeof(blue_hash))))
		goto done;
	/* the template defaults to the router's, known now; a start that
	 * resumes keeps the analysis it stored (and warns when the flags given
	 * now differ) */
	if (analysis && (rc = resuming ? canary_analysis_check_kept(ctx)
	                               : canary_analysis_complete(analysis, args, ctx->router->name)))
		goto done;
	if ((rc = canary_access_check(ctx, CANARY_NEEDS(canary_needs_start))) ||
	    (rc = canary_lock_acquire(ctx, CANARY_LOCK_STEP)))
		goto done;
	if (!resuming) {
		long long now = kube_client_server_now_ms(ctx->client);
		canary_state *st = &ctx->state;
		canary_state_init(st);
		st->phase = CANARY_PHASE_PROGRESSING;
		st->strategy = blue_green ? CANARY_STRATEGY_BLUE_GREEN : CANARY_STRATEGY_CANARY;
		canary_new_run_id(st->run_id, sizeof(st->run_id), now);
		snprintf(st->router, sizeof(st->router), "%s", ctx->router->name);
		snprintf(st->canary_name, sizeof(st->canary_name), "%s", ctx->canary_name);
		snprintf(st->revision, sizeof(st->revision), "%s", revision);
		snprintf(st->stable_revision, sizeof(st->stable_revision), "%s", stable_revision);
		snprintf(st->change, sizeof(st->change), "%s", change);
		snprintf(st->hpa, sizeof(st->hpa), "%s", hpa);
		snprintf(st->service, sizeof(st->service), "%s", route.service);
		snprintf(st->route, sizeof(st->route), "%s", route.route);
		snprintf(st->blue_hash, sizeof(st->blue_hash), "%s", blue_hash);
		st->ladder = ladder;
		st->step_index = -1;
		st->original_replicas = total;
		st->started_ms = now;
		st->step_started_ms = now;
		st->intent.active = 1;
		snprintf(st->intent.action, sizeof(st->intent.action), "start");
		st->intent.from_step = -1;
		st->intent.to_step = 0;
		st->intent.to_weight = ladder.steps[0];
		st->intent.at_ms = now;
		canary_whoami(ctx);
		snprintf(st->started_by, sizeof(st->started_by), "%.255s", ctx->user.username);
		snprintf(st->user, sizeof(st->user), "%.255s", ctx->user.username);
		if (hpa[0])
			cli_warning(
			        "deployment/%s is scaled by HorizontalPodAutoscaler %s: stable keeps its replicas and "
			        "canary pods are added on top",
			        ctx->name, hpa);
		kube_buf lines = {0};
		if (ctx->router == &canary_router_replicas &&
		    !canary_ladder_describe_unreachable(&lines, &ladder, total, hpa[0] != '\0') && lines.len) {
			const char *p = kube_buf_cstr(&lines);
			while (*p) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);
				cli_warning("with %d replicas the rung %.*s", total, (int)len, p);
				p += len + (nl ? 1 : 0);
			}
		}
		kube_buf_dispose(&lines);
		/* the canary's change, recorded for the finish, which then needs
		 * no read of the canary */
		json_t *change_patch =
		        canary_merge_patch(json_object_get(json_object_get(ctx->deploy, "spec"), "template"), tpl);
		char *change_text = change_patch ? json_dumps(change_patch, JSON_COMPACT) : NULL;
		json_decref(change_patch);
		json_t *patch = change_text
		                        ? json_pack("{s:{s:{s:s}, s:{s:s}}}", "metadata", "labels", CANARY_LABEL_ACTIVE,
		                                    "true", "annotations", CANARY_ANNOTATION_TEMPLATE, change_text)
		                        : NULL;
		free(change_text);
		/* the metric analysis lands with the run it belongs to (or an
		 * old one is removed) */
		if (!patch || canary_patch_set_state(patch, st) || canary_analysis_store(patch, analysis)) {
			json_decref(patch);
			rc = cli_error_nomem();
			goto done;
		}
		rc = canary_patch_deploy(ctx, patch, "record the new run (phase Progressing)");
		json_decref(patch);
		if (rc)
			goto done;
		if (analysis) {
			char names[256];
			canary_prom_addr addr;
			if ((rc = canary_gates_build(ctx, analysis, CANARY_GATES_ONCE)))
				goto done;
			canary_gates_names(names, sizeof(names), ctx->gates);
			(void)canary_prom_addr_parse(&addr, analysis->prometheus, err, sizeof(err));
			kube_log(KUBE_LOG_DECISION, "metric gates from Prometheus %s: %s", addr.display, names);
			if (ctx->dry_run)
				canary_plan(ctx, "check the gates %s (Prometheus %s) at every rung", names,
				            addr.display);
		}
		canary_kill_point("start-after-intent");
	}
	canary_split split;
	ctx->router->split(ctx, total, ctx->state.ladder.steps[0], &split);
	if (!(canary_object = canary_build_canary(ctx, tpl, split.canary))) {
		rc = cli_error_nomem();
		goto done;
	}
	if (ctx->router->prepare && (rc = ctx->router->prepare(ctx)))
		goto done;
	if ((rc = canary_step_create(ctx, canary_object)))
		goto done;
	if (ctx->dry_run) {
		canary_plan(ctx,
		            "wait for %d canary pod(s) Ready, then scale deployment/%s to %d (%d%%, reached %.0f%%)",
		            split.canary, ctx->name, split.stable, split.weight, split.weight_reached);
		rc = canary_print_plan(ctx);
		goto done;
	}
	if ((rc = canary_pods_open(&pods, ctx)))
		goto done;
	if (blue_green) {
		/* Green comes up at full size beside blue; the Services stay on
		 * blue until promote. */
		char reason[512];
		rc = canary_pods_wait_ready(pods, total, canary_progress_deadline_s(ctx->deploy) * 1000, reason,
		                            sizeof(reason));
		if (rc == CLI_EXIT_FAIL)
			snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", reason);
		if (!rc) {
			ctx->state.phase = CANARY_PHASE_PAUSED;
			ctx->state.intent.active = 0;
			ctx->state.step_started_ms = kube_client_server_now_ms(ctx->client);
			rc = canary_commit(ctx, json_object(), "commit: green is Ready, traffic on blue");
		}
	} else {
		rc = canary_step_weight(ctx, pods, 0, ctx->state.ladder.steps[0]);
	}
	if (rc == CLI_EXIT_FAIL) {
		cli_error("deployment/%s: the canary did not come up: %s", ctx->canary_name, ctx->state.reason);
		cli_hint("see 'kubectl canary status %s'; remove it with 'kubectl canary abort %s'", ctx->name,
		         ctx->name);
		goto done;
	}
	if (rc)
		goto done;
	canary_record_event(ctx, "Normal", "CanaryStarted", "canary run %s started by %s: %s; %d%% (%d/%d pods)",
	                    ctx->state.run_id, ctx->user.username, ctx->state.change, ctx->state.weight, split.canary,
	                    split.canary + split.stable);
done:
	canary_pods_free(pods);
	json_decref(canary_object);
	json_decref(tpl);
	free(analysis);
	return rc;
}

static int run_start(const cli_args *args)
{
	canary_ctx ctx;
	int rc = canary_ctx_open(&ctx, args);
	if (!rc && !(rc = canary_start(&ctx)) && !ctx.dry_run && ctx.state.strategy == CANARY_STRATEGY_BLUE_GREEN) {
		printf("deployment/%s: blue-green run %s started: %s is Ready with %d pods on revision %s; the "
		       "Services stay on blue until promote\n",
		       ctx.name, ctx.state.run_id, ctx.canary_name, ctx.state.original_replicas, ctx.state.revision);
	} else if (!rc && !ctx.dry_run) {
		canary_split split;
		ctx.router->split(&ctx, ctx.state.original_replicas, ctx.state.weight, &split);
		if (strcmp(ctx.state.router, "replicas") != 0)
			printf("deployment/%s: canary run %s started: %s (%d pods on revision %s) gets %d%% of the "
			       "traffic through the %s router\n",
			       ctx.name, ctx.state.run_id, ctx.canary_name, split.canary, ctx.state.revision,
			       ctx.state.weight, ctx.state.router);
		else
			printf("deployment/%s: canary run %s started: %s at %d%% (%d of %d pods on revision %s)\n",
			       ctx.name, ctx.state.run_id, ctx.canary_name, ctx.state.weight, split.canary,
			       split.canary + split.stable, ctx.state.revision);
	}
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_start_command = {
        .name = "start",
        .usage = "start DEPLOYMENT (--image [CONTAINER=]IMAGE | --set-env NAME=VALUE | --patch FILE) [--steps "
                 "5,25,50,100] [--pause 10m] [--analysis FILE | --prometheus ADDR]",
        .summary = "Start a canary run: create DEPLOYMENT-canary with the new template at the first weight",
        .description =
                "Create DEPLOYMENT-canary, a copy of DEPLOYMENT with the new pod template, and move it to the\n"
                "first weight of the ladder: canary pods are added and Ready before stable pods are removed, so\n"
                "Ready pods never drop below the original replica count. The run's state is kept on the\n"
                "Deployment (annotation rollguard.io/canary); any machine can continue it with promote, abort\n"
                "or run. With --analysis or --prometheus the run also has metric gates (error rate and P99\n"
                "latency per track, custom PromQL), kept on the Deployment (rollguard.io/canary-analysis).\n"
                "\n"
                "Exit codes: 0 started; 1 the canary pods failed to come up (nothing is removed: see status,\n"
                "then abort); 2 usage error (bad --steps/--pause, unknown container, a bad analysis file);\n"
                "4 API error (not found, forbidden); 5 refused (a run in progress, a DEPLOYMENT-canary\n"
                "rollguard did not create); 6 another rollguard process holds the lock.",
        .examples = "  # Start a canary of a new image on the default ladder\n"
                    "  kubectl canary start web --image nginx:1.27\n"
                    "\n"
                    "  # Name the container, choose the ladder and the pauses\n"
                    "  kubectl canary start web --image app=registry/web:2.0 --steps 10,50,100 --pause 5m,inf\n"
                    "\n"
                    "  # Show the plan only\n"
                    "  kubectl canary start web --image nginx:1.27 --dry-run",
        .flags = canary_start_flags,
        .min_args = 1,
        .max_args = 1,
        .run = run_start,
        .complete = canary_complete,
};
