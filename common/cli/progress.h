/* Progress of a long wait (SPEC §1.1): on a terminal one live status line
 * rewritten in place; elsewhere (CI logs) a plain line each time the state
 * changes. Written to stderr so stdout stays machine-readable. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cli_progress {
	FILE *stream;
	int live;               /* rewrite one line in place */
	long (*clock_ms)(void); /* monotonic milliseconds; tests may replace it */
	long start_ms;
	kube_buf last;  /* the last state printed, without the elapsed time */
	int line_shown; /* a live line is on the screen */
} cli_progress;

/* Starts timing. live: 1 live line, 0 log lines, -1 live exactly when
 * stream is a terminal. */
void cli_progress_init(cli_progress *progress, FILE *stream, int live);

/* Shows the state: step ("step 2/5 (25%)"), ready/desired pods (desired
 * < 0 hides them) and the next action ("promote to 50% in 4m"; NULL
 * hides it). A live line is redrawn every call, so the elapsed time
 * ticks; a log line is printed only when anything but the elapsed time
 * changed, so the next action should not carry a countdown. */
void cli_progress_update(cli_progress *progress, const char *step, int ready, int desired, const char *next);

/* Ends the live line (keeping its last state on screen) and releases. */
void cli_progress_finish(cli_progress *progress);

/* Clears the live line, if one is shown, before other output goes to the
 * terminal; the next update redraws it. The -v logger calls this. */
void cli_progress_interrupt(void);

/* Appends "step 2/5 (25%)  elapsed 1m05s  ready 3/4  next: promote". */
int cli_progress_format(kube_buf *out, long elapsed_ms, const char *step, int ready, int desired, const char *next);

/* Writes a duration as kubectl prints ages: "45s", "1m05s", "2h03m". */
void cli_format_duration(char *buf, size_t size, long ms);

#ifdef __cplusplus
}
#endif
#endif
