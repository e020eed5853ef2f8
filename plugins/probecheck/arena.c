/* The audit's bump allocator: 64 KiB chunks, larger requests get a chunk of their own. */
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>

#include "arena.h"

#define CHUNK_SIZE ((size_t)64 * 1024)
#define ALIGNMENT  ((size_t)16)

struct probecheck_arena_chunk {
	probecheck_arena_chunk *next;
	size_t size;
	/* data follows, aligned */
};

static size_t header_size(void)
{
	return (sizeof(probecheck_arena_chunk) + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
}

static unsigned char *chunk_data(probecheck_arena_chunk *chunk)
{
	return (unsigned char *)chunk + header_size();
}

/* size bytes at a multiple of align (a power of two, at most ALIGNMENT):
 * strings take 1, so tens of thousands of short names waste nothing. */
static void *alloc(probecheck_arena *arena, size_t size, size_t align)
{
	size_t rounded = (size + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
	if (rounded < size)
		return NULL;
	size_t start = arena->head ? (arena->used + align - 1) & ~(align - 1) : 0;
	if (!arena->head || start > arena->head->size || arena->head->size - start < size) {
		size_t data_size = rounded > CHUNK_SIZE / 4 ? rounded : CHUNK_SIZE;
		if (data_size > (size_t)-1 - header_size())
			return NULL;
		probecheck_arena_chunk *chunk = kube_malloc(header_size() + data_size);
		if (!chunk)
			return NULL;
		chunk->size = data_size;
		arena->total += data_size;
		if (data_size != CHUNK_SIZE && arena->head) {
			/* A big block goes behind the chunk being filled, which keeps its free space. */
			chunk->next = arena->head->next;
			arena->head->next = chunk;
			return chunk_data(chunk);
		}
		chunk->next = arena->head;
		arena->head = chunk;
		arena->used = 0;
		start = 0;
	}
	void *p = chunk_data(arena->head) + start;
	arena->used = start + size;
	return p;
}

void *probecheck_arena_alloc(probecheck_arena *arena, size_t size)
{
	return alloc(arena, size, ALIGNMENT);
}

void *probecheck_arena_bytes(probecheck_arena *arena, size_t size)
{
	return alloc(arena, size, 1);
}

char *probecheck_arena_strndup(probecheck_arena *arena, const char *s, size_t len)
{
	if (!s)
		return NULL;
	if (len == 0)
		return (char *)"";
	char *copy = alloc(arena, len + 1, 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *probecheck_arena_strdup(probecheck_arena *arena, const char *s)
{
	return s ? probecheck_arena_strndup(arena, s, strlen(s)) : NULL;
}

char *probecheck_arena_vprintf(probecheck_arena *arena, const char *fmt, va_list ap)
{
	char small[256];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		return NULL;
	}
	char *out = alloc(arena, (size_t)n + 1, 1);
	if (out) {
		if ((size_t)n < sizeof(small))
			memcpy(out, small, (size_t)n + 1);
		else
			(void)vsnprintf(out, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	return out;
}

char *probecheck_arena_printf(probecheck_arena *arena, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = probecheck_arena_vprintf(arena, fmt, ap);
	va_end(ap);
	return out;
}

void probecheck_arena_reset(probecheck_arena *arena)
{
	probecheck_arena_chunk *head = arena->head;
	if (!head)
		return;
	probecheck_arena_chunk *chunk = head->next;
	while (chunk) {
		probecheck_arena_chunk *next = chunk->next;
		kube_free(chunk);
		chunk = next;
	}
	if (head->size != CHUNK_SIZE) {
		/* a big block can only be the head when it came first */
		kube_free(head);
		arena->head = NULL;
		arena->total = 0;
	} else {
		head->next = NULL;
		arena->total = head->size;
	}
	arena->used = 0;
}

void probecheck_arena_dispose(probecheck_arena *arena)
{
	probecheck_arena_chunk *chunk = arena->head;
	while (chunk) {
		probecheck_arena_chunk *next = chunk->next;
		kube_free(chunk);
		chunk = next;
	}
	arena->head = NULL;
	arena->used = arena->total = 0;
}
