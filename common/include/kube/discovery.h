/* Discovery: resolves what a user types (deploy, deployments, deployment,
 * Deployment, deployment.apps, deployments.v1.apps) to a resource type from
 * the server's discovery (aggregated discovery where served), cached on
 * disk in rollguard's own cache directory for kubectl's 6 hours. */
#ifndef KUBE_DISCOVERY_H
#define KUBE_DISCOVERY_H

#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resolves name. A miss in a cached copy refetches discovery once before
 * failing. Errors: KUBE_ENOTFOUND (`the server doesn't have a resource type
 * "x"`), request errors. */
int kube_discovery_resolve(kube_client *client, kube_resource *out, const char *name);

/* Resolves an object's apiVersion ("v1", "apps/v1") and kind
 * ("Deployment") to its resource type, as applying a manifest needs.
 * Errors as kube_discovery_resolve. */
int kube_discovery_resolve_kind(kube_client *client, kube_resource *out, const char *api_version, const char *kind);

/* Forgets the on-disk discovery cache of this client's server. */
int kube_discovery_invalidate(kube_client *client);

#ifdef __cplusplus
}
#endif
#endif
