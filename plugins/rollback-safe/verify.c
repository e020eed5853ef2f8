/* Verification after a rollback: the target manifest's workloads polled
 * with one list per kind and namespace a round until each is rolled out
 * and Ready, as readiness.c judges them. */
#include <assert.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <kube/log.h>

#include "manifest.h"
#include "readiness.h"
#include "verify.h"

/* Between two rounds of lists. */
#define ROUND_MS 1000

static const kube_resource res_deployments = {"apps", "v1", "deployments", "Deployment", 1};
static const kube_resource res_statefulsets = {"apps", "v1", "statefulsets", "StatefulSet", 1};
static const kube_resource res_daemonsets = {"apps", "v1", "daemonsets", "DaemonSet", 1};
static const kube_resource res_jobs = {"batch", "v1", "jobs", "Job", 1};
static const kube_resource res_pvcs = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1};

static const kube_resource *const verified_kinds[] = {
        &res_deployments, &res_statefulsets, &res_daemonsets, &res_jobs, &res_pvcs,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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
		const char *name = rollback_object_name(object);
		const char *ns = rollback_object_ns(object, run->ctx->ns);
		if (!res || !name[0])
			continue;
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
		if (strcmp(rollback_object_name(item), name) == 0)
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
