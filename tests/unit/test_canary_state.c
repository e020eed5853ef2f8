/* Tests of plugins/canary/state.c: the rollguard.io/canary annotation
 * (round trips, defaults, every rejection, hostile input), the history
 * annotation's limits, RFC 3339 times, and running out of memory. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "state.h"
#include "test_support.h"

#define T_START 1795498200000LL /* 2026-11-24T05:30:00Z */
#define T_STEP  1795498800000LL /* 2026-11-24T05:40:00Z */
#define T_GATES 1795499110000LL /* 2026-11-24T05:45:10Z */
#define T_END   1795499100000LL /* 2026-11-24T05:45:00Z */

/* Every field set, as a run in the middle of promoting might have them. */
static void full_state(canary_state *s)
{
	canary_state_init(s);
	s->phase = CANARY_PHASE_PROMOTING;
	s->strategy = CANARY_STRATEGY_BLUE_GREEN;
	snprintf(s->run_id, sizeof(s->run_id), "r-7f3a");
	snprintf(s->router, sizeof(s->router), "gateway");
	snprintf(s->canary_name, sizeof(s->canary_name), "web-canary");
	snprintf(s->canary_uid, sizeof(s->canary_uid), "0b1c2d3e-uid");
	snprintf(s->revision, sizeof(s->revision), "bcdfg24568");
	snprintf(s->stable_revision, sizeof(s->stable_revision), "zzxw987654");
	snprintf(s->change, sizeof(s->change), "image app=nginx:1.27");
	assert_int_equal(canary_ladder_parse(&s->ladder, "5,25,50", "10m,inf,0", NULL, 0), 0);
	s->step_index = 1;
	s->weight = 30;
	s->original_replicas = 4;
	snprintf(s->hpa, sizeof(s->hpa), "web-hpa");
	s->started_ms = T_START;
	s->step_started_ms = T_STEP;
	s->finished_ms = T_END;
	s->intent.active = 1;
	snprintf(s->intent.action, sizeof(s->intent.action), "promote");
	s->intent.from_step = 1;
	s->intent.to_step = 2;
	s->intent.to_weight = 50;
	s->intent.at_ms = T_STEP;
	s->abort_requested = 1;
	snprintf(s->abort_requested_by, sizeof(s->abort_requested_by), "bob@example.com");
	snprintf(s->reason, sizeof(s->reason), "error rate 4%% > 2%% \"quoted\"\\");
	snprintf(s->started_by, sizeof(s->started_by), "alice@example.com");
	snprintf(s->user, sizeof(s->user), "system:serviceaccount:ci:deployer");
	snprintf(s->lock_holder, sizeof(s->lock_holder), "deployer@ci/42/r-7f3a");
	s->gate_count = 2;
	snprintf(s->gates[0].name, sizeof(s->gates[0].name), "health");
	s->gates[0].verdict = CANARY_PASS;
	snprintf(s->gates[0].message, sizeof(s->gates[0].message), "2/2 canary pods Ready, no restarts");
	snprintf(s->gates[1].name, sizeof(s->gates[1].name), "error-rate");
	s->gates[1].verdict = CANARY_WAIT;
	s->gates_ms = T_GATES;
	snprintf(s->message, sizeof(s->message), "caf\xc3\xa9 \xe2\x86\x92 ok");
}

static const char full_state_text[] =
        "{\"phase\":\"Promoting\",\"strategy\":\"blue-green\",\"runId\":\"r-7f3a\",\"router\":\"gateway\","
        "\"canary\":\"web-canary\",\"canaryUid\":\"0b1c2d3e-uid\",\"revision\":\"bcdfg24568\",\"stableRevision\":"
        "\"zzxw987654\","
        "\"change\":\"image app=nginx:1.27\",\"steps\":[5,25,50,100],\"pauses\":[\"10m\",\"inf\",\"0\"],"
        "\"stepIndex\":1,\"weight\":30,\"originalReplicas\":4,\"hpa\":\"web-hpa\","
        "\"startedAt\":\"2026-11-24T05:30:00Z\",\"stepStartedAt\":\"2026-11-24T05:40:00Z\","
        "\"finishedAt\":\"2026-11-24T05:45:00Z\",\"intent\":{\"action\":\"promote\",\"fromStep\":1,\"toStep\":2,"
        "\"toWeight\":50,\"at\":\"2026-11-24T05:40:00Z\"},\"abortRequested\":{\"by\":\"bob@example.com\"},"
        "\"reason\":\"error rate 4% > 2% \\\"quoted\\\"\\\\\",\"startedBy\":\"alice@example.com\","
        "\"user\":\"system:serviceaccount:ci:deployer\",\"lockHolder\":\"deployer@ci/42/"
        "r-7f3a\",\"gates\":[{\"name\":\"health\",\"verdict\":\"PASS\","
        "\"message\":\"2/2 canary pods Ready, no restarts\"},{\"name\":\"error-rate\",\"verdict\":\"WAIT\"}],"
        "\"gatesAt\":\"2026-11-24T05:45:10Z\",\"message\":\"caf\xc3\xa9 \xe2\x86\x92 ok\"}";

