/* Unit tests of kube_rules_review against a canned API server on
 * 127.0.0.1: the SelfSubjectRulesReview request, and its on-disk cache,
 * which only ever grants (rules cached and granting: no request; a need
 * the cached rules lack: a fresh review; an incomplete answer or an error:
 * nothing cached; another namespace or credential: another key; a cache
 * file that is not a private regular file of ours, or whose expiry is
 * past or further than the cache's ten minutes: ignored), and allocation
 * failures. As in test_whoami.c, the client is handed resolved settings
 * with a credential directly (client_internal.h), since a configuration
 * resolved for plain HTTP carries none. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/access.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>

#include "auth.h"
#include "client_internal.h"
#include "test_support.h"

#define S(x) ((char *)(x)) /* kube_rest's fields are not const */

/* ---- credentials and the cache directory -------------------------------------------------------------------- */

struct settings {
	char server[64];
	struct kube_rest rest;
};

/* Makes client send token to fx's server, with st (which must outlive
 * the client) as its resolved settings. */
static void use_token(struct test_api *fx, struct settings *st, const char *token)
{
	memset(st, 0, sizeof(*st));
	(void)snprintf(st->server, sizeof(st->server), "http://127.0.0.1:%d", fx->srv.port);
	st->rest.server = st->server;
	st->rest.token = S(token);
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

static const char *rules_dir(void)
{
	static char path[600];
	(void)snprintf(path, sizeof(path), "%s/rules", cache_root());
	return path;
}

/* The cache files (names into names[], up to max); returns their count. */
static int cache_files(char names[][1024], int max)
{
	DIR *dir = opendir(rules_dir());
	struct dirent *entry;
	int count = 0;
	while (dir && (entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		if (count < max)
			(void)snprintf(names[count], 1024, "%s/%s", rules_dir(), entry->d_name);
		count++;
	}
	if (dir)
		closedir(dir);
	return count;
}

static void remove_cache(void)
{
	char names[16][1024];
	int count = cache_files(names, 16);
	for (int i = 0; i < count && i < 16; i++)
		unlink(names[i]);
	rmdir(rules_dir());
	rmdir(cache_root());
}

/* Writes text as a cache file of ours at path, mode 0600. */
static void write_cache_file(const char *path, const char *text)
{
	test_write_text(path, text);
	assert_int_equal(chmod(path, 0600), 0);
}

/* ---- the canned server -------------------------------------------------------------------------------------- */

#define REPLY(status)                                                                                                  \
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"                          \
	"{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectRulesReview\",\"metadata\":{},"             \
	"\"spec\":{},\"status\":" status "}"

/* Deployments may be patched and watched. */
#define PATCH_WATCH                                                                                                    \
	"[{\"verbs\":[\"get\",\"patch\",\"watch\"],\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\"]},"         \
	"{\"verbs\":[\"create\"],\"apiGroups\":[\"authorization.k8s.io\"],"                                            \
	"\"resources\":[\"selfsubjectrulesreviews\"]}]"
/* ... and deleted too. */
#define PATCH_WATCH_DELETE                                                                                             \
	"[{\"verbs\":[\"get\",\"patch\",\"watch\",\"delete\"],\"apiGroups\":[\"apps\"],"                               \
	"\"resources\":[\"deployments\"]}]"

static const char complete_patch_watch[] =
        REPLY("{\"resourceRules\":" PATCH_WATCH ",\"nonResourceRules\":[],\"incomplete\":false}");
static const char complete_patch_watch_delete[] =
        REPLY("{\"resourceRules\":" PATCH_WATCH_DELETE ",\"nonResourceRules\":[],\"incomplete\":false}");
static const char incomplete_patch_watch[] =
        REPLY("{\"resourceRules\":" PATCH_WATCH ",\"nonResourceRules\":[],\"incomplete\":true,"
              "\"evaluationError\":\"webhook authorizer does not support user rule resolution\"}");

/* What the route answers every request with, set by the test. */
static const char *_Atomic answer;

static const char *route_answer(const char *req)
{
	(void)req;
	return atomic_load(&answer);
}

/* Starts fx answering each request with what `answer` says then,
 * caching under cache_root() (emptied first), its client sending
 * token. */
static void start(struct test_api *fx, struct settings *st, const char *first_answer, const char *token)
{
	remove_cache(); /* what a failed test may have left */
	atomic_store(&answer, first_answer);
	test_api_start(fx, NULL, route_answer, cache_root());
	use_token(fx, st, token);
}

/* ---- needs and the review ------------------------------------------------------------------------------------ */

/* A need: verb on resource in group. */
struct need {
	const char *group, *resource, *verb;
};

/* 1 when list (a JSON array of strings) holds value or "*". */
static int lists(const json_t *list, const char *value)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *s = json_string_value(item);
		if (s && (!strcmp(s, "*") || !strcmp(s, value)))
			return 1;
	}
	return 0;
}

/* kube_rules_grant_fn of a NULL-verb-ended array of struct need; counts
 * its calls in grant_calls. */
static int grant_calls;
static int grants(const json_t *rules, void *data)
{
	grant_calls++;
	for (const struct need *need = data; need->verb; need++) {
		int granted = 0;
		size_t i;
		json_t *rule;
		json_array_foreach(rules, i, rule)
		{
			if (lists(json_object_get(rule, "verbs"), need->verb) &&
			    lists(json_object_get(rule, "apiGroups"), need->group) &&
			    lists(json_object_get(rule, "resources"), need->resource))
				granted = 1;
		}
		if (!granted)
			return 0;
	}
	return 1;
}

static const struct need patch_watch[] = {
        {"apps", "deployments", "patch"}, {"apps", "deployments", "watch"}, {NULL, NULL, NULL}};
static const struct need patch_delete[] = {
        {"apps", "deployments", "patch"}, {"apps", "deployments", "delete"}, {NULL, NULL, NULL}};

/* Asks fx's client for the rules of ns with needs; asserts where they
 * came from, that they grant needs or not, and that the server has
 * answered served requests by then. */
static void review_is(struct test_api *fx, const char *ns, const struct need *needs, kube_rules_source source,
                      int granted, int served)
{
	json_t *rules = NULL;
	kube_rules_source got = KUBE_RULES_INCOMPLETE;
	int rc = kube_rules_review(fx->client, ns, grants, (void *)needs, &rules, &got);
	if (rc)
		fail_msg("rules review: %s", kube_error_last()->message);
	assert_true(json_is_array(rules));
	assert_int_equal(got, source);
	assert_int_equal(grants(rules, (void *)needs), granted);
	assert_int_equal(atomic_load(&fx->srv.served), served);
	json_decref(rules);
}

/* ---- tests --------------------------------------------------------------------------------------------------- */

static void test_access__positive_answer_is_cached(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	start(&fx, &st, complete_patch_watch, "s3cr3t-token-value-0123456789");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);
	assert_string_equal(test_server_request_line(&fx.srv, 0),
	                    "POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews HTTP/1.1");
	json_t *body = test_server_request_body(&fx.srv, 0);
	assert_string_equal(json_string_value(json_object_get(body, "kind")), "SelfSubjectRulesReview");
	assert_string_equal(json_string_value(json_object_get(body, "apiVersion")), "authorization.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "spec"), "namespace")), "ns");
	json_decref(body);

	/* the second check: granted from the cache, nothing sent */
	grant_calls = 0;
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 1);
	assert_int_equal(grant_calls, 2); /* the library's test, then review_is's own */
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
	json_t *rules = NULL;
	kube_rules_source source = KUBE_RULES_REVIEWED;
	assert_int_equal(kube_rules_review(second, "ns", grants, (void *)patch_watch, &rules, &source), 0);
	assert_int_equal(source, KUBE_RULES_CACHED);
	assert_int_equal(kube_client_request_count(second), 0);
	json_decref(rules);
	kube_client_free(second);

	/* one private file in a private directory: the rules and their
	 * expiry, no credential */
	char names[4][1024];
	struct stat info;
	assert_int_equal(cache_files(names, 4), 1);
	assert_int_equal(stat(rules_dir(), &info), 0);
	assert_int_equal(info.st_mode & 0777, 0700);
	assert_int_equal(stat(names[0], &info), 0);
	assert_int_equal(info.st_mode & 0777, 0600);
	assert_null(strstr(names[0], "s3cr3t"));
	const char *text = test_read_text(names[0]);
	assert_non_null(text);
	assert_null(strstr(text, "s3cr3t"));
	json_t *doc = test_json_parse(text);
	assert_int_equal(json_object_size(doc), 2);
	assert_true(json_is_array(json_object_get(doc, "rules")));
	json_int_t expires = json_integer_value(json_object_get(doc, "expires"));
	assert_true(expires > time(NULL) + 590 && expires <= time(NULL) + 600);
	json_decref(doc);
	test_api_stop(&fx);
	remove_cache();
}

