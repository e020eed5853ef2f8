/* Unit tests of the streams: the channel framing (demultiplexing across
 * fragments, port prefixes, v5 close signals), the status channel's
 * metav1.Status, the exec path, and exec and port-forward end to end
 * against a scripted WebSocket server on 127.0.0.1 (which can show what
 * the test cluster cannot: the v5 stdin close signal, an ExitCode cause,
 * a refused upgrade's Status). */
#include <arpa/inet.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <kube/alloc.h>
#include <kube/client.h>
#include <kube/clock.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/stream.h>

#include "test_support.h"
#include "ws.h"

/* ----- the channel framing ----- */

struct collected {
	char text[8][64];
	int channel[8];
	int count;
};

static int collect(void *user, int channel, const unsigned char *data, size_t len)
{
	struct collected *c = user;
	assert_true(c->count < 8);
	c->channel[c->count] = channel;
	(void)snprintf(c->text[c->count], sizeof(c->text[0]), "%.*s", (int)len, (const char *)data);
	c->count++;
	return 0;
}

static int feed(struct kube_ws_demux *demux, const char *bytes, size_t len, int first, int final, struct collected *c)
{
	return kube_ws_demux_feed(demux, (const unsigned char *)bytes, len, first, final, collect, c);
}

static void test_stream__demux_splits_channels_across_fragments(void **state)
{
	(void)state;
	struct kube_ws_demux demux;
	struct collected c = {0};
	kube_ws_demux_init(&demux, 1, 0);
	assert_int_equal(feed(&demux, "\001out", 4, 1, 1, &c), 0);
	assert_int_equal(feed(&demux, "\002e", 2, 1, 0, &c), 0);
	assert_int_equal(feed(&demux, "rr", 2, 0, 1, &c), 0);
	assert_int_equal(feed(&demux, "\001", 1, 1, 1, &c), 0); /* the API server's empty "ready" frame */
	assert_int_equal(c.count, 4);
	assert_int_equal(c.channel[0], 1);
	assert_string_equal(c.text[0], "out");
	assert_int_equal(c.channel[1], 2);
	assert_string_equal(c.text[1], "e");
	assert_int_equal(c.channel[2], 2);
	assert_string_equal(c.text[2], "rr");
	assert_int_equal(c.channel[3], 1);
	assert_string_equal(c.text[3], "");
}

static void test_stream__demux_consumes_port_prefixes(void **state)
{
	(void)state;
	struct kube_ws_demux demux;
	struct collected c = {0};
	kube_ws_demux_init(&demux, 0, 1);
	/* 8080 = 0x1f90, little-endian; the error channel's prefix split across fragments */
	assert_int_equal(feed(&demux, "\000\x90\x1f", 3, 1, 1, &c), 0);
	assert_false(kube_ws_demux_ports_seen(&demux));
	assert_int_equal(feed(&demux, "\001\x90", 2, 1, 0, &c), 0);
	assert_int_equal(feed(&demux,
	                      "\x1f"
	                      "boom",
	                      5, 0, 1, &c),
	                 0);
	assert_true(kube_ws_demux_ports_seen(&demux));
	assert_int_equal(demux.port[0], 8080);
	assert_int_equal(demux.port[1], 8080);
	assert_int_equal(feed(&demux, "\000data", 5, 1, 1, &c), 0);
	/* the port frames announce their channel with no data; then "boom" and "data" */
	assert_int_equal(c.count, 4);
	assert_string_equal(c.text[0], "");
	assert_string_equal(c.text[1], "");
	assert_string_equal(c.text[2], "boom");
	assert_int_equal(c.channel[2], 1);
	assert_string_equal(c.text[3], "data");
	assert_int_equal(c.channel[3], 0);
}

