/* The canary ladder: parsing and formatting --steps and --pause, and the
 * replicas router's weight-to-pods arithmetic (SPEC §3.2). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kube/config.h>

#include "ladder.h"
#include "text.h"

/* A pause longer than this is almost certainly a typo for "inf"; the bound
 * also keeps sums of pauses (run's default --timeout) far from overflow. */
#define PAUSE_MAX_S (366L * 24 * 3600)

/* Longest piece of user text quoted back in an error message. */
#define QUOTE_MAX 40

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

typedef int (*item_fn)(void *ctx, const char *text, size_t len);

/* Calls fn for each comma-separated item of list, blanks around it
 * trimmed, and stops at the first non-zero return. */
static int for_each_item(const char *list, item_fn fn, void *ctx)
{
	const char *start = list;
	for (;;) {
		const char *comma = strchr(start, ',');
		const char *first = start, *stop = comma ? comma : start + strlen(start);
		while (first < stop && is_blank(*first))
			first++;
		while (stop > first && is_blank(stop[-1]))
			stop--;
		int rc = fn(ctx, first, (size_t)(stop - first));
		if (rc || !comma)
			return rc;
		start = comma + 1;
	}
}

struct parse_ctx {
	canary_ladder *ladder;
	long pauses_s[CANARY_MAX_STEPS];
	int pause_count; /* values given, also those beyond the array */
	char *err;
	size_t err_size;
};

static int parse_step(void *ctx, const char *text, size_t len)
{
	struct parse_ctx *c = ctx;
	canary_ladder *ladder = c->ladder;
	char quoted[QUOTE_MAX + 4];
	long weight = 0;
	if (len == 0) {
		canary_set_err(c->err, c->err_size, "--steps: empty item");
		return -1;
	}
	/* Digits only: no sign, no blanks inside, no unit. */
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9') {
			canary_set_err(c->err, c->err_size, "--steps: \"%s\" is not a whole number",
			               canary_quote(quoted, QUOTE_MAX, text, len));
			return -1;
		}
		if (weight <= 100) /* anything past 100 is out of range already */
			weight = weight * 10 + (text[i] - '0');
	}
	if (weight < 1 || weight > 100) {
		canary_set_err(c->err, c->err_size, "--steps: %s: weights must be 1 to 100",
		               canary_quote(quoted, QUOTE_MAX, text, len));
		return -1;
	}
	if (ladder->count > 0 && weight <= ladder->steps[ladder->count - 1]) {
		canary_set_err(c->err, c->err_size, "--steps: %ld after %d: weights must increase", weight,
		               ladder->steps[ladder->count - 1]);
		return -1;
	}
	if (ladder->count == CANARY_MAX_STEPS) {
		canary_set_err(c->err, c->err_size, "--steps: more than %d steps", CANARY_MAX_STEPS);
		return -1;
	}
	ladder->steps[ladder->count++] = (int)weight;
	return 0;
}

static int parse_pause(void *ctx, const char *text, size_t len)
{
	struct parse_ctx *c = ctx;
	char value[64];
	char quoted[QUOTE_MAX + 4];
	long pause_s, ms = 0;
	if (len == 0) {
		canary_set_err(c->err, c->err_size, "--pause: empty item");
		return -1;
	}
	if (len == 3 && memcmp(text, "inf", 3) == 0) {
		pause_s = CANARY_PAUSE_INDEFINITE;
	} else {
		if (len < sizeof(value)) {
			memcpy(value, text, len);
			value[len] = '\0';
		}
		if (len >= sizeof(value) || kube_duration_parse(&ms, value) != 0) {
			canary_set_err(c->err, c->err_size,
			               "--pause: \"%s\" is not a duration (0, 30s, 10m, 1h30m or inf)",
			               canary_quote(quoted, QUOTE_MAX, text, len));
			return -1;
		}
		if (ms > PAUSE_MAX_S * 1000) {
			canary_set_err(c->err, c->err_size,
			               "--pause: %s is longer than %ldh: use inf to wait for a manual promote",
			               canary_quote(quoted, QUOTE_MAX, text, len), PAUSE_MAX_S / 3600);
			return -1;
		}
		/* Whole seconds, rounded up so that "500ms" does not become 0. */
		pause_s = (ms + 999) / 1000;
	}
	if (c->pause_count < CANARY_MAX_STEPS)
		c->pauses_s[c->pause_count] = pause_s;
	c->pause_count++;
	return 0;
}

