/* Primitives shared by libkube's internals: setting the thread's last
 * error, and small helpers every module uses. Not installed. */
#ifndef KUBE_INTERNAL_H
#define KUBE_INTERNAL_H

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <kube/log.h>

#define KUBE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Records code and a formatted one-line message as the last error; returns
 * code so callers can `return kube_error_set(...)`. */
int kube_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like kube_error_set, and records the HTTP status and the server's Status
 * reason/message (either may be NULL). */
int kube_error_set_http(int code, long http_status, const char *reason, const char *server_message, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* Prefixes the current last error's message with "context: ". Returns the
 * current code. */
int kube_error_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
