/* The health gate (SPEC §3.5) and the evaluation of a list of gates. */
#include <stdio.h>
#include <string.h>

#include <kube/error.h>

#include "gate.h"
#include "observe.h"

/* A waiting reason that means the pod will not come up by itself. */
static int fatal_waiting(const char *reason)
{
	static const char *const reasons[] = {
	        "CrashLoopBackOff",           "ImagePullBackOff",     "ErrImagePull",      "InvalidImageName",
	        "CreateContainerConfigError", "CreateContainerError", "RunContainerError", NULL};
	for (int i = 0; reason && reasons[i]; i++)
		if (!strcmp(reason, reasons[i]))
			return 1;
	return 0;
}

/* Writes why pod fails into msg and returns 1, or returns 0. */
static int pod_failure(const char *name, const json_t *pod, char *msg, size_t size)
{
	static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, cs)
		{
			const char *container = json_string_value(json_object_get(cs, "name"));
			json_t *state = json_object_get(cs, "state");
			json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
			const char *waiting =
			        json_string_value(json_object_get(json_object_get(state, "waiting"), "reason"));
			const char *term =
			        json_string_value(json_object_get(json_object_get(state, "terminated"), "reason"));
			const char *last_reason = json_string_value(json_object_get(last, "reason"));
			long long restarts = json_integer_value(json_object_get(cs, "restartCount"));
			if (fatal_waiting(waiting)) {
				snprintf(msg, size, "pod %s container %s is %s", name, container ? container : "?",
				         waiting);
				return 1;
			}
			if ((term && !strcmp(term, "OOMKilled")) ||
			    (last_reason && !strcmp(last_reason, "OOMKilled"))) {
				snprintf(msg, size, "pod %s container %s was OOMKilled", name,
				         container ? container : "?");
				return 1;
			}
			if (restarts > 0) {
				snprintf(msg, size, "pod %s container %s restarted %lld time%s%s%s%s", name,
				         container ? container : "?", restarts, restarts == 1 ? "" : "s",
				         last_reason ? " (last: " : "", last_reason ? last_reason : "",
				         last_reason ? ")" : "");
				return 1;
			}
		}
	}
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	if (phase && !strcmp(phase, "Failed")) {
		snprintf(msg, size, "pod %s failed", name);
		return 1;
	}
	return 0;
}

static long long latest(long long a, long long b)
{
	return a > b ? a : b;
}

/* When pod last became not Ready: its Ready condition's transition time,
 * else its creation; 0 when neither parses. */
static long long not_ready_from(const json_t *pod)
{
	long long ms = 0;
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
	{
		const char *type = json_string_value(json_object_get(cond, "type"));
		if (type && !strcmp(type, "Ready") &&
		    !canary_time_parse(&ms, json_string_value(json_object_get(cond, "lastTransitionTime"))))
			return ms;
	}
	if (canary_time_parse(
	            &ms, json_string_value(json_object_get(json_object_get(pod, "metadata"), "creationTimestamp"))))
		ms = 0;
	return ms;
}

static int evaluate_health(const canary_gate *gate, const canary_gate_input *in, canary_gate_record *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", gate->name);
	const char *name;
	json_t *pod;
	int ready = 0, live = 0;
	long long not_ready_since = in->step_started_ms;
	json_object_foreach((json_t *)in->pods, name, pod)
	{
		if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
			continue;
		live++;
		if (pod_failure(name, pod, out->message, sizeof(out->message))) {
			out->verdict = CANARY_FAIL;
			return 0;
		}
		if (canary_pod_ready(pod))
			ready++;
		else
			not_ready_since = latest(not_ready_since, not_ready_from(pod));
	}
	size_t i;
	json_t *event;
	json_array_foreach((json_t *)in->events, i, event)
	{
		const char *reason = json_string_value(json_object_get(event, "reason"));
		if (!reason || (strcmp(reason, "Unhealthy") != 0 && strcmp(reason, "BackOff") != 0))
			continue;
		const char *pod_name =
		        json_string_value(json_object_get(json_object_get(event, "involvedObject"), "name"));
		const char *message = json_string_value(json_object_get(event, "message"));
		snprintf(out->message, sizeof(out->message), "pod %s: %s: %s", pod_name ? pod_name : "?", reason,
		         message ? message : "");
		/* kubelet messages end with a newline at times */
		size_t len = strlen(out->message);
		while (len && (out->message[len - 1] == '\n' || out->message[len - 1] == ' '))
			out->message[--len] = '\0';
		out->verdict = CANARY_FAIL;
		return 0;
	}
	/* The deadline runs from the step's start or from the moment the
	 * newest not-Ready pod was created or lost Ready, whichever is later:
	 * a pod evicted late in a long pause gets its own deadline. */
	long long waited_s = (in->now_ms - not_ready_since) / 1000;
	if (ready >= in->desired) {
		out->verdict = CANARY_PASS;
		snprintf(out->message, sizeof(out->message), "%d/%d canary pods Ready, no restarts or probe failures",
		         ready, in->desired);
	} else if (in->progress_deadline_s > 0 && waited_s > in->progress_deadline_s) {
		out->verdict = CANARY_FAIL;
		snprintf(out->message, sizeof(out->message),
		         "%d/%d canary pods Ready after %llds (progress deadline %lds)", ready, in->desired, waited_s,
		         in->progress_deadline_s);
	} else {
		out->verdict = CANARY_WAIT;
		snprintf(out->message, sizeof(out->message), "%d/%d canary pods Ready (%d running)", ready, in->desired,
		         live);
	}
	return 0;
}

const canary_gate canary_gate_health = {
        .name = "health",
        .evaluate = evaluate_health,
};

enum canary_verdict canary_gates_evaluate(const canary_gate *const *gates, const canary_gate_input *in,
                                          canary_gate_record *records, int *count)
{
	enum canary_verdict verdict = CANARY_PASS;
	*count = 0;
	for (int i = 0; gates[i] && *count < CANARY_MAX_GATES; i++) {
		canary_gate_record *r = &records[*count];
		if (gates[i]->evaluate(gates[i], in, r)) {
			memset(r, 0, sizeof(*r));
			snprintf(r->name, sizeof(r->name), "%s", gates[i]->name);
			r->verdict = CANARY_WAIT;
			snprintf(r->message, sizeof(r->message), "could not be evaluated: %s",
			         kube_error_last()->message);
		}
		(*count)++;
		if (r->verdict == CANARY_FAIL)
			verdict = CANARY_FAIL;
		else if (r->verdict == CANARY_WAIT && verdict == CANARY_PASS)
			verdict = CANARY_WAIT;
	}
	return verdict;
}

/* The summary of the records that did not pass (filter < 0), or of those
 * with verdict filter. */
static void summarize(char *buf, size_t size, const canary_gate_record *records, int count, int filter)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < count && used < size; i++) {
		if (filter < 0 ? records[i].verdict == CANARY_PASS : (int)records[i].verdict != filter)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s: %s", used ? "; " : "", records[i].name,
		                 records[i].message);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

void canary_gates_summary(char *buf, size_t size, const canary_gate_record *records, int count)
{
	summarize(buf, size, records, count, -1);
}

void canary_gates_summary_of(char *buf, size_t size, const canary_gate_record *records, int count,
                             enum canary_verdict verdict)
{
	summarize(buf, size, records, count, (int)verdict);
}