int canary_ladder_parse(canary_ladder *out, const char *steps, const char *pauses, char *err, size_t err_size)
{
	canary_ladder ladder;
	struct parse_ctx ctx;
	assert(out);
	memset(&ladder, 0, sizeof(ladder));
	memset(&ctx, 0, sizeof(ctx));
	ctx.ladder = &ladder;
	ctx.err = err;
	ctx.err_size = err_size;
	memset(out, 0, sizeof(*out));
	if (!steps)
		steps = CANARY_DEFAULT_STEPS;
	if (!pauses)
		pauses = CANARY_DEFAULT_PAUSE;

	if (!*steps) {
		canary_set_err(err, err_size, "--steps: empty");
		return -1;
	}
	if (for_each_item(steps, parse_step, &ctx) != 0)
		return -1;
	if (ladder.steps[ladder.count - 1] != 100) {
		if (ladder.count == CANARY_MAX_STEPS) {
			canary_set_err(err, err_size, "--steps: more than %d steps with 100 at the end",
			               CANARY_MAX_STEPS);
			return -1;
		}
		ladder.steps[ladder.count++] = 100;
	}

	if (!*pauses) {
		canary_set_err(err, err_size, "--pause: empty");
		return -1;
	}
	if (for_each_item(pauses, parse_pause, &ctx) != 0)
		return -1;
	int rungs = ladder.count - 1; /* the last rung has no pause */
	if (ctx.pause_count == 1) {
		for (int i = 0; i < rungs; i++)
			ladder.pauses_s[i] = ctx.pauses_s[0];
	} else if (ctx.pause_count == rungs) {
		memcpy(ladder.pauses_s, ctx.pauses_s, (size_t)rungs * sizeof(ladder.pauses_s[0]));
	} else {
		canary_set_err(err, err_size,
		               "--pause: %d values for %d step%s: give %d (one per step but the last) or 1 for all",
		               ctx.pause_count, ladder.count, ladder.count == 1 ? "" : "s", rungs);
		return -1;
	}
	*out = ladder;
	return 0;
}

int canary_ladder_format_steps(kube_buf *out, const canary_ladder *ladder)
{
	for (int i = 0; i < ladder->count; i++) {
		int rc = kube_buf_printf(out, "%s%d", i ? "," : "", ladder->steps[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int canary_ladder_format_pauses(kube_buf *out, const canary_ladder *ladder)
{
	char pause[32];
	for (int i = 0; i + 1 < ladder->count; i++) {
		canary_pause_format(pause, sizeof(pause), ladder->pauses_s[i]);
		int rc = kube_buf_printf(out, "%s%s", i ? "," : "", pause);
		if (rc)
			return rc;
	}
	return 0;
}

void canary_pause_format(char *buf, size_t size, long pause_s)
{
	char text[64]; /* "2562047788015215h30m7s" at most */
	size_t used = 0;
	assert(buf && size > 0);
	if (pause_s < 0) {
		assert(pause_s == CANARY_PAUSE_INDEFINITE);
		(void)snprintf(buf, size, "inf");
		return;
	}
	text[0] = '\0';
	/* Like Go's Duration.String without its zero parts: "1h30m", not "1h30m0s". */
	if (pause_s >= 3600)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%ldh", pause_s / 3600);
	if (pause_s / 60 % 60)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%ldm", pause_s / 60 % 60);
	if (pause_s % 60)
		(void)snprintf(text + used, sizeof(text) - used, "%lds", pause_s % 60);
	if (pause_s == 0)
		(void)snprintf(text, sizeof(text), "0");
	(void)snprintf(buf, size, "%s", text);
}

void canary_split_replicas(canary_split *out, int total, int weight, int hpa)
{
	assert(out);
	assert(total >= 1);
	assert(weight >= 1 && weight <= 99);
	/* ceil(N * w / 100) in 64 bits: N may be as large as INT_MAX. */
	long long wanted = ((long long)total * weight + 99) / 100;
	long long most = hpa || total == 1 ? total : total - 1;
	if (wanted < 1)
		wanted = 1;
	if (wanted > most)
		wanted = most;
	out->canary = (int)wanted;
	/* Without an HPA the canary pods replace stable ones, except that one
	 * pod cannot be split: then one surge canary pod runs beside it. */
	out->stable = hpa || total == 1 ? total : total - out->canary;
	out->weight = weight;
	out->weight_reached = 100.0 * out->canary / ((double)out->canary + out->stable);
}

/* "25%" or "33.3%": the share of canary pods, in integers so that no
 * locale turns the point into a comma. */
static void format_percent(char *buf, size_t size, long long canary, long long pods)
{
	if (canary * 100 % pods == 0) {
		(void)snprintf(buf, size, "%lld%%", canary * 100 / pods);
	} else {
		long long tenths = (canary * 1000 + pods / 2) / pods;
		(void)snprintf(buf, size, "%lld.%lld%%", tenths / 10, tenths % 10);
	}
}

int canary_ladder_describe_unreachable(kube_buf *out, const canary_ladder *ladder, int total, int hpa)
{
	canary_split split, previous;
	int group_weight = 0; /* the first rung of the run of rungs with previous's split */
	char percent[32];
	assert(ladder && total >= 1);
	for (int i = 0; i + 1 < ladder->count; i++) {
		int rc;
		canary_split_replicas(&split, total, ladder->steps[i], hpa);
		long long pods = (long long)split.canary + split.stable;
		if (i > 0 && split.canary == previous.canary && split.stable == previous.stable) {
			rc = kube_buf_printf(out, "%d%% → same split as %d%% (%d/%lld pods)\n", split.weight,
			                     group_weight, split.canary, pods);
		} else {
			group_weight = split.weight;
			/* within one percentage point counts as reached: 1/3 pods
			 * for 33% is what the user meant */
			long long off = (long long)split.canary * 100 - (long long)split.weight * pods;
			if (off > -pods && off < pods) {
				previous = split;
				continue;
			}
			format_percent(percent, sizeof(percent), split.canary, pods);
			rc = kube_buf_printf(out, "%d%% → %d/%lld pods = %s\n", split.weight, split.canary, pods,
			                     percent);
		}
		if (rc)
			return rc;
		previous = split;
	}
	return 0;
}
