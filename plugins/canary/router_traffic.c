/* The steps every traffic router shares (router_traffic.h); choosing
 * a run's router is router_choose.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/clock.h>
#include <kube/discovery.h>
#include <kube/error.h>
#include <kube/log.h>

#include "lock.h"
#include "router_json.h"
#include "router_traffic.h"
#include "service_pin.h"
#include "template.h"

#define CANARY_SUFFIX  "-canary"
/* canary_route_settle keeps the lock alive at least this often */
#define SETTLE_TICK_MS 1000

static json_t *meta(const json_t *object)
{
	return json_object_get(object, "metadata");
}

static const char *name_of(const json_t *object)
{
	const char *name = json_string_value(json_object_get(meta(object), "name"));
	return name ? name : "";
}

static const char *annotation(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(json_object_get(meta(object), "annotations"), key));
}

/* "httproute/web" for messages. */
void canary_traffic_ref(char *buf, size_t size, const char *kind, const char *name)
{
	size_t i = 0;
	for (; kind[i] && i + 1 < size; i++)
		buf[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a' : kind[i]);
	snprintf(buf + i, size - i, "/%s", name);
}

/* 1 when rollguard created object for D: the managed-by label and an
 * ownerReference to D's uid. */
int canary_traffic_ours(const canary_ctx *ctx, const json_t *object)
{
	const char *managed =
	        json_string_value(json_object_get(json_object_get(meta(object), "labels"), CANARY_LABEL_MANAGED_BY));
	size_t i;
	json_t *ref;
	if (!managed || strcmp(managed, CANARY_MANAGED_BY) != 0)
		return 0;
	json_array_foreach(json_object_get(meta(object), "ownerReferences"), i, ref)
	{
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		if (uid && !strcmp(uid, canary_object_uid(ctx->deploy)))
			return 1;
	}
	return 0;
}

/* The labels, annotation and ownerReference of an object rollguard
 * creates for D, into object's metadata (created when missing). */
static int mark_ours(const canary_ctx *ctx, json_t *object)
{
	json_t *m =
	        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "name",
	                  name_of(object), "namespace", ctx->ns, "labels", CANARY_LABEL_MANAGED_BY, CANARY_MANAGED_BY,
	                  CANARY_LABEL_TRACK, "canary", "annotations", CANARY_ANNOTATION_OF, ctx->name,
	                  "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name", ctx->name, "uid",
	                  canary_object_uid(ctx->deploy), "controller", 0, "blockOwnerDeletion", 0);
	return !m || json_object_set_new(object, "metadata", m) ? KUBE_ENOMEM : 0;
}

/* The routing object type as served (discovery; refresh forgets a cached
 * copy first). KUBE_ENOTFOUND: not served. */
int canary_traffic_resolve(canary_ctx *ctx, const canary_traffic_kind *kind, kube_resource *out, int refresh)
{
	if (kind->builtin) {
		*out = *kind->builtin;
		return 0;
	}
	if (refresh)
		(void)kube_discovery_invalidate(ctx->client);
	return kube_discovery_resolve(ctx->client, out, kind->type);
}

/* GETs the object of kind named name into *out (NULL when it, or its
 * type, is absent) and its type into res. Returns 0 or the exit code
 * (printed). */
static int get_object(canary_ctx *ctx, const canary_traffic_kind *kind, const char *name, kube_resource *res,
                      json_t **out)
{
	char ref[320];
	*out = NULL;
	int rc = canary_traffic_resolve(ctx, kind, res, 0);
	if (!rc)
		rc = kube_client_get(ctx->client, out, res, ctx->ns, name, NULL);
	if (rc == KUBE_ENOTFOUND) {
		json_decref(*out);
		*out = NULL;
		return 0;
	}
	if (rc) {
		canary_traffic_ref(ref, sizeof(ref), kind->kind, name);
		return cli_error_kube(ref, rc);
	}
	return 0;
}

