/* The watch stream's line splitter and line parser, separate from the
 * transport so unit tests and the fuzzer can reach them. Not installed. */
#ifndef KUBE_WATCH_INTERNAL_H
#define KUBE_WATCH_INTERNAL_H

#include <stddef.h>

#include <kube/buf.h>
#include <kube/watch.h>

/* The stream buffer's limit: one event line larger than this is refused
 * (the transfer fails when an append would pass it). */
#define KUBE_WATCH_MAX_LINE (64UL * 1024 * 1024)

/* The first complete line of the bytes buffered from a stream: returns 1
 * with *len its length without the '\n' (the line is stream->ptr[0..len),
 * borrowed until kube_watch_drop_line), or 0 while no complete line is
 * buffered (the last one may be cut anywhere by the transport). */
int kube_watch_peek_line(const kube_buf *stream, size_t *len);

/* Removes the line kube_watch_peek_line found, len bytes and its '\n'. */
void kube_watch_drop_line(kube_buf *stream, size_t len);

/* Parses one newline-free line of a watch stream. Returns 0 with *event
 * filled (dispose it); KUBE_EGONE for an ERROR event saying the version
 * expired; KUBE_EFORBIDDEN or KUBE_EPROTOCOL for other ERROR events and
 * malformed lines, with the server's Status kept in the last error. */
int kube_watch_parse_line(kube_watch_event *event, const char *line, size_t len);

#endif
