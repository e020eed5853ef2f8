/* Unit tests of the request loop, pagination and watch resumption against
 * a scripted HTTP server on 127.0.0.1. The server is canned on purpose: it
 * produces what the real API server cannot be made to produce on demand
 * (503s, truncated bodies, an expired continue token mid-list, a stream
 * cut in the middle); the e2e suites cover the real server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/watch.h>

#include "test_support.h"

#define MAX_STEPS 16

/* One scripted reply: sent verbatim after the request's headers (and body)
 * arrived; the connection is then closed. */
struct reply {
	const char *raw;
};

struct server {
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	struct reply replies[MAX_STEPS];
	int reply_count;
	atomic_int served;
	char requests[MAX_STEPS][512]; /* request lines as received */
	long long at_ms[MAX_STEPS];    /* when each request arrived */
	long hang_ms;                  /* how long each request waits for its reply */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serve_one(void *server, int conn)
{
	struct server *srv = server;
	char req[8192];
	if (!test_http_read_request(conn, req, sizeof(req)))
		return;
	int i = atomic_load(&srv->served);
	if (i >= srv->reply_count)
		return;
	(void)snprintf(srv->requests[i], sizeof(srv->requests[i]), "%.*s", (int)strcspn(req, "\r"), req);
	srv->at_ms[i] = now_ms();
	atomic_store(&srv->served, i + 1);
	for (long waited = 0; waited < srv->hang_ms && !atomic_load(&srv->stop); waited += 10)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000L}, NULL);
	const char *raw = srv->replies[i].raw;
	send(conn, raw, strlen(raw), MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
	struct server *srv = arg;
	test_serve_until(srv->fd, &srv->stop, serve_one, srv);
	return NULL;
}

static void server_start(struct server *srv)
{
	srv->fd = test_listen_loopback(&srv->port);
	assert_int_equal(pthread_create(&srv->thread, NULL, server_main, srv), 0);
}

static void server_stop(struct server *srv)
{
	atomic_store(&srv->stop, 1);
	pthread_join(srv->thread, NULL);
	close(srv->fd);
}

/* A config and client pointing at srv over plain HTTP. */
struct fixture {
	struct server srv;
	char kubeconfig[256];
	kube_config *config;
	kube_client *client;
};

static void connect_fixture(struct fixture *fx, int max_retries)
{
	kube_config_options opts = KUBE_CONFIG_OPTIONS_INIT;
	kube_client_options client_opts = KUBE_CLIENT_OPTIONS_INIT;
	char server[64];
	(void)snprintf(fx->kubeconfig, sizeof(fx->kubeconfig), "/tmp/rollguard-test-client-%d.yaml", (int)getpid());
	FILE *f = fopen(fx->kubeconfig, "w");
	assert_non_null(f);
	fprintf(f,
	        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:%d\"}\n"
	        "users:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: ns}\n"
	        "current-context: x\n",
	        fx->srv.port);
	fclose(f);
	(void)snprintf(server, sizeof(server), "http://127.0.0.1:%d", fx->srv.port);
	opts.kubeconfig = fx->kubeconfig;
	client_opts.max_retries = max_retries;
	client_opts.cache_dir = "/tmp";
	assert_int_equal(kube_config_load(&fx->config, &opts), 0);
	assert_int_equal(kube_client_new(&fx->client, fx->config, &client_opts), 0);
}

static void fixture_start(struct fixture *fx, int max_retries, const char *const *replies)
{
	memset(fx, 0, sizeof(*fx));
	for (int i = 0; replies[i]; i++)
		fx->srv.replies[fx->srv.reply_count++].raw = replies[i];
	server_start(&fx->srv);
	connect_fixture(fx, max_retries);
}

static void fixture_stop(struct fixture *fx)
{
	kube_client_free(fx->client);
	kube_config_free(fx->config);
	server_stop(&fx->srv);
	unlink(fx->kubeconfig);
}

