/* Unit tests of kube_whoami against a canned API server on 127.0.0.1: the
 * SelfSubjectReview request and its parsing, the on-disk cache (a hit
 * sends nothing; another credential, impersonation or server is another
 * key; the file holds no credential; a broken cache is ignored), the
 * credential fingerprint behind the key, and allocation failures. The
 * canned server speaks plain HTTP, over which a resolved configuration
 * carries no credentials (client-go's rule), so the tests hand the client
 * resolved settings with credentials directly (client_internal.h). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/whoami.h>

#include "auth.h"
#include "client_internal.h"
#include "test_support.h"

#define S(x) ((char *)(x)) /* kube_rest's fields are not const */

/* ---- credentials and the cache directory -------------------------------------------------------------------- */

/* Settings as config.c would resolve them for an https server with these
 * credentials, pointed at the canned server. */
struct settings {
	char server[64];
	struct kube_rest rest;
	char *groups[3];
};

/* Makes client use st (which must outlive it) instead of its config. */
static void use_settings(kube_client *client, struct settings *st)
{
	kube_auth_free(client->auth);
	client->auth = NULL;
	assert_int_equal(kube_auth_new(&client->auth, &st->rest), 0);
	client->rest = &st->rest;
}

/* Fills st for fx's server with a bearer token and makes fx's client use
 * it. */
static void use_token(struct test_api *fx, struct settings *st, const char *token)
{
	memset(st, 0, sizeof(*st));
	(void)snprintf(st->server, sizeof(st->server), "http://127.0.0.1:%d", fx->srv.port);
	st->rest.server = st->server;
	st->rest.token = S(token);
	use_settings(fx->client, st);
}

static const char *cache_root(void)
{
	static char path[512];
	return test_tmp_path(path, sizeof(path), "cache");
}

/* Starts fx with replies, caching under cache_root(), and has its client
 * send a bearer token. */
static void start_with_token(struct test_api *fx, struct settings *st, const char *const *replies, const char *token)
{
	test_api_start(fx, replies, NULL, cache_root());
	use_token(fx, st, token);
}

/* The cache files (names into names[], up to max); returns their count. */
static int cache_files(char names[][1024], int max)
{
	char dir_path[600];
	(void)snprintf(dir_path, sizeof(dir_path), "%s/whoami", cache_root());
	DIR *dir = opendir(dir_path);
	struct dirent *entry;
	int count = 0;
	while (dir && (entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		if (count < max)
			(void)snprintf(names[count], 1024, "%s/%s", dir_path, entry->d_name);
		count++;
	}
	if (dir)
		closedir(dir);
	return count;
}

static void remove_cache(void)
{
	char names[16][1024];
	char path[600];
	int count = cache_files(names, 16);
	for (int i = 0; i < count && i < 16; i++)
		unlink(names[i]);
	(void)snprintf(path, sizeof(path), "%s/whoami", cache_root());
	rmdir(path);
	rmdir(cache_root());
}

#define REVIEW(user, uid)                                                                                              \
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                          \
	"{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\",\"metadata\":{},"                 \
	"\"status\":{\"userInfo\":{\"username\":\"" user "\",\"uid\":\"" uid "\","                                     \
	"\"groups\":[\"system:authenticated\"]}}}"

/* A server that says every caller is alice. */
static const char *route_review(const char *req)
{
	(void)req;
	return REVIEW("alice", "u-alice");
}

static void whoami_is(struct test_api *fx, const char *username, int served)
{
	kube_identity me;
	int rc = kube_whoami(fx->client, &me);
	if (rc)
		fail_msg("whoami: %s", kube_error_last()->message);
	assert_string_equal(me.username, username);
	assert_int_equal(atomic_load(&fx->srv.served), served);
}

/* Asserts that client's whoami says username, with uid. */
static void identity_is(kube_client *client, const char *username, const char *uid)
{
	kube_identity me;
	assert_int_equal(kube_whoami(client, &me), 0);
	assert_string_equal(me.username, username);
	assert_string_equal(me.uid, uid);
}

/* ---- tests --------------------------------------------------------------------------------------------------- */

static void test_whoami__reviews_and_parses(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), NULL};
	struct test_api fx;
	struct settings st;
	start_with_token(&fx, &st, replies, "tok-a");
	identity_is(fx.client, "alice", "u-alice");
	assert_string_equal(test_server_request_line(&fx.srv, 0),
	                    "POST /apis/authentication.k8s.io/v1/selfsubjectreviews HTTP/1.1");
	assert_non_null(strstr(fx.srv.requests[0], "Authorization: Bearer tok-a\r\n"));
	json_t *body = test_server_request_body(&fx.srv, 0);
	assert_string_equal(json_string_value(json_object_get(body, "kind")), "SelfSubjectReview");
	assert_string_equal(json_string_value(json_object_get(body, "apiVersion")), "authentication.k8s.io/v1");
	json_decref(body);
	test_api_stop(&fx);
	remove_cache();
}

