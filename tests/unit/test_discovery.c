/* Tests of discovery.c's on-disk cache against a canned API server on
 * 127.0.0.1 serving aggregated discovery: the cache is replaced
 * atomically with a private mode and read back without a request, and a
 * symlink planted at the cache file or at a predictable temporary name
 * is never written through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/client.h>
#include <kube/discovery.h>

#include "test_support.h"

#define AGGREGATED  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define REPLY(body) "HTTP/1.1 200 OK\r\nContent-Type: " AGGREGATED "\r\nConnection: close\r\n\r\n" body

static const char core_reply[] =
        REPLY("{\"kind\":\"APIGroupDiscoveryList\",\"items\":[{\"metadata\":{\"name\":\"\"},\"versions\":[{\"version\":"
              "\"v1\",\"resources\":[{\"resource\":\"pods\",\"responseKind\":{\"kind\":\"Pod\"},\"scope\":"
              "\"Namespaced\"}]}]}]}");
static const char groups_reply[] =
        REPLY("{\"kind\":\"APIGroupDiscoveryList\",\"items\":[{\"metadata\":{\"name\":\"apps\"},\"versions\":[{"
              "\"version\":\"v1\",\"resources\":[{\"resource\":\"deployments\",\"responseKind\":{\"kind\":"
              "\"Deployment\"},\"scope\":\"Namespaced\"}]}]}]}");

static const char *route_discovery(const char *request)
{
	if (strncmp(request, "GET /api ", 9) == 0)
		return core_reply;
	if (strncmp(request, "GET /apis ", 10) == 0)
		return groups_reply;
	return NULL;
}

static const char *cache_root(void)
{
	static char path[512];
	return test_tmp_path(path, sizeof(path), "cache");
}

/* Where the client of fx caches discovery: <cache>/discovery/<host_port>. */
static void cache_paths(const struct test_api *fx, char *dir, size_t dir_size, char *file, size_t file_size)
{
	(void)snprintf(dir, dir_size, "%s/discovery/127.0.0.1_%d", cache_root(), fx->srv.port);
	(void)snprintf(file, file_size, "%s/resources.json", dir);
}

static void resolves_deployments(kube_client *client)
{
	kube_resource res;
	assert_int_equal(kube_discovery_resolve(client, &res, "deployment"), 0);
	assert_string_equal(res.group, "apps");
	assert_string_equal(res.resource, "deployments");
}

static void test_discovery__cache_replaced_atomically_and_private(void **state)
{
	struct test_api fx;
	struct stat st;
	char dir[600], file[700];
	(void)state;
	test_api_start(&fx, NULL, route_discovery, cache_root());
	cache_paths(&fx, dir, sizeof(dir), file, sizeof(file));

	resolves_deployments(fx.client);
	assert_int_equal(atomic_load(&fx.srv.served), 2);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(test_read_text(file), "\"deployments\""));
	assert_int_equal(test_count_entries(dir), 1); /* no temporary file left */

	/* another client (another process) reads it without a request */
	kube_client *second = NULL;
	kube_client_options opts = KUBE_CLIENT_OPTIONS_INIT;
	opts.cache_dir = cache_root();
	assert_int_equal(kube_client_new(&second, fx.config, &opts), 0);
	resolves_deployments(second);
	assert_int_equal(kube_client_request_count(second), 0);
	kube_client_free(second);
	test_api_stop(&fx);
	test_remove_tree(cache_root());
}

static void test_discovery__cache_write_never_follows_symlinks(void **state)
{
	struct test_api fx;
	struct stat st;
	char dir[600], file[700], old_temp[800], victims[512], victim[600], victim_temp[600], target[600];
	(void)state;
	test_api_start(&fx, NULL, route_discovery, cache_root());
	cache_paths(&fx, dir, sizeof(dir), file, sizeof(file));

	/* Another directory holds the files an attacker aims at; symlinks to
	 * them wait at the cache file and at the name the temporary file had
	 * before (path.PID.tmp, opened with fopen "w"). */
	assert_int_equal(mkdir(test_tmp_path(victims, sizeof(victims), "victims"), 0700), 0);
	(void)snprintf(victim, sizeof(victim), "%s/precious", victims);
	(void)snprintf(victim_temp, sizeof(victim_temp), "%s/precious-too", victims);
	test_write_text(victim, "precious\n");
	test_write_text(victim_temp, "precious too\n");
	(void)snprintf(old_temp, sizeof(old_temp), "%s.%ld.tmp", file, (long)getpid());
	(void)snprintf(target, sizeof(target), "%s/discovery", cache_root());
	assert_int_equal(mkdir(cache_root(), 0700), 0);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(symlink(victim, file), 0);
	assert_int_equal(symlink(victim_temp, old_temp), 0);

	resolves_deployments(fx.client);

	/* the victims are untouched, and so is the link at the old name */
	assert_string_equal(test_read_text(victim), "precious\n");
	assert_string_equal(test_read_text(victim_temp), "precious too\n");
	assert_int_equal(test_count_entries(victims), 2);
	assert_int_equal(lstat(old_temp, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* the link at the cache file was replaced by the cache itself */
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_non_null(strstr(test_read_text(file), "\"deployments\""));
	assert_int_equal(test_count_entries(dir), 2); /* the cache and the old link */

	test_api_stop(&fx);
	test_remove_tree(cache_root());
	test_remove_tree(victims);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_discovery__cache_replaced_atomically_and_private),
	        cmocka_unit_test(test_discovery__cache_write_never_follows_symlinks),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
