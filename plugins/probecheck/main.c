/* kubectl-probecheck: audits liveness, readiness and startup probes and
 * rollout hygiene, invoked by kubectl as `kubectl probecheck ...`. */
#include "cli/command.h"
#include "commands.h"

static const cli_program probecheck_program = {
        .name = "kubectl probecheck",
        .binary = "kubectl-probecheck",
        .summary = "Audit liveness, readiness and startup probes and rollout hygiene",
        .description = "Audit liveness, readiness and startup probes and rollout hygiene: statically (manifest\n"
                       "files with -f, no cluster needed, or live objects), from live evidence (pod status,\n"
                       "restarts, events), and by running each probe through the API server (--exercise).",
        .examples = "  # Audit the workloads in a manifest\n"
                    "  kubectl probecheck -f deploy.yaml\n"
                    "\n"
                    "  # Audit a rendered Helm chart, as SARIF\n"
                    "  helm template ./chart | kubectl probecheck -f - -o sarif\n"
                    "\n"
                    "  # List the checks\n"
                    "  kubectl probecheck checks",
        .commands = probecheck_commands,
        .default_command = &probecheck_audit_command,
};

int main(int argc, char **argv)
{
	return cli_main(&probecheck_program, argc, argv);
}
