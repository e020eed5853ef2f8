/* Gates: what must hold before a run moves to the next weight. Each
 * evaluation yields PASS, WAIT (hold, and say why) or FAIL (SPEC §3.5).
 * The health gate is always on; metric gates (Prometheus: error-rate,
 * latency-p99 and custom metrics) plug in beside it through the same
 * interface when the run has a metric analysis. */
#ifndef CANARY_GATE_H
#define CANARY_GATE_H

#include <jansson.h>

#include "analysis.h"
#include "cli/cli.h"
#include "prometheus.h"
#include "state.h"

struct canary_ctx;

/* What a gate sees. */
typedef struct canary_gate_input {
	const json_t *pods;   /* name → canary pod */
	const json_t *events; /* Warning events about those pods */
	int desired;          /* canary pods wanted at this rung */
	long long now_ms;     /* the server's clock */
	long long step_started_ms;
	long progress_deadline_s;
	/* Metric gates: the client, D and the run's state. NULL: a metric
	 * gate cannot measure and waits. */
	struct canary_ctx *ctx;
} canary_gate_input;

typedef struct canary_gate {
	const char *name;
	/* Fills out (name, verdict, message, and a metric gate's value and
	 * threshold). Returns 0, or KUBE_ENOMEM. */
	int (*evaluate)(const struct canary_gate *gate, const canary_gate_input *in, canary_gate_record *out);
	void *config; /* the gate's own settings and measurements (metric gates) */
} canary_gate;

/* The health gate: canary pods Ready within the progress deadline; no
 * restarts, CrashLoopBackOff, OOMKilled, ImagePullBackOff/ErrImagePull or
 * probe-failure (Unhealthy) events. */
extern const canary_gate canary_gate_health;

/* Evaluates gates in order into records (at most CANARY_MAX_GATES) and
 * returns the combined verdict: FAIL if any fails, else WAIT if any waits,
 * else PASS. */
enum canary_verdict canary_gates_evaluate(const canary_gate *const *gates, const canary_gate_input *in,
                                          canary_gate_record *records, int *count);

/* A one-line summary of the records that did not pass: "health: pod
 * web-canary-x restarted 2 times (OOMKilled)". */
void canary_gates_summary(char *buf, size_t size, const canary_gate_record *records, int count);

/* The same of the records whose verdict is verdict only (a run's abort
 * reason names the gates that failed, not those that wait). */
void canary_gates_summary_of(char *buf, size_t size, const canary_gate_record *records, int count,
                             enum canary_verdict verdict);

/* --- metric gates ---------------------------------------------------- */

/* The gates of one command: health, then the run's metric gates built
 * from its analysis, with their measurements. Opaque; owned by the
 * command (canary_ctx.gates). */
typedef struct canary_gates canary_gates;

enum canary_gates_mode {
	/* run: each metric gate measures at most once per its interval,
	 * holds its last result between measurements, and counts a custom
	 * metric's passing and failed measurements in the step */
	CANARY_GATES_POLL,
	/* promote, status: measure now and judge that one measurement */
	CANARY_GATES_ONCE,
};

/* Builds ctx->gates from D's annotation rollguard.io/canary-analysis (as
 * last read into ctx->deploy): health only when D has none. An annotation
 * that is not an analysis: exit 5 with a hint, as a damaged state.
 * Returns 0 or the exit code (printed). */
int canary_gates_load(struct canary_ctx *ctx, enum canary_gates_mode mode);

/* Builds ctx->gates from a (validated and completed; copied), or sets it
 * NULL when a is NULL. Returns 0 or the exit code (printed). */
int canary_gates_build(struct canary_ctx *ctx, const canary_analysis *a, enum canary_gates_mode mode);

void canary_gates_free(canary_gates *gates);

/* The NULL-ended list, health first (gates NULL: health only). Borrowed. */
const canary_gate *const *canary_gates_list(const canary_gates *gates);

/* "health, error-rate, latency-p99, cpu" into buf. */
void canary_gates_names(char *buf, size_t size, const canary_gates *gates);

/* The metric analysis the command line asks for: --analysis FILE read and
 * validated, --prometheus, --max-p99 and --min-requests over it. *out is
 * NULL when neither --analysis nor --prometheus was given (no metric
 * gates), else owned (free()). Returns 0, or CLI_EXIT_USAGE after one
 * line naming the file (or flag) and the key. Changes nothing. */
int canary_analysis_from_flags(canary_analysis **out, const cli_args *args);

/* Completes a (canary_analysis_finish for router) and prints a usage error
 * naming the file or flag when it is not complete. Returns 0 or
 * CLI_EXIT_USAGE. */
int canary_analysis_complete(canary_analysis *a, const cli_args *args, const char *router);

/* run resuming a run in progress, or start resuming a start left half
 * done: validates the analysis flags given (a usage error as for start)
 * and warns when they differ from the analysis the run started with,
 * which it keeps, or when it started with none (it keeps none). Returns 0
 * or the exit code. */
int canary_analysis_check_kept(struct canary_ctx *ctx);

/* Sets the annotation rollguard.io/canary-analysis in patch's
 * metadata.annotations (created when missing) to a's normalized JSON, or
 * to null (removed) when a is NULL. Returns 0 or KUBE_ENOMEM. */
int canary_analysis_store(json_t *patch, const canary_analysis *a);

/* --- the rules, pure --------------------------------------------------- */

/* One query and what it gave. */
typedef struct canary_sample {
	const char *query; /* as sent; NULL when not run */
	canary_prom_result result;
} canary_sample;

/* The built-in queries of one measurement. */
typedef struct canary_builtin_samples {
	canary_sample requests[2]; /* [CANARY_TRACK_CANARY], [CANARY_TRACK_STABLE] */
	canary_sample errors[2];
	canary_sample p99; /* the canary's */
} canary_builtin_samples;

/* error-rate: WAIT until the canary's requests in the window are known,
 * above 0 and at least minRequests (0 requests always wait); FAIL when the canary's errors / requests >
 * max(ratio × the stable's errors / requests, floor) (no errors series is
 * 0 errors; a stable without requests has rate 0); PASS otherwise. A query
 * error, no data or NaN where a value is needed: WAIT saying why, never
 * PASS. A FAIL names the values and the canary's errors query. */
void canary_rule_error_rate(canary_gate_record *out, const canary_analysis *a, const canary_builtin_samples *s);

/* latency-p99: the same requests rule, then FAIL when the canary's P99 >
 * maxP99 (+Inf included), WAIT on no data or NaN. */
void canary_rule_latency(canary_gate_record *out, const canary_analysis *a, const canary_builtin_samples *s);

/* A custom metric's measurements in the current step. */
typedef struct canary_metric_counts {
	int passes, failures;
} canary_metric_counts;

/* Judges one measurement of m: no data, NaN or an error is WAIT; a value
 * below min or above max failed, else passed. With counts (run) the
 * measurement is counted and the gate FAILs once failures > failureLimit,
 * PASSes once passes >= count, else WAITs; without (promote, status) the
 * gate is the measurement's verdict. */
void canary_rule_metric(canary_gate_record *out, const canary_metric *m, const canary_sample *sample,
                        canary_metric_counts *counts);

#endif
