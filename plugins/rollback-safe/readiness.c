/* When one object is rolled out and Ready, as `kubectl rollout status`
 * judges it, and why not: the rules per kind, and the worst of a
 * workload's pods named as the reason. Pure functions over JSON; verify.c
 * lists what they read. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "readiness.h"

/* How much of a kubelet or controller message goes into a reason. */
#define MESSAGE_MAX 200

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ----- reading objects ----- */

static const char *string_at(const json_t *object, const char *parent, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(object, parent), key));
	return s ? s : "";
}

static long long integer_at(const json_t *object, const char *key)
{
	return json_integer_value(json_object_get(object, key));
}

/* spec.replicas, which defaults to 1. */
static long long desired_replicas(const json_t *spec)
{
	json_t *replicas = json_object_get(spec, "replicas");
	return json_is_integer(replicas) ? json_integer_value(replicas) : 1;
}

/* The status condition of type, or NULL. */
static const json_t *condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(status, "conditions"), i, cond)
	{
		const char *t = json_string_value(json_object_get(cond, "type"));
		if (t && strcmp(t, type) == 0)
			return cond;
	}
	return NULL;
}

static int condition_is(const json_t *cond, const char *status)
{
	const char *s = json_string_value(json_object_get(cond, "status"));
	return s && strcmp(s, status) == 0;
}

/* Copies text into buf as one line of at most MESSAGE_MAX bytes: line
 * breaks and tabs become spaces, trailing blanks go. */
static void one_line(char *buf, size_t size, const char *text)
{
	size_t len = 0;
	size_t max = size - 1 < MESSAGE_MAX ? size - 1 : MESSAGE_MAX;
	for (; text && text[len] && len < max; len++)
		buf[len] = text[len] == '\n' || text[len] == '\r' || text[len] == '\t' ? ' ' : text[len];
	while (len && buf[len - 1] == ' ')
		len--;
	buf[len] = '\0';
}

/* "not observed" when the controller has not seen the newest spec. */
static int observed(const json_t *live, const json_t *status, int zero_means_unobserved, char *reason, size_t size)
{
	long long generation = integer_at(json_object_get(live, "metadata"), "generation");
	long long seen = integer_at(status, "observedGeneration");
	if (seen >= generation && !(zero_means_unobserved && seen == 0))
		return 1;
	snprintf(reason, size, "rollout not observed yet (generation %lld, observed %lld)", generation, seen);
	return 0;
}

static enum rollback_readiness deployment_ready(const json_t *live, char *reason, size_t size)
{
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	if (!observed(live, status, 0, reason, size))
		return ROLLBACK_NOT_READY;
	long long desired = desired_replicas(spec);
	long long updated = integer_at(status, "updatedReplicas");
	long long total = integer_at(status, "replicas");
	long long available = integer_at(status, "availableReplicas");
	const json_t *progressing = condition(status, "Progressing");
	const char *why = json_string_value(json_object_get(progressing, "reason"));
	const char *note = "";
	if (progressing && condition_is(progressing, "False") && why && strcmp(why, "ProgressDeadlineExceeded") == 0)
		note = ", progress deadline exceeded";
	else if (json_is_true(json_object_get(spec, "paused")))
		note = ", rollout paused";
	if (updated < desired)
		snprintf(reason, size, "%lld/%lld pods updated%s", updated, desired, note);
	else if (total > updated)
		snprintf(reason, size, "%lld old pods pending termination%s", total - updated, note);
	else if (available < updated)
		snprintf(reason, size, "%lld/%lld pods ready%s", available, updated, note);
	else
		return ROLLBACK_READY;
	return ROLLBACK_NOT_READY;
}

static int rolling_update(const json_t *spec)
{
	const char *type = string_at(spec, "updateStrategy", "type");
	return type[0] == '\0' || strcmp(type, "RollingUpdate") == 0;
}

