/* Where a report's finding texts (message and fix) go once the ones kept
 * in memory pass a bound: an unlinked temporary file, written in blocks
 * and read back in blocks as the report is rendered in order, so the
 * memory of an audit stops growing with the text of its findings.
 * Without a usable temporary directory the texts simply stay in memory. */
#ifndef PROBECHECK_SPILL_H
#define PROBECHECK_SPILL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of finding text a report keeps in memory before it spills. */
#define PROBECHECK_SPILL_AFTER ((size_t)1024 * 1024)

typedef struct probecheck_spill probecheck_spill;

/* Opens a spill file in $TMPDIR (else /tmp), unlinked at once so nothing
 * outlives the process. Returns NULL when there is no memory or no file
 * can be made (the caller keeps its texts in memory then). */
probecheck_spill *probecheck_spill_open(void);

/* Appends len bytes and sets *at to their offset. Returns 0, or -1 when
 * the file cannot take them (the spill is unusable from then on, the
 * caller keeps the text in memory). */
int probecheck_spill_put(probecheck_spill *spill, const void *data, size_t len, uint64_t *at);

/* 1 while puts can succeed. */
int probecheck_spill_usable(const probecheck_spill *spill);

/* The len bytes at offset at, valid until the next get or put (the next
 * byte is readable too: texts put with their NUL come back as strings);
 * NULL when they cannot be read (the error printed). */
const char *probecheck_spill_get(probecheck_spill *spill, uint64_t at, size_t len);

void probecheck_spill_close(probecheck_spill *spill);

#endif
