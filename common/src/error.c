/* The thread-local last error and its setters. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define KUBE_ERROR_MESSAGE_MAX 1024
#define KUBE_ERROR_FIELD_MAX   1024

/* Fixed-size storage so that recording an error never allocates (it must
 * work when the error being recorded is KUBE_ENOMEM). */
struct error_state {
	kube_error pub;
	char message[KUBE_ERROR_MESSAGE_MAX];
	char reason[128];
	char server_message[KUBE_ERROR_FIELD_MAX];
};

static _Thread_local struct error_state last_error;

static void copy_field(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	if (src) {
		/* one line: stop at the first newline */
		while (src[n] && src[n] != '\n' && n + 1 < size)
			n++;
		memmove(dst, src, n); /* src may be the record itself */
	}
	dst[n] = '\0';
}

static void publish(void)
{
	last_error.pub.message = last_error.message;
	last_error.pub.reason = last_error.reason;
	last_error.pub.server_message = last_error.server_message;
}

const kube_error *kube_error_last(void)
{
	publish();
	return &last_error.pub;
}

void kube_error_clear(void)
{
	memset(&last_error, 0, sizeof(last_error));
}

__attribute__((format(printf, 5, 0))) static int set_v(int code, long http_status, const char *reason,
                                                       const char *server_message, const char *fmt, va_list ap)
{
	char line[KUBE_ERROR_MESSAGE_MAX];
	vsnprintf(line, sizeof(line), fmt, ap);
	last_error.pub.code = code;
	last_error.pub.http_status = http_status;
	copy_field(last_error.message, sizeof(last_error.message), line);
	copy_field(last_error.reason, sizeof(last_error.reason), reason);
	copy_field(last_error.server_message, sizeof(last_error.server_message), server_message);
	publish();
	return code;
}

int kube_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(code, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int kube_error_set_http(int code, long http_status, const char *reason, const char *server_message, const char *fmt,
                        ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(code, http_status, reason, server_message, fmt, ap);
	va_end(ap);
	return code;
}

int kube_error_wrap(const char *fmt, ...)
{
	char prefix[KUBE_ERROR_MESSAGE_MAX];
	char joined[KUBE_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* a message too long for the record is cut, not lost */
	if (snprintf(joined, sizeof(joined), "%s: %s", prefix, last_error.message) < 0)
		joined[0] = '\0';
	copy_field(last_error.message, sizeof(last_error.message), joined);
	if (last_error.pub.code == 0)
		last_error.pub.code = KUBE_ERROR;
	publish();
	return last_error.pub.code;
}

const char *kube_error_name(int code)
{
	static const char *const names[] = {
	        "KUBE_OK",         "KUBE_ERROR",     "KUBE_ENOMEM",    "KUBE_ECONFIG",   "KUBE_EAUTH",
	        "KUBE_EFORBIDDEN", "KUBE_ENOTFOUND", "KUBE_ECONFLICT", "KUBE_EINVALID",  "KUBE_EGONE",
	        "KUBE_ETIMEOUT",   "KUBE_ENETWORK",  "KUBE_ETLS",      "KUBE_EPROTOCOL",
	};
	if (code > 0 || -code >= (int)KUBE_ARRAY_SIZE(names))
		return "KUBE_ERROR";
	return names[-code];
}
