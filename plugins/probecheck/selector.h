/* Services and PodDisruptionBudgets indexed so a workload finds the ones
 * selecting its pods without scanning them all: each selector is filed
 * under its namespace and one of its key=value pairs, and a workload
 * looks up only the buckets of its own labels. */
#ifndef PROBECHECK_SELECTOR_H
#define PROBECHECK_SELECTOR_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "report.h"

typedef struct probecheck_selector_entry probecheck_selector_entry;

typedef struct probecheck_selector_index {
	probecheck_arena *arena; /* borrowed: where entries live */
	struct probecheck_selector_slot *slots;
	size_t slot_count; /* a power of two */
	size_t used;
	size_t entries;
} probecheck_selector_index;

/* Adds a Service's spec.selector (a map; empty or missing selects
 * nothing and is not added). Returns 0, KUBE_EINVALID for a selector that
 * is not a map of strings, or KUBE_ENOMEM. */
int probecheck_selector_add_map(probecheck_selector_index *index, const char *ns, const char *name,
                                const json_t *selector);

/* Adds a PodDisruptionBudget's spec.selector (a LabelSelector: an empty
 * one selects every pod of the namespace, a missing one none). Returns 0,
 * KUBE_EINVALID for an unknown operator or a malformed selector, or
 * KUBE_ENOMEM. */
int probecheck_selector_add_label_selector(probecheck_selector_index *index, const char *ns, const char *name,
                                           const json_t *selector);

/* The name of an indexed object in namespace ns whose selector matches
 * labels, or NULL. */
const char *probecheck_selector_match(const probecheck_selector_index *index, const char *ns,
                                      const probecheck_label *labels, size_t label_count);

void probecheck_selector_dispose(probecheck_selector_index *index);

#endif
