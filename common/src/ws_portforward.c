/* Port-forward over WebSocket: GET .../pods/POD/portforward?ports=N
 * upgraded to v4.channel.k8s.io (the kubelet's own WebSocket port-forward,
 * which the API server passes through), one WebSocket per TCP connection,
 * handed to the caller as one end of a socketpair whose other end the
 * stream loop pumps (or, for clients that must connect themselves, the
 * connection a one-shot abstract AF_UNIX listener accepted): channel 0
 * carries the data, channel 1 the kubelet's error text, and each channel's
 * first two bytes are the port. */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "internal.h"
#include "ws.h"

#define PF_CHUNK        16384
#define PF_MAX_BUFFERED (4UL * 1024 * 1024) /* from the pod, waiting for the caller to read */
#define PF_MAX_ERROR    (64UL * 1024)
#define PF_DEFAULT_OPEN 30000L

struct kube_portforward {
	struct kube_ws ws;
	int caller_fd; /* the caller's end of the socketpair, or -1 */
	int local_fd;  /* the loop's end, or the listener (owned by libwebsockets once adopted) */
	int port;
	char *path;
	char socket_name[64]; /* listen mode: the abstract name, without its NUL */

	/* loop thread only */
	struct kube_ws_demux demux;
	kube_buf to_local; /* from the pod, not yet written to the socketpair */
	size_t to_local_off;
	size_t tx_len; /* a frame waiting in tx for the WebSocket to be writable */
	int local_open;
	int listening; /* local_fd is the listener; nothing connected yet */
	int local_eof;
	int rx_paused;
	int remote_gone;

	/* shared: under ws.lock */
	int ports_seen;
	long long setup_ms;
	kube_buf error_text;
	char protocol_error[256];

	unsigned char tx[KUBE_WS_PRE + 1 + PF_CHUNK];
};

static void protocol_failure(struct kube_portforward *pf, const char *text)
{
	pthread_mutex_lock(&pf->ws.lock);
	if (!pf->protocol_error[0])
		(void)snprintf(pf->protocol_error, sizeof(pf->protocol_error), "%s", text);
	pthread_cond_broadcast(&pf->ws.cond);
	pthread_mutex_unlock(&pf->ws.lock);
}

/* Writes what the pod sent to the socketpair; keeps what does not fit and
 * stops reading the WebSocket until the caller catches up. */