#define OK_JSON(body) "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " body
#define STATUS(code, reason)                                                                                           \
	"HTTP/1.1 " #code " X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                          \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"" reason                       \
	"\",\"message\":\"scripted " #code "\",\"code\":" #code "}"

static const kube_resource configmaps = {"", "v1", "configmaps", "ConfigMap", 1};

static void test_client__retry_after_is_honoured_for_429(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
	        "Connection: close\r\n\r\n{\"kind\":\"Status\",\"code\":429,\"reason\":\"TooManyRequests\"}",
	        OK_JSON("2\r\n\r\n{}"),
	        NULL,
	};
	struct fixture fx;
	fixture_start(&fx, 5, replies);
	json_t *out = NULL;
	/* POST: 429 means the server did nothing, so even non-idempotent verbs retry */
	assert_int_equal(
	        kube_client_request_json(fx.client, &out, "POST", "/api/v1/namespaces/ns/configmaps", NULL, NULL), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	assert_true(fx.srv.at_ms[1] - fx.srv.at_ms[0] >= 950);
	json_decref(out);
	fixture_stop(&fx);
}

static void test_client__5xx_retried_only_for_idempotent_verbs(void **state)
{
	(void)state;
	static const char *const get_replies[] = {STATUS(503, "ServiceUnavailable"), STATUS(500, "InternalError"),
	                                          OK_JSON("2\r\n\r\n{}"), NULL};
	struct fixture fx;
	fixture_start(&fx, 5, get_replies);
	json_t *out = NULL;
	assert_int_equal(
	        kube_client_request_json(fx.client, &out, "GET", "/api/v1/namespaces/ns/configmaps/x", NULL, NULL), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 3);
	assert_int_equal(kube_client_request_count(fx.client), 3);
	json_decref(out);
	fixture_stop(&fx);

	static const char *const post_replies[] = {STATUS(503, "ServiceUnavailable"), OK_JSON("2\r\n\r\n{}"), NULL};
	fixture_start(&fx, 5, post_replies);
	assert_int_equal(
	        kube_client_request_json(fx.client, &out, "POST", "/api/v1/namespaces/ns/configmaps", NULL, NULL),
	        KUBE_ENETWORK);
	assert_null(out);
	assert_int_equal(atomic_load(&fx.srv.served), 1);
	assert_int_equal(kube_error_last()->http_status, 503);
	assert_string_equal(kube_error_last()->server_message, "scripted 503");
	fixture_stop(&fx);
}

static void test_client__retries_run_out(void **state)
{
	(void)state;
	static const char *const replies[] = {STATUS(503, "ServiceUnavailable"), STATUS(503, "ServiceUnavailable"),
	                                      STATUS(503, "ServiceUnavailable"), OK_JSON("2\r\n\r\n{}"), NULL};
	struct fixture fx;
	fixture_start(&fx, 2, replies);
	json_t *out = NULL;
	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/api/v1/namespaces", NULL, NULL),
	                 KUBE_ENETWORK);
	assert_int_equal(atomic_load(&fx.srv.served), 3); /* one try and two retries */
	fixture_stop(&fx);
}

static void test_client__truncated_body_is_retried(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 100\r\n\r\n"
	        "{\"kind\":",
	        OK_JSON("15\r\n\r\n{\"kind\":\"List\"}"),
	        NULL,
	};
	struct fixture fx;
	fixture_start(&fx, 5, replies);
	json_t *out = NULL;
	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/api/v1/namespaces", NULL, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(out, "kind")), "List");
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	json_decref(out);
	fixture_stop(&fx);
}

