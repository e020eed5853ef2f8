/* The per-command context of helm rollback-safe: the storage driver Helm
 * would use, the connection, the release's name, --dry-run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>

#include "rollback.h"

const kube_resource rollback_res_secrets = {"", "v1", "secrets", "Secret", 1};
const kube_resource rollback_res_configmaps = {"", "v1", "configmaps", "ConfigMap", 1};
const kube_resource rollback_res_leases = {"coordination.k8s.io", "v1", "leases", "Lease", 1};
const kube_resource rollback_res_pods = {"", "v1", "pods", "Pod", 1};

/* Helm's driver names (action.Configuration.Init). */
static int pick_driver(rollback_ctx *ctx)
{
	const char *driver = getenv("HELM_DRIVER");
	if (!driver || !driver[0] || strcmp(driver, "secret") == 0 || strcmp(driver, "secrets") == 0) {
		ctx->storage = ROLLBACK_STORAGE_SECRET;
		ctx->storage_res = &rollback_res_secrets;
		return 0;
	}
	if (strcmp(driver, "configmap") == 0 || strcmp(driver, "configmaps") == 0) {
		ctx->storage = ROLLBACK_STORAGE_CONFIGMAP;
		ctx->storage_res = &rollback_res_configmaps;
		return 0;
	}
	if (strcmp(driver, "sql") == 0 || strcmp(driver, "memory") == 0) {
		cli_error("HELM_DRIVER=%s: release records in %s storage cannot be read from the cluster; "
		          "rollback-safe supports the secret and configmap drivers",
		          driver, driver);
		return CLI_EXIT_CONFIG;
	}
	cli_error("HELM_DRIVER=%.64s: unknown driver (Helm knows secret, configmap, memory and sql)", driver);
	return CLI_EXIT_CONFIG;
}

/* Helm's rule for release names (chartutil.ValidateReleaseName): at most
 * 53 characters of DNS-1123 subdomain. */
static int valid_release_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 53)
		return 0;
	int label_start = 1;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (c == '.') {
			if (label_start || name[i - 1] == '-')
				return 0;
			label_start = 1;
			continue;
		}
		if (!alnum && c != '-')
			return 0;
		if (label_start && c == '-')
			return 0;
		label_start = 0;
	}
	return !label_start && name[len - 1] != '-';
}

int rollback_ctx_dry_run(rollback_ctx *ctx)
{
	ctx->dry_run = ROLLBACK_DRY_RUN_NONE;
	const cli_command *cmd = ctx->args->command;
	if (cmd && strcmp(cmd->name, "plan") == 0)
		ctx->dry_run = ROLLBACK_DRY_RUN_CLIENT;
	int declared = 0;
	for (const cli_flag *f = cmd ? cmd->flags : NULL; f && f->name; f++)
		if (strcmp(f->name, "dry-run") == 0)
			declared = 1;
	if (!declared || !cli_flag_given(ctx->args, "dry-run"))
		return 0;
	const char *value = cli_flag_string(ctx->args, "dry-run");
	if (strcmp(value, "client") == 0 || strcmp(value, "true") == 0)
		ctx->dry_run = ROLLBACK_DRY_RUN_CLIENT;
	else if (strcmp(value, "server") == 0)
		ctx->dry_run = ROLLBACK_DRY_RUN_SERVER;
	else if (strcmp(value, "none") != 0 && strcmp(value, "false") != 0)
		return cli_usage_error(ctx->args,
		                       "invalid --dry-run value \"%.64s\": must be \"none\", \"server\", or \"client\"",
		                       value);
	return 0;
}

int rollback_ctx_open(rollback_ctx *ctx, const cli_args *args)
{
	int rc;
	memset(ctx, 0, sizeof(*ctx));
	ctx->args = args;
	if ((rc = rollback_ctx_dry_run(ctx)))
		return rc;
	if (args->positional_count > 0) {
		ctx->release = args->positional[0];
		if (!valid_release_name(ctx->release))
			return cli_usage_error(args,
			                       "invalid release name \"%.64s\": at most 53 lower-case letters, digits, "
			                       "'-' and '.', starting and ending with a letter or digit",
			                       ctx->release);
	}
	if ((rc = pick_driver(ctx)))
		return rc;
	if ((rc = kube_config_load(&ctx->config, &args->config)))
		return cli_error_kube(NULL, rc);
	if ((rc = kube_client_new(&ctx->client, ctx->config, NULL)))
		return cli_error_kube(NULL, rc);
	ctx->ns = kube_config_namespace(ctx->config);
	return 0;
}

void rollback_ctx_close(rollback_ctx *ctx)
{
	rollback_history_clear(&ctx->history);
	kube_client_free(ctx->client);
	kube_config_free(ctx->config);
	memset(ctx, 0, sizeof(*ctx));
}
