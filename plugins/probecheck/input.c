/* Reading -f inputs: paths, directories, standard input, documents, Lists, helm Source comments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "cli/exit.h"
#include "input.h"

#define MAX_FILE_SIZE ((size_t)2 << 30) /* 2 GiB: a manifest larger than this is not one */
#define MAX_DEPTH     32
#define STOP          1 /* a document callback's "stop the stream, already reported" */

#define SOURCE_MARKER     "# Source: "
#define SOURCE_MARKER_LEN (sizeof(SOURCE_MARKER) - 1)
#define SOURCE_PATH_MAX   1023 /* bytes of a Source path kept, as probecheck_source reports it */

/* Opens path ("-": standard input) for reading; refuses a directory and a
 * regular file larger than MAX_FILE_SIZE. Returns 0 with *out_fd and
 * *out_size (a regular file's, else 0), or KUBE_EINVALID with the message
 * in err. */
static int input_open(int *out_fd, size_t *out_size, const char *path, char *err, size_t err_size)
{
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	*out_fd = -1;
	*out_size = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			(void)snprintf(err, err_size, "the path \"%s\" does not exist", path);
		else
			(void)snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return KUBE_EINVALID;
	}
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			(void)snprintf(err, err_size, "%s: is a directory", path);
			goto fail;
		}
		if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > MAX_FILE_SIZE) {
			(void)snprintf(err, err_size, "%s: larger than 2 GiB", is_stdin ? PROBECHECK_STDIN_NAME : path);
			goto fail;
		}
		if (S_ISREG(st.st_mode))
			*out_size = (size_t)st.st_size;
	}
	*out_fd = fd;
	return 0;
fail:
	if (!is_stdin)
		(void)close(fd);
	return KUBE_EINVALID;
}

static void input_close(int fd, const char *path)
{
	if (strcmp(path, "-") != 0)
		(void)close(fd);
}

