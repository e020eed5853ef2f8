/* --exercise: runs each running pod's liveness, readiness and startup
 * probes now, through the API server, the way the kubelet runs them:
 * httpGet and gRPC over a port-forward with libcurl, tcpSocket as a
 * port-forward's connect, exec with kube_pod_exec. Every probe is sampled
 * N times; port-forward latencies have the tunnel's own round trip
 * (kube_portforward_ping) taken off. Probes run concurrently, a bounded
 * number of threads with one kube_client each. */
#ifndef PROBECHECK_EXERCISE_H
#define PROBECHECK_EXERCISE_H

#include <stddef.h>

#include <jansson.h>

#include <kube/client.h>
#include <kube/config.h>

#include "cluster_compact.h"
#include "probe.h"

#define PROBECHECK_EXERCISE_MAX_SAMPLES 20
#define PROBECHECK_BODY_LIMIT           10240 /* the kubelet reads 10 KiB of an HTTP probe's body */

enum probecheck_exercise_state {
	PROBECHECK_EXERCISED,       /* samples were taken */
	PROBECHECK_NOT_EXERCISED,   /* cannot be run faithfully here (gRPC without HTTP/2 in libcurl) */
	PROBECHECK_EXERCISE_FAILED, /* the API server refused or failed (forbidden, no such pod...) */
};

typedef struct probecheck_exercise_sample {
	long long ms;        /* latency with the tunnel's round trip taken off (exec: raw) */
	long long raw_ms;    /* as measured */
	long long tunnel_ms; /* the tunnel's round trip before this sample, -1 for exec */
	int ok;              /* what the kubelet would count: success (or a warning) */
	char detail[320];    /* "HTTP 200", "HTTP probe failed with statuscode: 500", ... */
} probecheck_exercise_sample;

/* One probe of one container of one pod. */
typedef struct probecheck_exercise {
	size_t workload;              /* index of the workload the pod belongs to */
	const char *ns, *pod;         /* borrowed from the compact pod */
	const char *container;        /* borrowed from the pod's spec */
	const json_t *container_spec; /* the pod's own container spec */
	const char *pod_ip;           /* status.podIP or NULL (borrowed) */
	probecheck_probe probe;       /* parsed from the pod's spec */
	enum probecheck_exercise_state state;
	char error[512]; /* NOT_EXERCISED and EXERCISE_FAILED: why */
	int api_rc;      /* EXERCISE_FAILED: the KUBE_E* code */
	long http_status;
	probecheck_exercise_sample samples[PROBECHECK_EXERCISE_MAX_SAMPLES];
	size_t sample_count;
	long long tunnel_ms;     /* median tunnel round trip of the samples, -1 when none (exec) */
	int redirect_cross_host; /* a sample ended on a 3xx to another host */
	int redirects_followed;  /* same-host redirects followed in a sample */
	int large_body;          /* a sample's body was over 10 KiB */
	int missing_binary;      /* exec: the command is not in the image */
	char location[256];      /* the cross-host redirect's target */
} probecheck_exercise;

typedef struct probecheck_exercise_set {
	probecheck_exercise *items;
	size_t count, cap;
	json_t *version; /* the server's /version (owned) */
	char user_agent[64];
} probecheck_exercise_set;

/* Adds every probe of pod's long-running containers (from its spec, kept
 * for --exercise) when the pod is Running, not being deleted, and the
 * container runs; pod is borrowed and must outlive the set. Returns 0 or
 * KUBE_ENOMEM. */
int probecheck_exercise_add_pod(probecheck_exercise_set *set, size_t workload, const probecheck_pod *pod);

/* Runs every probe of the set with samples samples (1 to
 * PROBECHECK_EXERCISE_MAX_SAMPLES), at most 8 at once. Returns 0 (each
 * probe's outcome is in its state), or an error reading /version
 * (KUBE_E*, with kube_error_last() of the calling thread set). */
int probecheck_exercise_run(probecheck_exercise_set *set, const kube_config *config, int samples);

/* The exercised[] array of the report (see docs/probecheck.md); NULL
 * when out of memory. */
json_t *probecheck_exercise_json(const probecheck_exercise_set *set, const json_t *workloads);

void probecheck_exercise_set_dispose(probecheck_exercise_set *set);

/* One probe's samples (exercise_net.c), on the calling thread's client. */
void probecheck_exercise_probe(kube_client *client, probecheck_exercise *x, int samples, const char *user_agent);

#endif