static void test_whoami__older_servers_and_errors(void **state)
{
	(void)state;
	/* a server without the v1 API: v1beta1, as kubectl auth whoami does */
	static const char *const replies[] = {
	        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	        "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}",
	        REVIEW("alice", ""),
	        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	        "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Unauthorized\",\"message\":\"Unauthorized\","
	        "\"code\":401}",
	        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"status\":{}}",
	        NULL,
	};
	struct test_api fx;
	struct settings st;
	start_with_token(&fx, &st, replies, "tok-a");
	identity_is(fx.client, "alice", "");
	assert_string_equal(test_server_request_line(&fx.srv, 1),
	                    "POST /apis/authentication.k8s.io/v1beta1/selfsubjectreviews HTTP/1.1");
	remove_cache();

	/* refusals are errors with the server's word, and nothing is cached */
	kube_identity me;
	test_assert_error(kube_whoami(fx.client, &me), KUBE_EAUTH, "whoami: POST");
	assert_string_equal(me.username, "");
	assert_int_equal(cache_files(NULL, 0), 0);
	test_assert_error(kube_whoami(fx.client, &me), KUBE_EPROTOCOL, "names no user");
	assert_int_equal(cache_files(NULL, 0), 0);
	test_api_stop(&fx);
	remove_cache();
}

static void test_whoami__cache_hit_sends_no_request(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), NULL};
	struct test_api fx;
	struct settings st;
	start_with_token(&fx, &st, replies, "tok-a");
	whoami_is(&fx, "alice", 1);
	whoami_is(&fx, "alice", 1);
	assert_int_equal(kube_client_request_count(fx.client), 1);

	/* another client (another process) with the same credential */
	kube_client *second = NULL;
	kube_client_options opts = KUBE_CLIENT_OPTIONS_INIT;
	opts.cache_dir = cache_root();
	assert_int_equal(kube_client_new(&second, fx.config, &opts), 0);
	use_settings(second, &st);
	identity_is(second, "alice", "u-alice");
	assert_int_equal(kube_client_request_count(second), 0);
	kube_client_free(second);
	test_api_stop(&fx);
	remove_cache();
}

static void test_whoami__credential_and_impersonation_change_the_key(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "1"),
	                                      REVIEW("bob", "2"),
	                                      REVIEW("carol", "3"),
	                                      REVIEW("carol-ops", "4"),
	                                      REVIEW("carol-uid", "5"),
	                                      REVIEW("dave", "6"),
	                                      NULL};
	/* who the server says each setting is, and the requests sent by then:
	 * a setting seen before is answered from the cache */
	static const struct {
		const char *token, *as_user, *as_group, *as_uid, *username, *password;
		const char *who;
		int served;
	} keys[] = {
	        {"tok-a", NULL, NULL, NULL, NULL, NULL, "alice", 1},
	        {"tok-b", NULL, NULL, NULL, NULL, NULL, "bob", 2},              /* another credential */
	        {"tok-a", "carol", NULL, NULL, NULL, NULL, "carol", 3},         /* --as */
	        {"tok-a", "carol", "ops", NULL, NULL, NULL, "carol-ops", 4},    /* --as-group */
	        {"tok-a", "carol", "ops", "uid-c", NULL, NULL, "carol-uid", 5}, /* --as-uid */
	        {NULL, NULL, NULL, NULL, "dave", "pw", "dave", 6},              /* basic auth */
	        /* each answer stays under its own key */
	        {"tok-a", NULL, NULL, NULL, NULL, NULL, "alice", 6},
	        {"tok-b", NULL, NULL, NULL, NULL, NULL, "bob", 6},
	};
	struct test_api fx;
	struct settings st;
	start_with_token(&fx, &st, replies, "tok-a");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		st.rest.token = S(keys[i].token);
		st.rest.impersonate_user = S(keys[i].as_user);
		st.groups[0] = S(keys[i].as_group);
		st.rest.impersonate_groups = keys[i].as_group ? st.groups : NULL;
		st.rest.impersonate_uid = S(keys[i].as_uid);
		st.rest.username = S(keys[i].username);
		st.rest.password = S(keys[i].password);
		use_settings(fx.client, &st);
		whoami_is(&fx, keys[i].who, keys[i].served);
	}
	assert_non_null(strstr(fx.srv.requests[2], "Impersonate-User: carol\r\n"));
	char names[16][1024];
	assert_int_equal(cache_files(names, 16), 6);

	/* another server is another key, even with the same credential */
	struct test_api other;
	static const char *const other_replies[] = {REVIEW("bob-elsewhere", "7"), NULL};
	struct settings other_st;
	start_with_token(&other, &other_st, other_replies, "tok-b");
	whoami_is(&other, "bob-elsewhere", 1);
	test_api_stop(&other);
	test_api_stop(&fx);
	remove_cache();
}

