/* The pure parts of --exercise, kept apart from the network so the unit
 * suite can test them directly: the kubelet's $(VAR) expansion of exec
 * probe commands, the gRPC health request and response, the redirect and
 * missing-binary rules, the kube-probe User-Agent and the latency verdict. */
#ifndef PROBECHECK_EXERCISE_UTIL_H
#define PROBECHECK_EXERCISE_UTIL_H

#include <stddef.h>

#include <jansson.h>

#include <kube/buf.h>

#include "catalog.h"

/* The kubelet's expansion of one exec probe argument (k8s.io/kubernetes
 * third_party/forked/golang/expansion): "$(NAME)" becomes env's value of
 * NAME (every env entry counts, valueFrom ones as ""; the last one of a
 * name wins) and stays as written when NAME is not there; "$$" is "$";
 * any other "$" is kept. env is the container's env array (or NULL).
 * Appends to out; returns 0 or KUBE_ENOMEM. */
int probecheck_expand_arg(kube_buf *out, const char *arg, const json_t *env);

/* The gRPC health request: the 5-byte message prefix (not compressed,
 * big-endian length) and grpc.health.v1.HealthCheckRequest {service}
 * (field 1, a string; left out when empty). Returns 0 or KUBE_ENOMEM. */
int probecheck_grpc_health_request(kube_buf *out, const char *service);

/* Reads a gRPC HealthCheckResponse from a response body (prefix and
 * message): *status gets field 1 (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING,
 * 3 SERVICE_UNKNOWN; 0 when absent, as proto3 leaves defaults out).
 * Returns 0, or -1 when the body is not one well-formed uncompressed message. */
int probecheck_grpc_health_status(const unsigned char *body, size_t len, long *status);

/* "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "?". */
const char *probecheck_grpc_status_name(long status);

/* 1 when url's host name (no port, no brackets) is host, as Go's
 * URL.Hostname() comparison the kubelet makes to follow a redirect; 0
 * otherwise, also when url does not parse. */
int probecheck_same_hostname(const char *url, const char *host);

/* 1 when an exec probe's outcome means the command is not in the image:
 * exit 126 or 127 (a shell's "not found" or "not executable"), or no exit
 * status with the runtime's message saying so (containerd's "executable
 * file not found", kwok's "no such file or directory"). */
int probecheck_exec_missing_binary(int exit_code, const char *message);

/* "kube-probe/MAJOR.MINOR" from a /version object, into buf; digits only
 * (GKE's "27+" gives 27). Falls back to "kube-probe/1.0" when absent. */
void probecheck_probe_user_agent(char *buf, size_t size, const json_t *version);

/* The verdict of active-latency-vs-timeout: error at or over the timeout,
 * warning from half of it, else PROBECHECK_SEV_NONE. */
enum probecheck_severity probecheck_latency_severity(long long max_ms, long timeout_s);

#endif
