/* The WebSocket client under exec and port-forward: one libwebsockets
 * context serviced by one background thread (the stream loop), a vhost per
 * connection carrying that connection's TLS context (ws_conn.c prepares
 * connections, ws_channel.c frames their messages).
 *
 * Why one loop thread: libwebsockets is not thread-safe, and in 4.1 every
 * context creation resets the global OpenSSL ex-data index its certificate
 * check relies on, so contexts must not live side by side. Callers prepare
 * a connection on their own thread (credentials, headers, TLS), hand it to
 * the loop through a locked queue and lws_cancel_service(), and wait on the
 * connection's condition variable. The loop starts with the first
 * connection and ends with the last one released. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/x509.h>

#include "client_internal.h"
#include "http_internal.h"
#include "internal.h"
#include "ws.h"

_Static_assert(KUBE_WS_PRE == LWS_PRE, "KUBE_WS_PRE must match libwebsockets' LWS_PRE");

#define PROTOCOL_NAME "rollguard-stream"

static void loop_release(void);

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols stream_protocols[] = {
        {PROTOCOL_NAME, callback, 0, 32768, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;  /* starting and stopping the loop */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER; /* loop.queue and loop.stop */
static struct {
	int users; /* connections prepared and not yet disposed (under life_lock) */
	pthread_t thread;
	struct lws_context *context;
	struct kube_ws *queue;  /* connections with a request for the loop (under queue_lock) */
	int stop;               /* under queue_lock */
	struct kube_ws *active; /* loop thread only: connections it has not let go of */
	unsigned long vhost_seq;
} loop;

/* ----- libwebsockets' own log, routed to kube_log ----- */

static void lws_emit(int level, const char *line)
{
	/* lws lines look like "[2026/11/24 10:00:00:0000] E: text\n" */
	const char *text = strstr(line, "] ");
	text = text ? text + 2 : line;
	int len = (int)strcspn(text, "\r\n");
	int kube_level = level & (LLL_ERR | LLL_WARN) ? KUBE_LOG_DECISION : 9;
	kube_log(kube_level, "libwebsockets: %.*s", len, text);
}

static int lws_log_mask(void)
{
	int verbosity = kube_log_verbosity();
	int mask = 0;
	if (verbosity >= KUBE_LOG_DECISION)
		mask |= LLL_ERR | LLL_WARN;
	if (verbosity >= 9)
		mask |= LLL_NOTICE | LLL_INFO;
	return mask;
}

void kube_ws_dispose(struct kube_ws *ws)
{
	struct kube_ws_conn *conn = ws->conn;
	if (!conn)
		return;
	assert(!conn->started || ws->phase == KUBE_WS_DONE);
	if (conn->started) {
		pthread_mutex_lock(&queue_lock);
		for (struct kube_ws **link = &loop.queue; ws->queued && *link; link = &(*link)->next_queued) {
			if (*link == ws) {
				*link = ws->next_queued;
				ws->queued = 0;
				break;
			}
		}
		pthread_mutex_unlock(&queue_lock);
		loop_release();
	}
	if (ws->local_fd >= 0) /* never handed to libwebsockets */
		close(ws->local_fd);
	kube_ws_conn_free(conn);
	ws->conn = NULL;
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
}

/* ----- the stream loop ----- */

