/* The audit's view of one workload: its kind, identity, pod template and
 * containers, built from a JSON object and where it came from (a
 * manifest file and line today, the API server later). Everything is
 * borrowed from the JSON object, which must outlive the workload. */
#ifndef PROBECHECK_WORKLOAD_H
#define PROBECHECK_WORKLOAD_H

#include <stddef.h>

#include <jansson.h>

enum probecheck_kind {
	PROBECHECK_KIND_POD,
	PROBECHECK_KIND_DEPLOYMENT,
	PROBECHECK_KIND_STATEFULSET,
	PROBECHECK_KIND_DAEMONSET,
	PROBECHECK_KIND_REPLICASET,
	PROBECHECK_KIND_REPLICATIONCONTROLLER,
	PROBECHECK_KIND_JOB,
	PROBECHECK_KIND_CRONJOB,
	PROBECHECK_KIND_SERVICE,
	PROBECHECK_KIND_PDB,
	PROBECHECK_KIND_OTHER, /* anything else: skipped */
};

/* Where an object came from. */
typedef struct probecheck_source {
	const char *file;        /* the manifest as named on the command line ("STDIN" for -); NULL from the API */
	int line;                /* first line of its document; 0 when unknown */
	const char *helm_source; /* "chart/templates/x.yaml" from helm template's "# Source:" comment, or NULL */
	int helm_line;           /* the document's line counted from that comment */
} probecheck_source;

typedef struct probecheck_container {
	const char *name;
	const json_t *spec;
	int init;    /* listed in initContainers */
	int sidecar; /* an init container with restartPolicy: Always (a native sidecar): long-running */
} probecheck_container;

typedef struct probecheck_workload {
	enum probecheck_kind kind;
	const char *kind_name;      /* "Deployment" */
	const char *namespace_name; /* metadata.namespace, else the -n default, else "" */
	const char *name;           /* metadata.name (or generateName), never NULL */
	const json_t *object;
	const json_t *annotations;          /* metadata.annotations or NULL */
	const json_t *template_annotations; /* the pod template's annotations or NULL (Pods: NULL) */
	const json_t *labels;               /* the pod template's labels (Pods: metadata.labels) or NULL */
	const json_t *object_labels;        /* metadata.labels or NULL */
	const json_t *pod_spec;
	long replicas;         /* spec.replicas with the API default 1; -1 for kinds without replicas */
	int run_to_completion; /* Job, CronJob, Helm test hook, or a Pod whose restartPolicy is not Always */
	int helm_test_hook;    /* annotation helm.sh/hook names test, test-success or test-failure */
	probecheck_container *containers;
	size_t container_count;
	size_t container_cap; /* kept across probecheck_workload_init calls */
	probecheck_source source;
} probecheck_workload;

#define PROBECHECK_WORKLOAD_INIT                                                                                       \
	{                                                                                                              \
		0                                                                                                      \
	}

/* The kind of an object from its apiVersion and kind; PROBECHECK_KIND_OTHER
 * for kinds of other API groups. A missing apiVersion is accepted. */
enum probecheck_kind probecheck_kind_of(const json_t *object);

/* 1 when object is of a kind probecheck does not audit but carries a pod
 * template or containers (an Argo Rollout, a Knative Service, ...). */
int probecheck_looks_like_workload(const json_t *object);

/* Fills w from object (a workload kind: Pod .. CronJob). The previous
 * contents of w are overwritten; its container array is reused. Returns 0,
 * KUBE_EINVALID with the problem in err (a pod spec that is not shaped as
 * the API requires), or KUBE_ENOMEM. */
int probecheck_workload_init(probecheck_workload *w, const json_t *object, const probecheck_source *source,
                             const char *default_namespace, char *err, size_t err_size);

void probecheck_workload_dispose(probecheck_workload *w);

/* JSON helpers used across the checks: a member's string value, or NULL;
 * an object member, or NULL. */
const char *probecheck_json_string(const json_t *object, const char *key);
const json_t *probecheck_json_object(const json_t *object, const char *key);
const json_t *probecheck_json_array(const json_t *object, const char *key);

#endif