int probecheck_file_read(char **out, size_t *len, const char *path, char *err, size_t err_size)
{
	int is_stdin = strcmp(path, "-") == 0;
	int fd;
	size_t cap = 64 * 1024, used = 0, size;
	char *data = NULL;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = input_open(&fd, &size, path, err, err_size)))
		return rc;
	rc = KUBE_EINVALID;
	if (size + 1 > cap)
		cap = size + 1;
	for (;;) {
		if (used + 1 >= cap || !data) {
			size_t grown = data ? cap * 2 : cap;
			if (grown > MAX_FILE_SIZE + 1) {
				(void)snprintf(err, err_size, "%s: larger than 2 GiB",
				               is_stdin ? PROBECHECK_STDIN_NAME : path);
				goto done;
			}
			char *bigger = kube_realloc(data, grown);
			if (!bigger) {
				rc = KUBE_ENOMEM;
				goto done;
			}
			data = bigger;
			cap = grown;
		}
		ssize_t n = read(fd, data + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)snprintf(err, err_size, "%s: %s", is_stdin ? PROBECHECK_STDIN_NAME : path,
			               strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	data[used] = '\0';
	*out = data;
	*len = used;
	data = NULL;
	rc = 0;
done:
	kube_free(data);
	input_close(fd, path);
	return rc;
}

void probecheck_format_parse_error(char *err, size_t err_size, const char *file)
{
	const char *message = kube_error_last()->message;
	if (strncmp(message, "line ", 5) == 0) {
		char *end = NULL;
		long line = strtol(message + 5, &end, 10);
		if (end && end[0] == ':' && end[1] == ' ') {
			(void)snprintf(err, err_size, "%s:%ld: %s", file, line, end + 2);
			return;
		}
	}
	(void)snprintf(err, err_size, "%s: %s", file, message);
}

/* A "# Source: path" comment of helm template and its line. */
struct helm_source {
	int line;
	char *path; /* owned: up to SOURCE_PATH_MAX bytes */
	size_t len;
};

/* Where the search for Source comments is in the bytes read so far: they
 * arrive in chunks that may cut a line anywhere. */
struct source_scan {
	int line;        /* of the next byte */
	size_t column;   /* bytes of that line seen, while it may be a Source comment */
	int candidate;   /* those bytes are the marker, or begin it */
	size_t path_len; /* after the marker, up to the last byte not '\r' or ' ' */
	char path[SOURCE_PATH_MAX];
};

struct file_state {
	const char *name; /* as reported */
	probecheck_object_fn fn;
	void *user;
	int keep_going;
	probecheck_input_stats *stats;
	int fd;
	size_t bytes_read;
	int read_failed; /* err says why */
	struct source_scan scan;
	struct helm_source *sources; /* found, and not yet before a document */
	size_t source_count, source_cap;
	int previous_line; /* first line of the previous document */
	char path_buf[SOURCE_PATH_MAX + 1];
	int fatal; /* a negative KUBE_E* from fn */
	char err[1024];
};

/* Forgets the first count sources. */
static void drop_sources(struct file_state *st, size_t count)
{
	if (!count)
		return;
	for (size_t i = 0; i < count; i++)
		kube_free(st->sources[i].path);
	memmove(st->sources, st->sources + count, (st->source_count - count) * sizeof(*st->sources));
	st->source_count -= count;
}

static int add_source(struct file_state *st)
{
	const struct source_scan *scan = &st->scan;
	size_t len = scan->path_len < SOURCE_PATH_MAX ? scan->path_len : SOURCE_PATH_MAX;
	struct helm_source *s;
	if (st->source_count == st->source_cap) {
		size_t cap = st->source_cap ? st->source_cap * 2 : 16;
		struct helm_source *grown = kube_realloc(st->sources, cap * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		st->sources = grown;
		st->source_cap = cap;
	}
	s = &st->sources[st->source_count];
	if (!(s->path = kube_malloc(len + 1)))
		return KUBE_ENOMEM;
	memcpy(s->path, scan->path, len);
	s->path[len] = '\0';
	s->len = len;
	s->line = scan->line;
	st->source_count++;
	return 0;
}

static void source_scan_start(struct source_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
	scan->line = 1;
	scan->candidate = 1;
}

/* Bytes of the current line, no newline among them. */
static void scan_line_bytes(struct source_scan *scan, const char *bytes, size_t len)
{
	for (size_t i = 0; i < len && scan->candidate; i++, scan->column++) {
		size_t at;
		if (scan->column < SOURCE_MARKER_LEN) {
			scan->candidate = bytes[i] == SOURCE_MARKER[scan->column];
			continue;
		}
		at = scan->column - SOURCE_MARKER_LEN;
		if (at < SOURCE_PATH_MAX)
			scan->path[at] = bytes[i];
		if (bytes[i] != '\r' && bytes[i] != ' ')
			scan->path_len = at + 1;
	}
}

/* The current line ended: a Source comment when it is the marker and at
 * least one byte more. */
static int end_line(struct file_state *st)
{
	struct source_scan *scan = &st->scan;
	int rc = scan->candidate && scan->column > SOURCE_MARKER_LEN ? add_source(st) : 0;
	scan->line = scan->line < INT_MAX ? scan->line + 1 : INT_MAX;
	scan->column = scan->path_len = 0;
	scan->candidate = 1;
	return rc;
}

/* Notes the Source comments in bytes, the next ones read; at_end: the
 * input ended after them. */
static int scan_helm_sources(struct file_state *st, const char *bytes, size_t len, int at_end)
{
	int rc;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(bytes + i, '\n', len - i);
		size_t line_len = nl ? (size_t)(nl - (bytes + i)) : len - i;
		scan_line_bytes(&st->scan, bytes + i, line_len);
		if (nl && (rc = end_line(st)))
			return rc;
		i += line_len + 1;
	}
	return at_end ? end_line(st) : 0;
}

/* kube_yaml_parse_reader's input: the file, its Source comments noted on
 * the way (libyaml drops comments). */
static ssize_t read_input(void *ctx, char *buf, size_t size)
{
	struct file_state *st = ctx;
	ssize_t got;
	int rc;
	do
		got = read(st->fd, buf, size);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		(void)snprintf(st->err, sizeof(st->err), "%s: %s", st->name, strerror(errno));
		st->read_failed = 1;
		return KUBE_EINVALID;
	}
	if ((size_t)got > MAX_FILE_SIZE - st->bytes_read) {
		(void)snprintf(st->err, sizeof(st->err), "%s: larger than 2 GiB", st->name);
		st->read_failed = 1;
		return KUBE_EINVALID;
	}
	st->bytes_read += (size_t)got;
	if ((rc = scan_helm_sources(st, buf, (size_t)got, got == 0)))
		return rc;
	return got;
}