static void test_access__need_not_in_cached_rules_is_reviewed_afresh(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	start(&fx, &st, complete_patch_watch, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);

	/* delete is not in the cached rules: asked, and refused by the answer
	 * of now, not by the cache */
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, 2);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, 3);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 3);

	/* delete granted since: the fresh answer grants it and replaces the
	 * cached one */
	atomic_store(&answer, complete_patch_watch_delete);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 1, 4);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_CACHED, 1, 4);
	assert_int_equal(cache_files(NULL, 0), 1);

	/* without a test of the cached rules, always a review (and cached) */
	json_t *rules = NULL;
	kube_rules_source source = KUBE_RULES_CACHED;
	atomic_store(&answer, complete_patch_watch);
	assert_int_equal(kube_rules_review(fx.client, "ns", NULL, NULL, &rules, &source), 0);
	assert_int_equal(source, KUBE_RULES_REVIEWED);
	assert_int_equal(atomic_load(&fx.srv.served), 5);
	json_decref(rules);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, 6); /* the patch/watch answer was cached */
	test_api_stop(&fx);
	remove_cache();
}

static void test_access__incomplete_answer_or_error_is_not_cached(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	start(&fx, &st, incomplete_patch_watch, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_INCOMPLETE, 1, 1);
	assert_int_equal(cache_files(NULL, 0), 0);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_INCOMPLETE, 1, 2);
	assert_int_equal(cache_files(NULL, 0), 0);

	/* a reply without a status: incomplete, an empty list */
	atomic_store(&answer, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	                      "{\"kind\":\"SelfSubjectRulesReview\"}");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_INCOMPLETE, 0, 3);
	assert_int_equal(cache_files(NULL, 0), 0);

	/* refusals are errors with the server's word, unwrapped */
	json_t *rules = NULL;
	kube_rules_source source = KUBE_RULES_CACHED;
	atomic_store(&answer, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	                      "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"message\":"
	                      "\"selfsubjectrulesreviews.authorization.k8s.io is forbidden\",\"code\":403}");
	test_assert_error(kube_rules_review(fx.client, "ns", grants, (void *)patch_watch, &rules, &source),
	                  KUBE_EFORBIDDEN, "POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews");
	assert_null(rules);
	atomic_store(&answer, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	                      "{not json");
	test_assert_error(kube_rules_review(fx.client, "ns", grants, (void *)patch_watch, &rules, &source),
	                  KUBE_EPROTOCOL, "not JSON");
	assert_null(rules);
	assert_int_equal(cache_files(NULL, 0), 0);

	/* complete at last: cached */
	atomic_store(&answer, complete_patch_watch);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 6);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 6);
	/* an incomplete answer later leaves the cached complete one alone */
	atomic_store(&answer, incomplete_patch_watch);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_INCOMPLETE, 0, 7);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 7);
	test_api_stop(&fx);
	remove_cache();
}

