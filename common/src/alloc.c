/* The allocator hook that every libkube allocation (and jansson's) uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

static kube_allocator current = {malloc, realloc, free};

void kube_allocator_set(const kube_allocator *allocator)
{
	if (allocator) {
		current = *allocator;
	} else {
		current.malloc_fn = malloc;
		current.realloc_fn = realloc;
		current.free_fn = free;
	}
	json_set_alloc_funcs(current.malloc_fn, current.free_fn);
}

void *kube_malloc(size_t size)
{
	return current.malloc_fn(size ? size : 1);
}

void *kube_calloc(size_t count, size_t size)
{
	if (size && count > (size_t)-1 / size)
		return NULL;
	void *p = kube_malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *kube_realloc(void *ptr, size_t size)
{
	return current.realloc_fn(ptr, size ? size : 1);
}

void kube_free(void *ptr)
{
	if (ptr)
		current.free_fn(ptr);
}

char *kube_strndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, n);
	char *copy = kube_malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *kube_strdup(const char *s)
{
	return s ? kube_strndup(s, strlen(s)) : NULL;
}

char *kube_asprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *out = NULL;
	if (n >= 0 && (out = kube_malloc((size_t)n + 1)) != NULL)
		vsnprintf(out, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return out;
}
