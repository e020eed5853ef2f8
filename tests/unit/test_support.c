/* Helpers shared by the unit tests: fixture files and a failing allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <kube/alloc.h>

#include "test_support.h"

const char *test_fixture_path(const char *relpath)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, relpath);
	return path;
}

char *test_fixture_read(const char *relpath, size_t *out_len)
{
	const char *path = test_fixture_path(relpath);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap);
			assert_non_null(data);
		}
		size_t n = fread(data + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	data[len] = '\0';
	if (out_len)
		*out_len = len;
	return data;
}

static long alloc_fail_at;
static long alloc_count;

static void *counting_malloc(size_t size)
{
	if (alloc_fail_at && ++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(size);
}

static void *counting_realloc(void *ptr, size_t size)
{
	if (alloc_fail_at && ++alloc_count == alloc_fail_at)
		return NULL;
	return realloc(ptr, size);
}

void test_alloc_fail_at(long n)
{
	static const kube_allocator counting = {counting_malloc, counting_realloc, free};
	alloc_fail_at = n;
	alloc_count = 0;
	kube_allocator_set(n ? &counting : NULL);
}

long test_alloc_count(void)
{
	return alloc_count;
}
