/* Cluster mode: targets, concurrent paginated LISTs, owner matching, live evidence. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include <kube/alloc.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/discovery.h>
#include <kube/error.h>

#include "checks/checks.h"
#include "cluster.h"
#include "cluster_compact.h"
#include "exercise.h"
#include "keymap.h"

#define MAX_LISTS   16
#define MAX_TARGETS 16 /* distinct resource types named at once */

/* What a list is for (one list may serve several). */
enum {
	ROLE_TARGET = 1,  /* a target's type: audited */
	ROLE_PARENTS = 2, /* ReplicaSets, Jobs: uid -> owner uid */
	ROLE_PODS = 4,    /* compact pods */
	ROLE_CONTEXT = 8, /* Services, PDBs: compact, fed to the engine */
	ROLE_EVENTS = 16, /* compact probe events by pod */
};

/* A keymap value: a list kept in order. */
struct pod_list {
	probecheck_pod_link *first, *last;
};
struct event_list {
	probecheck_event *first, *last;
};

struct cluster;

/* One LIST with its own client (kube_client is not thread-safe), run on its
 * own thread (the streamed list: on the calling thread, after the others);
 * the failure is copied out of the thread's error record. Each page is
 * reduced to what its roles need as it arrives, into the job's own arena
 * (no locking: only its thread writes it). */
struct list_job {
	struct cluster *cl;
	kube_client *client;
	kube_resource res;
	const char *ns;             /* "" for all namespaces */
	const char *selector;       /* label selector or NULL */
	const char *field_selector; /* field selector or NULL */
	char api_version[320];
	unsigned roles;
	struct target *target;    /* ROLE_TARGET: the target streamed from this list, or NULL */
	json_t *items;            /* owned: buffered targets' items */
	json_t *compact;          /* owned: compact Services/PDBs */
	probecheck_arena arena;   /* compact pods and events, the map's keys and values */
	probecheck_pod *pods;     /* ROLE_PODS, in list order */
	probecheck_pod *last_pod; /* the last of pods */
	probecheck_keymap map;    /* ROLE_PARENTS uid -> owner uid; ROLE_EVENTS "ns/name" -> struct event_list */
	size_t mark;              /* streamed: the engine's workload count before the first page */
	int aborted;              /* streamed: stopped because another list failed */
	int rc;
	long http_status;
	char message[1024];
};

/* A resource type the user asked for: every object of it, or those names. */
struct target {
	kube_resource res;
	int all;
	const char **names;
	unsigned char *found; /* streamed: per name */
	size_t name_count;
	struct list_job *job;
};

struct cluster {
	const cli_args *args;
	kube_config *config;
	kube_client *clients[MAX_LISTS + 1]; /* [0]: discovery */
	struct list_job jobs[MAX_LISTS];
	size_t job_count;
	struct target targets[MAX_TARGETS];
	size_t target_count;
	const char *ns;
	json_t *workloads;                       /* buffered: the selected objects, in audit order */
	json_t *uid_index;                       /* buffered: uid -> index into workloads */
	probecheck_arena arena;                  /* the pod index */
	probecheck_keymap pods_by_uid;           /* workload uid -> struct pod_list */
	const probecheck_pod_link *current_pods; /* the pods of the workload being audited */
	size_t current;                          /* buffered: the workload being audited */
	int exercise;                            /* --exercise */
	probecheck_exercise_set exercised;
	probecheck_engine *engine;
	struct list_job *stream; /* the one target list audited page by page, or NULL */
	int evidence_failed;     /* streamed: another list failed, the streamed one stops at its first page */
};

static int audit_item(struct cluster *cl, struct target *t, const json_t *item);
static int index_pods(struct cluster *cl, const json_t *selected);
static int feed_context(struct cluster *cl);

/* The key of a pod's Events: "namespace/name", cut at 511 bytes. */
static void pod_key(char key[512], const char *ns, const char *name)
{
	(void)snprintf(key, 512, "%s/%s", ns ? ns : "", name ? name : "");
}

