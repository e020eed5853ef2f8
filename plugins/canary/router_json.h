/* The traffic routers' JSON transformations, without I/O: whether a
 * routing object (HTTPRoute, VirtualService, Ingress, TrafficSplit) sends
 * to a Service, the object's spec with a weight moved from the stable
 * Service to the canary Service, the nginx canary Ingress, and the merge
 * patch that turns one object into another. The routers read and write
 * the objects; everything they decide is here, table-tested. */
#ifndef CANARY_ROUTER_JSON_H
#define CANARY_ROUTER_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Gateway API caps a backendRef's weight at this. */
#define CANARY_GATEWAY_MAX_WEIGHT 1000000

/* 1 when host (an Istio destination host) names Service service of
 * namespace ns: "web", "web.ns", "web.ns.svc" or "web.ns.svc.DOMAIN". */
int canary_host_is_service(const char *host, const char *ns, const char *service);

/* 1 when the object (as read: its metadata.namespace decides what a
 * namespace-less reference means) sends traffic to Service service of its
 * own namespace:
 * - HTTPRoute: a backendRef of a rule (kind Service, core group);
 * - VirtualService: a destination host of an http, tcp or tls route;
 * - Ingress: a path's backend service, or the default backend;
 * - TrafficSplit: spec.service (the root) or a backend. */
int canary_httproute_routes_to(const json_t *route, const char *service);
int canary_virtualservice_routes_to(const json_t *vs, const char *service);
int canary_ingress_routes_to(const json_t *ingress, const char *service);
int canary_trafficsplit_routes_to(const json_t *split, const char *service);

/* 1 when the Ingress is for ingress-nginx as far as the object says: its
 * spec.ingressClassName or kubernetes.io/ingress.class annotation
 * contains "nginx". */
int canary_ingress_is_nginx(const json_t *ingress);

/* The spec (a copy, owned, in *out) with weight percent (0..100) of the
 * traffic that spec sends to Service service moved to Service canary, in
 * namespace ns. Returns 0, or -1 with a one-line reason in err when the
 * spec sends nothing to service or the weights cannot be expressed.
 *
 * HTTPRoute: in each rule, after every backendRef to service, a copy of
 * it named canary; when they are the rule's only backends their weights
 * are 100 - weight and weight, otherwise the rule's weights are
 * multiplied by 100 and the stable one's share is split (the proportions
 * to the other backends stay; at most CANARY_GATEWAY_MAX_WEIGHT).
 * VirtualService: in each http, tcp and tls route, after every destination
 * whose host is service, a copy whose host names canary in the same form
 * (the port kept, the subset dropped); the stable destination's weight
 * (100 when it is the only one and has none) is split between the two,
 * so the route's weights keep their sum.
 * TrafficSplit: the backend service is split as an HTTPRoute's is. */
int canary_httproute_weighted(json_t **out, const json_t *spec, const char *ns, const char *service, const char *canary,
                              int weight, char *err, size_t err_size);
int canary_virtualservice_weighted(json_t **out, const json_t *spec, const char *ns, const char *service,
                                   const char *canary, int weight, char *err, size_t err_size);
int canary_trafficsplit_weighted(json_t **out, const json_t *spec, const char *service, const char *canary, int weight,
                                 char *err, size_t err_size);

/* The nginx canary Ingress for ingress (as read) at weight: named
 * NAME-canary in its namespace, the class (ingressClassName or the
 * kubernetes.io/ingress.class annotation) and tls copied, the rules' paths
 * (and default backend) that send to service copied with canary as the
 * backend (others left out), annotations nginx.ingress.kubernetes.io/canary
 * "true" and canary-weight "WEIGHT", rollguard.io/canary-of owner_name,
 * the managed-by label and an ownerReference to the Deployment owner_name
 * with owner_uid. Owned; NULL when memory runs out or nothing of the
 * Ingress sends to service. */
json_t *canary_ingress_copy(const json_t *ingress, const char *service, const char *canary, int weight,
                            const char *owner_name, const char *owner_uid);

/* The JSON merge patch (RFC 7386) that turns current into want (owned):
 * members of want that differ, null for members of current that want
 * lacks, objects compared member by member. An empty object when they are
 * equal. want must hold no nulls (a merge patch cannot set one). */
json_t *canary_merge_patch(const json_t *current, const json_t *want);

/* target with the JSON merge patch (RFC 7386) applied (owned; NULL when
 * memory runs out): what the API server makes of target and patch. */
json_t *canary_merge_apply(const json_t *target, const json_t *patch);

#endif