/* Sends a merge patch (owned by the caller) to the object, conditional on
 * the resourceVersion the patch carries; a dry run plans it. */
static int patch_object(canary_ctx *ctx, const kube_resource *res, const char *kind, const char *name, json_t *patch,
                        const char *why)
{
	char ref[320];
	canary_traffic_ref(ref, sizeof(ref), kind, name);
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "%s %s", why, ref);
		return 0;
	}
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	opts.field_manager = CANARY_FIELD_MANAGER;
	opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
	json_t *reply = NULL;
	kube_log(KUBE_LOG_DECISION, "%s: %s", ref, why);
	int rc = kube_client_patch(ctx->client, &reply, res, ctx->ns, name, KUBE_PATCH_MERGE, patch, &opts);
	json_decref(reply);
	if (rc == KUBE_ECONFLICT) {
		cli_error("%s changed while rollguard was changing it; run the command again", ref);
		return CLI_EXIT_CONFLICT;
	}
	if (rc)
		return cli_error_kube(ref, rc);
	if (ctx->dry_run)
		canary_plan(ctx, "%s %s", why, ref);
	return 0;
}

static int create_object(canary_ctx *ctx, const kube_resource *res, const char *kind, const json_t *object,
                         const char *why)
{
	char ref[320];
	canary_traffic_ref(ref, sizeof(ref), kind, name_of(object));
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "create %s %s", ref, why);
		return 0;
	}
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	opts.field_manager = CANARY_FIELD_MANAGER;
	opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
	json_t *reply = NULL;
	kube_log(KUBE_LOG_DECISION, "create %s %s", ref, why);
	int rc = kube_client_create(ctx->client, &reply, res, ctx->ns, object, &opts);
	json_decref(reply);
	if (rc == KUBE_ECONFLICT) {
		cli_error("%s was created by someone else meanwhile; run the command again", ref);
		return CLI_EXIT_CONFLICT;
	}
	if (rc) {
		char what[340];
		snprintf(what, sizeof(what), "creating %s", ref);
		return cli_error_kube(what, rc);
	}
	if (ctx->dry_run)
		canary_plan(ctx, "create %s %s", ref, why);
	return 0;
}

/* Deletes object (as read) if rollguard created it for D, conditional on
 * its resourceVersion; gone already counts as done. */
static int delete_ours(canary_ctx *ctx, const kube_resource *res, const char *kind, const json_t *object)
{
	char ref[320];
	if (!object)
		return 0;
	canary_traffic_ref(ref, sizeof(ref), kind, name_of(object));
	if (!canary_traffic_ours(ctx, object)) {
		cli_warning("%s was not created by rollguard for deployment/%s: left alone", ref, ctx->name);
		return 0;
	}
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "delete %s", ref);
		return 0;
	}
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	opts.precondition_resource_version = canary_object_rv(object);
	opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
	kube_log(KUBE_LOG_DECISION, "delete %s", ref);
	int rc = kube_client_delete(ctx->client, NULL, res, ctx->ns, name_of(object), &opts);
	if (rc == KUBE_ECONFLICT) {
		cli_error("%s changed while rollguard was deleting it; run the command again", ref);
		return CLI_EXIT_CONFLICT;
	}
	if (rc && rc != KUBE_ENOTFOUND) {
		char what[340];
		snprintf(what, sizeof(what), "deleting %s", ref);
		return cli_error_kube(what, rc);
	}
	if (ctx->dry_run)
		canary_plan(ctx, "delete %s", ref);
	return 0;
}

/* --- the canary Service --------------------------------------------------- */

static void canary_service_name(char *buf, size_t size, const char *service)
{
	snprintf(buf, size, "%s%s", service, CANARY_SUFFIX);
}

/* <service>-canary for the canary pods (owned): the stable Service's
 * original selector with the run's track and revision, its ports. */