static int add_event(struct list_job *job, const json_t *event)
{
	char key[512];
	const json_t *involved = probecheck_json_object(event, "involvedObject");
	const char *name = probecheck_json_string(involved, "name");
	const char *ns = probecheck_json_string(involved, "namespace");
	if (!ns)
		ns = probecheck_json_string(probecheck_json_object(event, "metadata"), "namespace");
	if (!name || !ns || !probecheck_event_wanted(event))
		return 0;
	pod_key(key, ns, name);
	void **slot = probecheck_keymap_slot(&job->map, key);
	struct event_list *list = slot ? *slot : NULL;
	if (slot && !list && (list = probecheck_arena_alloc(&job->arena, sizeof(*list)))) {
		list->first = list->last = NULL;
		*slot = list;
	}
	probecheck_event *added = list ? probecheck_compact_event(&job->arena, event) : NULL;
	if (!added)
		return KUBE_ENOMEM;
	if (list->last)
		list->last->next = added;
	else
		list->first = added;
	list->last = added;
	return 0;
}

static int add_pod(struct list_job *job, const json_t *item)
{
	probecheck_pod *pod = probecheck_compact_pod(&job->arena, item, job->cl->exercise);
	if (!pod)
		return KUBE_ENOMEM;
	if (job->last_pod)
		job->last_pod->next = pod;
	else
		job->pods = pod;
	job->last_pod = pod;
	return 0;
}

static int add_parent(struct list_job *job, const json_t *item)
{
	const char *uid = probecheck_json_string(probecheck_json_object(item, "metadata"), "uid");
	const char *owner = probecheck_owner_uid(item);
	if (!uid || !owner)
		return 0;
	void **slot = probecheck_keymap_slot(&job->map, uid);
	if (!slot || !(*slot = probecheck_arena_strdup(&job->arena, owner)))
		return KUBE_ENOMEM;
	return 0;
}

/* Drops what the job's earlier pages gave (a listing that started over,
 * or the end). */
static void job_reset(struct list_job *job)
{
	for (probecheck_pod *pod = job->pods; pod; pod = pod->next)
		probecheck_pod_release(pod);
	job->pods = job->last_pod = NULL;
	probecheck_keymap_clear(&job->map);
	probecheck_arena_dispose(&job->arena);
}

static int page_item(struct list_job *job, json_t *item)
{
	int rc;
	if (job->roles & ROLE_TARGET) {
		/* list items carry no kind or apiVersion: the engine needs them */
		if (json_object_set_new(item, "kind", json_string(job->res.kind)) ||
		    json_object_set_new(item, "apiVersion", json_string(job->api_version)))
			return KUBE_ENOMEM;
		if (job->target) {
			/* listed after the others: a failure of theirs stops it here,
			 * where its own error (the first in job order) is known */
			if (job->cl->evidence_failed) {
				job->aborted = 1;
				return KUBE_ERROR;
			}
			return audit_item(job->cl, job->target, item);
		}
		if (json_array_append(job->items, item))
			return KUBE_ENOMEM;
	}
	if ((job->roles & ROLE_PARENTS) && (rc = add_parent(job, item)))
		return rc;
	if ((job->roles & ROLE_PODS) && (rc = add_pod(job, item)))
		return rc;
	if ((job->roles & ROLE_CONTEXT) &&
	    json_array_append_new(job->compact, probecheck_compact_selecting(item, job->res.kind, job->api_version)))
		return KUBE_ENOMEM;
	if (job->roles & ROLE_EVENTS)
		return add_event(job, item);
	return 0;
}

static int page(const json_t *items, int first_page, void *user)
{
	struct list_job *job = user;
	if (first_page) {
		/* a listing that started over: drop what earlier pages gave */
		if (json_array_clear(job->items) || json_array_clear(job->compact))
			return KUBE_ENOMEM;
		job_reset(job);
		if (job->target) {
			probecheck_engine_truncate(job->cl->engine, job->mark);
			if (job->target->found)
				memset(job->target->found, 0, job->target->name_count);
		}
	}
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		int rc = page_item(job, item);
		if (rc)
			return rc;
	}
	return 0;
}

