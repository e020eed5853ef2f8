/* Cluster mode: targets, concurrent paginated LISTs, owner matching, live evidence. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/discovery.h>
#include <kube/error.h>

#include "checks/checks.h"
#include "cluster.h"
#include "exercise.h"

#define MAX_LISTS   16
#define MAX_TARGETS 16 /* distinct resource types named at once */

/* One LIST, run on its own thread with its own client (kube_client is not
 * thread-safe); the failure is copied out of the thread's error record. */
struct list_job {
	kube_client *client;
	kube_resource res;
	const char *ns;       /* "" for all namespaces */
	const char *selector; /* label selector or NULL */
	const char *kind;     /* set on every item (list items carry none) */
	const char *api_version;
	json_t *items; /* owned: the items of every page */
	int rc;
	long http_status;
	char message[1024];
};

/* A resource type the user asked for: every object of it, or those names. */
struct target {
	kube_resource res;
	int all;
	const char **names;
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
	json_t *workloads;     /* array of the selected objects, in audit order */
	json_t *uid_index;     /* uid -> index into workloads */
	json_t *pods_of;       /* array (one per workload) of arrays of pods */
	json_t *events_by_pod; /* "ns/name" -> array of Events */
	size_t current;        /* the workload being audited */
	int exercise;          /* --exercise */
	probecheck_exercise_set exercised;
};

static int page(const json_t *items, int first_page, void *user)
{
	struct list_job *job = user;
	if (first_page && json_array_clear(job->items))
		return KUBE_ENOMEM;
	return json_array_extend(job->items, (json_t *)items) ? KUBE_ENOMEM : 0;
}

static void *run_job(void *arg)
{
	struct list_job *job = arg;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	opts.label_selector = job->selector;
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
	job->ns = cl->ns;
	job->selector = selector;
	job->kind = job->res.kind;
	job->api_version = NULL;
	return job;
}

static struct list_job *add_core_job(struct cluster *cl, const char *group, const char *version, const char *resource,
                                     const char *kind)
{
	kube_resource res;
	set_resource(&res, group, version, resource, kind);
	return add_job(cl, &res, NULL);
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
		need_rs |= strcmp(t->res.kind, "Deployment") == 0;
		need_jobs |= strcmp(t->res.kind, "CronJob") == 0;
	}
	if ((need_rs && !add_core_job(cl, "apps", "v1", "replicasets", "ReplicaSet")) ||
	    (need_jobs && !add_core_job(cl, "batch", "v1", "jobs", "Job")) ||
	    !add_core_job(cl, "", "v1", "pods", "Pod") || !add_core_job(cl, "", "v1", "services", "Service") ||
	    !add_core_job(cl, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget") ||
	    !add_core_job(cl, "", "v1", "events", "Event"))
		return cli_usage_error(cl->args, "too many resource types");
	return 0;
}

static struct list_job *find_job(struct cluster *cl, const char *resource)
{
	for (size_t i = 0; i < cl->job_count; i++)
		if (strcmp(cl->jobs[i].res.resource, resource) == 0 && !cl->jobs[i].selector)
			return &cl->jobs[i];
	return NULL;
}

/* Runs every list at once, one thread and one client each. */
static int run_lists(struct cluster *cl)
{
	pthread_t threads[MAX_LISTS];
	int started[MAX_LISTS] = {0};
	int rc = 0;
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		if (!(job->items = json_array()))
			return cli_error_nomem();
		if ((rc = kube_client_new(&cl->clients[i + 1], cl->config, NULL)))
			return cli_error_kube(NULL, rc);
		job->client = cl->clients[i + 1];
	}
	for (size_t i = 0; i < cl->job_count; i++) {
		if (pthread_create(&threads[i], NULL, run_job, &cl->jobs[i]) == 0)
			started[i] = 1;
		else
			run_job(&cl->jobs[i]); /* no thread to spare: run it here */
	}
	for (size_t i = 0; i < cl->job_count; i++)
		if (started[i])
			(void)pthread_join(threads[i], NULL);
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		if (!job->rc)
			continue;
		if (job->rc == KUBE_ENOMEM)
			return cli_error_nomem();
		cli_error("%s", job->message);
		const char *hint = cli_hint_for_kube(job->rc);
		if (hint)
			cli_hint("%s", hint);
		return cli_exit_from_kube(job->rc, job->http_status);
	}
	/* list items carry no kind or apiVersion: the engine needs them */
	for (size_t i = 0; i < cl->job_count; i++) {
		struct list_job *job = &cl->jobs[i];
		char api_version[320];
		if (*job->res.group)
			(void)snprintf(api_version, sizeof(api_version), "%s/%s", job->res.group, job->res.version);
		else
			(void)snprintf(api_version, sizeof(api_version), "%s", job->res.version);
		size_t k;
		json_t *item;
		json_array_foreach(job->items, k, item)
		{
			if (json_object_set_new(item, "kind", json_string(job->res.kind)) ||
			    json_object_set_new(item, "apiVersion", json_string(api_version)))
				return cli_error_nomem();
		}
	}
	return 0;
}

