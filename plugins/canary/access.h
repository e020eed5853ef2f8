/* Before a command's first change: does the user hold every verb the
 * command will need? A verb refused halfway (after D's intent is written)
 * would leave a half-made change; asked first, a missing one changes
 * nothing. */
#ifndef ROLLGUARD_CANARY_ACCESS_H
#define ROLLGUARD_CANARY_ACCESS_H

#include <stddef.h>

#include "canary.h"

typedef struct canary_need {
	const char *group;    /* "" for the core group */
	const char *resource; /* e.g. "deployments" */
	const char *verb;     /* e.g. "create" */
} canary_need;

/* One SelfSubjectRulesReview of ctx->ns, then each of needs[0..n) checked
 * against its rules. A need no rule grants: one error line in the API
 * server's own words ("cannot VERB resource ..."), exit 4, nothing
 * changed. When the review cannot answer (refused, or incomplete: an
 * authorizer that does not list rules), the command goes on and the
 * server decides each request. A dry run checks nothing. Returns 0 or an
 * exit code. The rules of a complete review are cached for ten minutes
 * (kube_rules_review): when the cached rules grant every need, no request
 * is sent; they never refuse one, a need they lack is asked of the server
 * afresh. */
int canary_access_check(canary_ctx *ctx, const canary_need *needs, size_t n);

/* What each command needs beyond reading D (docs/canary.md, RBAC): start
 * writes D's intent, then creates D-canary and watches its pods; the
 * finish and abort patch D, wait for its rollout, then delete D-canary;
 * run does all of it. Optional verbs (Leases, Events, HPAs, router
 * detection) are not asked for: without them the command falls back. */
extern const canary_need canary_needs_start[3];
extern const canary_need canary_needs_finish[3];
extern const canary_need canary_needs_run[5];
#define CANARY_NEEDS(list) (list), (sizeof(list) / sizeof((list)[0]))

/* 1 when rules (a SelfSubjectRulesReview's status.resourceRules) grant
 * verb on group/resource; 0 when none does. */
int canary_rules_allow(const json_t *rules, const char *group, const char *resource, const char *verb);

#endif
