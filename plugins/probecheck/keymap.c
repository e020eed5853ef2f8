/* String-keyed hash map, open addressing with linear probing, keys in an arena. */
#include <stdint.h>
#include <string.h>

#include <kube/alloc.h>

#include "keymap.h"

struct probecheck_keymap_slot {
	const char *key; /* NULL: free */
	uint64_t hash;
	void *value;
};

static uint64_t hash_string(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static struct probecheck_keymap_slot *find_slot(const probecheck_keymap *map, const char *key, uint64_t hash)
{
	size_t mask = map->slot_count - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct probecheck_keymap_slot *slot = &map->slots[i];
		if (!slot->key || (slot->hash == hash && strcmp(slot->key, key) == 0))
			return slot;
	}
}

static int grow(probecheck_keymap *map)
{
	size_t count = map->slot_count ? map->slot_count * 2 : 64;
	if (count > (size_t)-1 / sizeof(struct probecheck_keymap_slot))
		return -1;
	struct probecheck_keymap_slot *slots = kube_calloc(count, sizeof(*slots));
	if (!slots)
		return -1;
	struct probecheck_keymap_slot *old = map->slots;
	size_t old_count = map->slot_count;
	map->slots = slots;
	map->slot_count = count;
	for (size_t i = 0; i < old_count; i++)
		if (old[i].key)
			*find_slot(map, old[i].key, old[i].hash) = old[i];
	kube_free(old);
	return 0;
}

void *probecheck_keymap_get(const probecheck_keymap *map, const char *key)
{
	if (!map->count)
		return NULL;
	const struct probecheck_keymap_slot *slot = find_slot(map, key, hash_string(key));
	return slot->key ? slot->value : NULL;
}

void **probecheck_keymap_slot(probecheck_keymap *map, const char *key)
{
	/* at most half full: probe sequences stay short */
	if ((map->count + 1) * 2 > map->slot_count && grow(map))
		return NULL;
	uint64_t hash = hash_string(key);
	struct probecheck_keymap_slot *slot = find_slot(map, key, hash);
	if (!slot->key) {
		if (!(slot->key = probecheck_arena_strdup(map->arena, key)))
			return NULL;
		slot->hash = hash;
		slot->value = NULL;
		map->count++;
	}
	return &slot->value;
}

void probecheck_keymap_clear(probecheck_keymap *map)
{
	if (map->slots)
		memset(map->slots, 0, map->slot_count * sizeof(*map->slots));
	map->count = 0;
}

void probecheck_keymap_dispose(probecheck_keymap *map)
{
	kube_free(map->slots);
	map->slots = NULL;
	map->slot_count = map->count = 0;
}
