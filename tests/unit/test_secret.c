/* Tests for secret.c: credentials are zeroed before memory is freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/buf.h>

#include "secret.h"

static void test_secret__wipe_zeroes_every_byte(void **state)
{
	char token[] = "s3cret-token";
	static const char zeros[sizeof(token)] = {0};
	(void)state;
	kube_secret_wipe(token, sizeof(token));
	assert_memory_equal(token, zeros, sizeof(token));
	kube_secret_wipe(NULL, 8); /* NULL is fine */
}

static void test_secret__free_and_dispose_accept_empty(void **state)
{
	kube_buf buf = KUBE_BUF_INIT;
	(void)state;
	kube_secret_free(NULL);
	kube_secret_buf_dispose(&buf);
	assert_int_equal(kube_buf_puts(&buf, "password"), 0);
	kube_secret_buf_dispose(&buf);
	assert_null(buf.ptr);
	assert_int_equal(buf.len, 0);
	kube_secret_free(strdup("token"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_secret__wipe_zeroes_every_byte),
	        cmocka_unit_test(test_secret__free_and_dispose_accept_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
