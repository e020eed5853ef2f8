/* Unit tests of Event recording against a canned API server on
 * 127.0.0.1: the Event's fields (involved object, reason, source, times
 * from the server's clock), dry runs, cluster-scoped objects, message
 * limits, refusals, and allocation failures. The server is canned so its
 * clock can differ from ours; e2e/suites/test_coordination.sh records an
 * Event on the real API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/event.h>

#include "test_support.h"

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
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
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
	assert_string_equal(test_server_request_line(&fx.srv, 1),
	                    "POST /api/v1/namespaces/team/events?fieldManager=rollguard HTTP/1.1");
	json_t *event = test_server_request_body(&fx.srv, 1);
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
	test_api_stop(&fx);
}

static void test_event__dry_run_and_defaults(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, NULL};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	opts.dry_run = 1;
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	assert_string_equal(test_server_request_line(&fx.srv, 0),
	                    "POST /api/v1/namespaces/team/events?dryRun=All&fieldManager=rollguard HTTP/1.1");
	json_t *event = test_server_request_body(&fx.srv, 0);
	assert_string_equal(field(event, NULL, "type"), "Normal");
	assert_null(json_object_get(event, "action"));
	json_decref(event);
	json_decref(object);
	test_api_stop(&fx);
}

static void test_event__cluster_scoped_object_goes_to_default(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, NULL};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	json_t *node = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
	                         "kwok-node-0", "uid", "uid-node");
	kube_event_options opts = promoted();
	assert_int_equal(kube_event_record(fx.client, node, &opts), 0);
	assert_string_equal(test_server_request_line(&fx.srv, 0),
	                    "POST /api/v1/namespaces/default/events?fieldManager=rollguard HTTP/1.1");
	json_t *event = test_server_request_body(&fx.srv, 0);
	assert_string_equal(field(event, "metadata", "namespace"), "default");
	assert_null(json_object_get(json_object_get(event, "involvedObject"), "namespace"));
	json_decref(event);
	json_decref(node);
	test_api_stop(&fx);
}

static void test_event__message_and_name_limits(void **state)
{
	(void)state;
	static const char *const replies[] = {CREATED, CREATED, NULL};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	/* 1023 ASCII bytes then a 3-byte character: it would end at 1026, so
	 * it is dropped whole */
	char message[1100];
	memset(message, 'm', 1023);
	memcpy(message + 1023, "\xe2\x82\xac tail", 9);
	json_t *object = deployment();
	kube_event_options opts = promoted();
	opts.message = message;
	assert_int_equal(kube_event_record(fx.client, object, &opts), 0);
	json_t *event = test_server_request_body(&fx.srv, 0);
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
	event = test_server_request_body(&fx.srv, 1);
	const char *name = field(event, "metadata", "name");
	assert_true(strlen(name) <= 253);
	assert_null(strstr(name, ".."));
	assert_string_equal(field(event, "involvedObject", "name"), long_name);
	json_decref(event);
	json_decref(object);
	test_api_stop(&fx);
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
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
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
	test_api_stop(&fx);
}

static const char *route_created(const char *req)
{
	(void)req;
	return CREATED;
}

static void test_event__allocation_failures_are_reported(void **state)
{
	(void)state;
	struct test_api fx;
	test_api_start(&fx, NULL, route_created, NULL);
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
	test_api_stop(&fx);
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
