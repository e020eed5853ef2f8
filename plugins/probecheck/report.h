/* The result of an audit: the workloads seen, their findings, and the
 * suppressions that applied. Built once by the engine, then rendered by
 * the output formats. Everything lives in the report's arena. */
#ifndef PROBECHECK_REPORT_H
#define PROBECHECK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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

/* A workload in the report: a compact summary, not the object. */
typedef struct probecheck_report_workload {
	const char *kind;
	const char *namespace_name;
	const char *name;
	probecheck_source source; /* strings in the arena */
	enum probecheck_kind kind_id;
	int run_to_completion;
	long replicas;
	probecheck_label *labels; /* pod template labels, for Service and PDB matching */
	size_t label_count;
	size_t first_finding; /* its findings are contiguous */
	size_t finding_count;
	const char *service;                             /* a Service selecting its pods, once resolved, or NULL */
	const char *pdb;                                 /* a PodDisruptionBudget selecting its pods, or NULL */
	unsigned char evaluated[PROBECHECK_CHECK_COUNT]; /* checks that ran for it (JUnit test cases) */
} probecheck_report_workload;

/* probecheck_finding.flags */
#define PROBECHECK_DEFER_ESCALATE_IF_SERVICE 0x01u /* error when a Service selects the pods */
#define PROBECHECK_DEFER_DROP_IF_SERVICE     0x02u /* only when no Service selects the pods */
#define PROBECHECK_DEFER_DROP_IF_PDB         0x04u /* only when no PDB selects the pods */
#define PROBECHECK_FINDING_DROPPED           0x80u /* resolved away: not reported */

typedef struct probecheck_finding {
	uint32_t workload; /* index into workloads */
	uint16_t check;    /* enum probecheck_check */
	uint8_t severity;  /* enum probecheck_severity */
	uint8_t flags;
	const probecheck_suppression *suppressed_by; /* NULL when not suppressed */
	const char *container;                       /* "" for the workload as a whole */
	const char *probe;                           /* "livenessProbe", ... or "" */
	/* read them with probecheck_finding_text: both NULL when spilled */
	const char *message;
	const char *fix;     /* YAML, "" when there is nothing to compute */
	uint64_t spilled_at; /* "message\0fix\0" at this offset of the report's spill */
	uint32_t message_len, fix_len;
} probecheck_finding;

typedef struct probecheck_report {
	probecheck_arena arena;
	probecheck_report_workload *workloads;
	size_t workload_count, workload_cap;
	probecheck_finding *findings;
	size_t finding_count, finding_cap;
	int strict;                       /* suppressed findings are reported (and listed) */
	enum probecheck_severity fail_on; /* for JUnit failures and the exit code */
	unsigned char enabled[PROBECHECK_CHECK_COUNT];
	/* filled by probecheck_report_count() */
	size_t count[PROBECHECK_SEV_ERROR + 1]; /* reported findings by severity */
	size_t reported;                        /* findings shown */
	size_t suppressed;                      /* findings hidden (or, with strict, listed) by suppressions */
	json_t *exercised;       /* --exercise: the probes run and their samples (owned), NULL without it */
	size_t text_kept;        /* bytes of finding text in the arena */
	probecheck_spill *spill; /* the texts past PROBECHECK_SPILL_AFTER, NULL until then */
	int spill_failed;        /* no spill file could be made: texts stay in memory */
} probecheck_report;

/* Sets f's message and fix (copied): into the arena while the report
 * keeps less than PROBECHECK_SPILL_AFTER bytes of text there, else into
 * its spill file (or the arena when there is none). Returns 0 or
 * KUBE_ENOMEM. */
int probecheck_report_set_text(probecheck_report *report, probecheck_finding *f, const char *message, const char *fix);

/* f's message and fix; a spilled finding's are valid until the next call.
 * Returns 0, or -1 when they cannot be read back (the error printed). */
int probecheck_finding_text(const probecheck_report *report, const probecheck_finding *f, const char **message,
                            const char **fix);

/* 1 when f is part of the output: not dropped, and not suppressed unless
 * the report is strict. */
int probecheck_finding_reported(const probecheck_report *report, const probecheck_finding *f);

/* Recomputes count[], reported and suppressed. */
void probecheck_report_count(probecheck_report *report);

/* 1 when a reported finding is at or above report->fail_on. */
int probecheck_report_failed(const probecheck_report *report);

void probecheck_report_dispose(probecheck_report *report);

#endif
