/* Pinning D's Services to D's current pods by pod-template-hash, pointing
 * them at the new pods and back, and restoring their original selectors:
 * shared by the blue-green router and the traffic routers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>

#include "lock.h"
#include "service_pin.h"
#include "template.h"

const kube_resource canary_res_services = {"", "v1", "services", "Service", 1};
static const kube_resource replicasets = {"apps", "v1", "replicasets", "ReplicaSet", 1};

static const char *annotation(const json_t *object, const char *key)
{
	return json_string_value(
	        json_object_get(json_object_get(json_object_get(object, "metadata"), "annotations"), key));
}

static const char *object_name(const json_t *object)
{
	const char *name = json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
	return name ? name : "";
}

int canary_selects_d(const canary_ctx *ctx, const json_t *selector)
{
	json_t *labels = json_object_get(
	        json_object_get(json_object_get(json_object_get(ctx->deploy, "spec"), "template"), "metadata"),
	        "labels");
	const char *key;
	json_t *value;
	if (!json_is_object(selector) || json_object_size(selector) == 0)
		return 0;
	json_object_foreach((json_t *)selector, key, value)
	{
		const char *want = json_string_value(value);
		const char *have = json_string_value(json_object_get(labels, key));
		if (!want || !have || strcmp(want, have) != 0)
			return 0;
	}
	return 1;
}

int canary_services_find(canary_ctx *ctx, json_t **out, int pinned_only)
{
	json_t *list = NULL, *found = json_array();
	int rc = found ? kube_client_list(ctx->client, &list, &canary_res_services, ctx->ns, NULL) : KUBE_ENOMEM;
	*out = NULL;
	if (rc) {
		json_decref(found);
		return rc == KUBE_ENOMEM ? cli_error_nomem() : cli_error_kube("listing Services", rc);
	}
	size_t i;
	json_t *svc;
	json_array_foreach(json_object_get(list, "items"), i, svc)
	{
		const char *of = annotation(svc, CANARY_ANNOTATION_SELECTOR_OF);
		int ours = of && strcmp(of, ctx->name) == 0;
		if ((ours || (!pinned_only &&
		              canary_selects_d(ctx, json_object_get(json_object_get(svc, "spec"), "selector")))) &&
		    json_array_append(found, svc)) {
			json_decref(list);
			json_decref(found);
			return cli_error_nomem();
		}
	}
	json_decref(list);
	*out = found;
	return 0;
}

/* Sets svc's selector to want (a merge patch: new keys set, dropped keys
 * null), with extra annotations (may be NULL), conditional on the
 * Service's resourceVersion. Nothing is sent when the selector is already
 * want and there are no annotations to write. */
static int set_selector(canary_ctx *ctx, const json_t *svc, const json_t *want, json_t *annotations, const char *why)
{
	json_t *current = json_object_get(json_object_get(svc, "spec"), "selector");
	if (!annotations && json_equal(current, (json_t *)want))
		return 0;
	json_t *selector = json_deep_copy(want);
	const char *key;
	json_t *value;
	if (!selector)
		return cli_error_nomem();
	json_object_foreach(current, key, value)
	{
		if (!json_object_get(want, key) && json_object_set_new(selector, key, json_null())) {
			json_decref(selector);
			return cli_error_nomem();
		}
	}
	json_t *patch = json_pack("{s:{s:o}, s:{s:s}}", "spec", "selector", selector, "metadata", "resourceVersion",
	                          canary_object_rv(svc));
	if (!patch)
		return cli_error_nomem();
	if (annotations && json_object_set(json_object_get(patch, "metadata"), "annotations", annotations)) {
		json_decref(patch);
		return cli_error_nomem();
	}
	int rc = 0;
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "%s service/%s", why, object_name(svc));
	} else {
		kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
		opts.field_manager = CANARY_FIELD_MANAGER;
		opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
		json_t *reply = NULL;
		kube_log(KUBE_LOG_DECISION, "service/%s: %s", object_name(svc), why);
		rc = kube_client_patch(ctx->client, &reply, &canary_res_services, ctx->ns, object_name(svc),
		                       KUBE_PATCH_MERGE, patch, &opts);
		json_decref(reply);
		if (rc == KUBE_ECONFLICT) {
			cli_error("service/%s changed while rollguard was switching it; run the command again",
			          object_name(svc));
			rc = CLI_EXIT_CONFLICT;
		} else if (rc) {
			char what[320];
			snprintf(what, sizeof(what), "service/%s", object_name(svc));
			rc = cli_error_kube(what, rc);
		} else if (ctx->dry_run) {
			canary_plan(ctx, "%s service/%s", why, object_name(svc));
		}
	}
	json_decref(patch);
	return rc;
}