static void test_access__namespace_and_credential_change_the_key(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	start(&fx, &st, complete_patch_watch, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);
	review_is(&fx, "other", patch_watch, KUBE_RULES_REVIEWED, 1, 2);
	json_t *body = test_server_request_body(&fx.srv, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "spec"), "namespace")), "other");
	json_decref(body);
	assert_int_equal(cache_files(NULL, 0), 2);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 2);
	review_is(&fx, "other", patch_watch, KUBE_RULES_CACHED, 1, 2);

	/* another credential, then impersonation: other keys */
	use_token(&fx, &st, "tok-b");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 3);
	st.rest.impersonate_user = S("carol");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 4);
	assert_non_null(strstr(fx.srv.requests[3], "Impersonate-User: carol\r\n"));
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 4);
	assert_int_equal(cache_files(NULL, 0), 4);
	test_api_stop(&fx);
	remove_cache();
}

static void test_access__untrusted_cache_file_is_ignored(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	char names[4][1024];
	start(&fx, &st, complete_patch_watch, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);
	assert_int_equal(cache_files(names, 4), 1);

	/* a forged answer granting delete in a private file of ours is
	 * believed (the control of what follows) */
	char forged[256];
	(void)snprintf(forged, sizeof(forged), "{\"rules\":" PATCH_WATCH_DELETE ",\"expires\":%lld}",
	               (long long)time(NULL) + 60);
	write_cache_file(names[0], forged);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_CACHED, 1, 1);

	/* readable by the group: not believed, asked, replaced by a private file */
	write_cache_file(names[0], forged);
	assert_int_equal(chmod(names[0], 0640), 0);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, 2);
	struct stat info;
	assert_int_equal(lstat(names[0], &info), 0);
	assert_true(S_ISREG(info.st_mode));
	assert_int_equal(info.st_mode & 0777, 0600);

	/* a symlink, even to a private file of ours: not believed, and
	 * replaced (not written through) */
	char target[512];
	write_cache_file(test_tmp_path(target, sizeof(target), "forged-rules.json"), forged);
	assert_int_equal(unlink(names[0]), 0);
	assert_int_equal(symlink(target, names[0]), 0);
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, 3);
	assert_int_equal(lstat(names[0], &info), 0);
	assert_true(S_ISREG(info.st_mode));
	assert_string_equal(test_read_text(target), forged);
	unlink(target);

	/* not JSON, or no rules list: asked, and rewritten */
	write_cache_file(names[0], "{not json");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 4);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_CACHED, 1, 4);
	(void)snprintf(forged, sizeof(forged), "{\"rules\":{},\"expires\":%lld}", (long long)time(NULL) + 60);
	write_cache_file(names[0], forged);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 5);
	test_api_stop(&fx);
	remove_cache();

	/* a cache directory that cannot be made: reviews work, uncached */
	char blocker[512], cache_dir[600];
	test_write_text(test_tmp_path(blocker, sizeof(blocker), "blocker"), "a file, not a directory");
	(void)snprintf(cache_dir, sizeof(cache_dir), "%s/cache", blocker);
	atomic_store(&answer, complete_patch_watch);
	test_api_start(&fx, NULL, route_answer, cache_dir);
	use_token(&fx, &st, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 2);
	test_api_stop(&fx);
	unlink(blocker);
}

