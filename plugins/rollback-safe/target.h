/* Which revision a rollback goes back to (SPEC §5.2 Target), and why every
 * other revision is or is not a safe target. */
#ifndef ROLLBACK_TARGET_H
#define ROLLBACK_TARGET_H

#include <stddef.h>

#include "rollback.h"

#define ROLLBACK_MAX_SKIPPED 32

typedef struct rollback_skip {
	long long revision;
	enum rollback_status status;
	char reason[160];
} rollback_skip;

typedef struct rollback_target {
	long long current; /* the newest revision, any status */
	long long target;  /* 0 until chosen */
	rollback_skip skipped[ROLLBACK_MAX_SKIPPED];
	size_t skipped_count;
} rollback_target;

enum rollback_target_result {
	ROLLBACK_TARGET_OK = 0,
	ROLLBACK_TARGET_MISSING = -1, /* the requested revision is not in the history */
	ROLLBACK_TARGET_NONE = -2,    /* no deployed/superseded revision below the current one */
	ROLLBACK_TARGET_UNSAFE = -3,  /* the requested revision is failed/pending/... without allow_failed */
};

/* 1 when a revision of this status is a known-good target. */
int rollback_status_is_good(enum rollback_status status);

/* Why a revision of status is not a safe target ("failed: <desc>"), into
 * buf; "" for a good one. description may be NULL. */
void rollback_target_reason(char *buf, size_t size, enum rollback_status status, const char *description);

/* Chooses the target from history (statuses as known: labels, or bodies
 * once read). requested 0: the newest deployed/superseded revision below
 * the newest one, every revision passed over listed in out->skipped with
 * its reason; else that revision, which must exist and, unless
 * allow_failed, be deployed or superseded. Pure. Returns
 * enum rollback_target_result. */
int rollback_target_choose(rollback_target *out, const rollback_history *history, long long requested,
                           int allow_failed);

#endif