static void test_whoami__cache_file_holds_no_credential(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), REVIEW("admin", "u-admin"), NULL};
	struct test_api fx;
	struct settings st;
	start_with_token(&fx, &st, replies, "s3cr3t-token-value-0123456789");
	whoami_is(&fx, "alice", 1);
	st.rest.token = NULL;
	st.rest.username = S("admin");
	st.rest.password = S("hunter2-password");
	use_settings(fx.client, &st);
	whoami_is(&fx, "admin", 2);

	char names[16][1024];
	assert_int_equal(cache_files(names, 16), 2);
	struct stat info;
	char dir_path[600];
	(void)snprintf(dir_path, sizeof(dir_path), "%s/whoami", cache_root());
	assert_int_equal(stat(dir_path, &info), 0);
	assert_int_equal(info.st_mode & 0777, 0700);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(stat(names[i], &info), 0);
		assert_int_equal(info.st_mode & 0777, 0600);
		const char *text = test_read_text(names[i]);
		assert_non_null(text);
		assert_null(strstr(text, "s3cr3t"));
		assert_null(strstr(text, "hunter2"));
		assert_null(strstr(names[i], "s3cr3t"));
		json_t *doc = json_loads(text, 0, NULL);
		assert_non_null(doc);
		assert_int_equal(json_object_size(doc), 3);
		assert_true(json_is_string(json_object_get(doc, "username")));
		assert_true(json_is_string(json_object_get(doc, "uid")));
		assert_true(json_is_integer(json_object_get(doc, "expires")));
		json_decref(doc);
	}
	test_api_stop(&fx);
	remove_cache();
}

static void test_whoami__broken_cache_is_ignored(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	char names[4][1024];
	test_api_start(&fx, NULL, route_review, cache_root());
	use_token(&fx, &st, "tok-a");
	whoami_is(&fx, "alice", 1);
	assert_int_equal(cache_files(names, 4), 1);

	test_write_text(names[0], "{not json");
	chmod(names[0], 0600);
	whoami_is(&fx, "alice", 2); /* unreadable: asked again, and rewritten */
	json_t *rewritten = json_loads(test_read_text(names[0]), 0, NULL);
	assert_non_null(rewritten);
	json_decref(rewritten);
	whoami_is(&fx, "alice", 2);

	test_write_text(names[0], "{\"username\":\"mallory\",\"uid\":\"\",\"expires\":9999999999}");
	chmod(names[0], 0600);
	whoami_is(&fx, "alice", 3); /* an expiry further than the cache's own hour is not believed */

	test_write_text(names[0], "{\"username\":\"mallory\",\"uid\":\"\",\"expires\":1}");
	chmod(names[0], 0600);
	whoami_is(&fx, "alice", 4); /* expired */

	chmod(names[0], 0644);
	whoami_is(&fx, "alice", 5); /* readable by others: not trusted, replaced */
	struct stat info;
	assert_int_equal(stat(names[0], &info), 0);
	assert_int_equal(info.st_mode & 0777, 0600);
	test_api_stop(&fx);
	remove_cache();

	/* a cache directory that cannot be made: whoami works, uncached */
	char blocker[512], cache_dir[600];
	test_write_text(test_tmp_path(blocker, sizeof(blocker), "blocker"), "a file, not a directory");
	(void)snprintf(cache_dir, sizeof(cache_dir), "%s/cache", blocker);
	test_api_start(&fx, NULL, route_review, cache_dir);
	use_token(&fx, &st, "tok-a");
	whoami_is(&fx, "alice", 1);
	whoami_is(&fx, "alice", 2);
	test_api_stop(&fx);
	unlink(blocker);
}

