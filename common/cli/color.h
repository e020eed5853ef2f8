/* Colour: on only when the stream is a terminal and neither --no-color nor
 * NO_COLOR (set to anything) turns it off; styles for severities. */
#ifndef CLI_COLOR_H
#define CLI_COLOR_H

#include <stdio.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cli_style {
	CLI_STYLE_ERROR,   /* red */
	CLI_STYLE_WARNING, /* yellow */
	CLI_STYLE_INFO,    /* cyan */
	CLI_STYLE_SUCCESS, /* green */
	CLI_STYLE_BOLD,
	CLI_STYLE_DIM,
};

/* The decision itself: 1 when colour should be used. no_color_env is
 * getenv("NO_COLOR"); any value, even empty, disables colour. */
int cli_color_decide(int is_tty, int no_color_flag, const char *no_color_env);

/* cli_color_decide for stream, the environment and the --no-color flag. */
int cli_color_enabled(FILE *stream, int no_color_flag);

/* The escape sequence that starts style, or "" when enabled is 0. */
const char *cli_style_start(int enabled, enum cli_style style);
/* The escape sequence that resets styles, or "" when enabled is 0. */
const char *cli_style_end(int enabled);

/* Appends text wrapped in style (plain when enabled is 0). Returns 0 or
 * KUBE_ENOMEM. */
int cli_style_append(kube_buf *out, int enabled, enum cli_style style, const char *text);

/* The style of a severity name: "error"/"critical"/"failed" red,
 * "warning" yellow, "info" cyan, "ok"/"pass"/"passed"/"success" green;
 * anything else CLI_STYLE_BOLD. Case-insensitive. */
enum cli_style cli_style_for_severity(const char *severity);

#ifdef __cplusplus
}
#endif
#endif
