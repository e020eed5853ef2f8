/* A growable byte buffer, always NUL-terminated, with an optional cap so
 * data read from the network cannot grow without bound. */
#ifndef KUBE_BUF_H
#define KUBE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_buf {
	char *ptr;    /* NUL-terminated; NULL until the first append */
	size_t len;   /* bytes used, excluding the NUL */
	size_t cap;   /* bytes allocated */
	size_t limit; /* 0 = unlimited; appends beyond it fail with KUBE_EPROTOCOL */
} kube_buf;

#define KUBE_BUF_INIT                                                                                                  \
	{                                                                                                              \
		NULL, 0, 0, 0                                                                                          \
	}

/* Appends; 0, KUBE_ENOMEM, or KUBE_EPROTOCOL when limit would be passed. */
int kube_buf_put(kube_buf *buf, const void *data, size_t len);
int kube_buf_puts(kube_buf *buf, const char *s);
int kube_buf_printf(kube_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kube_buf_vprintf(kube_buf *buf, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s percent-encoded for a URL path segment or query value. */
int kube_buf_put_urlescaped(kube_buf *buf, const char *s);
/* Removes the first n bytes. */
void kube_buf_consume(kube_buf *buf, size_t n);
void kube_buf_clear(kube_buf *buf);
/* Returns the contents ("" when empty); borrowed. */
const char *kube_buf_cstr(const kube_buf *buf);
/* Hands the contents to the caller (free with kube_free) and resets buf. */
char *kube_buf_detach(kube_buf *buf);
void kube_buf_dispose(kube_buf *buf);

#ifdef __cplusplus
}
#endif
#endif
