/* The -v logger: libkube's and the plugins' log lines (kube_log) printed
 * on stderr in klog's layout, as kubectl -v prints them, each line
 * redacted again before it is written; warnings (level 0) printed as
 * "warning: ..." lines instead, once per text. */
#ifndef CLI_VLOG_H
#define CLI_VLOG_H

#include <stdio.h>
#include <time.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Installs the logger with kube_log_set() at verbosity (warnings, level
 * 0, always show). stream NULL = stderr. */
void cli_vlog_install(int verbosity, FILE *stream);

/* The callback cli_vlog_install installs; user is the FILE* (NULL =
 * stderr). A line at KUBE_LOG_WARN or below is redacted and printed with
 * cli_warning ("warning: <line>", on cli_error_stream()) the first time
 * its text is seen in the process, and never again. */
void cli_vlog_write(int level, const char *line, void *user);

/* Library warnings starting with prefix are not printed from now on
 * (one prefix; NULL: none). */
void cli_vlog_mute(const char *prefix);

/* Appends one formatted line: "I1124 12:00:00.000000   12345 request] GET ...\n"
 * ('W' for warnings), the time in local time, line redacted. Returns 0 or
 * KUBE_ENOMEM. */
int cli_vlog_format(kube_buf *out, int level, const char *line, time_t seconds, long microseconds, long pid);

#ifdef __cplusplus
}
#endif
#endif
