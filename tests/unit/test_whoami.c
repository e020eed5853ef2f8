/* Unit tests of kube_whoami against a canned API server on 127.0.0.1: the
 * SelfSubjectReview request and its parsing, the on-disk cache (a hit
 * sends nothing; another credential, impersonation or server is another
 * key; the file holds no credential; a broken cache is ignored), the
 * credential fingerprint behind the key, and allocation failures. The
 * canned server speaks plain HTTP, over which a resolved configuration
 * carries no credentials (client-go's rule), so the tests hand the client
 * resolved settings with credentials directly (client_internal.h). */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static void fixture_start(struct fixture *fx, const char *const *replies, const char *(*route)(const char *),
                          const char *cache_dir)
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
	client_opts.cache_dir = cache_dir;
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

/* ---- credentials and the cache directory -------------------------------------------------------------------- */

/* Settings as config.c would resolve them for an https server with these
 * credentials, pointed at the canned server. */
struct settings {
	char server[64];
	struct kube_rest rest;
	char *groups[3];
};

static void settings_init(struct settings *st, const struct fixture *fx)
{
	memset(st, 0, sizeof(*st));
	(void)snprintf(st->server, sizeof(st->server), "http://127.0.0.1:%d", fx->srv.port);
	st->rest.server = st->server;
}

/* Makes the client use st (which must outlive it) instead of its config. */
static void use_settings(struct fixture *fx, struct settings *st)
{
	kube_auth_free(fx->client->auth);
	fx->client->auth = NULL;
	assert_int_equal(kube_auth_new(&fx->client->auth, &st->rest), 0);
	fx->client->rest = &st->rest;
}

static const char *cache_root(void)
{
	static char path[512];
	return test_tmp_path(path, sizeof(path), "cache");
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

static void whoami_is(struct fixture *fx, const char *username, int served)
{
	kube_identity me;
	int rc = kube_whoami(fx->client, &me);
	if (rc)
		fail_msg("whoami: %s", kube_error_last()->message);
	assert_string_equal(me.username, username);
	assert_int_equal(atomic_load(&fx->srv.served), served);
}

/* ---- tests --------------------------------------------------------------------------------------------------- */

static void test_whoami__reviews_and_parses(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), NULL};
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	kube_identity me;
	assert_int_equal(kube_whoami(fx.client, &me), 0);
	assert_string_equal(me.username, "alice");
	assert_string_equal(me.uid, "u-alice");
	assert_string_equal(request_line(&fx, 0), "POST /apis/authentication.k8s.io/v1/selfsubjectreviews HTTP/1.1");
	assert_non_null(strstr(fx.srv.requests[0], "Authorization: Bearer tok-a\r\n"));
	json_t *body = request_body(&fx, 0);
	assert_string_equal(json_string_value(json_object_get(body, "kind")), "SelfSubjectReview");
	assert_string_equal(json_string_value(json_object_get(body, "apiVersion")), "authentication.k8s.io/v1");
	json_decref(body);
	fixture_stop(&fx);
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
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	kube_identity me;
	assert_int_equal(kube_whoami(fx.client, &me), 0);
	assert_string_equal(me.username, "alice");
	assert_string_equal(me.uid, "");
	assert_string_equal(request_line(&fx, 1),
	                    "POST /apis/authentication.k8s.io/v1beta1/selfsubjectreviews HTTP/1.1");
	remove_cache();

	/* refusals are errors with the server's word, and nothing is cached */
	test_assert_error(kube_whoami(fx.client, &me), KUBE_EAUTH, "whoami: POST");
	assert_string_equal(me.username, "");
	assert_int_equal(cache_files(NULL, 0), 0);
	test_assert_error(kube_whoami(fx.client, &me), KUBE_EPROTOCOL, "names no user");
	assert_int_equal(cache_files(NULL, 0), 0);
	fixture_stop(&fx);
	remove_cache();
}

