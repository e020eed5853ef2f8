/* Helpers shared by the unit tests: fixture files and a failing allocator. */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <stddef.h>

/* Reads FIXTURES_DIR/relpath into a NUL-terminated malloc'd buffer; fails
 * the test when it cannot. */
char *test_fixture_read(const char *relpath, size_t *out_len);

/* Absolute path of a fixture (static buffer, overwritten by the next call). */
const char *test_fixture_path(const char *relpath);

/* Makes the n-th allocation from now fail (0 = never), through the
 * library's allocator hook, and restarts the count. */
void test_alloc_fail_at(long n);
/* Allocations counted since the last test_alloc_fail_at(n != 0). */
long test_alloc_count(void);

#endif
