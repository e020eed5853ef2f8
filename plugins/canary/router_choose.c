/* Choosing a new run's router: the one named, or the one detected from
 * the routing objects of D's namespace that send to D's Services, each
 * checked before anything changes (router.h). */
#include <stdio.h>
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>

#include "router_json.h"
#include "router_traffic.h"
#include "service_pin.h"

#define CANARY_SUFFIX     "-canary"
#define DNS_LABEL_MAX     63
#define MAX_NAMED_OBJECTS 4

static const json_t *meta(const json_t *object)
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

static const canary_traffic_kind *const traffic_kinds[] = {&canary_traffic_gateway, &canary_traffic_istio,
                                                           &canary_traffic_nginx, &canary_traffic_smi, NULL};

static const canary_traffic_kind *kind_named(const char *router)
{
	for (int i = 0; traffic_kinds[i]; i++)
		if (!strcmp(traffic_kinds[i]->router, router))
			return traffic_kinds[i];
	return NULL;
}

static void canary_service_name(char *buf, size_t size, const char *service)
{
	snprintf(buf, size, "%s%s", service, CANARY_SUFFIX);
}

/* The Services of D: those whose selector (or, when pinned for D, the
 * saved one) picks D's pods. *out: an array (owned). Listing forbidden
 * while detecting: a warning and an empty array. */
static int d_services(canary_ctx *ctx, json_t **out, int detecting)
{
	json_t *list = NULL;
	*out = NULL;
	int rc = kube_client_list(ctx->client, &list, &canary_res_services, ctx->ns, NULL);
	if (rc == KUBE_EFORBIDDEN && detecting) {
		cli_warning(
		        "cannot list Services in namespace %s: using the replicas router (choose one with --router)",
		        ctx->ns);
		return (*out = json_array()) ? 0 : cli_error_nomem();
	}
	if (rc)
		return cli_error_kube("listing Services", rc);
	json_t *found = json_array();
	size_t i;
	json_t *svc;
	json_array_foreach(json_object_get(list, "items"), i, svc)
	{
		const char *of = annotation(svc, CANARY_ANNOTATION_SELECTOR_OF);
		json_t *saved = of && !strcmp(of, ctx->name) ? canary_service_original_selector(svc) : NULL;
		int selects = canary_selects_d(ctx, saved ? saved
		                                          : json_object_get(json_object_get(svc, "spec"), "selector"));
		json_decref(saved);
		if (found && selects && !canary_traffic_ours(ctx, svc) && json_array_append(found, svc)) {
			json_decref(found);
			found = NULL;
		}
	}
	json_decref(list);
	if (!found)
		return cli_error_nomem();
	*out = found;
	return 0;
}

/* The objects of kind that send to one of services: *out an array of
 * {"object": ..., "service": NAME} (owned), *served 0 when the server does
 * not serve the type. Forbidden while detecting: a warning, none found. */
static int find_routes(canary_ctx *ctx, const canary_traffic_kind *kind, const json_t *services, int detecting,
                       json_t **out, int *served)
{
	kube_resource res;
	json_t *list = NULL;
	*out = NULL;
	*served = 1;
	int rc = canary_traffic_resolve(ctx, kind, &res, 0);
	if (!rc) {
		rc = kube_client_list(ctx->client, &list, &res, ctx->ns, NULL);
		if (rc == KUBE_ENOTFOUND) {
			/* a cached discovery may predate the type's removal */
			if (!(rc = canary_traffic_resolve(ctx, kind, &res, 1)))
				rc = kube_client_list(ctx->client, &list, &res, ctx->ns, NULL);
		}
	}
	if (rc == KUBE_ENOTFOUND) {
		kube_log(KUBE_LOG_DECISION, "router %s: the server does not serve %s", kind->router, kind->kind);
		*served = 0;
		return (*out = json_array()) ? 0 : cli_error_nomem();
	}
	if (rc == KUBE_EFORBIDDEN && detecting) {
		cli_warning("cannot list %ss in namespace %s: not looking for the %s router", kind->kind, ctx->ns,
		            kind->router);
		return (*out = json_array()) ? 0 : cli_error_nomem();
	}
	if (rc) {
		char what[160];
		snprintf(what, sizeof(what), "listing %ss", kind->kind);
		return cli_error_kube(what, rc);
	}
	json_t *found = json_array();
	size_t i, j;
	json_t *object, *svc;
	json_array_foreach(json_object_get(list, "items"), i, object)
	{
		if (!found || canary_traffic_ours(ctx, object) ||
		    (detecting && kind->detects && !kind->detects(object)))
			continue;
		json_array_foreach(services, j, svc)
		{
			if (!kind->routes_to(object, name_of(svc)))
				continue;
			json_t *match = json_pack("{s:O, s:s}", "object", object, "service", name_of(svc));
			if (!match || json_array_append_new(found, match)) {
				json_decref(found);
				found = NULL;
			}
			break;
		}
	}
	json_decref(list);
	if (!found)
		return cli_error_nomem();
	*out = found;
	return 0;
}

