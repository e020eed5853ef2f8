/* The watch stream's line parser, separate from the transport so unit
 * tests and the fuzzer can reach it. Not installed. */
#ifndef KUBE_WATCH_INTERNAL_H
#define KUBE_WATCH_INTERNAL_H

#include <stddef.h>

#include <kube/watch.h>

/* Parses one newline-free line of a watch stream. Returns 0 with *event
 * filled (dispose it); KUBE_EGONE for an ERROR event saying the version
 * expired; KUBE_EFORBIDDEN or KUBE_EPROTOCOL for other ERROR events and
 * malformed lines, with the server's Status kept in the last error. */
int kube_watch_parse_line(kube_watch_event *event, const char *line, size_t len);

#endif
