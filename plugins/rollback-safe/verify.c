/* Verification after a rollback: the target manifest's workloads polled
 * with one list per kind and namespace a round until each is rolled out
 * and Ready, judged as `kubectl rollout status` does, with the worst pod
 * of a workload that is not named as its reason. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <kube/log.h>

#include "verify.h"

/* Between two rounds of lists. */
#define ROUND_MS    1000
/* How much of a kubelet or controller message goes into a reason. */
#define MESSAGE_MAX 200

static const kube_resource res_deployments = {"apps", "v1", "deployments", "Deployment", 1};
static const kube_resource res_statefulsets = {"apps", "v1", "statefulsets", "StatefulSet", 1};
static const kube_resource res_daemonsets = {"apps", "v1", "daemonsets", "DaemonSet", 1};
static const kube_resource res_jobs = {"batch", "v1", "jobs", "Job", 1};
static const kube_resource res_pvcs = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1};

static const kube_resource *const verified_kinds[] = {
        &res_deployments, &res_statefulsets, &res_daemonsets, &res_jobs, &res_pvcs,
};

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

/* ----- the wait ----- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static int has_handler(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) || (sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN);
}

typedef struct saved_signals {
	struct sigaction sigint, sigterm;
} saved_signals;

/* Catches SIGINT and SIGTERM for the wait, unless the program ignores
 * them. No SA_RESTART: the pause between rounds ends at once. */
static void signals_catch(saved_signals *saved)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, NULL, &saved->sigint);
	sigaction(SIGTERM, NULL, &saved->sigterm);
	if (saved->sigint.sa_handler != SIG_IGN || (saved->sigint.sa_flags & SA_SIGINFO))
		sigaction(SIGINT, &sa, NULL);
	if (saved->sigterm.sa_handler != SIG_IGN || (saved->sigterm.sa_flags & SA_SIGINFO))
		sigaction(SIGTERM, &sa, NULL);
}

/* Puts the program's handlers back and hands them a signal the wait
 * caught, so the command's own flag sees it too. */
static void signals_restore(const saved_signals *saved)
{
	sigaction(SIGINT, &saved->sigint, NULL);
	sigaction(SIGTERM, &saved->sigterm, NULL);
	int sig = interrupted;
	if (sig && has_handler(sig == SIGINT ? &saved->sigint : &saved->sigterm))
		raise(sig);
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One object under watch, beside its rollback_verify_object. */
typedef struct tracked {
	const kube_resource *res;
	size_t group;
	json_t *live; /* borrowed from its group's list; NULL when missing */
	enum rollback_readiness state;
} tracked;

/* The objects of one kind in one namespace: listed together. */
typedef struct group {
	const kube_resource *res;
	const char *ns;        /* borrowed from the result */
	const char *only_name; /* the name when there is one member */
	size_t members;
	json_t *list;
} group;

typedef struct verify_run {
	rollback_ctx *ctx;
	rollback_verify_result *out;
	tracked *items;
	group *groups;
	size_t group_count;
} verify_run;

/* The resource type rollback-safe verifies for a manifest object, or
 * NULL: the kind within its API group, whatever the version. */
static const kube_resource *verified_resource(const json_t *object)
{
	const char *kind = json_string_value(json_object_get(object, "kind"));
	const char *api_version = json_string_value(json_object_get(object, "apiVersion"));
	if (!kind || !api_version)
		return NULL;
	const char *slash = strchr(api_version, '/');
	size_t group_len = slash ? (size_t)(slash - api_version) : 0;
	for (size_t i = 0; i < ARRAY_SIZE(verified_kinds); i++) {
		const kube_resource *res = verified_kinds[i];
		if (strcmp(kind, res->kind) == 0 && strlen(res->group) == group_len &&
		    strncmp(res->group, api_version, group_len) == 0)
			return res;
	}
	return NULL;
}

static int collect(verify_run *run, const json_t *objects)
{
	rollback_verify_result *out = run->out;
	size_t n = json_array_size(objects), slots = n ? n : 1;
	out->objects = kube_calloc(slots, sizeof(*out->objects));
	run->items = kube_calloc(slots, sizeof(*run->items));
	run->groups = kube_calloc(slots, sizeof(*run->groups));
	if (!out->objects || !run->items || !run->groups)
		return cli_error_nomem();
	size_t i;
	json_t *object;
	json_array_foreach(objects, i, object)
	{
		const kube_resource *res = verified_resource(object);
		const char *name = string_at(object, "metadata", "name");
		const char *ns = string_at(object, "metadata", "namespace");
		if (!res || !name[0])
			continue;
		if (!ns[0])
			ns = run->ctx->ns;
		size_t k;
		for (k = 0; k < out->count; k++)
			if (run->items[k].res == res && strcmp(out->objects[k].ns, ns) == 0 &&
			    strcmp(out->objects[k].name, name) == 0)
				break;
		if (k < out->count)
			continue; /* listed twice */
		rollback_verify_object *o = &out->objects[out->count];
		snprintf(o->kind, sizeof(o->kind), "%s", res->kind);
		snprintf(o->ns, sizeof(o->ns), "%.253s", ns);
		snprintf(o->name, sizeof(o->name), "%.253s", name);
		size_t g;
		for (g = 0; g < run->group_count; g++)
			if (run->groups[g].res == res && strcmp(run->groups[g].ns, o->ns) == 0)
				break;
		if (g == run->group_count) {
			run->groups[g].res = res;
			run->groups[g].ns = o->ns;
			run->groups[g].only_name = o->name;
			run->group_count++;
		}
		run->groups[g].members++;
		run->items[out->count].res = res;
		run->items[out->count].group = g;
		run->items[out->count].state = ROLLBACK_NOT_READY;
		out->count++;
	}
	return 0;
}

static int list_group(verify_run *run, group *g)
{
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	char selector[300];
	if (g->members == 1) {
		snprintf(selector, sizeof(selector), "metadata.name=%.253s", g->only_name);
		opts.field_selector = selector;
	}
	json_t *list = NULL;
	int rc = kube_client_list(run->ctx->client, &list, g->res, g->ns, &opts);
	if (rc) {
		char what[420];
		snprintf(what, sizeof(what), "listing %s in namespace %.253s", g->res->resource, g->ns);
		return cli_error_kube(what, rc);
	}
	json_decref(g->list);
	g->list = list;
	/* the items of a list carry no kind */
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(list, "items"), i, item)
	{
		if (!json_object_get(item, "kind") && json_object_set_new(item, "kind", json_string(g->res->kind)))
			return cli_error_nomem();
	}
	return 0;
}

