/* Unit tests of the watch stream's line parser, table-driven from
 * fixtures/watch/stream.jsonl (one event per line) and stream.expected
 * (per line: "0 TYPE NAME RV" or "CODE HTTP REASON MESSAGE"); and of
 * relisting through the watch itself (sendInitialEvents) against a canned
 * server on 127.0.0.1, which can refuse it as an older server or one
 * without the WatchList feature does, and cut a stream short on demand.
 * e2e/suites/test_coordination.sh runs it against the real API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/log.h>
#include <kube/watch.h>

#include "test_support.h"
#include "watch_internal.h"

static const char *type_name(int type)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELIST"};
	return names[type];
}

static void test_watch__parses_each_event_kind(void **state)
{
	(void)state;
	char *stream = test_fixture_read("watch/stream.jsonl", NULL);
	char *expected = test_fixture_read("watch/stream.expected", NULL);
	char *line_save = stream, *want_save = expected;
	int cases = 0;
	for (;;) {
		char *line = line_save, *want = want_save;
		char *line_end = strchr(line, '\n'), *want_end = strchr(want, '\n');
		if (!line_end || !want_end)
			break;
		*line_end = *want_end = '\0';
		line_save = line_end + 1;
		want_save = want_end + 1;

		kube_watch_event event;
		char got[512];
		int rc = kube_watch_parse_line(&event, line, strlen(line));
		if (rc == 0) {
			json_t *meta = json_object_get(event.object, "metadata");
			const char *name = json_string_value(json_object_get(meta, "name"));
			snprintf(got, sizeof(got), "0 %s %s %s", type_name(event.type), name ? name : "-",
			         json_string_value(json_object_get(meta, "resourceVersion")));
			kube_watch_event_dispose(&event);
		} else {
			const kube_error *err = kube_error_last();
			assert_null(event.object);
			snprintf(got, sizeof(got), "%s %ld %s %s", kube_error_name(rc), err->http_status,
			         *err->reason ? err->reason : "-", *err->server_message ? err->server_message : "-");
		}
		assert_string_equal(got, want);
		cases++;
	}
	assert_int_equal(cases, 10);
	free(stream);
	free(expected);
}

static void test_watch__allocation_failure_never_leaks(void **state)
{
	(void)state;
	const char *line = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}";
	for (long n = 1; n < 200; n++) {
		kube_watch_event event;
		test_alloc_fail_at(n);
		int rc = kube_watch_parse_line(&event, line, strlen(line));
		test_alloc_fail_at(0);
		if (rc == 0) {
			kube_watch_event_dispose(&event);
			return;
		}
		assert_int_equal(rc, KUBE_EPROTOCOL); /* jansson reports its allocation failures as parse errors */
		assert_null(event.object);
	}
	fail_msg("parse never succeeded");
}

/* ---- relisting through the watch, against a canned server ---------------------------------------------------- */

#define STREAM_HEAD                                                                                                    \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Wed, 01 Jan 2031 00:00:00 GMT\r\n"                 \
	"Connection: close\r\n\r\n"
#define EVENT(type, name, rv)                                                                                          \
	"{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}\n"
#define BOOKMARK(rv) "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"" rv "\"}}}\n"
#define INITIAL_END(rv)                                                                                                \
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"" rv "\","      \
	"\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n"
#define REFUSED(code, message)                                                                                         \
	"HTTP/1.1 " #code " X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                          \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Invalid\","                    \
	"\"message\":\"" message "\",\"code\":" #code "}"
#define PAGE(items, rv)                                                                                                \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                               \
	"{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"" rv "\"},\"items\":[" items "]}"
#define ITEM(name)    "{\"metadata\":{\"name\":\"" name "\"}}"
#define INITIAL_QUERY "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&"

static const kube_resource configmaps = {"", "v1", "configmaps", "ConfigMap", 1};