static int flush_to_local(struct kube_portforward *pf)
{
	if (pf->listening) {
		/* nobody to give it to yet: hold it, and hold the pod back */
		if (!pf->rx_paused) {
			pf->rx_paused = 1;
			kube_ws_rx_flow(&pf->ws, 0);
		}
		return 0;
	}
	while (pf->to_local_off < pf->to_local.len) {
		ssize_t n = send(pf->local_fd, pf->to_local.ptr + pf->to_local_off, pf->to_local.len - pf->to_local_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			kube_ws_want_file_write(&pf->ws);
			if (!pf->rx_paused) {
				pf->rx_paused = 1;
				kube_ws_rx_flow(&pf->ws, 0);
			}
			return 0;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1; /* the caller closed its end */
		pf->to_local_off += (size_t)n;
	}
	kube_buf_clear(&pf->to_local);
	pf->to_local_off = 0;
	if (pf->rx_paused) {
		pf->rx_paused = 0;
		kube_ws_rx_flow(&pf->ws, 1);
	}
	return 0;
}

static int on_channel(void *user, int channel, const unsigned char *data, size_t len)
{
	struct kube_portforward *pf = user;
	if (channel == 0 && len) {
		if (!pf->local_open)
			return 0; /* the caller is gone; the close is under way */
		if (kube_buf_put(&pf->to_local, data, len) != 0)
			return kube_error_set(KUBE_EPROTOCOL,
			                      "port-forward: more than %lu bytes buffered for the caller",
			                      PF_MAX_BUFFERED);
		return flush_to_local(pf) ? KUBE_ENETWORK : 0;
	}
	if (channel == 1 && len) {
		pthread_mutex_lock(&pf->ws.lock);
		if (pf->error_text.len + len > PF_MAX_ERROR)
			len = PF_MAX_ERROR - pf->error_text.len;
		(void)kube_buf_put(&pf->error_text, data, len);
		pthread_cond_broadcast(&pf->ws.cond);
		pthread_mutex_unlock(&pf->ws.lock);
	}
	return 0;
}

static int pf_established(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	kube_ws_demux_init(&pf->demux, 0, 1);
	kube_ws_file_rx_flow(ws, 1);
	return 0;
}

static int pf_receive(struct kube_ws *ws, const unsigned char *data, size_t len, int first, int final)
{
	struct kube_portforward *pf = ws->user;
	int was_seen = kube_ws_demux_ports_seen(&pf->demux);
	if (kube_ws_demux_feed(&pf->demux, data, len, first, final, on_channel, pf) != 0) {
		protocol_failure(pf, kube_error_last()->message);
		return -1;
	}
	if (!was_seen && kube_ws_demux_ports_seen(&pf->demux)) {
		if (pf->demux.port[0] != (unsigned)pf->port || pf->demux.port[1] != (unsigned)pf->port) {
			char text[128];
			(void)snprintf(text, sizeof(text), "port-forward: the kubelet answered for port %u/%u, not %d",
			               pf->demux.port[0], pf->demux.port[1], pf->port);
			protocol_failure(pf, text);
			return -1;
		}
		pthread_mutex_lock(&ws->lock);
		pf->ports_seen = 1;
		pf->setup_ms = kube_now_ms() - ws->started_ms;
		pthread_cond_broadcast(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
	}
	return 0;
}

static int pf_writable(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	if (!pf->tx_len)
		return 0;
	size_t len = pf->tx_len;
	pf->tx_len = 0;
	if (kube_ws_send(ws, pf->tx, len) != 0)
		return -1;
	if (!pf->local_eof)
		kube_ws_file_rx_flow(ws, 1);
	return 0;
}

/* Listen mode: takes the first connection from this process as the local
 * end; the listener closes. */
static int accept_local(struct kube_portforward *pf)
{
	int fd = accept(pf->local_fd, NULL, NULL);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ? 0 : -1;
	struct ucred peer;
	socklen_t len = sizeof(peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.pid != getpid()) {
		kube_log(KUBE_LOG_DECISION, "port-forward: refused a connection to %s from another process",
		         pf->socket_name);
		close(fd);
		return 0;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	if (kube_ws_adopt_file(&pf->ws, fd) != 0)
		return -1; /* libwebsockets closed fd; the listener's close ends the tunnel */
	pf->local_fd = fd;
	pf->listening = 0;
	kube_ws_want_file_write(&pf->ws); /* whatever the pod sent meanwhile, or the close */
	return -1;                        /* closes the listener */
}

static int pf_file_readable(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	if (pf->listening)
		return accept_local(pf);
	if (pf->tx_len || ws->phase != KUBE_WS_OPEN) {
		kube_ws_file_rx_flow(ws, 0); /* resumed once the WebSocket takes more */
		return 0;
	}
	ssize_t n = recv(pf->local_fd, pf->tx + KUBE_WS_PRE + 1, PF_CHUNK, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	kube_ws_file_rx_flow(ws, 0);
	if (n == 0) {
		/* the caller shut down writing: v4 cannot pass a half-close on, so
		 * the connection stays until either side closes it */
		pf->local_eof = 1;
		return 0;
	}
	pf->tx[KUBE_WS_PRE] = 0; /* the data channel */
	pf->tx_len = (size_t)n + 1;
	kube_ws_want_write(ws);
	return 0;
}

static int pf_file_writable(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	if (flush_to_local(pf) != 0)
		return -1;
	/* the pod's side ended and everything reached the socketpair: closing
	 * our end gives the caller EOF after the data */
	return pf->remote_gone && !pf->to_local.len ? -1 : 0;
}

static void pf_file_closed(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	pf->local_open = 0;
	if (ws->wsi) {
		pthread_mutex_lock(&ws->lock);
		ws->close_requested = 1;
		pthread_mutex_unlock(&ws->lock);
		kube_ws_want_write(ws);
	}
}

static void pf_closed(struct kube_ws *ws)
{
	struct kube_portforward *pf = ws->user;
	pf->remote_gone = 1;
	if (pf->listening)
		kube_ws_kill_file(ws); /* nobody connected: stop listening */
	else if (pf->local_open)
		kube_ws_want_file_write(ws); /* flush, then close our end */
}

static const struct kube_ws_ops pf_ops = {
        pf_established, pf_receive, pf_writable, NULL, pf_file_readable, pf_file_writable, pf_file_closed, pf_closed,
};

/* ----- the caller's side ----- */

static int ports_or_done(const struct kube_ws *ws)
{
	const struct kube_portforward *pf = ws->user;
	return pf->ports_seen || pf->protocol_error[0] || ws->phase == KUBE_WS_DONE;
}

static int failure_or_end(const struct kube_ws *ws)
{
	const struct kube_portforward *pf = ws->user;
	return pf->error_text.len || pf->protocol_error[0] || ws->phase >= KUBE_WS_CLOSED;
}

static int pong_or_end(const struct kube_ws *ws)
{
	return ws->pong_rtt_ms >= 0 || ws->phase >= KUBE_WS_CLOSED;
}

/* The kubelet's error text as the last error (called with ws.lock held). */
static int forward_error(const struct kube_portforward *pf)
{
	if (pf->protocol_error[0])
		return kube_error_set(KUBE_EPROTOCOL, "port-forward: GET %s: %s", pf->path, pf->protocol_error);
	return kube_error_set(KUBE_ENETWORK, "port-forward: %.*s", (int)pf->error_text.len,
	                      kube_buf_cstr(&pf->error_text));
}

/* A listener in the abstract namespace: no file, gone with the socket. */
static int make_listener(struct kube_portforward *pf)
{
	static unsigned long sequence;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	int len = snprintf(pf->socket_name, sizeof(pf->socket_name), "rollguard-portforward-%ld-%lu-%09ld",
	                   (long)getpid(), __atomic_add_fetch(&sequence, 1, __ATOMIC_RELAXED), now.tv_nsec);
	memcpy(addr.sun_path + 1, pf->socket_name, (size_t)len);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return kube_error_set(KUBE_ERROR, "port-forward: socket: %s", strerror(errno));
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
	if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, 4) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		int err = errno;
		close(fd);
		return kube_error_set(KUBE_ERROR, "port-forward: listen on @%s: %s", pf->socket_name, strerror(err));
	}
	pf->local_fd = fd;
	pf->listening = 1;
	return 0;
}

/* Why a tunnel is closed: the kubelet's error when it sent one (called
 * with ws.lock held). */
static int closed_error(const struct kube_portforward *pf)
{
	if (pf->protocol_error[0] || pf->error_text.len)
		return forward_error(pf);
	return kube_error_set(KUBE_ENETWORK, "port-forward: GET %s: the tunnel is closed", pf->path);
}

static int make_socketpair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return kube_error_set(KUBE_ERROR, "port-forward: socketpair: %s", strerror(errno));
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
		int err = errno;
		close(fds[0]);
		close(fds[1]);
		return kube_error_set(KUBE_ERROR, "port-forward: fcntl: %s", strerror(err));
	}
	return 0;
}

