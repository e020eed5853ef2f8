/* Helpers shared by the unit tests: fixture files, a failing allocator,
 * a temporary directory, error assertions and loopback servers. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/client.h>
#include <kube/config.h>
#include <kube/error.h>

#include "test_support.h"

const char *test_fixture_path(const char *relpath)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, relpath);
	return path;
}

char *test_fixture_read(const char *relpath, size_t *out_len)
{
	const char *path = test_fixture_path(relpath);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap);
			assert_non_null(data);
		}
		size_t n = fread(data + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	data[len] = '\0';
	if (out_len)
		*out_len = len;
	return data;
}

static long alloc_fail_at;
static long alloc_count;

static void *counting_malloc(size_t size)
{
	if (alloc_fail_at && ++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(size);
}

static void *counting_realloc(void *ptr, size_t size)
{
	if (alloc_fail_at && ++alloc_count == alloc_fail_at)
		return NULL;
	return realloc(ptr, size);
}

void test_alloc_fail_at(long n)
{
	static const kube_allocator counting = {counting_malloc, counting_realloc, free};
	alloc_fail_at = n;
	alloc_count = 0;
	kube_allocator_set(n ? &counting : NULL);
}

long test_alloc_count(void)
{
	return alloc_count;
}

static char tmpdir[256];

int test_tmpdir_setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/rollguard-unit-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

int test_tmpdir_teardown(void **state)
{
	(void)state;
	DIR *dir = opendir(tmpdir);
	struct dirent *entry;
	char path[512];
	while (dir && (entry = readdir(dir)) != NULL) {
		(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, entry->d_name);
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(tmpdir);
	return 0;
}

void test_remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[1024];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			test_remove_tree(path);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

int test_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

const char *test_tmp_path(char *buf, size_t size, const char *name)
{
	(void)snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

void test_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs(text, f);
	(void)fclose(f);
}

char *test_read_text(const char *path)
{
	static char data[65536];
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	data[fread(data, 1, sizeof(data) - 1, f)] = '\0';
	(void)fclose(f);
	return data;
}

void test_assert_error(int rc, int code, const char *needle)
{
	assert_int_equal(rc, code);
	if (!strstr(kube_error_last()->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", kube_error_last()->message, needle);
}

json_t *test_json_parse(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);
	if (!value)
		fail_msg("bad test JSON (%s) at %d: %s", error.text, error.position, text);
	return value;
}

void test_assert_json_equal(const json_t *got, const json_t *want, const char *name)
{
	if (!json_equal((json_t *)got, (json_t *)want)) {
		char *got_text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *want_text = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		print_error("%s:\n got  %s\n want %s\n", name, got_text ? got_text : "(null)",
		            want_text ? want_text : "(null)");
		free(got_text);
		free(want_text);
		fail();
	}
}

json_t *test_json_merge_apply(const json_t *target, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)patch, key, value)
	{
		if (json_is_null(value)) {
			json_object_del(out, key);
			continue;
		}
		json_object_set_new(out, key, test_json_merge_apply(json_object_get(out, key), value));
	}
	return out;
}

int test_listen_loopback(int *out_port)
{
	struct sockaddr_in addr = {0};
	socklen_t addr_len = sizeof(addr);
	int fd;
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
	*out_port = ntohs(addr.sin_port);
	setenv("NO_PROXY", "127.0.0.1", 1);
	setenv("no_proxy", "127.0.0.1", 1);
	return fd;
}

char *test_http_read_request(int conn, char *req, size_t size)
{
	size_t len = 0;
	char *end = NULL;
	struct timeval tv = {2, 0};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	req[0] = '\0';
	for (ssize_t n; len < size - 1 && (n = recv(conn, req + len, size - 1 - len, 0)) > 0;) {
		req[len += (size_t)n] = '\0';
		char *cl = strstr(req, "Content-Length: ");
		if ((end = strstr(req, "\r\n\r\n")) != NULL &&
		    len >= (size_t)(end + 4 - req) + (cl && cl < end ? (size_t)strtol(cl + 16, NULL, 10) : 0))
			break;
	}
	return end;
}

void test_serve_until(int fd, atomic_int *stop, void (*handle)(void *server, int conn), void *server)
{
	while (!atomic_load(stop)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int conn = poll(&pfd, 1, 20) > 0 ? accept(fd, NULL, NULL) : -1;
		if (conn >= 0) {
			handle(server, conn);
			close(conn);
		}
	}
}

static void server_answer(void *server, int conn)
{
	struct test_server *srv = server;
	char req[TEST_SERVER_REQUEST_MAX];
	if (!test_http_read_request(conn, req, sizeof(req)))
		return;
	int i = atomic_load(&srv->served);
	const char *reply = srv->route ? srv->route(req) : i < TEST_SERVER_MAX_STEPS ? srv->replies[i] : NULL;
	if (!reply)
		return;
	if (i < TEST_SERVER_MAX_STEPS)
		(void)snprintf(srv->requests[i], sizeof(srv->requests[i]), "%s", req);
	atomic_store(&srv->served, i + 1);
	send(conn, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
	struct test_server *srv = arg;
	test_serve_until(srv->fd, &srv->stop, server_answer, srv);
	return NULL;
}

void test_api_start(struct test_api *api, const char *const *replies, const char *(*route)(const char *request),
                    const char *cache_dir)
{
	kube_config_options opts = KUBE_CONFIG_OPTIONS_INIT;
	kube_client_options client_opts = KUBE_CLIENT_OPTIONS_INIT;
	char text[512];
	memset(api, 0, sizeof(*api));
	for (int i = 0; replies && replies[i] && i < TEST_SERVER_MAX_STEPS - 1; i++)
		api->srv.replies[i] = replies[i];
	api->srv.route = route;
	api->srv.fd = test_listen_loopback(&api->srv.port);
	assert_int_equal(pthread_create(&api->srv.thread, NULL, server_main, &api->srv), 0);
	(void)snprintf(text, sizeof(text),
	               "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
	               "\"http://127.0.0.1:%d\"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: "
	               "{cluster: c, user: u, namespace: ns}\ncurrent-context: x\n",
	               api->srv.port);
	test_write_text(test_tmp_path(api->kubeconfig, sizeof(api->kubeconfig), "kubeconfig"), text);
	opts.kubeconfig = api->kubeconfig;
	client_opts.max_retries = 0;
	client_opts.qps = 1e6;
	client_opts.burst = 1000000;
	client_opts.cache_dir = cache_dir ? cache_dir : "/nonexistent/rollguard-test";
	assert_int_equal(kube_config_load(&api->config, &opts), 0);
	assert_int_equal(kube_client_new(&api->client, api->config, &client_opts), 0);
}

void test_api_stop(struct test_api *api)
{
	kube_client_free(api->client);
	kube_config_free(api->config);
	atomic_store(&api->srv.stop, 1);
	pthread_join(api->srv.thread, NULL);
	close(api->srv.fd);
}

const char *test_server_request_line(const struct test_server *srv, int i)
{
	static char line[1024];
	const char *req = srv->requests[i];
	(void)snprintf(line, sizeof(line), "%.*s", (int)strcspn(req, "\r"), req);
	return line;
}

json_t *test_server_request_body(const struct test_server *srv, int i)
{
	const char *body = strstr(srv->requests[i], "\r\n\r\n");
	json_t *doc = body ? json_loads(body + 4, 0, NULL) : NULL;
	if (!doc)
		fail_msg("request %d has no JSON body: %s", i, srv->requests[i]);
	return doc;
}
