/* The metric gates (SPEC §3.5): error-rate, latency-p99 and custom
 * PromQL metrics, measured from Prometheus at their interval; their rules;
 * the gate list of a command built from the run's analysis annotation; and
 * the analysis flags of start and run. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/clock.h>
#include <kube/error.h>
#include <kube/log.h>

#include "canary.h"
#include "gate.h"

/* A query that could not reach Prometheus is not repeated by the other
 * gates of the same evaluation within this long: each would wait out the
 * same timeout. */
#define UNREACHABLE_REUSE_MS 2000

/* An analysis file is a few KiB; more is not one. */
#define ANALYSIS_FILE_MAX (256 * 1024)

/* --- the rules ----------------------------------------------------------- */

/* Appends "; query: QUERY" to out's message, cut with "..." to fit. */
static void append_query(canary_gate_record *out, const char *query)
{
	size_t used = strlen(out->message), size = sizeof(out->message);
	if (!query || !*query || used + 16 >= size)
		return;
	int n = snprintf(out->message + used, size - used, "; query: %s", query);
	if (n > 0 && (size_t)n >= size - used)
		memcpy(out->message + size - 4, "...", 4);
}

static void record(canary_gate_record *out, const char *name, enum canary_verdict verdict, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void record(canary_gate_record *out, const char *name, enum canary_verdict verdict, const char *fmt, ...)
{
	va_list ap;
	memset(out, 0, sizeof(*out));
	(void)snprintf(out->name, sizeof(out->name), "%s", name);
	out->verdict = verdict;
	va_start(ap, fmt);
	(void)vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

/* A count of requests: fractional when increase() extrapolated. */
static void format_count(char *buf, size_t size, double value)
{
	if (fabs(value) >= 1e12)
		(void)snprintf(buf, size, "%.4g", value);
	else if (value == (double)(long long)value || fabs(value) >= 1e6)
		(void)snprintf(buf, size, "%.0f", value);
	else
		(void)snprintf(buf, size, "%.1f", value);
}

static void format_percent(char *buf, size_t size, double fraction)
{
	(void)snprintf(buf, size, "%.3g%%", fraction * 100);
}

/* Seconds as "612ms", "1.25s", "+Inf". */
static void format_latency(char *buf, size_t size, double seconds)
{
	if (isinf(seconds))
		(void)snprintf(buf, size, "%sInf", seconds > 0 ? "+" : "-");
	else if (fabs(seconds) >= 1)
		(void)snprintf(buf, size, "%.3gs", seconds);
	else
		(void)snprintf(buf, size, "%.3gms", seconds * 1000);
}

/* Fills out with WAIT when sample gave no value to judge; returns 1 then.
 * what names the value ("the canary's requests"). */
static int no_value(canary_gate_record *out, const char *name, const canary_sample *sample, const char *what)
{
	const canary_prom_result *r = &sample->result;
	if (!sample->query) {
		record(out, name, CANARY_WAIT, "%s: not measured yet", what);
		return 1;
	}
	if (r->kind == CANARY_PROM_ERROR)
		record(out, name, CANARY_WAIT, "%s: no measurement: %s", what, r->error);
	else if (r->kind == CANARY_PROM_EMPTY)
		record(out, name, CANARY_WAIT, "%s: no data (the query gave no series)", what);
	else if (isnan(r->value))
		record(out, name, CANARY_WAIT, "%s: no data (NaN)", what);
	else
		return 0;
	append_query(out, sample->query);
	return 1;
}

/* 1 when the canary's requests in the window are enough to judge: at
 * least minRequests, and more than none whatever minRequests says (a
 * canary nobody has asked has shown nothing). */
static int enough_requests(double requests, const canary_analysis *a)
{
	return requests > 0 && requests >= (double)a->min_requests;
}

static void requests_threshold(canary_gate_record *out, const canary_analysis *a)
{
	if (a->min_requests > 0)
		(void)snprintf(out->threshold, sizeof(out->threshold), ">= %lld requests", a->min_requests);
	else
		(void)snprintf(out->threshold, sizeof(out->threshold), "> 0 requests");
}

/* WAIT until the canary has enough requests in the window; returns 1 when
 * out was filled. */
static int too_few_requests(canary_gate_record *out, const char *name, const canary_analysis *a,
                            const canary_builtin_samples *s)
{
	const canary_sample *requests = &s->requests[CANARY_TRACK_CANARY];
	char window[32], count[32];
	canary_duration_format(window, sizeof(window), a->window_ms);
	if (no_value(out, name, requests, "the canary's requests")) {
		requests_threshold(out, a);
		return 1;
	}
	double value = requests->result.value;
	if (enough_requests(value, a))
		return 0;
	format_count(count, sizeof(count), value);
	if (a->min_requests > 0)
		record(out, name, CANARY_WAIT, "%s canary requests in %s, %lld needed", count, window, a->min_requests);
	else
		record(out, name, CANARY_WAIT, "%s canary requests in %s: nothing to judge yet", count, window);
	(void)snprintf(out->value, sizeof(out->value), "%s requests", count);
	requests_threshold(out, a);
	return 1;
}

/* A value that may be missing: no series is 0 (no errors counted yet);
 * an error or NaN is not. Returns 0 with *out, or 1 after filling rec. */
static int zero_when_empty(double *out, canary_gate_record *rec, const char *name, const canary_sample *sample,
                           const char *what)
{
	if (sample->query && sample->result.kind == CANARY_PROM_EMPTY) {
		*out = 0;
		return 0;
	}
	if (no_value(rec, name, sample, what))
		return 1;
	*out = sample->result.value;
	return 0;
}

void canary_rule_error_rate(canary_gate_record *out, const canary_analysis *a, const canary_builtin_samples *s)
{
	static const char name[] = "error-rate";
	char window[32], rate[32], stable_rate[32], bound[32], floor_text[32], errors_text[48], requests_text[48];
	double canary_errors, stable_requests, stable_errors;
	if (too_few_requests(out, name, a, s))
		return;
	double canary_requests = s->requests[CANARY_TRACK_CANARY].result.value;
	if (zero_when_empty(&canary_errors, out, name, &s->errors[CANARY_TRACK_CANARY], "the canary's errors") ||
	    zero_when_empty(&stable_requests, out, name, &s->requests[CANARY_TRACK_STABLE], "the stable's requests") ||
	    zero_when_empty(&stable_errors, out, name, &s->errors[CANARY_TRACK_STABLE], "the stable's errors")) {
		format_percent(bound, sizeof(bound), a->error_floor);
		(void)snprintf(out->threshold, sizeof(out->threshold), "<= max(%g x stable, %s)", a->error_ratio,
		               bound);
		return;
	}
	double canary_rate = canary_requests > 0 ? canary_errors / canary_requests : 0;
	double stable = stable_requests > 0 && stable_errors > 0 ? stable_errors / stable_requests : 0;
	if (canary_rate < 0)
		canary_rate = 0;
	double threshold = a->error_ratio * stable > a->error_floor ? a->error_ratio * stable : a->error_floor;
	canary_duration_format(window, sizeof(window), a->window_ms);
	format_percent(rate, sizeof(rate), canary_rate);
	format_percent(stable_rate, sizeof(stable_rate), stable);
	format_percent(bound, sizeof(bound), threshold);
	format_percent(floor_text, sizeof(floor_text), a->error_floor);
	format_count(errors_text, sizeof(errors_text), canary_errors);
	format_count(requests_text, sizeof(requests_text), canary_requests);
	int failed = canary_rate > threshold;
	record(out, name, failed ? CANARY_FAIL : CANARY_PASS,
	       "canary error rate %s (%s of %s requests in %s) %s %s (max of %g x stable %s, floor %s)", rate,
	       errors_text, requests_text, window, failed ? ">" : "<=", bound, a->error_ratio, stable_rate, floor_text);
	(void)snprintf(out->value, sizeof(out->value), "%s", rate);
	(void)snprintf(out->threshold, sizeof(out->threshold), "<= %s", bound);
	if (failed)
		append_query(out, s->errors[CANARY_TRACK_CANARY].query);
}

void canary_rule_latency(canary_gate_record *out, const canary_analysis *a, const canary_builtin_samples *s)
{
	static const char name[] = "latency-p99";
	char bound[32], value[32], window[32];
	format_latency(bound, sizeof(bound), (double)a->max_p99_ms / 1000);
	if (too_few_requests(out, name, a, s))
		return;
	if (no_value(out, name, &s->p99, "the canary's P99 latency")) {
		(void)snprintf(out->threshold, sizeof(out->threshold), "<= %s", bound);
		return;
	}
	double p99 = s->p99.result.value;
	int failed = p99 * 1000 > (double)a->max_p99_ms;
	format_latency(value, sizeof(value), p99);
	canary_duration_format(window, sizeof(window), a->window_ms);
	record(out, name, failed ? CANARY_FAIL : CANARY_PASS, "canary P99 latency %s in %s %s %s", value, window,
	       failed ? ">" : "<=", bound);
	(void)snprintf(out->value, sizeof(out->value), "%s", value);
	(void)snprintf(out->threshold, sizeof(out->threshold), "<= %s", bound);
	if (failed)
		append_query(out, s->p99.query);
}

static void metric_threshold(char *buf, size_t size, const canary_metric *m)
{
	if (m->has_min && m->has_max)
		(void)snprintf(buf, size, ">= %g, <= %g", m->min, m->max);
	else if (m->has_min)
		(void)snprintf(buf, size, ">= %g", m->min);
	else
		(void)snprintf(buf, size, "<= %g", m->max);
}

void canary_rule_metric(canary_gate_record *out, const canary_metric *m, const canary_sample *sample,
                        canary_metric_counts *counts)
{
	char threshold[64], value[48], judged[160];
	metric_threshold(threshold, sizeof(threshold), m);
	if (no_value(out, m->name, sample, "value")) {
		(void)snprintf(out->threshold, sizeof(out->threshold), "%s", threshold);
		return;
	}
	double v = sample->result.value;
	int below = m->has_min && v < m->min, above = m->has_max && v > m->max;
	(void)snprintf(value, sizeof(value), "%g", v);
	if (below)
		(void)snprintf(judged, sizeof(judged), "value %s < min %g", value, m->min);
	else if (above)
		(void)snprintf(judged, sizeof(judged), "value %s > max %g", value, m->max);
	else
		(void)snprintf(judged, sizeof(judged), "value %s within %s", value, threshold);
	int failed = below || above;
	if (!counts) {
		record(out, m->name, failed ? CANARY_FAIL : CANARY_PASS, "%s", judged);
	} else {
		if (failed)
			counts->failures++;
		else
			counts->passes++;
		enum canary_verdict verdict = counts->failures > m->failure_limit ? CANARY_FAIL
		                              : counts->passes >= m->count        ? CANARY_PASS
		                                                                  : CANARY_WAIT;
		record(out, m->name, verdict,
		       "%s (in this step: %d of %d passing measurement%s needed, %d failed of %d allowed)", judged,
		       counts->passes, m->count, m->count == 1 ? "" : "s", counts->failures, m->failure_limit);
		failed = verdict == CANARY_FAIL;
	}
	(void)snprintf(out->value, sizeof(out->value), "%s", value);
	(void)snprintf(out->threshold, sizeof(out->threshold), "%s", threshold);
	if (failed)
		append_query(out, sample->query);
}

/* --- measuring ------------------------------------------------------------ */

enum metric_kind {
	METRIC_ERROR_RATE,
	METRIC_LATENCY,
	METRIC_CUSTOM,
};

struct metric_gate {
	struct canary_gates *set;
	enum metric_kind kind;
	int metric;            /* METRIC_CUSTOM: the index in the analysis */
	long long measured_ms; /* monotonic time of the last measurement; 0 none */
	canary_gate_record last;
	canary_metric_counts counts;
};

struct canary_gates {
	const canary_gate *list[CANARY_MAX_GATES + 1];
	canary_gate gates[CANARY_MAX_GATES];
	struct metric_gate metrics[CANARY_MAX_GATES];
	enum canary_gates_mode mode;
	canary_analysis analysis;
	canary_prom_addr addr;
	long long builtin_ms; /* when the built-in queries last ran; 0 never */
	/* The step the measurements belong to: a new one starts afresh. */
	char run_id[64];
	int step_index;
	long long step_started_s;
	/* The last time Prometheus could not be reached, and why. */
	long long unreachable_ms;
	canary_prom_result unreachable;
};

static const canary_gate *const health_only[] = {&canary_gate_health, NULL};

const canary_gate *const *canary_gates_list(const canary_gates *gates)
{
	return gates ? gates->list : health_only;
}

void canary_gates_names(char *buf, size_t size, const canary_gates *gates)
{
	const canary_gate *const *list = canary_gates_list(gates);
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; list[i] && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", list[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void canary_gates_free(canary_gates *gates)
{
	free(gates);
}

static void query_vars(canary_query_vars *vars, const canary_ctx *ctx, const canary_analysis *a)
{
	memset(vars, 0, sizeof(*vars));
	vars->ns = ctx->ns;
	vars->deployment = ctx->name;
	vars->canary = ctx->state.canary_name[0] ? ctx->state.canary_name : ctx->canary_name;
	vars->revision = ctx->state.revision;
	vars->track = canary_track(&ctx->state);
	vars->service = ctx->state.service;
	vars->route = ctx->state.route;
	vars->router = ctx->state.router;
	vars->window_ms = a->window_ms;
}

/* Runs one query (query owned by the caller, kept for the sample) into
 * sample, unless Prometheus was just found unreachable. Logs the query and
 * its value at -v=4. Returns 0 or KUBE_ENOMEM. */
static int run_query(canary_gates *set, kube_client *client, canary_sample *sample, const char *gate, const char *query)
{
	long long now = kube_now_ms();
	int rc = 0;
	sample->query = query;
	if (set->unreachable_ms && now - set->unreachable_ms < UNREACHABLE_REUSE_MS) {
		sample->result = set->unreachable;
	} else if ((rc = canary_prom_query(&sample->result, client, &set->addr, query)) != 0) {
		return rc;
	} else if (sample->result.kind == CANARY_PROM_ERROR && sample->result.unreachable) {
		set->unreachable_ms = kube_now_ms();
		set->unreachable = sample->result;
	}
	const canary_prom_result *r = &sample->result;
	if (r->kind == CANARY_PROM_VALUE)
		kube_log(KUBE_LOG_DECISION, "gate %s: prometheus %s: %s = %g", gate, set->addr.display, query,
		         r->value);
	else
		kube_log(KUBE_LOG_DECISION, "gate %s: prometheus %s: %s: %s", gate, set->addr.display, query,
		         r->kind == CANARY_PROM_EMPTY ? "no data" : r->error);
	return 0;
}

/* A query that could not be built (a variable the run lacks): the sample
 * says why, as an error would. */
static void unbuilt(canary_sample *sample, const char *why)
{
	memset(sample, 0, sizeof(*sample));
	sample->query = "";
	sample->result.kind = CANARY_PROM_ERROR;
	(void)snprintf(sample->result.error, sizeof(sample->result.error), "%s", why);
}

static struct metric_gate *metric_of(canary_gates *set, enum metric_kind kind)
{
	for (int i = 0; i < CANARY_MAX_GATES; i++)
		if (set->metrics[i].set && set->metrics[i].kind == kind)
			return &set->metrics[i];
	return NULL;
}

/* Runs the built-in queries (the canary's requests first; the rest only
 * when there are enough of them) and judges error-rate and latency-p99
 * from them into their last records. */
static int measure_builtin(canary_gates *set, canary_ctx *ctx)
{
	const canary_analysis *a = &set->analysis;
	canary_builtin_samples s;
	canary_query_vars vars;
	kube_buf texts[5] = {KUBE_BUF_INIT, KUBE_BUF_INIT, KUBE_BUF_INIT, KUBE_BUF_INIT, KUBE_BUF_INIT};
	struct {
		canary_sample *sample;
		enum canary_query_kind kind;
		enum canary_track_kind track;
	} plan[] = {
	        {&s.requests[CANARY_TRACK_CANARY], CANARY_QUERY_REQUESTS, CANARY_TRACK_CANARY},
	        {&s.errors[CANARY_TRACK_CANARY], CANARY_QUERY_ERRORS, CANARY_TRACK_CANARY},
	        {&s.requests[CANARY_TRACK_STABLE], CANARY_QUERY_REQUESTS, CANARY_TRACK_STABLE},
	        {&s.errors[CANARY_TRACK_STABLE], CANARY_QUERY_ERRORS, CANARY_TRACK_STABLE},
	        {&s.p99, CANARY_QUERY_P99, CANARY_TRACK_CANARY},
	};
	char why[256];
	int rc = 0;
	memset(&s, 0, sizeof(s));
	query_vars(&vars, ctx, a);
	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
		if (i >= 1 && i <= 3 && !a->error_rate)
			continue;
		if (i == 4 && a->max_p99_ms <= 0)
			continue;
		/* too few requests: every built-in gate waits, no need to ask more */
		if (i >= 1 && (s.requests[0].result.kind != CANARY_PROM_VALUE || isnan(s.requests[0].result.value) ||
		               !enough_requests(s.requests[0].result.value, a)))
			break;
		rc = canary_query_builtin(&texts[i], a, plan[i].kind, plan[i].track, &vars, why, sizeof(why));
		if (rc == KUBE_ENOMEM)
			goto done;
		if (rc) {
			unbuilt(plan[i].sample, why);
			rc = 0;
			continue;
		}
		const char *gate = plan[i].kind == CANARY_QUERY_P99 ? "latency-p99" : "error-rate";
		if ((rc = run_query(set, ctx->client, plan[i].sample, gate, kube_buf_cstr(&texts[i]))) != 0)
			goto done;
	}
	struct metric_gate *g;
	if ((g = metric_of(set, METRIC_ERROR_RATE)) != NULL)
		canary_rule_error_rate(&g->last, a, &s);
	if ((g = metric_of(set, METRIC_LATENCY)) != NULL)
		canary_rule_latency(&g->last, a, &s);
	set->builtin_ms = kube_now_ms();
	for (int i = 0; i < CANARY_MAX_GATES; i++) {
		g = &set->metrics[i];
		if (!g->set || g->kind == METRIC_CUSTOM)
			continue;
		g->measured_ms = set->builtin_ms;
		if (set->mode == CANARY_GATES_POLL)
			kube_log(KUBE_LOG_DECISION, "gate %s: %s: %s", g->last.name,
			         canary_verdict_name(g->last.verdict), g->last.message);
	}
done:
	for (int i = 0; i < 5; i++)
		kube_buf_dispose(&texts[i]);
	return rc;
}

static int measure_custom(struct metric_gate *g, canary_ctx *ctx)
{
	canary_gates *set = g->set;
	const canary_metric *m = &set->analysis.metrics[g->metric];
	canary_query_vars vars;
	canary_sample sample;
	kube_buf text = KUBE_BUF_INIT;
	char why[256];
	memset(&sample, 0, sizeof(sample));
	query_vars(&vars, ctx, &set->analysis);
	int rc = canary_query_expand(&text, m->query, &vars, NULL, why, sizeof(why));
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc)
		unbuilt(&sample, why);
	else if ((rc = run_query(set, ctx->client, &sample, m->name, kube_buf_cstr(&text))) != 0)
		goto done;
	canary_rule_metric(&g->last, m, &sample, set->mode == CANARY_GATES_POLL ? &g->counts : NULL);
	g->measured_ms = kube_now_ms();
	if (set->mode == CANARY_GATES_POLL)
		kube_log(KUBE_LOG_DECISION, "gate %s: %s: %s", g->last.name, canary_verdict_name(g->last.verdict),
		         g->last.message);
	rc = 0;
done:
	kube_buf_dispose(&text);
	return rc;
}

/* A new step (or run) starts the measurements afresh. Step times are
 * compared in whole seconds: the state on D keeps no more, and a run
 * reads its own step back from D. */
static void follow_step(canary_gates *set, const canary_state *state)
{
	long long started_s = state->step_started_ms / 1000;
	if (!strcmp(set->run_id, state->run_id) && set->step_index == state->step_index &&
	    set->step_started_s == started_s)
		return;
	(void)snprintf(set->run_id, sizeof(set->run_id), "%s", state->run_id);
	set->step_index = state->step_index;
	set->step_started_s = started_s;
	set->builtin_ms = 0;
	for (int i = 0; i < CANARY_MAX_GATES; i++) {
		set->metrics[i].measured_ms = 0;
		set->metrics[i].counts.passes = set->metrics[i].counts.failures = 0;
	}
}

static int due(long long measured_ms, long interval_ms)
{
	return measured_ms == 0 || kube_now_ms() - measured_ms >= interval_ms;
}

static int evaluate_metric(const canary_gate *gate, const canary_gate_input *in, canary_gate_record *out)
{
	struct metric_gate *g = gate->config;
	canary_gates *set = g->set;
	int rc = 0;
	if (!in->ctx) {
		record(out, gate->name, CANARY_WAIT, "not measured: no run to measure");
		return 0;
	}
	follow_step(set, &in->ctx->state);
	if (g->kind == METRIC_CUSTOM) {
		if (due(g->measured_ms, set->analysis.metrics[g->metric].interval_ms))
			rc = measure_custom(g, in->ctx);
	} else if (due(set->builtin_ms, set->analysis.interval_ms)) {
		rc = measure_builtin(set, in->ctx);
	}
	if (rc)
		return rc;
	*out = g->last;
	return 0;
}

int canary_gates_build(canary_ctx *ctx, const canary_analysis *a, enum canary_gates_mode mode)
{
	char err[512];
	canary_gates_free(ctx->gates);
	ctx->gates = NULL;
	if (!a)
		return 0;
	canary_gates *set = calloc(1, sizeof(*set));
	if (!set)
		return cli_error_nomem();
	set->analysis = *a;
	if (canary_prom_addr_parse(&set->addr, a->prometheus, err, sizeof(err))) {
		/* unreachable: the analysis was validated */
		free(set);
		cli_error("prometheus: %s", err);
		return CLI_EXIT_USAGE;
	}
	set->mode = mode;
	set->step_index = -2; /* no step yet */
	int n = 0;
	set->list[n++] = &canary_gate_health;
	for (int i = -2; i < a->metric_count && n < CANARY_MAX_GATES; i++) {
		struct metric_gate *g = &set->metrics[n];
		if ((i == -2 && !a->error_rate) || (i == -1 && a->max_p99_ms <= 0))
			continue;
		g->set = set;
		g->kind = i == -2 ? METRIC_ERROR_RATE : i == -1 ? METRIC_LATENCY : METRIC_CUSTOM;
		g->metric = i;
		set->gates[n].name = i == -2 ? "error-rate" : i == -1 ? "latency-p99" : set->analysis.metrics[i].name;
		set->gates[n].evaluate = evaluate_metric;
		set->gates[n].config = g;
		set->list[n] = &set->gates[n];
		n++;
	}
	ctx->gates = set;
	return 0;
}

int canary_gates_load(canary_ctx *ctx, enum canary_gates_mode mode)
{
	char err[512];
	canary_gates_free(ctx->gates);
	ctx->gates = NULL;
	json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
	json_t *text = json_object_get(annotations, CANARY_ANNOTATION_ANALYSIS);
	if (!text)
		return 0;
	canary_analysis *a = malloc(sizeof(*a));
	if (!a)
		return cli_error_nomem();
	json_error_t jerr;
	json_t *doc =
	        json_is_string(text) ? json_loadb(json_string_value(text), json_string_length(text), 0, &jerr) : NULL;
	int bad = 0;
	if (!doc) {
		(void)snprintf(err, sizeof(err), "not JSON%s%s", json_is_string(text) ? ": " : "",
		               json_is_string(text) ? jerr.text : "");
		bad = 1;
	} else if (canary_analysis_from_json(a, doc, err, sizeof(err)) ||
	           canary_analysis_finish(a, ctx->state.router, err, sizeof(err))) {
		bad = 1;
	}
	json_decref(doc);
	if (bad) {
		free(a);
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		cli_error("deployment/%s: annotation %s is not a metric analysis: %s", ctx->name,
		          CANARY_ANNOTATION_ANALYSIS, err);
		cli_hint(
		        "inspect it with 'kubectl get deploy %s -o yaml'; abort the run with 'kubectl canary abort %s'",
		        ctx->name, ctx->name);
		return CLI_EXIT_REFUSED;
	}
	int rc = canary_gates_build(ctx, a, mode);
	free(a);
	return rc;
}

/* --- the flags --------------------------------------------------------- */

/* Reads path (at most ANALYSIS_FILE_MAX bytes) into out. Returns 0 or an
 * errno. */
static int read_file(kube_buf *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;
	if (!f)
		return errno ? errno : EIO;
	out->limit = ANALYSIS_FILE_MAX;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		int rc = kube_buf_put(out, chunk, n);
		if (rc) {
			fclose(f);
			return rc == KUBE_ENOMEM ? ENOMEM : EFBIG;
		}
	}
	int failed = ferror(f);
	fclose(f);
	return failed ? EIO : 0;
}