static const char *meta_string(const json_t *object, const char *key)
{
	return probecheck_json_string(probecheck_json_object(object, "metadata"), key);
}

/* The uid of object's controller (or first) owner, or NULL. */
static const char *owner_uid(const json_t *object)
{
	const json_t *refs = probecheck_json_array(probecheck_json_object(object, "metadata"), "ownerReferences");
	const char *first = NULL;
	size_t i;
	const json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		const char *uid = probecheck_json_string(ref, "uid");
		if (!first)
			first = uid;
		if (json_is_true(json_object_get(ref, "controller")))
			return uid;
	}
	return first;
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
			    json_array_append(cl->workloads, item) || json_array_append_new(cl->pods_of, json_array()))
				return cli_error_nomem();
		}
	}
	return 0;
}

/* The workload index a pod belongs to, through ReplicaSets and Jobs, or -1. */
static long pod_workload(struct cluster *cl, const json_t *pod, const json_t *parents)
{
	const char *uid = meta_string(pod, "uid");
	const json_t *index = uid ? json_object_get(cl->uid_index, uid) : NULL; /* a Pod target */
	for (int depth = 0; !index && depth < 3; depth++) {
		uid = depth == 0 ? owner_uid(pod) : probecheck_json_string(parents, uid);
		if (!uid)
			return -1;
		index = json_object_get(cl->uid_index, uid);
	}
	return index ? (long)json_integer_value(index) : -1;
}

static int index_evidence(struct cluster *cl)
{
	json_t *parents = json_object(); /* ReplicaSet/Job uid -> its owner's uid */
	if (!parents)
		return cli_error_nomem();
	const char *owned[] = {"replicasets", "jobs"};
	for (size_t o = 0; o < 2; o++) {
		struct list_job *job = find_job(cl, owned[o]);
		size_t k;
		json_t *item;
		json_array_foreach(job ? job->items : NULL, k, item)
		{
			const char *uid = meta_string(item, "uid"), *owner = owner_uid(item);
			if (uid && owner && json_object_set_new(parents, uid, json_string(owner))) {
				json_decref(parents);
				return cli_error_nomem();
			}
		}
	}
	size_t k;
	json_t *item;
	json_array_foreach(find_job(cl, "pods")->items, k, item)
	{
		long w = pod_workload(cl, item, parents);
		if (w >= 0 && json_array_append(json_array_get(cl->pods_of, (size_t)w), item)) {
			json_decref(parents);
			return cli_error_nomem();
		}
	}
	json_decref(parents);

	char key[512];
	json_array_foreach(find_job(cl, "events")->items, k, item)
	{
		const json_t *involved = probecheck_json_object(item, "involvedObject");
		const char *kind = probecheck_json_string(involved, "kind");
		const char *name = probecheck_json_string(involved, "name");
		const char *ns = probecheck_json_string(involved, "namespace");
		if (!ns)
			ns = meta_string(item, "namespace");
		if (!kind || strcmp(kind, "Pod") != 0 || !name || !ns)
			continue;
		(void)snprintf(key, sizeof(key), "%s/%s", ns, name);
		json_t *list = json_object_get(cl->events_by_pod, key);
		if (!list && (!(list = json_array()) || json_object_set_new(cl->events_by_pod, key, list)))
			return cli_error_nomem();
		if (json_array_append(list, item))
			return cli_error_nomem();
	}
	return 0;
}

