/* kubectl-probecheck's -f input (compiled in from plugins/probecheck/input.c):
 * files and standard input read in chunks, helm template's "# Source:"
 * comments found wherever the chunks cut them, and the errors of reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <time.h>

/* the plugin is no library: its input reader is compiled into the test */
#include "../../plugins/probecheck/input.c" /* NOLINT(bugprone-suspicious-include) */

#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The bytes the loader asks the file for at a time (yaml.c READ_CHUNK). */
#define CHUNK (64 * 1024)

/* Each object as probecheck_input_each hands it over, as JSON:
 * {"name", "file", "line", "helm", "helmLine"}. */
static int record_object(void *user, const json_t *object, const probecheck_source *source, char *err, size_t err_size)
{
	const char *name = json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
	json_t *entry = json_pack("{s:s?, s:s, s:i, s:s?, s:i}", "name", name, "file", source->file, "line",
	                          source->line, "helm", source->helm_source, "helmLine", source->helm_line);
	(void)err;
	(void)err_size;
	return entry && !json_array_append_new(user, entry) ? 0 : KUBE_ENOMEM;
}

/* Runs probecheck_input_each over paths; the errors it printed go to
 * errors (static, overwritten by the next call). */
static json_t *read_inputs(const char *const *paths, size_t count, int *rc, probecheck_input_stats *stats,
                           const char **errors)
{
	static char text[4096];
	json_t *objects = json_array();
	FILE *stream = tmpfile();
	size_t len;
	assert_non_null(objects);
	assert_non_null(stream);
	cli_error_stream_set(stream);
	*rc = probecheck_input_each(paths, count, 1, record_object, objects, stats);
	cli_error_stream_set(NULL);
	rewind(stream);
	len = fread(text, 1, sizeof(text) - 1, stream);
	text[len] = '\0';
	(void)fclose(stream);
	*errors = text;
	return objects;
}

static void assert_object(const json_t *objects, size_t index, const char *want)
{
	json_t *expected = json_loads(want, 0, NULL);
	json_t *got = json_array_get(objects, index);
	assert_non_null(expected);
	if (!json_equal(got, expected)) {
		char *text = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("object %zu: %s, want %s", index, text ? text : "(none)", want);
	}
	json_decref(expected);
}

/* The Source comments scan_helm_sources found, "line:path" a line each. */
static void describe_sources(kube_buf *out, const struct file_state *st)
{
	for (size_t i = 0; i < st->source_count; i++)
		assert_int_equal(kube_buf_printf(out, "%d:%.*s\n", st->sources[i].line, (int)st->sources[i].len,
		                                 st->sources[i].path),
		                 0);
}

/* text scanned in pieces cut at the given places (ascending, ending at len) */
static void scan_in_pieces(kube_buf *out, const char *text, const size_t *cuts, size_t cut_count)
{
	struct file_state st;
	size_t from = 0;
	memset(&st, 0, sizeof(st));
	source_scan_start(&st.scan);
	for (size_t i = 0; i < cut_count; i++) {
		assert_int_equal(scan_helm_sources(&st, text + from, cuts[i] - from, 0), 0);
		from = cuts[i];
	}
	assert_int_equal(scan_helm_sources(&st, "", 0, 1), 0);
	describe_sources(out, &st);
	drop_sources(&st, st.source_count);
	kube_free(st.sources);
}

/* Which lines are Source comments does not depend on where reads cut the
 * text: at any one place, or after every byte. */
static void test_probecheck_input__sources_cut_anywhere(void **state)
{
	kube_buf text = KUBE_BUF_INIT, want = KUBE_BUF_INIT, whole = KUBE_BUF_INIT;
	size_t *every;
	(void)state;
	assert_int_equal(kube_buf_puts(&text, "# Source: a/first.yaml\n"
	                                      "a: 1\n"
	                                      "# Source: b/crlf.yaml \r \r\n"
	                                      "#  Source: not/one.yaml\n"
	                                      "# Source: \n"
	                                      "# Source:  \r\n"
	                                      " # Source: indented.yaml\n"
	                                      "# Source"),
	                 0);
	assert_int_equal(kube_buf_puts(&text, ": "), 0);
	for (int i = 0; i < 1100; i++) /* longer than reported */
		assert_int_equal(kube_buf_put(&text, "p", 1), 0);
	assert_int_equal(kube_buf_puts(&text, " \r\n\n# Source: c/last.yaml"), 0);
	assert_int_equal(kube_buf_puts(&want, "1:a/first.yaml\n3:b/crlf.yaml\n6:\n8:"), 0);
	for (int i = 0; i < SOURCE_PATH_MAX; i++)
		assert_int_equal(kube_buf_put(&want, "p", 1), 0);
	assert_int_equal(kube_buf_puts(&want, "\n10:c/last.yaml\n"), 0);

	scan_in_pieces(&whole, text.ptr, &text.len, 1);
	assert_string_equal(kube_buf_cstr(&whole), kube_buf_cstr(&want));
	for (size_t cut = 0; cut <= text.len; cut++) {
		size_t cuts[] = {cut, text.len};
		kube_buf got = KUBE_BUF_INIT;
		scan_in_pieces(&got, text.ptr, cuts, 2);
		if (strcmp(kube_buf_cstr(&got), kube_buf_cstr(&want)) != 0)
			fail_msg("cut at %zu:\n%s", cut, kube_buf_cstr(&got));
		kube_buf_dispose(&got);
	}
	every = malloc(text.len * sizeof(*every));
	assert_non_null(every);
	for (size_t i = 0; i < text.len; i++)
		every[i] = i + 1;
	{
		kube_buf got = KUBE_BUF_INIT;
		scan_in_pieces(&got, text.ptr, every, text.len);
		assert_string_equal(kube_buf_cstr(&got), kube_buf_cstr(&want));
		kube_buf_dispose(&got);
	}
	free(every);
	kube_buf_dispose(&text);
	kube_buf_dispose(&want);
	kube_buf_dispose(&whole);
}

