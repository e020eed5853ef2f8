/* Routers turn a weight into traffic (SPEC §3.2). The replicas router
 * splits pods between D and D-canary behind D's own Services; the others
 * (gateway, istio, nginx, smi) run the canary at full size and move a
 * weight in a routing object. The engine calls a router at fixed points of
 * every step, so adding one is a file implementing this interface. */
#ifndef CANARY_ROUTER_H
#define CANARY_ROUTER_H

#include "canary.h"
#include "ladder.h"

typedef struct canary_router {
	const char *name;
	/* Pods of each track at weight (1..99) for N pods in total. */
	void (*split)(const canary_ctx *ctx, int total, int weight, canary_split *out);
	/* start: save the routing objects it will change, pin selectors.
	 * NULL: nothing to do. Returns 0 or the exit code (printed). */
	int (*prepare)(canary_ctx *ctx);
	/* Moves traffic to weight; called once the canary pods for it are
	 * Ready and before stable scales down. NULL: the split is the routing. */
	int (*route)(canary_ctx *ctx, int weight);
	/* abort: all traffic back to stable, routing objects restored
	 * exactly as saved. Called before the canary scales down. */
	int (*restore)(canary_ctx *ctx);
	/* success: remove what prepare created once D carries the new template. */
	int (*cleanup)(canary_ctx *ctx);
} canary_router;

extern const canary_router canary_router_replicas;
/* blue-green: D and D-green at full size, Services switched by selector. */
extern const canary_router canary_router_bluegreen;

/* The router named name, or NULL. */
const canary_router *canary_router_find(const char *name);

#endif