static enum rollback_readiness statefulset_ready(const json_t *live, char *reason, size_t size)
{
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	if (!observed(live, status, 1, reason, size))
		return ROLLBACK_NOT_READY;
	long long desired = desired_replicas(spec);
	long long ready = integer_at(status, "readyReplicas");
	long long updated = integer_at(status, "updatedReplicas");
	if (ready < desired) {
		snprintf(reason, size, "%lld/%lld pods ready", ready, desired);
		return ROLLBACK_NOT_READY;
	}
	if (!rolling_update(spec))
		return ROLLBACK_READY; /* OnDelete: pods change when someone deletes them */
	json_t *partition =
	        json_object_get(json_object_get(json_object_get(spec, "updateStrategy"), "rollingUpdate"), "partition");
	if (json_is_integer(partition) && json_integer_value(partition) > 0) {
		long long want = desired - json_integer_value(partition);
		if (updated >= want)
			return ROLLBACK_READY;
		snprintf(reason, size, "%lld/%lld pods updated (partition %lld)", updated, want > 0 ? want : 0,
		         json_integer_value(partition));
		return ROLLBACK_NOT_READY;
	}
	const char *update_revision = json_string_value(json_object_get(status, "updateRevision"));
	const char *current_revision = json_string_value(json_object_get(status, "currentRevision"));
	if (update_revision && (!current_revision || strcmp(update_revision, current_revision) != 0)) {
		snprintf(reason, size, "%lld/%lld pods updated to revision %.128s", updated, desired, update_revision);
		return ROLLBACK_NOT_READY;
	}
	return ROLLBACK_READY;
}

static enum rollback_readiness daemonset_ready(const json_t *live, char *reason, size_t size)
{
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	if (!observed(live, status, 0, reason, size))
		return ROLLBACK_NOT_READY;
	long long desired = integer_at(status, "desiredNumberScheduled");
	long long updated = integer_at(status, "updatedNumberScheduled");
	long long available = integer_at(status, "numberAvailable");
	if (rolling_update(spec) && updated < desired)
		snprintf(reason, size, "%lld/%lld pods updated", updated, desired);
	else if (available < desired)
		snprintf(reason, size, "%lld/%lld pods ready", available, desired);
	else
		return ROLLBACK_READY;
	return ROLLBACK_NOT_READY;
}

static enum rollback_readiness job_ready(const json_t *live, char *reason, size_t size)
{
	const json_t *spec = json_object_get(live, "spec"), *status = json_object_get(live, "status");
	const json_t *failed = condition(status, "Failed");
	if (failed && condition_is(failed, "True")) {
		char message[MESSAGE_MAX + 1];
		one_line(message, sizeof(message), json_string_value(json_object_get(failed, "message")));
		const char *why = json_string_value(json_object_get(failed, "reason"));
		snprintf(reason, size, "failed: %.64s%s%s%s", why ? why : "Failed", message[0] ? " (" : "", message,
		         message[0] ? ")" : "");
		return ROLLBACK_FAILED;
	}
	const json_t *complete = condition(status, "Complete");
	if (complete && condition_is(complete, "True"))
		return ROLLBACK_READY;
	if (json_is_true(json_object_get(spec, "suspend"))) {
		snprintf(reason, size, "suspended");
		return ROLLBACK_NOT_READY;
	}
	json_t *completions = json_object_get(spec, "completions");
	snprintf(reason, size, "%lld/%lld completions (%lld active, %lld failed)", integer_at(status, "succeeded"),
	         json_is_integer(completions) ? json_integer_value(completions) : 1, integer_at(status, "active"),
	         integer_at(status, "failed"));
	return ROLLBACK_NOT_READY;
}

static enum rollback_readiness pvc_ready(const json_t *live, char *reason, size_t size)
{
	const char *phase = string_at(live, "status", "phase");
	if (strcmp(phase, "Bound") == 0)
		return ROLLBACK_READY;
	snprintf(reason, size, "phase %.32s", phase[0] ? phase : "unknown");
	return ROLLBACK_NOT_READY;
}

/* ----- pods ----- */

static int value_in(const char *value, const json_t *values)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			return 1;
	}
	return 0;
}

/* 1 when labels satisfy selector (matchLabels and matchExpressions); an
 * empty selector matches nothing here, as apps/v1 forbids one. */