static void *run_job(void *arg)
{
	struct list_job *job = arg;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	opts.label_selector = job->selector;
	opts.field_selector = job->field_selector;
	/* ReplicaSets and Jobs listed only for their owners: their metadata
	 * alone is less for the API server to send and decodes to a quarter
	 * less memory. */
	opts.metadata_only = job->roles == ROLE_PARENTS;
	opts.limit = 500;
	job->rc = kube_client_list_pages(job->client, &job->res, job->ns, &opts, page, job, NULL);
	if (job->rc) {
		const kube_error *e = kube_error_last();
		job->http_status = e->http_status;
		(void)snprintf(job->message, sizeof(job->message), "%s", e->message);
		if (*e->server_message && !strstr(e->message, e->server_message))
			(void)snprintf(job->message + strlen(job->message), sizeof(job->message) - strlen(job->message),
			               ": %s", e->server_message);
	}
	return NULL;
}

static void set_resource(kube_resource *res, const char *group, const char *version, const char *resource,
                         const char *kind)
{
	memset(res, 0, sizeof(*res));
	(void)snprintf(res->group, sizeof(res->group), "%s", group);
	(void)snprintf(res->version, sizeof(res->version), "%s", version);
	(void)snprintf(res->resource, sizeof(res->resource), "%s", resource);
	(void)snprintf(res->kind, sizeof(res->kind), "%s", kind);
	res->namespaced = 1;
}

/* The job listing res with selector, added when no job does yet. */
static struct list_job *add_job(struct cluster *cl, const kube_resource *res, const char *selector)
{
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		if (strcmp(job->res.group, res->group) == 0 && strcmp(job->res.resource, res->resource) == 0 &&
		    ((!job->selector && !selector) || (job->selector && selector && !strcmp(job->selector, selector))))
			return job;
	}
	if (cl->job_count == MAX_LISTS)
		return NULL;
	struct list_job *job = &cl->jobs[cl->job_count++];
	memset(job, 0, sizeof(*job));
	job->res = *res;
	job->cl = cl;
	job->ns = cl->ns;
	job->selector = selector;
	job->map.arena = &job->arena;
	char api_version[sizeof(job->api_version)];
	(void)snprintf(api_version, sizeof(api_version), "%s%s%s", res->group, *res->group ? "/" : "", res->version);
	memcpy(job->api_version, api_version, sizeof(api_version));
	return job;
}

static int add_core_job(struct cluster *cl, const char *group, const char *version, const char *resource,
                        const char *kind, unsigned role)
{
	kube_resource res;
	set_resource(&res, group, version, resource, kind);
	struct list_job *job = add_job(cl, &res, NULL);
	if (job)
		job->roles |= role;
	/* Only Pods' Events are read, and of those not the kinds every pod
	 * start writes (the bulk of a cluster's Events: one Scheduled per pod,
	 * then Pulling, Pulled, Created, Started per container): the API
	 * server leaves them out, and a cluster of 5,000 pods lists in one
	 * page instead of twenty. The reasons the audit reads (Unhealthy,
	 * Killing, ProbeWarning: cluster_compact.c) are not among them. A
	 * field selector cannot say "one of", only "not this". */
	if (job && role == ROLE_EVENTS)
		job->field_selector = "involvedObject.kind=Pod,reason!=Scheduled,reason!=Pulling,reason!=Pulled,"
		                      "reason!=Created,reason!=Started";
	return job != NULL;
}