static void test_whoami__fingerprint_follows_the_credential(void **state)
{
	(void)state;
	struct {
		const char *token, *username, *password, *cert;
	} cases[] = {
	        {"tok-a", NULL, NULL, NULL},
	        {"tok-b", NULL, NULL, NULL},
	        {NULL, "user", "pw-1", NULL},
	        {NULL, "user", "pw-2", NULL},
	        {NULL, NULL, NULL, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	        {NULL, NULL, NULL, "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"},
	        {NULL, NULL, NULL, NULL},
	};
	char prints[7][KUBE_AUTH_FINGERPRINT_SIZE];
	for (size_t i = 0; i < 7; i++) {
		struct kube_rest rest = {0};
		struct kube_auth *auth = NULL;
		char again[KUBE_AUTH_FINGERPRINT_SIZE];
		rest.token = S(cases[i].token);
		rest.username = S(cases[i].username);
		rest.password = S(cases[i].password);
		if (cases[i].cert) {
			rest.cert_data = S(cases[i].cert);
			rest.cert_data_len = strlen(cases[i].cert);
			rest.key_data = S("key");
			rest.key_data_len = 3;
		}
		assert_int_equal(kube_auth_new(&auth, &rest), 0);
		assert_int_equal(kube_auth_fingerprint(auth, prints[i]), 0);
		assert_int_equal(strlen(prints[i]), 64);
		assert_int_equal(strspn(prints[i], "0123456789abcdef"), 64);
		kube_auth_free(auth);
		/* the same credential in another auth state: the same digest */
		assert_int_equal(kube_auth_new(&auth, &rest), 0);
		assert_int_equal(kube_auth_fingerprint(auth, again), 0);
		assert_string_equal(again, prints[i]);
		kube_auth_free(auth);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(prints[i], prints[j]);
	}

	/* a client certificate file is known by its contents */
	char cert_path[512];
	struct kube_rest rest = {0};
	struct kube_auth *auth = NULL;
	char first[KUBE_AUTH_FINGERPRINT_SIZE], second[KUBE_AUTH_FINGERPRINT_SIZE];
	test_write_text(test_tmp_path(cert_path, sizeof(cert_path), "client.crt"), "certificate one");
	rest.cert_file = S(cert_path);
	rest.key_file = S(cert_path);
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_fingerprint(auth, first), 0);
	test_write_text(cert_path, "certificate two");
	assert_int_equal(kube_auth_fingerprint(auth, second), 0);
	assert_string_not_equal(first, second);
	kube_auth_free(auth);
	unlink(cert_path);
}

static void test_whoami__allocation_failures_are_reported(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	test_api_start(&fx, NULL, route_review, cache_root());
	use_token(&fx, &st, "tok-a");
	/* uncached (the answer removed before each try), then cached */
	for (int cached = 0; cached < 2; cached++) {
		long n;
		for (n = 1;; n++) {
			kube_identity me;
			if (!cached)
				remove_cache();
			test_alloc_fail_at(n);
			int rc = kube_whoami(fx.client, &me);
			long used = test_alloc_count();
			test_alloc_fail_at(0);
			if (rc == 0)
				assert_string_equal(me.username, "alice");
			else
				assert_string_equal(me.username, "");
			if (rc == 0 && used < n)
				break;
			if (rc != 0 && rc != KUBE_ENOMEM && rc != KUBE_EPROTOCOL)
				fail_msg("allocation %ld: %s: %s", n, kube_error_name(rc), kube_error_last()->message);
			assert_true(n < 5000);
		}
		assert_true(n > 3);
		if (!cached)
			assert_int_equal(cache_files(NULL, 0), 1);
	}
	test_api_stop(&fx);
	remove_cache();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_whoami__reviews_and_parses),
	        cmocka_unit_test(test_whoami__older_servers_and_errors),
	        cmocka_unit_test(test_whoami__cache_hit_sends_no_request),
	        cmocka_unit_test(test_whoami__credential_and_impersonation_change_the_key),
	        cmocka_unit_test(test_whoami__cache_file_holds_no_credential),
	        cmocka_unit_test(test_whoami__broken_cache_is_ignored),
	        cmocka_unit_test(test_whoami__fingerprint_follows_the_credential),
	        cmocka_unit_test(test_whoami__allocation_failures_are_reported),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