/* A file whose Source comment line straddles the first chunk's end at
 * every position: the object after it still has it, at the right lines. */
static void test_probecheck_input__source_across_chunk_boundary(void **state)
{
	static const char head[] = "kind: ConfigMap\nmetadata: {name: first}\n# ";
	static const char tail[] =
	        "\n---\n# Source: chart/templates/web.yaml\nkind: ConfigMap\nmetadata: {name: web}\n";
	const char *comment = strstr(tail, "# Source");
	size_t comment_at = (size_t)(comment - tail), comment_len = strcspn(comment, "\n") + 1;
	char path[512];
	(void)state;
	(void)test_tmp_path(path, sizeof(path), "boundary.yaml");
	for (size_t before = 0; before <= comment_len + 1; before++) {
		/* the comment (its newline included) begins before bytes before the cut */
		size_t pad = CHUNK - before - comment_at - (sizeof(head) - 1);
		kube_buf text = KUBE_BUF_INIT;
		const char *paths[] = {path};
		const char *errors;
		char want[1024];
		probecheck_input_stats stats;
		json_t *objects;
		int rc;
		assert_int_equal(kube_buf_puts(&text, head), 0);
		for (size_t i = 0; i < pad; i++)
			assert_int_equal(kube_buf_put(&text, "x", 1), 0);
		assert_int_equal(kube_buf_puts(&text, tail), 0);
		assert_int_equal(strstr(text.ptr, "# Source") - text.ptr, CHUNK - before);
		test_write_text(path, kube_buf_cstr(&text));
		objects = read_inputs(paths, 1, &rc, &stats, &errors);
		assert_int_equal(rc, 0);
		assert_string_equal(errors, "");
		assert_int_equal(json_array_size(objects), 2);
		(void)snprintf(want, sizeof(want),
		               "{\"name\": \"first\", \"file\": \"%s\", \"line\": 1, \"helm\": null, "
		               "\"helmLine\": 0}",
		               path);
		assert_object(objects, 0, want);
		(void)snprintf(want, sizeof(want),
		               "{\"name\": \"web\", \"file\": \"%s\", \"line\": 6, "
		               "\"helm\": \"chart/templates/web.yaml\", \"helmLine\": 1}",
		               path);
		assert_object(objects, 1, want);
		json_decref(objects);
		kube_buf_dispose(&text);
	}
}

struct trickle {
	int fd;
	const char *text;
	size_t len;
};

/* Writes the text into the pipe a few bytes at a time, so that each read
 * of it returns a little. */
static void *trickle_write(void *arg)
{
	struct trickle *t = arg;
	size_t at = 0, step = 1;
	while (at < t->len) {
		size_t n = step < t->len - at ? step : t->len - at;
		ssize_t put = write(t->fd, t->text + at, n);
		if (put <= 0)
			break;
		at += (size_t)put;
		step = step % 7 + 1;
		if (at % 64 < 8)
			(void)nanosleep(&(struct timespec){0, 100000}, NULL);
	}
	(void)close(t->fd);
	return NULL;
}

/* Reads "-" with fd as standard input. */
static json_t *read_stdin_from(int fd, int *rc, probecheck_input_stats *stats, const char **errors)
{
	const char *paths[] = {"-"};
	int saved = dup(STDIN_FILENO);
	json_t *objects;
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	objects = read_inputs(paths, 1, rc, stats, errors);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	(void)close(saved);
	return objects;
}