static json_t *build_canary_service(const canary_ctx *ctx, const json_t *stable)
{
	char name[300];
	json_t *pinned = canary_service_original_selector(stable);
	const char *of = annotation(stable, CANARY_ANNOTATION_SELECTOR_OF);
	json_t *selector = pinned && of && !strcmp(of, ctx->name)
	                           ? json_incref(pinned)
	                           : json_deep_copy(json_object_get(json_object_get(stable, "spec"), "selector"));
	json_decref(pinned);
	json_t *ports = json_array();
	json_t *object = json_pack("{s:s, s:s, s:{s:s}, s:{}}", "apiVersion", "v1", "kind", "Service", "metadata",
	                           "name", "", "spec");
	json_t *spec = json_object_get(object, "spec");
	size_t i;
	json_t *port;
	canary_service_name(name, sizeof(name), name_of(stable));
	if (!selector || !ports || !object ||
	    json_object_set_new(json_object_get(object, "metadata"), "name", json_string(name)) ||
	    mark_ours(ctx, object) ||
	    json_object_set_new(selector, CANARY_LABEL_TRACK, json_string(canary_track(&ctx->state))) ||
	    json_object_set_new(selector, CANARY_LABEL_REVISION, json_string(ctx->state.revision)))
		goto fail;
	json_array_foreach(json_object_get(json_object_get(stable, "spec"), "ports"), i, port)
	{
		static const char *const copied[] = {"name", "protocol", "port", "targetPort", "appProtocol", NULL};
		json_t *copy = json_object();
		if (!copy || json_array_append_new(ports, copy))
			goto fail;
		for (int k = 0; copied[k]; k++) {
			json_t *value = json_object_get(port, copied[k]);
			if (value && json_object_set(copy, copied[k], value))
				goto fail;
		}
	}
	const char *cluster_ip = json_string_value(json_object_get(json_object_get(stable, "spec"), "clusterIP"));
	if (cluster_ip && !strcmp(cluster_ip, "None") && json_object_set_new(spec, "clusterIP", json_string("None")))
		goto fail;
	if (json_object_set(spec, "selector", selector) || json_object_set(spec, "ports", ports))
		goto fail;
	json_decref(selector);
	json_decref(ports);
	return object;
fail:
	json_decref(selector);
	json_decref(ports);
	json_decref(object);
	return NULL;
}

/* Creates <service>-canary, or brings one rollguard created earlier for
 * D (an interrupted start, a run that did not clean up) to this run's
 * selector. */
