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
	/* 1 when prepare pins D's Services to the stable pods by
	 * pod-template-hash (blue-green and the traffic routers): start
	 * records that hash (state.blue_hash) with the run's intent. */
	int pins;
	/* 1 for the traffic routers: the canary runs at full size behind its
	 * own Service, sized from D's replicas (re-read at every step when an
	 * HPA scales D), and the canary Service and D-canary outlive the
	 * write that moves traffic off them by CANARY_ROUTE_SETTLE_MS. */
	int traffic;
} canary_router;

/* Gateways, meshes and ingress-nginx apply a change of their routing
 * objects asynchronously (and kube-proxy a Service's): after the write
 * that moves traffic off the canary (routing object restored, nginx copy
 * deleted, Services unpinned or pointed back), the canary Service and
 * D-canary are kept this long before they are deleted, so no request is
 * sent to a Service or pods that are gone. */
#define CANARY_ROUTE_SETTLE_MS 5000

/* Waits CANARY_ROUTE_SETTLE_MS, keeping the lock (canary_wait_tick: a
 * signal or an abort requested meanwhile stops the wait with its exit
 * code). A dry run only plans it. Returns 0 or the exit code. */
int canary_route_settle(canary_ctx *ctx);

extern const canary_router canary_router_replicas;
/* blue-green: D and D-green at full size, Services switched by selector. */
extern const canary_router canary_router_bluegreen;
/* The traffic routers (router_traffic.c does their common part): the
 * canary at full size behind a canary Service, D's Services pinned to the
 * stable pods, the weight set in one routing object: a Gateway API
 * HTTPRoute's backendRefs, an Istio VirtualService's destinations, a copy
 * of an Ingress for ingress-nginx, or an SMI TrafficSplit's backends. */
extern const canary_router canary_router_gateway;
extern const canary_router canary_router_istio;
extern const canary_router canary_router_nginx;
extern const canary_router canary_router_smi;

/* N, the replica count a step of ctx's run sizes it with: the count D
 * had when the run started, or, for a traffic router when an HPA scales
 * D, D's spec.replicas as last read (SPEC §3.6: re-read at every step). */
int canary_run_replicas(const canary_ctx *ctx);

/* Every router, ended by NULL (--router and completion read it). */
extern const canary_router *const canary_routers[];

/* The router named name, or NULL. */
const canary_router *canary_router_find(const char *name);

/* What start chose: the router, and for a traffic router the stable
 * Service and the routing object (state.service, state.route). */
typedef struct canary_route_choice {
	const canary_router *router;
	char service[254];
	char route[254];
} canary_route_choice;

/* Chooses the router of a new run of D (ctx->deploy read), changing
 * nothing. name: "blue-green", "replicas", a traffic router, or NULL to
 * detect: the first HTTPRoute, VirtualService, Ingress (of an nginx
 * class) or TrafficSplit in D's namespace that sends to a Service
 * selecting D's pods, in that order (types the server does not serve are
 * skipped), else replicas. resuming: the router of ctx->state. A traffic
 * router named but not served, no (or more than one) such object, a
 * Service or copy of that name rollguard did not create: exit 5. Returns
 * 0 or the exit code (printed). */
int canary_router_choose(canary_route_choice *out, canary_ctx *ctx, const char *name, int resuming);

#endif