static void test_client__errors_keep_the_server_status(void **state)
{
	(void)state;
	static const char *const replies[] = {STATUS(404, "NotFound"), STATUS(409, "Conflict"),
	                                      STATUS(403, "Forbidden"), NULL};
	static const int codes[] = {KUBE_ENOTFOUND, KUBE_ECONFLICT, KUBE_EFORBIDDEN};
	static const char *const reasons[] = {"NotFound", "Conflict", "Forbidden"};
	struct fixture fx;
	fixture_start(&fx, 5, replies);
	for (int i = 0; i < 3; i++) {
		json_t *out = NULL;
		assert_int_equal(kube_client_request_json(fx.client, &out, "PUT", "/api/v1/namespaces/ns/configmaps/x",
		                                          NULL, NULL),
		                 codes[i]);
		assert_string_equal(kube_error_last()->reason, reasons[i]);
	}
	assert_int_equal(atomic_load(&fx.srv.served), 3); /* none of these is retried */
	fixture_stop(&fx);
}

static int collect_names(const json_t *items, int first_page, void *user)
{
	char *names = user;
	size_t i;
	json_t *item;
	if (first_page)
		names[0] = '\0';
	json_array_foreach(items, i, item)
	{
		size_t used = strlen(names);
		(void)snprintf(names + used, 256 - used, "%s,",
		               json_string_value(json_object_get(json_object_get(item, "metadata"), "name")));
	}
	return 0;
}

#define PAGE(items, cont)                                                                                              \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                               \
	"{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"" cont "\"},"              \
	"\"items\":[" items "]}"
#define ITEM(name) "{\"metadata\":{\"name\":\"" name "\"}}"

static void test_client__list_pages_and_restarts_on_expired_continue(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        PAGE(ITEM("a") "," ITEM("b"), "tok1"), STATUS(410, "Expired"), /* the continue token expired */
	        PAGE(ITEM("a") "," ITEM("b"), "tok2"), PAGE(ITEM("c"), ""),    NULL,
	};
	struct fixture fx;
	fixture_start(&fx, 5, replies);
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	char names[256] = "";
	char *rv = NULL;
	opts.limit = 2;
	opts.label_selector = "app=web";
	assert_int_equal(kube_client_list_pages(fx.client, &configmaps, "ns", &opts, collect_names, names, &rv), 0);
	assert_string_equal(names, "a,b,c,");
	assert_string_equal(rv, "7");
	assert_int_equal(atomic_load(&fx.srv.served), 4);
	assert_string_equal(fx.srv.requests[0],
	                    "GET /api/v1/namespaces/ns/configmaps?limit=2&labelSelector=app%3Dweb HTTP/1.1");
	assert_string_equal(
	        fx.srv.requests[1],
	        "GET /api/v1/namespaces/ns/configmaps?limit=2&labelSelector=app%3Dweb&continue=tok1 HTTP/1.1");
	assert_string_equal(fx.srv.requests[2],
	                    "GET /api/v1/namespaces/ns/configmaps?limit=2&labelSelector=app%3Dweb HTTP/1.1");
	free(rv);
	fixture_stop(&fx);

	/* with one decoded page allowed at a time, every page (and the error
	 * path of the expired continue) gives its slot back: a second listing
	 * below would wait forever otherwise */
	kube_list_set_max_pages(1);

	/* kube_client_list drops the pages of the abandoned listing too */
	fixture_start(&fx, 5, replies);
	json_t *list = NULL;
	assert_int_equal(kube_client_list(fx.client, &list, &configmaps, "ns", &opts), 0);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 3);
	assert_string_equal(json_string_value(json_object_get(list, "kind")), "ConfigMapList");
	json_decref(list);
	fixture_stop(&fx);

	fixture_start(&fx, 5, replies);
	assert_int_equal(kube_client_list(fx.client, &list, &configmaps, "ns", &opts), 0);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 3);
	json_decref(list);
	fixture_stop(&fx);
	kube_list_set_max_pages(0);
}

#define STREAM_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
#define EVENT(type, name, rv)                                                                                          \
	"{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}\n"

