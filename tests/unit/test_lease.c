/* Unit tests of Leases against a canned API server on 127.0.0.1: creating,
 * renewing, refusing a held Lease, taking over an expired one (judged by
 * the server's Date header, never the local clock), losing races,
 * releasing with a precondition, forbidden users and allocation failures.
 * The server is canned so that its clock can be set apart from ours and
 * races can be lost on demand; e2e/suites/test_coordination.sh runs the
 * same against the real API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/lease.h>

#include "test_support.h"

/* ---- replies ------------------------------------------------------------------------------------------------- */

/* The server's clock, years away from ours in either direction. */
#define DATE_2031 "Date: Wed, 01 Jan 2031 00:00:00 GMT\r\n"
#define DATE_2020 "Date: Wed, 01 Jan 2020 00:00:00 GMT\r\n"

#define REPLY(status, date, body)                                                                                      \
	"HTTP/1.1 " status "\r\nContent-Type: application/json\r\n" date "Connection: close\r\n\r\n" body
#define STATUS(code, reason, message)                                                                                  \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"" reason                       \
	"\",\"message\":\"" message "\",\"code\":" #code "}"
#define LEASE(holder, acquired, renewed, duration, transitions, rv)                                                    \
	"{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"lk\","                 \
	"\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"},\"spec\":{\"holderIdentity\":\"" holder "\","            \
	"\"leaseDurationSeconds\":" #duration ",\"acquireTime\":\"" acquired "\",\"renewTime\":\"" renewed "\","       \
	"\"leaseTransitions\":" #transitions "}}"

#define NOT_FOUND                                                                                                      \
	REPLY("404 Not Found", DATE_2031, STATUS(404, "NotFound", "leases.coordination.k8s.io \\\"lk\\\" not found"))
#define CREATED                                                                                                        \
	REPLY("201 Created", DATE_2031,                                                                                \
	      LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 10, 0, "7"))

static kube_lease_options options(const char *holder, int duration_s)
{
	kube_lease_options opts = KUBE_LEASE_OPTIONS_INIT;
	opts.holder = holder;
	opts.duration_s = duration_s;
	return opts;
}

/* Starts fx with replies and acquires the Lease ns/lk as "me" for
 * duration_s, which must succeed. */
static kube_lease *start_and_acquire(struct test_api *fx, const char *const *replies, int duration_s)
{
	kube_lease_options opts = options("me", duration_s);
	kube_lease *lease = NULL;
	test_api_start(fx, replies, NULL, NULL);
	assert_int_equal(kube_lease_acquire(&lease, fx->client, "ns", "lk", &opts, NULL), 0);
	return lease;
}

/* Starts fx with replies and tries to acquire the Lease ns/lk as "me",
 * which must fail with code and a message holding needle, leaving no
 * Lease; *held is what the server said of the holder. */
static void start_and_refuse(struct test_api *fx, const char *const *replies, int code, const char *needle,
                             kube_lease_holder *held)
{
	kube_lease_options opts = options("me", 15);
	kube_lease *lease = NULL;
	test_api_start(fx, replies, NULL, NULL);
	test_assert_error(kube_lease_acquire(&lease, fx->client, "ns", "lk", &opts, held), code, needle);
	assert_null(lease);
}

/* object.parent.key of a request body, as a string (NULL when it is not
 * one) or an integer (0). */
static const char *string_at(const json_t *object, const char *parent, const char *key)
{
	return json_string_value(json_object_get(json_object_get(object, parent), key));
}

static json_int_t integer_at(const json_t *object, const char *parent, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(object, parent), key));
}

/* ---- tests --------------------------------------------------------------------------------------------------- */

