/* A canary run's state, kept on the stable Deployment D in the annotation
 * rollguard.io/canary (JSON, SPEC §3.4), and the history of finished runs
 * in rollguard.io/canary-history (the last 10, at most 8 KiB). Any machine
 * reads the same state, so every command can resume or abort a run. */
#ifndef CANARY_STATE_H
#define CANARY_STATE_H

#include <stddef.h>

#include <jansson.h>
#include <kube/buf.h>

#include "ladder.h"

#define CANARY_ANNOTATION_STATE   "rollguard.io/canary"
#define CANARY_ANNOTATION_HISTORY "rollguard.io/canary-history"
#define CANARY_HISTORY_MAX_RUNS   10
#define CANARY_HISTORY_MAX_BYTES  8192
#define CANARY_MAX_GATES          8

enum canary_phase {
	CANARY_PHASE_NONE, /* no run has ever started */
	CANARY_PHASE_PROGRESSING,
	CANARY_PHASE_PAUSED,
	CANARY_PHASE_PROMOTING,
	CANARY_PHASE_SUCCEEDED,
	CANARY_PHASE_ABORTED,
	CANARY_PHASE_FAILED,
};

/* "Progressing", "Paused", ...; "" for NONE. */
const char *canary_phase_name(enum canary_phase phase);
/* Returns 0, or -1 for an unknown name. */
int canary_phase_parse(enum canary_phase *out, const char *name);
/* 1 for Progressing, Paused and Promoting: a run is in progress. */
int canary_phase_active(enum canary_phase phase);

enum canary_strategy {
	CANARY_STRATEGY_CANARY,
	CANARY_STRATEGY_BLUE_GREEN,
};

enum canary_verdict {
	CANARY_PASS,
	CANARY_WAIT,
	CANARY_FAIL,
};

/* "PASS", "WAIT", "FAIL". */
const char *canary_verdict_name(enum canary_verdict verdict);

typedef struct canary_gate_record {
	char name[32]; /* "health", "error-rate", ... */
	enum canary_verdict verdict;
	char message[512];  /* "2/2 canary pods Ready, no restarts" */
	char value[48];     /* a metric gate's last value: "5.2%", "612ms"; "" when none */
	char threshold[64]; /* what it is held against: "<= 1%", "<= 500ms"; "" when none */
} canary_gate_record;

/* A step written before it is acted on (SPEC §3.6): any later command that
 * finds it finishes or rolls back the half-done step. */
typedef struct canary_intent {
	int active;
	char action[16]; /* "start", "promote", "finish", "abort" */
	int from_step;   /* step index before (-1 before the first rung) */
	int to_step;     /* step index after */
	int to_weight;   /* weight after */
	long long at_ms; /* server time it was written */
} canary_intent;

typedef struct canary_state {
	enum canary_phase phase;
	enum canary_strategy strategy;
	char run_id[64];
	char router[32];          /* "replicas", ... */
	char canary_name[254];    /* "web-canary" */
	char canary_uid[64];      /* its metadata.uid once created: deleted by uid, never by name alone */
	char revision[32];        /* the canary template's hash (label rollguard.io/revision) */
	char stable_revision[32]; /* D's template hash when the run started */
	char blue_hash[32];       /* blue-green: pod-template-hash of D's pods when the run started */
	char service[254];        /* traffic routers: the stable Service the routing object sends to */
	char route[254];          /* traffic routers: the routing object's name */
	char change[512];         /* one line: "image app=nginx:1.27" */
	canary_ladder ladder;
	int step_index;        /* the rung reached; -1 before the first */
	int weight;            /* the weight requested at that rung (--to may differ from the ladder) */
	int original_replicas; /* N when the run started */
	char hpa[254];         /* the HPA that targets D, "" when none */
	long long started_ms;  /* server times, ms since the epoch (stored as RFC 3339) */
	long long step_started_ms;
	long long finished_ms; /* 0 while in progress */
	canary_intent intent;
	int abort_requested; /* `abort` asked the working `run` to abort */
	char abort_requested_by[256];
	char reason[512];     /* abort or failure reason */
	char started_by[256]; /* user who ran start */
	char user[256];       /* user of the last command that changed the state */
	/* The Lease holder whose commit ended the run: its Lease (left to
	 * expire, not deleted) is free to take at once. */
	char lock_holder[320];
	canary_gate_record gates[CANARY_MAX_GATES];
	int gate_count;
	long long gates_ms; /* when the gates were last evaluated */
	char message[512];  /* for Failed: what needs a person */
} canary_state;

/* A zeroed state: phase NONE, step_index -1. */
void canary_state_init(canary_state *state);

/* Parses the annotation's JSON text. Unknown fields are ignored (newer
 * versions may add some); strings longer than their field are cut.
 * Returns 0, or -1 with a one-line reason in err for anything that is not
 * a state (not JSON, not an object, a missing or unknown phase, a ladder
 * that does not parse, out-of-range numbers). */
int canary_state_parse(canary_state *out, const char *text, size_t len, char *err, size_t err_size);

/* The state as a JSON object (owned; NULL when memory runs out), with
 * camelCase keys: phase, strategy, runId, router, canary, canaryUid, revision,
 * stableRevision, service, route, change, steps, pauses ("10m", "inf"), stepIndex, weight,
 * originalReplicas, hpa, startedAt, stepStartedAt, finishedAt, intent
 * {action, fromStep, toStep, toWeight, at}, abortRequested {by}, reason,
 * startedBy, user, lockHolder, gates [{name, verdict, message, value, threshold}],
 * gatesAt, message.
 * Empty strings, zero times and an inactive intent are left out. */
json_t *canary_state_to_json(const canary_state *state);

/* The annotation's text: canary_state_to_json on one line. */
int canary_state_format(kube_buf *out, const canary_state *state);

/* Appends one finished run (its runId, phase, revision, change, stepIndex,
 * weight, startedAt, finishedAt, startedBy, reason) to the history text
 * old (NULL or "" = none; text that is not a JSON array of objects is
 * replaced, *out_dropped_invalid set to 1) and appends the new annotation
 * text to out:
 * newest last, at most CANARY_HISTORY_MAX_RUNS entries and
 * CANARY_HISTORY_MAX_BYTES bytes (oldest entries dropped first; a single
 * entry too large on its own has its reason and change cut). */
int canary_history_append(kube_buf *out, const char *old, const canary_state *finished, int *out_dropped_invalid);

/* Parses the history annotation into a JSON array (owned; NULL or "" is
 * an empty one). Returns 0, or -1 with err when text is not a JSON array
 * of objects. */
int canary_history_parse(json_t **out, const char *text, char *err, size_t err_size);

/* Formats ms since the epoch as RFC 3339 UTC "2026-11-24T05:40:00Z" and
 * parses it back (fractional seconds accepted and dropped). Parse returns
 * 0 or -1. */
void canary_time_format(char *buf, size_t size, long long ms);
int canary_time_parse(long long *out_ms, const char *text);

#endif
