/* Streams through the API server over WebSocket: a command run in a
 * container (exec, v5.channel.k8s.io falling back to v4.channel.k8s.io) and
 * port-forward to a pod's port (v4.channel.k8s.io, one WebSocket per TCP
 * connection) handed to the caller as a connected socket. */
#ifndef KUBE_STREAM_H
#define KUBE_STREAM_H

#include <stddef.h>

#include <kube/buf.h>
#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----- exec ----- */

typedef struct kube_exec_options {
	const char *container;      /* NULL: the server picks (the pod's only or default container) */
	const char *const *command; /* argv, command_count entries (at least one); no shell unless you run one */
	size_t command_count;
	const void *stdin_data; /* sent, then stdin is closed (v5 only: v4 cannot close it); NULL = no stdin */
	size_t stdin_len;
	long timeout_ms;     /* the whole exec, connecting included; 0 = none */
	int v4_only;         /* offer only v4.channel.k8s.io (tests the fallback) */
	size_t output_limit; /* per stream; 0 = 1 MiB; output past it is dropped and *_truncated set */
	/* Retries of an upgrade refused with 429 or 5xx (see kube_pod_exec): -1
	 * = the client's max_retries, at most 3; 0 = none (a caller whose
	 * timeout_ms is too short to wait in, retrying on its own terms). */
	int max_retries;
} kube_exec_options;

#define KUBE_EXEC_OPTIONS_INIT                                                                                         \
	{                                                                                                              \
		NULL, NULL, 0, NULL, 0, 0, 0, 0, -1                                                                    \
	}

typedef struct kube_exec_result {
	/* 0 success; 1-255 the exit status the server reported; -1 the command
	 * failed without an exit status (status_reason/status_message say why). */
	int exit_code;
	kube_buf out; /* stdout */
	kube_buf err; /* stderr */
	int out_truncated;
	int err_truncated;
	char *status_reason;  /* the status channel's Status.reason when not Success (NonZeroExitCode, InternalError...)
	                       */
	char *status_message; /* its Status.message, or NULL */
	char *protocol;       /* the negotiated subprotocol, e.g. "v5.channel.k8s.io" */
	long long upgrade_ms; /* from the start to the 101 Switching Protocols */
	long long elapsed_ms; /* from the start to the status (or to the failure) */
} kube_exec_result;

#define KUBE_EXEC_RESULT_INIT                                                                                          \
	{                                                                                                              \
		0, KUBE_BUF_INIT, KUBE_BUF_INIT, 0, 0, NULL, NULL, NULL, 0, 0                                          \
	}

/* Runs a command in a container of pod ns/pod through the API server
 * (GET .../pods/POD/exec upgraded to a WebSocket) and waits for the status
 * channel. Returns 0 once the server reported how the command ended, with
 * out->exit_code telling how: a non-zero exit is a result, not an error.
 * The exit status comes from the Status's ExitCode cause; when the server
 * reports a failure without one (e.g. kwok's "... exit status 3" as an
 * InternalError), "exit status N" in the message is used, else -1.
 * Errors (the server's Status kept in kube_error_last()): KUBE_EFORBIDDEN
 * (no create on pods/exec), KUBE_ENOTFOUND (no such pod), KUBE_EINVALID
 * (e.g. no such container), KUBE_EAUTH, KUBE_ETLS, KUBE_ENETWORK (connect
 * failed, connection lost before the status), KUBE_ETIMEOUT (timeout_ms
 * passed; what arrived stays in *out), KUBE_EPROTOCOL (a malformed frame
 * or status), KUBE_ECONFIG (a proxy-url, which streams cannot use).
 * An upgrade the API server refused before the 101 (nothing ran) is tried
 * again: after a 401 once with refreshed credentials, after a 429 or 5xx
 * up to opts->max_retries times, waiting for its Retry-After (at most 5 s)
 * or else backing off as the request loop does (100 ms doubling, with
 * jitter), only while the wait ends within timeout_ms; the last refusal is
 * the error. Nothing is retried after the 101.
 * *out is always initialised; release it with kube_exec_result_dispose.
 * Thread-safe for different clients; one client is used by one thread. */
int kube_pod_exec(kube_client *client, kube_exec_result *out, const char *ns, const char *pod,
                  const kube_exec_options *opts);

void kube_exec_result_dispose(kube_exec_result *result);

/* ----- port-forward ----- */

typedef struct kube_portforward kube_portforward;

typedef struct kube_portforward_options {
	long timeout_ms; /* for the tunnel to come up; 0 = 30 s */
	/* How the caller reaches the tunnel. 0: a connected socketpair
	 * (kube_portforward_fd). 1: a one-shot listening socket in Linux's
	 * abstract AF_UNIX namespace (kube_portforward_socket_name) that
	 * accepts the first connection from this process, for clients that
	 * must connect themselves: libcurl 7.88 (Debian 12) calls connect() on
	 * a socket even when CURLOPT_SOCKOPTFUNCTION says it is connected
	 * (curl/curl#10626, fixed in 8.0.0), so with it use
	 * CURLOPT_ABSTRACT_UNIX_SOCKET instead. */
	int listen;
} kube_portforward_options;