static void mark_done(struct kube_ws *ws)
{
	struct kube_ws_conn *conn = ws->conn;
	if (conn->vhost) {
		lws_vhost_destroy(conn->vhost);
		conn->vhost = NULL;
	}
	pthread_mutex_lock(&ws->lock);
	ws->phase = KUBE_WS_DONE;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

/* Keeps the first reason a connection failed or ended (one line). */
static void set_failure(struct kube_ws *ws, const char *text, size_t len)
{
	size_t n = 0;
	while (text && n < len && text[n] && text[n] != '\r' && text[n] != '\n')
		n++;
	pthread_mutex_lock(&ws->lock);
	if (!ws->failure[0] && n)
		(void)snprintf(ws->failure, sizeof(ws->failure), "%.*s", (int)n, text);
	pthread_mutex_unlock(&ws->lock);
}

static void open_connection(struct kube_ws *ws)
{
	struct kube_ws_conn *conn = ws->conn;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	(void)snprintf(conn->vhost_name, sizeof(conn->vhost_name), "stream-%lu", ++loop.vhost_seq);
	info.vhost_name = conn->vhost_name;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = stream_protocols;
	info.gid = info.uid = -1;
	if (conn->tls) {
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.provided_client_ssl_ctx = conn->ssl_ctx;
	}
	ws->next_active = loop.active;
	loop.active = ws;
	conn->vhost = lws_create_vhost(loop.context, &info);
	if (!conn->vhost) {
		set_failure(ws, "libwebsockets could not create a vhost", SIZE_MAX);
		return;
	}
	if (ws->local_fd >= 0) {
		int fd = ws->local_fd;
		ws->local_fd = -1; /* lws owns it now, and closes it even when adoption fails */
		if (kube_ws_adopt_file(ws, fd) != 0) {
			set_failure(ws, "libwebsockets could not adopt the local socket", SIZE_MAX);
			return;
		}
	}
	struct lws_client_connect_info cc;
	memset(&cc, 0, sizeof(cc));
	cc.context = loop.context;
	cc.vhost = conn->vhost;
	cc.address = conn->address;
	cc.port = conn->port;
	cc.ssl_connection = conn->ssl_flags;
	cc.path = conn->path;
	cc.host = conn->host;
	cc.protocol = conn->protocols;
	cc.local_protocol_name = PROTOCOL_NAME;
	cc.alpn = "http/1.1"; /* WebSocket over HTTP/2 (RFC 8441) is not what the API server speaks */
	cc.opaque_user_data = &conn->client_tag;
	cc.pwsi = (struct lws **)&ws->wsi;
	cc.ietf_version_or_minus_one = -1;
	conn->wsi_alive = 1;
	pthread_mutex_lock(&ws->lock);
	ws->phase = KUBE_WS_CONNECTING;
	pthread_mutex_unlock(&ws->lock);
	if (!lws_client_connect_via_info(&cc)) {
		/* scrubbed: no callback for it follows */
		conn->wsi_alive = 0;
		ws->wsi = NULL;
		set_failure(ws, "connect failed", SIZE_MAX);
	}
}

static void close_connection(struct kube_ws *ws)
{
	if (ws->wsi && ws->phase == KUBE_WS_OPEN) {
		/* a close frame from the writable hook, killed if that takes too long */
		lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, 2);
		lws_callback_on_writable(ws->wsi);
	} else if (ws->wsi) {
		lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	kube_ws_kill_file(ws);
}

/* Runs what callers queued. The queue lock is held throughout, so that a
 * connection being disposed is either still queued (and unlinked by
 * kube_ws_dispose) or completely handled. */
static void run_queue(void)
{
	pthread_mutex_lock(&queue_lock);
	struct kube_ws *ws = loop.queue;
	loop.queue = NULL;
	while (ws) {
		struct kube_ws *next = ws->next_queued;
		ws->queued = 0;
		pthread_mutex_lock(&ws->lock);
		int open = ws->phase == KUBE_WS_IDLE;
		int close = ws->close_requested;
		int ping = ws->ping_requested;
		pthread_mutex_unlock(&ws->lock);
		if (open)
			open_connection(ws);
		if (close)
			close_connection(ws);
		else if (ping && ws->wsi && ws->phase == KUBE_WS_OPEN)
			lws_callback_on_writable(ws->wsi);
		ws = next;
	}
	pthread_mutex_unlock(&queue_lock);
}

/* Lets go of connections whose wsis are all gone. */
static void reap(void)
{
	for (struct kube_ws **link = &loop.active; *link;) {
		struct kube_ws *ws = *link;
		if (ws->conn->wsi_alive || ws->conn->file_live) {
			link = &ws->next_active;
			continue;
		}
		*link = ws->next_active;
		mark_done(ws);
	}
}

static void *loop_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&queue_lock);
		int stop = loop.stop;
		pthread_mutex_unlock(&queue_lock);
		if (stop)
			break;
		lws_service(loop.context, 0);
		run_queue();
		reap();
	}
	return NULL;
}

