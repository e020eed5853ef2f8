/* Tests for base64.c: Go's standard and raw URL decoders, table-driven,
 * with the byte offsets Go reports for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/error.h>

#include "base64.h"
#include "test_support.h"

struct decode_case {
	const char *text;
	const char *decoded; /* NULL: invalid */
	size_t bad_at;
};

static void check_cases(const struct decode_case *cases, size_t count, enum kube_base64_encoding encoding)
{
	for (size_t i = 0; i < count; i++) {
		char *out = NULL;
		size_t len = 0, bad_at = 99;
		int rc = kube_base64_decode(&out, &len, cases[i].text, strlen(cases[i].text), encoding, &bad_at);
		if (cases[i].decoded) {
			if (rc != 0)
				fail_msg("\"%s\" should decode", cases[i].text);
			assert_int_equal(len, strlen(cases[i].decoded));
			assert_memory_equal(out, cases[i].decoded, len);
			assert_int_equal(out[len], '\0');
		} else {
			if (rc != KUBE_EINVALID)
				fail_msg("\"%s\" should be rejected", cases[i].text);
			assert_null(out);
			assert_int_equal(bad_at, cases[i].bad_at);
		}
		free(out);
	}
}

static void test_base64__std_decodes_like_go(void **state)
{
	static const struct decode_case cases[] = {
	        {"", "", 0},
	        {"YQ==", "a", 0},
	        {"YWI=", "ab", 0},
	        {"YWJj", "abc", 0},
	        {"YWJj\nZA==\r\n", "abcd", 0},
	        {"+/+/", "\xfb\xff\xbf", 0},
	        {"YQ", NULL, 2},
	        {"YQ=", NULL, 3},
	        {"Y===", NULL, 1},
	        {"YQ==YQ==", NULL, 4},
	        {"YW$j", NULL, 2},
	        {"=YWJ", NULL, 0},
	        {"YWJ-", NULL, 3},
	};
	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), KUBE_BASE64_STD);
}

/* RawURLEncoding, as JWT segments use it: no padding at all. */
static void test_base64__raw_url_decodes_like_go(void **state)
{
	static const struct decode_case cases[] = {
	        {"", "", 0},
	        {"YQ", "a", 0},
	        {"YWI", "ab", 0},
	        {"YWJj", "abc", 0},
	        {"YW\r\nJjZA", "abcd", 0},
	        {"-_-_", "\xfb\xff\xbf", 0},
	        {"Y", NULL, 1},
	        {"YWJjZ", NULL, 5},
	        {"YQ==", NULL, 2},
	        {"+/+/", NULL, 0},
	        {"YW.j", NULL, 2},
	};
	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), KUBE_BASE64_RAW_URL);
}

/* Only len bytes are read, and bad_at may be NULL. */
static void test_base64__reads_only_len_bytes(void **state)
{
	char *out = NULL;
	size_t len = 0;
	(void)state;
	assert_int_equal(kube_base64_decode(&out, &len, "YWJj!!!!", 4, KUBE_BASE64_STD, NULL), 0);
	assert_int_equal(len, 3);
	assert_string_equal(out, "abc");
	free(out);
	assert_int_equal(kube_base64_decode(&out, &len, "YWJj!!!!", 5, KUBE_BASE64_STD, NULL), KUBE_EINVALID);
	assert_null(out);
}

static void test_base64__out_of_memory_leaves_nothing(void **state)
{
	char *out = (char *)"untouched";
	size_t len = 7;
	(void)state;
	test_alloc_fail_at(1);
	int rc = kube_base64_decode(&out, &len, "YWJj", 4, KUBE_BASE64_RAW_URL, NULL);
	test_alloc_fail_at(0);
	test_assert_error(rc, KUBE_ENOMEM, "out of memory");
	assert_null(out);
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64__std_decodes_like_go),
	        cmocka_unit_test(test_base64__raw_url_decodes_like_go),
	        cmocka_unit_test(test_base64__reads_only_len_bytes),
	        cmocka_unit_test(test_base64__out_of_memory_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