static const char *const workload_kinds[] = {
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod", "Job", "CronJob"};

static int is_workload_kind(const kube_resource *res)
{
	for (size_t i = 0; i < sizeof(workload_kinds) / sizeof(workload_kinds[0]); i++)
		if (strcmp(res->kind, workload_kinds[i]) == 0)
			return 1;
	return 0;
}

/* Resolves a type name into a target (merged with an earlier one of the same type). */
static int add_target(struct cluster *cl, const char *type, size_t type_len, const char *name)
{
	char buf[256];
	kube_resource res;
	if (type_len == 0 || type_len >= sizeof(buf))
		return cli_usage_error(cl->args, "invalid target \"%s\"", type);
	(void)snprintf(buf, sizeof(buf), "%.*s", (int)type_len, type);
	int rc = kube_discovery_resolve(cl->clients[0], &res, buf);
	if (rc == KUBE_ENOTFOUND) {
		cli_error("%s", kube_error_last()->message);
		return CLI_EXIT_USAGE;
	}
	if (rc)
		return cli_error_kube(NULL, rc);
	if (!is_workload_kind(&res))
		return cli_usage_error(cl->args,
		                       "probecheck audits Deployment, StatefulSet, DaemonSet, ReplicaSet, "
		                       "ReplicationController, Pod, Job and CronJob, not %s (\"%s\")",
		                       res.kind, buf);
	struct target *t = NULL;
	for (size_t i = 0; i < cl->target_count; i++)
		if (strcmp(cl->targets[i].res.group, res.group) == 0 &&
		    strcmp(cl->targets[i].res.resource, res.resource) == 0)
			t = &cl->targets[i];
	if (!t) {
		if (cl->target_count == MAX_TARGETS)
			return cli_usage_error(cl->args, "too many resource types");
		t = &cl->targets[cl->target_count++];
		memset(t, 0, sizeof(*t));
		t->res = res;
	}
	if (!name) {
		t->all = 1;
		return 0;
	}
	if (!*name)
		return cli_usage_error(cl->args, "invalid target \"%s/\": no name", buf);
	const char **grown = kube_realloc(t->names, (t->name_count + 1) * sizeof(*grown));
	if (!grown)
		return cli_error_nomem();
	t->names = grown;
	t->names[t->name_count++] = name;
	return 0;
}

/* kubectl's forms: TYPE/NAME ..., TYPE, or TYPE NAME .... */
static int parse_targets(struct cluster *cl)
{
	const cli_args *args = cl->args;
	const char *selector = cli_flag_string(args, "selector");
	int rc;
	if (args->positional_count == 0)
		return cli_usage_error(args, "-l and -A need a resource type: e.g. deploy -l app=web, or deploy -A");
	const char *first = args->positional[0];
	if (!strchr(first, '/')) {
		for (size_t i = 1; i < args->positional_count; i++)
			if (strchr(args->positional[i], '/'))
				return cli_usage_error(
				        args,
				        "there is no need to specify a resource type as a separate argument "
				        "when passing arguments in resource/name form (e.g. '%s' instead "
				        "of '%s %s')",
				        args->positional[i], first, args->positional[i]);
		/* TYPE[,TYPE...] [NAME...] */
		for (const char *type = first; *type;) {
			size_t len = strcspn(type, ",");
			for (size_t i = 1; i < args->positional_count; i++)
				if ((rc = add_target(cl, type, len, args->positional[i])))
					return rc;
			if (args->positional_count == 1 && (rc = add_target(cl, type, len, NULL)))
				return rc;
			type += len + (type[len] == ',');
		}
	} else {
		for (size_t i = 0; i < args->positional_count; i++) {
			const char *arg = args->positional[i];
			const char *slash = strchr(arg, '/');
			if (!slash)
				return cli_usage_error(args,
				                       "arguments in resource/name form must have a single resource "
				                       "and name: \"%s\"",
				                       arg);
			if (strchr(slash + 1, '/'))
				return cli_usage_error(args, "invalid target \"%s\"", arg);
			if ((rc = add_target(cl, arg, (size_t)(slash - arg), slash + 1)))
				return rc;
		}
	}
	for (size_t i = 0; i < cl->target_count; i++) {
		if (cl->targets[i].name_count && selector)
			return cli_usage_error(args, "name cannot be provided when a selector is specified");
		if (cl->targets[i].name_count && args->all_namespaces)
			return cli_usage_error(args, "a resource cannot be retrieved by name across all namespaces");
	}
	return 0;
}

/* The lists: the targets' types (with -l), ReplicaSets for Deployments,
 * Jobs for CronJobs, then Pods, Services, PDBs and Events. */
static int plan_lists(struct cluster *cl)
{
	const char *selector = cli_flag_string(cl->args, "selector");
	int need_rs = 0, need_jobs = 0;
	for (size_t i = 0; i < cl->target_count; i++) {
		struct target *t = &cl->targets[i];
		if (!(t->job = add_job(cl, &t->res, selector)))
			return cli_usage_error(cl->args, "too many resource types");
		t->job->roles |= ROLE_TARGET;
		need_rs |= strcmp(t->res.kind, "Deployment") == 0;
		need_jobs |= strcmp(t->res.kind, "CronJob") == 0;
	}
	if ((need_rs && !add_core_job(cl, "apps", "v1", "replicasets", "ReplicaSet", ROLE_PARENTS)) ||
	    (need_jobs && !add_core_job(cl, "batch", "v1", "jobs", "Job", ROLE_PARENTS)) ||
	    !add_core_job(cl, "", "v1", "pods", "Pod", ROLE_PODS) ||
	    !add_core_job(cl, "", "v1", "services", "Service", ROLE_CONTEXT) ||
	    !add_core_job(cl, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", ROLE_CONTEXT) ||
	    !add_core_job(cl, "", "v1", "events", "Event", ROLE_EVENTS))
		return cli_usage_error(cl->args, "too many resource types");
	/* One target whose list serves nothing else is listed once the
	 * evidence is in and audited page by page: its objects are never all
	 * held at once. --exercise needs every workload before it runs:
	 * buffered. */
	struct target *t = &cl->targets[0];
	if (cl->target_count == 1 && t->job->roles == ROLE_TARGET && !cl->exercise) {
		if (t->name_count && !(t->found = kube_calloc(t->name_count, 1)))
			return cli_error_nomem();
		t->job->target = t;
		cl->stream = t->job;
	}
	return 0;
}

/* Every list but the streamed one is in: indexes the pods and hands the
 * Services and PDBs to the engine, so the streamed list can be audited
 * page by page, or marks it to stop when a list failed. */
static int release_stream(struct cluster *cl, int failed)
{
	int rc = 0;
	if (!failed && !(rc = index_pods(cl, NULL)))
		rc = feed_context(cl);
	cl->evidence_failed = failed || rc;
	return rc;
}

/* mimalloc's, when it is linked in (a weak reference: NULL otherwise). */
extern void mi_collect(bool force) __attribute__((weak));

/* Each list thread's malloc arena keeps the freed memory of the last page
 * it decoded (tens of MiB for a page of Pods or ReplicaSets), which no
 * other thread reuses: once the threads are done, it goes back to the
 * system before the audit (and the streamed list) starts. */
static void release_list_memory(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
	/* release builds: mimalloc in place of musl's malloc
	 * (scripts/static-deps.sh); the ended threads' abandoned pages are
	 * collected and given back now, not some time later */
	if (mi_collect)
		mi_collect(true);
}

/* Runs every list at once, one thread and one client each, except the
 * streamed one: it holds a decoded page for as long as it audits, so it
 * runs on this thread once the others are in and their memory released. */
static int run_lists(struct cluster *cl)
{
	/* Five lists at once would hold five decoded 500-object pages: bound
	 * it; 2 keeps both cores busy. */
	kube_list_set_max_pages(2);
	pthread_t threads[MAX_LISTS];
	int started[MAX_LISTS] = {0};
	int rc = 0, failed = 0;
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		if (!(job->items = json_array()) || !(job->compact = json_array()))
			return cli_error_nomem();
		if ((rc = kube_client_new(&cl->clients[i + 1], cl->config, NULL)))
			return cli_error_kube(NULL, rc);
		job->client = cl->clients[i + 1];
	}
	for (size_t i = 0; i < cl->job_count; i++) {
		if (&cl->jobs[i] == cl->stream)
			continue;
		if (pthread_create(&threads[i], NULL, run_job, &cl->jobs[i]) == 0)
			started[i] = 1;
		else
			run_job(&cl->jobs[i]); /* no thread to spare: run it here */
	}
	for (size_t i = 0; i < cl->job_count; i++) {
		if (started[i])
			(void)pthread_join(threads[i], NULL);
		failed |= &cl->jobs[i] != cl->stream && cl->jobs[i].rc;
	}
	release_list_memory();
	int stream_rc = 0;
	if (cl->stream) {
		cl->stream->mark = probecheck_engine_workload_count(cl->engine);
		stream_rc = release_stream(cl, failed);
		run_job(cl->stream);
	}
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		if (!job->rc || job->aborted)
			continue;
		if (job->rc == KUBE_ENOMEM)
			return cli_error_nomem();
		cli_error("%s", job->message);
		const char *hint = cli_hint_for_kube(job->rc);
		if (hint)
			cli_hint("%s", hint);
		return cli_exit_from_kube(job->rc, job->http_status);
	}
	return stream_rc;
}

