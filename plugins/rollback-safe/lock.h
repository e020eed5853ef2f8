/* Helm's pending-* "lock" and rollback-safe's own run record.
 *
 * A release whose newest revision is pending-install, pending-upgrade or
 * pending-rollback refuses every upgrade ("another operation ... is in
 * progress"). unlock marks such a revision failed, body and label
 * together, with a description naming the old status; it never deletes a
 * record and refuses while the revision is younger than --lock-timeout
 * unless --force-unlock.
 *
 * While a rollback executes, the Lease rollguard-release-<name> names the
 * run, the revision its helm child is creating and the target, so a re-run
 * after a crash recognises that revision's pending-rollback as its own and
 * repairs it without waiting out --lock-timeout, or resumes verification
 * when helm had finished. */
#ifndef ROLLBACK_LOCK_H
#define ROLLBACK_LOCK_H

#include <kube/lease.h>

#include "rollback.h"

/* What the run Lease says (rollback_run_read). */
typedef struct rollback_run {
	int present;
	char run_id[32];
	long long revision; /* the revision the run's helm child creates */
	long long target;   /* the revision it rolls back to */
	kube_lease_holder holder;
} rollback_run;

/* The Lease's holderIdentity for a run:
 * "helm-rollback-safe/<run>/r<revision>/t<target>/<host>/<pid>". */
void rollback_run_format(char *buf, size_t size, const char *run_id, long long revision, long long target);
/* Parses a holderIdentity written by rollback_run_format into out's run
 * fields. Pure. Returns 0, or -1 when holder is not one of ours. */
int rollback_run_parse(rollback_run *out, const char *holder);
/* A fresh run id (time and randomness, 12 characters). */
void rollback_run_new_id(char *buf, size_t size);
/* The run Lease's name for the release, into buf. */
void rollback_run_lease_name(const rollback_ctx *ctx, char *buf, size_t size);

/* Whether rec (read) is the revision the helm of run run_id created on
 * its way to target: its description is Helm's "Rollback to <target>",
 * or the one rollback-safe passes on Helm >= 4.3, which names the run. A
 * revision number in the run's Lease is not enough: a fix-forward upgrade
 * or someone else's plain helm rollback may have taken that number. */
int rollback_run_owns(const rollback_record *rec, const char *run_id, long long target);

/* Deletes the run Lease once the run's revision was repaired by someone
 * else than the run (unlock), so no later command takes it for an
 * unfinished run. Best effort: failures are logged at -v 4. */
void rollback_run_forget(rollback_ctx *ctx);

/* Reads the run Lease of ctx->release. Absent, or not ours: out->present
 * 0. Returns 0 or the exit code (printed). */
int rollback_run_read(rollback_ctx *ctx, rollback_run *out);

/* Waits while run's Lease is held and renewed: returns 0 once it expired
 * (its holder died: the caller may take over), CLI_EXIT_CONFLICT (printed)
 * when the holder renewed it (alive), or an exit code. */
int rollback_run_wait_expired(rollback_ctx *ctx, rollback_run *run);

/* Checks whether the pending newest revision last may be unlocked now:
 * its age (by modifiedAt/createdAt) against lock_timeout_ms unless force.
 * Returns 0, or CLI_EXIT_REFUSED after printing the revision, its status
 * and age and a hint. */
int rollback_unlock_check(rollback_ctx *ctx, const rollback_record *last, long lock_timeout_ms, int force);

/* Marks last failed, body and label, with the description
 * "<why> (was <old status>: <old description>)", and records an Event.
 * Returns 0 or the exit code (printed). */
int rollback_unlock_apply(rollback_ctx *ctx, rollback_record *last, const char *why);

/* Test builds: when ROLLGUARD_TEST_KILL_AT names point, SIGKILL self. */
void rollback_kill_point(const char *point);

#endif