static int build_path(struct kube_portforward *pf, const char *ns, const char *pod)
{
	kube_buf path = KUBE_BUF_INIT;
	int rc = kube_buf_puts(&path, "/api/v1/namespaces/");
	if (!rc)
		rc = kube_buf_put_urlescaped(&path, ns);
	if (!rc)
		rc = kube_buf_puts(&path, "/pods/");
	if (!rc)
		rc = kube_buf_put_urlescaped(&path, pod);
	if (!rc)
		rc = kube_buf_printf(&path, "/portforward?ports=%d", pf->port);
	if (rc) {
		kube_buf_dispose(&path);
		return rc;
	}
	pf->path = kube_buf_detach(&path);
	return 0;
}

static void release(struct kube_portforward *pf, int started)
{
	if (started)
		kube_ws_close(&pf->ws);
	kube_ws_dispose(&pf->ws);
	if (pf->caller_fd >= 0)
		close(pf->caller_fd);
	kube_buf_dispose(&pf->to_local);
	kube_buf_dispose(&pf->error_text);
	kube_free(pf->path);
	kube_free(pf);
}

/* One attempt. When the API server refused its upgrade and the attempt is
 * to be made again (kube_ws_retry_due), returns KUBE_ENETWORK with
 * retry->delay_ms >= 0 and without asking for the refusal's Status. */