/* Exit 5 when name exists (GET res) and rollguard did not create it for D. */
static int refuse_foreign(canary_ctx *ctx, const kube_resource *res, const char *kind, const char *name)
{
	json_t *object = NULL;
	char ref[320];
	int rc = kube_client_get(ctx->client, &object, res, ctx->ns, name, NULL);
	canary_traffic_ref(ref, sizeof(ref), kind, name);
	if (rc == KUBE_ENOTFOUND)
		return 0;
	if (rc)
		return cli_error_kube(ref, rc);
	rc = 0;
	if (!canary_traffic_ours(ctx, object)) {
		cli_error("%s exists and was not created by rollguard for deployment/%s: refusing to touch it", ref,
		          ctx->name);
		cli_hint("rename or remove %s, or use --router replicas", ref);
		rc = CLI_EXIT_REFUSED;
	}
	json_decref(object);
	return rc;
}

/* Checks that the run can use match ({"object", "service"}) of kind and
 * fills out: the weights can be expressed, the names rollguard creates
 * are free. */
static int take_route(canary_route_choice *out, canary_ctx *ctx, const canary_traffic_kind *kind, const json_t *match)
{
	const json_t *object = json_object_get(match, "object");
	const char *service = json_string_value(json_object_get(match, "service"));
	char ref[320], err[256], name[300];
	int rc;
	canary_traffic_ref(ref, sizeof(ref), kind->kind, name_of(object));
	if (strlen(service) + strlen(CANARY_SUFFIX) > DNS_LABEL_MAX) {
		cli_error("service/%s: its name is too long for a canary Service %s%s", service, service,
		          CANARY_SUFFIX);
		return CLI_EXIT_REFUSED;
	}
	if (kind->weighted) {
		json_t *spec = NULL;
		canary_service_name(name, sizeof(name), service);
		if (kind->weighted(&spec, json_object_get(object, "spec"), ctx->ns, service, name, 1, err,
		                   sizeof(err))) {
			cli_error("%s: %s", ref, err);
			cli_hint("use --router replicas");
			return CLI_EXIT_REFUSED;
		}
		json_decref(spec);
		const char *by = annotation(object, CANARY_ANNOTATION_ROUTED_BY);
		if (by && strcmp(by, ctx->name) != 0) {
			cli_error("%s is routed by the canary run of deployment/%s", ref, by);
			cli_hint("end that run first, or use --router replicas");
			return CLI_EXIT_REFUSED;
		}
	} else {
		kube_resource res;
		json_t *copy = canary_ingress_copy(object, service, service, 1, ctx->name, "");
		json_decref(copy);
		if (!copy) {
			cli_error("%s: no path sends to service/%s", ref, service);
			return CLI_EXIT_REFUSED;
		}
		snprintf(name, sizeof(name), "%s%s", name_of(object), CANARY_SUFFIX);
		if ((rc = canary_traffic_resolve(ctx, kind, &res, 0)) ||
		    (rc = refuse_foreign(ctx, &res, kind->kind, name)))
			return rc < 0 ? cli_error_kube(NULL, rc) : rc;
	}
	canary_service_name(name, sizeof(name), service);
	if ((rc = refuse_foreign(ctx, &canary_res_services, "Service", name)))
		return rc;
	out->router = canary_router_find(kind->router);
	snprintf(out->service, sizeof(out->service), "%s", service);
	snprintf(out->route, sizeof(out->route), "%s", name_of(object));
	kube_log(KUBE_LOG_DECISION, "router %s: %s sends to service/%s", kind->router, ref, service);
	return 0;
}

