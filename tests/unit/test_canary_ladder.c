/* Tests of plugins/canary/ladder.c: --steps and --pause parsing and
 * formatting, the replicas router's split and the unreachable-rung
 * warnings, table-driven. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kube/buf.h>

#include "ladder.h"

#define MAX_CASE_STEPS 6

static void assert_one_line(const char *text)
{
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			fail_msg("control character 0x%02x in \"%s\"", (unsigned char)*c, text);
	}
}

static void test_canary_ladder__defaults(void **state)
{
	canary_ladder ladder;
	char err[256] = "";
	(void)state;
	assert_int_equal(canary_ladder_parse(&ladder, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(ladder.count, 4);
	assert_int_equal(ladder.steps[0], 5);
	assert_int_equal(ladder.steps[1], 25);
	assert_int_equal(ladder.steps[2], 50);
	assert_int_equal(ladder.steps[3], 100);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ladder.pauses_s[i], 300);
	assert_int_equal(ladder.pauses_s[3], 0); /* the last rung has no pause */
}

static const struct {
	const char *steps, *pauses;
	int count;
	int weights[MAX_CASE_STEPS];
	long pauses_s[MAX_CASE_STEPS];
} valid_ladders[] = {
        {"5,25,50,100", "10m,10m,15m", 4, {5, 25, 50, 100}, {600, 600, 900}},
        /* 100 is appended, and the pauses count the appended rung */
        {"5,25,50", "10m,10m,15m", 4, {5, 25, 50, 100}, {600, 600, 900}},
        /* one pause for every rung */
        {"10,20", "1m", 3, {10, 20, 100}, {60, 60}},
        {"10,20,30,40,100", "45s", 5, {10, 20, 30, 40, 100}, {45, 45, 45, 45}},
        {"50", "inf", 2, {50, 100}, {CANARY_PAUSE_INDEFINITE}},
        {"5,25,50,100", "10m,inf,0", 4, {5, 25, 50, 100}, {600, CANARY_PAUSE_INDEFINITE, 0}},
        {"1,2,3", "0,30s,1h30m", 4, {1, 2, 3, 100}, {0, 30, 5400}},
        /* a bare number is seconds; sub-second pauses round up */
        {"5", "90", 2, {5, 100}, {90}},
        {"5", "500ms", 2, {5, 100}, {1}},
        {"5", "1.5s", 2, {5, 100}, {2}},
        {"5", "2h0m30s", 2, {5, 100}, {7230}},
        {"5", "8784h", 2, {5, 100}, {8784L * 3600}},
        /* straight to 100: no rung needs a pause */
        {"100", "5m", 1, {100}, {0}},
        {"100", NULL, 1, {100}, {0}},
        {NULL, "0", 4, {5, 25, 50, 100}, {0, 0, 0}},
        {" 5 , 25\t,50 ", " 1m , 2m,3m ", 4, {5, 25, 50, 100}, {60, 120, 180}},
        {"005,025", "1m", 3, {5, 25, 100}, {60, 60}},
        {"1,99", "1s,2s", 3, {1, 99, 100}, {1, 2}},
};

static void test_canary_ladder__parses_valid_flags(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_ladders) / sizeof(valid_ladders[0]); i++) {
		canary_ladder ladder;
		char err[256] = "";
		int rc =
		        canary_ladder_parse(&ladder, valid_ladders[i].steps, valid_ladders[i].pauses, err, sizeof(err));
		if (rc != 0)
			fail_msg("case %zu (%s / %s): %s", i, valid_ladders[i].steps, valid_ladders[i].pauses, err);
		assert_int_equal(ladder.count, valid_ladders[i].count);
		for (int s = 0; s < ladder.count; s++)
			assert_int_equal(ladder.steps[s], valid_ladders[i].weights[s]);
		for (int s = 0; s < ladder.count - 1; s++) {
			if (ladder.pauses_s[s] != valid_ladders[i].pauses_s[s])
				fail_msg("case %zu: pause %d is %ld, want %ld", i, s, ladder.pauses_s[s],
				         valid_ladders[i].pauses_s[s]);
		}
	}
}

