/* The finding texts' temporary file: appends go through a 64 KiB write
 * block, reads through a 64 KiB window that follows the rendering, which
 * visits the texts in the order they were written. */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kube/alloc.h>

#include "cli/exit.h"
#include "spill.h"

#define BLOCK ((size_t)64 * 1024)

struct probecheck_spill {
	int fd;
	int broken;         /* a write failed: no more puts */
	uint64_t size;      /* bytes in the file and the write block */
	char write[BLOCK];  /* bytes not yet written, from file offset flushed */
	size_t pending;     /* bytes in write */
	uint64_t flushed;   /* file offset of write[0] */
	char *window;       /* a stretch read back, NUL-terminated */
	size_t window_cap;  /* bytes allocated for window, the NUL included */
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

probecheck_spill *probecheck_spill_open(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open_file(dir);
	if (fd < 0)
		return NULL;
	probecheck_spill *spill = kube_malloc(sizeof(*spill));
	if (!spill) {
		(void)close(fd);
		return NULL;
	}
	memset(spill, 0, sizeof(*spill));
	spill->fd = fd;
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

static int flush(probecheck_spill *spill)
{
	if (!spill->pending)
		return 0;
	if (write_all(spill->fd, spill->write, spill->pending, spill->flushed))
		return -1;
	spill->flushed += spill->pending;
	spill->pending = 0;
	return 0;
}

int probecheck_spill_usable(const probecheck_spill *spill)
{
	return spill && !spill->broken;
}

int probecheck_spill_put(probecheck_spill *spill, const void *data, size_t len, uint64_t *at)
{
	if (spill->broken)
		return -1;
	if (spill->pending + len > BLOCK && flush(spill)) {
		spill->broken = 1;
		return -1;
	}
	*at = spill->size;
	if (len > BLOCK) {
		/* the block is empty now: a long text goes straight to the file */
		if (write_all(spill->fd, data, len, spill->flushed)) {
			spill->broken = 1;
			return -1;
		}
		spill->flushed += len;
	} else {
		memcpy(spill->write + spill->pending, data, len);
		spill->pending += len;
	}
	spill->size += len;
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
	if (at > spill->size || len > spill->size - at) {
		cli_error("read back a finding: offset %llu is past the end of the spill file", (unsigned long long)at);
		return NULL;
	}
	if (at >= spill->window_at && at - spill->window_at + len <= spill->window_len) {
		return spill->window + (at - spill->window_at);
	}
	if (flush(spill)) {
		spill->broken = 1;
		cli_error("write the findings' temporary file: %s", strerror(errno));
		return NULL;
	}
	size_t want = len > BLOCK ? len : BLOCK;
	if (want + 1 > spill->window_cap) {
		char *grown = kube_realloc(spill->window, want + 1);
		if (!grown) {
			cli_error("read back a finding: out of memory");
			return NULL;
		}
		spill->window = grown;
		spill->window_cap = want + 1;
	}
	size_t got = 0;
	if (read_all(spill->fd, spill->window, want, at, &got) || got < len) {
		spill->window_len = 0;
		cli_error("read the findings' temporary file: %s", got < len ? "short read" : strerror(errno));
		return NULL;
	}
	spill->window_at = at;
	spill->window_len = got;
	spill->window[got] = '\0';
	return spill->window;
}

void probecheck_spill_close(probecheck_spill *spill)
{
	if (!spill)
		return;
	(void)close(spill->fd);
	kube_free(spill->window);
	kube_free(spill);
}
