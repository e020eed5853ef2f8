/* Gates: what must hold before a run moves to the next weight. Each
 * evaluation yields PASS, WAIT (hold, and say why) or FAIL (SPEC §3.5).
 * The health gate is always on; metric gates (Prometheus) plug in beside
 * it through the same interface. */
#ifndef CANARY_GATE_H
#define CANARY_GATE_H

#include <jansson.h>

#include "state.h"

/* What a gate sees. */
typedef struct canary_gate_input {
	const json_t *pods;   /* name → canary pod */
	const json_t *events; /* Warning events about those pods */
	int desired;          /* canary pods wanted at this rung */
	long long now_ms;     /* the server's clock */
	long long step_started_ms;
	long progress_deadline_s;
} canary_gate_input;

typedef struct canary_gate {
	const char *name;
	/* Fills out (name, verdict, message). Returns 0, or KUBE_ENOMEM. */
	int (*evaluate)(const struct canary_gate *gate, const canary_gate_input *in, canary_gate_record *out);
	void *config; /* the gate's own settings (a metric gate's query) */
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

#endif
