/* The allocator hook: every allocation libkube makes (its own and
 * jansson's) goes through these functions, so tests can make any of them
 * fail. */
#ifndef KUBE_ALLOC_H
#define KUBE_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_allocator {
	void *(*malloc_fn)(size_t size);
	void *(*realloc_fn)(void *ptr, size_t size);
	void (*free_fn)(void *ptr);
} kube_allocator;

/* Installs allocator functions; NULL restores the C library's. Call before
 * any other libkube function; not thread-safe. */
void kube_allocator_set(const kube_allocator *allocator);

void *kube_malloc(size_t size);
void *kube_calloc(size_t count, size_t size);
void *kube_realloc(void *ptr, size_t size);
void kube_free(void *ptr);
/* Returns a copy of s (NULL when s is NULL or on allocation failure). */
char *kube_strdup(const char *s);
char *kube_strndup(const char *s, size_t n);
/* Returns a newly allocated formatted string, or NULL. */
char *kube_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
