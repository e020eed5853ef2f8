/* The growable, NUL-terminated, optionally capped byte buffer. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int grow(kube_buf *buf, size_t extra)
{
	if (buf->limit && (extra > buf->limit || buf->len > buf->limit - extra))
		return kube_error_set(KUBE_EPROTOCOL, "response larger than %zu bytes", buf->limit);
	size_t need = buf->len + extra + 1;
	if (need <= buf->cap)
		return 0;
	size_t cap = buf->cap ? buf->cap : 64;
	while (cap < need) {
		if (cap > (size_t)-1 / 2)
			return kube_error_set(KUBE_ENOMEM, "buffer too large");
		cap *= 2;
	}
	char *p = kube_realloc(buf->ptr, cap);
	if (!p)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	buf->ptr = p;
	buf->cap = cap;
	return 0;
}

int kube_buf_put(kube_buf *buf, const void *data, size_t len)
{
	int rc = grow(buf, len);
	if (rc)
		return rc;
	if (len)
		memcpy(buf->ptr + buf->len, data, len);
	buf->len += len;
	buf->ptr[buf->len] = '\0';
	return 0;
}

int kube_buf_puts(kube_buf *buf, const char *s)
{
	return kube_buf_put(buf, s, strlen(s));
}

int kube_buf_vprintf(kube_buf *buf, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return kube_error_set(KUBE_ERROR, "format error");
	int rc = grow(buf, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
	buf->len += (size_t)n;
	return 0;
}

int kube_buf_printf(kube_buf *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = kube_buf_vprintf(buf, fmt, ap);
	va_end(ap);
	return rc;
}

int kube_buf_put_urlescaped(kube_buf *buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int unreserved = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		                 *p == '-' || *p == '.' || *p == '_' || *p == '~';
		int rc;
		if (unreserved) {
			rc = kube_buf_put(buf, p, 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = kube_buf_put(buf, esc, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

void kube_buf_consume(kube_buf *buf, size_t n)
{
	if (n >= buf->len) {
		buf->len = 0;
	} else {
		memmove(buf->ptr, buf->ptr + n, buf->len - n);
		buf->len -= n;
	}
	if (buf->ptr)
		buf->ptr[buf->len] = '\0';
}

void kube_buf_clear(kube_buf *buf)
{
	kube_buf_consume(buf, buf->len);
}

const char *kube_buf_cstr(const kube_buf *buf)
{
	return buf->ptr ? buf->ptr : "";
}

char *kube_buf_detach(kube_buf *buf)
{
	char *p = buf->ptr ? buf->ptr : kube_strdup("");
	buf->ptr = NULL;
	buf->len = buf->cap = 0;
	return p;
}

void kube_buf_dispose(kube_buf *buf)
{
	kube_free(buf->ptr);
	buf->ptr = NULL;
	buf->len = buf->cap = 0;
}
