/* Logging: libkube never prints; it hands log lines to a callback the
 * program installs. Levels follow kubectl's -v: 4 decisions, 6 one line
 * per request, 8 request and response bodies. Everything passed to the
 * callback is already redacted (tokens, keys, Authorization headers,
 * Secret data). */
#ifndef KUBE_LOG_H
#define KUBE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum kube_log_level {
	KUBE_LOG_WARN = 0,
	KUBE_LOG_INFO = 2,
	KUBE_LOG_DECISION = 4,
	KUBE_LOG_REQUEST = 6,
	KUBE_LOG_HEADERS = 7,
	KUBE_LOG_BODY = 8
};

typedef void (*kube_log_fn)(int level, const char *line, void *user);

/* Installs the callback and the verbosity: lines above verbosity are not
 * even formatted. fn NULL disables logging. */
void kube_log_set(kube_log_fn fn, int verbosity, void *user);

/* The verbosity in force. */
int kube_log_verbosity(void);

/* Emits one line at level (used by the library and by plugin code). */
void kube_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