static json_t *find_item(const json_t *list, const char *name)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(list, "items"), i, item)
	{
		if (strcmp(string_at(item, "metadata", "name"), name) == 0)
			return item;
	}
	return NULL;
}

/* A workload whose pods may say why it is not ready. */
static int wants_pods(const tracked *t)
{
	return t->state != ROLLBACK_READY && t->live && t->res != &res_pvcs;
}

/* Lists the pods of ns (narrowed to one workload's matchLabels when it
 * is the only one asking) and names the worst in the reason of each
 * workload of ns that is not ready. A failed list only costs the pod
 * reasons. */
static int explain_namespace(verify_run *run, size_t first)
{
	rollback_verify_result *out = run->out;
	const char *ns = out->objects[first].ns;
	size_t askers = 0;
	for (size_t i = first; i < out->count; i++)
		if (wants_pods(&run->items[i]) && strcmp(out->objects[i].ns, ns) == 0)
			askers++;
	kube_buf selector = KUBE_BUF_INIT;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	if (askers == 1) {
		const char *key;
		json_t *value;
		json_t *match = json_object_get(
		        json_object_get(json_object_get(run->items[first].live, "spec"), "selector"), "matchLabels");
		json_object_foreach(match, key, value)
		{
			if (json_is_string(value) && kube_buf_printf(&selector, "%s%s=%s", selector.len ? "," : "", key,
			                                             json_string_value(value)))
				return cli_error_nomem();
		}
		if (selector.len)
			opts.label_selector = kube_buf_cstr(&selector);
	}
	json_t *pods = NULL;
	int rc = kube_client_list(run->ctx->client, &pods, &rollback_res_pods, ns, &opts);
	kube_buf_dispose(&selector);
	if (rc) {
		kube_log(KUBE_LOG_DECISION, "verify: listing pods in namespace %s: %s", ns, kube_error_last()->message);
		return 0;
	}
	for (size_t i = first; i < out->count; i++) {
		tracked *t = &run->items[i];
		if (wants_pods(t) && strcmp(out->objects[i].ns, ns) == 0)
			t->state = rollback_workload_ready(t->live, json_object_get(pods, "items"),
			                                   out->objects[i].reason, sizeof(out->objects[i].reason));
	}
	json_decref(pods);
	return 0;
}

/* One round: relists every group with an object not ready and judges
 * its objects again, then explains those still not ready. */
static int verify_round(verify_run *run)
{
	rollback_verify_result *out = run->out;
	int rc;
	for (size_t g = 0; g < run->group_count; g++) {
		size_t i;
		for (i = 0; i < out->count; i++)
			if (run->items[i].group == g && run->items[i].state != ROLLBACK_READY)
				break;
		if (i == out->count)
			continue;
		if ((rc = list_group(run, &run->groups[g])))
			return rc;
		for (i = 0; i < out->count; i++) {
			tracked *t = &run->items[i];
			if (t->group != g)
				continue;
			t->live = find_item(run->groups[g].list, out->objects[i].name);
			t->state = rollback_workload_ready(t->live, NULL, out->objects[i].reason,
			                                   sizeof(out->objects[i].reason));
		}
	}
	for (size_t i = 0; i < out->count; i++) {
		if (!wants_pods(&run->items[i]))
			continue;
		size_t j;
		for (j = 0; j < i; j++)
			if (wants_pods(&run->items[j]) && strcmp(out->objects[j].ns, out->objects[i].ns) == 0)
				break;
		if (j == i && (rc = explain_namespace(run, i)))
			return rc;
	}
	out->all_ready = 1;
	for (size_t i = 0; i < out->count; i++) {
		out->objects[i].ready = run->items[i].state == ROLLBACK_READY;
		if (!out->objects[i].ready)
			out->all_ready = 0;
	}
	return 0;
}

