/* libFuzzer target for kubectl probecheck's -f input: a manifest file of
 * any bytes (multi-document YAML, JSON, Lists, helm template's "# Source:"
 * comments) read through probecheck_input_each in reads of sizes the input
 * chooses, as a pipe or a slow disk returns them, and each object it hands
 * over built into a workload. Every object must come with its file and a
 * line, every helm Source with a line after it, the counts must agree
 * with the result, and nothing may leak whether the reading stops at the
 * first error, goes on, or the callback fails.
 *
 * Input: two control bytes, then the file. The first byte's bit 0 sets
 * keep_going; bits 1-2 make the callback refuse every third object (1),
 * every object (2) or fail for good at the fifth (3); bits 3-6 cap each
 * read at 1..2^(bits) bytes, sizes drawn from a generator the second byte
 * seeds. The target is linked with --wrap=read so that those reads are
 * the ones input.c makes. */
#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <kube/error.h>

#include "cli/exit.h"
#include "input.h"
#include "workload.h"

/* The failure the callback ends everything with in mode 3. */
#define FATAL KUBE_ERROR

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __wrap_read(int fd, void *buf, size_t count);

/* The reads of the file being fed, while probecheck_input_each runs. */
static struct {
	int active;
	uint32_t state; /* xorshift32, never 0 */
	size_t max_size;
} pieces;

ssize_t __wrap_read(int fd, void *buf, size_t count)
{
	if (pieces.active && fd > STDERR_FILENO && count > 0) {
		pieces.state ^= pieces.state << 13;
		pieces.state ^= pieces.state >> 17;
		pieces.state ^= pieces.state << 5;
		size_t n = 1 + pieces.state % pieces.max_size;
		if (n < count)
			count = n;
	}
	return __real_read(fd, buf, count);
}

struct run {
	const char *path;
	int mode;
	size_t calls;
	probecheck_workload workload;
};

static int on_object(void *user, const json_t *object, const probecheck_source *source, char *err, size_t err_size)
{
	struct run *run = user;
	run->calls++;
	if (!json_is_object(object) || !source->file || strcmp(source->file, run->path) != 0 || source->line < 1)
		abort(); /* an object, with where it came from */
	if (source->helm_source &&
	    (strlen(source->helm_source) > 1023 || strchr(source->helm_source, '\n') || source->helm_line < 1))
		abort(); /* a Source comment is one line, before its document */
	if (!source->helm_source && source->helm_line != 0)
		abort();

	enum probecheck_kind kind = probecheck_kind_of(object);
	if (kind <= PROBECHECK_KIND_CRONJOB) {
		int rc = probecheck_workload_init(&run->workload, object, source, "default", err, err_size);
		if (rc == 0) {
			const probecheck_workload *w = &run->workload;
			if (!w->name || !w->namespace_name || !w->pod_spec || w->kind != kind ||
			    w->container_count > w->container_cap)
				abort();
			for (size_t i = 0; i < w->container_count; i++)
				if (!w->containers[i].name || !json_is_object(w->containers[i].spec))
					abort();
		} else if (rc != KUBE_EINVALID || !err[0]) {
			abort(); /* refused with a reason */
		}
	} else {
		(void)probecheck_looks_like_workload(object);
	}

	switch (run->mode) {
	case 1:
		if (run->calls % 3)
			break;
		/* fall through */
	case 2:
		(void)snprintf(err, err_size, "refused by the fuzzer");
		return KUBE_EINVALID;
	case 3:
		if (run->calls == 5)
			return FATAL;
		break;
	default:
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static FILE *errors;
	static char path[64];
	if (fd < 0) {
		/* one in-memory file, rewritten for each input */
		if ((fd = memfd_create("manifest.yaml", MFD_CLOEXEC)) < 0 || !(errors = fopen("/dev/null", "w")))
			abort();
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		cli_error_stream_set(errors);
	}
	if (size < 2)
		return 0;
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 2, size - 2, 0) != (ssize_t)(size - 2))
		abort();

	struct run run = {path, (data[0] >> 1) & 3, 0, PROBECHECK_WORKLOAD_INIT};
	probecheck_input_stats stats;
	const char *paths[] = {path};
	pieces.state = 0x9e3779b9u ^ data[1];
	pieces.max_size = (size_t)1 << ((data[0] >> 3) & 15);
	pieces.active = 1;
	int rc = probecheck_input_each(paths, 1, data[0] & 1, on_object, &run, &stats);
	pieces.active = 0;
	probecheck_workload_dispose(&run.workload);

	if (stats.objects != run.calls || stats.files > 1 || stats.errors > stats.objects + 1)
		abort();
	if (rc == FATAL) {
		if (run.mode != 3 || run.calls != 5)
			abort(); /* the callback's failure, passed on */
	} else if (rc != (stats.errors ? CLI_EXIT_USAGE : 0)) {
		abort();
	}
	if (run.mode == 2 && run.calls && !stats.errors)
		abort(); /* every refusal is reported */
	return 0;
}
