/* A hash map from strings to pointers whose keys live in an arena: cluster
 * mode's indexes (a ReplicaSet's uid to its owner's, a workload's uid to
 * its pods, "namespace/pod" to the pod's Events) without a JSON object per
 * entry. */
#ifndef PROBECHECK_KEYMAP_H
#define PROBECHECK_KEYMAP_H

#include <stddef.h>

#include "arena.h"

typedef struct probecheck_keymap {
	probecheck_arena *arena; /* borrowed: where keys are copied */
	struct probecheck_keymap_slot *slots;
	size_t slot_count; /* 0 or a power of two */
	size_t count;
} probecheck_keymap;

#define PROBECHECK_KEYMAP_INIT                                                                                         \
	{                                                                                                              \
		NULL, NULL, 0, 0                                                                                       \
	}

/* The value stored under key, or NULL. */
void *probecheck_keymap_get(const probecheck_keymap *map, const char *key);

/* Where key's value is stored: an existing entry, or a new one holding
 * NULL (key copied into the arena). NULL when memory runs out. */
void **probecheck_keymap_slot(probecheck_keymap *map, const char *key);

/* Forgets every entry; their keys stay in the arena until it is disposed. */
void probecheck_keymap_clear(probecheck_keymap *map);

void probecheck_keymap_dispose(probecheck_keymap *map);

#endif