static const char *meta_string(const json_t *object, const char *key)
{
	return probecheck_json_string(probecheck_json_object(object, "metadata"), key);
}

/* Selects the targets' objects in audit order; a missing name is exit 4. */
static int select_workloads(struct cluster *cl)
{
	for (size_t i = 0; i < cl->target_count; i++) {
		struct target *t = &cl->targets[i];
		for (size_t n = 0; n < t->name_count; n++) {
			int found = 0;
			size_t k;
			json_t *item;
			json_array_foreach(t->job->items, k, item)
			{
				const char *name = meta_string(item, "name");
				if (name && strcmp(name, t->names[n]) == 0)
					found = 1;
			}
			if (!found) {
				cli_error("%s%s%s \"%s\" not found", t->res.resource, *t->res.group ? "." : "",
				          t->res.group, t->names[n]);
				return CLI_EXIT_API;
			}
		}
		size_t k;
		json_t *item;
		json_array_foreach(t->job->items, k, item)
		{
			const char *name = meta_string(item, "name");
			const char *uid = meta_string(item, "uid");
			int wanted = t->all;
			for (size_t n = 0; !wanted && n < t->name_count; n++)
				wanted = name && strcmp(name, t->names[n]) == 0;
			if (!wanted || (uid && json_object_get(cl->uid_index, uid)))
				continue;
			if ((uid && json_object_set_new(cl->uid_index, uid,
			                                json_integer((json_int_t)json_array_size(cl->workloads)))) ||
			    json_array_append(cl->workloads, item))
				return cli_error_nomem();
		}
	}
	return 0;
}