static int selector_matches(const json_t *selector, const json_t *labels)
{
	const json_t *match = json_object_get(selector, "matchLabels");
	const json_t *expressions = json_object_get(selector, "matchExpressions");
	if (json_object_size(match) == 0 && json_array_size(expressions) == 0)
		return 0;
	const char *key;
	json_t *want;
	json_object_foreach((json_t *)match, key, want)
	{
		const char *have = json_string_value(json_object_get(labels, key));
		if (!have || !json_is_string(want) || strcmp(have, json_string_value(want)) != 0)
			return 0;
	}
	size_t i;
	json_t *expr;
	json_array_foreach(expressions, i, expr)
	{
		const char *expr_key = json_string_value(json_object_get(expr, "key"));
		const char *op = json_string_value(json_object_get(expr, "operator"));
		const json_t *values = json_object_get(expr, "values");
		const char *have = expr_key ? json_string_value(json_object_get(labels, expr_key)) : NULL;
		if (!op)
			return 0;
		if (strcmp(op, "In") == 0             ? !(have && value_in(have, values))
		    : strcmp(op, "NotIn") == 0        ? have && value_in(have, values)
		    : strcmp(op, "Exists") == 0       ? !have
		    : strcmp(op, "DoesNotExist") == 0 ? have != NULL
		                                      : 1)
			return 0;
	}
	return 1;
}

/* A waiting reason that means the container will not start by itself. */
static int fatal_waiting(const char *reason)
{
	static const char *const reasons[] = {
	        "CrashLoopBackOff",           "ImagePullBackOff",     "ErrImagePull",      "InvalidImageName",
	        "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ErrImageNeverPull",
	};
	for (size_t i = 0; reason && i < ARRAY_SIZE(reasons); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return 1;
	return 0;
}

/* How much a problem of pods says about why a workload is not ready. */
enum trouble {
	TROUBLE_NONE,
	TROUBLE_NOT_READY,     /* not Ready, creating, initialising */
	TROUBLE_RESTARTS,      /* restarted, not in back-off yet */
	TROUBLE_UNSCHEDULABLE, /* no node takes it */
	TROUBLE_KILLED,        /* OOMKilled, or the pod failed (evicted) */
	TROUBLE_STUCK,         /* a container waits in a back-off or a config error */
};

typedef struct pod_verdict {
	enum trouble level;
	char text[480];
} pod_verdict;

/* Keeps "pod NAME: <what>" in v when it is worse than what v holds. */
static void note(pod_verdict *v, enum trouble level, const char *pod, const char *container, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void note(pod_verdict *v, enum trouble level, const char *pod, const char *container, const char *fmt, ...)
{
	if (level <= v->level)
		return;
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	v->level = level;
	if (container)
		snprintf(v->text, sizeof(v->text), "pod %.80s: container %.64s: %s", pod, container, what);
	else
		snprintf(v->text, sizeof(v->text), "pod %.80s: %s", pod, what);
}

static void judge_container(pod_verdict *v, const char *pod, const json_t *cs, int several)
{
	const char *container = several ? json_string_value(json_object_get(cs, "name")) : NULL;
	const json_t *state = json_object_get(cs, "state");
	const json_t *waiting = json_object_get(state, "waiting");
	const char *waiting_reason = json_string_value(json_object_get(waiting, "reason"));
	const json_t *terminated = json_object_get(state, "terminated");
	const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
	const char *term_reason = json_string_value(json_object_get(terminated, "reason"));
	const char *last_reason = json_string_value(json_object_get(last, "reason"));
	long long restarts = integer_at(cs, "restartCount");
	char message[MESSAGE_MAX + 1];
	if (fatal_waiting(waiting_reason)) {
		one_line(message, sizeof(message), json_string_value(json_object_get(waiting, "message")));
		note(v, TROUBLE_STUCK, pod, container, "%s%s%s%s", waiting_reason, message[0] ? " (" : "", message,
		     message[0] ? ")" : "");
	}
	if ((term_reason && strcmp(term_reason, "OOMKilled") == 0) ||
	    (last_reason && strcmp(last_reason, "OOMKilled") == 0))
		note(v, TROUBLE_KILLED, pod, container, "OOMKilled (%lld restart%s)", restarts,
		     restarts == 1 ? "" : "s");
	if (restarts > 0) {
		char last_words[128] = "";
		const json_t *exit_code = json_object_get(last, "exitCode");
		if (last_reason && json_is_integer(exit_code))
			snprintf(last_words, sizeof(last_words), " (last: %.64s, exit code %lld)", last_reason,
			         json_integer_value(exit_code));
		else if (last_reason)
			snprintf(last_words, sizeof(last_words), " (last: %.64s)", last_reason);
		note(v, TROUBLE_RESTARTS, pod, container, "restarted %lld time%s%s", restarts, restarts == 1 ? "" : "s",
		     last_words);
	}
	if (waiting_reason && waiting_reason[0])
		note(v, TROUBLE_NOT_READY, pod, container, "%.64s", waiting_reason);
}

/* Finds what is wrong with pod, into v. */
static void judge_pod(pod_verdict *v, const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const char *name = string_at(pod, "metadata", "name");
	const char *phase = json_string_value(json_object_get(status, "phase"));
	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") ||
	    (phase && strcmp(phase, "Succeeded") == 0))
		return;
	const json_t *ready = condition(status, "Ready");
	if (ready && condition_is(ready, "True"))
		return;
	/* containers first: an OOMKilled container says more than the
	 * Failed phase it caused */
	static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
	int several = json_array_size(json_object_get(status, lists[0])) +
	                      json_array_size(json_object_get(status, lists[1])) >
	              1;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(status, lists[l]), i, cs)
		{
			judge_container(v, name, cs, several);
		}
	}
	char message[MESSAGE_MAX + 1];
	if (phase && strcmp(phase, "Failed") == 0) {
		one_line(message, sizeof(message), json_string_value(json_object_get(status, "message")));
		const char *why = json_string_value(json_object_get(status, "reason"));
		note(v, TROUBLE_KILLED, name, NULL, "failed%s%.64s%s%s%s", why ? ": " : "", why ? why : "",
		     message[0] ? " (" : "", message, message[0] ? ")" : "");
	}
	const json_t *scheduled = condition(status, "PodScheduled");
	if (scheduled && condition_is(scheduled, "False")) {
		one_line(message, sizeof(message), json_string_value(json_object_get(scheduled, "message")));
		const char *why = json_string_value(json_object_get(scheduled, "reason"));
		note(v, TROUBLE_UNSCHEDULABLE, name, NULL, "%.64s%s%s%s", why ? why : "not scheduled",
		     message[0] ? " (" : "", message, message[0] ? ")" : "");
	}
	one_line(message, sizeof(message), json_string_value(json_object_get(ready, "message")));
	note(v, TROUBLE_NOT_READY, name, NULL, "not ready%s%s%s", message[0] ? " (" : "", message,
	     message[0] ? ")" : "");
}

