/* Watches: a stream of ADDED/MODIFIED/DELETED events for one resource type,
 * resumed from the last resourceVersion when the server ends the stream,
 * relisted when that version is too old (410 Gone), bookmarks honoured,
 * bounded by a deadline. */
#ifndef KUBE_WATCH_H
#define KUBE_WATCH_H

#include <jansson.h>

#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_watch kube_watch;

typedef struct kube_watch_options {
	const char *label_selector;
	const char *field_selector;
	/* Start after this version. NULL: list first and deliver the list as
	 * one KUBE_WATCH_RELIST event, then watch from the list's version. */
	const char *resource_version;
	long timeout_ms;    /* overall deadline from open; 0 = none */
	int relist_on_gone; /* on 410 Gone: relist (KUBE_WATCH_RELIST) instead of failing; default 1 */
	/* With resource_version NULL (and on relists): get the current items
	 * through the watch itself (sendInitialEvents, the API server's
	 * WatchList) in one request instead of a LIST and a WATCH; they are
	 * still delivered as one KUBE_WATCH_RELIST event. Falls back to
	 * LIST+WATCH when the server refuses it. Default 0. */
	int initial_events;
} kube_watch_options;

#define KUBE_WATCH_OPTIONS_INIT                                                                                        \
	{                                                                                                              \
		NULL, NULL, NULL, 0, 1, 0                                                                              \
	}

enum kube_watch_event_type {
	KUBE_WATCH_ADDED,
	KUBE_WATCH_MODIFIED,
	KUBE_WATCH_DELETED,
	KUBE_WATCH_BOOKMARK, /* object carries only metadata.resourceVersion */
	KUBE_WATCH_RELIST    /* object is a List of every current item: replace what you know */
};

typedef struct kube_watch_event {
	int type;       /* enum kube_watch_event_type */
	json_t *object; /* owned by the event */
} kube_watch_event;

/* Opens a watch. client is borrowed and must outlive the watch. Errors as
 * for requests (KUBE_EFORBIDDEN, ...), reported here or by the first
 * kube_watch_next. */
int kube_watch_open(kube_watch **out, kube_client *client, const kube_resource *res, const char *ns,
                    const kube_watch_options *opts);

/* Waits up to wait_ms (-1: until the deadline; 0: only what has already
 * arrived on the connection) for the next event.
 * Returns 0 with *event filled (dispose it), KUBE_ETIMEOUT when wait_ms or
 * the deadline passed with no event, KUBE_EGONE when relisting is off, or
 * a request error. Bookmarks are delivered so callers may checkpoint. */
int kube_watch_next(kube_watch *watch, kube_watch_event *event, long wait_ms);

/* The last resourceVersion seen (borrowed; "" before any). */
const char *kube_watch_resource_version(const kube_watch *watch);

void kube_watch_event_dispose(kube_watch_event *event);
void kube_watch_free(kube_watch *watch);

#ifdef __cplusplus
}
#endif
#endif
