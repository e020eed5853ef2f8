/* Report destinations (stdout, or a file replaced atomically), the JSON
 * and YAML renderings of report objects, and a command's report rendered
 * as its -o asks. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "cli/exit.h"
#include "cli/internal.h"
#include "cli/output.h"
#include "cli/table.h"

static const char *const format_names[] = {
        [CLI_OUTPUT_TABLE] = "table", [CLI_OUTPUT_WIDE] = "wide",   [CLI_OUTPUT_JSON] = "json",
        [CLI_OUTPUT_YAML] = "yaml",   [CLI_OUTPUT_SARIF] = "sarif", [CLI_OUTPUT_JUNIT] = "junit",
};

int cli_output_format_parse(enum cli_output_format *out, const char *name)
{
	for (size_t i = 0; i < CLI_ARRAY_SIZE(format_names); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum cli_output_format)i;
			return 0;
		}
	}
	return -1;
}

const char *cli_output_format_name(enum cli_output_format format)
{
	assert((size_t)format < CLI_ARRAY_SIZE(format_names));
	return format_names[format];
}

void cli_output_formats_describe(char *buf, size_t size, unsigned mask)
{
	size_t used = 0;
	assert(size > 0);
	buf[0] = '\0';
	for (size_t i = 0; i < CLI_ARRAY_SIZE(format_names); i++) {
		if (!(mask & CLI_OUTPUT_BIT(i)))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? "|" : "", format_names[i]);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

/* A new file gets the mode any file the user creates gets; a replaced
 * regular file keeps its permission bits, without set-id or sticky bits a
 * report has no use for. lstat: the mode of whatever a symlink at path
 * points to, in another directory perhaps, is none of the report's
 * business (cli_output_open refuses symlinks; this covers one planted in
 * between). */
static mode_t target_mode(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 0777;
	mode_t mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

static void release(cli_output *out)
{
	kube_free(out->path);
	kube_free(out->temp_path);
	out->path = NULL;
	out->temp_path = NULL;
	out->stream = NULL;
}

int cli_output_open(cli_output *out, const char *path)
{
	memset(out, 0, sizeof(*out));
	if (!path || strcmp(path, "-") == 0) {
		out->stream = stdout;
		return 0;
	}
	struct stat st;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int exists = lstat(path, &st) == 0;
	if (!*base || (exists && S_ISDIR(st.st_mode))) {
		cli_error("output file %s: is a directory", path);
		return CLI_EXIT_USAGE;
	}
	/* A symlink is refused rather than followed or replaced: following
	 * it writes wherever whoever planted it chose (another directory,
	 * another user's file), and replacing it silently breaks a link the
	 * user made. Naming the real file is the way out. The rename below
	 * never writes through a symlink either, should one appear later. */
	if (exists && S_ISLNK(st.st_mode)) {
		cli_error("output file %s: is a symbolic link; name the file itself", path);
		return CLI_EXIT_USAGE;
	}
	/* The temp file sits beside the target so rename() stays atomic. */
	out->path = kube_strdup(path);
	out->temp_path = kube_asprintf("%.*s.%s.tmp-XXXXXX", (int)(base - path), path, base);
	if (!out->path || !out->temp_path) {
		release(out);
		return cli_error_nomem();
	}
	int fd = mkstemp(out->temp_path);
	if (fd < 0) {
		cli_error("create output file %s: %s", path, strerror(errno));
		release(out);
		return CLI_EXIT_USAGE;
	}
	(void)fchmod(fd, target_mode(path));
	out->stream = fdopen(fd, "w");
	if (!out->stream) {
		close(fd);
		cli_output_close(out, CLI_EXIT_FAIL);
		return cli_error_nomem();
	}
	return 0;
}

/* Makes the rename itself durable; not every file system can, so failures
 * are not errors. */
static void sync_directory(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? kube_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : kube_strdup(".");
	if (!dir)
		return;
	int fd = open(dir, O_RDONLY);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	kube_free(dir);
}

/* The errno of a failed flush (and fsync), EIO for an error the stream
 * met earlier, or 0. */
static int flush_error(FILE *stream, int sync)
{
	if (fflush(stream) != 0)
		return errno ? errno : EIO;
	if (ferror(stream))
		return EIO;
	if (sync && fsync(fileno(stream)) != 0)
		return errno;
	return 0;
}

int cli_output_close(cli_output *out, int status)
{
	if (!out->stream) {
		if (out->temp_path)
			(void)unlink(out->temp_path);
		release(out);
		return status;
	}
	if (!out->path) {
		int err = flush_error(out->stream, 0);
		out->stream = NULL;
		if (err && status == 0) {
			cli_error("write standard output: %s", strerror(err));
			return CLI_EXIT_FAIL;
		}
		return status;
	}

	int err = status == 0 ? flush_error(out->stream, 1) : 0;
	if (err)
		cli_error("write output file %s: %s", out->path, strerror(err));
	if (fclose(out->stream) != 0 && status == 0 && !err) {
		err = errno;
		cli_error("write output file %s: %s", out->path, strerror(err));
	}
	out->stream = NULL;
	if (status == 0 && !err) {
		if (rename(out->temp_path, out->path) == 0) {
			sync_directory(out->path);
			release(out);
			return 0;
		}
		cli_error("replace output file %s: %s", out->path, strerror(errno));
	}
	(void)unlink(out->temp_path);
	release(out);
	return status ? status : CLI_EXIT_FAIL;
}

json_t *cli_object_new(const char *kind)
{
	return json_pack("{s:s, s:s}", "apiVersion", CLI_API_VERSION, "kind", kind);
}

static int dump(FILE *stream, const json_t *doc, size_t flags)
{
	if (json_dumpf(doc, stream, flags | JSON_ENCODE_ANY) != 0 || fputc('\n', stream) == EOF) {
		cli_error("write JSON output: %s", ferror(stream) ? strerror(errno) : "out of memory");
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cli_output_json(FILE *stream, const json_t *doc)
{
	/* kubectl's JSON printer: json.MarshalIndent(obj, "", "    ") */
	return dump(stream, doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

int cli_output_json_line(FILE *stream, const json_t *doc)
{
	return dump(stream, doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

int cli_output_yaml(FILE *stream, const json_t *doc)
{
	kube_buf yaml = KUBE_BUF_INIT;
	int rc = kube_yaml_emit(&yaml, doc);
	if (rc) {
		cli_error("render YAML: %s", kube_error_last()->message);
		kube_buf_dispose(&yaml);
		return CLI_EXIT_FAIL;
	}
	size_t len = yaml.len;
	size_t written = fwrite(kube_buf_cstr(&yaml), 1, len, stream);
	kube_buf_dispose(&yaml);
	if (written != len) {
		cli_error("write YAML output: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cli_output_document(FILE *stream, enum cli_output_format format, const json_t *doc)
{
	assert(format == CLI_OUTPUT_JSON || format == CLI_OUTPUT_YAML);
	return format == CLI_OUTPUT_YAML ? cli_output_yaml(stream, doc) : cli_output_json(stream, doc);
}

int cli_output_report(const cli_args *args, const json_t *doc, const cli_table *table)
{
	cli_output out;
	int machine = args->output == CLI_OUTPUT_JSON || args->output == CLI_OUTPUT_YAML;
	assert(machine || table);
	int rc = cli_output_open(&out, args->output_file);
	if (rc)
		return rc;
	if (machine)
		rc = cli_output_document(out.stream, args->output, doc);
	else
		cli_table_print(table, out.stream, args->output == CLI_OUTPUT_WIDE);
	return cli_output_close(&out, rc);
}
