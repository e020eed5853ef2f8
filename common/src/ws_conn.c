/* Preparing a WebSocket to the API server from a kube_client: the server
 * URL, an OpenSSL context with the cluster's CA and the client certificate
 * (from the kubeconfig or an exec plugin), tls-server-name, and the
 * Authorization, Impersonate-* and User-Agent headers; whether an upgrade
 * the API server refused is tried again; and the error for a connection
 * that failed, keeping the API server's Status. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "client_internal.h"
#include "internal.h"
#include "redact.h"
#include "ws.h"

/* ----- TLS: an OpenSSL context per connection, handed to libwebsockets ----- */

/* lws 4.1's own PEM loading keeps only the first certificate of a bundle
 * and cannot read every key format, so the context is built here. */
static int tls_error(const char *what)
{
	char detail[256];
	unsigned long err = ERR_peek_last_error();
	ERR_error_string_n(err, detail, sizeof(detail));
	ERR_clear_error();
	return kube_error_set(KUBE_ECONFIG, "%s: %s", what, err ? detail : "unreadable");
}

static int load_ca(SSL_CTX *ctx, const struct kube_rest *rest)
{
	if (!rest->ca_data && !rest->ca_file)
		return SSL_CTX_set_default_verify_paths(ctx) == 1 ? 0 : tls_error("system CA certificates");
	BIO *bio = rest->ca_data ? BIO_new_mem_buf(rest->ca_data, (int)rest->ca_data_len)
	                         : BIO_new_file(rest->ca_file, "r");
	if (!bio)
		return tls_error(rest->ca_file ? rest->ca_file : "certificate-authority-data");
	STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int count = 0;
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);
		if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1)
			count++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (!count)
		return kube_error_set(KUBE_ECONFIG, "%s: no CA certificate found",
		                      rest->ca_file ? rest->ca_file : "certificate-authority-data");
	return 0;
}

static int load_client_cert(SSL_CTX *ctx, const struct kube_rest *rest, const struct kube_credentials *creds)
{
	const char *cert_pem = creds->cert_pem ? creds->cert_pem : rest->cert_data;
	size_t cert_len = creds->cert_pem ? strlen(creds->cert_pem) : rest->cert_data_len;
	const char *key_pem = creds->key_pem ? creds->key_pem : rest->key_data;
	size_t key_len = creds->key_pem ? strlen(creds->key_pem) : rest->key_data_len;
	if (cert_pem) {
		BIO *bio = BIO_new_mem_buf(cert_pem, (int)cert_len);
		X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		int ok = cert && SSL_CTX_use_certificate(ctx, cert) == 1;
		X509_free(cert);
		for (X509 *extra; ok && bio && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
			if (SSL_CTX_add0_chain_cert(ctx, extra) != 1)
				X509_free(extra);
		BIO_free(bio);
		ERR_clear_error();
		if (!ok)
			return kube_error_set(KUBE_ECONFIG, "client certificate: not a PEM certificate");
	} else if (rest->cert_file && SSL_CTX_use_certificate_chain_file(ctx, rest->cert_file) != 1) {
		return tls_error(rest->cert_file);
	}
	if (key_pem) {
		BIO *bio = BIO_new_mem_buf(key_pem, (int)key_len);
		EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
		EVP_PKEY_free(key);
		BIO_free(bio);
		ERR_clear_error();
		/* the key's contents never reach a message */
		if (!ok)
			return kube_error_set(KUBE_ECONFIG, "client key: not a PEM private key");
	} else if (rest->key_file && SSL_CTX_use_PrivateKey_file(ctx, rest->key_file, SSL_FILETYPE_PEM) != 1) {
		return tls_error(rest->key_file);
	}
	if ((cert_pem || rest->cert_file) && (key_pem || rest->key_file) && SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return kube_error_set(KUBE_ECONFIG, "client certificate and key do not match");
	}
	return 0;
}

static int make_ssl_ctx(struct kube_ws_conn *conn, const struct kube_rest *rest, const struct kube_credentials *creds)
{
	conn->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!conn->ssl_ctx)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	SSL_CTX_set_min_proto_version(conn->ssl_ctx, TLS1_2_VERSION);
	int rc = rest->insecure ? 0 : load_ca(conn->ssl_ctx, rest);
	return rc ? rc : load_client_cert(conn->ssl_ctx, rest, creds);
}

/* ----- request headers ----- */

static int add_header(kube_buf *headers, const char *name, const char *value)
{
	/* a CR or LF would end the header early and smuggle in another */
	if (strpbrk(name, "\r\n") || strpbrk(value, "\r\n"))
		return kube_error_set(KUBE_ECONFIG, "header %s: value contains a line break", name);
	return kube_buf_printf(headers, "%s: %s\r\n", name, value);
}

