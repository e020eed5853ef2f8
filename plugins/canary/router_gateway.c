/* The gateway router: the weight is set in a Gateway API HTTPRoute. In
 * each rule that sends to the stable Service, a backendRef to the canary
 * Service follows the stable one, with weights 100 - w and w
 * (router_json.c); the HTTPRoute's spec is saved on it at start and put
 * back exactly at the end (router_traffic.c). */
#include "router_json.h"
#include "router_traffic.h"

const canary_traffic_kind canary_traffic_gateway = {
        .router = "gateway",
        .kind = "HTTPRoute",
        .type = "httproutes.gateway.networking.k8s.io",
        .install_hint = "the Gateway API, gateway.networking.k8s.io",
        .routes_to = canary_httproute_routes_to,
        .weighted = canary_httproute_weighted,
};

static int gateway_prepare(canary_ctx *ctx)
{
	return canary_traffic_prepare(ctx, &canary_traffic_gateway);
}

static int gateway_route(canary_ctx *ctx, int weight)
{
	return canary_traffic_route(ctx, &canary_traffic_gateway, weight);
}

static int gateway_restore(canary_ctx *ctx)
{
	return canary_traffic_restore(ctx, &canary_traffic_gateway);
}

static int gateway_cleanup(canary_ctx *ctx)
{
	return canary_traffic_cleanup(ctx, &canary_traffic_gateway);
}

const canary_router canary_router_gateway = {
        .name = "gateway",
        .split = canary_traffic_split,
        .prepare = gateway_prepare,
        .route = gateway_route,
        .restore = gateway_restore,
        .cleanup = gateway_cleanup,
        .pins = 1,
        .traffic = 1,
};
