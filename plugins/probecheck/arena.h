/* A bump allocator for everything one audit keeps until its report is
 * written: workload summaries, messages, fixes. Freed in one go, so a
 * finding costs no malloc of its own. */
#ifndef PROBECHECK_ARENA_H
#define PROBECHECK_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct probecheck_arena_chunk probecheck_arena_chunk;

typedef struct probecheck_arena {
	probecheck_arena_chunk *head; /* the chunk being filled; older ones follow */
	size_t used;                  /* bytes used in head */
	size_t total;                 /* bytes allocated over all chunks */
} probecheck_arena;

#define PROBECHECK_ARENA_INIT                                                                                          \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}

/* Returns size bytes aligned for any type, valid until the arena is
 * disposed, or NULL when memory runs out. */
void *probecheck_arena_alloc(probecheck_arena *arena, size_t size);

/* Returns size bytes with no alignment (packed keys), or NULL when memory
 * runs out. */
void *probecheck_arena_bytes(probecheck_arena *arena, size_t size);

/* Copies of s (NULL stays NULL; "" is returned for an empty s without
 * allocating); NULL when memory runs out. */
char *probecheck_arena_strdup(probecheck_arena *arena, const char *s);
char *probecheck_arena_strndup(probecheck_arena *arena, const char *s, size_t len);

/* A formatted string in the arena, or NULL when memory runs out. */
char *probecheck_arena_printf(probecheck_arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *probecheck_arena_vprintf(probecheck_arena *arena, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Forgets everything allocated, keeping the chunk being filled for what
 * comes next (scratch memory reused per workload). */
void probecheck_arena_reset(probecheck_arena *arena);

/* Frees every chunk; the arena is empty and reusable afterwards. */
void probecheck_arena_dispose(probecheck_arena *arena);

#endif