static void next_event(kube_watch *watch, kube_watch_event *event, int type)
{
	int rc = kube_watch_next(watch, event, 5000);
	if (rc)
		fail_msg("kube_watch_next: %s", kube_error_last()->message);
	assert_int_equal(event->type, type);
}

/* The next event, which must be a RELIST of a List of count items. */
static void next_relist(kube_watch *watch, kube_watch_event *event, size_t count)
{
	next_event(watch, event, KUBE_WATCH_RELIST);
	assert_int_equal(json_array_size(json_object_get(event->object, "items")), count);
}

static const char *item_name(const json_t *list, size_t i)
{
	return json_string_value(json_object_get(
	        json_object_get(json_array_get(json_object_get(list, "items"), i), "metadata"), "name"));
}

/* Starts fx with replies and opens a watch of the ConfigMaps in ns that
 * begins with their initial events, from resource_version when not NULL;
 * the open must succeed. */
static kube_watch *start_with_initial_events(struct test_api *fx, const char *const *replies,
                                             const char *resource_version)
{
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.initial_events = 1;
	opts.resource_version = resource_version;
	opts.timeout_ms = 10000;
	test_api_start(fx, replies, NULL, NULL);
	assert_int_equal(kube_watch_open(&watch, fx->client, &configmaps, "ns", &opts), 0);
	return watch;
}

struct request_log {
	int requests; /* -v6 lines naming a request */
};

static void count_requests(int level, const char *line, void *user)
{
	struct request_log *log = user;
	if (level == KUBE_LOG_REQUEST && strncmp(line, "GET http", 8) == 0)
		log->requests++;
}

static void test_watch__initial_events_in_one_request(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        STREAM_HEAD EVENT("ADDED", "a", "5") BOOKMARK("6") EVENT("ADDED", "b", "7") INITIAL_END("10")
	                EVENT("MODIFIED", "a", "11"),
	        NULL,
	};
	struct test_api fx;
	struct request_log log = {0};
	test_api_start(&fx, replies, NULL, NULL);
	kube_log_set(count_requests, KUBE_LOG_REQUEST, &log);
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.initial_events = 1;
	opts.timeout_ms = 10000;
	opts.label_selector = "app=web";
	assert_int_equal(kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts), 0);
	kube_watch_event event;
	/* the items so far, as one List, once their end is known */
	next_event(watch, &event, KUBE_WATCH_RELIST);
	assert_string_equal(json_string_value(json_object_get(event.object, "kind")), "ConfigMapList");
	assert_string_equal(json_string_value(json_object_get(event.object, "apiVersion")), "v1");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(event.object, "metadata"), "resourceVersion")), "10");
	assert_int_equal(json_array_size(json_object_get(event.object, "items")), 2);
	assert_string_equal(item_name(event.object, 0), "a");
	assert_string_equal(item_name(event.object, 1), "b");
	assert_string_equal(kube_watch_resource_version(watch), "10");
	kube_watch_event_dispose(&event);
	/* then the stream goes on */
	next_event(watch, &event, KUBE_WATCH_MODIFIED);
	kube_watch_event_dispose(&event);
	assert_string_equal(kube_watch_resource_version(watch), "11");

	/* one request, and one -v6 line for it */
	assert_int_equal(kube_client_request_count(fx.client), 1);
	assert_int_equal(atomic_load(&fx.srv.served), 1);
	assert_int_equal(log.requests, 1);
	static const char want[] =
	        "GET /api/v1/namespaces/ns/configmaps" INITIAL_QUERY "labelSelector=app%3Dweb&timeoutSeconds=";
	assert_memory_equal(test_server_request_line(&fx.srv, 0), want, sizeof(want) - 1);
	/* the stream's Date set the server's clock */
	long long server_now = kube_client_server_now_ms(fx.client);
	assert_true(server_now >= 1924992000000LL && server_now < 1924992000000LL + 5000);
	kube_log_set(NULL, 0, NULL);
	kube_watch_free(watch);
	test_api_stop(&fx);
}

