/* The environment Helm hands a plugin (helm strips its own global flags,
 * --kube-context, --namespace, ..., and passes them as HELM_* variables),
 * mapped onto the connection options the plugin's own flags left unset. */
#ifndef CLI_HELM_ENV_H
#define CLI_HELM_ENV_H

#include "cli/flags.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills what flags did not set in args->config and args->verbosity:
 *   HELM_NAMESPACE -> ns            HELM_KUBECONTEXT -> context
 *   HELM_KUBEAPISERVER -> server    HELM_KUBETOKEN -> token
 *   HELM_KUBECAFILE -> certificate_authority
 *   HELM_KUBETLS_SERVER_NAME -> tls_server_name
 *   HELM_KUBEINSECURE_SKIP_TLS_VERIFY=true -> insecure_skip_tls_verify
 *     (Helm always exports it; "false" leaves the kubeconfig's choice)
 *   HELM_KUBEASUSER -> as           HELM_KUBEASGROUPS (a,b) -> as_groups
 *   HELM_DEBUG=true -> verbosity 4 when -v was not given.
 * Empty variables count as unset. KUBECONFIG is left to libkube, which
 * merges a list of files as kubectl does (Helm exports --kubeconfig as
 * KUBECONFIG). Strings are copied into args. Returns 0, or CLI_EXIT_FAIL
 * when memory runs out. */
int cli_helm_env_apply(cli_args *args);

#ifdef __cplusplus
}
#endif
#endif