static int live_hook(probecheck_ctx *ctx, void *user)
{
	struct cluster *cl = user;
	int rc = probecheck_check_live(ctx, json_array_get(cl->pods_of, cl->current), cl->events_by_pod);
	if (!rc && cl->exercise)
		rc = probecheck_check_active(ctx, &cl->exercised, cl->current);
	return rc;
}

/* --exercise: every probe of the selected workloads' running pods, run
 * now. When every one was refused by the API server (no create on
 * pods/portforward and pods/exec), that is the error (exit 4); when only
 * some were, each pod concerned gets one warning line. */
static int exercise(struct cluster *cl)
{
	long samples = cli_flag_long(cl->args, "samples", 3);
	for (size_t w = 0; w < json_array_size(cl->pods_of); w++) {
		size_t k;
		json_t *pod;
		json_array_foreach(json_array_get(cl->pods_of, w), k, pod)
		{
			if (probecheck_exercise_add_pod(&cl->exercised, w, pod))
				return cli_error_nomem();
		}
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

static int feed(struct cluster *cl, probecheck_engine *engine)
{
	char err[1024];
	const char *context[] = {"services", "poddisruptionbudgets"};
	probecheck_source source = {NULL, 0, NULL, 0};
	for (size_t c = 0; c < 2; c++) {
		size_t k;
		json_t *item;
		json_array_foreach(find_job(cl, context[c])->items, k, item)
		{
			int rc = probecheck_engine_add(engine, item, &source, err, sizeof(err));
			if (rc == KUBE_ENOMEM)
				return cli_error_nomem();
			if (rc)
				cli_warning("%s", err);
		}
	}
	size_t k;
	json_t *item;
	json_array_foreach(cl->workloads, k, item)
	{
		cl->current = k;
		int rc = probecheck_engine_add(engine, item, &source, err, sizeof(err));
		if (rc == KUBE_ENOMEM)
			return cli_error_nomem();
		if (rc)
			cli_warning("%s/%s: %s", meta_string(item, "namespace"), meta_string(item, "name"), err);
	}
	return 0;
}

static void cluster_dispose(struct cluster *cl)
{
	for (size_t i = 0; i < cl->job_count; i++)
		json_decref(cl->jobs[i].items);
	for (size_t i = 0; i < cl->target_count; i++)
		kube_free(cl->targets[i].names);
	for (size_t i = 0; i <= MAX_LISTS; i++)
		kube_client_free(cl->clients[i]);
	json_decref(cl->workloads);
	json_decref(cl->uid_index);
	json_decref(cl->pods_of);
	json_decref(cl->events_by_pod);
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
	cl.workloads = json_array();
	cl.uid_index = json_object();
	cl.pods_of = json_array();
	cl.events_by_pod = json_object();
	if (!cl.workloads || !cl.uid_index || !cl.pods_of || !cl.events_by_pod) {
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
	if ((rc = parse_targets(&cl)) || (rc = plan_lists(&cl)) || (rc = run_lists(&cl)) ||
	    (rc = select_workloads(&cl)) || (rc = index_evidence(&cl)))
		goto done;
	cl.exercise = cli_flag_bool(args, "exercise");
	if (cl.exercise && (rc = exercise(&cl)))
		goto done;
	options->default_namespace = cl.ns;
	options->hook = live_hook;
	options->hook_user = &cl;
	if (probecheck_engine_new(out, options)) {
		rc = cli_error_nomem();
		goto done;
	}
	rc = feed(&cl, *out);
	if (!rc && probecheck_engine_finish(*out))
		rc = cli_error_nomem();
	if (!rc && cl.exercise &&
	    !(probecheck_engine_report(*out)->exercised = probecheck_exercise_json(&cl.exercised, cl.workloads)))
		rc = cli_error_nomem();
done:
	options->hook = NULL;
	options->hook_user = NULL;
	options->default_namespace = NULL;
	cluster_dispose(&cl);
	return rc;
}
