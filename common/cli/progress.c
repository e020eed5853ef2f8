/* The live status line and its log-line fallback. */
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <kube/buf.h>

#include "cli/progress.h"

/* The one live line on the terminal, for cli_progress_interrupt. */
static cli_progress *active;

static long monotonic_ms(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return 0;
	return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void cli_progress_init(cli_progress *progress, FILE *stream, int live)
{
	static const kube_buf buf_init = KUBE_BUF_INIT;
	memset(progress, 0, sizeof(*progress));
	progress->stream = stream;
	progress->live = live >= 0 ? live : isatty(fileno(stream));
	progress->clock_ms = monotonic_ms;
	progress->start_ms = monotonic_ms();
	progress->last = buf_init;
}

void cli_format_duration(char *buf, size_t size, long ms)
{
	long s = ms < 0 ? 0 : ms / 1000;
	if (s < 60)
		(void)snprintf(buf, size, "%lds", s);
	else if (s < 3600)
		(void)snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
	else
		(void)snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
}

static int format_state(kube_buf *out, const char *step, int ready, int desired, const char *next)
{
	int rc = kube_buf_puts(out, step ? step : "");
	if (!rc && desired >= 0)
		rc = kube_buf_printf(out, "  ready %d/%d", ready, desired);
	if (!rc && next && *next)
		rc = kube_buf_printf(out, "  next: %s", next);
	return rc;
}

int cli_progress_format(kube_buf *out, long elapsed_ms, const char *step, int ready, int desired, const char *next)
{
	char elapsed[32];
	cli_format_duration(elapsed, sizeof(elapsed), elapsed_ms);
	int rc = kube_buf_printf(out, "%s  elapsed %s", step ? step : "", elapsed);
	if (!rc)
		rc = format_state(out, NULL, ready, desired, next);
	return rc;
}

/* Terminal columns, so the line never wraps (\r only returns to the start
 * of the last row). */
static size_t columns(FILE *stream)
{
	struct winsize ws;
	if (ioctl(fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Bytes of text that fit in max code points. */
static size_t fit(const char *text, size_t len, size_t max)
{
	size_t points = 0;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)text[i] & 0xc0) != 0x80 && points++ == max)
			return i;
	}
	return len;
}

void cli_progress_update(cli_progress *progress, const char *step, int ready, int desired, const char *next)
{
	kube_buf state = KUBE_BUF_INIT, line = KUBE_BUF_INIT;
	long elapsed = progress->clock_ms() - progress->start_ms;
	if (format_state(&state, step, ready, desired, next) ||
	    cli_progress_format(&line, elapsed, step, ready, desired, next))
		goto done;
	if (progress->live) {
		size_t width = columns(progress->stream);
		size_t shown = fit(kube_buf_cstr(&line), line.len, width > 1 ? width - 1 : width);
		(void)fprintf(progress->stream, "\r%.*s\033[K", (int)shown, kube_buf_cstr(&line));
		(void)fflush(progress->stream);
		progress->line_shown = 1;
		active = progress;
	} else if (progress->last.len != state.len ||
	           memcmp(kube_buf_cstr(&progress->last), kube_buf_cstr(&state), state.len) != 0) {
		(void)fprintf(progress->stream, "%s\n", kube_buf_cstr(&line));
		(void)fflush(progress->stream);
	}
	kube_buf_clear(&progress->last);
	(void)kube_buf_put(&progress->last, kube_buf_cstr(&state), state.len);
done:
	kube_buf_dispose(&state);
	kube_buf_dispose(&line);
}

void cli_progress_interrupt(void)
{
	if (active && active->line_shown) {
		(void)fputs("\r\033[K", active->stream);
		(void)fflush(active->stream);
		active->line_shown = 0;
	}
}

void cli_progress_finish(cli_progress *progress)
{
	if (progress->live && progress->line_shown) {
		(void)fputc('\n', progress->stream);
		(void)fflush(progress->stream);
	}
	progress->line_shown = 0;
	if (active == progress)
		active = NULL;
	kube_buf_dispose(&progress->last);
}