static int loop_acquire(void)
{
	int rc = 0;
	pthread_mutex_lock(&life_lock);
	if (loop.users == 0) {
		/* before the context: lws would print its banner on stderr */
		lws_set_log_level(lws_log_mask(), lws_emit);
		struct lws_context_creation_info info;
		memset(&info, 0, sizeof(info));
		info.port = CONTEXT_PORT_NO_LISTEN;
		info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.protocols = stream_protocols;
		info.gid = info.uid = -1;
		loop.context = lws_create_context(&info);
		loop.stop = 0;
		if (!loop.context) {
			rc = kube_error_set(KUBE_ERROR, "stream: libwebsockets could not create its context");
		} else if (pthread_create(&loop.thread, NULL, loop_main, NULL) != 0) {
			lws_context_destroy(loop.context);
			loop.context = NULL;
			rc = kube_error_set(KUBE_ERROR, "stream: cannot start the stream thread");
		} else {
			kube_log(KUBE_LOG_DECISION, "stream: started the libwebsockets %s loop",
			         lws_get_library_version());
		}
	}
	if (!rc)
		loop.users++;
	pthread_mutex_unlock(&life_lock);
	return rc;
}

static void loop_release(void)
{
	pthread_mutex_lock(&life_lock);
	if (--loop.users == 0) {
		pthread_mutex_lock(&queue_lock);
		loop.stop = 1;
		pthread_mutex_unlock(&queue_lock);
		lws_cancel_service(loop.context);
		pthread_join(loop.thread, NULL);
		lws_context_destroy(loop.context);
		loop.context = NULL;
	}
	pthread_mutex_unlock(&life_lock);
}

static void enqueue(struct kube_ws *ws)
{
	pthread_mutex_lock(&queue_lock);
	if (!ws->queued) {
		ws->queued = 1;
		ws->next_queued = loop.queue;
		loop.queue = ws;
	}
	pthread_mutex_unlock(&queue_lock);
	lws_cancel_service(loop.context);
}

int kube_ws_start(struct kube_ws *ws)
{
	int rc = loop_acquire();
	if (rc)
		return rc;
	ws->conn->started = 1;
	ws->started_ms = kube_now_ms();
	if (kube_log_verbosity() >= KUBE_LOG_HEADERS)
		kube_ws_log_headers(ws->conn);
	enqueue(ws);
	return 0;
}

void kube_ws_close(struct kube_ws *ws)
{
	if (!ws->conn || !ws->conn->started)
		return;
	pthread_mutex_lock(&ws->lock);
	int done = ws->phase == KUBE_WS_DONE;
	ws->close_requested = 1;
	pthread_mutex_unlock(&ws->lock);
	if (!done)
		enqueue(ws);
	kube_ws_wait(ws, 0, kube_ws_is_done);
}

void kube_ws_ping(struct kube_ws *ws)
{
	pthread_mutex_lock(&ws->lock);
	ws->ping_requested = 1;
	pthread_mutex_unlock(&ws->lock);
	enqueue(ws);
}

int kube_ws_is_done(const struct kube_ws *ws)
{
	return ws->phase == KUBE_WS_DONE;
}

int kube_ws_wait(struct kube_ws *ws, long long deadline_ms, int (*done)(const struct kube_ws *ws))
{
	int rc = 0;
	pthread_mutex_lock(&ws->lock);
	while (!done(ws)) {
		if (!deadline_ms) {
			pthread_cond_wait(&ws->cond, &ws->lock);
			continue;
		}
		long long left = deadline_ms - kube_now_ms();
		if (left <= 0) {
			rc = KUBE_ETIMEOUT;
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += left / 1000;
		until.tv_nsec += (left % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L)
			until.tv_sec++, until.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&ws->cond, &ws->lock, &until);
	}
	pthread_mutex_unlock(&ws->lock);
	return rc;
}

/* ----- libwebsockets callbacks (loop thread) ----- */

/* Certificate checks: libwebsockets accepts what OpenSSL accepted; here
 * the reason for a refusal is kept for the error message, and an insecure
 * configuration accepts everything, as libcurl does without verification. */