static const struct {
	const char *steps, *pauses, *needle;
} invalid_ladders[] = {
        {"0", NULL, "--steps: 0: weights must be 1 to 100"},
        {"101", NULL, "--steps: 101: weights must be 1 to 100"},
        {"5,1000000000000000000000", NULL, "weights must be 1 to 100"},
        {"abc", NULL, "--steps: \"abc\" is not a whole number"},
        {"5,x,50", NULL, "\"x\" is not a whole number"},
        {"-5", NULL, "\"-5\" is not a whole number"},
        {"+5", NULL, "\"+5\" is not a whole number"},
        {"5.5", NULL, "\"5.5\" is not a whole number"},
        {"5%", NULL, "\"5%\" is not a whole number"},
        {"5 25", NULL, "\"5 25\" is not a whole number"},
        {"50,25", NULL, "--steps: 25 after 50: weights must increase"},
        {"5,25,50,60,50", NULL, "--steps: 50 after 60: weights must increase"},
        {"25,25", NULL, "--steps: 25 after 25: weights must increase"},
        {"5,100,50", NULL, "50 after 100: weights must increase"},
        {"", NULL, "--steps: empty"},
        {"5,,25", NULL, "--steps: empty item"},
        {",5", NULL, "--steps: empty item"},
        {"5,", NULL, "--steps: empty item"},
        {" , ", NULL, "--steps: empty item"},
        /* 33 rungs */
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,100", "0",
         "--steps: more than 32 steps"},
        /* 32 given, and 100 would be the 33rd */
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32", "0",
         "--steps: more than 32 steps"},
        {"5,25,50,100", "1m,1m", "--pause: 2 values for 4 steps: give 3 (one per step but the last) or 1 for all"},
        {"5,25,50", "1m,1m,1m,1m", "--pause: 4 values for 4 steps"},
        {"100", "1m,1m", "--pause: 2 values for 1 step: give 0"},
        {"5,25,50,100", "", "--pause: empty"},
        {"5,25,50,100", "1m,,1m", "--pause: empty item"},
        {"5,25,50,100", "abc", "--pause: \"abc\" is not a duration (0, 30s, 10m, 1h30m or inf)"},
        {"5,25,50,100", "-5m", "\"-5m\" is not a duration"},
        {"5,25,50,100", "-5", "\"-5\" is not a duration"},
        {"5,25,50,100", "10x", "\"10x\" is not a duration"},
        {"5,25,50,100", "Inf", "\"Inf\" is not a duration"},
        {"5,25,50,100", "infinity", "\"infinity\" is not a duration"},
        {"5,25,50,100", "1m 30s", "\"1m 30s\" is not a duration"},
        {"5,25,50,100", "8785h", "--pause: 8785h is longer than 8784h: use inf to wait for a manual promote"},
        {"5,25,50,100", "99999999999999999999h", "is not a duration"},
        {"5,25,50,100",
         "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111m",
         "\"1111111111111111111111111111111111111111...\" is not a duration"},
        {"5,25,50,100", "1m\n", "\"1m?\" is not a duration"},
        {"5,\x01", NULL, "\"?\" is not a whole number"},
};

static void test_canary_ladder__rejects_bad_flags(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid_ladders) / sizeof(invalid_ladders[0]); i++) {
		canary_ladder ladder;
		char err[256] = "";
		memset(&ladder, 0x5a, sizeof(ladder));
		int rc = canary_ladder_parse(&ladder, invalid_ladders[i].steps, invalid_ladders[i].pauses, err,
		                             sizeof(err));
		if (rc != -1)
			fail_msg("case %zu (%s / %s) was accepted", i, invalid_ladders[i].steps,
			         invalid_ladders[i].pauses);
		if (!strstr(err, invalid_ladders[i].needle))
			fail_msg("case %zu: \"%s\" does not hold \"%s\"", i, err, invalid_ladders[i].needle);
		assert_one_line(err);
		assert_int_equal(ladder.count, 0); /* nothing half-parsed */
	}
}

static void test_canary_ladder__error_fits_small_buffers(void **state)
{
	canary_ladder ladder;
	char err[8];
	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(canary_ladder_parse(&ladder, "50,25", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "--steps");
	assert_int_equal(canary_ladder_parse(&ladder, "0", NULL, NULL, 0), -1);
}

static const struct {
	long pause_s;
	const char *text;
} pause_texts[] = {
        {0, "0"},
        {1, "1s"},
        {30, "30s"},
        {60, "1m"},
        {90, "1m30s"},
        {600, "10m"},
        {3600, "1h"},
        {3661, "1h1m1s"},
        {3630, "1h30s"},
        {5400, "1h30m"},
        {86400, "24h"},
        {8784L * 3600, "8784h"},
        {CANARY_PAUSE_INDEFINITE, "inf"},
};

static void test_canary_ladder__formats_pauses_as_written(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pause_texts) / sizeof(pause_texts[0]); i++) {
		char text[32];
		canary_ladder ladder;
		canary_pause_format(text, sizeof(text), pause_texts[i].pause_s);
		assert_string_equal(text, pause_texts[i].text);
		/* and --pause reads it back as the same pause */
		assert_int_equal(canary_ladder_parse(&ladder, "5", text, NULL, 0), 0);
		assert_int_equal(ladder.pauses_s[0], pause_texts[i].pause_s);
	}
	/* every pause up to two days survives the round trip */
	for (long pause_s = 0; pause_s <= 2 * 86400; pause_s += 7) {
		char text[32];
		canary_ladder ladder;
		canary_pause_format(text, sizeof(text), pause_s);
		assert_int_equal(canary_ladder_parse(&ladder, "5", text, NULL, 0), 0);
		assert_int_equal(ladder.pauses_s[0], pause_s);
	}
}