json_t *canary_service_original_selector(const json_t *svc)
{
	const char *text = annotation(svc, CANARY_ANNOTATION_ORIGINAL_SELECTOR);
	json_t *sel = text ? json_loads(text, 0, NULL) : NULL;
	if (sel && !json_is_object(sel)) {
		json_decref(sel);
		sel = NULL;
	}
	return sel;
}

int canary_services_stable_hash(canary_ctx *ctx, char *out, size_t size)
{
	json_t *list = NULL;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	kube_buf selector = {0};
	const char *key;
	json_t *value;
	/* only D's ReplicaSets: its selector's matchLabels */
	json_object_foreach(
	        json_object_get(json_object_get(json_object_get(ctx->deploy, "spec"), "selector"), "matchLabels"), key,
	        value)
	{
		if (kube_buf_printf(&selector, "%s%s=%s", selector.len ? "," : "", key,
		                    json_is_string(value) ? json_string_value(value) : "")) {
			kube_buf_dispose(&selector);
			return cli_error_nomem();
		}
	}
	opts.label_selector = selector.len ? kube_buf_cstr(&selector) : NULL;
	int rc = kube_client_list(ctx->client, &list, &replicasets, ctx->ns, &opts);
	kube_buf_dispose(&selector);
	if (rc)
		return cli_error_kube("listing ReplicaSets", rc);
	const char *uid = canary_object_uid(ctx->deploy);
	const char *want = annotation(ctx->deploy, "deployment.kubernetes.io/revision");
	size_t i;
	json_t *rs;
	out[0] = '\0';
	json_array_foreach(json_object_get(list, "items"), i, rs)
	{
		json_t *refs = json_object_get(json_object_get(rs, "metadata"), "ownerReferences");
		const char *owner = json_string_value(json_object_get(json_array_get(refs, 0), "uid"));
		const char *revision = annotation(rs, "deployment.kubernetes.io/revision");
		const char *hash = json_string_value(json_object_get(
		        json_object_get(json_object_get(rs, "metadata"), "labels"), "pod-template-hash"));
		if (owner && hash && !strcmp(owner, uid) && want && revision && !strcmp(want, revision))
			snprintf(out, size, "%s", hash);
	}
	json_decref(list);
	if (!out[0]) {
		cli_error("deployment/%s: its current ReplicaSet was not found (is a rollout in progress?)", ctx->name);
		cli_hint("wait for 'kubectl rollout status deployment/%s', then start again", ctx->name);
		return CLI_EXIT_REFUSED;
	}
	return 0;
}

int canary_services_pin(canary_ctx *ctx, const char *hash, size_t *out_count)
{
	json_t *found = NULL;
	if (!hash || !hash[0]) {
		/* a selector with an empty pod-template-hash selects nothing */
		cli_error("deployment/%s: no pod-template-hash to pin its Services to", ctx->name);
		return CLI_EXIT_FAIL;
	}
	int rc = canary_services_find(ctx, &found, 0);
	if (rc)
		return rc;
	if (out_count)
		*out_count = json_array_size(found);
	size_t i;
	json_t *svc;
	json_array_foreach(found, i, svc)
	{
		if (annotation(svc, CANARY_ANNOTATION_SELECTOR_OF))
			continue; /* pinned by an earlier, interrupted start */
		json_t *sel = json_deep_copy(json_object_get(json_object_get(svc, "spec"), "selector"));
		char *saved = sel ? json_dumps(sel, JSON_COMPACT) : NULL;
		json_t *annotations = saved ? json_pack("{s:s, s:s}", CANARY_ANNOTATION_SELECTOR_OF, ctx->name,
		                                        CANARY_ANNOTATION_ORIGINAL_SELECTOR, saved)
		                            : NULL;
		rc = (!annotations || json_object_set_new(sel, "pod-template-hash", json_string(hash)))
		             ? cli_error_nomem()
		             : set_selector(ctx, svc, sel, annotations,
		                            ctx->state.strategy == CANARY_STRATEGY_BLUE_GREEN ? "pin to blue"
		                                                                              : "pin to stable");
		json_decref(annotations);
		free(saved);
		json_decref(sel);
		if (rc)
			break;
	}
	json_decref(found);
	if (!rc)
		canary_kill_point("start-after-pin");
	return rc;
}

