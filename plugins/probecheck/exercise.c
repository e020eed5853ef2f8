/* --exercise: which probes to run, the threads that run them, and their JSON. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "exercise.h"
#include "exercise_util.h"
#include "workload.h"

#define MAX_THREADS 8

static int add_probe(probecheck_exercise_set *set, size_t workload, const probecheck_pod *pod, const json_t *container,
                     enum probecheck_probe_kind kind)
{
	probecheck_probe probe;
	if (!probecheck_probe_parse(&probe, container, kind) || probe.handler_count != 1)
		return 0; /* none, or one the API server would have refused */
	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		probecheck_exercise *grown = kube_realloc(set->items, cap * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		set->items = grown;
		set->cap = cap;
	}
	probecheck_exercise *x = &set->items[set->count++];
	memset(x, 0, sizeof(*x));
	x->workload = workload;
	x->ns = pod->namespace_name;
	x->pod = pod->name;
	x->container = probecheck_json_string(container, "name");
	x->container_spec = container;
	x->pod_ip = pod->pod_ip;
	x->probe = probe;
	x->tunnel_ms = -1;
	return 0;
}

/* 1 when the container's status says it is running. */
static int container_running(const probecheck_pod *pod, const char *name, int init)
{
	const probecheck_container_status *status = probecheck_pod_status(pod, name, init);
	return status && status->running;
}

int probecheck_exercise_add_pod(probecheck_exercise_set *set, size_t workload, const probecheck_pod *pod)
{
	const json_t *spec = pod->spec;
	if (!pod->phase_running || pod->deleting || !pod->name || !pod->namespace_name)
		return 0;
	for (int init = 0; init < 2; init++) {
		size_t i;
		const json_t *container;
		json_array_foreach(probecheck_json_array(spec, init ? "initContainers" : "containers"), i, container)
		{
			const char *name = probecheck_json_string(container, "name");
			const char *restart = probecheck_json_string(container, "restartPolicy");
			if (!name || (init && (!restart || strcmp(restart, "Always") != 0)) ||
			    !container_running(pod, name, init))
				continue;
			for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++) {
				int rc = add_probe(set, workload, pod, container, (enum probecheck_probe_kind)kind);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

struct pool {
	probecheck_exercise_set *set;
	const kube_config *config;
	int samples;
	pthread_mutex_t lock;
	size_t next;
};

static void *worker(void *arg)
{
	struct pool *pool = arg;
	kube_client *client = NULL;
	int rc = kube_client_new(&client, pool->config, NULL);
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		size_t i = pool->next < pool->set->count ? pool->next++ : pool->set->count;
		pthread_mutex_unlock(&pool->lock);
		if (i == pool->set->count)
			break;
		probecheck_exercise *x = &pool->set->items[i];
		if (rc) {
			x->state = PROBECHECK_EXERCISE_FAILED;
			x->api_rc = rc;
			(void)snprintf(x->error, sizeof(x->error), "%s", kube_error_last()->message);
			continue;
		}
		probecheck_exercise_probe(client, x, pool->samples, pool->set->user_agent);
	}
	kube_client_free(client);
	return NULL;
}

int probecheck_exercise_run(probecheck_exercise_set *set, const kube_config *config, int samples)
{
	kube_client *client = NULL;
	int rc = kube_client_new(&client, config, NULL);
	if (!rc)
		rc = kube_client_request_json(client, &set->version, "GET", "/version", NULL, NULL);
	kube_client_free(client);
	if (rc)
		return rc;
	probecheck_probe_user_agent(set->user_agent, sizeof(set->user_agent), set->version);
	if (!set->count)
		return 0;

	struct pool pool = {set, config, samples, PTHREAD_MUTEX_INITIALIZER, 0};
	pthread_t threads[MAX_THREADS];
	size_t wanted = set->count < MAX_THREADS ? set->count : MAX_THREADS, started = 0;
	for (; started < wanted; started++)
		if (pthread_create(&threads[started], NULL, worker, &pool) != 0)
			break;
	if (!started)
		worker(&pool); /* no thread to spare: run them here */
	for (size_t i = 0; i < started; i++)
		(void)pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&pool.lock);
	return 0;
}

static const char *state_name(enum probecheck_exercise_state state)
{
	switch (state) {
	case PROBECHECK_EXERCISED:
		return "exercised";
	case PROBECHECK_NOT_EXERCISED:
		return "notExercised";
	case PROBECHECK_EXERCISE_FAILED:
		break;
	}
	return "failed";
}

static json_t *exercise_json(const probecheck_exercise *x, const json_t *workloads)
{
	const json_t *w = json_array_get(workloads, x->workload);
	const json_t *meta = probecheck_json_object(w, "metadata");
	json_t *samples = json_array();
	json_t *entry = json_pack(
	        "{s:{s:s?, s:s?, s:s?}, s:s?, s:s?, s:s?, s:s, s:s, s:s, s:I, s:o}", "workload", "kind",
	        probecheck_json_string(w, "kind"), "namespace", probecheck_json_string(meta, "namespace"), "name",
	        probecheck_json_string(meta, "name"), "namespace", x->ns, "pod", x->pod, "container", x->container,
	        "probe", probecheck_probe_field(x->probe.kind), "handler", probecheck_handler_name(x->probe.handler),
	        "state", state_name(x->state), "timeoutSeconds", (json_int_t)x->probe.timeout, "samples", samples);
	if (!entry)
		return NULL;
	int failed = 0;
	if (x->probe.handler != PROBECHECK_HANDLER_EXEC && x->probe.port_state == PROBECHECK_PORT_STATE_OK)
		failed |= json_object_set_new(entry, "port", json_integer(x->probe.port));
	failed |= json_object_set_new(entry, "tunnelMs", x->tunnel_ms >= 0 ? json_integer(x->tunnel_ms) : json_null());
	if (x->state != PROBECHECK_EXERCISED)
		failed |= json_object_set_new(entry, "error", json_string(x->error));
	if (x->location[0])
		failed |= json_object_set_new(entry, "redirect", json_string(x->location));
	for (size_t i = 0; i < x->sample_count && !failed; i++) {
		const probecheck_exercise_sample *s = &x->samples[i];
		failed |= json_array_append_new(samples,
		                                json_pack("{s:I, s:I, s:b, s:s}", "ms", (json_int_t)s->ms, "rawMs",
		                                          (json_int_t)s->raw_ms, "ok", s->ok, "detail", s->detail));
	}
	if (failed) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

json_t *probecheck_exercise_json(const probecheck_exercise_set *set, const json_t *workloads)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < set->count; i++) {
		if (json_array_append_new(array, exercise_json(&set->items[i], workloads))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

void probecheck_exercise_set_dispose(probecheck_exercise_set *set)
{
	kube_free(set->items);
	json_decref(set->version);
	memset(set, 0, sizeof(*set));
}
