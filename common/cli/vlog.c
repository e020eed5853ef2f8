/* klog-style log lines on stderr for -v. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kube/buf.h>
#include <kube/log.h>

#include "cli/exit.h"
#include "cli/progress.h"
#include "cli/redact.h"
#include "cli/vlog.h"

/* klog prints file:line where we have the kind of line instead. */
static const char *level_tag(int level)
{
	if (level <= KUBE_LOG_WARN)
		return "warning";
	if (level < KUBE_LOG_DECISION)
		return "info";
	if (level < KUBE_LOG_REQUEST)
		return "decision";
	if (level < KUBE_LOG_HEADERS)
		return "request";
	if (level < KUBE_LOG_BODY)
		return "headers";
	return "body";
}

int cli_vlog_format(kube_buf *out, int level, const char *line, time_t seconds, long microseconds, long pid)
{
	struct tm tm;
	if (!localtime_r(&seconds, &tm))
		memset(&tm, 0, sizeof(tm));
	int rc = kube_buf_printf(out, "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s] ", level <= KUBE_LOG_WARN ? 'W' : 'I',
	                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, microseconds, pid,
	                         level_tag(level));
	if (!rc)
		rc = cli_redact(out, line, strlen(line));
	if (!rc && (out->len == 0 || out->ptr[out->len - 1] != '\n'))
		rc = kube_buf_puts(out, "\n");
	return rc;
}

/* Hashes of the warning texts printed so far (FNV-1a, 64 bits). */
#define WARNINGS_REMEMBERED 64
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t warned[WARNINGS_REMEMBERED];
static size_t warned_count;

/* 1 the first time text is seen; past WARNINGS_REMEMBERED texts, always. */
static int first_warning(const char *text)
{
	uint64_t hash = 14695981039346656037u;
	int first = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		hash = (hash ^ *p) * 1099511628211u;
	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; i < warned_count && first; i++)
		first = warned[i] != hash;
	if (first && warned_count < WARNINGS_REMEMBERED)
		warned[warned_count++] = hash;
	pthread_mutex_unlock(&warned_lock);
	return first;
}

/* libkube's warnings (KUBE_LOG_WARN: a kubeconfig others can read) are
 * for the user, not for -v: printed like every other warning of the suite
 * ("warning: ...", cli_warning), redacted, and each text once per process,
 * as kubectl deduplicates the API server's warnings. */
static const char *muted_prefix;

void cli_vlog_mute(const char *prefix)
{
	muted_prefix = prefix;
}

static void write_warning(const char *line)
{
	if (muted_prefix && !strncmp(line, muted_prefix, strlen(muted_prefix)))
		return;
	kube_buf text = KUBE_BUF_INIT;
	size_t len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		len--;
	int rc = cli_redact(&text, line, len);
	if (rc || first_warning(kube_buf_cstr(&text))) {
		cli_progress_interrupt();
		cli_warning("%s", rc ? "<warning dropped: out of memory>" : kube_buf_cstr(&text));
	}
	kube_buf_dispose(&text);
}

void cli_vlog_write(int level, const char *line, void *user)
{
	if (level <= KUBE_LOG_WARN) {
		write_warning(line);
		return;
	}
	FILE *stream = user ? (FILE *)user : stderr;
	struct timespec now;
	kube_buf text = KUBE_BUF_INIT;
	if (clock_gettime(CLOCK_REALTIME, &now) != 0)
		memset(&now, 0, sizeof(now));
	/* A live progress line on the terminal would be torn by the log
	 * line: clear it; the next update redraws it. */
	cli_progress_interrupt();
	if (cli_vlog_format(&text, level, line, now.tv_sec, now.tv_nsec / 1000, (long)getpid()) == 0)
		(void)fwrite(text.ptr, 1, text.len, stream);
	else
		(void)fputs("E0000 00:00:00.000000       0 log] <log line dropped: out of memory>\n", stream);
	(void)fflush(stream);
	kube_buf_dispose(&text);
}

void cli_vlog_install(int verbosity, FILE *stream)
{
	kube_log_set(cli_vlog_write, verbosity, stream);
}