static int hand_over(struct file_state *st, const json_t *object, const probecheck_source *source)
{
	st->stats->objects++;
	st->err[0] = '\0';
	int rc = st->fn(st->user, object, source, st->err, sizeof(st->err));
	if (rc == KUBE_EINVALID) {
		cli_error("%s:%d: %s", source->file, source->line, st->err);
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	if (rc < 0) {
		st->fatal = rc;
		return STOP;
	}
	return 0;
}

static int on_document(const json_t *doc, int line, void *user)
{
	struct file_state *st = user;
	probecheck_source source = {st->name, line, NULL, 0};

	/* The Source comment between the previous document and this one, if
	 * any. The reader is ahead: later comments wait for their document. */
	size_t passed = 0;
	while (passed < st->source_count && st->sources[passed].line < line) {
		const struct helm_source *s = &st->sources[passed++];
		if (s->line > st->previous_line) {
			(void)snprintf(st->path_buf, sizeof(st->path_buf), "%.*s", (int)s->len, s->path);
			source.helm_source = st->path_buf;
			source.helm_line = line - s->line;
		}
	}
	drop_sources(st, passed);
	st->previous_line = line;

	const char *kind = json_is_object(doc) ? json_string_value(json_object_get(doc, "kind")) : NULL;
	const json_t *items = json_is_object(doc) ? json_object_get(doc, "items") : NULL;
	size_t kind_len = kind ? strlen(kind) : 0;
	if (kind_len >= 4 && strcmp(kind + kind_len - 4, "List") == 0 && json_is_array(items)) {
		size_t index;
		const json_t *item;
		json_array_foreach(items, index, item)
		{
			int rc = json_is_object(item) ? hand_over(st, item, &source) : 0;
			if (rc)
				return rc;
		}
		return 0;
	}
	return json_is_object(doc) ? hand_over(st, doc, &source) : 0;
}

static int process_file(struct file_state *st, const char *path)
{
	size_t size;
	int rc = input_open(&st->fd, &size, path, st->err, sizeof(st->err));
	if (rc) {
		cli_error("%s", st->err);
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	st->name = strcmp(path, "-") == 0 ? PROBECHECK_STDIN_NAME : path;
	st->previous_line = 0;
	st->bytes_read = 0;
	st->read_failed = 0;
	drop_sources(st, st->source_count);
	source_scan_start(&st->scan);
	rc = kube_yaml_parse_reader(read_input, st, on_document, st);
	input_close(st->fd, path);
	if (st->read_failed) {
		cli_error("%s", st->err);
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	st->stats->files++;
	if (rc == STOP)
		return st->fatal ? st->fatal : STOP;
	if (rc == KUBE_EINVALID) {
		probecheck_format_parse_error(st->err, sizeof(st->err), st->name);
		cli_error("%s", st->err);
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	return rc;
}

static int has_manifest_extension(const char *name)
{
	size_t len = strlen(name);
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) || (len > 4 && strcmp(name + len - 4, ".yml") == 0) ||
	       (len > 5 && strcmp(name + len - 5, ".json") == 0);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int process_path(struct file_state *st, const char *path, int depth, int named);

static int process_directory(struct file_state *st, const char *path, int depth)
{
	DIR *dir = opendir(path);
	char **names = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	if (!dir) {
		cli_error("%s: %s", path, strerror(errno));
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	for (struct dirent *e; (e = readdir(dir));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (count == cap) {
			size_t grown_cap = cap ? cap * 2 : 32;
			char **grown = kube_realloc(names, grown_cap * sizeof(*grown));
			if (!grown) {
				rc = KUBE_ENOMEM;
				goto done;
			}
			names = grown;
			cap = grown_cap;
		}
		size_t plen = strlen(path);
		int slash = plen && path[plen - 1] == '/';
		if (!(names[count] = kube_asprintf("%s%s%s", path, slash ? "" : "/", e->d_name))) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		count++;
	}
	if (count > 1)
		qsort(names, count, sizeof(*names), compare_names);
	for (size_t i = 0; i < count && !rc; i++)
		rc = process_path(st, names[i], depth + 1, 0);
done:
	for (size_t i = 0; i < count; i++)
		kube_free(names[i]);
	kube_free(names);
	(void)closedir(dir);
	return rc;
}

/* named: the user gave this path (any file is read); otherwise it was
 * found in a directory (only manifest extensions). */
static int process_path(struct file_state *st, const char *path, int depth, int named)
{
	struct stat info;
	if (strcmp(path, "-") == 0)
		return process_file(st, path);
	if (stat(path, &info) != 0) {
		if (!named) /* a dangling link in a directory */
			return 0;
		if (errno == ENOENT)
			cli_error("the path \"%s\" does not exist", path);
		else
			cli_error("%s: %s", path, strerror(errno));
		st->stats->errors++;
		return st->keep_going ? 0 : STOP;
	}
	if (S_ISDIR(info.st_mode))
		return depth < MAX_DEPTH ? process_directory(st, path, depth) : 0;
	if (!named && (!S_ISREG(info.st_mode) || !has_manifest_extension(path)))
		return 0;
	return process_file(st, path);
}

int probecheck_input_each(const char *const *paths, size_t count, int keep_going, probecheck_object_fn fn, void *user,
                          probecheck_input_stats *stats)
{
	struct file_state st;
	int rc = 0;
	memset(&st, 0, sizeof(st));
	memset(stats, 0, sizeof(*stats));
	st.fn = fn;
	st.user = user;
	st.keep_going = keep_going;
	st.stats = stats;
	for (size_t i = 0; i < count && !rc; i++)
		rc = process_path(&st, paths[i], 0, 1);
	drop_sources(&st, st.source_count);
	kube_free(st.sources);
	if (rc < 0)
		return rc;
	return stats->errors ? CLI_EXIT_USAGE : 0;
}