static void test_whoami__cache_hit_sends_no_request(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), NULL};
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	whoami_is(&fx, "alice", 1);
	whoami_is(&fx, "alice", 1);
	assert_int_equal(kube_client_request_count(fx.client), 1);

	/* another client (another process) with the same credential */
	kube_client *second = NULL;
	kube_client_options opts = KUBE_CLIENT_OPTIONS_INIT;
	opts.cache_dir = cache_root();
	assert_int_equal(kube_client_new(&second, fx.config, &opts), 0);
	kube_auth_free(second->auth);
	second->auth = NULL;
	assert_int_equal(kube_auth_new(&second->auth, &st.rest), 0);
	second->rest = &st.rest;
	kube_identity me;
	assert_int_equal(kube_whoami(second, &me), 0);
	assert_string_equal(me.username, "alice");
	assert_string_equal(me.uid, "u-alice");
	assert_int_equal(kube_client_request_count(second), 0);
	kube_client_free(second);
	fixture_stop(&fx);
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
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	whoami_is(&fx, "alice", 1);

	st.rest.token = S("tok-b"); /* another credential */
	use_settings(&fx, &st);
	whoami_is(&fx, "bob", 2);

	st.rest.token = S("tok-a");
	st.rest.impersonate_user = S("carol"); /* --as */
	use_settings(&fx, &st);
	whoami_is(&fx, "carol", 3);
	assert_non_null(strstr(fx.srv.requests[2], "Impersonate-User: carol\r\n"));

	st.groups[0] = S("ops"); /* --as-group */
	st.rest.impersonate_groups = st.groups;
	use_settings(&fx, &st);
	whoami_is(&fx, "carol-ops", 4);

	st.rest.impersonate_uid = S("uid-c"); /* --as-uid */
	use_settings(&fx, &st);
	whoami_is(&fx, "carol-uid", 5);

	st.rest.impersonate_user = NULL;
	st.rest.impersonate_groups = NULL;
	st.rest.impersonate_uid = NULL;
	st.rest.token = NULL;
	st.rest.username = S("dave"); /* basic auth */
	st.rest.password = S("pw");
	use_settings(&fx, &st);
	whoami_is(&fx, "dave", 6);

	/* each answer stays under its own key */
	st.rest.username = st.rest.password = NULL;
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	whoami_is(&fx, "alice", 6);
	st.rest.token = S("tok-b");
	use_settings(&fx, &st);
	whoami_is(&fx, "bob", 6);
	char names[16][1024];
	assert_int_equal(cache_files(names, 16), 6);

	/* another server is another key, even with the same credential */
	struct fixture other;
	static const char *const other_replies[] = {REVIEW("bob-elsewhere", "7"), NULL};
	fixture_start(&other, other_replies, NULL, cache_root());
	struct settings other_st;
	settings_init(&other_st, &other);
	other_st.rest.token = S("tok-b");
	use_settings(&other, &other_st);
	whoami_is(&other, "bob-elsewhere", 1);
	fixture_stop(&other);
	fixture_stop(&fx);
	remove_cache();
}

static void test_whoami__cache_file_holds_no_credential(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "u-alice"), REVIEW("admin", "u-admin"), NULL};
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("s3cr3t-token-value-0123456789");
	use_settings(&fx, &st);
	whoami_is(&fx, "alice", 1);
	st.rest.token = NULL;
	st.rest.username = S("admin");
	st.rest.password = S("hunter2-password");
	use_settings(&fx, &st);
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
	fixture_stop(&fx);
	remove_cache();
}

static void test_whoami__broken_cache_is_ignored(void **state)
{
	(void)state;
	static const char *const replies[] = {REVIEW("alice", "1"),
	                                      REVIEW("alice", "2"),
	                                      REVIEW("alice", "3"),
	                                      REVIEW("alice", "4"),
	                                      REVIEW("alice", "5"),
	                                      REVIEW("alice", "6"),
	                                      NULL};
	struct fixture fx;
	struct settings st;
	char names[4][1024];
	fixture_start(&fx, replies, NULL, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
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
	fixture_stop(&fx);
	remove_cache();

	/* a cache directory that cannot be made: whoami works, uncached */
	char blocker[512], cache_dir[600];
	test_write_text(test_tmp_path(blocker, sizeof(blocker), "blocker"), "a file, not a directory");
	(void)snprintf(cache_dir, sizeof(cache_dir), "%s/cache", blocker);
	static const char *const again[] = {REVIEW("alice", "1"), REVIEW("alice", "2"), NULL};
	fixture_start(&fx, again, NULL, cache_dir);
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
	whoami_is(&fx, "alice", 1);
	whoami_is(&fx, "alice", 2);
	fixture_stop(&fx);
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

static const char *route_review(const char *req)
{
	(void)req;
	return REVIEW("alice", "u-alice");
}

static void test_whoami__allocation_failures_are_reported(void **state)
{
	(void)state;
	struct fixture fx;
	struct settings st;
	fixture_start(&fx, NULL, route_review, cache_root());
	settings_init(&st, &fx);
	st.rest.token = S("tok-a");
	use_settings(&fx, &st);
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
	fixture_stop(&fx);
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