static int ensure_canary_service(canary_ctx *ctx)
{
	json_t *stable = NULL, *existing = NULL, *want = NULL;
	char name[300];
	int rc = kube_client_get(ctx->client, &stable, &canary_res_services, ctx->ns, ctx->state.service, NULL);
	if (rc == KUBE_ENOTFOUND) {
		cli_error("service/%s is gone: the run has no Service to route through", ctx->state.service);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	if (rc) {
		rc = cli_error_kube(NULL, rc);
		goto done;
	}
	canary_service_name(name, sizeof(name), ctx->state.service);
	if (!(want = build_canary_service(ctx, stable))) {
		rc = cli_error_nomem();
		goto done;
	}
	rc = kube_client_get(ctx->client, &existing, &canary_res_services, ctx->ns, name, NULL);
	if (rc == KUBE_ENOTFOUND) {
		rc = create_object(ctx, &canary_res_services, "Service", want, "for the canary pods");
		goto done;
	}
	if (rc) {
		rc = cli_error_kube(NULL, rc);
		goto done;
	}
	if (!canary_traffic_ours(ctx, existing)) {
		cli_error("service/%s exists and was not created by rollguard for deployment/%s: refusing to touch it",
		          name, ctx->name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	json_t *selector = json_object_get(json_object_get(want, "spec"), "selector");
	json_t *have = json_object_get(json_object_get(existing, "spec"), "selector");
	if (!json_equal(selector, have)) {
		json_t *patch = json_pack("{s:{s:o}, s:{s:s}}", "spec", "selector", canary_merge_patch(have, selector),
		                          "metadata", "resourceVersion", canary_object_rv(existing));
		rc = patch ? patch_object(ctx, &canary_res_services, "Service", name, patch,
		                          "select this run's canary pods with")
		           : cli_error_nomem();
		json_decref(patch);
	}
done:
	json_decref(stable);
	json_decref(existing);
	json_decref(want);
	return rc;
}

static int delete_canary_service(canary_ctx *ctx)
{
	json_t *existing = NULL;
	char name[300];
	canary_service_name(name, sizeof(name), ctx->state.service);
	int rc = kube_client_get(ctx->client, &existing, &canary_res_services, ctx->ns, name, NULL);
	if (rc == KUBE_ENOTFOUND)
		return 0;
	if (rc)
		return cli_error_kube(NULL, rc);
	rc = delete_ours(ctx, &canary_res_services, "Service", existing);
	json_decref(existing);
	return rc;
}

/* --- the routing object --------------------------------------------------- */

/* The spec saved on object (owned), or NULL with an error printed. */
static json_t *saved_spec(const canary_traffic_kind *kind, const json_t *object)
{
	const char *text = annotation(object, CANARY_ANNOTATION_ORIGINAL);
	json_t *spec = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(spec)) {
		char ref[320];
		json_decref(spec);
		canary_traffic_ref(ref, sizeof(ref), kind->kind, name_of(object));
		cli_error("%s: annotation %s does not hold its saved spec", ref, CANARY_ANNOTATION_ORIGINAL);
		cli_hint("put its spec back by hand and remove the annotations %s and %s", CANARY_ANNOTATION_ORIGINAL,
		         CANARY_ANNOTATION_ROUTED_BY);
		return NULL;
	}
	return spec;
}

/* Saves the routing object's spec on it (once), or creates the object a
 * router creates for the run. */
static int save_original(canary_ctx *ctx, const canary_traffic_kind *kind)
{
	kube_resource res;
	json_t *object = NULL;
	char ref[320];
	int rc = get_object(ctx, kind, ctx->state.route, &res, &object);
	canary_traffic_ref(ref, sizeof(ref), kind->kind, ctx->state.route);
	if (rc)
		return rc;
	if (!object && kind->creates) {
		if ((rc = canary_traffic_resolve(ctx, kind, &res, 0)))
			return cli_error_kube(ref, rc);
		json_t *spec = kind->created_spec(ctx->state.service);
		char *text = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
		char api_version[330];
		snprintf(api_version, sizeof(api_version), "%s/%s", res.group, res.version);
		json_t *created = text ? json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", api_version, "kind",
		                                   kind->kind, "metadata", "name", ctx->state.route, "spec", spec)
		                       : NULL;
		rc = !created || mark_ours(ctx, created) ||
		                     json_object_set_new(json_object_get(meta(created), "annotations"),
		                                         CANARY_ANNOTATION_ORIGINAL, json_string(text)) ||
		                     json_object_set_new(json_object_get(meta(created), "annotations"),
		                                         CANARY_ANNOTATION_ROUTED_BY, json_string(ctx->name))
		             ? cli_error_nomem()
		             : create_object(ctx, &res, kind->kind, created, "to split the traffic of the run");
		free(text);
		json_decref(spec);
		json_decref(created);
		return rc;
	}
	if (!object) {
		cli_error("%s is gone: the run has nothing to route through", ref);
		return CLI_EXIT_REFUSED;
	}
	const char *by = annotation(object, CANARY_ANNOTATION_ROUTED_BY);
	if (by && !strcmp(by, ctx->name)) {
		json_decref(object);
		return 0; /* saved by an earlier, interrupted start */
	}
	if (by) {
		cli_error("%s is routed by the canary run of deployment/%s", ref, by);
		cli_hint("end that run first, or use --router replicas");
		json_decref(object);
		return CLI_EXIT_REFUSED;
	}
	char *text = json_dumps(json_object_get(object, "spec"), JSON_COMPACT);
	json_t *patch = text ? json_pack("{s:{s:s, s:{s:s, s:s}}}", "metadata", "resourceVersion",
	                                 canary_object_rv(object), "annotations", CANARY_ANNOTATION_ORIGINAL, text,
	                                 CANARY_ANNOTATION_ROUTED_BY, ctx->name)
	                     : NULL;
	rc = patch ? patch_object(ctx, &res, kind->kind, ctx->state.route, patch, "save the spec of")
	           : cli_error_nomem();
	free(text);
	json_decref(patch);
	json_decref(object);
	return rc;
}

/* nginx: the copy of the Ingress at weight, created or updated. */
static int route_copy(canary_ctx *ctx, const canary_traffic_kind *kind, int weight)
{
	kube_resource res;
	json_t *ingress = NULL, *copy = NULL, *want = NULL, *have = NULL, *patch = NULL;
	char name[300], canary_service[300], ref[320];
	int rc = get_object(ctx, kind, ctx->state.route, &res, &ingress);
	canary_traffic_ref(ref, sizeof(ref), kind->kind, ctx->state.route);
	if (rc)
		return rc;
	if (!ingress) {
		cli_error("%s is gone: the canary gets no traffic", ref);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		return CLI_EXIT_FAIL;
	}
	canary_service_name(canary_service, sizeof(canary_service), ctx->state.service);
	snprintf(name, sizeof(name), "%s%s", ctx->state.route, CANARY_SUFFIX);
	want = canary_ingress_copy(ingress, ctx->state.service, canary_service, weight, ctx->name,
	                           canary_object_uid(ctx->deploy));
	if (!want) {
		cli_error("%s no longer sends to service/%s", ref, ctx->state.service);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	char why[64];
	snprintf(why, sizeof(why), "with canary-weight %d", weight);
	if ((rc = get_object(ctx, kind, name, &res, &copy)))
		goto done;
	if (!copy) {
		rc = create_object(ctx, &res, kind->kind, want, why);
		goto done;
	}
	if (!canary_traffic_ours(ctx, copy)) {
		canary_traffic_ref(ref, sizeof(ref), kind->kind, name);
		cli_error("%s exists and was not created by rollguard for deployment/%s: refusing to touch it", ref,
		          ctx->name);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	/* what rollguard sets: labels, annotations and the spec */
	have = json_pack("{s:{s:O, s:O}, s:O}", "metadata", "labels", json_object_get(meta(copy), "labels"),
	                 "annotations", json_object_get(meta(copy), "annotations"), "spec",
	                 json_object_get(copy, "spec"));
	json_t *wanted = json_pack("{s:{s:O, s:O}, s:O}", "metadata", "labels", json_object_get(meta(want), "labels"),
	                           "annotations", json_object_get(meta(want), "annotations"), "spec",
	                           json_object_get(want, "spec"));
	patch = have && wanted ? canary_merge_patch(have, wanted) : NULL;
	json_decref(wanted);
	if (!patch) {
		rc = cli_error_nomem();
		goto done;
	}
	if (json_object_size(patch) == 0)
		goto done;
	json_t *patch_meta = json_object_get(patch, "metadata");
	if (!patch_meta && (json_object_set_new(patch, "metadata", patch_meta = json_object()) || !patch_meta)) {
		rc = cli_error_nomem();
		goto done;
	}
	if (json_object_set_new(patch_meta, "resourceVersion", json_string(canary_object_rv(copy)))) {
		rc = cli_error_nomem();
		goto done;
	}
	snprintf(why, sizeof(why), "set canary-weight %d on", weight);
	rc = patch_object(ctx, &res, kind->kind, name, patch, why);
done:
	json_decref(ingress);
	json_decref(copy);
	json_decref(want);
	json_decref(have);
	json_decref(patch);
	return rc;
}

/* The routing object's weights at weight, computed from its saved spec. */
static int route_object(canary_ctx *ctx, const canary_traffic_kind *kind, int weight)
{
	kube_resource res;
	json_t *object = NULL, *original = NULL, *want = NULL, *diff = NULL;
	char canary_service[300], ref[320], err[256];
	int rc = get_object(ctx, kind, ctx->state.route, &res, &object);
	canary_traffic_ref(ref, sizeof(ref), kind->kind, ctx->state.route);
	if (rc)
		return rc;
	if (!object) {
		cli_error("%s is gone: the canary gets no traffic", ref);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		return CLI_EXIT_FAIL;
	}
	if (!(original = saved_spec(kind, object))) {
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	canary_service_name(canary_service, sizeof(canary_service), ctx->state.service);
	if (kind->weighted(&want, original, ctx->ns, ctx->state.service, canary_service, weight, err, sizeof(err))) {
		cli_error("%s: %s", ref, err);
		cli_hint("abort the run with 'kubectl canary abort %s'", ctx->name);
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	if (!(diff = canary_merge_patch(json_object_get(object, "spec"), want))) {
		rc = cli_error_nomem();
		goto done;
	}
	if (json_object_size(diff) == 0)
		goto done; /* already there */
	json_t *patch =
	        json_pack("{s:O, s:{s:s}}", "spec", diff, "metadata", "resourceVersion", canary_object_rv(object));
	char why[64];
	snprintf(why, sizeof(why), "move %d%% to the canary in", weight);
	rc = patch ? patch_object(ctx, &res, kind->kind, ctx->state.route, patch, why) : cli_error_nomem();
	json_decref(patch);
done:
	json_decref(object);
	json_decref(original);
	json_decref(want);
	json_decref(diff);
	return rc;
}

/* The routing object back to its saved spec, our annotations removed; a
 * copy or an object created for the run deleted. *moved (may be NULL) is
 * set when something was written: traffic is moving off the canary. */
static int restore_route(canary_ctx *ctx, const canary_traffic_kind *kind, int *moved)
{
	kube_resource res;
	json_t *object = NULL, *original = NULL, *diff = NULL;
	char name[300];
	int rc, ignored;
	if (!moved)
		moved = &ignored;
	*moved = 0;
	if (!kind->weighted) {
		snprintf(name, sizeof(name), "%s%s", ctx->state.route, CANARY_SUFFIX);
		if (!(rc = get_object(ctx, kind, name, &res, &object)))
			rc = delete_ours(ctx, &res, kind->kind, object);
		*moved = !rc && object;
		json_decref(object);
		return rc;
	}
	if ((rc = get_object(ctx, kind, ctx->state.route, &res, &object)) || !object)
		return rc;
	const char *by = annotation(object, CANARY_ANNOTATION_ROUTED_BY);
	if (canary_traffic_ours(ctx, object)) {
		rc = delete_ours(ctx, &res, kind->kind, object);
		*moved = !rc;
		goto done;
	}
	if (!by || strcmp(by, ctx->name) != 0)
		goto done; /* restored already */
	if (!(original = saved_spec(kind, object))) {
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	diff = canary_merge_patch(json_object_get(object, "spec"), original);
	json_t *patch =
	        diff ? json_pack("{s:{s:s, s:{s:n, s:n}}}", "metadata", "resourceVersion", canary_object_rv(object),
	                         "annotations", CANARY_ANNOTATION_ORIGINAL, CANARY_ANNOTATION_ROUTED_BY)
	             : NULL;
	if (patch && json_object_size(diff) > 0 && json_object_set(patch, "spec", diff)) {
		json_decref(patch);
		patch = NULL;
	}
	rc = patch ? patch_object(ctx, &res, kind->kind, ctx->state.route, patch, "restore the saved spec of")
	           : cli_error_nomem();
	*moved = !rc;
	json_decref(patch);
done:
	json_decref(object);
	json_decref(original);
	json_decref(diff);
	return rc;
}

/* --- the router steps ----------------------------------------------------- */

void canary_traffic_split(const canary_ctx *ctx, int total, int weight, canary_split *out)
{
	(void)ctx;
	out->canary = total;
	out->stable = total;
	out->weight = weight;
	out->weight_reached = weight;
}

int canary_traffic_prepare(canary_ctx *ctx, const canary_traffic_kind *kind)
{
	int rc;
	if (!ctx->state.service[0] || !ctx->state.route[0]) {
		cli_error("deployment/%s: the run's state names no Service or routing object", ctx->name);
		return CLI_EXIT_REFUSED;
	}
	if (!ctx->state.blue_hash[0] &&
	    (rc = canary_services_stable_hash(ctx, ctx->state.blue_hash, sizeof(ctx->state.blue_hash))))
		return rc;
	if ((rc = ensure_canary_service(ctx)))
		return rc;
	canary_kill_point("start-after-canary-service");
	if (kind->weighted && (rc = save_original(ctx, kind)))
		return rc;
	if (kind->weighted)
		canary_kill_point("start-after-route-save");
	return canary_services_pin(ctx, ctx->state.blue_hash, NULL);
}

int canary_traffic_route(canary_ctx *ctx, const canary_traffic_kind *kind, int weight)
{
	int rc = kind->weighted ? route_object(ctx, kind, weight) : route_copy(ctx, kind, weight);
	if (rc)
		return rc;
	canary_kill_point("route-after-write");
	/* at 100 % the Services of D serve the canary too, so D can roll out
	 * the new template with no traffic on its pods */
	return canary_services_point(ctx, weight >= 100);
}

int canary_traffic_restore(canary_ctx *ctx, const canary_traffic_kind *kind)
{
	/* the engine waits CANARY_ROUTE_SETTLE_MS before it deletes D-canary */
	int rc = restore_route(ctx, kind, NULL);
	return rc ? rc : canary_services_point(ctx, 0);
}

int canary_traffic_cleanup(canary_ctx *ctx, const canary_traffic_kind *kind)
{
	/* the Services first: once they select D's pods again (and the
	 * canary's), the routing object can send everything back to them */
	int moved = 0;
	int rc = canary_services_unpin(ctx);
	if (!rc) {
		canary_kill_point("cleanup-after-unpin");
		rc = restore_route(ctx, kind, &moved);
	}
	if (!rc)
		canary_kill_point("cleanup-after-route-restore");
	/* the end of a finish: the gateway, mesh or ingress controller takes
	 * the restored route in before the canary Service (and then D-canary)
	 * goes; after an abort's restore the engine waited already */
	if (!rc && moved)
		rc = canary_route_settle(ctx);
	if (!rc)
		rc = delete_canary_service(ctx);
	return rc;
}

int canary_route_settle(canary_ctx *ctx)
{
	if (ctx->dry_run) {
		canary_plan(ctx, "wait %ds for the routing change to take effect", CANARY_ROUTE_SETTLE_MS / 1000);
		return 0;
	}
	kube_log(KUBE_LOG_DECISION, "waiting %d ms for the routing change to take effect before removing the canary",
	         CANARY_ROUTE_SETTLE_MS);
	long long end = kube_now_ms() + CANARY_ROUTE_SETTLE_MS;
	for (;;) {
		int rc = canary_wait_tick(ctx);
		if (rc)
			return rc;
		long long left = end - kube_now_ms();
		if (left <= 0)
			return 0;
		kube_sleep_ms(left < SETTLE_TICK_MS ? (long)left : SETTLE_TICK_MS);
	}
}

int canary_run_replicas(const canary_ctx *ctx)
{
	const canary_router *router = canary_router_find(ctx->state.router);
	if (ctx->state.hpa[0] && router && router->traffic)
		return canary_deploy_replicas(ctx->deploy);
	return ctx->state.original_replicas;
}
