/* helm-rollback-safe: a Helm rollback that picks a known-good target and
 * checks before and after, invoked by Helm as `helm rollback-safe ...`. */
#include "cli/command.h"
#include "commands.h"

static const cli_program rollback_program = {
        .name = "helm rollback-safe",
        .binary = "helm-rollback-safe",
        .summary = "A Helm rollback that picks a known-good target, preflights it and verifies health",
        .description = "A Helm rollback that picks a known-good target, repairs stuck pending-* locks with an\n"
                       "audit trail, preflights what would break, executes, and verifies health.",
        .examples = "  # Roll web back to its last good revision, preflighted and verified\n"
                    "  helm rollback-safe web -n shop\n\n"
                    "  # Show the plan only\n"
                    "  helm rollback-safe plan web\n\n"
                    "  # Which revisions are safe targets\n"
                    "  helm rollback-safe history web\n\n"
                    "  # Repair a release stuck in pending-upgrade\n"
                    "  helm rollback-safe unlock web",
        .commands = rollback_commands,
        .default_command = &rollback_rollback_command,
        .helm_env = 1,
};

int main(int argc, char **argv)
{
	return cli_main(&rollback_program, argc, argv);
}