static void test_access__expired_or_far_future_expiry_is_ignored(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	char names[4][1024], forged[256];
	start(&fx, &st, complete_patch_watch, "tok-a");
	review_is(&fx, "ns", patch_watch, KUBE_RULES_REVIEWED, 1, 1);
	assert_int_equal(cache_files(names, 4), 1);
	static const struct {
		long long expires; /* from now */
		int believed;
	} cases[] = {
	        {-3600, 0}, /* expired an hour ago */
	        {0, 0},     /* expires now */
	        {5, 1},
	        {600, 1}, /* the cache's own ten minutes */
	        {602, 0}, /* further than any answer written now: not believed */
	        {10LL * 365 * 24 * 3600, 0},
	};
	int served = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* each forged file grants delete, which the server does not */
		(void)snprintf(forged, sizeof(forged), "{\"rules\":" PATCH_WATCH_DELETE ",\"expires\":%lld}",
		               (long long)time(NULL) + cases[i].expires);
		write_cache_file(names[0], forged);
		served += !cases[i].believed;
		review_is(&fx, "ns", patch_delete, cases[i].believed ? KUBE_RULES_CACHED : KUBE_RULES_REVIEWED,
		          cases[i].believed, served);
	}
	/* no expiry, or not a number */
	write_cache_file(names[0], "{\"rules\":" PATCH_WATCH_DELETE "}");
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, ++served);
	write_cache_file(names[0], "{\"rules\":" PATCH_WATCH_DELETE ",\"expires\":\"9999999999\"}");
	review_is(&fx, "ns", patch_delete, KUBE_RULES_REVIEWED, 0, ++served);
	test_api_stop(&fx);
	remove_cache();
}

static void test_access__allocation_failures_are_reported(void **state)
{
	(void)state;
	struct test_api fx;
	struct settings st;
	start(&fx, &st, complete_patch_watch, "tok-a");
	/* uncached (the answer removed before each try), then cached */
	for (int cached = 0; cached < 2; cached++) {
		long n;
		for (n = 1;; n++) {
			json_t *rules = NULL;
			kube_rules_source source = KUBE_RULES_INCOMPLETE;
			if (!cached)
				remove_cache();
			test_alloc_fail_at(n);
			int rc = kube_rules_review(fx.client, "ns", grants, (void *)patch_watch, &rules, &source);
			long used = test_alloc_count();
			test_alloc_fail_at(0);
			if (rc == 0)
				assert_true(json_is_array(rules));
			else
				assert_null(rules);
			json_decref(rules);
			if (rc == 0 && used < n) {
				assert_int_equal(source, cached ? KUBE_RULES_CACHED : KUBE_RULES_REVIEWED);
				break;
			}
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
	        cmocka_unit_test(test_access__positive_answer_is_cached),
	        cmocka_unit_test(test_access__need_not_in_cached_rules_is_reviewed_afresh),
	        cmocka_unit_test(test_access__incomplete_answer_or_error_is_not_cached),
	        cmocka_unit_test(test_access__namespace_and_credential_change_the_key),
	        cmocka_unit_test(test_access__untrusted_cache_file_is_ignored),
	        cmocka_unit_test(test_access__expired_or_far_future_expiry_is_ignored),
	        cmocka_unit_test(test_access__allocation_failures_are_reported),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
