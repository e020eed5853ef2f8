/* Helpers shared by the unit tests: fixture files, a failing allocator,
 * a temporary directory, error assertions, loopback servers, and a canned
 * API server with a client of it. */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include <kube/client.h>
#include <kube/config.h>

/* Reads FIXTURES_DIR/relpath into a NUL-terminated malloc'd buffer; fails
 * the test when it cannot. */
char *test_fixture_read(const char *relpath, size_t *out_len);

/* Absolute path of a fixture (static buffer, overwritten by the next call). */
const char *test_fixture_path(const char *relpath);

/* Makes the n-th allocation from now fail (0 = never), through the
 * library's allocator hook, and restarts the count. */
void test_alloc_fail_at(long n);
/* Allocations counted since the last test_alloc_fail_at(n != 0). */
long test_alloc_count(void);

/* cmocka group setup and teardown: a fresh directory under $TMPDIR (or
 * /tmp) for the group's files, removed with the files in it at the end. */
int test_tmpdir_setup(void **state);
int test_tmpdir_teardown(void **state);
/* name inside that directory, written to buf; returns buf. */
const char *test_tmp_path(char *buf, size_t size, const char *name);
/* Removes dir and everything under it; fails the test when it cannot. */
void test_remove_tree(const char *dir);
/* Entries of dir other than . and .. (the test fails when it cannot be read). */
int test_count_entries(const char *dir);

/* Writes text to path, replacing it; fails the test when it cannot. */
void test_write_text(const char *path, const char *text);
/* The file's contents in a static buffer (overwritten by the next call),
 * or NULL when it does not exist. */
char *test_read_text(const char *path);

/* Asserts that rc is code and that the last error's message holds needle. */
void test_assert_error(int rc, int code, const char *needle);

/* text parsed as JSON (owned); malformed test JSON fails the test. */
json_t *test_json_parse(const char *text);

/* Fails the test, printing both documents under name, when got and want
 * differ. */
void test_assert_json_equal(const json_t *got, const json_t *want, const char *name);

/* RFC 7386: patch applied to a copy of target (owned), to check the merge
 * patches code under test writes. */
json_t *test_json_merge_apply(const json_t *target, const json_t *patch);

/* A socket listening on 127.0.0.1 on a port the kernel chose (*out_port),
 * for scripted HTTP servers; sets NO_PROXY and no_proxy to 127.0.0.1 so
 * that libcurl connects to it directly. Fails the test when it cannot. */
int test_listen_loopback(int *out_port);

/* Reads one HTTP request from conn into req (NUL-terminated): its headers
 * and, when Content-Length says so, its body, waiting at most two seconds
 * for each piece. Returns where the headers end ("\r\n\r\n"), or NULL when
 * the request never completed its headers. */
char *test_http_read_request(int conn, char *req, size_t size);

/* A scripted server thread's loop: accepts connections on fd and hands
 * each to handle(server, conn), closing it after, until *stop is set. */
void test_serve_until(int fd, atomic_int *stop, void (*handle)(void *server, int conn), void *server);

#define TEST_SERVER_MAX_STEPS   16
#define TEST_SERVER_REQUEST_MAX 8192

/* A canned API server on 127.0.0.1, in a thread of its own. It answers
 * each request with the next of its replies, or with what route chose for
 * the request, sent verbatim before the connection is closed; a request
 * left without a reply (none left, or route said NULL) is closed
 * unanswered and not counted. The first TEST_SERVER_MAX_STEPS requests
 * answered are kept whole. */
struct test_server {
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	const char *replies[TEST_SERVER_MAX_STEPS]; /* in order, NULL-ended; or: */
	const char *(*route)(const char *request);  /* a reply chosen by the request */
	atomic_int served;                          /* requests answered */
	char requests[TEST_SERVER_MAX_STEPS][TEST_SERVER_REQUEST_MAX];
};

/* A canned server and a client of it: a kubeconfig (namespace "ns") in the
 * group's temporary directory (test_tmpdir_setup) that points at the
 * server over plain HTTP, and a client that does not retry and is not
 * rate-limited, since allocation-failure loops send thousands of requests. */
struct test_api {
	struct test_server srv;
	char kubeconfig[512];
	kube_config *config;
	kube_client *client;
};

/* Starts the server with either replies (NULL-ended, at most
 * TEST_SERVER_MAX_STEPS - 1, borrowed) or route, the other NULL; then
 * writes the kubeconfig and makes the client, whose cache is in cache_dir
 * or, when cache_dir is NULL, in a directory that cannot exist. Fails the
 * test when it cannot. */
void test_api_start(struct test_api *api, const char *const *replies, const char *(*route)(const char *request),
                    const char *cache_dir);
/* Frees the client and config and stops the server. */
void test_api_stop(struct test_api *api);

/* The request line of the server's request i (a static buffer, overwritten
 * by the next call). */
const char *test_server_request_line(const struct test_server *srv, int i);
/* The JSON body of the server's request i (the caller's); fails the test
 * when it has none. */
json_t *test_server_request_body(const struct test_server *srv, int i);

#endif