/* "-" reads standard input: a pipe that delivers a few bytes at a time. */
static void test_probecheck_input__stdin_pipe_in_small_reads(void **state)
{
	static const char text[] = "---\n"
	                           "# Source: shop/templates/a.yaml\n"
	                           "kind: ConfigMap\n"
	                           "metadata: {name: a}\n"
	                           "---\n"
	                           "kind: List\n"
	                           "items:\n"
	                           "- {kind: ConfigMap, metadata: {name: b}}\n"
	                           "- {kind: ConfigMap, metadata: {name: c}}\n"
	                           "---\n"
	                           "# Source: shop/templates/d.yaml\n"
	                           "# more\n"
	                           "kind: ConfigMap\n"
	                           "metadata: {name: d}\n";
	int pipe_fds[2];
	struct trickle t;
	pthread_t writer;
	probecheck_input_stats stats;
	const char *errors;
	json_t *objects;
	int rc;
	(void)state;
	assert_int_equal(pipe(pipe_fds), 0);
	t = (struct trickle){pipe_fds[1], text, strlen(text)};
	assert_int_equal(pthread_create(&writer, NULL, trickle_write, &t), 0);
	objects = read_stdin_from(pipe_fds[0], &rc, &stats, &errors);
	assert_int_equal(pthread_join(writer, NULL), 0);
	(void)close(pipe_fds[0]);
	assert_int_equal(rc, 0);
	assert_string_equal(errors, "");
	assert_int_equal(stats.files, 1);
	assert_int_equal(json_array_size(objects), 4);
	assert_object(objects, 0,
	              "{\"name\": \"a\", \"file\": \"STDIN\", \"line\": 3, \"helm\": \"shop/templates/a.yaml\", "
	              "\"helmLine\": 1}");
	assert_object(objects, 1,
	              "{\"name\": \"b\", \"file\": \"STDIN\", \"line\": 6, \"helm\": null, \"helmLine\": 0}");
	assert_object(objects, 2,
	              "{\"name\": \"c\", \"file\": \"STDIN\", \"line\": 6, \"helm\": null, \"helmLine\": 0}");
	assert_object(objects, 3,
	              "{\"name\": \"d\", \"file\": \"STDIN\", \"line\": 13, \"helm\": \"shop/templates/d.yaml\", "
	              "\"helmLine\": 2}");
	json_decref(objects);
}

/* A read that fails is an error of that input, not its end. */
static void test_probecheck_input__read_error_is_reported(void **state)
{
	char path[512];
	probecheck_input_stats stats;
	const char *errors;
	json_t *objects;
	int fd, rc;
	(void)state;
	test_write_text(test_tmp_path(path, sizeof(path), "write-only.yaml"), "kind: ConfigMap\n");
	fd = open(path, O_WRONLY | O_CLOEXEC); /* reading it fails: EBADF */
	assert_true(fd >= 0);
	objects = read_stdin_from(fd, &rc, &stats, &errors);
	(void)close(fd);
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(errors, "error: STDIN: Bad file descriptor\n");
	assert_int_equal(stats.errors, 1);
	assert_int_equal(stats.files, 0);
	assert_int_equal(json_array_size(objects), 0);
	json_decref(objects);
}

/* What cannot be read as a file is said so, and the next path still is
 * read (keep going). */
static void test_probecheck_input__unreadable_paths(void **state)
{
	char big[512], good[512], missing[512], dir[512], want[2048];
	const char *paths[4];
	probecheck_input_stats stats;
	const char *errors;
	json_t *objects;
	int fd, rc;
	(void)state;
	paths[0] = test_tmp_path(missing, sizeof(missing), "missing.yaml");
	paths[1] = test_tmp_path(dir, sizeof(dir), "");
	paths[2] = test_tmp_path(big, sizeof(big), "big.yaml");
	paths[3] = test_tmp_path(good, sizeof(good), "good.yaml");
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)MAX_FILE_SIZE + 1), 0); /* sparse */
	(void)close(fd);
	test_write_text(good, "kind: ConfigMap\nmetadata: {name: good}\n");
	objects = read_inputs(paths, 1, &rc, &stats, &errors);
	json_decref(objects);
	(void)snprintf(want, sizeof(want), "error: the path \"%s\" does not exist\n", missing);
	assert_string_equal(errors, want);
	/* a directory given by name is walked; opened as a file it is refused */
	assert_int_equal(input_open(&fd, &(size_t){0}, dir, want, sizeof(want)), KUBE_EINVALID);
	assert_non_null(strstr(want, ": is a directory"));
	objects = read_inputs(paths + 2, 2, &rc, &stats, &errors);
	(void)snprintf(want, sizeof(want), "error: %s: larger than 2 GiB\n", big);
	assert_string_equal(errors, want);
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_int_equal(stats.files, 1);
	assert_int_equal(json_array_size(objects), 1);
	json_decref(objects);
	(void)unlink(big);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_probecheck_input__sources_cut_anywhere),
	        cmocka_unit_test(test_probecheck_input__source_across_chunk_boundary),
	        cmocka_unit_test(test_probecheck_input__stdin_pipe_in_small_reads),
	        cmocka_unit_test(test_probecheck_input__read_error_is_reported),
	        cmocka_unit_test(test_probecheck_input__unreadable_paths),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
