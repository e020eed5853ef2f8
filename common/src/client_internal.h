/* The kube_client structure and the HTTP plumbing shared by client.c,
 * watch.c and discovery.c. Not installed. */
#ifndef KUBE_CLIENT_INTERNAL_H
#define KUBE_CLIENT_INTERNAL_H

#include <curl/curl.h>

#include <kube/client.h>

#include "auth.h"
#include "clock.h"
#include "ratelimit.h"
#include "rest.h"

/* Responses larger than this are refused (a list page of 500 large objects
 * stays far below it). */
#define KUBE_MAX_RESPONSE_BYTES (512UL * 1024 * 1024)

struct kube_client {
	const kube_config *config;
	const struct kube_rest *rest;
	struct kube_auth *auth;
	CURL *easy;    /* reused: keeps the connection (and HTTP/2 session) alive */
	CURLSH *share; /* DNS and TLS sessions shared with watch handles */
	struct kube_ratelimit limiter;
	int max_retries;
	unsigned long requests;
	char *user_agent;
	char *cache_dir;
	char *url_host;                /* host used in URLs (tls-server-name when set) */
	struct curl_slist *connect_to; /* CURLOPT_CONNECT_TO when tls-server-name is set */
	char *host_header;             /* Host header value when tls-server-name is set */
	/* The server's clock: the Date header of the last reply (ms since the
	 * epoch) and the local monotonic time it arrived at. */
	int has_server_date;
	long long server_date_ms;
	long long server_date_local_ms;
};

/* Headers and settings for one request on easy. *out_headers must be freed
 * with curl_slist_free_all by the caller after the transfer. */
int kube_http_prepare(kube_client *client, CURL *easy, struct curl_slist **out_headers, const char *verb,
                      const char *url, const char *accept, const char *content_type);

/* kube_client_request with an explicit Accept header (NULL = JSON). */
int kube_client_send(kube_client *client, kube_response *resp, const char *verb, const char *path, const char *accept,
                     const char *content_type, const char *body, size_t body_len);

/* Given one response header line (as libcurl's header callback sees it),
 * records a Date header's time as the server's clock; other lines are
 * ignored. Used by every transfer on the client's behalf (requests and
 * watch streams). */
void kube_client_note_header(kube_client *client, const char *line, size_t len);

/* Builds the absolute URL of path on the client's server (owned). */
char *kube_http_url(const kube_client *client, const char *path);

/* Maps a non-2xx reply to an error code, keeping the server's Status
 * reason/message; returns the code. */
int kube_http_status_error(long status, const kube_buf *body, const char *verb, const char *path);

/* Maps a libcurl failure to an error code with a one-line message. */
int kube_http_curl_error(CURLcode code, const char *detail, const char *verb, const char *url);

/* Logs one request at -v6 (and headers/bodies at 7/8, redacted). */
void kube_http_log_request(const char *verb, const char *url, long status, double ms, const char *req_body,
                           size_t req_len, const kube_buf *resp_body);

#endif
