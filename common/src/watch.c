/* Watch streams: newline-delimited JSON events read incrementally through a
 * curl multi handle, resumed and relisted as client-go's reflector does
 * (with a LIST, or through the watch itself with sendInitialEvents). */
#include <string.h>

#include <kube/watch.h>

#include "client_internal.h"
#include "internal.h"
#include "watch_internal.h"

/* The annotation of the bookmark that ends a watch's initial events. */
#define INITIAL_EVENTS_END "k8s.io/initial-events-end"

/* Refusals (429, 5xx) in a row a watch rides out before it fails: with
 * its backoff (100 ms doubling to 6.4 s) about half a minute. */
#define WATCH_MAX_REFUSED 8

struct kube_watch {
	kube_client *client;
	kube_resource res;
	char *ns;
	char *label_selector;
	char *field_selector;
	char *resource_version;
	int relist_on_gone;
	int need_relist;
	int initial_events;    /* relist through the watch (sendInitialEvents) */
	int initial_refused;   /* the server refused that: LIST and WATCH from then on */
	json_t *initial_items; /* while a relist through the watch runs: the items so far */
	long long deadline_ms; /* 0 = none */
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	long long started_ms;
	int finished;        /* the transfer ended; lines may still be buffered */
	int idle_streams;    /* streams in a row that ended with no event: back off */
	CURLcode result;     /* how it ended */
	long status;         /* the stream's HTTP status once its headers arrived */
	int logged;          /* the stream's request line is logged (-v6) */
	int reauthenticated; /* a 401 already made us refresh credentials once */
	int refused;         /* streams in a row refused with 429 or 5xx */
	kube_buf stream;
	char last_error[256]; /* why the last stream ended, for the deadline message */
};

static void close_stream(kube_watch *watch)
{
	if (watch->easy) {
		curl_multi_remove_handle(watch->multi, watch->easy);
		curl_easy_cleanup(watch->easy);
		watch->easy = NULL;
	}
	curl_slist_free_all(watch->headers);
	watch->headers = NULL;
	kube_free(watch->url);
	watch->url = NULL;
	kube_buf_clear(&watch->stream);
	watch->finished = 0;
	watch->status = 0;
	watch->logged = 0;
}

static size_t on_stream(char *data, size_t size, size_t count, void *user)
{
	kube_watch *watch = user;
	size_t n = size * count;
	if (!watch->status)
		curl_easy_getinfo(watch->easy, CURLINFO_RESPONSE_CODE, &watch->status);
	return kube_buf_put(&watch->stream, data, n) == 0 ? n : 0;
}

/* Notes the server's clock from its Date header and, once the headers of a
 * stream that is on its way are in, logs the request at -v6 as kubectl
 * does: a stream may run for minutes before it ends. Error replies are
 * logged when they end, with their body. */
static size_t on_stream_header(char *data, size_t size, size_t count, void *user)
{
	kube_watch *watch = user;
	size_t n = size * count;
	kube_client_note_header(watch->client, data, n);
	if ((n == 2 && data[0] == '\r' && data[1] == '\n') || (n == 1 && data[0] == '\n')) {
		long status = 0;
		curl_easy_getinfo(watch->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300 && !watch->logged) {
			watch->logged = 1;
			kube_http_log_request("GET", watch->url, status, (double)(kube_now_ms() - watch->started_ms),
			                      NULL, 0, NULL);
		}
	}
	return n;
}

static int add_query(kube_buf *path, const char *key, const char *value)
{
	int rc = kube_buf_printf(path, "&%s=", key);
	if (!rc)
		rc = kube_buf_put_urlescaped(path, value);
	return rc;
}

static long remaining_ms(const kube_watch *watch)
{
	if (!watch->deadline_ms)
		return -1;
	long long left = watch->deadline_ms - kube_now_ms();
	return left > 0 ? (long)left : 0;
}

