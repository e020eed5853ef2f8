/* The istio router: the weight is set in an Istio VirtualService. In each
 * http (and tcp, tls) route with a destination whose host is the stable
 * Service, a destination for the canary Service follows it (same port, no
 * subset) and the stable weight is split between the two (router_json.c);
 * the VirtualService's spec is saved on it at start and put back exactly
 * at the end (router_traffic.c). */
#include "router_json.h"
#include "router_traffic.h"

const canary_traffic_kind canary_traffic_istio = {
        .router = "istio",
        .kind = "VirtualService",
        .type = "virtualservices.networking.istio.io",
        .install_hint = "Istio's CRDs, networking.istio.io",
        .routes_to = canary_virtualservice_routes_to,
        .weighted = canary_virtualservice_weighted,
};

static int istio_prepare(canary_ctx *ctx)
{
	return canary_traffic_prepare(ctx, &canary_traffic_istio);
}

static int istio_route(canary_ctx *ctx, int weight)
{
	return canary_traffic_route(ctx, &canary_traffic_istio, weight);
}

static int istio_restore(canary_ctx *ctx)
{
	return canary_traffic_restore(ctx, &canary_traffic_istio);
}

static int istio_cleanup(canary_ctx *ctx)
{
	return canary_traffic_cleanup(ctx, &canary_traffic_istio);
}

const canary_router canary_router_istio = {
        .name = "istio",
        .split = canary_traffic_split,
        .prepare = istio_prepare,
        .route = istio_route,
        .restore = istio_restore,
        .cleanup = istio_cleanup,
        .pins = 1,
        .traffic = 1,
};
