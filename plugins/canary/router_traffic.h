/* What the traffic routers (gateway, istio, nginx, smi) share: each is a
 * routing object type described by a canary_traffic_kind, and one set of
 * steps around it. start: D's Services pinned to the stable pods, a
 * canary Service <service>-canary for the canary pods, the routing
 * object's spec saved on it (rollguard.io/original, rollguard.io/routed-by)
 * -- nginx changes no object of the user's and copies the Ingress instead.
 * Each rung: the weight written into the object (or the copy). 100 %: the
 * pinned Services point at the canary too. abort: the object back to its
 * saved spec, the Services back on stable. End: the Services' selectors
 * restored, the object restored, and once the change has had
 * CANARY_ROUTE_SETTLE_MS to take effect, the canary Service and any copy
 * deleted. Every write to a user's object is conditional on its
 * resourceVersion. */
#ifndef CANARY_ROUTER_TRAFFIC_H
#define CANARY_ROUTER_TRAFFIC_H

#include "router.h"

/* On the routing object during a run: its spec before (JSON) and D. */
#define CANARY_ANNOTATION_ORIGINAL  "rollguard.io/original"
#define CANARY_ANNOTATION_ROUTED_BY "rollguard.io/routed-by"

typedef struct canary_traffic_kind {
	const char *router; /* "gateway" */
	const char *kind;   /* "HTTPRoute" */
	/* the type for discovery ("httproutes.gateway.networking.k8s.io"),
	 * or builtin for a type every server serves */
	const char *type;
	const kube_resource *builtin;
	const char *install_hint; /* what serves the type, for "not served" */
	/* the object as read sends to the Service */
	int (*routes_to)(const json_t *object, const char *service);
	/* detecting only: the object is for this router (NULL: any) */
	int (*detects)(const json_t *object);
	/* the spec with weight moved to canary (router_json.h); NULL for a
	 * router that copies the object instead (nginx) */
	int (*weighted)(json_t **out, const json_t *spec, const char *ns, const char *service, const char *canary,
	                int weight, char *err, size_t err_size);
	/* with no object sending to the Service, one is created for the run
	 * (named D-canary) and removed at its end (smi) */
	int creates;
	/* the spec of the object created then (owned) */
	json_t *(*created_spec)(const char *service);
} canary_traffic_kind;

extern const canary_traffic_kind canary_traffic_gateway;
extern const canary_traffic_kind canary_traffic_istio;
extern const canary_traffic_kind canary_traffic_nginx;
extern const canary_traffic_kind canary_traffic_smi;

/* Helpers router_choose.c shares. "httproute/web" into buf: */
void canary_traffic_ref(char *buf, size_t size, const char *kind, const char *name);
/* 1 when rollguard created object for D (managed-by label, ownerReference
 * to D's uid). */
int canary_traffic_ours(const canary_ctx *ctx, const json_t *object);
/* The type of kind as served (discovery; refresh forgets a cached copy
 * first). KUBE_ENOTFOUND: not served. */
int canary_traffic_resolve(canary_ctx *ctx, const canary_traffic_kind *kind, kube_resource *out, int refresh);

/* The canary at full size beside the N stable pods; the weight is the
 * routing object's. */
void canary_traffic_split(const canary_ctx *ctx, int total, int weight, canary_split *out);
int canary_traffic_prepare(canary_ctx *ctx, const canary_traffic_kind *kind);
int canary_traffic_route(canary_ctx *ctx, const canary_traffic_kind *kind, int weight);
int canary_traffic_restore(canary_ctx *ctx, const canary_traffic_kind *kind);
int canary_traffic_cleanup(canary_ctx *ctx, const canary_traffic_kind *kind);

#endif
