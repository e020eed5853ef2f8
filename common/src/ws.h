/* The WebSocket client under exec and port-forward: libwebsockets driven by
 * one background thread (the stream loop), connections prepared from a
 * kube_client (TLS, credentials, impersonation), and the framing of the
 * *.channel.k8s.io subprotocols. Not installed. */
#ifndef KUBE_WS_H
#define KUBE_WS_H

#include <pthread.h>
#include <stddef.h>

#include <kube/buf.h>
#include <kube/client.h>
#include <kube/stream.h>

/* Channel numbers of the remotecommand protocol (exec). */
enum kube_ws_channel {
	KUBE_WS_STDIN = 0,
	KUBE_WS_STDOUT = 1,
	KUBE_WS_STDERR = 2,
	KUBE_WS_STATUS = 3,
	KUBE_WS_RESIZE = 4,
	KUBE_WS_CLOSE = 255 /* v5: [255, channel] half-closes a channel */
};

#define KUBE_WS_V5 "v5.channel.k8s.io"
#define KUBE_WS_V4 "v4.channel.k8s.io"

/* ----- channel framing (pure functions: unit tests and the fuzzer) ----- */

/* Reassembles channel data from WebSocket message fragments: the first
 * byte of every message names its channel. With port_prefix set (port-
 * forward), the first two bytes each of channels 0 and 1 carry the port,
 * little-endian; they are consumed and kept in port[]. */
struct kube_ws_demux {
	int v5;          /* 255 opens a close signal, not a channel */
	int port_prefix; /* port-forward */
	int channel;     /* of the message in progress; -1 between messages */
	int in_message;
	size_t prefix_seen[2];
	unsigned port[2];
};

/* Receives one piece of a channel's data (len may be 0 for an empty
 * message). A non-zero return stops kube_ws_demux_feed and is returned. */
typedef int (*kube_ws_channel_fn)(void *user, int channel, const unsigned char *data, size_t len);

void kube_ws_demux_init(struct kube_ws_demux *demux, int v5, int port_prefix);

/* Feeds one fragment (first/final: its place in the message). Errors:
 * KUBE_EPROTOCOL (a fragment out of order, an empty message where a channel
 * byte belongs, a malformed close signal), or fn's return. */
int kube_ws_demux_feed(struct kube_ws_demux *demux, const unsigned char *data, size_t len, int first, int final,
                       kube_ws_channel_fn fn, void *user);

/* 1 once both port frames of a port-forward arrived. */
int kube_ws_demux_ports_seen(const struct kube_ws_demux *demux);

/* Writes [channel] + data to dst (cap bytes); returns the frame's length,
 * or 0 when it does not fit or channel is not a byte. */
size_t kube_ws_frame(unsigned char *dst, size_t cap, int channel, const void *data, size_t len);

/* ----- exec helpers (ws_exec.c) ----- */

/* Builds /api/v1/namespaces/NS/pods/POD/exec?command=...&container=...
 * &stdin=true&stdout=true&stderr=true (segments and values escaped).
 * Errors: KUBE_EINVALID (no command), KUBE_ENOMEM. */
int kube_exec_path(kube_buf *out, const char *ns, const char *pod, const kube_exec_options *opts);

/* Interprets the status channel's metav1.Status: Success gives 0;
 * Failure with reason NonZeroExitCode gives its ExitCode cause (0-255);
 * any other Failure gives "exit status N" found in its message, else -1.
 * *out_reason and *out_message (owned, may be NULL) keep the Status's
 * reason and message for anything but Success. Errors: KUBE_EPROTOCOL
 * (not a Status, or a status other than Success/Failure), KUBE_ENOMEM. */
int kube_exec_status_parse(const char *json, size_t len, int *out_exit_code, char **out_reason, char **out_message);

/* ----- connections ----- */

struct kube_ws;

/* What a stream does with its connection; every hook runs on the loop
 * thread and may be NULL. A non-zero return closes the connection. */
struct kube_ws_ops {
	int (*established)(struct kube_ws *ws);
	int (*receive)(struct kube_ws *ws, const unsigned char *data, size_t len, int first, int final);
	int (*writable)(struct kube_ws *ws);
	void (*pong)(struct kube_ws *ws);
	int (*file_readable)(struct kube_ws *ws);
	int (*file_writable)(struct kube_ws *ws);
	void (*file_closed)(struct kube_ws *ws);
	void (*closed)(struct kube_ws *ws); /* the WebSocket is gone (established or not) */
};

