/* The check catalogue: one table of every check (stable ID, family,
 * default severity, title, why, docs anchor) from which the audit, the
 * `checks` subcommand, docs/checks.md and the SARIF rules all read. */
#ifndef PROBECHECK_CATALOG_H
#define PROBECHECK_CATALOG_H

#include <stddef.h>

enum probecheck_severity {
	PROBECHECK_SEV_NONE = 0, /* --fail-on never: nothing reaches it */
	PROBECHECK_SEV_INFO = 1,
	PROBECHECK_SEV_WARNING = 2,
	PROBECHECK_SEV_ERROR = 3,
};

/* Indices into probecheck_catalog[]; the order of the table. */
enum probecheck_check {
	/* presence */
	PROBECHECK_READINESS_MISSING,
	PROBECHECK_LIVENESS_MISSING,
	PROBECHECK_NONE,
	/* correctness */
	PROBECHECK_NAMED_PORT_UNRESOLVED,
	PROBECHECK_PORT_OUT_OF_RANGE,
	PROBECHECK_PORT_UNDECLARED,
	PROBECHECK_GRPC_NAMED_PORT,
	PROBECHECK_SUCCESS_THRESHOLD,
	PROBECHECK_HANDLER_COUNT,
	PROBECHECK_HTTP_HOST_SET,
	PROBECHECK_INIT_CONTAINER,
	PROBECHECK_READINESS_GRACE_PERIOD,
	PROBECHECK_FIELD_INVALID,
	/* timing */
	PROBECHECK_LIVENESS_BEFORE_READINESS,
	PROBECHECK_IDENTICAL_UNSAFE,
	PROBECHECK_STARTUP_MISSING_SLOW_START,
	PROBECHECK_LIVENESS_HAIR_TRIGGER,
	PROBECHECK_TIMEOUT_DEFAULT_HEAVY,
	PROBECHECK_TIMEOUT_GE_PERIOD,
	/* intent */
	PROBECHECK_LIVENESS_DOWNSTREAM,
	PROBECHECK_WORKER_NON_EXEC,
	/* hygiene */
	PROBECHECK_RES_LIMITS_MISSING,
	PROBECHECK_RES_REQUESTS_MISSING,
	PROBECHECK_RUN_AS_ROOT,
	PROBECHECK_IMAGE_UNPINNED,
	PROBECHECK_SECRET_IN_ENV,
	PROBECHECK_REPLICAS_SINGLE,
	PROBECHECK_ROLLOUT_ALL_DOWN,
	PROBECHECK_PDB_MISSING,
	PROBECHECK_GRACE_VS_LIVENESS,
	/* control */
	PROBECHECK_SUPPRESSION_INVALID,
	/* live evidence (cluster targets) */
	PROBECHECK_LIVE_UNHEALTHY_EVENTS,
	PROBECHECK_LIVE_PROBE_ERRORED,
	PROBECHECK_LIVE_PROBE_WARNING,
	PROBECHECK_LIVE_LIVENESS_RESTARTS,
	PROBECHECK_LIVE_OOMKILLED,
	PROBECHECK_LIVE_CRASHLOOP,
	PROBECHECK_LIVE_NOT_READY,
	PROBECHECK_LIVE_STARTUP_EXCEEDS_BUDGET,
	/* active (cluster targets with --exercise) */
	PROBECHECK_ACTIVE_PROBE_FAILS,
	PROBECHECK_ACTIVE_LATENCY_VS_TIMEOUT,
	PROBECHECK_ACTIVE_HTTP_REDIRECT,
	PROBECHECK_ACTIVE_HTTP_LARGE_BODY,
	PROBECHECK_ACTIVE_EXEC_MISSING_BINARY,
	PROBECHECK_CHECK_COUNT
};

/* Where a check applies (probecheck_check_info.scope). */
enum probecheck_scope {
	PROBECHECK_SCOPE_ALL,          /* every workload */
	PROBECHECK_SCOPE_LONG_RUNNING, /* not Jobs, CronJobs, Helm test hooks or run-to-completion Pods */
	PROBECHECK_SCOPE_REPLICATED,   /* Deployments, StatefulSets, ReplicaSets, ReplicationControllers */
	PROBECHECK_SCOPE_ROLLOUT,      /* Deployments, StatefulSets, DaemonSets */
};

typedef struct probecheck_check_info {
	const char *id;     /* stable: "probe-readiness-missing" */
	const char *family; /* presence, correctness, timing, intent, hygiene, control, live, active */
	enum probecheck_severity severity;
	enum probecheck_scope scope;
	const char *severity_note; /* when the severity can differ, how; else NULL */
	const char *title;         /* one line */
	const char *why;           /* a paragraph */
} probecheck_check_info;

extern const probecheck_check_info probecheck_catalog[PROBECHECK_CHECK_COUNT];

/* The check with that ID, or -1. */
int probecheck_check_find(const char *id);

/* "error", "warning", "info" ("never" for PROBECHECK_SEV_NONE). */
const char *probecheck_severity_name(enum probecheck_severity severity);
/* Parses a severity name, also "never". Returns 0 or -1. */
int probecheck_severity_parse(enum probecheck_severity *out, const char *name);

/* The docs anchor of a check: "docs/checks.md#<id>" written into buf. */
void probecheck_check_docs(char *buf, size_t size, const probecheck_check_info *check);

#endif