static void test_client__watch_resumes_and_relists(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        /* the stream ends after two events (server timeout): resume from rv 12 */
	        STREAM_HEAD EVENT("ADDED", "a", "11") EVENT("MODIFIED", "a", "12"),
	        /* a bookmark, then the version is too old */
	        STREAM_HEAD "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"20\"}}}\n"
	                    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
	                    "\"message\":\"too old resource version\"}}\n",
	        /* relist */
	        PAGE(ITEM("a") "," ITEM("b"), ""),
	        /* and watch on from the list's version */
	        STREAM_HEAD EVENT("DELETED", "b", "31"),
	        NULL,
	};
	struct fixture fx;
	fixture_start(&fx, 5, replies);
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.resource_version = "10";
	opts.timeout_ms = 10000;
	assert_int_equal(kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts), 0);
	static const int want[] = {KUBE_WATCH_ADDED, KUBE_WATCH_MODIFIED, KUBE_WATCH_BOOKMARK, KUBE_WATCH_RELIST,
	                           KUBE_WATCH_DELETED};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		kube_watch_event event;
		int rc = kube_watch_next(watch, &event, 5000);
		if (rc)
			fail_msg("event %zu: %s", i, kube_error_last()->message);
		assert_int_equal(event.type, want[i]);
		if (event.type == KUBE_WATCH_RELIST)
			assert_int_equal(json_array_size(json_object_get(event.object, "items")), 2);
		kube_watch_event_dispose(&event);
	}
	assert_string_equal(kube_watch_resource_version(watch), "31");
	assert_non_null(strstr(fx.srv.requests[0], "watch=1&allowWatchBookmarks=true&resourceVersion=10&"));
	assert_non_null(strstr(fx.srv.requests[1], "resourceVersion=12&"));
	assert_non_null(strstr(fx.srv.requests[2], "/configmaps?limit=500"));
	assert_non_null(strstr(fx.srv.requests[3], "resourceVersion=7&"));
	kube_watch_free(watch);
	fixture_stop(&fx);
}