static int open_stream(kube_watch *watch)
{
	kube_buf path = KUBE_BUF_INIT;
	long left = remaining_ms(watch);
	/* The server ends the stream after timeoutSeconds; we reconnect. */
	long timeout_s = left < 0 ? 300 : left / 1000 + 1;
	if (timeout_s > 300)
		timeout_s = 300;
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%ld", timeout_s);
	int rc = kube_resource_path(&path, &watch->res, watch->ns, NULL, NULL);
	/* The initial events start from the newest version, read consistently
	 * as a LIST would be. */
	if (!rc && watch->initial_items)
		rc = kube_buf_puts(&path, "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
		                          "&allowWatchBookmarks=true");
	else if (!rc)
		rc = kube_buf_puts(&path, "?watch=1&allowWatchBookmarks=true");
	if (!rc && !watch->initial_items && watch->resource_version && *watch->resource_version)
		rc = add_query(&path, "resourceVersion", watch->resource_version);
	if (!rc && watch->label_selector)
		rc = add_query(&path, "labelSelector", watch->label_selector);
	if (!rc && watch->field_selector)
		rc = add_query(&path, "fieldSelector", watch->field_selector);
	if (!rc)
		rc = add_query(&path, "timeoutSeconds", timeout);
	if (!rc && !(watch->url = kube_http_url(watch->client, path.ptr)))
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	if (!rc && !(watch->easy = curl_easy_init()))
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	if (!rc) {
		long wait = kube_ratelimit_take(&watch->client->limiter, kube_now_ms());
		if (wait > 0)
			kube_sleep_ms(wait);
		rc = kube_http_prepare(watch->client, watch->easy, &watch->headers, "GET", watch->url, NULL, NULL);
	}
	if (!rc) {
		/* The deadline bounds a watch, not --request-timeout. */
		curl_easy_setopt(watch->easy, CURLOPT_TIMEOUT_MS, 0L);
		curl_easy_setopt(watch->easy, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(watch->easy, CURLOPT_WRITEDATA, watch);
		curl_easy_setopt(watch->easy, CURLOPT_HEADERFUNCTION, on_stream_header);
		curl_easy_setopt(watch->easy, CURLOPT_HEADERDATA, watch);
		watch->stream.limit = KUBE_WATCH_MAX_LINE;
		if (curl_multi_add_handle(watch->multi, watch->easy) != CURLM_OK)
			rc = kube_error_set(KUBE_ENOMEM, "cannot start the watch transfer");
	}
	if (!rc) {
		watch->client->requests++;
		watch->started_ms = kube_now_ms();
		kube_log(KUBE_LOG_DECISION, "watch %s from resourceVersion %s", path.ptr,
		         watch->initial_items      ? "(latest, with the initial events)"
		         : watch->resource_version ? watch->resource_version
		                                   : "(latest)");
	} else {
		close_stream(watch);
	}
	kube_buf_dispose(&path);
	return rc;
}

static int set_resource_version(kube_watch *watch, const char *rv)
{
	if (!rv)
		return 0;
	char *copy = kube_strdup(rv);
	if (!copy)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	kube_free(watch->resource_version);
	watch->resource_version = copy;
	return 0;
}

static int relist(kube_watch *watch, kube_watch_event *event)
{
	kube_list_options list_opts = KUBE_LIST_OPTIONS_INIT;
	json_t *list = NULL;
	list_opts.label_selector = watch->label_selector;
	list_opts.field_selector = watch->field_selector;
	close_stream(watch);
	int rc = kube_client_list(watch->client, &list, &watch->res, watch->ns, &list_opts);
	if (rc)
		return rc;
	rc = set_resource_version(
	        watch, json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
	if (rc) {
		json_decref(list);
		return rc;
	}
	watch->need_relist = 0;
	event->type = KUBE_WATCH_RELIST;
	event->object = list;
	return 0;
}

/* Starts a relist through the watch itself: the next stream starts at the
 * newest version and first sends every current item as ADDED, then a
 * bookmark marking their end. */
static int begin_initial_events(kube_watch *watch)
{
	close_stream(watch);
	json_decref(watch->initial_items);
	if (!(watch->initial_items = json_array()))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	watch->need_relist = 0;
	return 0;
}

/* The initial items as the List a LIST would have returned. */
static int initial_list(kube_watch *watch, json_t **out, const char *resource_version)
{
	char kind[sizeof(watch->res.kind) + 4];
	char api_version[sizeof(watch->res.group) + sizeof(watch->res.version) + 1];
	(void)snprintf(kind, sizeof(kind), "%sList", watch->res.kind);
	if (watch->res.group[0])
		(void)snprintf(api_version, sizeof(api_version), "%s/%s", watch->res.group, watch->res.version);
	else
		(void)snprintf(api_version, sizeof(api_version), "%s", watch->res.version);
	/* "o" steals the items, also when packing fails */
	*out = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", api_version, "kind", kind, "metadata",
	                 "resourceVersion", resource_version, "items", watch->initial_items);
	watch->initial_items = NULL;
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}

static int same_object(const json_t *a, const json_t *b)
{
	const json_t *meta_a = json_object_get(a, "metadata"), *meta_b = json_object_get(b, "metadata");
	const char *ns_a = json_string_value(json_object_get(meta_a, "namespace"));
	const char *ns_b = json_string_value(json_object_get(meta_b, "namespace"));
	const char *name_a = json_string_value(json_object_get(meta_a, "name"));
	const char *name_b = json_string_value(json_object_get(meta_b, "name"));
	return name_a && name_b && strcmp(name_a, name_b) == 0 && strcmp(ns_a ? ns_a : "", ns_b ? ns_b : "") == 0;
}

/* One event while the initial events arrive. They are gathered, not
 * delivered, and no resume point is taken from them (until their end an
 * interrupted stream must start over); the bookmark that ends them turns
 * them into one KUBE_WATCH_RELIST event in *event. Returns 1 with *event
 * replaced, 0 when the event was absorbed, or an error. */
static int initial_event(kube_watch *watch, kube_watch_event *event)
{
	json_t *meta = json_object_get(event->object, "metadata");
	int rc = 0;
	if (event->type == KUBE_WATCH_BOOKMARK) {
		const char *end =
		        json_string_value(json_object_get(json_object_get(meta, "annotations"), INITIAL_EVENTS_END));
		const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
		if (!end || strcmp(end, "true") != 0) {
			kube_watch_event_dispose(event);
			return 0;
		}
		if (!rv || !*rv) {
			kube_watch_event_dispose(event);
			watch->need_relist = 1;
			return kube_error_set(KUBE_EPROTOCOL,
			                      "watch: the end of the initial events has no resourceVersion");
		}
		json_t *list = NULL;
		size_t count = json_array_size(watch->initial_items);
		rc = set_resource_version(watch, rv);
		if (!rc)
			rc = initial_list(watch, &list, rv);
		kube_watch_event_dispose(event);
		if (rc) {
			watch->need_relist = 1; /* the items are lost: they come again */
			return rc;
		}
		kube_log(KUBE_LOG_DECISION, "watch: %zu initial items up to resourceVersion %s", count,
		         watch->resource_version);
		event->type = KUBE_WATCH_RELIST;
		event->object = list;
		return 1;
	}
	/* The server sends only ADDED before the end; the others are applied
	 * all the same, so the List is right whatever comes. */
	size_t i, found = (size_t)-1;
	json_t *item;
	if (event->type != KUBE_WATCH_ADDED) {
		json_array_foreach(watch->initial_items, i, item)
		{
			if (same_object(item, event->object))
				found = i;
		}
	}
	if (event->type == KUBE_WATCH_DELETED) {
		if (found != (size_t)-1)
			json_array_remove(watch->initial_items, found);
	} else if (found != (size_t)-1) {
		rc = json_array_set(watch->initial_items, found, event->object);
	} else {
		rc = json_array_append(watch->initial_items, event->object);
	}
	kube_watch_event_dispose(event);
	if (rc) {
		watch->need_relist = 1; /* an item is lost: they all come again */
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	return 0;
}

int kube_watch_open(kube_watch **out, kube_client *client, const kube_resource *res, const char *ns,
                    const kube_watch_options *opts)
{
	kube_watch_options defaults = KUBE_WATCH_OPTIONS_INIT;
	kube_watch *watch;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!(watch = kube_calloc(1, sizeof(*watch))))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	watch->client = client;
	watch->res = *res;
	watch->relist_on_gone = opts->relist_on_gone;
	watch->initial_events = opts->initial_events;
	watch->need_relist = opts->resource_version == NULL;
	if (opts->timeout_ms > 0)
		watch->deadline_ms = kube_now_ms() + opts->timeout_ms;
	int rc = 0;
	if ((ns && !(watch->ns = kube_strdup(ns))) ||
	    (opts->label_selector && !(watch->label_selector = kube_strdup(opts->label_selector))) ||
	    (opts->field_selector && !(watch->field_selector = kube_strdup(opts->field_selector))) ||
	    (opts->resource_version && !(watch->resource_version = kube_strdup(opts->resource_version))) ||
	    !(watch->multi = curl_multi_init()))
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	if (!rc && !watch->need_relist)
		rc = open_stream(watch);
	if (rc) {
		kube_watch_free(watch);
		return rc;
	}
	*out = watch;
	return 0;
}

static int event_type(const char *type)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
	for (size_t i = 0; type && i < KUBE_ARRAY_SIZE(names); i++)
		if (strcmp(type, names[i]) == 0)
			return (int)i;
	return -1;
}

