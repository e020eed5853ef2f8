/* Text helpers for the canary modules' one-line messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

void canary_set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

const char *canary_quote(char *buf, size_t max, const char *text, size_t len)
{
	size_t n = 0;
	for (; n < len && n < max; n++) {
		unsigned char c = (unsigned char)text[n];
		buf[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}