static int append_pod(struct cluster *cl, const char *uid, const probecheck_pod *pod)
{
	void **slot = probecheck_keymap_slot(&cl->pods_by_uid, uid);
	struct pod_list *list = slot ? *slot : NULL;
	if (slot && !list && (list = probecheck_arena_alloc(&cl->arena, sizeof(*list)))) {
		list->first = list->last = NULL;
		*slot = list;
	}
	probecheck_pod_link *link = list ? probecheck_arena_alloc(&cl->arena, sizeof(*link)) : NULL;
	if (!link)
		return KUBE_ENOMEM;
	link->pod = pod;
	link->next = NULL;
	if (list->last)
		list->last->next = link;
	else
		list->first = link;
	list->last = link;
	return 0;
}

/* Ties pods to their Events and to workloads through their owners (Pod,
 * ReplicaSet or Job, Deployment or CronJob): with selected (uid ->
 * workload), to the first selected uid of that chain, as the workloads are
 * known; without (streamed, one target type), to every uid of the chain,
 * of which only the one of the target's type can be audited. */
static int index_pods(struct cluster *cl, const json_t *selected)
{
	const probecheck_keymap *parents[2] = {NULL, NULL}; /* ReplicaSet/Job uid -> its owner's uid */
	const probecheck_keymap *events = NULL;
	size_t parent_count = 0;
	probecheck_pod *pods = NULL;
	char key[512];
	for (size_t i = 0; i < cl->job_count; i++) {
		if ((cl->jobs[i].roles & ROLE_PARENTS) && parent_count < 2)
			parents[parent_count++] = &cl->jobs[i].map;
		if (cl->jobs[i].roles & ROLE_PODS)
			pods = cl->jobs[i].pods;
		if (cl->jobs[i].roles & ROLE_EVENTS)
			events = &cl->jobs[i].map;
	}
	for (probecheck_pod *pod = pods; pod; pod = pod->next) {
		pod_key(key, pod->namespace_name, pod->name);
		const struct event_list *list = events ? probecheck_keymap_get(events, key) : NULL;
		pod->events = list ? list->first : NULL;
		const char *chain[4] = {pod->uid, pod->owner_uid, NULL, NULL};
		for (int depth = 2; depth < 4 && chain[depth - 1]; depth++)
			for (size_t p = 0; p < parent_count && !chain[depth]; p++)
				chain[depth] = probecheck_keymap_get(parents[p], chain[depth - 1]);
		for (int depth = 0; depth < 4 && (depth < 1 || chain[depth]); depth++) {
			if (!chain[depth] || (selected && !json_object_get(selected, chain[depth])))
				continue;
			if (append_pod(cl, chain[depth], pod))
				return cli_error_nomem();
			if (selected)
				break;
		}
	}
	return 0;
}

