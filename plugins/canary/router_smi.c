/* The smi router: the weight is set in an SMI TrafficSplit's backends,
 * the stable Service's split into stable (100 - w) and canary (w)
 * (router_json.c). The TrafficSplit whose root or a backend is the stable
 * Service has its spec saved on it at start and put back at the end; with
 * none, --router smi creates one named D-canary for the run (root and
 * backend the stable Service) and deletes it at the end
 * (router_traffic.c). Whatever version the server prefers is used
 * (v1alpha4 in smi-sdk-go v0.5.0); weights are written as integers, which
 * v1alpha1's quantities accept too. */
#include "router_json.h"
#include "router_traffic.h"

static int smi_weighted(json_t **out, const json_t *spec, const char *ns, const char *service, const char *canary,
                        int weight, char *err, size_t err_size)
{
	(void)ns;
	return canary_trafficsplit_weighted(out, spec, service, canary, weight, err, err_size);
}

static json_t *smi_created_spec(const char *service)
{
	return json_pack("{s:s, s:[{s:s, s:i}]}", "service", service, "backends", "service", service, "weight", 100);
}

const canary_traffic_kind canary_traffic_smi = {
        .router = "smi",
        .kind = "TrafficSplit",
        .type = "trafficsplits.split.smi-spec.io",
        .install_hint = "the SMI CRDs, split.smi-spec.io",
        .routes_to = canary_trafficsplit_routes_to,
        .weighted = smi_weighted,
        .creates = 1,
        .created_spec = smi_created_spec,
};

static int smi_prepare(canary_ctx *ctx)
{
	return canary_traffic_prepare(ctx, &canary_traffic_smi);
}

static int smi_route(canary_ctx *ctx, int weight)
{
	return canary_traffic_route(ctx, &canary_traffic_smi, weight);
}

static int smi_restore(canary_ctx *ctx)
{
	return canary_traffic_restore(ctx, &canary_traffic_smi);
}

static int smi_cleanup(canary_ctx *ctx)
{
	return canary_traffic_cleanup(ctx, &canary_traffic_smi);
}

const canary_router canary_router_smi = {
        .name = "smi",
        .split = canary_traffic_split,
        .prepare = smi_prepare,
        .route = smi_route,
        .restore = smi_restore,
        .cleanup = smi_cleanup,
        .pins = 1,
        .traffic = 1,
};