/* The pod-template-hash a pinned Service goes back to, into
 * ctx->state.blue_hash when it is empty there (a run whose start was
 * interrupted before it recorded one): the hash svc is pinned to now, else
 * that of D's current ReplicaSet (D carries the stable template whenever
 * the Services are pointed back). Never "": an empty hash would select no
 * pods. Returns 0 or the exit code (printed). */
static int take_blue_hash(canary_ctx *ctx, const json_t *svc)
{
	if (ctx->state.blue_hash[0])
		return 0;
	const char *pinned = json_string_value(
	        json_object_get(json_object_get(json_object_get(svc, "spec"), "selector"), "pod-template-hash"));
	if (pinned && pinned[0]) {
		snprintf(ctx->state.blue_hash, sizeof(ctx->state.blue_hash), "%s", pinned);
		return 0;
	}
	return canary_services_stable_hash(ctx, ctx->state.blue_hash, sizeof(ctx->state.blue_hash));
}

int canary_services_point(canary_ctx *ctx, int to_new)
{
	json_t *found = NULL;
	int rc = canary_services_find(ctx, &found, 1);
	int blue_green = ctx->state.strategy == CANARY_STRATEGY_BLUE_GREEN;
	size_t i;
	json_t *svc;
	json_array_foreach(found, i, svc)
	{
		if (!to_new && (rc = take_blue_hash(ctx, svc)))
			break;
		json_t *sel = canary_service_original_selector(svc);
		if (!sel) {
			cli_error("service/%s: annotation %s is not a selector", object_name(svc),
			          CANARY_ANNOTATION_ORIGINAL_SELECTOR);
			rc = CLI_EXIT_FAIL;
			break;
		}
		int bad =
		        to_new ? json_object_set_new(sel, CANARY_LABEL_TRACK, json_string(canary_track(&ctx->state))) ||
		                         json_object_set_new(sel, CANARY_LABEL_REVISION,
		                                             json_string(ctx->state.revision))
		               : json_object_set_new(sel, "pod-template-hash", json_string(ctx->state.blue_hash));
		const char *why = blue_green ? (to_new ? "switch to green" : "switch back to blue")
		                             : (to_new ? "switch to the canary" : "switch back to stable");
		rc = bad ? cli_error_nomem() : set_selector(ctx, svc, sel, NULL, why);
		json_decref(sel);
		if (rc)
			break;
	}
	json_decref(found);
	return rc;
}

int canary_services_unpin(canary_ctx *ctx)
{
	json_t *found = NULL;
	int rc = canary_services_find(ctx, &found, 1);
	size_t i;
	json_t *svc;
	json_array_foreach(found, i, svc)
	{
		json_t *sel = canary_service_original_selector(svc);
		json_t *annotations =
		        json_pack("{s:n, s:n}", CANARY_ANNOTATION_SELECTOR_OF, CANARY_ANNOTATION_ORIGINAL_SELECTOR);
		rc = (!sel || !annotations)
		             ? CLI_EXIT_FAIL
		             : set_selector(ctx, svc, sel, annotations, "restore the original selector of");
		if (!sel)
			cli_error("service/%s: annotation %s is not a selector", object_name(svc),
			          CANARY_ANNOTATION_ORIGINAL_SELECTOR);
		json_decref(sel);
		json_decref(annotations);
		if (rc)
			break;
	}
	json_decref(found);
	return rc;
}
