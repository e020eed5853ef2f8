/* Recording Kubernetes Events (core/v1) about an object, as controllers
 * and kubectl do, so `kubectl describe` and `kubectl events` show what a
 * rollguard command did. */
#ifndef KUBE_EVENT_H
#define KUBE_EVENT_H

#include <jansson.h>
#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_event_options {
	const char *type;      /* "Normal" or "Warning"; NULL = "Normal" */
	const char *reason;    /* UpperCamelCase, e.g. "CanaryPromoted"; required */
	const char *message;   /* one line, at most 1024 bytes are kept; required */
	const char *component; /* source.component and reportingComponent, e.g. "kubectl-canary"; required */
	const char *action;    /* action, e.g. "Promote"; NULL = none */
	int dry_run;
} kube_event_options;

#define KUBE_EVENT_OPTIONS_INIT                                                                                        \
	{                                                                                                              \
		NULL, NULL, NULL, NULL, NULL, 0                                                                        \
	}

/* Creates an Event in the object's namespace about object (apiVersion,
 * kind, metadata.name, .namespace, .uid and .resourceVersion are read),
 * named "<name>.<unique suffix>", with first/lastTimestamp the server's now
 * when known, count 1 and reportingInstance the host name. One request. */
int kube_event_record(kube_client *client, const json_t *object, const kube_event_options *opts);

#ifdef __cplusplus
}
#endif
#endif
