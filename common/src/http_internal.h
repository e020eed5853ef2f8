/* Response parsing of the HTTP transport that needs no client or
 * transfer, so unit tests and the fuzzer can reach it. Not installed. */
#ifndef KUBE_HTTP_INTERNAL_H
#define KUBE_HTTP_INTERNAL_H

#include <stddef.h>

/* Given one response header line as libcurl's header callback sees it
 * ("Retry-After: 5\r\n", not NUL-terminated), the delay it asks for in
 * seconds, >= 0; -1 when the line is another header or its value is not
 * delta-seconds (an HTTP-date is not read: the caller backs off as for a
 * reply without Retry-After). */
long kube_http_retry_after(const char *line, size_t len);

#endif