int canary_analysis_from_flags(canary_analysis **out, const cli_args *args)
{
	const char *file = cli_flag_string(args, "analysis"), *prometheus = cli_flag_string(args, "prometheus");
	int max_p99 = cli_flag_given(args, "max-p99"), min_requests = cli_flag_given(args, "min-requests");
	char err[512];
	int rc = 0;
	*out = NULL;
	if (!file && !prometheus) {
		if (max_p99 || min_requests)
			return cli_usage_error(args, "--%s needs --prometheus or --analysis (metric gates)",
			                       max_p99 ? "max-p99" : "min-requests");
		return 0;
	}
	canary_analysis *a = malloc(sizeof(*a));
	if (!a)
		return cli_error_nomem();
	canary_analysis_init(a);
	if (file) {
		kube_buf data = KUBE_BUF_INIT;
		int error = read_file(&data, file);
		if (error == ENOMEM)
			rc = cli_error_nomem();
		else if (error == EFBIG)
			rc = cli_usage_error(args, "--analysis %s: larger than %d KiB: not an analysis file", file,
			                     ANALYSIS_FILE_MAX / 1024);
		else if (error)
			rc = cli_usage_error(args, "--analysis %s: cannot read it: %s", file, strerror(error));
		else if ((error = canary_analysis_parse(a, kube_buf_cstr(&data), data.len, err, sizeof(err))) ==
		         KUBE_ENOMEM)
			rc = cli_error_nomem();
		else if (error)
			rc = cli_usage_error(args, "--analysis %s: %s", file, err);
		kube_buf_dispose(&data);
		if (rc)
			goto fail;
	}
	if (prometheus) {
		canary_prom_addr addr;
		if (canary_prom_addr_parse(&addr, prometheus, err, sizeof(err))) {
			rc = cli_usage_error(args, "--prometheus: %s", err);
			goto fail;
		}
		if (strlen(prometheus) >= sizeof(a->prometheus)) {
			rc = cli_usage_error(args, "--prometheus: longer than %zu bytes", sizeof(a->prometheus) - 1);
			goto fail;
		}
		(void)snprintf(a->prometheus, sizeof(a->prometheus), "%s", prometheus);
	}
	if (max_p99) {
		long ms = cli_flag_duration_ms(args, "max-p99", 0);
		if (ms < 1) {
			rc = cli_usage_error(args, "--max-p99: a bound above 0, such as 500ms");
			goto fail;
		}
		a->max_p99_ms = ms;
	}
	if (min_requests) {
		long n = cli_flag_long(args, "min-requests", 0);
		if (n < 0) {
			rc = cli_usage_error(args, "--min-requests %ld: a count from 0", n);
			goto fail;
		}
		a->min_requests = n;
	}
	*out = a;
	return 0;
fail:
	free(a);
	return rc;
}

