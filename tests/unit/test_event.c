/* Unit tests of Event recording against a canned API server on
 * 127.0.0.1: the Event's fields (involved object, reason, source, times
 * from the server's clock), dry runs, cluster-scoped objects, message
 * limits, refusals, and allocation failures. The server is canned so its
 * clock can differ from ours; e2e/suites/test_coordination.sh records an
 * Event on the real API server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/event.h>

#include "test_support.h"

#define MAX_STEPS 16

/* ---- a canned API server (as in test_lease.c)
 * ------------------------------------------------------------------------------------- */

struct server {
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	const char *replies[MAX_STEPS];        /* in order, NULL-ended; or: */
	const char *(*route)(const char *req); /* a reply chosen by the request */
	atomic_int served;
	char requests[MAX_STEPS][8192]; /* the first MAX_STEPS requests, whole */
};

static void serve_one(void *server, int conn)
{
	struct server *srv = server;
	char req[8192];
	if (!test_http_read_request(conn, req, sizeof(req)))
		return;
	int i = atomic_load(&srv->served);
	const char *reply = srv->route ? srv->route(req) : i < MAX_STEPS ? srv->replies[i] : NULL;
	if (!reply)
		return;
	if (i < MAX_STEPS)
		(void)snprintf(srv->requests[i], sizeof(srv->requests[i]), "%s", req);
	atomic_store(&srv->served, i + 1);
	send(conn, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
	struct server *srv = arg;
	test_serve_until(srv->fd, &srv->stop, serve_one, srv);
	return NULL;
}

struct fixture {
	struct server srv;
	char kubeconfig[512];
	kube_config *config;
	kube_client *client;
};

static void fixture_start(struct fixture *fx, const char *const *replies, const char *(*route)(const char *))
{
	kube_config_options opts = KUBE_CONFIG_OPTIONS_INIT;
	kube_client_options client_opts = KUBE_CLIENT_OPTIONS_INIT;
	char text[512];
	memset(fx, 0, sizeof(*fx));
	for (int i = 0; replies && replies[i] && i < MAX_STEPS - 1; i++)
		fx->srv.replies[i] = replies[i];
	fx->srv.route = route;
	fx->srv.fd = test_listen_loopback(&fx->srv.port);
	assert_int_equal(pthread_create(&fx->srv.thread, NULL, server_main, &fx->srv), 0);
	(void)snprintf(text, sizeof(text),
	               "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
	               "\"http://127.0.0.1:%d\"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: "
	               "{cluster: c, user: u, namespace: ns}\ncurrent-context: x\n",
	               fx->srv.port);
	test_write_text(test_tmp_path(fx->kubeconfig, sizeof(fx->kubeconfig), "kubeconfig"), text);
	opts.kubeconfig = fx->kubeconfig;
	client_opts.max_retries = 0;
	client_opts.qps = 1e6; /* allocation-failure loops send thousands of requests */
	client_opts.burst = 1000000;
	client_opts.cache_dir = "/nonexistent/rollguard-test";
	assert_int_equal(kube_config_load(&fx->config, &opts), 0);
	assert_int_equal(kube_client_new(&fx->client, fx->config, &client_opts), 0);
}

static void fixture_stop(struct fixture *fx)
{
	kube_client_free(fx->client);
	kube_config_free(fx->config);
	atomic_store(&fx->srv.stop, 1);
	pthread_join(fx->srv.thread, NULL);
	close(fx->srv.fd);
}

/* The request line of request i. */
static const char *request_line(const struct fixture *fx, int i)
{
	static char line[1024];
	const char *req = fx->srv.requests[i];
	(void)snprintf(line, sizeof(line), "%.*s", (int)strcspn(req, "\r"), req);
	return line;
}

/* The JSON body of request i (owned). */
static json_t *request_body(const struct fixture *fx, int i)
{
	const char *body = strstr(fx->srv.requests[i], "\r\n\r\n");
	json_t *doc = body ? json_loads(body + 4, 0, NULL) : NULL;
	if (!doc)
		fail_msg("request %d has no JSON body: %s", i, fx->srv.requests[i]);
	return doc;
}

#define DATE_2031 "Date: Wed, 01 Jan 2031 00:00:00 GMT\r\n"
#define REPLY(status, body)                                                                                            \
	"HTTP/1.1 " status "\r\nContent-Type: application/json\r\n" DATE_2031 "Connection: close\r\n\r\n" body
#define CREATED REPLY("201 Created", "{\"kind\":\"Event\",\"apiVersion\":\"v1\"}")

static json_t *deployment(void)
{
	json_t *object =
	        json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
	                  "metadata", "name", "web", "namespace", "team", "uid", "uid-web", "resourceVersion", "42");
	assert_non_null(object);
	return object;
}

