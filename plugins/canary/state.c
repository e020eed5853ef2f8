/* A canary run's state and history as the JSON kept in D's annotations,
 * read defensively because anyone who may edit D may edit them. */
#define _DEFAULT_SOURCE /* timegm */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kube/error.h>

#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const phase_names[] = {
        [CANARY_PHASE_NONE] = "",
        [CANARY_PHASE_PROGRESSING] = "Progressing",
        [CANARY_PHASE_PAUSED] = "Paused",
        [CANARY_PHASE_PROMOTING] = "Promoting",
        [CANARY_PHASE_SUCCEEDED] = "Succeeded",
        [CANARY_PHASE_ABORTED] = "Aborted",
        [CANARY_PHASE_FAILED] = "Failed",
};

static const char *const strategy_names[] = {
        [CANARY_STRATEGY_CANARY] = "canary",
        [CANARY_STRATEGY_BLUE_GREEN] = "blue-green",
};

static const char *const verdict_names[] = {
        [CANARY_PASS] = "PASS",
        [CANARY_WAIT] = "WAIT",
        [CANARY_FAIL] = "FAIL",
};

const char *canary_phase_name(enum canary_phase phase)
{
	return (size_t)phase < ARRAY_SIZE(phase_names) ? phase_names[phase] : "";
}

int canary_phase_parse(enum canary_phase *out, const char *name)
{
	/* NONE has no name to parse: a stored state always has a real phase. */
	for (size_t i = CANARY_PHASE_NONE + 1; name && i < ARRAY_SIZE(phase_names); i++) {
		if (strcmp(name, phase_names[i]) == 0) {
			*out = (enum canary_phase)i;
			return 0;
		}
	}
	return -1;
}

int canary_phase_active(enum canary_phase phase)
{
	return phase == CANARY_PHASE_PROGRESSING || phase == CANARY_PHASE_PAUSED || phase == CANARY_PHASE_PROMOTING;
}

const char *canary_verdict_name(enum canary_verdict verdict)
{
	return (size_t)verdict < ARRAY_SIZE(verdict_names) ? verdict_names[verdict] : "";
}

void canary_state_init(canary_state *state)
{
	assert(state);
	memset(state, 0, sizeof(*state));
	state->phase = CANARY_PHASE_NONE;
	state->strategy = CANARY_STRATEGY_CANARY;
	state->step_index = -1;
	state->intent.from_step = -1;
	state->intent.to_step = -1;
}

/* --- UTF-8 ------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (at most len bytes), or 0:
 * no overlong forms, no surrogates, nothing past U+10FFFF, as jansson
 * demands of every string it is given. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t code;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		code = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		code = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		code = c & 0x07;
	} else {
		return 0;
	}
	if (need > len)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && code < 0x800) || (need == 4 && (code < 0x10000 || code > 0x10ffff)) ||
	    (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return need;
}

/* Copies text (len bytes) into dst (size bytes), cut to fit at a
 * character boundary so that the copy stays valid UTF-8. */
static void copy_cut(char *dst, size_t size, const char *text, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	if (n < len) {
		/* Do not end inside a multi-byte character. */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, text, n);
	dst[n] = '\0';
}

/* A JSON string of at most len bytes of text, stopping at a NUL; bytes
 * that are not valid UTF-8 become '?' (a caller may hand over any bytes,
 * e.g. --reason from argv), so a bad byte is never mistaken for a lack of
 * memory. NULL only when memory runs out. */
static json_t *json_text(const char *text, size_t len)
{
	char clean[1024];
	len = strnlen(text, len);
	if (len > sizeof(clean))
		len = sizeof(clean); /* no field is longer */
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence((const unsigned char *)text + i, len - i);
		if (n == 0) {
			memcpy(clean, text, len);
			for (size_t j = i; j < len;) {
				size_t m = utf8_sequence((const unsigned char *)clean + j, len - j);
				if (m == 0) {
					clean[j] = '?';
					m = 1;
				}
				j += m;
			}
			return json_stringn(clean, len);
		}
		i += n;
	}
	return json_stringn(text, len);
}

/* --- time -------------------------------------------------------------- */

