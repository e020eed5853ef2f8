/* Tests for fs.c: capped whole-file reads and the errors each flavour
 * reports, the status of the file read, trimmed small files, atomic
 * replacement (never through a symlink), and errno texts. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/buf.h>
#include <kube/error.h>

#include "fs.h"
#include "test_support.h"

/* Entries of the temporary directory, other than . and .. */
static int count_entries(void)
{
	char dir[512];
	int n = 0;
	DIR *d = opendir(test_tmp_path(dir, sizeof(dir), "."));
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_fs__load_returns_errno_and_status(void **state)
{
	char path[512];
	kube_buf buf = KUBE_BUF_INIT;
	struct stat st;
	(void)state;
	assert_int_equal(kube_file_load(&buf, test_tmp_path(path, sizeof(path), "missing"), 0, NULL), ENOENT);
	test_write_text(test_tmp_path(path, sizeof(path), "data"), "0123456789");
	assert_int_equal(kube_file_load(&buf, path, 0, &st), 0);
	assert_string_equal(kube_buf_cstr(&buf), "0123456789");
	assert_int_equal(st.st_size, 10);
	kube_buf_dispose(&buf);
	assert_int_equal(kube_file_load(&buf, path, 4, NULL), KUBE_EPROTOCOL);
	kube_buf_dispose(&buf);
	unlink(path);
}

static void test_fs__read_reports_config_errors(void **state)
{
	char path[512], dir[512];
	kube_buf buf = KUBE_BUF_INIT;
	(void)state;
	assert_int_equal(kube_file_read(&buf, test_tmp_path(path, sizeof(path), "missing"), 16), 1);
	test_write_text(test_tmp_path(path, sizeof(path), "big"), "more than sixteen bytes");
	test_assert_error(kube_file_read(&buf, path, 16), KUBE_ECONFIG, "big: larger than 16 bytes");
	kube_buf_dispose(&buf);
	assert_int_equal(kube_file_read(&buf, path, 0), 0);
	assert_string_equal(kube_buf_cstr(&buf), "more than sixteen bytes");
	kube_buf_dispose(&buf);
	test_assert_error(kube_file_read(&buf, test_tmp_path(dir, sizeof(dir), "."), 16), KUBE_ECONFIG,
	                  ": read: Is a directory");
	kube_buf_dispose(&buf);
	unlink(path);
}

static void test_fs__read_stat_reports_the_mode_read(void **state)
{
	char path[512], link[512];
	kube_buf buf = KUBE_BUF_INIT;
	struct stat st;
	(void)state;
	assert_int_equal(kube_file_read_stat(&buf, test_tmp_path(path, sizeof(path), "missing"), 16, &st), 1);
	test_write_text(test_tmp_path(path, sizeof(path), "config"), "data");
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(kube_file_read_stat(&buf, path, 16, &st), 0);
	assert_string_equal(kube_buf_cstr(&buf), "data");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	kube_buf_dispose(&buf);
	/* through a symlink: the status of the file read, not of the link */
	assert_int_equal(symlink(path, test_tmp_path(link, sizeof(link), "link")), 0);
	assert_int_equal(kube_file_read_stat(&buf, link, 16, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	kube_buf_dispose(&buf);
	unlink(link);
	unlink(path);
}

static void test_fs__read_trimmed_strips_surrounding_space(void **state)
{
	char path[512];
	char *text = NULL;
	(void)state;
	test_write_text(test_tmp_path(path, sizeof(path), "token"), " \t token value \r\n\n");
	assert_int_equal(kube_file_read_trimmed(&text, path, 1024), 0);
	assert_string_equal(text, "token value");
	free(text);
	unlink(path);
	test_assert_error(kube_file_read_trimmed(&text, path, 1024), KUBE_ECONFIG, "token: No such file or directory");
	assert_null(text);
}

static void test_fs__write_atomic_replaces_with_mode(void **state)
{
	char path[512], dir[512];
	struct stat st;
	(void)state;
	test_write_text(test_tmp_path(path, sizeof(path), "config"), "old\n");
	chmod(path, 0644);
	assert_int_equal(kube_file_write_atomic(path, "new\n", 4, 0600), 0);
	assert_string_equal(test_read_text(path), "new\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_entries(), 1); /* no temporary file left */

	/* A rename that fails leaves the target alone and no temporary file. */
	assert_int_equal(mkdir(test_tmp_path(dir, sizeof(dir), "subdir"), 0755), 0);
	test_write_text(test_tmp_path(path, sizeof(path), "subdir/keep"), "x");
	assert_int_equal(kube_file_write_atomic(dir, "data", 4, 0600), EISDIR);
	assert_int_equal(count_entries(), 2);
	unlink(path);
	rmdir(dir);
	unlink(test_tmp_path(path, sizeof(path), "config"));
}

/* A symlink at the target is replaced, never written through: the file it
 * points to, in another directory, keeps its content and mode. */
static void test_fs__write_atomic_replaces_a_symlink_not_its_target(void **state)
{
	char path[512], other_dir[512], victim[600];
	struct stat st;
	(void)state;
	assert_int_equal(mkdir(test_tmp_path(other_dir, sizeof(other_dir), "other"), 0700), 0);
	(void)snprintf(victim, sizeof(victim), "%s/victim", other_dir);
	test_write_text(victim, "precious\n");
	assert_int_equal(chmod(victim, 0644), 0);
	assert_int_equal(symlink(victim, test_tmp_path(path, sizeof(path), "config")), 0);

	assert_int_equal(kube_file_write_atomic(path, "new\n", 4, 0600), 0);
	assert_string_equal(test_read_text(victim), "precious\n");
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_string_equal(test_read_text(path), "new\n");
	assert_int_equal(count_entries(), 2); /* config and other/, no temporary file */
	unlink(victim);
	rmdir(other_dir);
	unlink(path);
}

static void test_fs__errno_text(void **state)
{
	char text[64];
	(void)state;
	assert_string_equal(kube_errno_text(ENOENT, text, sizeof(text)), "No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fs__load_returns_errno_and_status),
	        cmocka_unit_test(test_fs__read_reports_config_errors),
	        cmocka_unit_test(test_fs__read_stat_reports_the_mode_read),
	        cmocka_unit_test(test_fs__read_trimmed_strips_surrounding_space),
	        cmocka_unit_test(test_fs__write_atomic_replaces_with_mode),
	        cmocka_unit_test(test_fs__write_atomic_replaces_a_symlink_not_its_target),
	        cmocka_unit_test(test_fs__errno_text),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