static void test_client__watch_deadline(void **state)
{
	(void)state;
	/* a stream that sends its headers and then nothing */
	static const char *const replies[] = {NULL};
	struct fixture fx;
	fixture_start(&fx, 0, replies);
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	opts.resource_version = "1";
	opts.timeout_ms = 300;
	long long started = now_ms();
	assert_int_equal(kube_watch_open(&watch, fx.client, &configmaps, "ns", &opts), 0);
	kube_watch_event event;
	int rc = kube_watch_next(watch, &event, -1);
	assert_true(rc == KUBE_ETIMEOUT || rc == KUBE_ENETWORK);
	assert_true(now_ms() - started < 3000);
	kube_watch_free(watch);
	fixture_stop(&fx);
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define DATED(date) "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" date "Connection: close\r\n\r\n{}"

static void test_client__server_time_from_the_date_header(void **state)
{
	(void)state;
	static const long long at_2031 = 1924992000000LL, at_2020 = 1577836800000LL;
	static const char *const replies[] = {
	        DATED("Date: Wed, 01 Jan 2031 00:00:00 GMT\r\n"),
	        DATED(""), /* no Date: the last one still counts */
	        DATED("Date: Wed, 01 Jan 2031 00:00:00 GMT\r\n"),
	        DATED("date: Wed, 01 Jan 2020 00:00:00 GMT\r\n"), /* the server's clock was set back */
	        NULL,
	};
	struct fixture fx;
	fixture_start(&fx, 0, replies);
	/* no reply yet: our own wall clock */
	long long before = wall_ms();
	long long now = kube_client_server_now_ms(fx.client);
	assert_true(now >= before && now <= wall_ms());

	json_t *out = NULL;
	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/version", NULL, NULL), 0);
	json_decref(out);
	long long first = kube_client_server_now_ms(fx.client);
	assert_true(first >= at_2031 && first < at_2031 + 1000);
	nanosleep(&(struct timespec){0, 300 * 1000 * 1000L}, NULL);
	long long later = kube_client_server_now_ms(fx.client);
	assert_true(later - first >= 300 && later - first < 1300); /* the local monotonic time since */

	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/version", NULL, NULL), 0);
	json_decref(out);
	assert_true(kube_client_server_now_ms(fx.client) >= later);
	/* the same second again: never a step back */
	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/version", NULL, NULL), 0);
	json_decref(out);
	assert_true(kube_client_server_now_ms(fx.client) >= later);

	assert_int_equal(kube_client_request_json(fx.client, &out, "GET", "/version", NULL, NULL), 0);
	json_decref(out);
	now = kube_client_server_now_ms(fx.client);
	assert_true(now >= at_2020 && now < at_2020 + 1000);
	fixture_stop(&fx);
}

/* kube_client_request_opts: a call's own retry budget and deadline. */
static void test_client__request_options(void **state)
{
	(void)state;
	static const char *const replies[] = {STATUS(503, "ServiceUnavailable"), OK_JSON("2\r\n\r\n{}"), NULL};
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	kube_request_options opts = KUBE_REQUEST_OPTIONS_INIT;
	struct fixture fx;

	/* NULL: as kube_client_request, the client's retries */
	fixture_start(&fx, 5, replies);
	assert_int_equal(kube_client_request_opts(fx.client, &resp, "GET", "/api/v1/namespaces", NULL, NULL, 0, NULL),
	                 0);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	kube_response_dispose(&resp);
	fixture_stop(&fx);

	/* no retries: a 5xx of a GET is the answer */
	fixture_start(&fx, 5, replies);
	opts.max_retries = 0;
	assert_int_equal(kube_client_request_opts(fx.client, &resp, "GET", "/api/v1/namespaces", NULL, NULL, 0, &opts),
	                 KUBE_ENETWORK);
	assert_int_equal(resp.status, 503);
	assert_int_equal(kube_error_last()->http_status, 503);
	assert_int_equal(atomic_load(&fx.srv.served), 1);
	kube_response_dispose(&resp);
	fixture_stop(&fx);

	/* a deadline no retry fits in: Retry-After 1 s, 500 ms left */
	static const char *const throttled[] = {
	        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
	        "Connection: close\r\n\r\n{\"kind\":\"Status\",\"code\":429,\"reason\":\"TooManyRequests\"}",
	        OK_JSON("2\r\n\r\n{}"),
	        NULL,
	};
	fixture_start(&fx, 5, throttled);
	opts = (kube_request_options)KUBE_REQUEST_OPTIONS_INIT;
	opts.timeout_ms = 500;
	long long started = now_ms();
	assert_int_equal(kube_client_request_opts(fx.client, &resp, "GET", "/api/v1/namespaces", NULL, NULL, 0, &opts),
	                 KUBE_ENETWORK);
	assert_true(now_ms() - started < 450);
	assert_int_equal(atomic_load(&fx.srv.served), 1);
	kube_response_dispose(&resp);
	fixture_stop(&fx);

	/* a server that does not answer: the deadline ends the call, retries
	 * and all */
	fixture_start(&fx, 5, replies);
	fx.srv.hang_ms = 3000;
	started = now_ms();
	assert_int_equal(kube_client_request_opts(fx.client, &resp, "GET", "/api/v1/namespaces", NULL, NULL, 0, &opts),
	                 KUBE_ETIMEOUT);
	long long took = now_ms() - started;
	assert_true(took >= 450 && took < 1500);
	assert_non_null(strstr(kube_error_last()->message, "timed out"));
	assert_int_equal(kube_client_request_count(fx.client), 1);
	kube_response_dispose(&resp);
	fixture_stop(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_client__retry_after_is_honoured_for_429),
	        cmocka_unit_test(test_client__5xx_retried_only_for_idempotent_verbs),
	        cmocka_unit_test(test_client__retries_run_out),
	        cmocka_unit_test(test_client__truncated_body_is_retried),
	        cmocka_unit_test(test_client__errors_keep_the_server_status),
	        cmocka_unit_test(test_client__list_pages_and_restarts_on_expired_continue),
	        cmocka_unit_test(test_client__watch_resumes_and_relists),
	        cmocka_unit_test(test_client__watch_deadline),
	        cmocka_unit_test(test_client__server_time_from_the_date_header),
	        cmocka_unit_test(test_client__request_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
