/* Helm's plugin environment onto the connection options. */
#include <stdlib.h>
#include <string.h>

#include <kube/log.h>

#include "cli/exit.h"
#include "cli/helm_env.h"
#include "cli/internal.h"

/* Keeps a copy of the variable in args, so a later setenv cannot pull it
 * away. */
static int take(cli_args *args, const char **field, const char *variable)
{
	const char *value = getenv(variable);
	if (*field || !value || !*value)
		return 0;
	*field = cli_args_keep(args, value, strlen(value));
	return *field ? 0 : -1;
}

static int take_groups(cli_args *args)
{
	const char *value = getenv("HELM_KUBEASGROUPS");
	if (args->config.as_groups_count || !value)
		return 0;
	while (*value) {
		size_t len = strcspn(value, ",");
		if (len) {
			const char *group = cli_args_keep(args, value, len);
			if (!group || cli_args_add_group(args, group))
				return -1;
		}
		value += len + (value[len] == ',');
	}
	return 0;
}

int cli_helm_env_apply(cli_args *args)
{
	kube_config_options *c = &args->config;
	int flag;
	if (take(args, &c->ns, "HELM_NAMESPACE") || take(args, &c->context, "HELM_KUBECONTEXT") ||
	    take(args, &c->server, "HELM_KUBEAPISERVER") || take(args, &c->token, "HELM_KUBETOKEN") ||
	    take(args, &c->certificate_authority, "HELM_KUBECAFILE") ||
	    take(args, &c->tls_server_name, "HELM_KUBETLS_SERVER_NAME") || take(args, &c->as, "HELM_KUBEASUSER") ||
	    take_groups(args))
		return cli_error_nomem();

	const char *insecure = getenv("HELM_KUBEINSECURE_SKIP_TLS_VERIFY");
	if (c->insecure_skip_tls_verify < 0 && insecure && cli_parse_bool(&flag, insecure) == 0 && flag)
		c->insecure_skip_tls_verify = 1;

	const char *debug = getenv("HELM_DEBUG");
	if (!args->verbosity_given && debug && cli_parse_bool(&flag, debug) == 0 && flag)
		args->verbosity = KUBE_LOG_DECISION;
	return 0;
}