void canary_time_format(char *buf, size_t size, long long ms)
{
	struct tm tm;
	assert(buf && size > 0);
	buf[0] = '\0';
	/* Whole seconds, rounded down also before 1970. */
	long long seconds = ms / 1000 - (ms % 1000 < 0);
	time_t t = (time_t)seconds;
	if ((long long)t != seconds || !gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return;
	(void)snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	               tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Reads exactly digits decimal digits at *p; -1 when one is missing. */
static int read_digits(const char **p, int digits)
{
	int value = 0;
	for (int i = 0; i < digits; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		value = value * 10 + (c - '0');
	}
	*p += digits;
	return value;
}

static int expect(const char **p, const char *chars)
{
	if (**p == '\0' || !strchr(chars, **p))
		return -1;
	(*p)++;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

int canary_time_parse(long long *out_ms, const char *text)
{
	struct tm tm;
	const char *p = text;
	int year, month, day, hour, minute, second, offset_s = 0;
	if (!text || !out_ms)
		return -1;
	/* RFC 3339 date-time: no sscanf, which would take signs and blanks. */
	if ((year = read_digits(&p, 4)) < 0 || expect(&p, "-") || (month = read_digits(&p, 2)) < 0 || expect(&p, "-") ||
	    (day = read_digits(&p, 2)) < 0 || expect(&p, "Tt") || (hour = read_digits(&p, 2)) < 0 || expect(&p, ":") ||
	    (minute = read_digits(&p, 2)) < 0 || expect(&p, ":") || (second = read_digits(&p, 2)) < 0)
		return -1;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
	    second > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++; /* fractions are dropped */
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, offset_h, offset_m;
		if ((offset_h = read_digits(&p, 2)) < 0 || expect(&p, ":") || (offset_m = read_digits(&p, 2)) < 0 ||
		    offset_h > 23 || offset_m > 59)
			return -1;
		offset_s = sign * (offset_h * 3600 + offset_m * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second; /* a leap second 60 becomes the next minute's 0 */
	time_t seconds = timegm(&tm);
	*out_ms = ((long long)seconds - offset_s) * 1000;
	return 0;
}

/* --- parsing ----------------------------------------------------------- */

struct reader {
	char *err;
	size_t err_size;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	if (r->err && r->err_size) {
		va_start(ap, fmt);
		(void)vsnprintf(r->err, r->err_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Keeps a reason one printable ASCII line, whatever bytes of the input
 * (or jansson's "near '...'" echo of it) it quotes. */
static void clean_err(char *err, size_t err_size)
{
	if (!err || !err_size)
		return;
	for (char *c = err; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	}
}

/* The member key of object, NULL when absent or null: a null is how JSON
 * writers often say "not set". */
static json_t *member(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	return json_is_null(value) ? NULL : value;
}

static int read_string(char *dst, size_t size, const json_t *object, const char *key, const char *path,
                       struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	if (!json_is_string(value))
		return fail(r, "%s: not a string", path);
	copy_cut(dst, size, json_string_value(value), strnlen(json_string_value(value), json_string_length(value)));
	return 0;
}

static int read_int(int *dst, const json_t *object, const char *key, const char *path, long long min, long long max,
                    struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	if (!json_is_integer(value))
		return fail(r, "%s: not a whole number", path);
	long long number = json_integer_value(value);
	if (number < min || number > max)
		return fail(r, "%s: %lld is out of range (%lld to %lld)", path, number, min, max);
	*dst = (int)number;
	return 0;
}

static int read_time(long long *dst, const json_t *object, const char *key, const char *path, struct reader *r)
{
	const json_t *value = member(object, key);
	if (!value)
		return 0;
	if (!json_is_string(value) || canary_time_parse(dst, json_string_value(value)) != 0)
		return fail(r, "%s: not an RFC 3339 time", path);
	return 0;
}

/* steps [5, 25, 50, 100] and pauses ["10m", "10m", "inf"], checked by the
 * same parser as the flags they came from. */
static int read_ladder(canary_ladder *out, const json_t *root, struct reader *r)
{
	const json_t *steps = member(root, "steps"), *pauses = member(root, "pauses"), *item;
	char steps_text[CANARY_MAX_STEPS * 4 + 1]; /* "100," per step */
	char pauses_text[CANARY_MAX_STEPS * 33];   /* 32 bytes and a comma per pause */
	char reason[256];
	size_t i, used = 0;
	if (!steps)
		return fail(r, "steps: missing");
	if (!json_is_array(steps) || json_array_size(steps) == 0)
		return fail(r, "steps: not a list of weights");
	if (json_array_size(steps) > CANARY_MAX_STEPS)
		return fail(r, "steps: more than %d", CANARY_MAX_STEPS);
	json_array_foreach(steps, i, item)
	{
		if (!json_is_integer(item) || json_integer_value(item) < 1 || json_integer_value(item) > 100)
			return fail(r, "steps[%zu]: not a weight from 1 to 100", i);
		used += (size_t)snprintf(steps_text + used, sizeof(steps_text) - used, "%s%d", i ? "," : "",
		                         (int)json_integer_value(item));
	}
	if (pauses && (!json_is_array(pauses) || json_array_size(pauses) > CANARY_MAX_STEPS))
		return fail(r, "pauses: not a list of at most %d durations", CANARY_MAX_STEPS);
	used = 0;
	pauses_text[0] = '\0';
	json_array_foreach(pauses, i, item)
	{
		const char *text = json_string_value(item);
		/* A comma inside one item would be read as two. */
		if (!text || json_string_length(item) > 32 || strchr(text, ','))
			return fail(r, "pauses[%zu]: not a duration", i);
		used += (size_t)snprintf(pauses_text + used, sizeof(pauses_text) - used, "%s%s", i ? "," : "", text);
	}
	if (!pauses_text[0]) {
		/* No pauses: right only for a ladder of one rung (100). */
		if (canary_ladder_parse(out, steps_text, "0", reason, sizeof(reason)) != 0)
			return fail(r, "steps: %s", reason);
		if (out->count > 1)
			return fail(r, "pauses: missing");
		return 0;
	}
	if (canary_ladder_parse(out, steps_text, pauses_text, reason, sizeof(reason)) != 0)
		return fail(r, "ladder: %s", reason);
	return 0;
}

static int read_gates(canary_state *state, const json_t *root, struct reader *r)
{
	const json_t *gates = member(root, "gates"), *item;
	char path[64];
	size_t i;
	if (!gates)
		return 0;
	if (!json_is_array(gates))
		return fail(r, "gates: not a list");
	json_array_foreach(gates, i, item)
	{
		/* A newer version may record more gates than fit: keep the first. */
		if (i >= CANARY_MAX_GATES)
			break;
		canary_gate_record *gate = &state->gates[i];
		const char *verdict;
		size_t v;
		if (!json_is_object(item))
			return fail(r, "gates[%zu]: not an object", i);
		verdict = json_string_value(member(item, "verdict"));
		(void)snprintf(path, sizeof(path), "gates[%zu].name", i);
		if (read_string(gate->name, sizeof(gate->name), item, "name", path, r))
			return -1;
		(void)snprintf(path, sizeof(path), "gates[%zu].message", i);
		if (read_string(gate->message, sizeof(gate->message), item, "message", path, r))
			return -1;
		(void)snprintf(path, sizeof(path), "gates[%zu].value", i);
		if (read_string(gate->value, sizeof(gate->value), item, "value", path, r))
			return -1;
		(void)snprintf(path, sizeof(path), "gates[%zu].threshold", i);
		if (read_string(gate->threshold, sizeof(gate->threshold), item, "threshold", path, r))
			return -1;
		for (v = 0; verdict && v < ARRAY_SIZE(verdict_names); v++) {
			if (strcmp(verdict, verdict_names[v]) == 0)
				break;
		}
		if (!verdict || v == ARRAY_SIZE(verdict_names))
			return fail(r, "gates[%zu].verdict: not PASS, WAIT or FAIL", i);
		gate->verdict = (enum canary_verdict)v;
		state->gate_count = (int)i + 1;
	}
	return 0;
}

static int read_intent(canary_intent *intent, const json_t *root, int steps, struct reader *r)
{
	const json_t *object = member(root, "intent");
	if (!object)
		return 0;
	if (!json_is_object(object))
		return fail(r, "intent: not an object");
	intent->active = 1;
	if (read_string(intent->action, sizeof(intent->action), object, "action", "intent.action", r) ||
	    read_int(&intent->from_step, object, "fromStep", "intent.fromStep", -1, steps - 1, r) ||
	    read_int(&intent->to_step, object, "toStep", "intent.toStep", -1, steps - 1, r) ||
	    read_int(&intent->to_weight, object, "toWeight", "intent.toWeight", 0, 100, r) ||
	    read_time(&intent->at_ms, object, "at", "intent.at", r))
		return -1;
	return 0;
}

static int read_state(canary_state *s, const json_t *root, struct reader *r)
{
	const json_t *phase = member(root, "phase"), *strategy = member(root, "strategy"), *abort;
	char name[24];
	if (!json_is_object(root))
		return fail(r, "not a JSON object");
	if (!phase)
		return fail(r, "phase: missing");
	if (!json_is_string(phase))
		return fail(r, "phase: not a string");
	if (canary_phase_parse(&s->phase, json_string_value(phase)) != 0) {
		copy_cut(name, sizeof(name), json_string_value(phase), strlen(json_string_value(phase)));
		return fail(r, "phase: unknown \"%s\"", name);
	}
	if (strategy) {
		size_t i;
		const char *text = json_string_value(strategy);
		for (i = 0; text && i < ARRAY_SIZE(strategy_names); i++) {
			if (strcmp(text, strategy_names[i]) == 0)
				break;
		}
		if (!text || i == ARRAY_SIZE(strategy_names))
			return fail(r, "strategy: not canary or blue-green");
		s->strategy = (enum canary_strategy)i;
	}
	if (read_ladder(&s->ladder, root, r))
		return -1;
	int steps = s->ladder.count;
	if (read_string(s->run_id, sizeof(s->run_id), root, "runId", "runId", r) ||
	    read_string(s->router, sizeof(s->router), root, "router", "router", r) ||
	    read_string(s->canary_name, sizeof(s->canary_name), root, "canary", "canary", r) ||
	    read_string(s->canary_uid, sizeof(s->canary_uid), root, "canaryUid", "canaryUid", r) ||
	    read_string(s->revision, sizeof(s->revision), root, "revision", "revision", r) ||
	    read_string(s->stable_revision, sizeof(s->stable_revision), root, "stableRevision", "stableRevision", r) ||
	    read_string(s->blue_hash, sizeof(s->blue_hash), root, "blueHash", "blueHash", r) ||
	    read_string(s->service, sizeof(s->service), root, "service", "service", r) ||
	    read_string(s->route, sizeof(s->route), root, "route", "route", r) ||
	    read_string(s->change, sizeof(s->change), root, "change", "change", r) ||
	    read_int(&s->step_index, root, "stepIndex", "stepIndex", -1, steps - 1, r) ||
	    read_int(&s->weight, root, "weight", "weight", 0, 100, r) ||
	    read_int(&s->original_replicas, root, "originalReplicas", "originalReplicas", 0, INT_MAX, r) ||
	    read_string(s->hpa, sizeof(s->hpa), root, "hpa", "hpa", r) ||
	    read_time(&s->started_ms, root, "startedAt", "startedAt", r) ||
	    read_time(&s->step_started_ms, root, "stepStartedAt", "stepStartedAt", r) ||
	    read_time(&s->finished_ms, root, "finishedAt", "finishedAt", r) || read_intent(&s->intent, root, steps, r))
		return -1;
	if ((abort = member(root, "abortRequested")) != NULL) {
		if (!json_is_object(abort))
			return fail(r, "abortRequested: not an object");
		s->abort_requested = 1;
		if (read_string(s->abort_requested_by, sizeof(s->abort_requested_by), abort, "by", "abortRequested.by",
		                r))
			return -1;
	}
	if (read_string(s->reason, sizeof(s->reason), root, "reason", "reason", r) ||
	    read_string(s->started_by, sizeof(s->started_by), root, "startedBy", "startedBy", r) ||
	    read_string(s->user, sizeof(s->user), root, "user", "user", r) ||
	    read_string(s->lock_holder, sizeof(s->lock_holder), root, "lockHolder", "lockHolder", r) ||
	    read_gates(s, root, r) || read_time(&s->gates_ms, root, "gatesAt", "gatesAt", r) ||
	    read_string(s->message, sizeof(s->message), root, "message", "message", r))
		return -1;
	return 0;
}

/* Parses text into *out: 0, -1 with jerr for text that is not JSON, or
 * KUBE_ENOMEM. jansson reports some allocation failures as syntax errors
 * ("invalid token" when a string's copy cannot be allocated) and some with
 * no text at all, so a syntax error is trusted only when it repeats. */
static int load_json(json_t **out, const char *text, size_t len, json_error_t *jerr)
{
	*out = json_loadb(text, len, 0, jerr);
	if (!*out && jerr->text[0] && json_error_code(jerr) != json_error_out_of_memory)
		*out = json_loadb(text, len, 0, jerr);
	if (*out)
		return 0;
	return !jerr->text[0] || json_error_code(jerr) == json_error_out_of_memory ? KUBE_ENOMEM : -1;
}

int canary_state_parse(canary_state *out, const char *text, size_t len, char *err, size_t err_size)
{
	struct reader r = {err, err_size};
	json_error_t jerr;
	json_t *root;
	int rc;
	assert(out);
	canary_state_init(out);
	if (!text || !len) {
		fail(&r, "empty");
		return -1;
	}
	rc = load_json(&root, text, len, &jerr);
	if (rc) {
		if (rc == KUBE_ENOMEM)
			fail(&r, "out of memory");
		else
			fail(&r, "not JSON: %s", jerr.text);
		clean_err(err, err_size);
		return -1;
	}
	rc = read_state(out, root, &r);
	json_decref(root);
	if (rc) {
		/* Nothing half-read is handed back. */
		canary_state_init(out);
		clean_err(err, err_size);
	}
	return rc;
}

/* --- formatting -------------------------------------------------------- */

/* Sets key to a string field unless it is empty; -1 when memory runs out. */
static int put_text(json_t *object, const char *key, const char *text, size_t size)
{
	if (!text[0])
		return 0;
	return json_object_set_new(object, key, json_text(text, size));
}

static int put_time(json_t *object, const char *key, long long ms)
{
	char text[32];
	if (ms == 0)
		return 0;
	canary_time_format(text, sizeof(text), ms);
	if (!text[0])
		return 0; /* beyond year 9999: nothing RFC 3339 can say */
	return json_object_set_new(object, key, json_string(text));
}

static int put_int(json_t *object, const char *key, long long value)
{
	return json_object_set_new(object, key, json_integer(value));
}

static json_t *ladder_steps(const canary_ladder *ladder)
{
	json_t *steps = json_array();
	int count = ladder->count < CANARY_MAX_STEPS ? ladder->count : CANARY_MAX_STEPS;
	for (int i = 0; steps && i < count; i++) {
		if (json_array_append_new(steps, json_integer(ladder->steps[i]))) {
			json_decref(steps);
			return NULL;
		}
	}
	return steps;
}

static json_t *ladder_pauses(const canary_ladder *ladder)
{
	json_t *pauses = json_array();
	char text[32];
	int count = ladder->count < CANARY_MAX_STEPS ? ladder->count : CANARY_MAX_STEPS;
	for (int i = 0; pauses && i + 1 < count; i++) {
		canary_pause_format(text, sizeof(text), ladder->pauses_s[i]);
		if (json_array_append_new(pauses, json_string(text))) {
			json_decref(pauses);
			return NULL;
		}
	}
	return pauses;
}

static json_t *intent_json(const canary_intent *intent)
{
	json_t *object = json_object();
	if (!object || put_text(object, "action", intent->action, sizeof(intent->action)) ||
	    put_int(object, "fromStep", intent->from_step) || put_int(object, "toStep", intent->to_step) ||
	    put_int(object, "toWeight", intent->to_weight) || put_time(object, "at", intent->at_ms)) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *abort_json(const canary_state *state)
{
	json_t *object = json_object();
	if (!object || put_text(object, "by", state->abort_requested_by, sizeof(state->abort_requested_by))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *gates_json(const canary_state *state)
{
	json_t *gates = json_array();
	int count = state->gate_count < CANARY_MAX_GATES ? state->gate_count : CANARY_MAX_GATES;
	for (int i = 0; gates && i < count; i++) {
		const canary_gate_record *gate = &state->gates[i];
		json_t *object = json_object();
		if (!object || put_text(object, "name", gate->name, sizeof(gate->name)) ||
		    json_object_set_new(object, "verdict", json_string(canary_verdict_name(gate->verdict))) ||
		    put_text(object, "message", gate->message, sizeof(gate->message)) ||
		    put_text(object, "value", gate->value, sizeof(gate->value)) ||
		    put_text(object, "threshold", gate->threshold, sizeof(gate->threshold)) ||
		    json_array_append_new(gates, object)) {
			json_decref(object);
			json_decref(gates);
			return NULL;
		}
	}
	return gates;
}

json_t *canary_state_to_json(const canary_state *s)
{
	json_t *root = json_object();
	assert(s);
	/* Keys in the order the header lists them: jansson keeps insertion
	 * order, so the annotation reads the same every time. */
	if (!root || put_text(root, "phase", canary_phase_name(s->phase), 16) ||
	    json_object_set_new(root, "strategy",
	                        json_string(s->strategy == CANARY_STRATEGY_BLUE_GREEN ? "blue-green" : "canary")) ||
	    put_text(root, "runId", s->run_id, sizeof(s->run_id)) ||
	    put_text(root, "router", s->router, sizeof(s->router)) ||
	    put_text(root, "canary", s->canary_name, sizeof(s->canary_name)) ||
	    put_text(root, "canaryUid", s->canary_uid, sizeof(s->canary_uid)) ||
	    put_text(root, "revision", s->revision, sizeof(s->revision)) ||
	    put_text(root, "stableRevision", s->stable_revision, sizeof(s->stable_revision)) ||
	    put_text(root, "blueHash", s->blue_hash, sizeof(s->blue_hash)) ||
	    put_text(root, "service", s->service, sizeof(s->service)) ||
	    put_text(root, "route", s->route, sizeof(s->route)) ||
	    put_text(root, "change", s->change, sizeof(s->change)) ||
	    json_object_set_new(root, "steps", ladder_steps(&s->ladder)) ||
	    json_object_set_new(root, "pauses", ladder_pauses(&s->ladder)) ||
	    put_int(root, "stepIndex", s->step_index) || put_int(root, "weight", s->weight) ||
	    put_int(root, "originalReplicas", s->original_replicas) || put_text(root, "hpa", s->hpa, sizeof(s->hpa)) ||
	    put_time(root, "startedAt", s->started_ms) || put_time(root, "stepStartedAt", s->step_started_ms) ||
	    put_time(root, "finishedAt", s->finished_ms) ||
	    (s->intent.active && json_object_set_new(root, "intent", intent_json(&s->intent))) ||
	    (s->abort_requested && json_object_set_new(root, "abortRequested", abort_json(s))) ||
	    put_text(root, "reason", s->reason, sizeof(s->reason)) ||
	    put_text(root, "startedBy", s->started_by, sizeof(s->started_by)) ||
	    put_text(root, "user", s->user, sizeof(s->user)) ||
	    put_text(root, "lockHolder", s->lock_holder, sizeof(s->lock_holder)) ||
	    (s->gate_count > 0 && json_object_set_new(root, "gates", gates_json(s))) ||
	    put_time(root, "gatesAt", s->gates_ms) || put_text(root, "message", s->message, sizeof(s->message))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

struct dump_ctx {
	kube_buf *out;
	int rc;
};

/* Once an append fails every later one fails too: jansson 2.14 ignores
 * the callback's failure while it writes an object key and carries on, so
 * a later success would leave the text with a key missing. */
static int dump_to_buf(const char *data, size_t size, void *data_ctx)
{
	struct dump_ctx *ctx = data_ctx;
	if (ctx->rc == 0)
		ctx->rc = kube_buf_put(ctx->out, data, size);
	return ctx->rc ? -1 : 0;
}

/* Appends value on one line; on failure out is as it was. */
static int dump_compact(kube_buf *out, const json_t *value)
{
	struct dump_ctx ctx = {out, 0};
	size_t before = out->len;
	if (json_dump_callback(value, dump_to_buf, &ctx, JSON_COMPACT) != 0 || ctx.rc != 0) {
		if (out->ptr) {
			out->len = before;
			out->ptr[before] = '\0';
		}
		return ctx.rc ? ctx.rc : KUBE_ENOMEM;
	}
	return 0;
}

int canary_state_format(kube_buf *out, const canary_state *state)
{
	json_t *json = canary_state_to_json(state);
	if (!json)
		return KUBE_ENOMEM;
	int rc = dump_compact(out, json);
	json_decref(json);
	return rc;
}

/* --- history ----------------------------------------------------------- */

/* 0, -1 for text that is not a JSON array of objects, or KUBE_ENOMEM. */
static int history_load(json_t **out, const char *text, char *err, size_t err_size)
{
	struct reader r = {err, err_size};
	json_error_t jerr;
	json_t *runs, *item;
	size_t i;
	*out = NULL;
	if (!text || !*text) {
		*out = json_array();
		return *out ? 0 : KUBE_ENOMEM;
	}
	int rc = load_json(&runs, text, strlen(text), &jerr);
	if (rc == -1) {
		fail(&r, "not JSON: %s", jerr.text);
		clean_err(err, err_size);
	}
	if (rc)
		return rc;
	if (!json_is_array(runs)) {
		json_decref(runs);
		return fail(&r, "not a JSON array");
	}
	json_array_foreach(runs, i, item)
	{
		if (!json_is_object(item)) {
			json_decref(runs);
			return fail(&r, "entry %zu is not an object", i);
		}
	}
	*out = runs;
	return 0;
}

int canary_history_parse(json_t **out, const char *text, char *err, size_t err_size)
{
	assert(out);
	int rc = history_load(out, text, err, err_size);
	if (rc == KUBE_ENOMEM)
		fail(&(struct reader){err, err_size}, "out of memory");
	return rc ? -1 : 0;
}

/* One finished run as a history entry, reason and change cut to at most
 * cut bytes each. */
static json_t *history_entry(const canary_state *s, size_t cut)
{
	json_t *entry = json_object();
	size_t change = strnlen(s->change, sizeof(s->change)), reason = strnlen(s->reason, sizeof(s->reason));
	char change_cut[sizeof(s->change)], reason_cut[sizeof(s->reason)];
	copy_cut(change_cut, sizeof(change_cut), s->change, change < cut ? change : cut);
	copy_cut(reason_cut, sizeof(reason_cut), s->reason, reason < cut ? reason : cut);
	if (!entry || put_text(entry, "runId", s->run_id, sizeof(s->run_id)) ||
	    put_text(entry, "phase", canary_phase_name(s->phase), 16) ||
	    put_text(entry, "revision", s->revision, sizeof(s->revision)) ||
	    put_text(entry, "change", change_cut, sizeof(change_cut)) || put_int(entry, "stepIndex", s->step_index) ||
	    put_int(entry, "weight", s->weight) || put_time(entry, "startedAt", s->started_ms) ||
	    put_time(entry, "finishedAt", s->finished_ms) ||
	    put_text(entry, "startedBy", s->started_by, sizeof(s->started_by)) ||
	    put_text(entry, "reason", reason_cut, sizeof(reason_cut))) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

/* The size of value on one line, or 0 when it cannot be written. */
static size_t compact_size(const json_t *value)
{
	return json_dumpb(value, NULL, 0, JSON_COMPACT);
}

int canary_history_append(kube_buf *out, const char *old, const canary_state *finished, int *out_dropped_invalid)
{
	json_t *runs = NULL;
	char err[8];
	size_t cut = SIZE_MAX, size;
	int rc;
	assert(out && finished);
	if (out_dropped_invalid)
		*out_dropped_invalid = 0;
	rc = history_load(&runs, old, err, sizeof(err));
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc) {
		/* Not ours to keep: a history nobody can read helps nobody. */
		if (!(runs = json_array()))
			return KUBE_ENOMEM;
		if (out_dropped_invalid)
			*out_dropped_invalid = 1;
	}
	for (;;) {
		if (json_array_append_new(runs, history_entry(finished, cut))) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		while (json_array_size(runs) > CANARY_HISTORY_MAX_RUNS)
			json_array_remove(runs, 0);
		/* Oldest first, until the text fits or only this run is left. */
		while ((size = compact_size(runs)) > CANARY_HISTORY_MAX_BYTES && json_array_size(runs) > 1)
			json_array_remove(runs, 0);
		if (size == 0) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		if (size <= CANARY_HISTORY_MAX_BYTES)
			break;
		/* This run alone is too large: shorten its reason and change
		 * (the only long free text) until it fits; without them an
		 * entry is far below the limit. */
		json_array_remove(runs, 0);
		if (cut == 0) {
			rc = KUBE_ERROR; /* unreachable: the rest is bounded */
			goto done;
		}
		cut = cut == SIZE_MAX ? sizeof(finished->reason) / 2 : cut / 2;
	}
	rc = dump_compact(out, runs);
done:
	json_decref(runs);
	return rc;
}
