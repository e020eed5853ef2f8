/* Exit codes, the libkube-to-exit-code table, and the error, hint and
 * warning lines printed on stderr. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kube/error.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/internal.h"

static FILE *error_stream;

void cli_error_stream_set(FILE *stream)
{
	error_stream = stream;
}

FILE *cli_error_stream(void)
{
	return error_stream ? error_stream : stderr;
}

int cli_exit_from_kube(int code, long http_status)
{
	assert(code <= 0 && "cli_exit_from_kube takes a KUBE_E* code");
	switch (code) {
	case KUBE_OK:
		return CLI_EXIT_OK;
	case KUBE_ECONFIG:
	case KUBE_EAUTH:
	case KUBE_ETLS:
		return CLI_EXIT_CONFIG;
	case KUBE_ENETWORK:
	case KUBE_EFORBIDDEN:
	case KUBE_ENOTFOUND:
	case KUBE_ETIMEOUT:
	case KUBE_EPROTOCOL:
	case KUBE_EGONE:
		return CLI_EXIT_API;
	case KUBE_ECONFLICT:
		return CLI_EXIT_CONFLICT;
	case KUBE_EINVALID:
		/* A status means the API server refused it; none means one
		 * of our parsers refused what the user gave (a manifest). */
		return http_status ? CLI_EXIT_API : CLI_EXIT_USAGE;
	default:
		return http_status >= 500 ? CLI_EXIT_API : CLI_EXIT_FAIL;
	}
}

const char *cli_hint_for_kube(int code)
{
	switch (code) {
	case KUBE_ECONFIG:
		return "check --kubeconfig (or KUBECONFIG) and --context; 'kubectl config get-contexts' lists the "
		       "contexts";
	case KUBE_EAUTH:
		return "check the credentials of the kubeconfig user ('kubectl config view --minify'); an expired "
		       "token "
		       "or exec plugin login may need renewing";
	case KUBE_ETLS:
		return "check --certificate-authority (or the cluster's certificate-authority in the kubeconfig) and "
		       "--tls-server-name";
	case KUBE_EFORBIDDEN:
		return "check your permissions with 'kubectl auth can-i --list'";
	case KUBE_ENOTFOUND:
		return "check the name and the namespace (-n/--namespace)";
	case KUBE_ENETWORK:
		return "check that the API server is reachable: 'kubectl cluster-info'";
	case KUBE_ETIMEOUT:
		return "the API server did not answer in time; check its health or raise --request-timeout";
	case KUBE_ECONFLICT:
		return "the object changed or another rollguard process is acting on it; run the command again";
	default:
		return NULL;
	}
}

/* What a code means, for when the last error carries no message. */
static const char *describe(int code)
{
	switch (code) {
	case KUBE_ENOMEM:
		return "out of memory";
	case KUBE_ECONFIG:
		return "invalid client configuration";
	case KUBE_EAUTH:
		return "authentication failed";
	case KUBE_EFORBIDDEN:
		return "forbidden";
	case KUBE_ENOTFOUND:
		return "not found";
	case KUBE_ECONFLICT:
		return "conflict";
	case KUBE_EINVALID:
		return "invalid";
	case KUBE_EGONE:
		return "resource version too old";
	case KUBE_ETIMEOUT:
		return "timed out";
	case KUBE_ENETWORK:
		return "network error";
	case KUBE_ETLS:
		return "TLS error";
	case KUBE_EPROTOCOL:
		return "unexpected response from the API server";
	default:
		return "failed";
	}
}

static void print_line(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void print_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	(void)fprintf(cli_error_stream(), "%s: %s\n", prefix, line);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_line("error", fmt, ap);
	va_end(ap);
}

void cli_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_line("hint", fmt, ap);
	va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_line("warning", fmt, ap);
	va_end(ap);
}

int cli_error_kube(const char *what, int code)
{
	const kube_error *last = kube_error_last();
	int current = last->code == code;
	const char *message = current && last->message[0] ? last->message : describe(code);
	const char *server = current ? last->server_message : "";
	long http_status = current ? last->http_status : 0;
	/* The server's Status message verbatim, unless the message has it. */
	int add_server = server[0] && !strstr(message, server);

	(void)fprintf(cli_error_stream(), "error: %s%s%s%s%s\n", what ? what : "", what ? ": " : "", message,
	              add_server ? ": " : "", add_server ? server : "");
	const char *hint = cli_hint_for_kube(code);
	if (hint)
		cli_hint("%s", hint);
	return cli_exit_from_kube(code, http_status);
}

int cli_usage_error(const cli_args *args, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_line("error", fmt, ap);
	va_end(ap);
	if (args && args->program) {
		char path[256];
		cli_args_command_path(args, path, sizeof(path));
		cli_hint("see '%s --help'", path);
	}
	return CLI_EXIT_USAGE;
}

int cli_error_nomem(void)
{
	cli_error("out of memory");
	return CLI_EXIT_FAIL;
}
