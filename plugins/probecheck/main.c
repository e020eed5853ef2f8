/* kubectl-probecheck: audits liveness, readiness and startup probes and
 * rollout hygiene, invoked by kubectl as `kubectl probecheck ...`. */
#include "cli/command.h"
#include "commands.h"

static const cli_program probecheck_program = {
        .name = "kubectl probecheck",
        .binary = "kubectl-probecheck",
        .summary = "Audit liveness, readiness and startup probes and rollout hygiene",
        .description = "Audit liveness, readiness and startup probes and rollout hygiene: statically, from live\n"
                       "evidence, and by running each probe through the API server.",
        .examples = "  # Print the version\n"
                    "  kubectl probecheck version",
        .commands = probecheck_commands,
};

int main(int argc, char **argv)
{
	return cli_main(&probecheck_program, argc, argv);
}
