/* The blue-green router: D (blue) and D-green both run at full size and
 * D's Services choose between them by selector. At start each Service that
 * selects D's pods is pinned to blue with the pod-template-hash of D's
 * current ReplicaSet (no rollout of D needed), its original selector saved
 * in an annotation; promote points it at green's track and revision;
 * abort points it back at blue; the end of the run restores the original
 * selector exactly (service_pin.c). */
#include "router.h"
#include "service_pin.h"

static void bluegreen_split(const canary_ctx *ctx, int total, int weight, canary_split *out)
{
	(void)ctx;
	out->canary = total;
	out->stable = total;
	out->weight = weight;
	out->weight_reached = weight >= 100 ? 100 : 0;
}

static int bluegreen_prepare(canary_ctx *ctx)
{
	size_t count = 0;
	int rc;
	if (!ctx->state.blue_hash[0] &&
	    (rc = canary_services_stable_hash(ctx, ctx->state.blue_hash, sizeof(ctx->state.blue_hash))))
		return rc;
	if ((rc = canary_services_pin(ctx, ctx->state.blue_hash, &count)))
		return rc;
	if (count == 0)
		cli_warning("deployment/%s: no Service selects its pods; blue-green has no traffic to switch",
		            ctx->name);
	return 0;
}

static int bluegreen_route(canary_ctx *ctx, int weight)
{
	return canary_services_point(ctx, weight >= 100);
}

static int bluegreen_restore(canary_ctx *ctx)
{
	return canary_services_point(ctx, 0);
}

static int bluegreen_cleanup(canary_ctx *ctx)
{
	return canary_services_unpin(ctx);
}

const canary_router canary_router_bluegreen = {
        .name = "blue-green",
        .split = bluegreen_split,
        .prepare = bluegreen_prepare,
        .route = bluegreen_route,
        .restore = bluegreen_restore,
        .cleanup = bluegreen_cleanup,
        .pins = 1,
};
