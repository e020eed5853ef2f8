/* The in-cluster service account as client-go finds it (rest.
 * InClusterConfig, clientcmd's inClusterClientConfig): config.c falls back
 * to it when neither a kubeconfig nor --server names a cluster. */
#ifndef KUBE_INCLUSTER_H
#define KUBE_INCLUSTER_H

#include <kube/config.h>

#include "rest.h"

/* The service account directory: opts->in_cluster_dir, or the one
 * Kubernetes mounts. Borrowed. */
const char *kube_incluster_dir(const kube_config_options *opts);

/* inClusterClientConfig.Possible: KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT are set and the directory holds a token file.
 * Returns 1, 0, or KUBE_ENOMEM. */
int kube_incluster_possible(const kube_config_options *opts);

/* rest.InClusterConfig into rest (whose server, token, token_file and
 * ca_file are unset), with --token and --certificate-authority applied as
 * inClusterClientConfig.ClientConfig does; an unreadable ca.crt is logged
 * and left out. Call only when kube_incluster_possible said 1. Errors:
 * KUBE_ECONFIG naming the token file; KUBE_ENOMEM. */
int kube_incluster_rest(struct kube_rest *rest, const kube_config_options *opts);

/* inClusterClientConfig.Namespace into a new string *out (free with
 * kube_free): POD_NAMESPACE, the service account's namespace file, then
 * "default". Errors: KUBE_ENOMEM only. */
int kube_incluster_namespace(char **out, const kube_config_options *opts);

#endif
