/* Where a report keeps its workload records: an append-only run of bytes
 * addressed by offset, held in memory up to a bound and past it in an
 * unlinked temporary file, written in 64 KiB blocks and read back through
 * a 64 KiB window as the report is rendered in order, so the memory of an
 * audit stops growing with its findings. Without a usable temporary
 * directory (or once a write to the file fails) the bytes simply stay in
 * memory. */
#ifndef PROBECHECK_SPILL_H
#define PROBECHECK_SPILL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a report keeps in memory before it spills. */
#define PROBECHECK_SPILL_AFTER ((size_t)1024 * 1024)

typedef struct probecheck_spill probecheck_spill;

/* A new, empty store that keeps up to after bytes in memory, then moves
 * them to a file in $TMPDIR (else /tmp), unlinked at once so nothing
 * outlives the process. Returns NULL when memory runs out. */
probecheck_spill *probecheck_spill_new(size_t after);

/* Appends len bytes and sets *at to their offset. Returns 0 or
 * KUBE_ENOMEM. */
int probecheck_spill_put(probecheck_spill *spill, const void *data, size_t len, uint64_t *at);

/* The len bytes at offset at, which one put appended; valid until the
 * next get, put or truncate. NULL when they cannot be read (the error
 * printed). */
const char *probecheck_spill_get(probecheck_spill *spill, uint64_t at, size_t len);

/* Forgets the bytes from offset at on; the next put goes there. */
void probecheck_spill_truncate(probecheck_spill *spill, uint64_t at);

/* 1 when the store has moved to its file (and is still writing there). */
int probecheck_spill_on_file(const probecheck_spill *spill);

void probecheck_spill_free(probecheck_spill *spill);

#endif
