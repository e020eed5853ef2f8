/* The shared CLI helpers of the rollguard plugins, in one include.
 *
 * Conventions: a function here that can fail prints its own one-line
 * "error: ..." on stderr and returns the exit code to use (enum cli_exit;
 * 0 is success), so a command can pass it straight up. Functions that
 * return a pointer return NULL when memory runs out and print nothing;
 * cli_redact and cli_*_format, which fill a kube_buf, return KUBE_ENOMEM
 * as kube_buf does. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "cli/color.h"
#include "cli/command.h"
#include "cli/exit.h"
#include "cli/flags.h"
#include "cli/harden.h"
#include "cli/helm_env.h"
#include "cli/help.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/redact.h"
#include "cli/table.h"
#include "cli/version.h"
#include "cli/vlog.h"

#endif