static void assert_states_equal(const canary_state *a, const canary_state *b)
{
	assert_int_equal(a->phase, b->phase);
	assert_int_equal(a->strategy, b->strategy);
	assert_string_equal(a->run_id, b->run_id);
	assert_string_equal(a->router, b->router);
	assert_string_equal(a->canary_name, b->canary_name);
	assert_string_equal(a->canary_uid, b->canary_uid);
	assert_string_equal(a->lock_holder, b->lock_holder);
	assert_string_equal(a->revision, b->revision);
	assert_string_equal(a->stable_revision, b->stable_revision);
	assert_string_equal(a->change, b->change);
	assert_int_equal(a->ladder.count, b->ladder.count);
	for (int i = 0; i < a->ladder.count; i++) {
		assert_int_equal(a->ladder.steps[i], b->ladder.steps[i]);
		if (i + 1 < a->ladder.count)
			assert_int_equal(a->ladder.pauses_s[i], b->ladder.pauses_s[i]);
	}
	assert_int_equal(a->step_index, b->step_index);
	assert_int_equal(a->weight, b->weight);
	assert_int_equal(a->original_replicas, b->original_replicas);
	assert_string_equal(a->hpa, b->hpa);
	assert_int_equal(a->started_ms, b->started_ms);
	assert_int_equal(a->step_started_ms, b->step_started_ms);
	assert_int_equal(a->finished_ms, b->finished_ms);
	assert_int_equal(a->intent.active, b->intent.active);
	if (a->intent.active) {
		assert_string_equal(a->intent.action, b->intent.action);
		assert_int_equal(a->intent.from_step, b->intent.from_step);
		assert_int_equal(a->intent.to_step, b->intent.to_step);
		assert_int_equal(a->intent.to_weight, b->intent.to_weight);
		assert_int_equal(a->intent.at_ms, b->intent.at_ms);
	}
	assert_int_equal(a->abort_requested, b->abort_requested);
	assert_string_equal(a->abort_requested_by, b->abort_requested_by);
	assert_string_equal(a->reason, b->reason);
	assert_string_equal(a->started_by, b->started_by);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->gate_count, b->gate_count);
	for (int i = 0; i < a->gate_count; i++) {
		assert_string_equal(a->gates[i].name, b->gates[i].name);
		assert_int_equal(a->gates[i].verdict, b->gates[i].verdict);
		assert_string_equal(a->gates[i].message, b->gates[i].message);
	}
	assert_int_equal(a->gates_ms, b->gates_ms);
	assert_string_equal(a->message, b->message);
}

static void assert_one_line(const char *text)
{
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			fail_msg("byte 0x%02x in \"%s\"", (unsigned char)*c, text);
	}
}

static void assert_reset(const canary_state *s)
{
	assert_int_equal(s->phase, CANARY_PHASE_NONE);
	assert_int_equal(s->step_index, -1);
	assert_int_equal(s->ladder.count, 0);
	assert_string_equal(s->run_id, "");
	assert_int_equal(s->gate_count, 0);
	assert_int_equal(s->intent.active, 0);
}

static void test_canary_state__names(void **state)
{
	static const char *const names[] = {"Progressing", "Paused", "Promoting", "Succeeded", "Aborted", "Failed"};
	enum canary_phase phase;
	(void)state;
	assert_string_equal(canary_phase_name(CANARY_PHASE_NONE), "");
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(canary_phase_parse(&phase, names[i]), 0);
		assert_int_equal(phase, (enum canary_phase)(i + 1));
		assert_string_equal(canary_phase_name(phase), names[i]);
		assert_int_equal(canary_phase_active(phase), i < 3);
	}
	assert_int_equal(canary_phase_active(CANARY_PHASE_NONE), 0);
	assert_int_equal(canary_phase_parse(&phase, ""), -1);
	assert_int_equal(canary_phase_parse(&phase, "paused"), -1);
	assert_int_equal(canary_phase_parse(&phase, "Paused "), -1);
	assert_int_equal(canary_phase_parse(&phase, NULL), -1);
	assert_string_equal(canary_verdict_name(CANARY_PASS), "PASS");
	assert_string_equal(canary_verdict_name(CANARY_WAIT), "WAIT");
	assert_string_equal(canary_verdict_name(CANARY_FAIL), "FAIL");
}

static void test_canary_state__init_is_empty(void **state)
{
	canary_state s;
	(void)state;
	memset(&s, 0x5a, sizeof(s));
	canary_state_init(&s);
	assert_reset(&s);
	assert_int_equal(s.strategy, CANARY_STRATEGY_CANARY);
	assert_int_equal(s.abort_requested, 0);
	assert_int_equal(s.started_ms, 0);
	assert_string_equal(s.message, "");
}