static void test_stream__demux_refuses_malformed_sequences(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t len;
		int v5, first, final, expect;
	} cases[] = {
	        {"x", 1, 1, 0, 1, KUBE_EPROTOCOL},            /* a continuation outside any message */
	        {"\377", 1, 1, 1, 1, KUBE_EPROTOCOL},         /* a close signal without its channel */
	        {"\377\000\001", 3, 1, 1, 1, KUBE_EPROTOCOL}, /* ... or with more */
	        {"\377\000", 2, 1, 1, 1, 0},                  /* [255, 0]: stdin closed */
	        {"\377\000", 2, 0, 1, 1, 0},                  /* v4: channel 255 is just a channel */
	        {"", 0, 1, 1, 1, 0},                          /* an empty message carries nothing */
	        {"", 0, 1, 1, 0, KUBE_EPROTOCOL},             /* a message without its channel byte */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_ws_demux demux;
		struct collected c = {0};
		kube_ws_demux_init(&demux, cases[i].v5, 0);
		assert_int_equal(feed(&demux, cases[i].bytes, cases[i].len, cases[i].first, cases[i].final, &c),
		                 cases[i].expect);
	}
	/* a message may not start inside another */
	struct kube_ws_demux demux;
	struct collected c = {0};
	kube_ws_demux_init(&demux, 1, 0);
	assert_int_equal(feed(&demux, "\001a", 2, 1, 0, &c), 0);
	test_assert_error(feed(&demux, "\001b", 2, 1, 1, &c), KUBE_EPROTOCOL, "inside another");
}

static void test_stream__frames_are_encoded_with_their_channel(void **state)
{
	(void)state;
	unsigned char frame[8];
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), 0, "abc", 3), 4);
	assert_memory_equal(frame, "\000abc", 4);
	unsigned char channel = 0;
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), KUBE_WS_CLOSE, &channel, 1), 2);
	assert_memory_equal(frame, "\377\000", 2);
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), 1, NULL, 0), 1);
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), 1, "1234567", 7), 8);
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), 1, "12345678", 8), 0); /* does not fit */
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), 256, "a", 1), 0);
	assert_int_equal(kube_ws_frame(frame, sizeof(frame), -1, "a", 1), 0);
}

/* ----- the status channel ----- */

static void test_stream__status_channel_table(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		int rc;
		int exit_code;
		const char *reason;
	} cases[] = {
	        {"{\"metadata\":{},\"status\":\"Success\"}", 0, 0, NULL},
	        /* the API server's translation of a non-zero exit (client-go's errorDecoderV4) */
	        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"message\":\"command terminated with "
	         "non-zero "
	         "exit code: error executing command [sh -c exit 3], exit code "
	         "3\",\"details\":{\"causes\":[{\"reason\":"
	         "\"ExitCode\",\"message\":\"3\"}]}}",
	         0, 3, "NonZeroExitCode"},
	        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
	         "\"Other\","
	         "\"message\":\"9\"},{\"reason\":\"ExitCode\",\"message\":\"255\"}]}}",
	         0, 255, "NonZeroExitCode"},
	        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
	         "\"ExitCode\","
	         "\"message\":\"256\"}]}}",
	         0, -1, "NonZeroExitCode"},
	        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
	         "\"ExitCode\","
	         "\"message\":\" 3\"}]}}",
	         0, -1, "NonZeroExitCode"},
	        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\"}", 0, -1, "NonZeroExitCode"},
	        /* kwok: the exit status only in an InternalError's message */
	        {"{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"Internal error occurred: error "
	         "executing command in container: cmd wait: sh -c exit 3: exit status 3\",\"code\":500}",
	         0, 3, "InternalError"},
	        {"{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"exit status 12 then exit status "
	         "7\"}",
	         0, 7, "InternalError"},
	        {"{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"exit status 0\"}", 0, -1,
	         "InternalError"},
	        {"{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"fork/exec /x: no such file or "
	         "directory\"}",
	         0, -1, "InternalError"},
	        {"{\"status\":\"Failure\"}", 0, -1, NULL},
	        {"{\"kind\":\"Status\"}", KUBE_EPROTOCOL, -1, NULL},
	        {"{\"status\":\"Pending\"}", KUBE_EPROTOCOL, -1, NULL},
	        {"[]", KUBE_EPROTOCOL, -1, NULL},
	        {"not json", KUBE_EPROTOCOL, -1, NULL},
	        {"", KUBE_EPROTOCOL, -1, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int exit_code = 42;
		char *reason = NULL, *message = NULL;
		int rc = kube_exec_status_parse(cases[i].json, strlen(cases[i].json), &exit_code, &reason, &message);
		if (rc != cases[i].rc || exit_code != cases[i].exit_code)
			fail_msg("case %zu (%s): rc %d exit %d", i, cases[i].json, rc, exit_code);
		if (cases[i].reason)
			assert_string_equal(reason, cases[i].reason);
		else
			assert_null(reason);
		kube_free(reason);
		kube_free(message);
	}
}