int kube_watch_parse_line(kube_watch_event *event, const char *line, size_t len)
{
	json_error_t err;
	event->type = 0;
	event->object = NULL;
	json_t *doc = json_loadb(line, len, 0, &err);
	if (!doc)
		return kube_error_set(KUBE_EPROTOCOL, "watch: malformed event: %s", err.text);
	const char *type = json_string_value(json_object_get(doc, "type"));
	json_t *object = json_object_get(doc, "object");
	int rc;
	if (type && strcmp(type, "ERROR") == 0) {
		long code = (long)json_integer_value(json_object_get(object, "code"));
		const char *message = json_string_value(json_object_get(object, "message"));
		const char *reason = json_string_value(json_object_get(object, "reason"));
		int gone = code == 410 || (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0));
		rc = kube_error_set_http(gone          ? KUBE_EGONE
		                         : code == 403 ? KUBE_EFORBIDDEN
		                                       : KUBE_EPROTOCOL,
		                         gone ? 410 : code, reason, message, "watch: %s",
		                         message ? message : "error event");
	} else if (event_type(type) < 0 || !json_is_object(object)) {
		rc = kube_error_set(KUBE_EPROTOCOL, "watch: unexpected event type %s", type ? type : "(none)");
	} else {
		event->type = event_type(type);
		event->object = json_incref(object);
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

/* Parses one line of the stream. Returns 1 with *event filled, 0 for a line
 * that yields no event (410: a relist is now due), or an error. */
static int parse_line(kube_watch *watch, const char *line, size_t len, kube_watch_event *event)
{
	int rc = kube_watch_parse_line(event, line, len);
	if (rc == KUBE_EGONE) {
		kube_log(KUBE_LOG_DECISION, "watch: resourceVersion %s expired (410); relisting",
		         watch->resource_version ? watch->resource_version : "");
		watch->need_relist = 1;
		return watch->relist_on_gone ? 0 : rc;
	}
	if (rc)
		return rc;
	if (watch->initial_items)
		return initial_event(watch, event);
	rc = set_resource_version(watch, json_string_value(json_object_get(json_object_get(event->object, "metadata"),
	                                                                   "resourceVersion")));
	if (rc) {
		kube_watch_event_dispose(event);
		return rc;
	}
	return 1;
}

/* The stream's transfer finished: decide between reconnecting and failing. */
static int stream_finished(kube_watch *watch, CURLcode code)
{
	long status = 0;
	curl_easy_getinfo(watch->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!watch->logged)
		kube_http_log_request("GET", watch->url, status, (double)(kube_now_ms() - watch->started_ms), NULL, 0,
		                      status >= 300 ? &watch->stream : NULL);
	int rc = 0;
	if (watch->initial_items && (status == 400 || status == 422)) {
		/* An older server (resourceVersionMatch is refused on watches) or
		 * one without the WatchList feature: LIST and WATCH instead, for
		 * the life of this watch. */
		kube_http_status_error(status, &watch->stream, "GET", watch->url);
		kube_log(KUBE_LOG_DECISION, "watch: the server refused the initial events (%s); listing instead",
		         kube_error_last()->message);
		kube_error_clear();
		json_decref(watch->initial_items);
		watch->initial_items = NULL;
		watch->initial_refused = 1;
		watch->need_relist = 1;
		watch->idle_streams = 0;
		close_stream(watch);
		return 0;
	}
	if (watch->initial_items && json_array_size(watch->initial_items)) {
		/* cut short before their end: the next stream sends them all again */
		kube_log(KUBE_LOG_DECISION, "watch: the stream ended within the initial events; starting them over");
		json_array_clear(watch->initial_items);
	}
	if (code != CURLE_OK && status < 300) {
		rc = kube_http_curl_error(code, NULL, "GET", watch->url);
		/* A dropped connection is resumed from the last version; so is
		 * a reconnect cut during its TLS handshake (a reset): the
		 * client's requests already proved the certificates, and a
		 * failed verification has a code of its own. */
		if (rc == KUBE_ENETWORK || rc == KUBE_ETIMEOUT || code == CURLE_SSL_CONNECT_ERROR) {
			kube_log(KUBE_LOG_DECISION, "watch stream dropped (%s); resuming", kube_error_last()->message);
			(void)snprintf(watch->last_error, sizeof(watch->last_error), "%s", kube_error_last()->message);
			rc = 0;
		}
	} else if (status == 410) {
		watch->need_relist = 1;
		if (!watch->relist_on_gone)
			rc = kube_http_status_error(status, &watch->stream, "GET", watch->url);
	} else if (status == 401 && !watch->reauthenticated && kube_auth_unauthorized(watch->client->auth)) {
		kube_log(KUBE_LOG_DECISION, "401 from the server: refreshing credentials and watching again");
		watch->reauthenticated = 1;
		watch->idle_streams = 0;
	} else if ((status == 429 || status >= 500) && watch->refused < WATCH_MAX_REFUSED) {
		/* Throttled (Priority and Fairness rejects before any work) or a
		 * server error before the stream began: open it again after the
		 * growing backoff of kube_watch_next, as a request is retried. */
		kube_http_status_error(status, &watch->stream, "GET", watch->url);
		kube_log(KUBE_LOG_DECISION, "watch refused (%s); opening it again", kube_error_last()->message);
		(void)snprintf(watch->last_error, sizeof(watch->last_error), "%s", kube_error_last()->message);
		kube_error_clear();
		watch->refused++;
	} else if (status < 200 || status >= 300) {
		rc = kube_http_status_error(status, &watch->stream, "GET", watch->url);
	}
	close_stream(watch);
	return rc;
}

int kube_watch_peek_line(const kube_buf *stream, size_t *len)
{
	const char *newline = stream->len ? memchr(stream->ptr, '\n', stream->len) : NULL;
	if (!newline)
		return 0;
	*len = (size_t)(newline - stream->ptr);
	return 1;
}

void kube_watch_drop_line(kube_buf *stream, size_t len)
{
	kube_buf_consume(stream, len + 1);
}

/* A complete event line is buffered: 1 with its length in *len. An error
 * reply (a Status, not events) is never parsed as lines: it is read whole
 * when the transfer ends. */
static int has_line(const kube_watch *watch, size_t *len)
{
	return watch->status < 300 && kube_watch_peek_line(&watch->stream, len);
}

int kube_watch_next(kube_watch *watch, kube_watch_event *event, long wait_ms)
{
	long long call_deadline = wait_ms >= 0 ? kube_now_ms() + wait_ms : 0;
	int performed = 0; /* even a wait of 0 reads what the socket holds */
	event->type = 0;
	event->object = NULL;
	for (;;) {
		size_t len;
		if (has_line(watch, &len)) {
			int rc = len ? parse_line(watch, watch->stream.ptr, len, event) : 0;
			kube_watch_drop_line(&watch->stream, len);
			if (rc == 1) {
				watch->idle_streams = 0;
				watch->refused = 0;
				return 0;
			}
			/* a relist is due (410, or initial events that must come
			 * again): this stream has nothing more to give */
			if (watch->need_relist)
				close_stream(watch);
			if (rc < 0)
				return rc;
			continue;
		}
		if (watch->finished) {
			/* Every complete line is consumed: reconnect or fail. */
			int rc = stream_finished(watch, watch->result);
			if (rc)
				return rc;
			continue;
		}
		long left = remaining_ms(watch);
		if (left == 0)
			return kube_error_set(KUBE_ETIMEOUT, "watch: deadline reached%s%s",
			                      watch->last_error[0] ? "; last stream ended: " : "", watch->last_error);
		if (call_deadline && performed && kube_now_ms() >= call_deadline)
			return kube_error_set(KUBE_ETIMEOUT, "watch: no event within %ld ms", wait_ms);
		if (watch->need_relist) {
			if (!watch->initial_events || watch->initial_refused)
				return relist(watch, event);
			int rc = begin_initial_events(watch);
			if (rc)
				return rc;
		}
		if (!watch->easy) {
			if (watch->idle_streams > 0) {
				/* a stream that ends at once, again and again (a server
				 * restarting, a proxy cutting it) must not spin */
				long base = 100L << (watch->idle_streams < 6 ? watch->idle_streams : 6);
				long delay = base / 2 + kube_jitter_ms(base / 2);
				if (left >= 0 && delay > left)
					delay = left;
				if (call_deadline && delay > call_deadline - kube_now_ms())
					delay = (long)(call_deadline - kube_now_ms());
				if (delay > 0)
					kube_sleep_ms(delay);
			}
			watch->idle_streams++;
			int rc = open_stream(watch);
			if (rc)
				return rc;
		}
		int still_running = 0;
		curl_multi_perform(watch->multi, &still_running);
		performed = 1;
		int queued;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(watch->multi, &queued)) != NULL) {
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == watch->easy) {
				watch->finished = 1;
				watch->result = msg->data.result;
			}
		}
		if (watch->finished || has_line(watch, &len))
			continue;
		long poll_ms = 1000;
		if (left > 0 && left < poll_ms)
			poll_ms = left;
		if (call_deadline) {
			long long call_left = call_deadline - kube_now_ms();
			if (call_left < poll_ms)
				poll_ms = call_left > 0 ? (long)call_left : 0;
		}
		curl_multi_poll(watch->multi, NULL, 0, (int)poll_ms, NULL);
	}
}

const char *kube_watch_resource_version(const kube_watch *watch)
{
	return watch->resource_version ? watch->resource_version : "";
}

void kube_watch_event_dispose(kube_watch_event *event)
{
	if (!event)
		return;
	json_decref(event->object);
	event->object = NULL;
}

void kube_watch_free(kube_watch *watch)
{
	if (!watch)
		return;
	close_stream(watch);
	if (watch->multi)
		curl_multi_cleanup(watch->multi);
	kube_buf_dispose(&watch->stream);
	json_decref(watch->initial_items);
	kube_free(watch->ns);
	kube_free(watch->label_selector);
	kube_free(watch->field_selector);
	kube_free(watch->resource_version);
	kube_free(watch);
}