static int verify_certificate(struct kube_ws *ws, X509_STORE_CTX *store, int preverify_ok)
{
	if (preverify_ok || !ws)
		return 0;
	int err = X509_STORE_CTX_get_error(store);
	if (ws->conn->insecure) {
		X509_STORE_CTX_set_error(store, X509_V_OK);
		return 0;
	}
	char text[200];
	(void)snprintf(text, sizeof(text), "certificate verify failed: %s", X509_verify_cert_error_string(err));
	set_failure(ws, text, SIZE_MAX);
	pthread_mutex_lock(&ws->lock);
	ws->tls_failure = 1;
	pthread_mutex_unlock(&ws->lock);
	return 1;
}

/* A refused upgrade's Retry-After, read as the request loop reads it. */
static long retry_after(struct lws *wsi)
{
	char value[32];
	char line[48];
	if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_HTTP_RETRY_AFTER) <= 0)
		return -1;
	int len = snprintf(line, sizeof(line), "Retry-After: %s", value);
	return len > 0 && (size_t)len < sizeof(line) ? kube_http_retry_after(line, (size_t)len) : -1;
}

static void upgrade_answered(struct kube_ws *ws, struct lws *wsi)
{
	char protocol[64] = "";
	long status = (long)lws_http_client_http_response(wsi);
	if (lws_hdr_copy(wsi, protocol, sizeof(protocol), WSI_TOKEN_PROTOCOL) < 0)
		protocol[0] = '\0';
	long retry_after_s = status == 101 ? -1 : retry_after(wsi);
	pthread_mutex_lock(&ws->lock);
	ws->http_status = status;
	ws->retry_after_s = retry_after_s;
	(void)snprintf(ws->protocol, sizeof(ws->protocol), "%s", protocol);
	long long elapsed = kube_now_ms() - ws->started_ms;
	pthread_mutex_unlock(&ws->lock);
	kube_log(KUBE_LOG_REQUEST, "GET %s %ld %s in %lld milliseconds", ws->conn->url, status,
	         status == 101 ? "Switching Protocols" : "", elapsed);
	kube_log(KUBE_LOG_HEADERS, "Response Header: Sec-WebSocket-Protocol: %s", protocol);
}

static void connection_gone(struct kube_ws *ws)
{
	ws->wsi = NULL;
	ws->conn->wsi_alive = 0;
	pthread_mutex_lock(&ws->lock);
	if (ws->phase < KUBE_WS_CLOSED)
		ws->phase = KUBE_WS_CLOSED;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	if (ws->ops->closed)
		ws->ops->closed(ws);
}

