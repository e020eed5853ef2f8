/* The ladder of a canary run: its weights and the pauses between them
 * (--steps, --pause), and the replicas router's arithmetic that turns a
 * weight into canary and stable pod counts (SPEC §3.2). */
#ifndef CANARY_LADDER_H
#define CANARY_LADDER_H

#include <stddef.h>

#include <kube/buf.h>

#define CANARY_MAX_STEPS        32
#define CANARY_PAUSE_INDEFINITE (-1L) /* "inf": wait for a manual promote */
#define CANARY_DEFAULT_STEPS    "5,25,50,100"
#define CANARY_DEFAULT_PAUSE    "5m"

typedef struct canary_ladder {
	int steps[CANARY_MAX_STEPS]; /* weights in percent, strictly increasing, 1..100, the last 100 */
	/* pauses_s[i]: how long to stay at steps[i] before moving on, for
	 * i < count - 1 (the last rung has none); CANARY_PAUSE_INDEFINITE
	 * waits for a manual promote. */
	long pauses_s[CANARY_MAX_STEPS];
	int count;
} canary_ladder;

/* Parses --steps ("5,25,50,100"; NULL = CANARY_DEFAULT_STEPS; 100 is
 * appended when the list does not end with it) and --pause (NULL =
 * CANARY_DEFAULT_PAUSE; one value for every rung but the last, or exactly
 * one value for all; each kubectl's duration format "0", "30s", "10m",
 * "1h30m", or "inf"; at most 8784h, sub-second parts rounded up to whole
 * seconds). Returns 0, or -1 with a one-line reason in err ("--steps: 50
 * after 60: weights must increase"). */
int canary_ladder_parse(canary_ladder *out, const char *steps, const char *pauses, char *err, size_t err_size);

/* Appends the ladder as the user wrote it: "5,25,50,100" / "10m,10m,inf". */
int canary_ladder_format_steps(kube_buf *out, const canary_ladder *ladder);
int canary_ladder_format_pauses(kube_buf *out, const canary_ladder *ladder);

/* A pause as --pause spells it: "0", "30s", "10m", "1h30m", "inf". */
void canary_pause_format(char *buf, size_t size, long pause_s);

/* How a weight maps to pods with the replicas router. */
typedef struct canary_split {
	int canary;            /* canary replicas */
	int stable;            /* stable replicas (D's spec.replicas) */
	int weight;            /* the weight requested */
	double weight_reached; /* 100 * canary / (canary + stable) */
} canary_split;

/* The replicas router's split of total (N >= 1) pods for weight (1..99):
 * canary = clamp(ceil(N * weight / 100), 1, N - 1), stable = N - canary;
 * N = 1: one surge canary pod beside the one stable pod. With hpa set (an
 * HPA owns D's replicas) stable stays N and canary = clamp(ceil(N *
 * weight / 100), 1, N) pods come on top. Weights outside 1..99 are a
 * programming error (asserted). */
void canary_split_replicas(canary_split *out, int total, int weight, int hpa);

/* Appends one line per rung (but the last) that the replicas router cannot
 * reach within one percentage point with total pods, as "5% → 1/4 pods =
 * 25%", and for rungs that land on the same split as the rung before,
 * "25% → same split as 5% (1/4 pods)". Appends nothing when every rung is
 * reached. */
int canary_ladder_describe_unreachable(kube_buf *out, const canary_ladder *ladder, int total, int hpa);

#endif
