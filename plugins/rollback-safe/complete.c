/* Completion for helm rollback-safe: release names and their revisions
 * from Helm's storage (Secrets, or ConfigMaps with HELM_DRIVER=configmap),
 * read through label-selected, metadata-only LISTs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/complete.h"
#include "commands.h"
#include "rollback.h"

/* The storage the release records are in, as Helm picks it from
 * HELM_DRIVER (rollback_ctx_open does the same, with its errors); NULL
 * for the drivers whose records are not in the cluster. */
static const kube_resource *storage(void)
{
	const char *driver = getenv("HELM_DRIVER");
	if (!driver || !driver[0] || strcmp(driver, "secret") == 0 || strcmp(driver, "secrets") == 0)
		return &rollback_res_secrets;
	if (strcmp(driver, "configmap") == 0 || strcmp(driver, "configmaps") == 0)
		return &rollback_res_configmaps;
	return NULL;
}

static const char *label(const json_t *item, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(item, "metadata"), "labels"), key));
}

static void add_release(cli_completion *c, const json_t *item, void *user)
{
	(void)user;
	const char *name = label(item, "name");
	if (name)
		cli_complete_add(c, name, NULL);
}

static void add_revision(cli_completion *c, const json_t *item, void *user)
{
	(void)user;
	const char *version = label(item, "version");
	if (version)
		cli_complete_add(c, version, label(item, "status"));
}

void rollback_complete(cli_completion *c, const cli_complete_request *req)
{
	const kube_resource *res = storage();
	char selector[320];
	if (req->flag || !res)
		return;
	if (req->position == 0) {
		(void)cli_complete_list(c, req, res, "owner=helm", add_release, NULL);
	} else if (req->position == 1) {
		if (req->args->positional_count < 1 || !req->args->positional[0])
			return;
		const char *release = req->args->positional[0];
		if (strpbrk(release, ",=!() ") ||
		    (size_t)snprintf(selector, sizeof(selector), "owner=helm,name=%s", release) >= sizeof(selector))
			return;
		(void)cli_complete_list(c, req, res, selector, add_revision, NULL);
	}
}