static int base64(kube_buf *out, const char *data, size_t len)
{
	char *encoded = kube_malloc(4 * ((len + 2) / 3) + 1);
	if (!encoded)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)data, (int)len);
	int rc = kube_buf_puts(out, encoded);
	OPENSSL_cleanse(encoded, strlen(encoded));
	kube_free(encoded);
	return rc;
}

static int build_headers(kube_buf *headers, kube_client *client, const struct kube_credentials *creds)
{
	const struct kube_rest *rest = client->rest;
	kube_buf value = KUBE_BUF_INIT;
	int rc = 0;
	if (creds->bearer) {
		rc = kube_buf_printf(&value, "Bearer %s", creds->bearer);
	} else if (creds->username) {
		kube_buf pair = KUBE_BUF_INIT;
		rc = kube_buf_printf(&pair, "%s:%s", creds->username, creds->password ? creds->password : "");
		if (!rc)
			rc = kube_buf_puts(&value, "Basic ");
		if (!rc)
			rc = base64(&value, pair.ptr, pair.len);
		if (pair.ptr)
			OPENSSL_cleanse(pair.ptr, pair.len);
		kube_buf_dispose(&pair);
	}
	if (!rc && value.len)
		rc = add_header(headers, "Authorization", value.ptr);
	if (value.ptr)
		OPENSSL_cleanse(value.ptr, value.len);
	kube_buf_dispose(&value);
	if (!rc && rest->impersonate_user)
		rc = add_header(headers, "Impersonate-User", rest->impersonate_user);
	for (char **group = rest->impersonate_groups; !rc && group && *group; group++)
		rc = add_header(headers, "Impersonate-Group", *group);
	for (char **extra = rest->impersonate_extra; !rc && extra && *extra; extra++) {
		/* "key=value" -> "Impersonate-Extra-<escaped key>: value", as client-go */
		const char *eq = strchr(*extra, '=');
		if (!eq)
			continue;
		kube_buf name = KUBE_BUF_INIT;
		char *key = kube_strndup(*extra, (size_t)(eq - *extra));
		rc = key ? kube_buf_puts(&name, "Impersonate-Extra-") : kube_error_set(KUBE_ENOMEM, "out of memory");
		if (!rc)
			rc = kube_buf_put_urlescaped(&name, key);
		if (!rc)
			rc = add_header(headers, name.ptr, eq + 1);
		kube_free(key);
		kube_buf_dispose(&name);
	}
	if (!rc && rest->impersonate_uid)
		rc = add_header(headers, "Impersonate-Uid", rest->impersonate_uid);
	if (!rc)
		rc = add_header(headers, "User-Agent", client->user_agent);
	return rc;
}

/* ----- preparing a connection ----- */

static int parse_server(struct kube_ws_conn *conn, const struct kube_rest *rest)
{
	const char *server = rest->server;
	const char *rest_of = NULL;
	if (strncasecmp(server, "https://", 8) == 0)
		conn->tls = 1, rest_of = server + 8;
	else if (strncasecmp(server, "http://", 7) == 0)
		rest_of = server + 7;
	else
		return kube_error_set(KUBE_ECONFIG, "%s: streams need an http or https server URL", server);
	size_t hostport_len = strcspn(rest_of, "/");
	const char *host = rest_of, *port = NULL;
	size_t host_len;
	if (*host == '[') {
		const char *close = memchr(host, ']', hostport_len);
		if (!close)
			return kube_error_set(KUBE_ECONFIG, "%s: bad server address", server);
		host_len = (size_t)(close - host) + 1;
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = memchr(host, ':', hostport_len);
		host_len = colon ? (size_t)(colon - host) : hostport_len;
		port = colon ? colon + 1 : NULL;
	}
	long port_value = conn->tls ? 443 : 80;
	if (port) {
		char *end;
		port_value = strtol(port, &end, 10);
		if (end == port || end != rest_of + hostport_len || port_value < 1 || port_value > 65535)
			return kube_error_set(KUBE_ECONFIG, "%s: bad server port", server);
	}
	conn->port = (int)port_value;
	int bracketed = *host == '[';
	conn->address = kube_strndup(host + bracketed, host_len - 2 * (size_t)bracketed);
	const char *name = rest->tls_server_name && *rest->tls_server_name ? rest->tls_server_name : NULL;
	/* libwebsockets takes the name TLS verifies (and SNI) from the Host
	 * header, up to its first colon: an IPv6 literal cannot be verified. */
	if (conn->tls && !name && bracketed && !rest->insecure)
		return kube_error_set(KUBE_ECONFIG,
		                      "%s: streams cannot verify an IPv6 literal server address; set tls-server-name",
		                      server);
	conn->host = name ? kube_asprintf("%s:%d", name, conn->port) : kube_strndup(host, hostport_len);
	if (!conn->address || !conn->host)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

static int cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(cond, &attr) == 0 ? 0 : -1;
	pthread_condattr_destroy(&attr);
	return rc;
}