enum kube_ws_phase { KUBE_WS_IDLE, KUBE_WS_CONNECTING, KUBE_WS_OPEN, KUBE_WS_CLOSED, KUBE_WS_DONE };

/* What libwebsockets keeps as each wsi's opaque data: the connection, and
 * whether the wsi is the WebSocket or an adopted local descriptor. */
struct kube_ws_wsi_tag {
	struct kube_ws *ws;
	int is_file;
};

struct ssl_ctx_st;
struct lws_vhost;

/* A connection's parameters (ws_conn.c prepares them) and the loop's
 * bookkeeping (ws.c). */
struct kube_ws_conn {
	struct kube_ws_wsi_tag client_tag;
	struct kube_ws_wsi_tag file_tag;
	char *address; /* what to connect to (no brackets) */
	int port;
	char *host;      /* Host header; its name part is what TLS verifies (tls-server-name when set) */
	char *path;      /* server prefix + path */
	char *protocols; /* Sec-WebSocket-Protocol offer */
	char *url;       /* for log lines */
	int tls;
	int ssl_flags; /* LCCSCF_* */
	int insecure;
	struct ssl_ctx_st *ssl_ctx;
	kube_buf headers; /* "Name: value\r\n" lines; holds credentials, wiped on dispose */
	struct lws_vhost *vhost;
	char vhost_name[32];
	int wsi_alive;
	int file_live; /* adopted local descriptors not yet destroyed */
	int started;
};

struct kube_ws {
	/* Set by the stream before kube_ws_start. */
	const struct kube_ws_ops *ops;
	void *user;
	int local_fd; /* -1, or the library's end of a socketpair: adopted by the loop, which then owns it */

	/* Shared with the caller's thread: read and written under lock; the
	 * loop broadcasts cond after every change a caller may wait for. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int phase;              /* enum kube_ws_phase; DONE: the loop will never touch this struct again */
	long http_status;       /* the upgrade's status (101 on success), 0 before */
	long retry_after_s;     /* a refused upgrade's Retry-After in seconds, -1 without */
	char protocol[64];      /* negotiated subprotocol */
	char failure[256];      /* why the connection failed or ended, when it did */
	int tls_failure;        /* the failure was the TLS handshake or verification */
	long long started_ms;   /* kube_ws_start */
	long long upgraded_ms;  /* from the start to the WebSocket being up */
	int established;        /* the WebSocket came up */
	long long ping_sent_ms; /* 0 = none outstanding */
	long long pong_rtt_ms;  /* last ping's round trip, -1 before */
	int close_requested;    /* the caller asked for a close */
	int ping_requested;     /* the caller asked for a ping */

	/* Loop thread only. */
	struct kube_ws_conn *conn;
	void *wsi;      /* struct lws * of the WebSocket */
	void *file_wsi; /* struct lws * of the adopted local_fd */
	int queued;     /* on the loop's command list */
	struct kube_ws *next_queued;
	struct kube_ws *next_active;
};

/* Prepares ws for a WebSocket to path (absolute, with its query) on
 * client's server, offering protocols ("a, b"): URL, TLS context (CA, client
 * certificate from the kubeconfig or an exec plugin, tls-server-name,
 * insecure), Authorization, Impersonate-* and User-Agent headers. On
 * failure ws needs no dispose. Errors: KUBE_ECONFIG (proxy-url set, bad
 * CA/certificate/key, a server URL streams cannot use), KUBE_EAUTH,
 * KUBE_ENOMEM. */
int kube_ws_prepare(struct kube_ws *ws, kube_client *client, const char *path, const char *protocols);

/* Hands ws to the stream loop (starting it when needed), which connects. */
int kube_ws_start(struct kube_ws *ws);

/* Waits until done(ws) (called with ws->lock held) is true or deadline_ms
 * (monotonic, 0 = none) passes. Returns 0 or KUBE_ETIMEOUT. */
int kube_ws_wait(struct kube_ws *ws, long long deadline_ms, int (*done)(const struct kube_ws *ws));

/* Predicates for kube_ws_wait. */
int kube_ws_is_done(const struct kube_ws *ws);

/* Asks the loop to close ws (a close frame when it is open) and waits
 * until the loop let go of it (phase DONE). */
void kube_ws_close(struct kube_ws *ws);

/* Asks the loop to send a ping on ws; the pong sets pong_rtt_ms. */
void kube_ws_ping(struct kube_ws *ws);

/* Releases what kube_ws_prepare made; ws must be DONE or never started. */
void kube_ws_dispose(struct kube_ws *ws);

/* Frees the parameters kube_ws_prepare made (wiping the credentials). */
void kube_ws_conn_free(struct kube_ws_conn *conn);