/* ----- the exec path ----- */

static void test_stream__exec_path_escapes_every_part(void **state)
{
	(void)state;
	static const char *const command[] = {"sh", "-c", "echo a&b=c; exit 3"};
	kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	kube_buf path = KUBE_BUF_INIT;
	opts.command = command;
	opts.command_count = 3;
	opts.container = "side car";
	assert_int_equal(kube_exec_path(&path, "ns", "web-1", &opts), 0);
	assert_string_equal(path.ptr,
	                    "/api/v1/namespaces/ns/pods/web-1/exec?command=sh&command=-c&command=echo%20a%26b%"
	                    "3Dc%3B%20exit%203&container=side%20car&stdout=true&stderr=true");
	kube_buf_clear(&path);
	opts.container = NULL;
	opts.stdin_data = "";
	opts.command_count = 1;
	assert_int_equal(kube_exec_path(&path, "ns", "web-1", &opts), 0);
	assert_string_equal(path.ptr,
	                    "/api/v1/namespaces/ns/pods/web-1/exec?command=sh&stdin=true&stdout=true&stderr=true");
	kube_buf_clear(&path);
	opts.command_count = 0;
	test_assert_error(kube_exec_path(&path, "ns", "web-1", &opts), KUBE_EINVALID, "no command");
	kube_buf_dispose(&path);
}

/* ----- a scripted WebSocket server ----- */

enum script {
	SCRIPT_EXEC,
	SCRIPT_FORBIDDEN,
	SCRIPT_PORTFORWARD,
	SCRIPT_PORTFORWARD_REFUSED,
	SCRIPT_EXEC_AFTER_503,        /* the first upgrade answered 503 (no Retry-After), then SCRIPT_EXEC */
	SCRIPT_PORTFORWARD_AFTER_429, /* the first upgrade answered 429 with Retry-After: 1, then SCRIPT_PORTFORWARD */
	SCRIPT_UNAVAILABLE,           /* every request answered 503, the upgrades and the GETs for their Status */
};

struct ws_server {
	int fd, port;
	pthread_t thread;
	enum script script;
	atomic_int connections;
	atomic_int upgrades;     /* requests that asked for a WebSocket */
	char request[4096];      /* the first request's headers */
	char client_data[256];   /* what the client sent on channel 0 */
	int client_closed_stdin; /* a v5 [255, 0] arrived */
	int pings;
};

/* The server thread never asserts (cmocka's failures belong to the test's
 * thread); a client that went away early shows up in the test's checks. */
static void send_all(int conn, const void *data, size_t len)
{
	(void)!send(conn, data, len, MSG_NOSIGNAL);
}

/* An unmasked server frame (FIN set). */
static void send_frame(int conn, int opcode, const void *payload, size_t len)
{
	unsigned char head[4] = {(unsigned char)(0x80 | opcode), 0, 0, 0};
	size_t head_len = 2;
	if (len < 126) {
		head[1] = (unsigned char)len;
	} else {
		head[1] = 126;
		head[2] = (unsigned char)(len >> 8);
		head[3] = (unsigned char)len;
		head_len = 4;
	}
	send_all(conn, head, head_len);
	if (len)
		send_all(conn, payload, len);
}

static int recv_full(int conn, unsigned char *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = recv(conn, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One client frame (always masked); returns its opcode, or -1. */
static int recv_frame(int conn, unsigned char *payload, size_t cap, size_t *out_len)
{
	unsigned char head[2], mask[4], ext[8];
	if (recv_full(conn, head, 2) != 0)
		return -1;
	size_t len = head[1] & 0x7f;
	if (len == 126) {
		if (recv_full(conn, ext, 2) != 0)
			return -1;
		len = (size_t)ext[0] << 8 | ext[1];
	}
	if (!(head[1] & 0x80) || len > cap) /* clients mask every frame */
		return -1;
	if (recv_full(conn, mask, 4) != 0 || (len && recv_full(conn, payload, len) != 0))
		return -1;
	for (size_t i = 0; i < len; i++)
		payload[i] ^= mask[i % 4];
	*out_len = len;
	return head[0] & 0x0f;
}

static void upgrade(int conn, const char *req, const char *protocol)
{
	const char *key = strstr(req, "Sec-WebSocket-Key: ");
	if (!key)
		return;
	key += 19;
	char material[128];
	(void)snprintf(material, sizeof(material), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)strcspn(key, "\r"),
	               key);
	unsigned char digest[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)material, strlen(material), digest);
	char accept[64];
	EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);
	char reply[512];
	int len = snprintf(reply, sizeof(reply),
	                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	                   "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
	                   accept, protocol);
	send_all(conn, reply, (size_t)len);
}

