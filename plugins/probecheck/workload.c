/* Builds the audit's workload view from a Kubernetes object. */
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "workload.h"

const char *probecheck_json_string(const json_t *object, const char *key)
{
	const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
	return json_is_string(value) ? json_string_value(value) : NULL;
}

const json_t *probecheck_json_object(const json_t *object, const char *key)
{
	const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
	return json_is_object(value) ? value : NULL;
}

const json_t *probecheck_json_array(const json_t *object, const char *key)
{
	const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
	return json_is_array(value) ? value : NULL;
}

/* The group of an apiVersion ("apps/v1" -> "apps", "v1" -> ""), as a length. */
static size_t group_length(const char *api_version)
{
	const char *slash = strchr(api_version, '/');
	return slash ? (size_t)(slash - api_version) : 0;
}

static int group_is(const char *api_version, const char *group)
{
	if (!api_version)
		return 1;
	size_t len = group_length(api_version);
	return strlen(group) == len && strncmp(api_version, group, len) == 0;
}

enum probecheck_kind probecheck_kind_of(const json_t *object)
{
	static const struct {
		const char *kind;
		const char *groups[3];
		enum probecheck_kind value;
	} kinds[] = {
	        {"Deployment", {"apps", "extensions", NULL}, PROBECHECK_KIND_DEPLOYMENT},
	        {"StatefulSet", {"apps", NULL, NULL}, PROBECHECK_KIND_STATEFULSET},
	        {"DaemonSet", {"apps", "extensions", NULL}, PROBECHECK_KIND_DAEMONSET},
	        {"ReplicaSet", {"apps", "extensions", NULL}, PROBECHECK_KIND_REPLICASET},
	        {"Pod", {"", NULL, NULL}, PROBECHECK_KIND_POD},
	        {"ReplicationController", {"", NULL, NULL}, PROBECHECK_KIND_REPLICATIONCONTROLLER},
	        {"Job", {"batch", NULL, NULL}, PROBECHECK_KIND_JOB},
	        {"CronJob", {"batch", NULL, NULL}, PROBECHECK_KIND_CRONJOB},
	        {"Service", {"", NULL, NULL}, PROBECHECK_KIND_SERVICE},
	        {"PodDisruptionBudget", {"policy", NULL, NULL}, PROBECHECK_KIND_PDB},
	};
	const char *kind = probecheck_json_string(object, "kind");
	const char *api_version = probecheck_json_string(object, "apiVersion");
	if (!kind)
		return PROBECHECK_KIND_OTHER;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind, kinds[i].kind) != 0)
			continue;
		for (size_t g = 0; g < 3 && kinds[i].groups[g]; g++)
			if (group_is(api_version, kinds[i].groups[g]))
				return kinds[i].value;
		return PROBECHECK_KIND_OTHER;
	}
	return PROBECHECK_KIND_OTHER;
}

int probecheck_looks_like_workload(const json_t *object)
{
	const json_t *spec = probecheck_json_object(object, "spec");
	const json_t *template_spec = probecheck_json_object(probecheck_json_object(spec, "template"), "spec");
	return probecheck_json_array(spec, "containers") || probecheck_json_array(template_spec, "containers") ||
	       probecheck_json_object(spec, "jobTemplate");
}

static int hook_is_test(const char *hooks)
{
	/* helm.sh/hook is a comma-separated list, e.g. "test,post-install". */
	const char *p = hooks;
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if ((len == 4 && strncmp(p, "test", 4) == 0) || (len == 12 && strncmp(p, "test-success", 12) == 0) ||
		    (len == 12 && strncmp(p, "test-failure", 12) == 0))
			return 1;
		p += len;
	}
	return 0;
}

static int add_containers(probecheck_workload *w, const json_t *list, int init, char *err, size_t err_size)
{
	size_t index;
	const json_t *container;
	json_array_foreach(list, index, container)
	{
		if (!json_is_object(container)) {
			(void)snprintf(err, err_size, "%s \"%s\": %s[%zu] is not an object", w->kind_name, w->name,
			               init ? "initContainers" : "containers", index);
			return KUBE_EINVALID;
		}
		if (w->container_count == w->container_cap) {
			size_t cap = w->container_cap ? w->container_cap * 2 : 8;
			probecheck_container *grown = kube_realloc(w->containers, cap * sizeof(*grown));
			if (!grown)
				return KUBE_ENOMEM;
			w->containers = grown;
			w->container_cap = cap;
		}
		probecheck_container *c = &w->containers[w->container_count++];
		const char *name = probecheck_json_string(container, "name");
		const char *restart = probecheck_json_string(container, "restartPolicy");
		c->name = name ? name : "";
		c->spec = container;
		c->init = init;
		c->sidecar = init && restart && strcmp(restart, "Always") == 0;
	}
	return 0;
}

