/* Whole-file reads with a size cap, the atomic replacement of a file, and
 * the text of a system error, for the modules that read kubeconfigs,
 * tokens and CA bundles or write credentials back. */
#ifndef KUBE_FS_H
#define KUBE_FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <kube/buf.h>

/* Appends the whole file at path to buf, whose limit becomes limit (0: no
 * cap), reading through a close-on-exec descriptor and resuming
 * interrupted reads. When st is not NULL it receives the opened file's
 * status. Returns 0; a positive errno value when open, fstat or read
 * failed, recorded nowhere so that each caller words its own message; or,
 * as kube_buf_put records them, KUBE_EPROTOCOL past the cap and
 * KUBE_ENOMEM. buf keeps what was read in every case: callers reading
 * secrets wipe it. */
int kube_file_load(kube_buf *buf, const char *path, size_t limit, struct stat *st);

/* kube_file_load for configuration files: returns 0; 1 when the file does
 * not exist (ENOENT only, as Go's os.IsNotExist); KUBE_ECONFIG "path:
 * problem" ("path: read: problem" when the read failed, "path: larger
 * than N bytes" past limit); KUBE_ENOMEM. */
int kube_file_read(kube_buf *buf, const char *path, size_t limit);

/* kube_file_read that also fills st, when not NULL, with the status of
 * the file it read (fstat of the open descriptor, so of what a symlink
 * points at), for callers that judge its permissions. st is set when 0 is
 * returned; a failed fstat is KUBE_ECONFIG "path: stat: problem". */
int kube_file_read_stat(kube_buf *buf, const char *path, size_t limit, struct stat *st);

/* kube_file_read of a small file (a token, a namespace) into a new string
 * with surrounding spaces, tabs, CRs and LFs trimmed (free with
 * kube_free). A missing file is KUBE_ECONFIG "path: No such file or
 * directory"; other errors as kube_file_read. On error *out is NULL. */
int kube_file_read_trimmed(char **out, const char *path, size_t limit);

/* Replaces path with data[0..len) atomically, as clientcmd's persister
 * and kubectl need: a temporary file in the same directory is written,
 * given mode, fsynced and renamed over path, then the directory is
 * fsynced. A failed write leaves path untouched and removes the temporary
 * file. Returns 0 or an errno value (ENOMEM when the temporary name cannot
 * be built), recording nothing. */
int kube_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode);

/* strerror_r(err) into buf, or "errno N" when there is no text; returns
 * buf. Thread-safe, unlike strerror. */
const char *kube_errno_text(int err, char *buf, size_t size);

#endif
