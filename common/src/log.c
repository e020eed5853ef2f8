/* Routes log lines to the callback the program installed. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static kube_log_fn log_fn;
static void *log_user;
static int log_verbosity;

void kube_log_set(kube_log_fn fn, int verbosity, void *user)
{
	log_fn = fn;
	log_user = user;
	log_verbosity = verbosity;
}

int kube_log_verbosity(void)
{
	return log_fn ? log_verbosity : -1;
}

void kube_log(int level, const char *fmt, ...)
{
	if (!log_fn || level > log_verbosity)
		return;
	char line[16384]; /* bodies are logged up to 10 KiB */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_fn(level, line, log_user);
}