/* "deployment/web": the kind lower-cased, as kubectl names objects. */
static void object_label(char *buf, size_t size, const rollback_verify_object *o)
{
	size_t i = 0;
	for (; o->kind[i] && i + 1 < size; i++)
		buf[i] = (char)tolower((unsigned char)o->kind[i]);
	buf[i] = '\0';
	snprintf(buf + i, size - i, "/%s", o->name);
}

static void show_progress(cli_progress *progress, const rollback_verify_result *out)
{
	int ready = 0;
	const rollback_verify_object *waiting = NULL;
	for (size_t i = 0; i < out->count; i++) {
		if (out->objects[i].ready)
			ready++;
		else if (!waiting)
			waiting = &out->objects[i];
	}
	char next[1024] = "";
	if (waiting) {
		char label[400];
		object_label(label, sizeof(label), waiting);
		snprintf(next, sizeof(next), "%s: %s", label, waiting->reason);
	}
	cli_progress_update(progress, "verifying", ready, (int)out->count, waiting ? next : NULL);
}

/* 1 when every object not ready has failed for good. */
static int only_failures_left(const verify_run *run)
{
	for (size_t i = 0; i < run->out->count; i++)
		if (run->items[i].state == ROLLBACK_NOT_READY)
			return 0;
	return 1;
}

int rollback_verify(rollback_ctx *ctx, const json_t *objects, long timeout_ms, int quiet, rollback_verify_result *out)
{
	assert(json_is_array(objects));
	memset(out, 0, sizeof(*out));
	verify_run run = {ctx, out, NULL, NULL, 0};
	long long start = monotonic_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
	saved_signals saved;
	cli_progress progress;
	int rc = collect(&run, objects);
	if (rc)
		goto done;
	out->all_ready = 1;
	if (out->count == 0)
		goto done;
	kube_log(KUBE_LOG_DECISION, "verify: %zu object%s, timeout %ldms", out->count, out->count == 1 ? "" : "s",
	         timeout_ms);
	signals_catch(&saved);
	if (!quiet)
		cli_progress_init(&progress, stderr, -1);
	for (;;) {
		if (interrupted)
			break;
		if ((rc = verify_round(&run)))
			break;
		if (ctx->tick && (rc = ctx->tick(ctx->tick_user)))
			break;
		if (!quiet)
			show_progress(&progress, out);
		if (out->all_ready || only_failures_left(&run))
			break;
		long long left = deadline - monotonic_ms();
		if (left <= 0 || interrupted)
			break;
		long pause = left < ROUND_MS ? (long)left : ROUND_MS;
		struct timespec ts = {pause / 1000, (pause % 1000) * 1000000L};
		nanosleep(&ts, NULL); /* a signal ends it early */
	}
	if (!quiet)
		cli_progress_finish(&progress);
	if (rc)
		out->all_ready = 0;
	if (!rc && interrupted) {
		cli_error("verifying the rollback: interrupted by %s", interrupted == SIGTERM ? "SIGTERM" : "SIGINT");
		rc = interrupted == SIGTERM ? CLI_EXIT_SIGTERM : CLI_EXIT_SIGINT;
		out->all_ready = 0;
	}
	signals_restore(&saved);
done:
	out->elapsed_ms = (long)(monotonic_ms() - start);
	for (size_t g = 0; g < run.group_count; g++)
		json_decref(run.groups[g].list);
	kube_free(run.groups);
	kube_free(run.items);
	return rc;
}

json_t *rollback_verify_json(const rollback_verify_result *r)
{
	json_t *objects = json_array();
	json_t *root = json_object();
	if (!objects || !root || json_object_set_new(root, "ready", json_boolean(r->all_ready)) ||
	    json_object_set_new(root, "elapsedMs", json_integer(r->elapsed_ms)) ||
	    json_object_set(root, "objects", objects))
		goto fail;
	for (size_t i = 0; i < r->count; i++) {
		const rollback_verify_object *o = &r->objects[i];
		json_t *entry = json_pack("{s:s, s:s, s:s, s:b, s:s}", "kind", o->kind, "namespace", o->ns, "name",
		                          o->name, "ready", o->ready, "reason", o->reason);
		if (json_array_append_new(objects, entry))
			goto fail;
	}
	json_decref(objects);
	return root;
fail:
	json_decref(objects);
	json_decref(root);
	return NULL;
}

void rollback_verify_print(const rollback_verify_result *r, FILE *stream)
{
	for (size_t i = 0; i < r->count; i++) {
		const rollback_verify_object *o = &r->objects[i];
		char label[400];
		object_label(label, sizeof(label), o);
		if (o->ready)
			fprintf(stream, "%s: ready\n", label);
		else
			fprintf(stream, "%s: not ready: %s\n", label, o->reason);
	}
}

void rollback_verify_dispose(rollback_verify_result *r)
{
	kube_free(r->objects);
	memset(r, 0, sizeof(*r));
}