/* Logs the upgrade request's headers at -v7, credentials masked. */
void kube_ws_log_headers(const struct kube_ws_conn *conn);

/* The error for a connection that failed before or during the upgrade,
 * keeping the API server's Status: libwebsockets drops the body of a
 * refused upgrade, so the Status is fetched with a plain GET of the same
 * path, which the API server answers with the same authorization and
 * not-found decision without running anything (these subresources refuse
 * a request that is not an upgrade), once: retrying a 429 or 5xx is the
 * connect loop's (kube_ws_retry_due). what names the operation for the
 * message. Returns the code. */
int kube_ws_failure_error(struct kube_ws *ws, kube_client *client, const char *path, const char *what);

/* ----- retrying a refused upgrade ----- */

/* Retries of an upgrade refused with 429 or 5xx when the caller does not
 * say: the client's max_retries, at most this many. */
#define KUBE_WS_MAX_RETRIES        3
/* Longest wait a Retry-After obtains before the upgrade is retried. */
#define KUBE_WS_RETRY_AFTER_CAP_MS 5000L

/* The connect loop of one stream (kube_pod_exec, kube_portforward_open)
 * across its attempts. Before the 101 nothing has reached the stream, so
 * an attempt the API server refused can be made again: with fresh
 * credentials once after a 401, and after a 429 or 5xx as the request loop
 * retries them (client.c). Never after the 101. */
struct kube_ws_retry {
	int max_retries;     /* for 429 and 5xx */
	int retries;         /* made so far for 429 and 5xx */
	int reauthenticated; /* a 401 refreshed the credentials */
	long delay_ms;       /* before the next attempt, once kube_ws_retry_due said 1 */
	long status;         /* the refusal that asked for it */
};

/* Starts a connect loop: max_retries >= 0 is the caller's budget for 429
 * and 5xx, -1 the client's max_retries capped at KUBE_WS_MAX_RETRIES. */
void kube_ws_retry_init(struct kube_ws_retry *retry, const kube_client *client, int max_retries);

/* The wait before retrying an upgrade answered status, the attempt-th
 * retry (0 first): Retry-After (retry_after_s >= 0) up to
 * KUBE_WS_RETRY_AFTER_CAP_MS, else the request loop's backoff with jitter
 * (100 ms doubling to 5 s, each between half and all of it); -1 when status
 * is not worth a retry (anything but 429 and 5xx). */
long kube_ws_retry_delay_ms(long status, long retry_after_s, int attempt);

/* Called once ws ended without its WebSocket coming up (phase DONE, not
 * timed out). Returns 1 when the attempt is to be made again, after
 * retry->delay_ms: a 401 whose credentials could be refreshed, the first
 * time; a 429 or 5xx while retries are left and the wait ends before
 * deadline_ms (monotonic, 0 = none). It then logs the decision at -v4
 * (what names the operation; path is logged without its query, which
 * carries an exec's command), and the caller skips the refusal's Status,
 * sleeps (kube_sleep_ms) and connects again. Returns 0 when the refusal,
 * or whatever else ended ws, stands: the caller reports it as before
 * (kube_ws_failure_error). */
int kube_ws_retry_due(struct kube_ws_retry *retry, kube_client *client, struct kube_ws *ws, const char *what,
                      const char *path, long long deadline_ms);

/* Loop-thread helpers for the hooks. */
/* Adopts fd as the connection's local descriptor (the file hooks follow
 * it); libwebsockets owns and closes fd, also on failure. Returns 0 or -1. */
int kube_ws_adopt_file(struct kube_ws *ws, int fd);
/* Closes the current local descriptor. */
void kube_ws_kill_file(struct kube_ws *ws);
void kube_ws_notify(struct kube_ws *ws); /* broadcast cond (takes the lock) */
void kube_ws_want_write(struct kube_ws *ws);
void kube_ws_want_file_write(struct kube_ws *ws);
void kube_ws_rx_flow(struct kube_ws *ws, int enable);
void kube_ws_file_rx_flow(struct kube_ws *ws, int enable);
/* Sends buf[KUBE_WS_PRE ...] (len bytes) as one binary message; only from
 * the writable hook. Returns 0 or -1. */
int kube_ws_send(struct kube_ws *ws, unsigned char *buf, size_t len);
/* Starts a normal close from the writable hook; return its result. */
int kube_ws_send_close(struct kube_ws *ws);

/* Headroom libwebsockets needs in front of data handed to kube_ws_send
 * (LWS_PRE, checked in ws.c). */
#define KUBE_WS_PRE 16

#endif