static void test_canary_ladder__pause_format_truncates_safely(void **state)
{
	char text[3];
	(void)state;
	memset(text, 'x', sizeof(text));
	canary_pause_format(text, sizeof(text), 5400);
	assert_string_equal(text, "1h");
	canary_pause_format(text, 1, 5400);
	assert_string_equal(text, "");
}

static void test_canary_ladder__formats_steps_and_pauses(void **state)
{
	static const struct {
		const char *steps, *pauses, *steps_text, *pauses_text;
	} cases[] = {
	        {"5,25,50", "10m,10m,inf", "5,25,50,100", "10m,10m,inf"},
	        {"10", "90s", "10,100", "1m30s"},
	        {"1,2", "0", "1,2,100", "0,0"},
	        {"100", "1m", "100", ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		canary_ladder ladder, again;
		kube_buf steps = KUBE_BUF_INIT, pauses = KUBE_BUF_INIT;
		assert_int_equal(canary_ladder_parse(&ladder, cases[i].steps, cases[i].pauses, NULL, 0), 0);
		assert_int_equal(canary_ladder_format_steps(&steps, &ladder), 0);
		assert_int_equal(canary_ladder_format_pauses(&pauses, &ladder), 0);
		assert_string_equal(kube_buf_cstr(&steps), cases[i].steps_text);
		assert_string_equal(kube_buf_cstr(&pauses), cases[i].pauses_text);
		/* the formatted flags parse to the same ladder */
		assert_int_equal(canary_ladder_parse(&again, kube_buf_cstr(&steps),
		                                     ladder.count > 1 ? kube_buf_cstr(&pauses) : NULL, NULL, 0),
		                 0);
		assert_int_equal(again.count, ladder.count);
		for (int s = 0; s < ladder.count; s++) {
			assert_int_equal(again.steps[s], ladder.steps[s]);
			assert_int_equal(again.pauses_s[s], ladder.pauses_s[s]);
		}
		kube_buf_dispose(&steps);
		kube_buf_dispose(&pauses);
	}
}

static const struct {
	int total, weight, hpa;
	int canary, stable;
	double reached;
} splits[] = {
        /* N = 1: one surge canary pod beside the stable one */
        {1, 5, 0, 1, 1, 50.0},
        {1, 50, 0, 1, 1, 50.0},
        {1, 99, 0, 1, 1, 50.0},
        /* N = 2: never more than N - 1 canary pods */
        {2, 5, 0, 1, 1, 50.0},
        {2, 50, 0, 1, 1, 50.0},
        {2, 99, 0, 1, 1, 50.0},
        /* N = 4 */
        {4, 5, 0, 1, 3, 25.0},
        {4, 25, 0, 1, 3, 25.0},
        {4, 50, 0, 2, 2, 50.0},
        {4, 75, 0, 3, 1, 75.0},
        {4, 99, 0, 3, 1, 75.0},
        /* N = 10 */
        {10, 5, 0, 1, 9, 10.0},
        {10, 25, 0, 3, 7, 30.0},
        {10, 50, 0, 5, 5, 50.0},
        {10, 99, 0, 9, 1, 90.0},
        {3, 33, 0, 1, 2, 100.0 / 3},
        {3, 34, 0, 2, 1, 200.0 / 3},
        {100, 5, 0, 5, 95, 5.0},
        {INT_MAX, 50, 0, 1073741824, 1073741823, 50.0},
        {INT_MAX, 1, 0, 21474837, INT_MAX - 21474837, 1.0},
        /* an HPA owns the replicas: stable stays N, canary on top */
        {1, 5, 1, 1, 1, 50.0},
        {1, 99, 1, 1, 1, 50.0},
        {4, 5, 1, 1, 4, 20.0},
        {4, 25, 1, 1, 4, 20.0},
        {4, 50, 1, 2, 4, 100.0 / 3},
        {4, 99, 1, 4, 4, 50.0},
        {10, 25, 1, 3, 10, 300.0 / 13},
        {10, 50, 1, 5, 10, 100.0 / 3},
};

static void test_canary_ladder__splits_replicas(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		canary_split split;
		memset(&split, 0x5a, sizeof(split));
		canary_split_replicas(&split, splits[i].total, splits[i].weight, splits[i].hpa);
		if (split.canary != splits[i].canary || split.stable != splits[i].stable)
			fail_msg("case %zu: N=%d w=%d hpa=%d gave %d/%d, want %d/%d", i, splits[i].total,
			         splits[i].weight, splits[i].hpa, split.canary, split.stable, splits[i].canary,
			         splits[i].stable);
		assert_int_equal(split.weight, splits[i].weight);
		assert_float_equal(split.weight_reached, splits[i].reached, 0.0001);
	}
}