int kube_ws_prepare(struct kube_ws *ws, kube_client *client, const char *path, const char *protocols)
{
	const struct kube_rest *rest = client->rest;
	struct kube_credentials creds;
	memset(ws, 0, sizeof(*ws));
	ws->local_fd = -1;
	ws->pong_rtt_ms = -1;
	ws->retry_after_s = -1;
	if (rest->proxy_url)
		return kube_error_set(KUBE_ECONFIG,
		                      "proxy-url %s: exec and port-forward cannot go through a proxy "
		                      "(this libwebsockets has no proxy support)",
		                      rest->proxy_url);
	const char *env_proxy = getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : getenv("https_proxy");
	if (env_proxy && *env_proxy)
		kube_log(KUBE_LOG_DECISION, "stream: connecting directly: libwebsockets does not use HTTPS_PROXY");
	struct kube_ws_conn *conn = kube_calloc(1, sizeof(*conn));
	if (!conn)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	if (pthread_mutex_init(&ws->lock, NULL) != 0) {
		kube_free(conn);
		return kube_error_set(KUBE_ERROR, "stream: cannot create a lock");
	}
	if (cond_init(&ws->cond) != 0) {
		pthread_mutex_destroy(&ws->lock);
		kube_free(conn);
		return kube_error_set(KUBE_ERROR, "stream: cannot create a condition variable");
	}
	ws->conn = conn;
	conn->client_tag.ws = conn->file_tag.ws = ws;
	conn->file_tag.is_file = 1;
	const char *scheme_end = strstr(rest->server, "://");
	const char *prefix = strchr(scheme_end ? scheme_end + 3 : rest->server, '/');
	int rc = parse_server(conn, rest);
	if (!rc)
		rc = kube_auth_get(client->auth, &creds);
	if (!rc && conn->tls)
		rc = make_ssl_ctx(conn, rest, &creds);
	if (!rc)
		rc = build_headers(&conn->headers, client, &creds);
	if (!rc) {
		conn->path = kube_asprintf("%s%s", prefix ? prefix : "", path);
		conn->protocols = kube_strdup(protocols);
		conn->url = kube_asprintf("%s%s", rest->server, path);
		if (!conn->path || !conn->protocols || !conn->url)
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	conn->insecure = rest->insecure;
	if (conn->tls)
		conn->ssl_flags = LCCSCF_USE_SSL;
	if (conn->tls && rest->insecure)
		conn->ssl_flags |=
		        LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
	if (rc)
		kube_ws_dispose(ws);
	return rc;
}

void kube_ws_conn_free(struct kube_ws_conn *conn)
{
	if (!conn)
		return;
	if (conn->ssl_ctx)
		SSL_CTX_free(conn->ssl_ctx);
	if (conn->headers.ptr)
		OPENSSL_cleanse(conn->headers.ptr, conn->headers.len);
	kube_buf_dispose(&conn->headers);
	kube_free(conn->address);
	kube_free(conn->host);
	kube_free(conn->path);
	kube_free(conn->protocols);
	kube_free(conn->url);
	kube_free(conn);
}

void kube_ws_log_headers(const struct kube_ws_conn *conn)
{
	kube_log(KUBE_LOG_HEADERS, "Request Header: Host: %s", conn->host);
	kube_log(KUBE_LOG_HEADERS, "Request Header: Sec-WebSocket-Protocol: %s", conn->protocols);
	const char *line = kube_buf_cstr(&conn->headers);
	while (*line) {
		size_t len = strcspn(line, "\r\n");
		char *header = kube_strndup(line, len);
		kube_buf text = KUBE_BUF_INIT;
		if (header && kube_redact_header(&text, header) == 0)
			kube_log(KUBE_LOG_HEADERS, "Request Header: %s", kube_buf_cstr(&text));
		kube_buf_dispose(&text);
		if (header)
			OPENSSL_cleanse(header, len);
		kube_free(header);
		line += len;
		line += strspn(line, "\r\n");
	}
}

/* ----- errors ----- */

int kube_ws_failure_error(struct kube_ws *ws, kube_client *client, const char *path, const char *what)
{
	char failure[sizeof(ws->failure)];
	pthread_mutex_lock(&ws->lock);
	long status = ws->http_status;
	int tls = ws->tls_failure;
	memcpy(failure, ws->failure, sizeof(failure));
	pthread_mutex_unlock(&ws->lock);
	const char *url = ws->conn ? ws->conn->url : path;
	kube_buf none = KUBE_BUF_INIT;
	if (status == 401) /* the caller refreshes credentials and retries once */
		return kube_http_status_error(status, &none, "GET", path);
	if (status && status != 101) {
		kube_log(KUBE_LOG_DECISION,
		         "%s: the API server refused the upgrade with HTTP %ld; asking again without the upgrade for "
		         "its Status",
		         what, status);
		/* once: a 429 or 5xx was already retried as the upgrade (or the
		 * caller chose not to), and this GET only reads its Status */
		kube_request_options once = KUBE_REQUEST_OPTIONS_INIT;
		once.max_retries = 0;
		kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
		int rc = kube_client_request_opts(client, &resp, "GET", path, NULL, NULL, 0, &once);
		long again = resp.status;
		kube_response_dispose(&resp);
		if (rc && again == status)
			return kube_error_wrap("%s", what);
		return kube_http_status_error(status, &none, "GET", path);
	}
	if (tls)
		return kube_error_set(KUBE_ETLS, "%s: GET %s: TLS: %s", what, url,
		                      failure[0] ? failure : "handshake failed");
	if (status == 101)
		return kube_error_set(KUBE_EPROTOCOL, "%s: GET %s: the WebSocket handshake failed after 101%s%s", what,
		                      url, failure[0] ? ": " : "", failure);
	return kube_error_set(KUBE_ENETWORK, "%s: GET %s: %s", what, url, failure[0] ? failure : "connection failed");
}

/* ----- retrying a refused upgrade ----- */

void kube_ws_retry_init(struct kube_ws_retry *retry, const kube_client *client, int max_retries)
{
	memset(retry, 0, sizeof(*retry));
	if (max_retries < 0)
		max_retries = client->max_retries < KUBE_WS_MAX_RETRIES ? client->max_retries : KUBE_WS_MAX_RETRIES;
	retry->max_retries = max_retries;
	retry->delay_ms = -1;
}

long kube_ws_retry_delay_ms(long status, long retry_after_s, int attempt)
{
	/* as the request loop and client-go's checkWait: 429 and every 5xx */
	if (status != 429 && status < 500)
		return -1;
	/* capped before it is scaled: Retry-After may be any number */
	if (retry_after_s >= 0)
		return retry_after_s < KUBE_WS_RETRY_AFTER_CAP_MS / 1000 ? retry_after_s * 1000
		                                                         : KUBE_WS_RETRY_AFTER_CAP_MS;
	return kube_backoff_ms(attempt);
}

int kube_ws_retry_due(struct kube_ws_retry *retry, kube_client *client, struct kube_ws *ws, const char *what,
                      const char *path, long long deadline_ms)
{
	pthread_mutex_lock(&ws->lock);
	long status = ws->http_status;
	long retry_after_s = ws->retry_after_s;
	int established = ws->established;
	pthread_mutex_unlock(&ws->lock);
	retry->delay_ms = -1;
	retry->status = status;
	/* after the 101 the stream may have run: never again */
	if (established || status == 0 || status == 101)
		return 0;
	if (status == 401) {
		/* exec-plugin, oidc and tokenFile credentials are refreshed once,
		 * as the request loop does */
		if (retry->reauthenticated || !kube_auth_unauthorized(client->auth))
			return 0;
		retry->reauthenticated = 1;
		retry->delay_ms = 0;
		kube_log(KUBE_LOG_DECISION, "%s: 401 Unauthorized; retrying once with fresh credentials", what);
		return 1;
	}
	if (retry->retries >= retry->max_retries)
		return 0;
	long delay = kube_ws_retry_delay_ms(status, retry_after_s, retry->retries);
	if (delay < 0 || (deadline_ms && kube_now_ms() + delay >= deadline_ms))
		return 0;
	retry->retries++;
	retry->delay_ms = delay;
	/* the path only: an exec's query carries the command */
	kube_log(KUBE_LOG_DECISION, "%s: GET %.*s: HTTP %ld before the upgrade; retrying in %ld ms (attempt %d of %d)",
	         what, (int)strcspn(path, "?"), path, status, delay, retry->retries, retry->max_retries);
	return 1;
}