static int live_hook(probecheck_ctx *ctx, void *user)
{
	struct cluster *cl = user;
	int rc = probecheck_check_live(ctx, cl->current_pods);
	if (!rc && cl->exercise)
		rc = probecheck_check_active(ctx, &cl->exercised, cl->current);
	return rc;
}

static const probecheck_pod_link *pods_of(struct cluster *cl, const json_t *workload)
{
	const char *uid = meta_string(workload, "uid");
	const struct pod_list *list = uid ? probecheck_keymap_get(&cl->pods_by_uid, uid) : NULL;
	return list ? list->first : NULL;
}

/* --exercise: every probe of the selected workloads' running pods, run
 * now. When every one was refused by the API server (no create on
 * pods/portforward and pods/exec), that is the error (exit 4); when only
 * some were, each pod concerned gets one warning line. */
static int exercise(struct cluster *cl)
{
	long samples = cli_flag_long(cl->args, "samples", 3);
	for (size_t w = 0; w < json_array_size(cl->workloads); w++) {
		const probecheck_pod_link *link = pods_of(cl, json_array_get(cl->workloads, w));
		for (; link; link = link->next)
			if (probecheck_exercise_add_pod(&cl->exercised, w, link->pod))
				return cli_error_nomem();
	}
	int rc = probecheck_exercise_run(&cl->exercised, cl->config, (int)samples);
	if (rc)
		return cli_error_kube("--exercise: GET /version", rc);
	const probecheck_exercise_set *set = &cl->exercised;
	size_t failed = 0;
	for (size_t i = 0; i < set->count; i++)
		failed += set->items[i].state == PROBECHECK_EXERCISE_FAILED;
	if (!set->count) {
		cli_warning("--exercise: no running container with a probe in the selected pods");
		return 0;
	}
	if (failed == set->count) {
		cli_error("--exercise: %s", set->items[0].error);
		const char *hint = cli_hint_for_kube(set->items[0].api_rc);
		if (hint)
			cli_hint("%s", hint);
		return cli_exit_from_kube(set->items[0].api_rc, set->items[0].http_status);
	}
	const char *warned = NULL;
	for (size_t i = 0; i < set->count; i++) {
		const probecheck_exercise *x = &set->items[i];
		if (x->state != PROBECHECK_EXERCISE_FAILED || (warned && strcmp(warned, x->pod) == 0))
			continue;
		cli_warning("--exercise: pod %s/%s not exercised: %s", x->ns, x->pod, x->error);
		warned = x->pod;
	}
	return 0;
}

/* Services and PDBs first: the engine resolves what depends on them at the end. */
static int feed_context(struct cluster *cl)
{
	char err[1024];
	probecheck_source source = {NULL, 0, NULL, 0};
	for (size_t i = 0; i < cl->job_count; i++) {
		if (!(cl->jobs[i].roles & ROLE_CONTEXT))
			continue;
		size_t k;
		json_t *item;
		json_array_foreach(cl->jobs[i].compact, k, item)
		{
			int rc = probecheck_engine_add(cl->engine, item, &source, err, sizeof(err));
			if (rc == KUBE_ENOMEM)
				return cli_error_nomem();
			if (rc)
				cli_warning("%s", err);
		}
	}
	return 0;
}

static int audit_item(struct cluster *cl, struct target *t, const json_t *item)
{
	char err[1024];
	probecheck_source source = {NULL, 0, NULL, 0};
	if (t) { /* streamed: select here */
		const char *name = meta_string(item, "name");
		int wanted = t->all;
		for (size_t n = 0; n < t->name_count; n++)
			if (name && strcmp(name, t->names[n]) == 0)
				wanted = t->found[n] = 1;
		if (!wanted)
			return 0;
	}
	cl->current_pods = pods_of(cl, item);
	int rc = probecheck_engine_add(cl->engine, item, &source, err, sizeof(err));
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc)
		cli_warning("%s/%s: %s", meta_string(item, "namespace"), meta_string(item, "name"), err);
	return 0;
}

