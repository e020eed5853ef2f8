/* The nginx router (ingress-nginx's canary annotations): the user's
 * Ingress is never changed; a copy named <ingress>-canary sends the paths
 * of the stable Service to the canary Service, annotated
 * nginx.ingress.kubernetes.io/canary "true" and canary-weight "w"
 * (router_json.c), and is deleted when the run ends or aborts
 * (router_traffic.c). */
#include "router_json.h"
#include "router_traffic.h"

static const kube_resource ingresses = {"networking.k8s.io", "v1", "ingresses", "Ingress", 1};

const canary_traffic_kind canary_traffic_nginx = {
        .router = "nginx",
        .kind = "Ingress",
        .builtin = &ingresses,
        .install_hint = "networking.k8s.io/v1",
        .routes_to = canary_ingress_routes_to,
        .detects = canary_ingress_is_nginx,
};

static int nginx_prepare(canary_ctx *ctx)
{
	return canary_traffic_prepare(ctx, &canary_traffic_nginx);
}

static int nginx_route(canary_ctx *ctx, int weight)
{
	return canary_traffic_route(ctx, &canary_traffic_nginx, weight);
}

static int nginx_restore(canary_ctx *ctx)
{
	return canary_traffic_restore(ctx, &canary_traffic_nginx);
}

static int nginx_cleanup(canary_ctx *ctx)
{
	return canary_traffic_cleanup(ctx, &canary_traffic_nginx);
}

const canary_router canary_router_nginx = {
        .name = "nginx",
        .split = canary_traffic_split,
        .prepare = nginx_prepare,
        .route = nginx_route,
        .restore = nginx_restore,
        .cleanup = nginx_cleanup,
        .pins = 1,
        .traffic = 1,
};
