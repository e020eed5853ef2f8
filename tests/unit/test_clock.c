/* Tests for clock.c: the monotonic clock, sleeping and backoff jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "clock.h"

static void test_clock__sleep_advances_the_monotonic_clock(void **state)
{
	(void)state;
	long long start = kube_now_ms();
	kube_sleep_ms(20);
	long long slept = kube_now_ms() - start;
	assert_true(slept >= 20);
	assert_true(slept < 5000);
}

static void test_clock__jitter_stays_in_range(void **state)
{
	long seen_max = 0;
	(void)state;
	assert_int_equal(kube_jitter_ms(0), 0);
	assert_int_equal(kube_jitter_ms(-5), 0);
	for (int i = 0; i < 1000; i++) {
		long jitter = kube_jitter_ms(10);
		assert_true(jitter >= 0 && jitter <= 10);
		if (jitter > seen_max)
			seen_max = jitter;
	}
	assert_true(seen_max > 0); /* not stuck at zero */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_clock__sleep_advances_the_monotonic_clock),
	        cmocka_unit_test(test_clock__jitter_stays_in_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
