/* The result of an audit: the workloads seen, their findings, and the
 * suppressions that applied. Built once by the engine, a record per
 * workload in the report's spill (spill.h), then rendered by the output
 * formats, which read the records back one workload at a time; what stays
 * in memory per workload is a small fixed entry. */
#ifndef PROBECHECK_REPORT_H
#define PROBECHECK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <kube/buf.h>

#include "arena.h"
#include "catalog.h"
#include "spill.h"
#include "workload.h"

enum probecheck_suppression_origin {
	PROBECHECK_SUPPRESSED_BY_ANNOTATION,          /* on the object */
	PROBECHECK_SUPPRESSED_BY_TEMPLATE_ANNOTATION, /* on its pod template */
	PROBECHECK_SUPPRESSED_BY_CONFIG,              /* a --config rule */
};

/* One suppression: an annotation or a config rule, with its reason. */
typedef struct probecheck_suppression {
	enum probecheck_suppression_origin origin;
	const char *reason;
	const char *where; /* "metadata.annotations", or "FILE: ignore[N]" for a config rule */
} probecheck_suppression;

typedef struct probecheck_label {
	const char *key;
	const char *value;
} probecheck_label;

/* A workload of the report as the engine hands it over and as a cursor
 * gives it back: identity, source, pod labels, the checks that ran and
 * its findings. A cursor's copy lives in the cursor until its next step. */
typedef struct probecheck_report_workload {
	const char *kind;
	const char *namespace_name;
	const char *name;
	probecheck_source source;
	enum probecheck_kind kind_id;
	int run_to_completion;
	long replicas;
	const probecheck_label *labels; /* pod template labels, for Service and PDB matching */
	size_t label_count;
	const struct probecheck_finding *findings; /* in the order they were found */
	size_t finding_count;
	const char *service;                             /* a Service selecting its pods, once resolved, or NULL */
	const char *pdb;                                 /* a PodDisruptionBudget selecting its pods, or NULL */
	unsigned char evaluated[PROBECHECK_CHECK_COUNT]; /* checks that ran for it (JUnit test cases) */
} probecheck_report_workload;

/* probecheck_finding.flags */
#define PROBECHECK_DEFER_ESCALATE_IF_SERVICE 0x01u /* error when a Service selects the pods */
#define PROBECHECK_DEFER_DROP_IF_SERVICE     0x02u /* only when no Service selects the pods */
#define PROBECHECK_DEFER_DROP_IF_PDB         0x04u /* only when no PDB selects the pods */
#define PROBECHECK_DEFER_MASK                0x07u
#define PROBECHECK_FINDING_DROPPED           0x80u /* resolved away: not reported */

typedef struct probecheck_finding {
	uint16_t check;   /* enum probecheck_check */
	uint8_t severity; /* enum probecheck_severity */
	uint8_t flags;
	const probecheck_suppression *suppressed_by; /* NULL when not suppressed */
	const char *container;                       /* "" for the workload as a whole */
	const char *probe;                           /* "livenessProbe", ... or "" */
	const char *message;
	const char *fix; /* YAML, "" when there is nothing to compute */
} probecheck_finding;

/* What stays in memory of a recorded workload: 16 bytes. */
typedef struct probecheck_report_entry {
	uint64_t at;      /* its record in the report's spill */
	uint32_t len;     /* bytes of the record */
	uint8_t deferred; /* the PROBECHECK_DEFER_* flags of its findings, ORed */
} probecheck_report_entry;

/* Sets w->service when deferred has PROBECHECK_DEFER_*_IF_SERVICE, and
 * w->pdb when it has PROBECHECK_DEFER_DROP_IF_PDB: the names (borrowed)
 * of a Service and a PodDisruptionBudget selecting w's pods, or NULL. */
typedef void (*probecheck_resolve_fn)(void *user, probecheck_report_workload *w, unsigned deferred);

typedef struct probecheck_report {
	probecheck_arena arena; /* the engine's Service and PDB index */
	probecheck_report_entry *entries;
	size_t workload_count, workload_cap;
	int strict;                       /* suppressed findings are reported (and listed) */
	enum probecheck_severity fail_on; /* for JUnit failures and the exit code */
	unsigned char enabled[PROBECHECK_CHECK_COUNT];
	/* filled by probecheck_report_count() */
	size_t count[PROBECHECK_SEV_ERROR + 1]; /* reported findings by severity */
	size_t reported;                        /* findings shown */
	size_t suppressed;                      /* findings hidden (or, with strict, listed) by suppressions */
	json_t *exercised;       /* --exercise: the probes run and their samples (owned), NULL without it */
	probecheck_spill *spill; /* the workload records, NULL until the first */
	kube_buf record;         /* the record being encoded */
	/* the engine's Service and PDB lookup, applied as each record is
	 * read back (it is cheaper than keeping its answers); NULL: none */
	probecheck_resolve_fn resolve;
	void *resolve_user;
} probecheck_report;

/* Records w and its findings (copied into the report's spill) and keeps
 * an entry for it with the OR of the findings' deferred flags; w->service
 * and w->pdb are not recorded (the report's resolve finds them). Returns 0
 * or KUBE_ENOMEM. */
int probecheck_report_add(probecheck_report *report, const probecheck_report_workload *w);

/* Forgets the workloads from index count on (a listing that started over). */
void probecheck_report_truncate(probecheck_report *report, size_t count);

/* Reads the records back one workload at a time, into memory of its own
 * that the next step reuses; several cursors may walk one report. */
typedef struct probecheck_report_cursor {
	const probecheck_report *report;
	size_t next;              /* index of the workload the next step reads */
	size_t finding_next;      /* index in workload.findings of the next finding to give */
	probecheck_arena scratch; /* the current workload's strings and arrays */
	probecheck_report_workload workload;
	probecheck_finding *findings; /* workload.findings, resolved in place */
} probecheck_report_cursor;

void probecheck_report_cursor_init(probecheck_report_cursor *cursor, const probecheck_report *report);
void probecheck_report_cursor_dispose(probecheck_report_cursor *cursor);

/* Reads the next workload into *out with its deferred findings resolved
 * (dropped, or escalated to error when a Service selects its pods).
 * Returns 1, 0 at the end, or -1 when a record cannot be read back (the
 * error printed, "out of memory" included). */
int probecheck_report_next(probecheck_report_cursor *cursor, const probecheck_report_workload **out);

/* The next finding, dropped ones included, and its workload, walking the
 * workloads with probecheck_report_next. Returns 1, 0 at the end, or -1
 * as probecheck_report_next. */
int probecheck_report_next_finding(probecheck_report_cursor *cursor, const probecheck_report_workload **w,
                                   const probecheck_finding **f);

/* 1 when f is part of the output: not dropped, and not suppressed unless
 * the report is strict. */
int probecheck_finding_reported(const probecheck_report *report, const probecheck_finding *f);

/* Computes count[], reported and suppressed: one pass over the records.
 * Returns 0, or -1 when a record cannot be read back (the error printed). */
int probecheck_report_count(probecheck_report *report);

/* 1 when a reported finding is at or above report->fail_on. */
int probecheck_report_failed(const probecheck_report *report);

void probecheck_report_dispose(probecheck_report *report);

#endif