int canary_analysis_complete(canary_analysis *a, const cli_args *args, const char *router)
{
	char err[512];
	if (!canary_analysis_finish(a, router, err, sizeof(err)))
		return 0;
	const char *file = cli_flag_string(args, "analysis");
	if (file)
		return cli_usage_error(args, "--analysis %s: %s", file, err);
	return cli_usage_error(args, "--prometheus: %s", err);
}

int canary_analysis_store(json_t *patch, const canary_analysis *a)
{
	json_t *meta = json_object_get(patch, "metadata");
	if (!meta && (json_object_set_new(patch, "metadata", meta = json_object()) || !meta))
		return KUBE_ENOMEM;
	json_t *annotations = json_object_get(meta, "annotations");
	if (!annotations && (json_object_set_new(meta, "annotations", annotations = json_object()) || !annotations))
		return KUBE_ENOMEM;
	if (!a)
		return json_object_set_new(annotations, CANARY_ANNOTATION_ANALYSIS, json_null()) ? KUBE_ENOMEM : 0;
	kube_buf text = KUBE_BUF_INIT;
	int rc = canary_analysis_format(&text, a);
	if (!rc && json_object_set_new(annotations, CANARY_ANNOTATION_ANALYSIS, json_string(kube_buf_cstr(&text))))
		rc = KUBE_ENOMEM;
	kube_buf_dispose(&text);
	return rc;
}

int canary_analysis_check_kept(canary_ctx *ctx)
{
	canary_analysis *a = NULL;
	kube_buf text = KUBE_BUF_INIT;
	int rc = canary_analysis_from_flags(&a, ctx->args);
	if (rc || !a)
		return rc;
	if (!(rc = canary_analysis_complete(a, ctx->args, ctx->state.router))) {
		json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
		const char *stored = json_string_value(json_object_get(annotations, CANARY_ANNOTATION_ANALYSIS));
		if (canary_analysis_format(&text, a))
			rc = cli_error_nomem();
		else if (!stored)
			cli_warning("deployment/%s: canary run %s started without metric gates and keeps none: the "
			            "--analysis, --prometheus, --max-p99 and --min-requests given now are ignored",
			            ctx->name, ctx->state.run_id);
		else if (strcmp(stored, kube_buf_cstr(&text)) != 0)
			cli_warning("deployment/%s: canary run %s keeps the metric gates it started with; the "
			            "--analysis, --prometheus, --max-p99 and --min-requests given now differ and are "
			            "ignored",
			            ctx->name, ctx->state.run_id);
	}
	kube_buf_dispose(&text);
	free(a);
	return rc;
}