/* Streamed: a name the list did not have is exit 4, as when buffered. */
static int check_found(struct cluster *cl)
{
	const struct target *t = cl->stream->target;
	for (size_t n = 0; n < t->name_count; n++) {
		if (!t->found[n]) {
			cli_error("%s%s%s \"%s\" not found", t->res.resource, *t->res.group ? "." : "", t->res.group,
			          t->names[n]);
			return CLI_EXIT_API;
		}
	}
	return 0;
}

static int feed(struct cluster *cl)
{
	int rc = feed_context(cl);
	size_t k;
	json_t *item;
	json_array_foreach(cl->workloads, k, item)
	{
		if (rc)
			break;
		cl->current = k;
		if (audit_item(cl, NULL, item))
			rc = cli_error_nomem();
	}
	return rc;
}

static void cluster_dispose(struct cluster *cl)
{
	for (size_t i = 0; i < cl->job_count; i++) {
		json_decref(cl->jobs[i].items);
		json_decref(cl->jobs[i].compact);
		job_reset(&cl->jobs[i]);
		probecheck_keymap_dispose(&cl->jobs[i].map);
	}
	for (size_t i = 0; i < cl->target_count; i++) {
		kube_free(cl->targets[i].names);
		kube_free(cl->targets[i].found);
	}
	for (size_t i = 0; i <= MAX_LISTS; i++)
		kube_client_free(cl->clients[i]);
	json_decref(cl->workloads);
	json_decref(cl->uid_index);
	probecheck_keymap_dispose(&cl->pods_by_uid);
	probecheck_arena_dispose(&cl->arena);
	probecheck_exercise_set_dispose(&cl->exercised);
	kube_config_free(cl->config);
}

int probecheck_cluster_audit(const cli_args *args, probecheck_options *options, probecheck_engine **out)
{
	struct cluster cl;
	int rc;
	*out = NULL;
	memset(&cl, 0, sizeof(cl));
	cl.args = args;
	cl.exercise = cli_flag_bool(args, "exercise");
	cl.workloads = json_array();
	cl.uid_index = json_object();
	cl.pods_by_uid.arena = &cl.arena;
	if (!cl.workloads || !cl.uid_index) {
		rc = cli_error_nomem();
		goto done;
	}
	if ((rc = kube_config_load(&cl.config, &args->config))) {
		rc = cli_error_kube(NULL, rc);
		goto done;
	}
	if ((rc = kube_client_new(&cl.clients[0], cl.config, NULL))) {
		rc = cli_error_kube(NULL, rc);
		goto done;
	}
	cl.ns = args->all_namespaces ? "" : kube_config_namespace(cl.config);
	if ((rc = parse_targets(&cl)) || (rc = plan_lists(&cl)))
		goto done;
	options->default_namespace = cl.ns;
	options->hook = live_hook;
	options->hook_user = &cl;
	if (probecheck_engine_new(&cl.engine, options)) {
		rc = cli_error_nomem();
		goto done;
	}
	if ((rc = run_lists(&cl)))
		goto done;
	if (cl.stream) {
		rc = check_found(&cl);
	} else if (!(rc = select_workloads(&cl)) && !(rc = index_pods(&cl, cl.uid_index)) &&
	           !(cl.exercise && (rc = exercise(&cl)))) {
		rc = feed(&cl);
	}
	if (!rc && (rc = probecheck_engine_finish(cl.engine)))
		rc = rc == KUBE_ENOMEM ? cli_error_nomem() : CLI_EXIT_FAIL; /* else said why */
	if (!rc && cl.exercise &&
	    !(probecheck_engine_report(cl.engine)->exercised = probecheck_exercise_json(&cl.exercised, cl.workloads)))
		rc = cli_error_nomem();
done:
	options->hook = NULL;
	options->hook_user = NULL;
	options->default_namespace = NULL;
	if (rc) {
		probecheck_engine_free(cl.engine);
		cl.engine = NULL;
	}
	*out = cl.engine;
	cluster_dispose(&cl);
	return rc;
}
