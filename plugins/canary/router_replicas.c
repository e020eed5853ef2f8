/* The replicas router: the weight is the share of pods. D's Services select
 * both tracks, so traffic splits by pod count and nothing but replica
 * counts changes. */
#include <string.h>

#include "router.h"

static void replicas_split(const canary_ctx *ctx, int total, int weight, canary_split *out)
{
	canary_split_replicas(out, total, weight, ctx->state.hpa[0] != '\0');
}

const canary_router canary_router_replicas = {
        .name = "replicas",
        .split = replicas_split,
};

const canary_router *const canary_routers[] = {&canary_router_replicas,
                                               &canary_router_bluegreen,
                                               &canary_router_gateway,
                                               &canary_router_istio,
                                               &canary_router_nginx,
                                               &canary_router_smi,
                                               NULL};

const canary_router *canary_router_find(const char *name)
{
	for (int i = 0; canary_routers[i]; i++)
		if (!strcmp(canary_routers[i]->name, name))
			return canary_routers[i];
	return NULL;
}
