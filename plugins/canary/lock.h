/* The per-Deployment lock of kubectl canary (SPEC §3.4): a Lease
 * rollguard-canary-<D> held for one step, or, where the user may not use
 * Leases, an annotation on D guarded by resourceVersion. Also the test
 * builds' kill points. */
#ifndef CANARY_LOCK_H
#define CANARY_LOCK_H

#include "canary.h"

enum canary_lock_mode {
	/* start, promote, run: a live holder is a conflict (exit 6); a holder
	 * that stopped renewing (a killed process) is waited out. */
	CANARY_LOCK_STEP,
	/* abort: returns CLI_EXIT_CONFLICT at once when someone holds it, so
	 * the caller can ask the holder to abort instead. */
	CANARY_LOCK_TRY,
};

/* Takes the lock. Returns 0, CLI_EXIT_CONFLICT (printed in STEP mode),
 * or another exit code (printed). A dry run takes no lock. */
int canary_lock_acquire(canary_ctx *ctx, enum canary_lock_mode mode);

/* Keeps the lock alive from a wait loop: renews the Lease (or the
 * annotation lock) when a third of its duration has passed. Returns 0, or
 * CLI_EXIT_CONFLICT (printed) when another process took it meanwhile. */
int canary_lock_keep(canary_ctx *ctx);

/* Releases it (errors only logged). */
void canary_lock_release(canary_ctx *ctx);

/* The Lease duration: 15 s; test builds honour ROLLGUARD_TEST_LEASE_SECONDS. */
int canary_lock_duration_s(void);

/* Test builds: when ROLLGUARD_TEST_KILL_AT names point, the process kills
 * itself with SIGKILL (crash-safety tests). Release builds: nothing. */
void canary_kill_point(const char *point);

/* Test builds only: sleeps 5 s at point when ROLLGUARD_TEST_STALL_AT
 * names it, so a test can start a rival while this process holds the
 * lock (the duel in e2e/suites/test_canary.sh); a no-op otherwise. */
void canary_stall_point(const char *point);

#endif