static int writable(struct kube_ws *ws, struct lws *wsi)
{
	pthread_mutex_lock(&ws->lock);
	int close = ws->close_requested;
	int ping = ws->ping_requested && !ws->ping_sent_ms;
	if (ping) {
		ws->ping_requested = 0;
		ws->ping_sent_ms = kube_now_ms();
	}
	pthread_mutex_unlock(&ws->lock);
	if (close)
		return kube_ws_send_close(ws);
	if (ping) {
		unsigned char frame[LWS_PRE + 1];
		if (lws_write(wsi, frame + LWS_PRE, 0, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi); /* the stream may have something to send too */
		return 0;
	}
	return ws->ops->writable ? ws->ops->writable(ws) : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const struct kube_ws_wsi_tag *tag = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	struct kube_ws *ws = tag ? tag->ws : NULL;
	if (!ws && reason != LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		return verify_certificate(ws, user, (int)len);
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		char **at = in;
		const kube_buf *headers = &ws->conn->headers;
		if (headers->len + 1 > len)
			return -1;
		if (headers->len)
			memcpy(*at, headers->ptr, headers->len);
		*at += headers->len;
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		upgrade_answered(ws, wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pthread_mutex_lock(&ws->lock);
		ws->phase = KUBE_WS_OPEN;
		ws->established = 1;
		ws->upgraded_ms = kube_now_ms() - ws->started_ms;
		pthread_cond_broadcast(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
		return ws->ops->established ? ws->ops->established(ws) : 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		set_failure(ws, in ? in : "connection failed", in ? len : SIZE_MAX);
		if (in && (strncmp(in, "connect SSL", 11) == 0 || strncmp(in, "server's cert", 13) == 0)) {
			pthread_mutex_lock(&ws->lock);
			ws->tls_failure = 1;
			pthread_mutex_unlock(&ws->lock);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!ws->ops->receive)
			return 0;
		return ws->ops->receive(ws, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		pthread_mutex_lock(&ws->lock);
		if (ws->ping_sent_ms) {
			ws->pong_rtt_ms = kube_now_ms() - ws->ping_sent_ms;
			ws->ping_sent_ms = 0;
		}
		pthread_cond_broadcast(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
		if (ws->ops->pong)
			ws->ops->pong(ws);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return writable(ws, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
		const unsigned char *payload = in;
		unsigned code = len >= 2 ? (unsigned)payload[0] << 8 | payload[1] : 0;
		kube_log(KUBE_LOG_REQUEST, "stream: the server closed the WebSocket (%u%s%.*s)", code,
		         len > 2 ? ": " : "", len > 2 ? (int)(len - 2) : 0, len > 2 ? (const char *)payload + 2 : "");
		return 0;
	}
	/* local descriptors: only the current one (a listener gives way to the
	 * connection it accepted) reaches the stream */
	case LWS_CALLBACK_RAW_RX_FILE:
		return wsi == ws->file_wsi && ws->ops->file_readable ? ws->ops->file_readable(ws) : 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return wsi == ws->file_wsi && ws->ops->file_writable ? ws->ops->file_writable(ws) : 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == ws->file_wsi && ws->ops->file_closed)
			ws->ops->file_closed(ws);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (!tag->is_file && ws->conn->wsi_alive) {
			connection_gone(ws);
		} else if (tag->is_file) {
			ws->conn->file_live--;
			if (wsi == ws->file_wsi)
				ws->file_wsi = NULL;
		}
		/* the last wsi may go while lws is about to poll: wake it, so
		 * that the loop lets go of the connection now */
		if (!ws->conn->wsi_alive && !ws->conn->file_live)
			lws_cancel_service(lws_get_context(wsi));
		return 0;
	default:
		return 0;
	}
}

/* ----- helpers for the streams' hooks (loop thread) ----- */

void kube_ws_notify(struct kube_ws *ws)
{
	pthread_mutex_lock(&ws->lock);
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

int kube_ws_adopt_file(struct kube_ws *ws, int fd)
{
	lws_adopt_desc_t adopt;
	memset(&adopt, 0, sizeof(adopt));
	adopt.vh = ws->conn->vhost;
	adopt.type = LWS_ADOPT_RAW_FILE_DESC;
	adopt.fd.filefd = fd;
	adopt.vh_prot_name = PROTOCOL_NAME;
	adopt.opaque = &ws->conn->file_tag;
	ws->conn->file_live++;
	struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&adopt);
	if (!wsi) {
		ws->conn->file_live--;
		return -1;
	}
	ws->file_wsi = wsi;
	return 0;
}

void kube_ws_kill_file(struct kube_ws *ws)
{
	if (ws->file_wsi)
		lws_set_timeout(ws->file_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void kube_ws_want_write(struct kube_ws *ws)
{
	if (ws->wsi)
		lws_callback_on_writable(ws->wsi);
}

void kube_ws_want_file_write(struct kube_ws *ws)
{
	if (ws->file_wsi)
		lws_callback_on_writable(ws->file_wsi);
}

void kube_ws_rx_flow(struct kube_ws *ws, int enable)
{
	if (ws->wsi)
		lws_rx_flow_control(ws->wsi, enable);
}

void kube_ws_file_rx_flow(struct kube_ws *ws, int enable)
{
	if (ws->file_wsi)
		lws_rx_flow_control(ws->file_wsi, enable);
}

int kube_ws_send(struct kube_ws *ws, unsigned char *buf, size_t len)
{
	if (!ws->wsi)
		return -1;
	int sent = lws_write(ws->wsi, buf + LWS_PRE, len, LWS_WRITE_BINARY);
	return sent < 0 || (size_t)sent < len ? -1 : 0;
}

int kube_ws_send_close(struct kube_ws *ws)
{
	if (ws->wsi)
		lws_close_reason(ws->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
	return -1;
}
