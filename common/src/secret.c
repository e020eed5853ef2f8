/* Wiping memory that held credentials before it goes back to the heap. */
#include <string.h>

#include "internal.h"
#include "secret.h"

void kube_secret_wipe(void *ptr, size_t len)
{
	volatile unsigned char *p = ptr;
	while (p && len--)
		*p++ = 0;
}

void kube_secret_free(char *s)
{
	if (s) {
		kube_secret_wipe(s, strlen(s));
		kube_free(s);
	}
}

void kube_secret_buf_dispose(kube_buf *buf)
{
	kube_secret_wipe(buf->ptr, buf->cap);
	kube_buf_dispose(buf);
}