static void test_lease__created_when_absent(void **state)
{
	(void)state;
	static const char *const replies[] = {NOT_FOUND, CREATED, NULL};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	json_t *owner = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
	                          "metadata", "name", "web", "namespace", "ns", "uid", "uid-web");
	json_t *labels = json_pack("{s:s}", "app.kubernetes.io/managed-by", "rollguard");
	kube_lease_options opts = options("me", 10);
	opts.owner = owner;
	opts.labels = labels;
	kube_lease *lease = NULL;
	kube_lease_holder held;
	assert_int_equal(kube_lease_acquire(&lease, fx.client, "ns", "lk", &opts, &held), 0);
	assert_non_null(lease);
	assert_string_equal(kube_lease_holder_identity(lease), "me");
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	assert_string_equal(test_server_request_line(&fx.srv, 0),
	                    "GET /apis/coordination.k8s.io/v1/namespaces/ns/leases/lk HTTP/1.1");
	assert_string_equal(test_server_request_line(&fx.srv, 1),
	                    "POST /apis/coordination.k8s.io/v1/namespaces/ns/leases?fieldManager=rollguard HTTP/1.1");
	json_t *body = test_server_request_body(&fx.srv, 1);
	assert_string_equal(json_string_value(json_object_get(body, "kind")), "Lease");
	json_t *meta = json_object_get(body, "metadata");
	assert_string_equal(json_string_value(json_object_get(meta, "name")), "lk");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(meta, "labels"), "app.kubernetes.io/managed-by")),
	        "rollguard");
	json_t *ref = json_array_get(json_object_get(meta, "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(ref, "uid")), "uid-web");
	assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Deployment");
	assert_string_equal(json_string_value(json_object_get(ref, "apiVersion")), "apps/v1");
	assert_string_equal(string_at(body, "spec", "holderIdentity"), "me");
	assert_int_equal(integer_at(body, "spec", "leaseDurationSeconds"), 10);
	/* MicroTime from the server's clock (its Date header), not ours */
	const char *renew = string_at(body, "spec", "renewTime");
	assert_non_null(renew);
	assert_int_equal(strlen(renew), strlen("2031-01-01T00:00:00.000000Z"));
	assert_memory_equal(renew, "2031-01-01T00:00:0", 18);
	assert_string_equal(string_at(body, "spec", "acquireTime"), renew);
	json_decref(body);
	kube_lease_free(lease);
	json_decref(owner);
	json_decref(labels);
	test_api_stop(&fx);
}

static void test_lease__renews_its_own(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:59:58.000000Z", 15, 2, "5")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2030-12-31T23:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 2, "6")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2030-12-31T23:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 2, "8")),
	        NULL,
	};
	struct test_api fx;
	kube_lease *lease = start_and_acquire(&fx, replies, 15);
	assert_string_equal(test_server_request_line(&fx.srv, 1),
	                    "PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/lk?fieldManager=rollguard HTTP/1.1");
	json_t *body = test_server_request_body(&fx.srv, 1);
	/* conditional on the version read; the holder's acquireTime and the
	 * transition count stay */
	assert_string_equal(string_at(body, "metadata", "resourceVersion"), "5");
	assert_string_equal(string_at(body, "spec", "holderIdentity"), "me");
	assert_string_equal(string_at(body, "spec", "acquireTime"), "2030-12-31T23:00:00.000000Z");
	assert_memory_equal(string_at(body, "spec", "renewTime"), "2031-01-01T00:00:0", 18);
	assert_int_equal(integer_at(body, "spec", "leaseTransitions"), 2);
	json_decref(body);

	/* just renewed: keeping it sends nothing */
	assert_int_equal(kube_lease_keep(fx.client, lease), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	/* an explicit renewal is conditional on the version the update returned */
	assert_int_equal(kube_lease_renew(fx.client, lease), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 3);
	body = test_server_request_body(&fx.srv, 2);
	assert_string_equal(string_at(body, "metadata", "resourceVersion"), "6");
	json_decref(body);
	kube_lease_free(lease);
	test_api_stop(&fx);
}

static void test_lease__keep_renews_after_a_third_of_the_duration(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        NOT_FOUND,
	        REPLY("201 Created", DATE_2031,
	              LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 1, 0, "7")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.500000Z", 1, 0, "9")),
	        NULL,
	};
	struct test_api fx;
	kube_lease *lease = start_and_acquire(&fx, replies, 1);
	assert_int_equal(kube_lease_keep(fx.client, lease), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	nanosleep(&(struct timespec){0, 400 * 1000 * 1000L}, NULL); /* past a third of one second */
	assert_int_equal(kube_lease_keep(fx.client, lease), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 3);
	assert_string_equal(test_server_request_line(&fx.srv, 2),
	                    "PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/lk?fieldManager=rollguard HTTP/1.1");
	kube_lease_free(lease);
	test_api_stop(&fx);
}

static void test_lease__conflict_while_held_names_the_holder(void **state)
{
	(void)state;
	/* On the server's clock (2020) "other" renewed 5 s ago for 15 s. Our
	 * clock, years later, would call it long expired. */
	static const char *const replies[] = {
	        REPLY("200 OK", DATE_2020,
	              LEASE("other", "2019-12-31T23:00:00.000000Z", "2019-12-31T23:59:55.000000Z", 15, 1, "42")),
	        NULL,
	};
	struct test_api fx;
	kube_lease_holder held;
	start_and_refuse(&fx, replies, KUBE_ECONFLICT, "lease ns/lk is held by \"other\"", &held);
	assert_string_equal(held.holder, "other");
	assert_int_equal(held.duration_s, 15);
	assert_true(held.renew_ms == 1577836795000LL);
	assert_true(held.expires_in_ms > 9000 && held.expires_in_ms <= 10000);
	assert_string_equal(held.resource_version, "42");
	assert_int_equal(atomic_load(&fx.srv.served), 1); /* nothing written */

	/* the same read through get_holder */
	test_api_stop(&fx);
	test_api_start(&fx, replies, NULL, NULL);
	kube_lease_holder read;
	assert_int_equal(kube_lease_get_holder(&read, fx.client, "ns", "lk"), 0);
	assert_string_equal(read.holder, "other");
	assert_true(read.expires_in_ms > 9000 && read.expires_in_ms <= 10000);
	test_api_stop(&fx);
}

static void test_lease__expired_lease_taken_over_by_the_server_clock(void **state)
{
	(void)state;
	/* On the server's clock (2031) "other" renewed 20 s ago for 15 s: it
	 * expired. Our clock, years earlier, would think it good for years. */
	static const char *const replies[] = {
	        REPLY("200 OK", DATE_2031,
	              LEASE("other", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:59:40.000000Z", 15, 3, "5")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 4, "6")),
	        NULL,
	};
	struct test_api fx;
	kube_lease *lease = start_and_acquire(&fx, replies, 15);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	json_t *body = test_server_request_body(&fx.srv, 1);
	assert_string_equal(string_at(body, "metadata", "resourceVersion"), "5");
	assert_string_equal(string_at(body, "spec", "holderIdentity"), "me");
	assert_memory_equal(string_at(body, "spec", "acquireTime"), "2031-01-01T00:00:0", 18);
	assert_memory_equal(string_at(body, "spec", "renewTime"), "2031-01-01T00:00:0", 18);
	assert_int_equal(integer_at(body, "spec", "leaseTransitions"), 4);
	json_decref(body);
	kube_lease_free(lease);
	test_api_stop(&fx);
}

/* A Lease whose holder the caller knows to be done (its last commit said
 * so) is taken at once, though the server's clock gives it 10 s more; any
 * other holder still holds it. */
static void test_lease__released_holder_taken_over_at_once(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        REPLY("200 OK", DATE_2031,
	              LEASE("done", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:59:55.000000Z", 15, 3, "5")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 4, "6")),
	        /* a released holder is named: the read first, though the
	         * server's clock is known now (no create to be refused) */
	        REPLY("200 OK", DATE_2031,
	              LEASE("busy", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:59:55.000000Z", 15, 3, "8")),
	        NULL,
	};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	kube_lease_options opts = options("me", 15);
	opts.released_holder = "done";
	kube_lease *lease = NULL;
	assert_int_equal(kube_lease_acquire(&lease, fx.client, "ns", "lk", &opts, NULL), 0);
	assert_non_null(lease);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	json_t *body = test_server_request_body(&fx.srv, 1);
	assert_string_equal(string_at(body, "metadata", "resourceVersion"), "5"); /* conditional */
	assert_string_equal(string_at(body, "spec", "holderIdentity"), "me");
	assert_int_equal(integer_at(body, "spec", "leaseTransitions"), 4);
	json_decref(body);
	kube_lease_free(lease);
	lease = NULL;
	/* "busy" is not the holder named released */
	test_assert_error(kube_lease_acquire(&lease, fx.client, "ns", "lk", &opts, NULL), KUBE_ECONFLICT,
	                  "held by \"busy\"");
	assert_null(lease);
	assert_int_equal(atomic_load(&fx.srv.served), 3);
	assert_string_equal(test_server_request_line(&fx.srv, 2),
	                    "GET /apis/coordination.k8s.io/v1/namespaces/ns/leases/lk HTTP/1.1");
	test_api_stop(&fx);
}

static void test_lease__race_lost_is_a_conflict(void **state)
{
	(void)state;
	/* our update of the expired Lease loses to another process's */
	static const char *const update_lost[] = {
	        REPLY("200 OK", DATE_2031,
	              LEASE("old", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:00:00.000000Z", 15, 0, "5")),
	        REPLY("409 Conflict", DATE_2031,
	              STATUS(409, "Conflict",
	                     "Operation cannot be fulfilled on leases.coordination.k8s.io \\\"lk\\\": "
	                     "the object has been modified")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("winner", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 1, "6")),
	        NULL,
	};
	struct test_api fx;
	kube_lease_holder held;
	start_and_refuse(&fx, update_lost, KUBE_ECONFLICT, "another process took it first (now held by \"winner\")",
	                 &held);
	assert_int_equal(kube_error_last()->http_status, 409);
	assert_string_equal(kube_error_last()->reason, "Conflict");
	assert_non_null(strstr(kube_error_last()->server_message, "the object has been modified"));
	assert_string_equal(held.holder, "winner");
	assert_int_equal(atomic_load(&fx.srv.served), 3);
	test_api_stop(&fx);

	/* our create loses to another process's */
	static const char *const create_lost[] = {
	        NOT_FOUND,
	        REPLY("409 Conflict", DATE_2031,
	              STATUS(409, "AlreadyExists", "leases.coordination.k8s.io \\\"lk\\\" already exists")),
	        REPLY("200 OK", DATE_2031,
	              LEASE("winner", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 0, "3")),
	        NULL,
	};
	start_and_refuse(&fx, create_lost, KUBE_ECONFLICT, "already exists", &held);
	assert_string_equal(kube_error_last()->reason, "AlreadyExists");
	assert_string_equal(held.holder, "winner");
	test_api_stop(&fx);

	/* a renewal after someone else took the Lease over */
	static const char *const renew_lost[] = {
	        NOT_FOUND,
	        CREATED,
	        REPLY("409 Conflict", DATE_2031,
	              STATUS(409, "Conflict", "Operation cannot be fulfilled on leases.coordination.k8s.io")),
	        NULL,
	};
	kube_lease *lease = start_and_acquire(&fx, renew_lost, 10);
	test_assert_error(kube_lease_renew(fx.client, lease), KUBE_ECONFLICT, "lease ns/lk was lost");
	kube_lease_free(lease);
	test_api_stop(&fx);
}

static void test_lease__release_deletes_with_a_precondition(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        NOT_FOUND,
	        CREATED,
	        REPLY("200 OK", DATE_2031, "{\"kind\":\"Status\",\"status\":\"Success\"}"),
	        /* a second release: someone took it over, then it is gone */
	        REPLY("409 Conflict", DATE_2031,
	              STATUS(409, "Conflict", "Precondition failed: ResourceVersion in precondition: 7")),
	        REPLY("404 Not Found", DATE_2031, STATUS(404, "NotFound", "not found")),
	        NULL,
	};
	struct test_api fx;
	kube_lease *lease = start_and_acquire(&fx, replies, 10);
	assert_int_equal(kube_lease_release(fx.client, lease), 0);
	assert_string_equal(test_server_request_line(&fx.srv, 2),
	                    "DELETE /apis/coordination.k8s.io/v1/namespaces/ns/leases/lk HTTP/1.1");
	json_t *body = test_server_request_body(&fx.srv, 2);
	assert_string_equal(string_at(body, "preconditions", "resourceVersion"), "7");
	json_decref(body);
	/* not ours any more, or gone: released all the same */
	assert_int_equal(kube_lease_release(fx.client, lease), 0);
	assert_int_equal(kube_lease_release(fx.client, lease), 0);
	assert_int_equal(atomic_load(&fx.srv.served), 5);
	kube_lease_free(lease);
	test_api_stop(&fx);
}

/* The other conditional delete, beside the Lease's: by uid (and both). */
static void test_client_delete__uid_precondition(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        REPLY("200 OK", DATE_2031, "{\"kind\":\"Status\",\"status\":\"Success\"}"),
	        REPLY("409 Conflict", DATE_2031,
	              STATUS(409, "Conflict",
	                     "Precondition failed: UID in precondition: u-1, UID in object meta: u-2")),
	        NULL,
	};
	static const kube_resource deployments = {"apps", "v1", "deployments", "Deployment", 1};
	struct test_api fx;
	test_api_start(&fx, replies, NULL, NULL);
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	opts.propagation_policy = "Background";
	opts.precondition_uid = "u-1";
	assert_int_equal(kube_client_delete(fx.client, NULL, &deployments, "ns", "web-canary", &opts), 0);
	json_t *body = test_server_request_body(&fx.srv, 0);
	assert_string_equal(string_at(body, "preconditions", "uid"), "u-1");
	assert_null(json_object_get(json_object_get(body, "preconditions"), "resourceVersion"));
	assert_string_equal(json_string_value(json_object_get(body, "propagationPolicy")), "Background");
	json_decref(body);
	opts.precondition_resource_version = "9";
	test_assert_error(kube_client_delete(fx.client, NULL, &deployments, "ns", "web-canary", &opts), KUBE_ECONFLICT,
	                  "UID in precondition");
	body = test_server_request_body(&fx.srv, 1);
	assert_string_equal(string_at(body, "preconditions", "uid"), "u-1");
	assert_string_equal(string_at(body, "preconditions", "resourceVersion"), "9");
	json_decref(body);
	test_api_stop(&fx);
}

static void test_lease__forbidden_keeps_the_server_message(void **state)
{
	(void)state;
	static const char *const replies[] = {
	        REPLY("403 Forbidden", DATE_2031,
	              STATUS(403, "Forbidden",
	                     "leases.coordination.k8s.io \\\"lk\\\" is forbidden: User \\\"viewer\\\" cannot get "
	                     "resource \\\"leases\\\" in API group \\\"coordination.k8s.io\\\" in the namespace "
	                     "\\\"ns\\\"")),
	        NULL,
	};
	struct test_api fx;
	kube_lease_holder held;
	start_and_refuse(&fx, replies, KUBE_EFORBIDDEN, "User \"viewer\" cannot get resource \"leases\"", &held);
	assert_int_equal(kube_error_last()->http_status, 403);
	assert_non_null(strstr(kube_error_last()->server_message, "cannot get resource \"leases\""));
	assert_string_equal(held.holder, "");
	test_api_stop(&fx);
}

/* ---- allocation failures ------------------------------------------------------------------------------------- */

static const char *route_create(const char *req)
{
	if (strncmp(req, "GET ", 4) == 0)
		return NOT_FOUND;
	if (strncmp(req, "POST ", 5) == 0)
		return CREATED;
	return REPLY("200 OK", DATE_2031, "{\"kind\":\"Status\",\"status\":\"Success\"}");
}

static const char *route_takeover(const char *req)
{
	if (strncmp(req, "GET ", 4) == 0)
		return REPLY("200 OK", DATE_2031,
		             LEASE("other", "2030-12-31T23:00:00.000000Z", "2030-12-31T23:59:40.000000Z", 15, 3, "5"));
	return REPLY("200 OK", DATE_2031,
	             LEASE("me", "2031-01-01T00:00:00.000000Z", "2031-01-01T00:00:00.000000Z", 15, 4, "6"));
}

/* Fails each allocation of acquire, renew and release in turn: every
 * failure is reported, nothing leaks, *out stays NULL. */
static void acquire_until_no_failure(const char *(*route)(const char *))
{
	struct test_api fx;
	test_api_start(&fx, NULL, route, NULL);
	json_t *labels = json_pack("{s:s}", "app.kubernetes.io/managed-by", "rollguard");
	json_t *owner = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
	                          "name", "cm", "uid", "uid-cm");
	kube_lease_options opts = options("me", 15);
	opts.labels = labels;
	opts.owner = owner;
	long n;
	for (n = 1;; n++) {
		kube_lease *lease = NULL;
		test_alloc_fail_at(n);
		int rc = kube_lease_acquire(&lease, fx.client, "ns", "lk", &opts, NULL);
		if (rc == 0)
			rc = kube_lease_renew(fx.client, lease);
		if (rc == 0)
			rc = kube_lease_release(fx.client, lease);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		kube_lease_free(lease);
		if (rc == 0 && used < n)
			break; /* every allocation succeeded: all paths were failed once */
		if (rc != 0 && rc != KUBE_ENOMEM && rc != KUBE_EPROTOCOL)
			fail_msg("allocation %ld: %s: %s", n, kube_error_name(rc), kube_error_last()->message);
		assert_true(n < 5000);
	}
	assert_true(n > 20); /* the loop did fail allocations along the way */
	json_decref(labels);
	json_decref(owner);
	test_api_stop(&fx);
}

static void test_lease__allocation_failures_are_reported(void **state)
{
	(void)state;
	acquire_until_no_failure(route_create);
	acquire_until_no_failure(route_takeover);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lease__created_when_absent),
	        cmocka_unit_test(test_lease__renews_its_own),
	        cmocka_unit_test(test_lease__keep_renews_after_a_third_of_the_duration),
	        cmocka_unit_test(test_lease__conflict_while_held_names_the_holder),
	        cmocka_unit_test(test_lease__expired_lease_taken_over_by_the_server_clock),
	        cmocka_unit_test(test_lease__race_lost_is_a_conflict),
	        cmocka_unit_test(test_lease__released_holder_taken_over_at_once),
	        cmocka_unit_test(test_lease__release_deletes_with_a_precondition),
	        cmocka_unit_test(test_client_delete__uid_precondition),
	        cmocka_unit_test(test_lease__forbidden_keeps_the_server_message),
	        cmocka_unit_test(test_lease__allocation_failures_are_reported),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
