/* libFuzzer target for kubectl canary's annotations, which anyone who may
 * edit the Deployment may write: the state parser must refuse with one
 * printable line or yield a state that formats and parses back to the same
 * text; the history parser and append must keep their limits whatever the
 * old text held. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kube/buf.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reason(const char *err)
{
	if (!err[0])
		abort(); /* a refusal always says why */
	for (const char *c = err; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	}
}

/* A finished run to append when the input is no state itself. */
static void finished_run(canary_state *s)
{
	canary_state_init(s);
	s->phase = CANARY_PHASE_SUCCEEDED;
	memcpy(s->run_id, "fuzz", 5);
	s->step_index = 0;
	s->weight = 100;
	s->started_ms = 1795498200000LL;
	s->finished_ms = 1795499100000LL;
}

static void check_state(const uint8_t *data, size_t size, canary_state *out_state)
{
	canary_state again;
	kube_buf text = KUBE_BUF_INIT, text_again = KUBE_BUF_INIT;
	char err[256] = "";
	int rc = canary_state_parse(out_state, (const char *)data, size, err, sizeof(err));
	if (rc != 0) {
		if (rc != -1 || out_state->phase != CANARY_PHASE_NONE || out_state->ladder.count != 0)
			abort(); /* nothing half-read */
		check_reason(err);
		return;
	}
	if (!canary_phase_name(out_state->phase)[0] || out_state->ladder.count < 1 ||
	    out_state->ladder.steps[out_state->ladder.count - 1] != 100 ||
	    out_state->step_index >= out_state->ladder.count || out_state->weight < 0 || out_state->weight > 100)
		abort();
	if (canary_state_format(&text, out_state) != 0 || memchr(text.ptr, '\n', text.len))
		abort();
	if (canary_state_parse(&again, text.ptr, text.len, err, sizeof(err)) != 0)
		abort(); /* what we wrote, we read */
	if (canary_state_format(&text_again, &again) != 0 || text_again.len != text.len ||
	    memcmp(text_again.ptr, text.ptr, text.len) != 0)
		abort();
	kube_buf_dispose(&text);
	kube_buf_dispose(&text_again);
}

static void check_history(const char *old, const canary_state *finished)
{
	json_t *runs = NULL, *appended = NULL;
	kube_buf out = KUBE_BUF_INIT;
	char err[256] = "";
	int dropped = -1;
	int parsed = canary_history_parse(&runs, old, err, sizeof(err));
	if (parsed == 0 && !json_is_array(runs))
		abort();
	if (parsed != 0) {
		if (parsed != -1 || runs)
			abort();
		check_reason(err);
	}
	if (canary_history_append(&out, old, finished, &dropped) != 0)
		abort();
	if (dropped != (parsed != 0) || out.len > CANARY_HISTORY_MAX_BYTES)
		abort();
	if (canary_history_parse(&appended, out.ptr, err, sizeof(err)) != 0)
		abort();
	size_t count = json_array_size(appended);
	if (count < 1 || count > CANARY_HISTORY_MAX_RUNS)
		abort();
	/* newest last, and before it the newest of the old runs, unchanged */
	const char *run_id = json_string_value(json_object_get(json_array_get(appended, count - 1), "runId"));
	if (finished->run_id[0] && (!run_id || strncmp(run_id, finished->run_id, sizeof(finished->run_id)) != 0))
		abort();
	if (parsed == 0) {
		size_t old_count = json_array_size(runs);
		if (count - 1 > old_count)
			abort();
		for (size_t i = 0; i + 1 < count; i++) {
			if (!json_equal(json_array_get(appended, i), json_array_get(runs, old_count - (count - 1) + i)))
				abort();
		}
	}
	json_decref(runs);
	json_decref(appended);
	kube_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	canary_state parsed, finished;
	if (size > 65536)
		return 0;
	check_state(data, size, &parsed);
	/* The same bytes as a history annotation (a C string: up to a NUL). */
	char *old = malloc(size + 1);
	if (!old)
		return 0;
	memcpy(old, data, size);
	old[size] = '\0';
	if (parsed.phase == CANARY_PHASE_NONE)
		finished_run(&finished);
	else
		finished = parsed;
	check_history(old, &finished);
	free(old);
	return 0;
}
