/* kubectl-canary: controller-less progressive delivery for Deployments,
 * invoked by kubectl as `kubectl canary ...`. */
#include "cli/command.h"
#include "commands.h"

static const cli_program canary_program = {
        .name = "kubectl canary",
        .binary = "kubectl-canary",
        .summary = "Controller-less progressive delivery for Deployments",
        .description = "Controller-less progressive delivery for Deployments: a canary ladder with health and\n"
                       "metric gates, promotion and instant abort, all state kept in the cluster.",
        .examples = "  # Print the version\n"
                    "  kubectl canary version",
        .commands = canary_commands,
};

int main(int argc, char **argv)
{
	return cli_main(&canary_program, argc, argv);
}