static int open_once(kube_client *client, struct kube_portforward **out, const char *ns, const char *pod, int port,
                     int listen_mode, long long deadline, long timeout_ms, struct kube_ws_retry *retry)
{
	int fds[2];
	struct kube_portforward *pf = kube_calloc(1, sizeof(*pf));
	if (!pf)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	pf->caller_fd = pf->local_fd = -1;
	pf->port = port;
	pf->to_local.limit = PF_MAX_BUFFERED;
	int rc = build_path(pf, ns, pod);
	if (!rc)
		rc = kube_ws_prepare(&pf->ws, client, pf->path, KUBE_WS_V4);
	if (!rc && listen_mode) {
		rc = make_listener(pf);
	} else if (!rc && (rc = make_socketpair(fds)) == 0) {
		pf->caller_fd = fds[0];
		pf->local_fd = fds[1];
	}
	if (!rc) {
		pf->ws.local_fd = pf->local_fd;
		pf->local_open = 1;
		pf->ws.ops = &pf_ops;
		pf->ws.user = pf;
		rc = kube_ws_start(&pf->ws);
	}
	if (rc) {
		release(pf, 0);
		return rc;
	}
	int timed_out = kube_ws_wait(&pf->ws, deadline, ports_or_done) == KUBE_ETIMEOUT;
	pthread_mutex_lock(&pf->ws.lock);
	int ready = pf->ports_seen && !pf->protocol_error[0];
	long status = pf->ws.http_status;
	if (!ready && (pf->protocol_error[0] || pf->error_text.len))
		rc = forward_error(pf);
	pthread_mutex_unlock(&pf->ws.lock);
	if (ready) {
		kube_log(KUBE_LOG_DECISION, "port-forward: %s/%s:%d open in %lld ms (upgrade %lld ms)", ns, pod, port,
		         pf->setup_ms, pf->ws.upgraded_ms);
		*out = pf;
		return 0;
	}
	kube_ws_close(&pf->ws);
	if (!rc && timed_out)
		rc = kube_error_set(KUBE_ETIMEOUT, "port-forward: GET %s: the tunnel was not up within %ld ms",
		                    pf->path, timeout_ms);
	if (!rc && kube_ws_retry_due(retry, client, &pf->ws, "port-forward", pf->path, deadline))
		rc = kube_error_set(KUBE_ENETWORK, "port-forward: GET %s: HTTP %ld before the upgrade", pf->path,
		                    status);
	if (!rc)
		rc = kube_ws_failure_error(&pf->ws, client, pf->path, "port-forward");
	release(pf, 0);
	return rc;
}

int kube_portforward_open(kube_client *client, kube_portforward **out, const char *ns, const char *pod, int port,
                          const kube_portforward_options *opts)
{
	kube_portforward_options defaults = KUBE_PORTFORWARD_OPTIONS_INIT;
	assert(client && out && ns && pod);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (port < 1 || port > 65535)
		return kube_error_set(KUBE_EINVALID, "port-forward: port %d is not between 1 and 65535", port);
	long timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : PF_DEFAULT_OPEN;
	long long deadline = kube_now_ms() + timeout_ms;
	struct kube_ws_retry retry;
	kube_ws_retry_init(&retry, client, -1);
	for (;;) {
		retry.delay_ms = -1;
		int rc = open_once(client, out, ns, pod, port, opts->listen, deadline, timeout_ms, &retry);
		/* refused before the 101 (a 401, a 429 or 5xx): nothing was forwarded */
		if (!rc || retry.delay_ms < 0)
			return rc;
		kube_sleep_ms(retry.delay_ms);
	}
}

int kube_portforward_fd(const kube_portforward *pf)
{
	return pf->caller_fd;
}

const char *kube_portforward_socket_name(const kube_portforward *pf)
{
	return pf->socket_name[0] ? pf->socket_name : NULL;
}

long long kube_portforward_upgrade_ms(const kube_portforward *pf)
{
	return pf->ws.upgraded_ms;
}

long long kube_portforward_setup_ms(const kube_portforward *pf)
{
	return pf->setup_ms;
}

int kube_portforward_ping(kube_portforward *pf, long long *out_ms, long timeout_ms)
{
	*out_ms = -1;
	pthread_mutex_lock(&pf->ws.lock);
	int closed = pf->ws.phase >= KUBE_WS_CLOSED;
	pf->ws.pong_rtt_ms = -1;
	pf->ws.ping_sent_ms = 0; /* a ping whose pong never came does not block this one */
	int rc = closed ? closed_error(pf) : 0;
	pthread_mutex_unlock(&pf->ws.lock);
	if (rc)
		return rc;
	kube_ws_ping(&pf->ws);
	long long deadline = kube_now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	if (kube_ws_wait(&pf->ws, deadline, pong_or_end) == KUBE_ETIMEOUT)
		return kube_error_set(KUBE_ETIMEOUT, "port-forward: GET %s: no pong within %ld ms", pf->path,
		                      timeout_ms > 0 ? timeout_ms : 5000);
	pthread_mutex_lock(&pf->ws.lock);
	*out_ms = pf->ws.pong_rtt_ms;
	rc = *out_ms < 0 ? closed_error(pf) : 0;
	pthread_mutex_unlock(&pf->ws.lock);
	return rc;
}

int kube_portforward_check(kube_portforward *pf, long wait_ms)
{
	(void)kube_ws_wait(&pf->ws, kube_now_ms() + (wait_ms > 0 ? wait_ms : 0), failure_or_end);
	int rc = 0;
	pthread_mutex_lock(&pf->ws.lock);
	if (pf->protocol_error[0] || pf->error_text.len)
		rc = forward_error(pf);
	pthread_mutex_unlock(&pf->ws.lock);
	return rc;
}

void kube_portforward_free(kube_portforward *pf)
{
	if (pf)
		release(pf, 1);
}