static void test_watch__initial_events_fall_back_when_refused(void **state)
{
	(void)state;
	/* 422: a server without the WatchList feature; 400: one so old that
	 * resourceVersionMatch is refused on watches */
	static const char *const refusals[] = {
	        REFUSED(422, "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"),
	        REFUSED(400, "resourceVersionMatch is forbidden for watch"),
	};
	for (size_t i = 0; i < 2; i++) {
		const char *const replies[] = {
		        refusals[i],
		        PAGE(ITEM("a") "," ITEM("b"), "7"),
		        STREAM_HEAD EVENT("ADDED", "c", "8"),
		        NULL,
		};
		struct test_api fx;
		kube_watch *watch = start_with_initial_events(&fx, replies, NULL);
		kube_watch_event event;
		next_relist(watch, &event, 2);
		kube_watch_event_dispose(&event);
		next_event(watch, &event, KUBE_WATCH_ADDED);
		kube_watch_event_dispose(&event);
		assert_int_equal(atomic_load(&fx.srv.served), 3);
		assert_non_null(strstr(test_server_request_line(&fx.srv, 0), INITIAL_QUERY));
		assert_string_equal(test_server_request_line(&fx.srv, 1),
		                    "GET /api/v1/namespaces/ns/configmaps?limit=500 HTTP/1.1");
		assert_non_null(strstr(test_server_request_line(&fx.srv, 2),
		                       "?watch=1&allowWatchBookmarks=true&resourceVersion=7&"));
		assert_null(strstr(test_server_request_line(&fx.srv, 2), "sendInitialEvents"));
		kube_watch_free(watch);
		test_api_stop(&fx);
	}
}

/* A watch refused with 429 (Priority and Fairness) or 5xx is opened again
 * after a backoff, as a request is retried; past WATCH_MAX_REFUSED refusals
 * in a row it fails with the server's status. The canned refusals stand in
 * for what e2e/suites/test_faults.sh makes a real server do. */
static void test_watch__refused_streams_are_opened_again(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        REFUSED(429, "Too many requests, please try again later."),
	        REFUSED(503, "the server is currently unable to handle the request"),
	        REFUSED(429, "Too many requests, please try again later."),
	        STREAM_HEAD EVENT("ADDED", "a", "5"),
	        NULL,
	};
	struct test_api fx;
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.timeout_ms = 20000;
	opts.resource_version = "4"; /* a watch from there: no LIST first */
	test_api_start(&fx, replies, NULL, NULL);
	assert_int_equal(kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts), 0);
	kube_watch_event event;
	next_event(watch, &event, KUBE_WATCH_ADDED);
	kube_watch_event_dispose(&event);
	assert_int_equal(atomic_load(&fx.srv.served), 4);
	kube_watch_free(watch);
	test_api_stop(&fx);

	static const char *const always[] = {
	        REFUSED(429, "busy"), REFUSED(429, "busy"),
	        REFUSED(429, "busy"), REFUSED(429, "busy"),
	        REFUSED(429, "busy"), REFUSED(429, "busy"),
	        REFUSED(429, "busy"), REFUSED(429, "busy"),
	        REFUSED(429, "busy"), NULL,
	};
	test_api_start(&fx, always, NULL, NULL);
	assert_int_equal(kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts), 0);
	assert_int_equal(kube_watch_next(watch, &event, 60000), KUBE_ENETWORK);
	assert_int_equal(kube_error_last()->http_status, 429);
	assert_int_equal(atomic_load(&fx.srv.served), 9);
	kube_watch_free(watch);
	test_api_stop(&fx);
}