int probecheck_workload_init(probecheck_workload *w, const json_t *object, const probecheck_source *source,
                             const char *default_namespace, char *err, size_t err_size)
{
	const json_t *metadata = probecheck_json_object(object, "metadata");
	const json_t *spec = probecheck_json_object(object, "spec");
	const json_t *pod_template = NULL;
	const char *name = probecheck_json_string(metadata, "name");
	const char *ns = probecheck_json_string(metadata, "namespace");

	w->kind = probecheck_kind_of(object);
	w->kind_name = probecheck_json_string(object, "kind");
	w->name = name ? name : probecheck_json_string(metadata, "generateName");
	if (!w->name)
		w->name = "";
	w->namespace_name = ns && *ns ? ns : default_namespace ? default_namespace : "";
	w->object = object;
	w->annotations = probecheck_json_object(metadata, "annotations");
	w->object_labels = probecheck_json_object(metadata, "labels");
	w->template_annotations = NULL;
	w->source = *source;
	w->container_count = 0;
	w->replicas = -1;
	w->helm_test_hook = hook_is_test(probecheck_json_string(w->annotations, "helm.sh/hook"));

	const char *where = "spec.template";
	switch (w->kind) {
	case PROBECHECK_KIND_POD:
		pod_template = object;
		where = "spec";
		break;
	case PROBECHECK_KIND_CRONJOB:
		pod_template = probecheck_json_object(
		        probecheck_json_object(probecheck_json_object(spec, "jobTemplate"), "spec"), "template");
		where = "spec.jobTemplate.spec.template";
		break;
	default:
		pod_template = probecheck_json_object(spec, "template");
		break;
	}
	const json_t *pod_metadata = probecheck_json_object(pod_template, "metadata");
	w->pod_spec = probecheck_json_object(pod_template, "spec");
	w->labels = probecheck_json_object(pod_metadata, "labels");
	if (w->kind != PROBECHECK_KIND_POD)
		w->template_annotations = probecheck_json_object(pod_metadata, "annotations");
	if (!w->pod_spec) {
		(void)snprintf(err, err_size, "%s \"%s\": %s%s is missing or not an object", w->kind_name, w->name,
		               where, w->kind == PROBECHECK_KIND_POD ? "" : ".spec");
		return KUBE_EINVALID;
	}
	const json_t *containers = json_object_get(w->pod_spec, "containers");
	const json_t *init_containers = json_object_get(w->pod_spec, "initContainers");
	if (!json_is_array(containers) ||
	    (init_containers && !json_is_null(init_containers) && !json_is_array(init_containers))) {
		(void)snprintf(err, err_size, "%s \"%s\": %s%s.%s must be a list", w->kind_name, w->name, where,
		               w->kind == PROBECHECK_KIND_POD ? "" : ".spec",
		               json_is_array(containers) ? "initContainers" : "containers");
		return KUBE_EINVALID;
	}
	int rc = add_containers(w, init_containers, 1, err, err_size);
	if (!rc)
		rc = add_containers(w, containers, 0, err, err_size);
	if (rc)
		return rc;

	switch (w->kind) {
	case PROBECHECK_KIND_DEPLOYMENT:
	case PROBECHECK_KIND_STATEFULSET:
	case PROBECHECK_KIND_REPLICASET:
	case PROBECHECK_KIND_REPLICATIONCONTROLLER: {
		const json_t *replicas = json_object_get(spec, "replicas");
		w->replicas = json_is_integer(replicas) ? (long)json_integer_value(replicas) : 1;
		break;
	}
	default:
		break;
	}
	const char *restart = probecheck_json_string(w->pod_spec, "restartPolicy");
	w->run_to_completion = w->kind == PROBECHECK_KIND_JOB || w->kind == PROBECHECK_KIND_CRONJOB ||
	                       w->helm_test_hook ||
	                       (w->kind == PROBECHECK_KIND_POD && restart && strcmp(restart, "Always") != 0);
	return 0;
}

void probecheck_workload_dispose(probecheck_workload *w)
{
	kube_free(w->containers);
	w->containers = NULL;
	w->container_count = w->container_cap = 0;
}