static kube_event_options promoted(void)
{
	kube_event_options opts = KUBE_EVENT_OPTIONS_INIT;
	opts.reason = "CanaryPromoted";
	opts.message = "canary of web promoted to 25%";
	opts.component = "kubectl-canary";
	return opts;
}

static const char *field(const json_t *object, const char *parent, const char *key)
{
	return json_string_value(json_object_get(parent ? json_object_get(object, parent) : object, key));
}

static void test_event__body_carries_the_object_and_the_server_time(void **state)
{
	(void)state;
	static const char *const replies[] = {REPLY("200 OK", "{\"major\":\"1\"}"), CREATED, NULL};
	struct fixture fx;
	fixture_start(&fx, replies, NULL);
	/* any reply tells the client the server's time */
	json_t *version = NULL;
	assert_int_equal(kube_client_request_json(fx.client, &version, "GET", "/version", NULL, NULL), 0);
	json_decref(version);

	json_t *object = deployment();
	kube_event_options opts = promoted();
	opts.type = "Warning";
	opts.action = "Promote";
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	assert_string_equal(request_line(&fx, 1),
	                    "POST /api/v1/namespaces/team/events?fieldManager=rollguard HTTP/1.1");
	json_t *event = request_body(&fx, 1);
	assert_string_equal(field(event, NULL, "apiVersion"), "v1");
	assert_string_equal(field(event, NULL, "kind"), "Event");
	const char *name = field(event, "metadata", "name");
	assert_non_null(name);
	assert_memory_equal(name, "web.", 4);
	assert_true(strlen(name) > 4 && strspn(name + 4, "0123456789abcdef") == strlen(name + 4));
	assert_string_equal(field(event, "metadata", "namespace"), "team");
	assert_string_equal(field(event, "involvedObject", "apiVersion"), "apps/v1");
	assert_string_equal(field(event, "involvedObject", "kind"), "Deployment");
	assert_string_equal(field(event, "involvedObject", "name"), "web");
	assert_string_equal(field(event, "involvedObject", "namespace"), "team");
	assert_string_equal(field(event, "involvedObject", "uid"), "uid-web");
	assert_string_equal(field(event, "involvedObject", "resourceVersion"), "42");
	assert_string_equal(field(event, NULL, "reason"), "CanaryPromoted");
	assert_string_equal(field(event, NULL, "message"), "canary of web promoted to 25%");
	assert_string_equal(field(event, NULL, "type"), "Warning");
	assert_string_equal(field(event, NULL, "action"), "Promote");
	assert_string_equal(field(event, "source", "component"), "kubectl-canary");
	assert_string_equal(field(event, NULL, "reportingComponent"), "kubectl-canary");
	char host[256] = "";
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(field(event, NULL, "reportingInstance"), host);
	assert_string_equal(field(event, "source", "host"), host);
	assert_int_equal(json_integer_value(json_object_get(event, "count")), 1);
	/* the server's clock (its Date said 2031), not ours */
	const char *first = field(event, NULL, "firstTimestamp");
	assert_non_null(first);
	assert_int_equal(strlen(first), strlen("2031-01-01T00:00:00Z"));
	assert_memory_equal(first, "2031-01-01T00:00:0", 18);
	assert_string_equal(field(event, NULL, "lastTimestamp"), first);
	json_decref(event);
	json_decref(object);
	fixture_stop(&fx);
}

static void test_event__dry_run_and_defaults(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, NULL};
	struct fixture fx;
	fixture_start(&fx, replies, NULL);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	opts.dry_run = 1;
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	assert_string_equal(request_line(&fx, 0),
	                    "POST /api/v1/namespaces/team/events?dryRun=All&fieldManager=rollguard HTTP/1.1");
	json_t *event = request_body(&fx, 0);
	assert_string_equal(field(event, NULL, "type"), "Normal");
	assert_null(json_object_get(event, "action"));
	json_decref(event);
	json_decref(object);
	fixture_stop(&fx);
}