static void test_canary_state__full_state_round_trips(void **state)
{
	canary_state s, parsed;
	kube_buf text = KUBE_BUF_INIT, again = KUBE_BUF_INIT;
	char err[256] = "";
	(void)state;
	full_state(&s);
	assert_int_equal(canary_state_format(&text, &s), 0);
	assert_string_equal(kube_buf_cstr(&text), full_state_text);
	assert_null(strchr(kube_buf_cstr(&text), '\n'));
	if (canary_state_parse(&parsed, text.ptr, text.len, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_states_equal(&parsed, &s);
	assert_int_equal(canary_state_format(&again, &parsed), 0);
	assert_string_equal(kube_buf_cstr(&again), full_state_text);
	kube_buf_dispose(&text);
	kube_buf_dispose(&again);
}

static void test_canary_state__format_appends(void **state)
{
	canary_state s;
	kube_buf text = KUBE_BUF_INIT;
	(void)state;
	full_state(&s);
	assert_int_equal(kube_buf_puts(&text, "state="), 0);
	assert_int_equal(canary_state_format(&text, &s), 0);
	assert_int_equal(strncmp(kube_buf_cstr(&text), "state={\"phase\"", 14), 0);
	/* a buffer with a limit too small is left as it was */
	kube_buf_dispose(&text);
	text.limit = 100;
	assert_int_equal(kube_buf_puts(&text, "state="), 0);
	assert_int_not_equal(canary_state_format(&text, &s), 0);
	assert_string_equal(kube_buf_cstr(&text), "state=");
	kube_buf_dispose(&text);
}

static void test_canary_state__empty_fields_are_left_out(void **state)
{
	canary_state s;
	kube_buf text = KUBE_BUF_INIT;
	(void)state;
	canary_state_init(&s);
	s.phase = CANARY_PHASE_PROGRESSING;
	assert_int_equal(canary_ladder_parse(&s.ladder, "100", NULL, NULL, 0), 0);
	s.intent.from_step = 3; /* an inactive intent is left out whatever it holds */
	assert_int_equal(canary_state_format(&text, &s), 0);
	assert_string_equal(kube_buf_cstr(&text),
	                    "{\"phase\":\"Progressing\",\"strategy\":\"canary\",\"steps\":[100],"
	                    "\"pauses\":[],\"stepIndex\":-1,\"weight\":0,\"originalReplicas\":0}");
	kube_buf_dispose(&text);
}

static void test_canary_state__defaults(void **state)
{
	static const char text[] = "{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"1m\"]}";
	canary_state s;
	char err[256] = "";
	(void)state;
	assert_int_equal(canary_state_parse(&s, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(s.phase, CANARY_PHASE_PAUSED);
	assert_int_equal(s.strategy, CANARY_STRATEGY_CANARY);
	assert_int_equal(s.ladder.count, 2);
	assert_int_equal(s.ladder.pauses_s[0], 60);
	assert_int_equal(s.step_index, -1);
	assert_int_equal(s.weight, 0);
	assert_int_equal(s.original_replicas, 0);
	assert_int_equal(s.started_ms, 0);
	assert_int_equal(s.finished_ms, 0);
	assert_int_equal(s.intent.active, 0);
	assert_int_equal(s.abort_requested, 0);
	assert_int_equal(s.gate_count, 0);
	assert_string_equal(s.run_id, "");
	assert_string_equal(s.reason, "");
}

static void test_canary_state__nulls_and_unknown_fields_are_ignored(void **state)
{
	static const char text[] =
	        "{\"phase\":\"Aborted\",\"future\":{\"x\":[1,2,{\"y\":null}]},\"steps\":[10,50],"
	        "\"pauses\":[\"inf\"],\"runId\":null,\"stepIndex\":null,\"intent\":null,\"abortRequested\":null,"
	        "\"gates\":[{\"name\":\"health\",\"verdict\":\"FAIL\",\"extra\":true}],\"apiVersion\":\"v2\","
	        "\"strategy\":null,\"reason\":\"pods crash\"}";
	canary_state s;
	char err[256] = "";
	(void)state;
	if (canary_state_parse(&s, text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.phase, CANARY_PHASE_ABORTED);
	assert_int_equal(s.ladder.count, 3);
	assert_int_equal(s.ladder.steps[2], 100); /* appended, as --steps does */
	assert_int_equal(s.ladder.pauses_s[0], CANARY_PAUSE_INDEFINITE);
	assert_int_equal(s.ladder.pauses_s[1], CANARY_PAUSE_INDEFINITE);
	assert_int_equal(s.step_index, -1);
	assert_int_equal(s.intent.active, 0);
	assert_int_equal(s.abort_requested, 0);
	assert_int_equal(s.gate_count, 1);
	assert_int_equal(s.gates[0].verdict, CANARY_FAIL);
	assert_string_equal(s.reason, "pods crash");
}

static void test_canary_state__parses_hand_written_variants(void **state)
{
	/* What a person editing the annotation might write. */
	static const char text[] =
	        "{ \"phase\": \"Progressing\", \"strategy\": \"canary\", \"steps\": [5, 25, 50, 100],\n"
	        "  \"pauses\": [\"1m\"], \"stepIndex\": 0, \"weight\": 5,\n"
	        "  \"startedAt\": \"2026-11-24T07:30:00.123456+02:00\", \"abortRequested\": {},\n"
	        "  \"intent\": {\"action\": \"start\"} }";
	canary_state s;
	char err[256] = "";
	(void)state;
	if (canary_state_parse(&s, text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.ladder.count, 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.ladder.pauses_s[i], 60); /* one pause for all */
	assert_int_equal(s.started_ms, T_START);
	assert_int_equal(s.abort_requested, 1);
	assert_string_equal(s.abort_requested_by, "");
	assert_int_equal(s.intent.active, 1);
	assert_string_equal(s.intent.action, "start");
	assert_int_equal(s.intent.from_step, -1);
	assert_int_equal(s.intent.to_step, -1);
}

static const struct {
	const char *text;
	const char *needle;
} rejections[] = {
        {"", "empty"},
        {"nope", "not JSON: "},
        {"{\"phase\":\"Paused\"", "not JSON: "},
        {"{\"phase\":\"Paused\"} trailing", "not JSON: "},
        {"{\"phase\":\"\xff\"}", "not JSON: "},
        {"{\"phase\":\"a\\u0000b\"}", "not JSON: "},
        {"[1]", "not a JSON object"},
        {"{}", "phase: missing"},
        {"{\"phase\":null}", "phase: missing"},
        {"{\"phase\":3}", "phase: not a string"},
        {"{\"phase\":\"Running\"}", "phase: unknown \"Running\""},
        {"{\"phase\":\"\"}", "phase: unknown \"\""},
        {"{\"phase\":\"paused\"}", "phase: unknown \"paused\""},
        {"{\"phase\":\"Paused\\n\\tx\"}", "phase: unknown \"Paused??x\""},
        {"{\"phase\":\"Paused\"}", "steps: missing"},
        {"{\"phase\":\"Paused\",\"steps\":\"5,100\"}", "steps: not a list of weights"},
        {"{\"phase\":\"Paused\",\"steps\":[]}", "steps: not a list of weights"},
        {"{\"phase\":\"Paused\",\"steps\":[0,100]}", "steps[0]: not a weight from 1 to 100"},
        {"{\"phase\":\"Paused\",\"steps\":[5,101]}", "steps[1]: not a weight from 1 to 100"},
        {"{\"phase\":\"Paused\",\"steps\":[5,\"25\"]}", "steps[1]: not a weight from 1 to 100"},
        {"{\"phase\":\"Paused\",\"steps\":[5.0,100]}", "steps[0]: not a weight from 1 to 100"},
        {"{\"phase\":\"Paused\",\"steps\":[-9223372036854775808]}", "steps[0]: not a weight"},
        {"{\"phase\":\"Paused\",\"steps\":[50,25],\"pauses\":[\"1m\"]}",
         "ladder: --steps: 25 after 50: weights must increase"},
        {"{\"phase\":\"Paused\",\"steps\":[50,50]}", "steps: --steps: 50 after 50"},
        {"{\"phase\":\"Paused\",\"steps\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
         "28,29,30,31,32,100]}",
         "steps: more than 32"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":\"1m\"}", "pauses: not a list of at most 32 durations"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[60]}", "pauses[0]: not a duration"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"1m,2m\"]}", "pauses[0]: not a duration"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"111111111111111111111111111111111s\"]}",
         "pauses[0]: not a duration"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"soon\"]}",
         "ladder: --pause: \"soon\" is not a duration"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"-1m\"]}", "ladder: --pause: \"-1m\""},
        {"{\"phase\":\"Paused\",\"steps\":[5,100]}", "pauses: missing"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[]}", "pauses: missing"},
        {"{\"phase\":\"Paused\",\"steps\":[5,25,100],\"pauses\":[\"1m\",\"1m\",\"1m\"]}",
         "ladder: --pause: 3 values for 3 steps"},
        {"{\"phase\":\"Paused\",\"strategy\":\"red\",\"steps\":[100]}", "strategy: not canary or blue-green"},
        {"{\"phase\":\"Paused\",\"strategy\":1,\"steps\":[100]}", "strategy: not canary or blue-green"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"runId\":5}", "runId: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"router\":[]}", "router: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"canary\":{}}", "canary: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"revision\":true}", "revision: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"stableRevision\":1}", "stableRevision: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"change\":1}", "change: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"hpa\":1}", "hpa: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"stepIndex\":\"0\"}", "stepIndex: not a whole number"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"stepIndex\":0.5}", "stepIndex: not a whole number"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"0\"],\"stepIndex\":2}",
         "stepIndex: 2 is out of range (-1 to 1)"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"stepIndex\":-2}", "stepIndex: -2 is out of range (-1 to 0)"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"weight\":101}", "weight: 101 is out of range (0 to 100)"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"weight\":-1}", "weight: -1 is out of range"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"weight\":4294967346}", "weight: 4294967346 is out of range"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"originalReplicas\":-1}", "originalReplicas: -1 is out of range"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"originalReplicas\":2147483648}",
         "originalReplicas: 2147483648 is out of range (0 to 2147483647)"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"originalReplicas\":99999999999999999999}", "not JSON: "},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"startedAt\":\"yesterday\"}", "startedAt: not an RFC 3339 time"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"startedAt\":1795498200}", "startedAt: not an RFC 3339 time"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"stepStartedAt\":\"2026-02-30T00:00:00Z\"}",
         "stepStartedAt: not an RFC 3339 time"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"finishedAt\":\"2026-11-24\"}", "finishedAt: not an RFC 3339"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":\"promote\"}", "intent: not an object"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":{\"action\":1}}", "intent.action: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[5,100],\"pauses\":[\"0\"],\"intent\":{\"fromStep\":2}}",
         "intent.fromStep: 2 is out of range (-1 to 1)"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":{\"toStep\":-2}}", "intent.toStep: -2 is out of range"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":{\"toWeight\":101}}", "intent.toWeight: 101 is out"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":{\"toWeight\":\"5\"}}",
         "intent.toWeight: not a whole number"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"intent\":{\"at\":\"now\"}}", "intent.at: not an RFC 3339 time"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"abortRequested\":true}", "abortRequested: not an object"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"abortRequested\":{\"by\":7}}", "abortRequested.by: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"reason\":[\"x\"]}", "reason: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"startedBy\":1}", "startedBy: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"user\":false}", "user: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":{}}", "gates: not a list"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[1]}", "gates[0]: not an object"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"verdict\":\"PASS\"},{\"name\":\"h\"}]}",
         "gates[1].verdict: not PASS, WAIT or FAIL"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"verdict\":\"pass\"}]}",
         "gates[0].verdict: not PASS, WAIT or FAIL"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"verdict\":1}]}", "gates[0].verdict: not PASS"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"verdict\":\"PASS\",\"name\":2}]}",
         "gates[0].name: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gates\":[{\"verdict\":\"PASS\",\"message\":{}}]}",
         "gates[0].message: not a string"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"gatesAt\":\"x\"}", "gatesAt: not an RFC 3339 time"},
        {"{\"phase\":\"Paused\",\"steps\":[100],\"message\":1}", "message: not a string"},
};

static void test_canary_state__rejects_what_is_not_a_state(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejections) / sizeof(rejections[0]); i++) {
		canary_state s;
		char err[256] = "";
		full_state(&s); /* whatever was there before is reset */
		int rc = canary_state_parse(&s, rejections[i].text, strlen(rejections[i].text), err, sizeof(err));
		if (rc != -1)
			fail_msg("case %zu (%s) was accepted", i, rejections[i].text);
		if (!strstr(err, rejections[i].needle))
			fail_msg("case %zu: \"%s\" does not hold \"%s\"", i, err, rejections[i].needle);
		assert_one_line(err);
		assert_reset(&s);
	}
}

static void test_canary_state__rejects_hostile_input(void **state)
{
	canary_state s;
	char err[256] = "";
	size_t depth = 100000, len = 0;
	char *text = malloc(2 * depth + 1);
	(void)state;
	assert_non_null(text);
	/* nesting far deeper than any parser stack should take */
	for (size_t i = 0; i < depth; i++)
		text[len++] = '[';
	for (size_t i = 0; i < depth; i++)
		text[len++] = ']';
	text[len] = '\0';
	assert_int_equal(canary_state_parse(&s, text, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON: "));
	/* NUL bytes inside the length, and a length that stops early */
	assert_int_equal(canary_state_parse(&s, "{\"phase\"\0:1}", 12, err, sizeof(err)), -1);
	assert_one_line(err);
	assert_int_equal(canary_state_parse(&s, full_state_text, 40, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON: "));
	assert_int_equal(canary_state_parse(&s, NULL, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "empty");
	/* no room for a reason at all */
	assert_int_equal(canary_state_parse(&s, "{}", 2, NULL, 0), -1);
	free(text);
}

static void test_canary_state__cuts_oversize_strings(void **state)
{
	canary_state s;
	kube_buf text = KUBE_BUF_INIT, json = KUBE_BUF_INIT;
	char err[256] = "";
	(void)state;
	assert_int_equal(kube_buf_puts(&json, "{\"phase\":\"Failed\",\"steps\":[100],\"runId\":\""), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(kube_buf_puts(&json, "r"), 0);
	/* 300 two-byte characters: 512 bytes end in the middle of one */
	assert_int_equal(kube_buf_puts(&json, "\",\"change\":\""), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(kube_buf_puts(&json, "\xc3\xa9"), 0);
	/* a three-byte character across the boundary of gate names (32) */
	assert_int_equal(kube_buf_puts(&json, "\",\"gates\":["), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(kube_buf_printf(&json,
		                                 "%s{\"name\":\"gate-%d-x\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92"
		                                 "\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92"
		                                 "\xe2\x86\x92\",\"verdict\":\"PASS\"}",
		                                 i ? "," : "", i),
		                 0);
	assert_int_equal(kube_buf_puts(&json, "]}"), 0);
	if (canary_state_parse(&s, json.ptr, json.len, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(strlen(s.run_id), sizeof(s.run_id) - 1);
	assert_int_equal(strlen(s.change), 510); /* 255 whole characters */
	assert_int_equal((unsigned char)s.change[508], 0xc3);
	assert_int_equal(s.gate_count, CANARY_MAX_GATES); /* the first 8 of 10 */
	/* 8 + 9 * 3 bytes cut to 31 would end inside the eighth arrow */
	assert_string_equal(s.gates[7].name, "gate-7-x\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92\xe2\x86\x92"
	                                     "\xe2\x86\x92\xe2\x86\x92");
	/* and what was cut formats and parses again */
	assert_int_equal(canary_state_format(&text, &s), 0);
	canary_state again;
	assert_int_equal(canary_state_parse(&again, text.ptr, text.len, err, sizeof(err)), 0);
	assert_states_equal(&again, &s);
	kube_buf_dispose(&text);
	kube_buf_dispose(&json);
}

static void test_canary_state__format_replaces_bytes_that_are_not_utf8(void **state)
{
	canary_state s, again;
	kube_buf text = KUBE_BUF_INIT;
	char err[256] = "";
	(void)state;
	canary_state_init(&s);
	s.phase = CANARY_PHASE_ABORTED;
	assert_int_equal(canary_ladder_parse(&s.ladder, "100", NULL, NULL, 0), 0);
	/* --reason from argv in a Latin-1 terminal, a lone continuation byte,
	 * an overlong '/', and a UTF-16 surrogate */
	snprintf(s.reason, sizeof(s.reason), "caf\xe9 \x80 \xc0\xaf \xed\xa0\x80 ok \xc3\xa9");
	assert_int_equal(canary_state_format(&text, &s), 0);
	assert_int_equal(canary_state_parse(&again, text.ptr, text.len, err, sizeof(err)), 0);
	assert_string_equal(again.reason, "caf? ? ?? ??? ok \xc3\xa9");
	kube_buf_dispose(&text);
}

/* --- history ----------------------------------------------------------- */

static void finished_run(canary_state *s, const char *run_id, const char *reason)
{
	canary_state_init(s);
	s->phase = CANARY_PHASE_ABORTED;
	snprintf(s->run_id, sizeof(s->run_id), "%s", run_id);
	snprintf(s->revision, sizeof(s->revision), "bcdfg24568");
	snprintf(s->change, sizeof(s->change), "image app=nginx:1.27");
	assert_int_equal(canary_ladder_parse(&s->ladder, NULL, NULL, NULL, 0), 0);
	s->step_index = 1;
	s->weight = 25;
	s->started_ms = T_START;
	s->finished_ms = T_END;
	snprintf(s->started_by, sizeof(s->started_by), "alice");
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	/* not part of a history entry */
	snprintf(s->user, sizeof(s->user), "bob");
	s->gate_count = 1;
}

static const char run_entry_text[] =
        "{\"runId\":\"r1\",\"phase\":\"Aborted\",\"revision\":\"bcdfg24568\",\"change\":\"image app=nginx:1.27\","
        "\"stepIndex\":1,\"weight\":25,\"startedAt\":\"2026-11-24T05:30:00Z\",\"finishedAt\":"
        "\"2026-11-24T05:45:00Z\",\"startedBy\":\"alice\",\"reason\":\"gate failed\"}";

static json_t *history_of(const char *text)
{
	json_t *runs = NULL;
	char err[256] = "";
	if (canary_history_parse(&runs, text, err, sizeof(err)) != 0)
		fail_msg("history does not parse: %s", err);
	return runs;
}

static const char *run_id_at(const json_t *runs, size_t i)
{
	return json_string_value(json_object_get(json_array_get(runs, i), "runId"));
}

static void test_canary_state__history_starts_with_one_run(void **state)
{
	static const char *const olds[] = {NULL, ""};
	canary_state s;
	(void)state;
	finished_run(&s, "r1", "gate failed");
	for (size_t i = 0; i < 2; i++) {
		kube_buf out = KUBE_BUF_INIT;
		int dropped = -1;
		assert_int_equal(canary_history_append(&out, olds[i], &s, &dropped), 0);
		assert_int_equal(dropped, 0);
		assert_int_equal(out.len, strlen(run_entry_text) + 2);
		assert_int_equal(out.ptr[0], '[');
		assert_memory_equal(out.ptr + 1, run_entry_text, strlen(run_entry_text));
		assert_string_equal(out.ptr + 1 + strlen(run_entry_text), "]");
		kube_buf_dispose(&out);
	}
}

static void test_canary_state__history_appends_newest_last(void **state)
{
	static const char old[] = "[{\"runId\":\"r0\",\"phase\":\"Succeeded\",\"note\":\"kept as is\"}]";
	canary_state s;
	kube_buf out = KUBE_BUF_INIT;
	int dropped = -1;
	(void)state;
	finished_run(&s, "r1", "gate failed");
	assert_int_equal(canary_history_append(&out, old, &s, &dropped), 0);
	assert_int_equal(dropped, 0);
	json_t *runs = history_of(kube_buf_cstr(&out));
	assert_int_equal(json_array_size(runs), 2);
	assert_string_equal(run_id_at(runs, 0), "r0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "note")), "kept as is");
	assert_string_equal(run_id_at(runs, 1), "r1");
	json_decref(runs);
	/* and dropped may be NULL */
	kube_buf_clear(&out);
	assert_int_equal(canary_history_append(&out, old, &s, NULL), 0);
	kube_buf_dispose(&out);
}

static void test_canary_state__history_keeps_the_last_ten(void **state)
{
	canary_state s;
	kube_buf old = KUBE_BUF_INIT, out = KUBE_BUF_INIT;
	(void)state;
	assert_int_equal(kube_buf_puts(&old, "["), 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(kube_buf_printf(&old, "%s{\"runId\":\"old-%d\"}", i ? "," : "", i), 0);
	assert_int_equal(kube_buf_puts(&old, "]"), 0);
	finished_run(&s, "new", "");
	assert_int_equal(canary_history_append(&out, kube_buf_cstr(&old), &s, NULL), 0);
	json_t *runs = history_of(kube_buf_cstr(&out));
	assert_int_equal(json_array_size(runs), CANARY_HISTORY_MAX_RUNS);
	assert_string_equal(run_id_at(runs, 0), "old-3");
	assert_string_equal(run_id_at(runs, 8), "old-11");
	assert_string_equal(run_id_at(runs, 9), "new");
	assert_null(json_object_get(json_array_get(runs, 9), "reason")); /* empty: left out */
	json_decref(runs);
	kube_buf_dispose(&old);
	kube_buf_dispose(&out);
}

static void test_canary_state__history_keeps_under_8_kib(void **state)
{
	canary_state s;
	kube_buf old = KUBE_BUF_INIT, out = KUBE_BUF_INIT;
	char reason[501];
	(void)state;
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	/* nine runs of about 1.2 KiB each: only the newest few fit */
	assert_int_equal(kube_buf_puts(&old, "["), 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(kube_buf_printf(&old, "%s{\"runId\":\"old-%d\",\"reason\":\"%s%s\"}", i ? "," : "", i,
		                                 reason, reason),
		                 0);
	assert_int_equal(kube_buf_puts(&old, "]"), 0);
	finished_run(&s, "new", reason);
	assert_int_equal(canary_history_append(&out, kube_buf_cstr(&old), &s, NULL), 0);
	assert_true(out.len <= CANARY_HISTORY_MAX_BYTES);
	json_t *runs = history_of(kube_buf_cstr(&out));
	size_t count = json_array_size(runs);
	/* as many as fit: the next older one would not */
	assert_int_equal(count, 8);
	assert_string_equal(run_id_at(runs, 0), "old-2");
	assert_true(out.len + strlen(",{\"runId\":\"old-1\",\"reason\":\"\"}") + 2 * strlen(reason) >
	            CANARY_HISTORY_MAX_BYTES);
	assert_string_equal(run_id_at(runs, count - 1), "new");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, count - 1), "reason")), reason);
	json_decref(runs);
	kube_buf_dispose(&old);
	kube_buf_dispose(&out);
}

static void test_canary_state__history_cuts_a_run_too_large_alone(void **state)
{
	canary_state s;
	kube_buf out = KUBE_BUF_INIT;
	(void)state;
	finished_run(&s, "big", "");
	/* control characters take six bytes each in JSON: \u0001 */
	memset(s.reason, '\x01', sizeof(s.reason) - 1);
	memset(s.change, '\x02', sizeof(s.change) - 1);
	memset(s.started_by, '\x03', sizeof(s.started_by) - 1);
	memset(s.run_id, '\x04', sizeof(s.run_id) - 1);
	assert_int_equal(canary_history_append(&out, "[{\"runId\":\"old\"}]", &s, NULL), 0);
	assert_true(out.len <= CANARY_HISTORY_MAX_BYTES);
	json_t *runs = history_of(kube_buf_cstr(&out));
	assert_int_equal(json_array_size(runs), 1);
	const json_t *entry = json_array_get(runs, 0);
	const char *reason = json_string_value(json_object_get(entry, "reason"));
	const char *change = json_string_value(json_object_get(entry, "change"));
	assert_non_null(reason);
	assert_non_null(change);
	assert_true(strlen(reason) > 0 && strlen(reason) < sizeof(s.reason) - 1);
	assert_true(strlen(change) > 0 && strlen(change) < sizeof(s.change) - 1);
	/* the rest of the entry is whole */
	assert_int_equal(json_string_length(json_object_get(entry, "runId")), sizeof(s.run_id) - 1);
	assert_int_equal(json_string_length(json_object_get(entry, "startedBy")), sizeof(s.started_by) - 1);
	json_decref(runs);
	kube_buf_dispose(&out);
}

static void test_canary_state__history_replaces_invalid_text(void **state)
{
	static const char *const invalid[] = {"garbage", "{\"runId\":\"r0\"}", "[1,2]", "[{},3]", "[{}",
	                                      "\"[]\"",  "[{\"a\":\"\xff\"}]", "null"};
	canary_state s;
	(void)state;
	finished_run(&s, "r1", "gate failed");
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		kube_buf out = KUBE_BUF_INIT;
		int dropped = 0;
		assert_int_equal(canary_history_append(&out, invalid[i], &s, &dropped), 0);
		if (dropped != 1)
			fail_msg("case %zu (%s) was not reported as dropped", i, invalid[i]);
		json_t *runs = history_of(kube_buf_cstr(&out));
		assert_int_equal(json_array_size(runs), 1);
		assert_string_equal(run_id_at(runs, 0), "r1");
		json_decref(runs);
		kube_buf_dispose(&out);
	}
}

static void test_canary_state__history_parse(void **state)
{
	static const struct {
		const char *text, *needle;
	} invalid[] = {
	        {"garbage", "not JSON: "}, {"{}", "not a JSON array"}, {"[{},\"x\"]", "entry 1 is not an object"},
	        {"[{}]\n[", "not JSON: "}, {"[\"\n", "not JSON: "},
	};
	json_t *runs = NULL;
	char err[256];
	(void)state;
	assert_int_equal(canary_history_parse(&runs, "[{\"runId\":\"a\"},{}]", err, sizeof(err)), 0);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
	assert_int_equal(canary_history_parse(&runs, NULL, err, sizeof(err)), 0);
	assert_true(json_is_array(runs) && json_array_size(runs) == 0);
	json_decref(runs);
	assert_int_equal(canary_history_parse(&runs, "", err, sizeof(err)), 0);
	assert_int_equal(json_array_size(runs), 0);
	json_decref(runs);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		runs = (json_t *)1;
		err[0] = '\0';
		assert_int_equal(canary_history_parse(&runs, invalid[i].text, err, sizeof(err)), -1);
		assert_null(runs);
		if (!strstr(err, invalid[i].needle))
			fail_msg("case %zu: \"%s\" does not hold \"%s\"", i, err, invalid[i].needle);
		assert_one_line(err);
	}
}

/* --- time -------------------------------------------------------------- */

static void test_canary_state__time_format(void **state)
{
	static const struct {
		long long ms;
		const char *text;
	} cases[] = {
	        {0, "1970-01-01T00:00:00Z"},
	        {1500, "1970-01-01T00:00:01Z"},
	        {-1, "1969-12-31T23:59:59Z"},
	        {-1000, "1969-12-31T23:59:59Z"},
	        {-1001, "1969-12-31T23:59:58Z"},
	        {1795498800000LL, "2026-11-24T05:40:00Z"},
	        {1795498800999LL, "2026-11-24T05:40:00Z"},
	        {1709208000000LL, "2024-02-29T12:00:00Z"},
	        {253402300799000LL, "9999-12-31T23:59:59Z"},
	        {-62135596800000LL, "0001-01-01T00:00:00Z"},
	        /* beyond what four digits of year can say */
	        {253402300800000LL, ""},
	        {LLONG_MAX, ""},
	        {LLONG_MIN, ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[32];
		memset(text, 'x', sizeof(text));
		canary_time_format(text, sizeof(text), cases[i].ms);
		if (strcmp(text, cases[i].text) != 0)
			fail_msg("case %zu: %lld gave \"%s\", want \"%s\"", i, cases[i].ms, text, cases[i].text);
	}
	char small[11];
	canary_time_format(small, sizeof(small), 1795498800000LL);
	assert_string_equal(small, "2026-11-24");
}

static void test_canary_state__time_parse(void **state)
{
	static const struct {
		const char *text;
		long long ms;
	} valid[] = {
	        {"1970-01-01T00:00:00Z", 0},
	        {"2026-11-24T05:40:00Z", 1795498800000LL},
	        {"2026-11-24t05:40:00z", 1795498800000LL},
	        {"2026-11-24T05:40:00.5Z", 1795498800000LL},
	        {"2026-11-24T05:40:00.999999999Z", 1795498800000LL},
	        {"2026-11-24T07:40:00+02:00", 1795498800000LL},
	        {"2026-11-24T00:10:00-05:30", 1795498800000LL},
	        {"2026-11-24T05:40:00.123+00:00", 1795498800000LL},
	        {"2024-02-29T12:00:00Z", 1709208000000LL},
	        {"2000-02-29T00:00:00Z", 951782400000LL},
	        {"1969-12-31T23:59:59Z", -1000},
	        {"0001-01-01T00:00:00Z", -62135596800000LL},
	        {"9999-12-31T23:59:59Z", 253402300799000LL},
	        /* a leap second is the next minute's first */
	        {"2016-12-31T23:59:60Z", 1483228800000LL},
	};
	static const char *const invalid[] = {
	        "",
	        "2026-11-24",
	        "2026-11-24T05:40Z",
	        "2026-11-24 05:40:00Z",
	        "2026-11-24T05:40:00",
	        "2026-11-24T05:40:00Zjunk",
	        "2026-11-24T05:40:00.Z",
	        "2026-11-24T05:40:00+0200",
	        "2026-11-24T05:40:00+24:00",
	        "2026-11-24T05:40:00+02:60",
	        "2026-13-01T00:00:00Z",
	        "2026-00-01T00:00:00Z",
	        "2026-11-00T00:00:00Z",
	        "2026-11-31T00:00:00Z",
	        "2026-02-29T00:00:00Z",
	        "1900-02-29T00:00:00Z",
	        "2026-11-24T24:00:00Z",
	        "2026-11-24T05:60:00Z",
	        "2026-11-24T05:40:61Z",
	        "+2026-11-24T05:40:00Z",
	        " 2026-11-24T05:40:00Z",
	        "2026-1-24T05:40:00Z",
	        "2026-11-24T5:40:00Z",
	        "20261-11-24T05:40:00Z",
	        "2026-11-24T05:40:00 Z",
	        "2026-11-24T05:40:-1Z",
	        "yesterday",
	};
	long long ms;
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		ms = 42;
		if (canary_time_parse(&ms, valid[i].text) != 0)
			fail_msg("case %zu (%s) was refused", i, valid[i].text);
		if (ms != valid[i].ms)
			fail_msg("case %zu (%s) gave %lld, want %lld", i, valid[i].text, ms, valid[i].ms);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		if (canary_time_parse(&ms, invalid[i]) != -1)
			fail_msg("case %zu (%s) was accepted", i, invalid[i]);
	}
	assert_int_equal(canary_time_parse(&ms, NULL), -1);
}

static void test_canary_state__time_round_trips(void **state)
{
	(void)state;
	/* every few hours across four centuries, leap years included */
	for (long long ms = -2208988800000LL; ms < 10413792000000LL; ms += 7777777000LL) {
		char text[32];
		long long back = 0;
		canary_time_format(text, sizeof(text), ms);
		assert_int_equal(canary_time_parse(&back, text), 0);
		assert_int_equal(back, ms);
	}
}

/* --- running out of memory ------------------------------------------- */

static void test_canary_state__to_json_when_memory_runs_out(void **state)
{
	canary_state s;
	(void)state;
	full_state(&s);
	for (long n = 1;; n++) {
		test_alloc_fail_at(n);
		json_t *json = canary_state_to_json(&s);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (json) {
			assert_true(used < n);
			char *text = json_dumps(json, JSON_COMPACT);
			assert_non_null(text);
			assert_string_equal(text, full_state_text);
			free(text);
			json_decref(json);
			break;
		}
		assert_true(n < 100000);
	}
}

static void test_canary_state__format_when_memory_runs_out(void **state)
{
	canary_state s;
	(void)state;
	full_state(&s);
	for (long n = 1;; n++) {
		kube_buf out = KUBE_BUF_INIT;
		test_alloc_fail_at(n);
		int rc = canary_state_format(&out, &s);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_true(used < n);
			assert_string_equal(kube_buf_cstr(&out), full_state_text);
			kube_buf_dispose(&out);
			break;
		}
		assert_int_equal(rc, KUBE_ENOMEM);
		assert_int_equal(out.len, 0);
		kube_buf_dispose(&out);
		assert_true(n < 100000);
	}
}

static void test_canary_state__history_append_when_memory_runs_out(void **state)
{
	/* short strings: jansson's lexer drops a byte when growing its token
	 * buffer fails (strbuffer_append_byte's result is ignored), so a
	 * token past its 16-byte start could come back changed */
	static const char old[] = "[{\"runId\":\"r0\",\"n\":1},{\"runId\":\"r\"}]";
	canary_state s;
	kube_buf expected = KUBE_BUF_INIT;
	(void)state;
	finished_run(&s, "r1", "gate failed");
	assert_int_equal(canary_history_append(&expected, old, &s, NULL), 0);
	for (long n = 1;; n++) {
		kube_buf out = KUBE_BUF_INIT;
		int dropped = -1;
		test_alloc_fail_at(n);
		int rc = canary_history_append(&out, old, &s, &dropped);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		/* a lack of memory never passes for an invalid history */
		assert_int_equal(dropped, 0);
		if (rc == 0) {
			assert_string_equal(kube_buf_cstr(&out), kube_buf_cstr(&expected));
			kube_buf_dispose(&out);
			if (used < n)
				break;
			continue; /* the failed allocation was retried */
		}
		assert_int_equal(rc, KUBE_ENOMEM);
		assert_int_equal(out.len, 0);
		kube_buf_dispose(&out);
		assert_true(n < 100000);
	}
	kube_buf_dispose(&expected);
}

static void test_canary_state__parse_when_memory_runs_out(void **state)
{
	/* Every token shorter than 16 bytes, for the reason given above: a
	 * longer one can make jansson itself abort (load.c lex_scan_string's
	 * assert) when the byte it dropped was part of an escape. */
	static const char text[] = "{\"phase\":\"Paused\",\"strategy\":\"canary\",\"steps\":[5,25,100],"
	                           "\"pauses\":[\"1m\",\"inf\"],\"runId\":\"r1\",\"stepIndex\":1,\"weight\":25,"
	                           "\"intent\":{\"action\":\"promote\",\"toStep\":2,\"toWeight\":100},"
	                           "\"gates\":[{\"name\":\"health\",\"verdict\":\"PASS\"}],\"future\":[1,{}]}";
	canary_state expected, parsed;
	char err[256] = "";
	(void)state;
	assert_int_equal(canary_state_parse(&expected, text, strlen(text), err, sizeof(err)), 0);
	for (long n = 1;; n++) {
		test_alloc_fail_at(n);
		int rc = canary_state_parse(&parsed, text, strlen(text), err, sizeof(err));
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_states_equal(&parsed, &expected);
			if (used < n)
				break;
			continue; /* the failed allocation was retried */
		}
		/* refused with a reason, and nothing half-read handed back */
		assert_int_equal(rc, -1);
		assert_string_equal(err, "out of memory");
		assert_reset(&parsed);
		assert_true(n < 100000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_state__names),
	        cmocka_unit_test(test_canary_state__init_is_empty),
	        cmocka_unit_test(test_canary_state__full_state_round_trips),
	        cmocka_unit_test(test_canary_state__format_appends),
	        cmocka_unit_test(test_canary_state__empty_fields_are_left_out),
	        cmocka_unit_test(test_canary_state__defaults),
	        cmocka_unit_test(test_canary_state__nulls_and_unknown_fields_are_ignored),
	        cmocka_unit_test(test_canary_state__parses_hand_written_variants),
	        cmocka_unit_test(test_canary_state__rejects_what_is_not_a_state),
	        cmocka_unit_test(test_canary_state__rejects_hostile_input),
	        cmocka_unit_test(test_canary_state__cuts_oversize_strings),
	        cmocka_unit_test(test_canary_state__format_replaces_bytes_that_are_not_utf8),
	        cmocka_unit_test(test_canary_state__history_starts_with_one_run),
	        cmocka_unit_test(test_canary_state__history_appends_newest_last),
	        cmocka_unit_test(test_canary_state__history_keeps_the_last_ten),
	        cmocka_unit_test(test_canary_state__history_keeps_under_8_kib),
	        cmocka_unit_test(test_canary_state__history_cuts_a_run_too_large_alone),
	        cmocka_unit_test(test_canary_state__history_replaces_invalid_text),
	        cmocka_unit_test(test_canary_state__history_parse),
	        cmocka_unit_test(test_canary_state__time_format),
	        cmocka_unit_test(test_canary_state__time_parse),
	        cmocka_unit_test(test_canary_state__time_round_trips),
	        cmocka_unit_test(test_canary_state__to_json_when_memory_runs_out),
	        cmocka_unit_test(test_canary_state__format_when_memory_runs_out),
	        cmocka_unit_test(test_canary_state__history_append_when_memory_runs_out),
	        cmocka_unit_test(test_canary_state__parse_when_memory_runs_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