static void test_canary_ladder__split_keeps_capacity(void **state)
{
	(void)state;
	/* Without an HPA: N pods in all (N + 1 when N = 1), stable >= 1. */
	for (int total = 1; total <= 60; total++) {
		for (int weight = 1; weight <= 99; weight++) {
			canary_split split;
			canary_split_replicas(&split, total, weight, 0);
			assert_true(split.canary >= 1);
			assert_true(split.stable >= 1);
			assert_int_equal(split.canary + split.stable, total == 1 ? 2 : total);
			canary_split_replicas(&split, total, weight, 1);
			assert_int_equal(split.stable, total);
			assert_true(split.canary >= 1 && split.canary <= total);
		}
	}
}

static const struct {
	const char *steps;
	int total, hpa;
	const char *text;
} unreachable[] = {
        {"5,25,50", 4, 0, "5% → 1/4 pods = 25%\n25% → same split as 5% (1/4 pods)\n"},
        {"5,25,50", 10, 0, "5% → 1/10 pods = 10%\n25% → 3/10 pods = 30%\n"},
        {"5,25,50", 100, 0, ""},
        {"5,10,25", 20, 0, ""},
        {"33", 3, 0, ""}, /* within a point of 33.3% */
        {"33,66", 3, 0, ""},
        {"30", 3, 0, "30% → 1/3 pods = 33.3%\n"},
        {"5,25,50", 1, 0,
         "5% → 1/2 pods = 50%\n25% → same split as 5% (1/2 pods)\n50% → same split as 5% (1/2 pods)\n"},
        /* a run of equal splits names the rung that set it */
        {"5,10,25,50", 4, 0,
         "5% → 1/4 pods = 25%\n10% → same split as 5% (1/4 pods)\n"
         "25% → same split as 5% (1/4 pods)\n"},
        {"5,25,50", 4, 1, "5% → 1/5 pods = 20%\n25% → same split as 5% (1/5 pods)\n50% → 2/6 pods = 33.3%\n"},
        {"100", 4, 0, ""},
};

static void test_canary_ladder__describes_unreachable_rungs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]); i++) {
		canary_ladder ladder;
		kube_buf text = KUBE_BUF_INIT;
		assert_int_equal(canary_ladder_parse(&ladder, unreachable[i].steps, "0", NULL, 0), 0);
		assert_int_equal(
		        canary_ladder_describe_unreachable(&text, &ladder, unreachable[i].total, unreachable[i].hpa),
		        0);
		if (strcmp(kube_buf_cstr(&text), unreachable[i].text) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i, kube_buf_cstr(&text), unreachable[i].text);
		kube_buf_dispose(&text);
	}
}

static void test_canary_ladder__describe_reports_a_full_buffer(void **state)
{
	canary_ladder ladder;
	kube_buf text = KUBE_BUF_INIT;
	(void)state;
	text.limit = 10;
	assert_int_equal(canary_ladder_parse(&ladder, "5,25", "0", NULL, 0), 0);
	assert_int_not_equal(canary_ladder_describe_unreachable(&text, &ladder, 4, 0), 0);
	kube_buf_dispose(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_ladder__defaults),
	        cmocka_unit_test(test_canary_ladder__parses_valid_flags),
	        cmocka_unit_test(test_canary_ladder__rejects_bad_flags),
	        cmocka_unit_test(test_canary_ladder__error_fits_small_buffers),
	        cmocka_unit_test(test_canary_ladder__formats_pauses_as_written),
	        cmocka_unit_test(test_canary_ladder__pause_format_truncates_safely),
	        cmocka_unit_test(test_canary_ladder__formats_steps_and_pauses),
	        cmocka_unit_test(test_canary_ladder__splits_replicas),
	        cmocka_unit_test(test_canary_ladder__split_keeps_capacity),
	        cmocka_unit_test(test_canary_ladder__describes_unreachable_rungs),
	        cmocka_unit_test(test_canary_ladder__describe_reports_a_full_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