static void test_event__cluster_scoped_object_goes_to_default(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, NULL};
	struct fixture fx;
	fixture_start(&fx, replies, NULL);
	json_t *node = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
	                         "kwok-node-0", "uid", "uid-node");
	kube_event_options opts = promoted();
	assert_int_equal(kube_event_record(fx.client, node, &opts), 0);
	assert_string_equal(request_line(&fx, 0),
	                    "POST /api/v1/namespaces/default/events?fieldManager=rollguard HTTP/1.1");
	json_t *event = request_body(&fx, 0);
	assert_string_equal(field(event, "metadata", "namespace"), "default");
	assert_null(json_object_get(json_object_get(event, "involvedObject"), "namespace"));
	json_decref(event);
	json_decref(node);
	fixture_stop(&fx);
}

static void test_event__message_and_name_limits(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, CREATED, NULL};
	struct fixture fx;
	fixture_start(&fx, replies, NULL);
	/* 1023 ASCII bytes then a 3-byte character: it would end at 1026, so
	 * it is dropped whole */
	char message[1100];
	memset(message, 'm', 1023);
	memcpy(message + 1023, "\xe2\x82\xac tail", 9);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	opts.message = message;
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	json_t *event = request_body(&fx, 0);
	assert_int_equal(strlen(field(event, NULL, "message")), 1023);
	json_decref(event);

	/* a 253-character object name is shortened to keep the Event's a DNS
	 * subdomain; no '.' is left dangling before the suffix */
	char long_name[254];
	memset(long_name, 'a', 253);
	long_name[253] = '\0';
	long_name[235] = '.';
	json_object_set_new(json_object_get(object, "metadata"), "name", json_string(long_name));
	opts.message = "short";
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	event = request_body(&fx, 1);
	const char *name = field(event, "metadata", "name");
	assert_true(strlen(name) <= 253);
	assert_null(strstr(name, ".."));
	assert_string_equal(field(event, "involvedObject", "name"), long_name);
	json_decref(event);
	json_decref(object);
	fixture_stop(&fx);
}

static void test_event__refusals(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	        "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
	        "\"message\":\"events is forbidden: User \\\"viewer\\\" cannot create resource \\\"events\\\"\"}",
	        NULL,
	};
	struct fixture fx;
	fixture_start(&fx, replies, NULL);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	test_assert_error(kube_event_record(fx.client, object, &opts), KUBE_EFORBIDDEN,
	                  "event CanaryPromoted on Deployment team/web: POST");
	assert_non_null(strstr(kube_error_last()->message, "cannot create resource \"events\""));
	assert_int_equal(kube_error_last()->http_status, 403);

	/* refused before any request: no name, a message that is not UTF-8 */
	json_object_del(json_object_get(object, "metadata"), "name");
	test_assert_error(kube_event_record(fx.client, object, &opts), KUBE_EINVALID, "metadata.name");
	json_decref(object);
	object = deployment();
	opts.message = "bad \xff byte";
	test_assert_error(kube_event_record(fx.client, object, &opts), KUBE_EINVALID, "not valid UTF-8");
	assert_int_equal(atomic_load(&fx.srv.served), 1);
	json_decref(object);
	fixture_stop(&fx);
}

static const char *route_created(const char *req)
{
	(void)req;
	return CREATED;
}

static void test_event__allocation_failures_are_reported(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, NULL, route_created);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	long n;
	for (n = 1;; n++) {
		test_alloc_fail_at(n);
		int rc = kube_event_record(fx.client, object, &opts);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0 && used < n)
			break;
		if (rc != 0 && rc != KUBE_ENOMEM && rc != KUBE_EPROTOCOL)
			fail_msg("allocation %ld: %s: %s", n, kube_error_name(rc), kube_error_last()->message);
		assert_true(n < 5000);
	}
	assert_true(n > 10);
	json_decref(object);
	fixture_stop(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_event__body_carries_the_object_and_the_server_time),
	        cmocka_unit_test(test_event__dry_run_and_defaults),
	        cmocka_unit_test(test_event__cluster_scoped_object_goes_to_default),
	        cmocka_unit_test(test_event__message_and_name_limits),
	        cmocka_unit_test(test_event__refusals),
	        cmocka_unit_test(test_event__allocation_failures_are_reported),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