/* smi with no TrafficSplit: one for D's only Service, created by prepare. */
static int take_created(canary_route_choice *out, canary_ctx *ctx, const canary_traffic_kind *kind,
                        const json_t *services)
{
	char name[300];
	kube_resource res;
	int rc;
	if (json_array_size(services) != 1) {
		cli_error("deployment/%s: %zu Services select its pods and no %s sends to one of them: the %s router "
		          "needs one Service",
		          ctx->name, json_array_size(services), kind->kind, kind->router);
		cli_hint("create a %s for the Service to split, or use --router replicas", kind->kind);
		return CLI_EXIT_REFUSED;
	}
	const char *service = name_of(json_array_get(services, 0));
	snprintf(name, sizeof(name), "%s%s", ctx->name, CANARY_SUFFIX);
	if (strlen(service) + strlen(CANARY_SUFFIX) > DNS_LABEL_MAX) {
		cli_error("service/%s: its name is too long for a canary Service %s%s", service, service,
		          CANARY_SUFFIX);
		return CLI_EXIT_REFUSED;
	}
	if ((rc = canary_traffic_resolve(ctx, kind, &res, 0)))
		return cli_error_kube(NULL, rc);
	if ((rc = refuse_foreign(ctx, &res, kind->kind, name)))
		return rc;
	char canary_service[300];
	canary_service_name(canary_service, sizeof(canary_service), service);
	if ((rc = refuse_foreign(ctx, &canary_res_services, "Service", canary_service)))
		return rc;
	out->router = canary_router_find(kind->router);
	snprintf(out->service, sizeof(out->service), "%s", service);
	snprintf(out->route, sizeof(out->route), "%.253s", name);
	kube_log(KUBE_LOG_DECISION, "router %s: a %s %s will be created for service/%s", kind->router, kind->kind, name,
	         service);
	return 0;
}

int canary_router_choose(canary_route_choice *out, canary_ctx *ctx, const char *name, int resuming)
{
	json_t *services = NULL, *found = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (resuming) {
		if (!(out->router = canary_router_find(ctx->state.router))) {
			cli_error("deployment/%s: run %s uses router \"%s\", which this version does not know",
			          ctx->name, ctx->state.run_id, ctx->state.router);
			return CLI_EXIT_REFUSED;
		}
		snprintf(out->service, sizeof(out->service), "%s", ctx->state.service);
		snprintf(out->route, sizeof(out->route), "%s", ctx->state.route);
		return 0;
	}
	const canary_traffic_kind *only = name ? kind_named(name) : NULL;
	if (name && !only) {
		out->router = canary_router_find(name);
		return out->router ? 0 : cli_usage_error(ctx->args, "unknown --router \"%s\"", name);
	}
	out->router = &canary_router_replicas;
	if ((rc = d_services(ctx, &services, !only)))
		return rc;
	if (json_array_size(services) == 0) {
		json_decref(services);
		if (!only) {
			kube_log(KUBE_LOG_DECISION, "router: no Service selects the pods of deployment/%s: replicas",
			         ctx->name);
			return 0;
		}
		cli_error("deployment/%s: no Service selects its pods: the %s router has nothing to route", ctx->name,
		          only->router);
		cli_hint("create the Service first, or use --router replicas");
		return CLI_EXIT_REFUSED;
	}
	for (int i = 0; traffic_kinds[i]; i++) {
		const canary_traffic_kind *kind = traffic_kinds[i];
		int served = 0;
		if (only && kind != only)
			continue;
		if ((rc = find_routes(ctx, kind, services, !only, &found, &served)))
			break;
		if (!served && only) {
			cli_error("the server does not serve %s (%s): the %s router cannot run", kind->kind,
			          kind->install_hint, kind->router);
			cli_hint("install it, or choose another --router");
			rc = CLI_EXIT_REFUSED;
			break;
		}
		size_t count = json_array_size(found);
		if (count == 1) {
			rc = take_route(out, ctx, kind, json_array_get(found, 0));
			break;
		}
		if (count > 1) {
			kube_buf names = {0};
			for (size_t k = 0; k < count && k < MAX_NAMED_OBJECTS; k++)
				(void)kube_buf_printf(&names, "%s%s", k ? ", " : "",
				                      name_of(json_object_get(json_array_get(found, k), "object")));
			if (count > MAX_NAMED_OBJECTS)
				(void)kube_buf_printf(&names, ", ...");
			cli_error("deployment/%s: %zu %ss send to its Services (%s): a run routes through one",
			          ctx->name, count, kind->kind, names.len ? kube_buf_cstr(&names) : "");
			cli_hint("route the Service through one %s, or use --router replicas", kind->kind);
			kube_buf_dispose(&names);
			rc = CLI_EXIT_REFUSED;
			break;
		}
		if (only && kind->creates) {
			rc = take_created(out, ctx, kind, services);
			break;
		}
		if (only) {
			cli_error("deployment/%s: no %s in namespace %s sends to its Services", ctx->name, kind->kind,
			          ctx->ns);
			cli_hint("create one, or use --router replicas");
			rc = CLI_EXIT_REFUSED;
			break;
		}
		json_decref(found);
		found = NULL;
	}
	if (!rc && out->router == &canary_router_replicas)
		kube_log(KUBE_LOG_DECISION,
		         "router: no routing object sends to the Services of deployment/%s: replicas", ctx->name);
	json_decref(found);
	json_decref(services);
	return rc;
}