/* Reads client frames until a close, a [255, 0], or (stop_on_data) data. */
static void read_client(struct ws_server *srv, int conn, int stop_on_data)
{
	unsigned char payload[256];
	size_t len;
	int opcode;
	while ((opcode = recv_frame(conn, payload, sizeof(payload), &len)) >= 0) {
		if (opcode == 0x9) { /* ping: pong */
			srv->pings++;
			send_frame(conn, 0xA, payload, len);
		} else if (opcode == 0x8) {
			return;
		} else if (len == 2 && payload[0] == 255 && payload[1] == 0) {
			srv->client_closed_stdin = 1;
			return;
		} else if (len && payload[0] == 0) {
			size_t used = strlen(srv->client_data);
			(void)snprintf(srv->client_data + used, sizeof(srv->client_data) - used, "%.*s", (int)len - 1,
			               (const char *)payload + 1);
			if (stop_on_data)
				return;
		}
	}
}

static const char forbidden_body[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"pods \\\"web\\\" is "
        "forbidden: scripted\",\"reason\":\"Forbidden\",\"code\":403}";

static const char unavailable_body[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"scripted: the server "
        "is currently unable to handle the request\",\"reason\":\"ServiceUnavailable\",\"code\":503}";

/* A refusal with a Status body, and Retry-After when retry_after is set. */
static void refuse(int conn, const char *status_line, const char *retry_after, const char *body)
{
	char reply[1024];
	int len = snprintf(reply, sizeof(reply),
	                   "HTTP/1.1 %s\r\nContent-Type: application/json\r\nConnection: close\r\n%s%s%s"
	                   "Content-Length: %zu\r\n\r\n%s",
	                   status_line, retry_after ? "Retry-After: " : "", retry_after ? retry_after : "",
	                   retry_after ? "\r\n" : "", strlen(body), body);
	send_all(conn, reply, (size_t)len);
}

static void serve(struct ws_server *srv, int conn)
{
	char req[4096];
	if (!test_http_read_request(conn, req, sizeof(req)))
		return;
	if (atomic_fetch_add(&srv->connections, 1) == 0)
		(void)snprintf(srv->request, sizeof(srv->request), "%s", req);
	int upgrade_seen = strstr(req, "Upgrade: websocket") ? atomic_fetch_add(&srv->upgrades, 1) + 1 : 0;
	enum script script = srv->script;
	if (script == SCRIPT_EXEC_AFTER_503 || script == SCRIPT_PORTFORWARD_AFTER_429) {
		if (upgrade_seen == 1) {
			if (script == SCRIPT_EXEC_AFTER_503)
				refuse(conn, "503 Service Unavailable", NULL, unavailable_body);
			else
				refuse(conn, "429 Too Many Requests", "1", unavailable_body);
			return;
		}
		script = script == SCRIPT_EXEC_AFTER_503 ? SCRIPT_EXEC : SCRIPT_PORTFORWARD;
	}
	static const char exit_7[] =
	        "\003{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"message\":\"command "
	        "terminated with non-zero exit code\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
	        "\"message\":\"7\"}]}}";
	switch (script) {
	case SCRIPT_EXEC: {
		/* the first protocol offered, as the API server picks */
		const char *offer = strstr(req, "Sec-WebSocket-Protocol: ");
		char protocol[64];
		offer = offer ? offer + 24 : "";
		(void)snprintf(protocol, sizeof(protocol), "%.*s", (int)strcspn(offer, ",\r"), offer);
		upgrade(conn, req, protocol);
		send_frame(conn, 0x2, "\001", 1);
		if (strstr(req, "stdin=true"))
			read_client(srv, conn, 0);
		send_frame(conn, 0x2, "\001hi ", 4);
		send_frame(conn, 0x2, "\002oops", 5);
		send_frame(conn, 0x2, exit_7, sizeof(exit_7) - 1);
		send_frame(conn, 0x8, "\003\350", 2);
		read_client(srv, conn, 0);
		break;
	}
	case SCRIPT_FORBIDDEN: {
		/* the upgrade and the plain GET for its Status get the same answer */
		char reply[512];
		int len = snprintf(reply, sizeof(reply),
		                   "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n"
		                   "Content-Length: %zu\r\n\r\n%s",
		                   sizeof(forbidden_body) - 1, forbidden_body);
		send_all(conn, reply, (size_t)len);
		break;
	}
	case SCRIPT_PORTFORWARD:
		upgrade(conn, req, KUBE_WS_V4);
		send_frame(conn, 0x2, "\000\x90\x1f", 3);
		send_frame(conn, 0x2, "\001\x90\x1f", 3);
		read_client(srv, conn, 1);
		send_frame(conn, 0x2, "\000pong", 5);
		read_client(srv, conn, 0);
		break;
	case SCRIPT_PORTFORWARD_REFUSED:
		upgrade(conn, req, KUBE_WS_V4);
		send_frame(conn, 0x2, "\000\x90\x1f", 3);
		send_frame(conn, 0x2, "\001\x90\x1f", 3);
		send_frame(conn, 0x2, "\001error forwarding port 8080: connect: connection refused", 56);
		send_frame(conn, 0x8, "\003\350", 2);
		read_client(srv, conn, 0);
		break;
	case SCRIPT_UNAVAILABLE:
		refuse(conn, "503 Service Unavailable", NULL, unavailable_body);
		break;
	default:
		break;
	}
}

static void *server_main(void *arg)
{
	struct ws_server *srv = arg;
	for (;;) {
		int conn = accept(srv->fd, NULL, NULL);
		if (conn < 0)
			return NULL;
		serve(srv, conn);
		close(conn);
	}
}

struct fixture {
	struct ws_server srv;
	char kubeconfig[256];
	kube_config *config;
	kube_client *client;
};

/* max_retries: the client's, for requests and for refused upgrades. */
static void fixture_start(struct fixture *fx, enum script script, int max_retries)
{
	memset(fx, 0, sizeof(*fx));
	fx->srv.script = script;
	fx->srv.fd = test_listen_loopback(&fx->srv.port);
	assert_int_equal(pthread_create(&fx->srv.thread, NULL, server_main, &fx->srv), 0);
	(void)snprintf(fx->kubeconfig, sizeof(fx->kubeconfig), "/tmp/rollguard-test-stream-%d.yaml", (int)getpid());
	FILE *f = fopen(fx->kubeconfig, "w");
	assert_non_null(f);
	fprintf(f,
	        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:%d\"}\n"
	        "users:\n- name: u\n  user: {as: alice}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, "
	        "namespace: ns}\ncurrent-context: x\n",
	        fx->srv.port);
	fclose(f);
	kube_config_options opts = KUBE_CONFIG_OPTIONS_INIT;
	kube_client_options client_opts = KUBE_CLIENT_OPTIONS_INIT;
	opts.kubeconfig = fx->kubeconfig;
	client_opts.max_retries = max_retries;
	client_opts.cache_dir = "/tmp";
	assert_int_equal(kube_config_load(&fx->config, &opts), 0);
	assert_int_equal(kube_client_new(&fx->client, fx->config, &client_opts), 0);
}

static void fixture_stop(struct fixture *fx)
{
	kube_client_free(fx->client);
	kube_config_free(fx->config);
	shutdown(fx->srv.fd, SHUT_RDWR); /* ends accept() */
	pthread_join(fx->srv.thread, NULL);
	close(fx->srv.fd);
	unlink(fx->kubeconfig);
}

/* Exec options running command (count words) for up to timeout_ms. */
static kube_exec_options exec_options(const char *const *command, size_t count, long timeout_ms)
{
	kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	opts.command = command;
	opts.command_count = count;
	opts.timeout_ms = timeout_ms;
	return opts;
}

static void test_stream__exec_reads_output_and_exit_code(void **state)
{
	(void)state;
	static const char *const command[] = {"sh", "-c", "exit 7"};
	struct fixture fx;
	fixture_start(&fx, SCRIPT_EXEC, 0);
	kube_exec_options opts = exec_options(command, 3, 5000);
	kube_exec_result result;
	opts.stdin_data = "to stdin";
	opts.stdin_len = 8;
	assert_int_equal(kube_pod_exec(fx.client, &result, "ns", "web", &opts), 0);
	assert_string_equal(kube_buf_cstr(&result.out), "hi ");
	assert_string_equal(kube_buf_cstr(&result.err), "oops");
	assert_int_equal(result.exit_code, 7);
	assert_string_equal(result.status_reason, "NonZeroExitCode");
	assert_string_equal(result.protocol, KUBE_WS_V5);
	/* what the server saw: the offer, the impersonation, stdin and its v5 close */
	assert_non_null(strstr(fx.srv.request, "GET /api/v1/namespaces/ns/pods/web/exec?command=sh&command=-c&command="
	                                       "exit%207&stdin=true&stdout=true&stderr=true HTTP/1.1\r\n"));
	assert_non_null(strstr(fx.srv.request, "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
	assert_non_null(strstr(fx.srv.request, "Impersonate-User: alice\r\n"));
	assert_string_equal(fx.srv.client_data, "to stdin");
	assert_true(fx.srv.client_closed_stdin);
	kube_exec_result_dispose(&result);

	/* v4 only: offered alone, and no close signal exists for stdin */
	opts.v4_only = 1;
	opts.stdin_data = NULL;
	assert_int_equal(kube_pod_exec(fx.client, &result, "ns", "web", &opts), 0);
	assert_string_equal(result.protocol, KUBE_WS_V4);
	assert_int_equal(result.exit_code, 7);
	assert_non_null(strstr(fx.srv.request, "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
	kube_exec_result_dispose(&result);
	fixture_stop(&fx);
}

static void test_stream__refused_upgrade_keeps_the_server_status(void **state)
{
	(void)state;
	static const char *const command[] = {"true"};
	struct fixture fx;
	fixture_start(&fx, SCRIPT_FORBIDDEN, 3); /* retries allowed: a 403 must not use them */
	kube_exec_options opts = exec_options(command, 1, 0);
	kube_exec_result result;
	test_assert_error(kube_pod_exec(fx.client, &result, "ns", "web", &opts), KUBE_EFORBIDDEN,
	                  "pods \"web\" is forbidden: scripted");
	assert_int_equal(kube_error_last()->http_status, 403);
	assert_string_equal(kube_error_last()->reason, "Forbidden");
	assert_int_equal(result.exit_code, -1);
	/* the upgrade and one GET for its Status: a 403 is not asked again */
	assert_int_equal(atomic_load(&fx.srv.upgrades), 1);
	assert_int_equal(atomic_load(&fx.srv.connections), 2);
	kube_exec_result_dispose(&result);
	kube_portforward *pf = NULL;
	test_assert_error(kube_portforward_open(fx.client, &pf, "ns", "web", 8080, NULL), KUBE_EFORBIDDEN,
	                  "forbidden: scripted");
	assert_null(pf);
	assert_int_equal(atomic_load(&fx.srv.upgrades), 2);
	assert_int_equal(atomic_load(&fx.srv.connections), 4);
	fixture_stop(&fx);
}

static void test_stream__refused_upgrade_retry_delays(void **state)
{
	(void)state;
	static const struct {
		long status, retry_after_s;
		int attempt;
		long min_ms, max_ms; /* -1, -1: not retried */
	} cases[] = {
	        {503, 1, 0, 1000, 1000},                                                /* Retry-After honoured */
	        {429, 2, 2, 2000, 2000},                                                /* ... whatever the attempt */
	        {429, 0, 0, 0, 0},                                                      /* "now" */
	        {500, 3600, 0, KUBE_WS_RETRY_AFTER_CAP_MS, KUBE_WS_RETRY_AFTER_CAP_MS}, /* capped */
	        {502, -1, 0, 50, 100}, /* no Retry-After: the request loop's backoff */
	        {504, -1, 1, 100, 200},
	        {503, -1, 2, 200, 400},
	        {403, 1, 0, -1, -1}, /* other 4xx: never */
	        {404, -1, 0, -1, -1},
	        {400, -1, 0, -1, -1},
	        {101, -1, 0, -1, -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long delay = kube_ws_retry_delay_ms(cases[i].status, cases[i].retry_after_s, cases[i].attempt);
		if (delay < cases[i].min_ms || delay > cases[i].max_ms)
			fail_msg("HTTP %ld, Retry-After %ld, attempt %d: %ld ms, want %ld-%ld", cases[i].status,
			         cases[i].retry_after_s, cases[i].attempt, delay, cases[i].min_ms, cases[i].max_ms);
	}
}

static void test_stream__exec_retries_an_upgrade_refused_with_503(void **state)
{
	(void)state;
	static const char *const command[] = {"sh", "-c", "exit 7"};
	struct fixture fx;
	fixture_start(&fx, SCRIPT_EXEC_AFTER_503, 3);
	kube_exec_options opts = exec_options(command, 3, 5000);
	kube_exec_result result;
	assert_int_equal(kube_pod_exec(fx.client, &result, "ns", "web", &opts), 0);
	assert_int_equal(result.exit_code, 7);
	assert_string_equal(kube_buf_cstr(&result.out), "hi ");
	assert_string_equal(result.protocol, KUBE_WS_V5);
	/* one retry, and no GET for the refusal's Status in between */
	assert_int_equal(atomic_load(&fx.srv.upgrades), 2);
	assert_int_equal(atomic_load(&fx.srv.connections), 2);
	kube_exec_result_dispose(&result);
	fixture_stop(&fx);
}

static void test_stream__portforward_honours_retry_after_of_a_429(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, SCRIPT_PORTFORWARD_AFTER_429, 3);
	kube_portforward *pf = NULL;
	long long started = kube_now_ms();
	assert_int_equal(kube_portforward_open(fx.client, &pf, "ns", "web", 8080, NULL), 0);
	long long took = kube_now_ms() - started;
	/* Retry-After: 1, not the backoff's 50-100 ms */
	if (took < 950 || took > 4000)
		fail_msg("the tunnel opened after %lld ms, want about 1000", took);
	assert_int_equal(atomic_load(&fx.srv.upgrades), 2);
	assert_int_equal(atomic_load(&fx.srv.connections), 2);
	/* the tunnel is the second attempt's, and works */
	int fd = kube_portforward_fd(pf);
	assert_int_equal(write(fd, "ping", 4), 4);
	char reply[16] = "";
	struct pollfd pfd = {fd, POLLIN, 0};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(read(fd, reply, sizeof(reply) - 1), 4);
	assert_string_equal(reply, "pong");
	kube_portforward_free(pf);
	fixture_stop(&fx);
}

/* What kube_pod_exec reports for an upgrade refused with 503 (its message,
 * code and status), in buf. */
static int exec_refusal(kube_client *client, int max_retries, char *message, size_t size, long *http_status)
{
	static const char *const command[] = {"true"};
	kube_exec_options opts = exec_options(command, 1, 0);
	kube_exec_result result;
	opts.max_retries = max_retries;
	int rc = kube_pod_exec(client, &result, "ns", "web", &opts);
	(void)snprintf(message, size, "%s", kube_error_last()->message);
	*http_status = kube_error_last()->http_status;
	kube_exec_result_dispose(&result);
	return rc;
}

static void test_stream__retries_exhausted_give_the_refusal(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, SCRIPT_UNAVAILABLE, 3);
	char once[256], exhausted[256];
	long once_status = 0, exhausted_status = 0;
	/* without retries, as before: one upgrade, then one GET for its Status */
	int once_rc = exec_refusal(fx.client, 0, once, sizeof(once), &once_status);
	assert_int_equal(once_rc, KUBE_ENETWORK);
	assert_non_null(strstr(once, "scripted: the server is currently unable"));
	assert_int_equal(once_status, 503);
	assert_int_equal(atomic_load(&fx.srv.upgrades), 1);
	assert_int_equal(atomic_load(&fx.srv.connections), 2);
	/* the client's 3 retries (the default -1), then the same error; the
	 * Status is read once, not once per attempt */
	assert_int_equal(exec_refusal(fx.client, -1, exhausted, sizeof(exhausted), &exhausted_status), once_rc);
	assert_string_equal(exhausted, once);
	assert_int_equal(exhausted_status, once_status);
	assert_int_equal(atomic_load(&fx.srv.upgrades), 1 + 4);
	assert_int_equal(atomic_load(&fx.srv.connections), 2 + 4 + 1);
	/* port-forward: the same retries, the same error */
	kube_portforward *pf = NULL;
	test_assert_error(kube_portforward_open(fx.client, &pf, "ns", "web", 8080, NULL), KUBE_ENETWORK,
	                  "scripted: the server is currently unable");
	assert_null(pf);
	assert_int_equal(kube_error_last()->http_status, 503);
	assert_int_equal(atomic_load(&fx.srv.upgrades), 1 + 4 + 4);
	fixture_stop(&fx);
}

static void test_stream__portforward_carries_data_both_ways(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, SCRIPT_PORTFORWARD, 0);
	kube_portforward *pf = NULL;
	assert_int_equal(kube_portforward_open(fx.client, &pf, "ns", "web", 8080, NULL), 0);
	assert_non_null(
	        strstr(fx.srv.request, "GET /api/v1/namespaces/ns/pods/web/portforward?ports=8080 HTTP/1.1\r\n"));
	assert_non_null(strstr(fx.srv.request, "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n"));
	assert_true(kube_portforward_setup_ms(pf) >= kube_portforward_upgrade_ms(pf));
	assert_null(kube_portforward_socket_name(pf));
	long long rtt = -1;
	assert_int_equal(kube_portforward_ping(pf, &rtt, 2000), 0);
	assert_true(rtt >= 0);
	int fd = kube_portforward_fd(pf);
	assert_int_equal(write(fd, "ping", 4), 4);
	char reply[16] = "";
	struct pollfd pfd = {fd, POLLIN, 0};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(read(fd, reply, sizeof(reply) - 1), 4);
	assert_string_equal(reply, "pong");
	assert_int_equal(kube_portforward_check(pf, 0), 0);
	kube_portforward_free(pf);
	assert_string_equal(fx.srv.client_data, "ping");
	assert_int_equal(fx.srv.pings, 1);
	fixture_stop(&fx);
}

static void test_stream__portforward_listener_and_error_channel(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, SCRIPT_PORTFORWARD_REFUSED, 0);
	kube_portforward_options opts = KUBE_PORTFORWARD_OPTIONS_INIT;
	opts.listen = 1;
	kube_portforward *pf = NULL;
	assert_int_equal(kube_portforward_open(fx.client, &pf, "ns", "web", 8080, &opts), 0);
	assert_int_equal(kube_portforward_fd(pf), -1);
	assert_non_null(kube_portforward_socket_name(pf));
	test_assert_error(kube_portforward_check(pf, 2000), KUBE_ENETWORK, "connect: connection refused");
	kube_portforward_free(pf);
	test_assert_error(kube_portforward_open(fx.client, &pf, "ns", "web", 0, NULL), KUBE_EINVALID, "port 0");
	fixture_stop(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_stream__demux_splits_channels_across_fragments),
	        cmocka_unit_test(test_stream__demux_consumes_port_prefixes),
	        cmocka_unit_test(test_stream__demux_refuses_malformed_sequences),
	        cmocka_unit_test(test_stream__frames_are_encoded_with_their_channel),
	        cmocka_unit_test(test_stream__status_channel_table),
	        cmocka_unit_test(test_stream__exec_path_escapes_every_part),
	        cmocka_unit_test(test_stream__exec_reads_output_and_exit_code),
	        cmocka_unit_test(test_stream__refused_upgrade_keeps_the_server_status),
	        cmocka_unit_test(test_stream__refused_upgrade_retry_delays),
	        cmocka_unit_test(test_stream__exec_retries_an_upgrade_refused_with_503),
	        cmocka_unit_test(test_stream__portforward_honours_retry_after_of_a_429),
	        cmocka_unit_test(test_stream__retries_exhausted_give_the_refusal),
	        cmocka_unit_test(test_stream__portforward_carries_data_both_ways),
	        cmocka_unit_test(test_stream__portforward_listener_and_error_channel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
