/* No core dumps: the process hardening cli_main applies first. */
#include <sys/resource.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli/harden.h"

int cli_harden_process(void)
{
	const struct rlimit none = {0, 0};
	int rc = setrlimit(RLIMIT_CORE, &none) == 0 ? 0 : -1;
#ifdef __linux__
	/* The limit alone does not stop a core_pattern pipe (systemd-coredump,
	 * apport): the kernel starts the helper whatever the limit and leaves
	 * the decision to it. A process that is not dumpable gets no core at
	 * all (with the default fs.suid_dumpable 0). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		rc = -1;
#endif
	return rc;
}
