/* The colour decision and ANSI styles. */
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "cli/color.h"
#include "cli/internal.h"

int cli_color_decide(int is_tty, int no_color_flag, const char *no_color_env)
{
	return is_tty && !no_color_flag && !no_color_env;
}

int cli_color_enabled(FILE *stream, int no_color_flag)
{
	int fd = stream ? fileno(stream) : -1;
	return cli_color_decide(fd >= 0 && isatty(fd), no_color_flag, getenv("NO_COLOR"));
}

const char *cli_style_start(int enabled, enum cli_style style)
{
	static const char *const codes[] = {
	        [CLI_STYLE_ERROR] = "\033[31m",   [CLI_STYLE_WARNING] = "\033[33m", [CLI_STYLE_INFO] = "\033[36m",
	        [CLI_STYLE_SUCCESS] = "\033[32m", [CLI_STYLE_BOLD] = "\033[1m",     [CLI_STYLE_DIM] = "\033[2m",
	};
	if (!enabled || (size_t)style >= CLI_ARRAY_SIZE(codes))
		return "";
	return codes[style];
}

const char *cli_style_end(int enabled)
{
	return enabled ? "\033[0m" : "";
}

int cli_style_append(kube_buf *out, int enabled, enum cli_style style, const char *text)
{
	return kube_buf_printf(out, "%s%s%s", cli_style_start(enabled, style), text, cli_style_end(enabled));
}

enum cli_style cli_style_for_severity(const char *severity)
{
	static const struct {
		const char *name;
		enum cli_style style;
	} styles[] = {
	        {"error", CLI_STYLE_ERROR},     {"critical", CLI_STYLE_ERROR}, {"failed", CLI_STYLE_ERROR},
	        {"warning", CLI_STYLE_WARNING}, {"info", CLI_STYLE_INFO},      {"ok", CLI_STYLE_SUCCESS},
	        {"pass", CLI_STYLE_SUCCESS},    {"passed", CLI_STYLE_SUCCESS}, {"success", CLI_STYLE_SUCCESS},
	};
	for (size_t i = 0; severity && i < CLI_ARRAY_SIZE(styles); i++)
		if (strcasecmp(severity, styles[i].name) == 0)
			return styles[i].style;
	return CLI_STYLE_BOLD;
}