#define KUBE_PORTFORWARD_OPTIONS_INIT                                                                                  \
	{                                                                                                              \
		0, 0                                                                                                   \
	}

/* Opens one WebSocket to pod ns/pod's port through the API server (GET
 * .../pods/POD/portforward?ports=PORT, v4.channel.k8s.io) and hands the
 * connection to the caller as a local stream socket (see opts->listen):
 * what the caller writes reaches the port, what the port sends can be
 * read, and EOF follows the pod's side closing. One tunnel carries one
 * TCP connection, as with kubectl. Returns once the kubelet sent the port
 * frames on both channels (its stream is up). The kubelet connects to the
 * pod's port as soon as its stream is up and reports only a failure, on
 * the error channel (see kube_portforward_check). Every tunnel is pumped
 * by the library's stream thread (started with the first stream, ended
 * with the last). opts may be NULL (defaults).
 * A refused upgrade is tried again as by kube_pod_exec (the client's
 * max_retries, at most 3, for 429 and 5xx), within opts->timeout_ms.
 * Errors: as kube_pod_exec (KUBE_EFORBIDDEN without create on
 * pods/portforward, KUBE_ENOTFOUND, KUBE_ETIMEOUT, ...), and KUBE_ENETWORK
 * with the kubelet's message when the forward failed before the port
 * frames. client is only used during the call. */
int kube_portforward_open(kube_client *client, kube_portforward **out, const char *ns, const char *pod, int port,
                          const kube_portforward_options *opts);

/* The caller's end of the socketpair (-1 with opts->listen): a connected
 * AF_UNIX stream socket, blocking, borrowed: it stays open until
 * kube_portforward_free. With libcurl 8 or later, return it from
 * CURLOPT_OPENSOCKETFUNCTION, return CURL_SOCKOPT_ALREADY_CONNECTED from
 * CURLOPT_SOCKOPTFUNCTION, and set a CURLOPT_CLOSESOCKETFUNCTION that does
 * not close it. */
int kube_portforward_fd(const kube_portforward *pf);

/* With opts->listen: the abstract AF_UNIX name to connect to, without its
 * leading NUL (for CURLOPT_ABSTRACT_UNIX_SOCKET); NULL otherwise.
 * Borrowed. Only a connection from this process is accepted. */
const char *kube_portforward_socket_name(const kube_portforward *pf);

/* Milliseconds from the start of kube_portforward_open to the 101
 * Switching Protocols (TCP, TLS and the upgrade through the API server to
 * the kubelet). */
long long kube_portforward_upgrade_ms(const kube_portforward *pf);

/* Milliseconds from the start of kube_portforward_open to the kubelet's
 * port frames: what setting up the tunnel cost. */
long long kube_portforward_setup_ms(const kube_portforward *pf);

/* Measures the tunnel's own round trip now: a WebSocket ping answered by
 * the far end of the stream (the kubelet, through the API server), in
 * *out_ms. This is what a probe through the tunnel pays on top of the
 * kubelet's own probe, so callers subtract it from measured latencies.
 * Errors: KUBE_ETIMEOUT (no pong within timeout_ms; 0 = 5 s),
 * KUBE_ENETWORK (the tunnel is closed). */
int kube_portforward_ping(kube_portforward *pf, long long *out_ms, long timeout_ms);

/* Waits up to wait_ms for the kubelet to report a failure of this
 * forward (the kubelet reports only failures: a connection that succeeds
 * sends nothing until the pod's side does). Returns 0 when none came (the
 * tunnel is up, or the pod's side closed it cleanly), or KUBE_ENETWORK with
 * the kubelet's message, e.g. "error forwarding port 8080 to pod ...:
 * connect: connection refused". Returns early when the tunnel ends. */
int kube_portforward_check(kube_portforward *pf, long wait_ms);

/* Closes the tunnel (a WebSocket close, then the socket) and frees it;
 * NULL is fine. */
void kube_portforward_free(kube_portforward *pf);

/* libcurl through a tunnel. libcurl before 8.0.0 connect()s even a socket
 * it is told is connected (curl/curl#10626): with it, open tunnels in
 * listen mode. Returns 1 when this process's libcurl needs that. */
int kube_portforward_curl_needs_listen(void);

/* Sends a libcurl easy handle's transfer (a CURL *, passed as void * so this
 * header needs no curl.h) through pf: to its abstract socket in listen
 * mode, else over its socketpair end as an already-connected socket that
 * the tunnel keeps owning. Set the URL's host to anything; the port is
 * ignored. */
void kube_portforward_curl_attach(kube_portforward *pf, void *easy);

#ifdef __cplusplus
}
#endif
#endif