static void test_watch__initial_events_start_over_when_cut(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        /* cut short before the end of the initial events */
	        STREAM_HEAD EVENT("ADDED", "a", "5"),
	        STREAM_HEAD EVENT("ADDED", "a", "5") EVENT("ADDED", "b", "6") INITIAL_END("9"),
	        NULL,
	};
	struct test_api fx;
	kube_watch *watch = start_with_initial_events(&fx, replies, NULL);
	kube_watch_event event;
	/* "a" once: the first stream's items were dropped */
	next_relist(watch, &event, 2);
	assert_string_equal(item_name(event.object, 0), "a");
	assert_string_equal(item_name(event.object, 1), "b");
	kube_watch_event_dispose(&event);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	/* neither stream resumed from an item's version */
	assert_non_null(strstr(test_server_request_line(&fx.srv, 0), INITIAL_QUERY));
	assert_non_null(strstr(test_server_request_line(&fx.srv, 1), INITIAL_QUERY));
	assert_null(strstr(test_server_request_line(&fx.srv, 1), "&resourceVersion="));
	kube_watch_free(watch);
	test_api_stop(&fx);
}

static void test_watch__relist_after_gone_uses_initial_events(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        STREAM_HEAD "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
	                    "\"message\":\"too old resource version\"}}\n",
	        STREAM_HEAD EVENT("ADDED", "x", "20") INITIAL_END("21") EVENT("MODIFIED", "x", "22"),
	        NULL,
	};
	struct test_api fx;
	kube_watch *watch = start_with_initial_events(&fx, replies, "10");
	kube_watch_event event;
	next_relist(watch, &event, 1);
	kube_watch_event_dispose(&event);
	next_event(watch, &event, KUBE_WATCH_MODIFIED);
	kube_watch_event_dispose(&event);
	assert_string_equal(kube_watch_resource_version(watch), "22");
	/* a watch from a version sends no initial events; its relist does,
	 * without a LIST */
	assert_non_null(
	        strstr(test_server_request_line(&fx.srv, 0), "?watch=1&allowWatchBookmarks=true&resourceVersion=10&"));
	assert_non_null(strstr(test_server_request_line(&fx.srv, 1), INITIAL_QUERY));
	assert_null(strstr(test_server_request_line(&fx.srv, 1), "resourceVersion=10"));
	assert_int_equal(kube_client_request_count(fx.client), 2);
	kube_watch_free(watch);
	test_api_stop(&fx);
}

static const char *route_initial_events(const char *req)
{
	(void)req;
	return STREAM_HEAD EVENT("ADDED", "a", "5") EVENT("ADDED", "b", "7") INITIAL_END("10")
	        EVENT("MODIFIED", "a", "11");
}

static void test_watch__initial_events_allocation_failures(void **state)
{
	(void)state;
	struct test_api fx;
	test_api_start(&fx, NULL, route_initial_events, NULL);
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.initial_events = 1;
	opts.timeout_ms = 10000;
	long n;
	for (n = 1;; n++) {
		kube_watch *watch = NULL;
		kube_watch_event event = {0, NULL};
		test_alloc_fail_at(n);
		int rc = kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts);
		if (!rc)
			rc = kube_watch_next(watch, &event, 5000);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			/* whatever failed on the way, the List is whole */
			assert_int_equal(event.type, KUBE_WATCH_RELIST);
			assert_int_equal(json_array_size(json_object_get(event.object, "items")), 2);
		} else if (rc != KUBE_ENOMEM && rc != KUBE_EPROTOCOL) {
			fail_msg("allocation %ld: %s: %s", n, kube_error_name(rc), kube_error_last()->message);
		}
		kube_watch_event_dispose(&event);
		kube_watch_free(watch);
		if (rc == 0 && used < n)
			break;
		assert_true(n < 5000);
	}
	assert_true(n > 10);
	test_api_stop(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_watch__parses_each_event_kind),
	        cmocka_unit_test(test_watch__allocation_failure_never_leaks),
	        cmocka_unit_test(test_watch__initial_events_in_one_request),
	        cmocka_unit_test(test_watch__initial_events_fall_back_when_refused),
	        cmocka_unit_test(test_watch__refused_streams_are_opened_again),
	        cmocka_unit_test(test_watch__initial_events_start_over_when_cut),
	        cmocka_unit_test(test_watch__relist_after_gone_uses_initial_events),
	        cmocka_unit_test(test_watch__initial_events_allocation_failures),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
