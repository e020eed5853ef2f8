/* The canary pods of one revision, kept current by one watch, and the
 * Warning events about them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/watch.h>

#include "gate.h"
#include "lock.h"
#include "observe.h"

struct canary_pods {
	canary_ctx *ctx;
	kube_watch *watch;
	json_t *items; /* name → pod */
};

int canary_pod_ready(const json_t *pod)
{
	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
		return 0;
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
	{
		const char *type = json_string_value(json_object_get(cond, "type"));
		const char *status = json_string_value(json_object_get(cond, "status"));
		if (type && status && !strcmp(type, "Ready"))
			return !strcmp(status, "True");
	}
	return 0;
}

static const char *pod_name(const json_t *pod)
{
	const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	return name ? name : "";
}

static int take(canary_pods *pods, const kube_watch_event *ev)
{
	size_t i;
	json_t *pod;
	switch (ev->type) {
	case KUBE_WATCH_RELIST:
		json_object_clear(pods->items);
		json_array_foreach(json_object_get(ev->object, "items"), i, pod)
		{
			if (json_object_set(pods->items, pod_name(pod), pod))
				return KUBE_ENOMEM;
		}
		return 0;
	case KUBE_WATCH_ADDED:
	case KUBE_WATCH_MODIFIED:
		return json_object_set(pods->items, pod_name(ev->object), ev->object) ? KUBE_ENOMEM : 0;
	case KUBE_WATCH_DELETED:
		json_object_del(pods->items, pod_name(ev->object));
		return 0;
	default:
		return 0;
	}
}

int canary_pods_open(canary_pods **out, canary_ctx *ctx)
{
	canary_pods *pods = calloc(1, sizeof(*pods));
	kube_buf selector = {0};
	int rc;
	*out = NULL;
	if (!pods || !(pods->items = json_object()) || canary_pod_selector(&selector, &ctx->state)) {
		kube_buf_dispose(&selector);
		canary_pods_free(pods);
		return cli_error_nomem();
	}
	pods->ctx = ctx;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.label_selector = kube_buf_cstr(&selector);
	opts.initial_events = 1;
	rc = kube_watch_open(&pods->watch, ctx->client, &canary_res_pods, ctx->ns, &opts);
	kube_buf_dispose(&selector);
	if (rc) {
		canary_pods_free(pods);
		return cli_error_kube("watching the canary pods", rc);
	}
	/* The first event is the current pods. */
	kube_watch_event ev = {0};
	rc = kube_watch_next(pods->watch, &ev, 30000);
	if (!rc) {
		rc = take(pods, &ev);
		kube_watch_event_dispose(&ev);
	}
	if (rc) {
		canary_pods_free(pods);
		return rc == KUBE_ENOMEM ? cli_error_nomem() : cli_error_kube("watching the canary pods", rc);
	}
	*out = pods;
	return 0;
}

int canary_pods_poll(canary_pods *pods, long wait_ms)
{
	for (;;) {
		kube_watch_event ev = {0};
		int rc = kube_watch_next(pods->watch, &ev, wait_ms);
		if (rc == KUBE_ETIMEOUT)
			return 0;
		if (rc)
			return cli_error_kube("watching the canary pods", rc);
		rc = take(pods, &ev);
		kube_watch_event_dispose(&ev);
		if (rc)
			return cli_error_nomem();
		wait_ms = 0; /* drain what is there, then return */
	}
}

int canary_pods_wait_ready(canary_pods *pods, int ready, long timeout_ms, char *reason, size_t reason_size)
{
	canary_ctx *ctx = pods->ctx;
	long long start = kube_client_server_now_ms(ctx->client);
	int rc;
	reason[0] = '\0';
	for (;;) {
		/* A pod that fails while coming up stops the wait at once. */
		canary_gate_input in = {0};
		canary_gate_record record;
		in.pods = pods->items;
		in.desired = ready;
		in.now_ms = kube_client_server_now_ms(ctx->client);
		in.step_started_ms = start;
		in.progress_deadline_s = timeout_ms / 1000;
		if (canary_gate_health.evaluate(&canary_gate_health, &in, &record))
			return cli_error_nomem();
		if (record.verdict == CANARY_FAIL) {
			snprintf(reason, reason_size, "%s", record.message);
			return CLI_EXIT_FAIL;
		}
		if (canary_pods_ready(pods) >= ready)
			return 0;
		if ((rc = canary_wait_tick(ctx)))
			return rc;
		if ((rc = canary_pods_poll(pods, 1000)))
			return rc;
	}
}

const json_t *canary_pods_items(const canary_pods *pods)
{
	return pods->items;
}

int canary_pods_ready(const canary_pods *pods)
{
	int ready = 0;
	const char *name;
	json_t *pod;
	json_object_foreach(pods->items, name, pod) ready += canary_pod_ready(pod);
	return ready;
}

int canary_pods_count(const canary_pods *pods)
{
	return (int)json_object_size(pods->items);
}

void canary_pods_free(canary_pods *pods)
{
	if (!pods)
		return;
	kube_watch_free(pods->watch);
	json_decref(pods->items);
	free(pods);
}

int canary_events_list(json_t **out, canary_ctx *ctx, const json_t *pods)
{
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	json_t *list = NULL, *kept = json_array();
	*out = NULL;
	if (!kept)
		return cli_error_nomem();
	opts.field_selector = "involvedObject.kind=Pod,type=Warning";
	int rc = kube_client_list(ctx->client, &list, &canary_res_events, ctx->ns, &opts);
	if (rc) {
		json_decref(kept);
		return cli_error_kube("listing events", rc);
	}
	size_t i;
	json_t *event;
	json_array_foreach(json_object_get(list, "items"), i, event)
	{
		const char *name = json_string_value(json_object_get(json_object_get(event, "involvedObject"), "name"));
		if (name && json_object_get(pods, name) && json_array_append(kept, event)) {
			json_decref(list);
			json_decref(kept);
			return cli_error_nomem();
		}
	}
	json_decref(list);
	*out = kept;
	return 0;
}
