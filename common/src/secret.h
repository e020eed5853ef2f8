/* Memory that held credentials (tokens, keys, passwords) is overwritten
 * before it is freed, so a later dump or reuse of the heap shows none. */
#ifndef KUBE_SECRET_H
#define KUBE_SECRET_H

#include <stddef.h>

#include <kube/buf.h>

/* Zeroes len bytes at ptr through volatile stores, which the compiler may
 * not drop as dead; NULL is fine. */
void kube_secret_wipe(void *ptr, size_t len);

/* Wipes the NUL-terminated string s and frees it; NULL is fine. */
void kube_secret_free(char *s);

/* Wipes all of buf's allocation, then kube_buf_dispose. */
void kube_secret_buf_dispose(kube_buf *buf);

#endif
