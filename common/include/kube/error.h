/* The libkube error model: negative codes a caller branches on, plus a
 * thread-local record of the last failure (message, HTTP status and the
 * API server's Status reason/message). */
#ifndef KUBE_ERROR_H
#define KUBE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum kube_error_code {
	KUBE_OK = 0,
	KUBE_ERROR = -1,      /* generic failure */
	KUBE_ENOMEM = -2,     /* allocation failed */
	KUBE_ECONFIG = -3,    /* kubeconfig or flags are invalid */
	KUBE_EAUTH = -4,      /* credentials missing, rejected or unobtainable */
	KUBE_EFORBIDDEN = -5, /* authenticated but not allowed (HTTP 403) */
	KUBE_ENOTFOUND = -6,  /* object or resource type not found (HTTP 404) */
	KUBE_ECONFLICT = -7,  /* resourceVersion conflict or already exists (409) */
	KUBE_EINVALID = -8,   /* the server or a parser rejected the input (400/422) */
	KUBE_EGONE = -9,      /* resourceVersion too old (HTTP 410) */
	KUBE_ETIMEOUT = -10,  /* deadline or request timeout reached */
	KUBE_ENETWORK = -11,  /* connection refused, reset, DNS, 5xx after retries */
	KUBE_ETLS = -12,      /* TLS handshake or certificate verification failed */
	KUBE_EPROTOCOL = -13  /* the server answered something we cannot parse */
};

/* The last error on this thread. Strings are owned by the library and stay
 * valid until the next failing call on the same thread. */
typedef struct kube_error {
	int code;                   /* one of enum kube_error_code */
	const char *message;        /* one line, never NULL ("" when unset) */
	long http_status;           /* 0 when no HTTP response was received */
	const char *reason;         /* Status.reason from the API server, or "" */
	const char *server_message; /* Status.message from the API server, or "" */
} kube_error;

/* Returns the last error recorded on this thread (never NULL). */
const kube_error *kube_error_last(void);

/* Clears the last error on this thread. */
void kube_error_clear(void);

/* A short constant name for a code, e.g. "KUBE_EFORBIDDEN". */
const char *kube_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif
