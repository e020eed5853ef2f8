/* Tests of plugins/rollback-safe/target.c (which revision a rollback goes
 * back to, and why others are skipped) and of the run Lease's holder
 * identity in lock.c, which a re-run after a crash parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lock.h"
#include "target.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* rollback_target_choose over a history of revisions 1..n whose statuses
 * are spelled one letter each: s superseded, d deployed, f failed,
 * u uninstalled, i pending-install, p pending-upgrade. */
static int choose(rollback_target *out, const char *statuses, long long requested, int allow_failed)
{
	static const char letters[] = "sdfuip";
	static const enum rollback_status by_letter[] = {
	        ROLLBACK_STATUS_SUPERSEDED,  ROLLBACK_STATUS_DEPLOYED,        ROLLBACK_STATUS_FAILED,
	        ROLLBACK_STATUS_UNINSTALLED, ROLLBACK_STATUS_PENDING_INSTALL, ROLLBACK_STATUS_PENDING_UPGRADE,
	};
	rollback_record items[16];
	size_t n = strlen(statuses);
	assert_true(n <= ARRAY_SIZE(items));
	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < n; i++) {
		items[i].revision = (long long)i + 1;
		const char *letter = strchr(letters, statuses[i]);
		if (!letter)
			fail_msg("unknown status letter '%c'", statuses[i]);
		items[i].status = by_letter[letter - letters];
		items[i].status_known = 1;
	}
	rollback_history history = {items, n};
	return rollback_target_choose(out, &history, requested, allow_failed);
}

static void test_rollback_target__default_skips_failed_and_pending(void **state)
{
	(void)state;
	rollback_target t;
	assert_int_equal(choose(&t, "ssfpf", 0, 0), ROLLBACK_TARGET_OK);
	assert_int_equal(t.current, 5);
	assert_int_equal(t.target, 2);
	/* 4 and 3 passed over, newest first; the current revision is not a
	 * candidate, so it is not "skipped" */
	assert_int_equal(t.skipped_count, 2);
	assert_int_equal(t.skipped[0].revision, 4);
	assert_string_equal(t.skipped[0].reason, "pending-upgrade: the operation never finished");
	assert_int_equal(t.skipped[1].revision, 3);
	assert_string_equal(t.skipped[1].reason, "failed");
}

static void test_rollback_target__default_is_helms_previous_when_it_is_good(void **state)
{
	(void)state;
	rollback_target t;
	assert_int_equal(choose(&t, "sd", 0, 0), ROLLBACK_TARGET_OK);
	assert_int_equal(t.target, 1);
	assert_int_equal(t.skipped_count, 0);
}

static void test_rollback_target__no_good_revision_below_current(void **state)
{
	(void)state;
	rollback_target t;
	assert_int_equal(choose(&t, "fud", 0, 0), ROLLBACK_TARGET_NONE);
	assert_int_equal(t.target, 0);
	assert_int_equal(t.skipped_count, 2);
	assert_string_equal(t.skipped[0].reason, "uninstalled");

	/* a lone pending-install: nothing to go back to (Helm's own rollback
	 * fails the same way, "release has no 0 version") */
	assert_int_equal(choose(&t, "i", 0, 0), ROLLBACK_TARGET_NONE);
	assert_int_equal(t.skipped_count, 0);
}

static void test_rollback_target__explicit_revision(void **state)
{
	(void)state;
	rollback_target t;
	assert_int_equal(choose(&t, "sfd", 1, 0), ROLLBACK_TARGET_OK);
	assert_int_equal(t.target, 1);
	/* a failed target needs --allow-failed-target, and says why */
	assert_int_equal(choose(&t, "sfd", 2, 0), ROLLBACK_TARGET_UNSAFE);
	assert_int_equal(t.skipped_count, 1);
	assert_string_equal(t.skipped[0].reason, "failed");
	assert_int_equal(choose(&t, "sfd", 2, 1), ROLLBACK_TARGET_OK);
	assert_int_equal(t.target, 2);
	/* the current revision itself may be re-applied */
	assert_int_equal(choose(&t, "sfd", 3, 0), ROLLBACK_TARGET_OK);
	assert_int_equal(choose(&t, "sfd", 9, 1), ROLLBACK_TARGET_MISSING);
}

static void test_rollback_target__histories_with_gaps(void **state)
{
	(void)state;
	/* pruned history: revisions 7, 8, 11 */
	rollback_record items[3];
	memset(items, 0, sizeof(items));
	items[0].revision = 7;
	items[0].status = ROLLBACK_STATUS_SUPERSEDED;
	items[1].revision = 8;
	items[1].status = ROLLBACK_STATUS_FAILED;
	items[2].revision = 11;
	items[2].status = ROLLBACK_STATUS_PENDING_ROLLBACK;
	rollback_history h = {items, 3};
	rollback_target t;
	assert_int_equal(rollback_target_choose(&t, &h, 0, 0), ROLLBACK_TARGET_OK);
	assert_int_equal(t.current, 11);
	assert_int_equal(t.target, 7);
	assert_int_equal(rollback_target_choose(&t, &h, 9, 0), ROLLBACK_TARGET_MISSING);
	rollback_history empty = {NULL, 0};
	assert_int_equal(rollback_target_choose(&t, &empty, 0, 0), ROLLBACK_TARGET_NONE);
}

static void test_rollback_target__reasons(void **state)
{
	(void)state;
	char buf[160];
	rollback_target_reason(buf, sizeof(buf), ROLLBACK_STATUS_SUPERSEDED, "Upgrade complete");
	assert_string_equal(buf, "");
	rollback_target_reason(buf, sizeof(buf), ROLLBACK_STATUS_FAILED, "Upgrade \"web\" failed: timed out");
	assert_string_equal(buf, "failed: Upgrade \"web\" failed: timed out");
	rollback_target_reason(buf, sizeof(buf), ROLLBACK_STATUS_PENDING_ROLLBACK, NULL);
	assert_string_equal(buf, "pending-rollback: the operation never finished");
	rollback_target_reason(buf, sizeof(buf), ROLLBACK_STATUS_UNKNOWN, "");
	assert_string_equal(buf, "status unknown");
	assert_true(rollback_status_is_good(ROLLBACK_STATUS_DEPLOYED));
	assert_false(rollback_status_is_good(ROLLBACK_STATUS_PENDING_INSTALL));
}

static void test_rollback_run__holder_round_trip(void **state)
{
	(void)state;
	char holder[256];
	rollback_run run;
	rollback_run_format(holder, sizeof(holder), "abcd12345678", 12, 9);
	assert_int_equal(strncmp(holder, "helm-rollback-safe/abcd12345678/r12/t9/", 39), 0);
	memset(&run, 0, sizeof(run));
	assert_int_equal(rollback_run_parse(&run, holder), 0);
	assert_string_equal(run.run_id, "abcd12345678");
	assert_int_equal(run.revision, 12);
	assert_int_equal(run.target, 9);
}

static void test_rollback_run__foreign_holders_are_not_runs(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "",
	        "kubectl-canary/host/1/abcd",
	        "helm-rollback-safe/",
	        "helm-rollback-safe//r1/t1/h/1",
	        "helm-rollback-safe/id/r0/t1/h/1",
	        "helm-rollback-safe/id/r2/t/h/1",
	        "helm-rollback-safe/id/x2/t1/h/1",
	        "helm-rollback-safe/an-id-far-too-long-to-be-one-of-ours/r2/t1/h/1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		rollback_run run;
		memset(&run, 0, sizeof(run));
		assert_int_equal(rollback_run_parse(&run, bad[i]), -1);
	}
	rollback_run run;
	assert_int_equal(rollback_run_parse(&run, NULL), -1);
}

static void test_rollback_run__owns_only_its_own_revision(void **state)
{
	(void)state;
	static const struct {
		const char *description;
		int owned;
	} cases[] = {
	        {"Rollback to 2", 1},                                    /* Helm 3, Helm 4 < 4.3 */
	        {"Rollback to 2 by helm rollback-safe (run abc123)", 1}, /* --description */
	        {"Rollback to 2 by helm rollback-safe (run other1)", 0}, /* another run */
	        {"Rollback to 21", 0},
	        {"Rollback to 3", 0},
	        {"Upgrade complete", 0}, /* a fix-forward upgrade took the number */
	        {"Preparing upgrade", 0},
	        {"", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		rollback_record rec;
		memset(&rec, 0, sizeof(rec));
		rec.release = json_pack("{s:{s:s}}", "info", "description", cases[i].description);
		assert_non_null(rec.release);
		assert_int_equal(rollback_run_owns(&rec, "abc123", 2), cases[i].owned);
		json_decref(rec.release);
	}
	rollback_record unread;
	memset(&unread, 0, sizeof(unread));
	assert_int_equal(rollback_run_owns(&unread, "abc123", 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rollback_target__default_skips_failed_and_pending),
	        cmocka_unit_test(test_rollback_target__default_is_helms_previous_when_it_is_good),
	        cmocka_unit_test(test_rollback_target__no_good_revision_below_current),
	        cmocka_unit_test(test_rollback_target__explicit_revision),
	        cmocka_unit_test(test_rollback_target__histories_with_gaps),
	        cmocka_unit_test(test_rollback_target__reasons),
	        cmocka_unit_test(test_rollback_run__holder_round_trip),
	        cmocka_unit_test(test_rollback_run__foreign_holders_are_not_runs),
	        cmocka_unit_test(test_rollback_run__owns_only_its_own_revision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
