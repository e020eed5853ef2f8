/* Completion for kubectl canary: Deployment names from the cluster and
 * the values of the flags that take one of a few words. */
#include "cli/complete.h"
#include "commands.h"
#include "router.h"

void canary_complete(cli_completion *c, const cli_complete_request *req)
{
	static const char *const strategies[] = {"canary", "blue-green", NULL};
	static const char *const actions[] = {"abort", "hold", NULL};
	static const char *const dry_run_modes[] = {"none", "client", "server", NULL};
	if (!req->flag) {
		if (req->position == 0)
			(void)cli_complete_names(c, req, &canary_res_deployments, NULL);
		return;
	}
	if (cli_complete_flag_is(req, "router")) {
		/* blue-green is chosen with --strategy, not --router */
		for (int i = 0; canary_routers[i]; i++)
			if (canary_routers[i] != &canary_router_bluegreen)
				cli_complete_add(c, canary_routers[i]->name, NULL);
	} else if (cli_complete_flag_is(req, "strategy")) {
		cli_complete_add_list(c, strategies);
	} else if (cli_complete_flag_is(req, "on-timeout") || cli_complete_flag_is(req, "on-interrupt")) {
		cli_complete_add_list(c, actions);
	} else if (cli_complete_flag_is(req, "dry-run")) {
		cli_complete_add_list(c, dry_run_modes);
	}
}
