/* Files as libkube reads and writes them: whole reads capped in size, and
 * atomic replacement for files that hold credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "internal.h"
#include "secret.h"

/* Appends everything fd yields to buf: 0, the read's errno, or what
 * kube_buf_put returned. */
static int read_all(kube_buf *buf, int fd)
{
	char chunk[8192];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = errno;
		else if (n > 0)
			rc = kube_buf_put(buf, chunk, (size_t)n);
		if (n <= 0 || rc)
			break;
	}
	kube_secret_wipe(chunk, sizeof(chunk)); /* it may have held a token */
	return rc;
}

int kube_file_load(kube_buf *buf, const char *path, size_t limit, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;
	buf->limit = limit;
	if (fd < 0)
		return errno;
	if (st && fstat(fd, st) != 0)
		rc = errno;
	else
		rc = read_all(buf, fd);
	close(fd);
	return rc;
}

int kube_file_read(kube_buf *buf, const char *path, size_t limit)
{
	return kube_file_read_stat(buf, path, limit, NULL);
}

int kube_file_read_stat(kube_buf *buf, const char *path, size_t limit, struct stat *st)
{
	char err_text[128];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return kube_error_set(KUBE_ECONFIG, "%s: %s", path, kube_errno_text(errno, err_text, sizeof(err_text)));
	}
	if (st && fstat(fd, st) != 0) {
		int err = errno;
		close(fd);
		return kube_error_set(KUBE_ECONFIG, "%s: stat: %s", path,
		                      kube_errno_text(err, err_text, sizeof(err_text)));
	}
	buf->limit = limit;
	int rc = read_all(buf, fd);
	close(fd);
	if (rc > 0)
		rc = kube_error_set(KUBE_ECONFIG, "%s: read: %s", path,
		                    kube_errno_text(rc, err_text, sizeof(err_text)));
	else if (rc == KUBE_EPROTOCOL)
		rc = kube_error_set(KUBE_ECONFIG, "%s: larger than %zu bytes", path, limit);
	return rc;
}

int kube_file_read_trimmed(char **out, const char *path, size_t limit)
{
	char err_text[128];
	kube_buf buf = KUBE_BUF_INIT;
	int rc = kube_file_read(&buf, path, limit);
	const char *text = kube_buf_cstr(&buf);
	size_t start = strspn(text, " \t\r\n"), end = buf.len;
	*out = NULL;
	if (rc == 1)
		rc = kube_error_set(KUBE_ECONFIG, "%s: %s", path, kube_errno_text(ENOENT, err_text, sizeof(err_text)));
	while (end > start && strchr(" \t\r\n", text[end - 1]))
		end--;
	if (!rc && !(*out = kube_strndup(text + start, end - start)))
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	kube_buf_dispose(&buf);
	return rc;
}

int kube_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char *tmp = kube_asprintf("%s.tmp-XXXXXX", path);
	int fd = -1, err = 0;
	if (!tmp)
		return ENOMEM;
	if ((fd = mkstemp(tmp)) < 0) {
		err = errno;
		goto done;
	}
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
		err = errno;
	if (close(fd) != 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) != 0)
		err = errno;
	if (err) {
		unlink(tmp);
		goto done;
	}
	/* The rename is durable once the directory is. */
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*(slash == tmp ? slash + 1 : slash) = '\0';
		int dir = open(tmp, O_RDONLY | O_CLOEXEC);
		if (dir >= 0) {
			fsync(dir);
			close(dir);
		}
	}
done:
	kube_free(tmp);
	return err;
}

const char *kube_errno_text(int err, char *buf, size_t size)
{
	if (strerror_r(err, buf, size) != 0)
		(void)snprintf(buf, size, "errno %d", err);
	return buf;
}
