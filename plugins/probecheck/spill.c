/* The report's record store: bytes [0, base) in the temporary file, bytes
 * [base, base + len) in memory (all of them until the bound is passed,
 * then at most a 64 KiB write block), reads of the file through a window
 * that follows the rendering, which visits the records in the order they
 * were written. */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "cli/exit.h"
#include "spill.h"

#define BLOCK ((size_t)64 * 1024)

struct probecheck_spill {
	size_t after;       /* bytes kept in memory before a file is tried */
	int fd;             /* -1 until the file is made */
	int in_memory;      /* no file could be made, or a write to it failed: the rest stays in mem */
	uint64_t base;      /* file bytes before mem[0]; the file is not read past it */
	char *mem;          /* the bytes from base on */
	size_t len, cap;    /* bytes in mem, bytes allocated */
	char *window;       /* a stretch of the file read back */
	size_t window_cap;  /* bytes allocated for window */
	uint64_t window_at; /* file offset of window[0] */
	size_t window_len;  /* bytes valid in window */
};

static int open_file(const char *dir)
{
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/.probecheck-spill-XXXXXX", dir) >= sizeof(path))
		return -1;
	int fd2 = mkostemp(path, O_CLOEXEC);
	if (fd2 >= 0)
		(void)unlink(path);
	return fd2;
}

probecheck_spill *probecheck_spill_new(size_t after)
{
	probecheck_spill *spill = kube_calloc(1, sizeof(*spill));
	if (!spill)
		return NULL;
	spill->after = after;
	spill->fd = -1;
	return spill;
}

static int write_all(int fd, const char *data, size_t len, uint64_t at)
{
	while (len) {
		ssize_t n = pwrite(fd, data, len, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
	return 0;
}

/* Moves mem to the file. When the file takes it no more, everything
 * from base stays in memory from then on (as when no file could be made). */
static void flush(probecheck_spill *spill)
{
	if (write_all(spill->fd, spill->mem, spill->len, spill->base)) {
		spill->in_memory = 1;
		return;
	}
	spill->base += spill->len;
	spill->len = 0;
	if (spill->cap > BLOCK) {
		/* what was kept before the file (or one big record): given back */
		kube_free(spill->mem);
		spill->mem = NULL;
		spill->cap = 0;
	}
}

static int on_file(const probecheck_spill *spill)
{
	return spill->fd >= 0 && !spill->in_memory;
}

int probecheck_spill_on_file(const probecheck_spill *spill)
{
	return on_file(spill);
}

int probecheck_spill_put(probecheck_spill *spill, const void *data, size_t len, uint64_t *at)
{
	if (len > (size_t)-1 / 2 - spill->len)
		return KUBE_ENOMEM;
	if (spill->fd < 0 && !spill->in_memory && spill->base + spill->len + len > spill->after) {
		const char *dir = getenv("TMPDIR");
		spill->fd = open_file(dir && *dir ? dir : "/tmp");
		spill->in_memory = spill->fd < 0;
	}
	if (on_file(spill) && spill->len && spill->len + len > BLOCK)
		flush(spill);
	if (spill->len + len > spill->cap) {
		size_t cap = spill->cap ? spill->cap : on_file(spill) ? BLOCK : 4096;
		while (cap < spill->len + len)
			cap *= 2;
		char *grown = kube_realloc(spill->mem, cap);
		if (!grown)
			return KUBE_ENOMEM;
		spill->mem = grown;
		spill->cap = cap;
	}
	if (len)
		memcpy(spill->mem + spill->len, data, len);
	*at = spill->base + spill->len;
	spill->len += len;
	return 0;
}

static int read_all(int fd, char *out, size_t len, uint64_t at, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = pread(fd, out + *got, len - *got, (off_t)(at + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

const char *probecheck_spill_get(probecheck_spill *spill, uint64_t at, size_t len)
{
	uint64_t end = spill->base + spill->len;
	if (at > end || len > end - at || (at < spill->base && len > spill->base - at)) {
		cli_error("read back the findings: offset %llu is past the end of the spill", (unsigned long long)at);
		return NULL;
	}
	if (at >= spill->base)
		return spill->mem + (at - spill->base);
	if (at >= spill->window_at && at - spill->window_at + len <= spill->window_len)
		return spill->window + (at - spill->window_at);
	/* a block at a time, never past base: what lies beyond is stale */
	size_t want = len > BLOCK ? len : BLOCK;
	if (want > spill->base - at)
		want = (size_t)(spill->base - at);
	if (want > spill->window_cap) {
		char *grown = kube_realloc(spill->window, want);
		if (!grown) {
			cli_error("read back the findings: out of memory");
			return NULL;
		}
		spill->window = grown;
		spill->window_cap = want;
	}
	size_t got = 0;
	int failed = read_all(spill->fd, spill->window, want, at, &got);
	if (failed || got < len) {
		spill->window_len = 0;
		cli_error("read the findings' temporary file: %s", failed ? strerror(errno) : "short read");
		return NULL;
	}
	spill->window_at = at;
	spill->window_len = got;
	return spill->window;
}

void probecheck_spill_truncate(probecheck_spill *spill, uint64_t at)
{
	if (at >= spill->base) {
		if (at - spill->base < spill->len)
			spill->len = (size_t)(at - spill->base);
		return;
	}
	/* the file from at on is rewritten by later puts: not read back */
	spill->base = at;
	spill->len = 0;
	if (spill->window_at + spill->window_len > at)
		spill->window_len = 0;
}

void probecheck_spill_free(probecheck_spill *spill)
{
	if (!spill)
		return;
	if (spill->fd >= 0)
		(void)close(spill->fd);
	kube_free(spill->mem);
	kube_free(spill->window);
	kube_free(spill);
}