/* Appends ": <the worst pod's trouble>" to reason, for the pods of live. */
static void add_pod_reason(const json_t *live, const json_t *pods, char *reason, size_t size)
{
	const json_t *selector = json_object_get(json_object_get(live, "spec"), "selector");
	pod_verdict worst = {TROUBLE_NONE, ""};
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (selector_matches(selector, json_object_get(json_object_get(pod, "metadata"), "labels")))
			judge_pod(&worst, pod);
	}
	size_t len = strlen(reason);
	if (worst.level != TROUBLE_NONE && len < size)
		snprintf(reason + len, size - len, ": %s", worst.text);
}

enum rollback_readiness rollback_workload_ready(const json_t *live, const json_t *pods, char *reason,
                                                size_t reason_size)
{
	assert(reason_size > 0);
	reason[0] = '\0';
	if (!live) {
		snprintf(reason, reason_size, "not found");
		return ROLLBACK_NOT_READY;
	}
	const char *kind = json_string_value(json_object_get(live, "kind"));
	enum rollback_readiness (*judge)(const json_t *, char *, size_t) = NULL;
	if (!kind)
		return ROLLBACK_READY;
	if (strcmp(kind, "Deployment") == 0)
		judge = deployment_ready;
	else if (strcmp(kind, "StatefulSet") == 0)
		judge = statefulset_ready;
	else if (strcmp(kind, "DaemonSet") == 0)
		judge = daemonset_ready;
	else if (strcmp(kind, "Job") == 0)
		judge = job_ready;
	else if (strcmp(kind, "PersistentVolumeClaim") == 0)
		judge = pvc_ready;
	else
		return ROLLBACK_READY;
	if (json_object_get(json_object_get(live, "metadata"), "deletionTimestamp")) {
		snprintf(reason, reason_size, "being deleted");
		return ROLLBACK_NOT_READY;
	}
	enum rollback_readiness verdict = judge(live, reason, reason_size);
	if (verdict != ROLLBACK_READY && judge != pvc_ready)
		add_pod_reason(live, pods, reason, reason_size);
	return verdict;
}
