/* The HTTP transport: libcurl handles configured from the resolved
 * settings (TLS, proxies, credentials, impersonation), status and libcurl
 * error mapping, and request logging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "client_internal.h"
#include "http_internal.h"
#include "internal.h"
#include "redact.h"

char *kube_http_url(const kube_client *client, const char *path)
{
	const char *server = client->rest->server;
	if (!client->url_host)
		return kube_asprintf("%s%s", server, path);
	/* tls-server-name: the URL carries the name TLS must verify; CONNECT_TO
	 * sends the connection to the real server. */
	const char *scheme_end = strstr(server, "://");
	const char *rest = scheme_end ? scheme_end + 3 : server;
	const char *port_or_path = rest + strcspn(rest, ":/");
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		port_or_path = close ? close + 1 : port_or_path;
	}
	return kube_asprintf("https://%s%s%s", client->url_host, port_or_path, path);
}

/* -v7: each request and response header line, credentials masked. */
static int log_headers(CURL *easy, curl_infotype type, char *data, size_t size, void *user)
{
	(void)easy;
	(void)user;
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
		return 0;
	const char *prefix = type == CURLINFO_HEADER_OUT ? "Request Header" : "Response Header";
	size_t start = 0;
	while (start < size) {
		size_t end = start;
		while (end < size && data[end] != '\r' && data[end] != '\n')
			end++;
		if (end > start) {
			char *line = kube_strndup(data + start, end - start);
			kube_buf text = KUBE_BUF_INIT;
			if (line && kube_redact_header(&text, line) == 0)
				kube_log(KUBE_LOG_HEADERS, "%s: %s", prefix, kube_buf_cstr(&text));
			kube_buf_dispose(&text);
			kube_free(line);
		}
		start = end + 1;
	}
	return 0;
}

/* Appends "name: value", or "name:" (which removes a curl default) when
 * value is NULL. */
static int append_header(struct curl_slist **list, const char *name, const char *value)
{
	char *line = value ? kube_asprintf("%s: %s", name, value) : kube_asprintf("%s:", name);
	if (!line)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	struct curl_slist *next = curl_slist_append(*list, line);
	kube_free(line);
	if (!next)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	*list = next;
	return 0;
}

int kube_http_prepare(kube_client *client, CURL *easy, struct curl_slist **out_headers, const char *verb,
                      const char *url, const char *accept, const char *content_type)
{
	const struct kube_rest *rest = client->rest;
	struct curl_slist *headers = NULL;
	struct kube_credentials creds;
	int rc;

	*out_headers = NULL;
	curl_easy_reset(easy);
	if ((rc = kube_auth_get(client->auth, &creds)) != 0)
		return rc;

	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_SHARE, client->share);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, client->user_agent);
	if (!rest->disable_compression)
		curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); /* gzip and whatever else libcurl decodes */
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (rest->request_timeout_ms > 0)
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, rest->request_timeout_ms);

	if (strcmp(verb, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else if (strcmp(verb, "HEAD") == 0)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, verb);

	/* TLS: verification stays on unless the configuration turned it off. */
	if (rest->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (rest->ca_data) {
		struct curl_blob ca = {rest->ca_data, rest->ca_data_len, CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
	} else if (rest->ca_file) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, rest->ca_file);
	}
	if (client->connect_to)
		curl_easy_setopt(easy, CURLOPT_CONNECT_TO, client->connect_to);
	if (kube_log_verbosity() >= KUBE_LOG_HEADERS) {
		curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, log_headers);
		curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
	}
	if (rest->proxy_url)
		curl_easy_setopt(easy, CURLOPT_PROXY, rest->proxy_url);

	/* Client certificate: from the exec plugin, else the kubeconfig. */
	const char *cert_pem = creds.cert_pem ? creds.cert_pem : rest->cert_data;
	const char *key_pem = creds.key_pem ? creds.key_pem : rest->key_data;
	if (cert_pem) {
		struct curl_blob cert = {(void *)cert_pem,
		                         creds.cert_pem ? strlen(creds.cert_pem) : rest->cert_data_len, CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (rest->cert_file) {
		curl_easy_setopt(easy, CURLOPT_SSLCERT, rest->cert_file);
	}
	if (key_pem) {
		struct curl_blob key = {(void *)key_pem, creds.key_pem ? strlen(creds.key_pem) : rest->key_data_len,
		                        CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (rest->key_file) {
		curl_easy_setopt(easy, CURLOPT_SSLKEY, rest->key_file);
	}

	if (creds.bearer) {
		char *bearer = kube_asprintf("Bearer %s", creds.bearer);
		rc = bearer ? append_header(&headers, "Authorization", bearer)
		            : kube_error_set(KUBE_ENOMEM, "out of memory");
		kube_free(bearer);
	} else if (creds.username) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, creds.username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, creds.password ? creds.password : "");
	}
	if (!rc && rest->impersonate_user)
		rc = append_header(&headers, "Impersonate-User", rest->impersonate_user);
	for (char **group = rest->impersonate_groups; !rc && group && *group; group++)
		rc = append_header(&headers, "Impersonate-Group", *group);
	for (char **extra = rest->impersonate_extra; !rc && extra && *extra; extra++) {
		/* "key=value" -> "Impersonate-Extra-<escaped key>: value", as client-go */
		const char *eq = strchr(*extra, '=');
		if (!eq)
			continue; /* config.c always writes key=value */
		kube_buf name = KUBE_BUF_INIT;
		char *key = kube_strndup(*extra, (size_t)(eq - *extra));
		rc = key ? kube_buf_puts(&name, "Impersonate-Extra-") : kube_error_set(KUBE_ENOMEM, "out of memory");
		if (!rc)
			rc = kube_buf_put_urlescaped(&name, key);
		if (!rc)
			rc = append_header(&headers, name.ptr, eq + 1);
		kube_free(key);
		kube_buf_dispose(&name);
	}
	if (!rc && rest->impersonate_uid)
		rc = append_header(&headers, "Impersonate-Uid", rest->impersonate_uid);
	if (!rc && client->host_header)
		rc = append_header(&headers, "Host", client->host_header);
	if (!rc)
		rc = append_header(&headers, "Accept", accept ? accept : "application/json");
	if (!rc && content_type)
		rc = append_header(&headers, "Content-Type", content_type);
	/* No "Expect: 100-continue" round trip for large bodies. */
	if (!rc)
		rc = append_header(&headers, "Expect", NULL);
	if (rc) {
		curl_slist_free_all(headers);
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	*out_headers = headers;
	return 0;
}

/* The server's Status object, when the body is one. */
static void status_fields(const kube_buf *body, char **reason, char **message)
{
	*reason = *message = NULL;
	if (!body || body->len == 0)
		return;
	json_t *status = json_loadb(body->ptr, body->len, 0, NULL);
	const char *kind = json_string_value(json_object_get(status, "kind"));
	if (kind && strcmp(kind, "Status") == 0) {
		*reason = kube_strdup(json_string_value(json_object_get(status, "reason")));
		*message = kube_strdup(json_string_value(json_object_get(status, "message")));
	}
	json_decref(status);
}

int kube_http_status_error(long status, const kube_buf *body, const char *verb, const char *path)
{
	int code;
	const char *what;
	switch (status) {
	case 400:
	case 422:
		code = KUBE_EINVALID, what = "invalid";
		break;
	case 401:
		code = KUBE_EAUTH, what = "unauthorized: the server rejected the credentials";
		break;
	case 403:
		code = KUBE_EFORBIDDEN, what = "forbidden";
		break;
	case 404:
		code = KUBE_ENOTFOUND, what = "not found";
		break;
	case 409:
		code = KUBE_ECONFLICT, what = "conflict";
		break;
	case 410:
		code = KUBE_EGONE, what = "gone: resource version too old";
		break;
	case 429:
		/* still throttled after every retry: the server is overloaded */
		code = KUBE_ENETWORK, what = "too many requests";
		break;
	case 504:
		code = KUBE_ETIMEOUT, what = "server timeout";
		break;
	default:
		code = status >= 500 ? KUBE_ENETWORK : KUBE_EPROTOCOL;
		what = status >= 500 ? "server error" : "unexpected status";
	}
	char *reason, *message;
	status_fields(body, &reason, &message);
	if (message && *message)
		kube_error_set_http(code, status, reason, message, "%s %s: %s", verb, path, message);
	else
		kube_error_set_http(code, status, reason, message, "%s %s: %s (HTTP %ld)", verb, path, what, status);
	kube_free(reason);
	kube_free(message);
	return code;
}

long kube_http_retry_after(const char *line, size_t len)
{
	static const char retry_after[] = "Retry-After:";
	char value[32];
	if (len <= sizeof(retry_after) || strncasecmp(line, retry_after, sizeof(retry_after) - 1) != 0)
		return -1;
	size_t n = len - (sizeof(retry_after) - 1);
	if (n >= sizeof(value))
		n = sizeof(value) - 1;
	memcpy(value, line + sizeof(retry_after) - 1, n);
	value[n] = '\0';
	char *end;
	long seconds = strtol(value, &end, 10);
	return end != value && seconds >= 0 ? seconds : -1;
}

int kube_http_curl_error(CURLcode code, const char *detail, const char *verb, const char *url)
{
	const char *why = detail && *detail ? detail : curl_easy_strerror(code);
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
		return kube_error_set(KUBE_ETLS, "%s %s: TLS: %s", verb, url, why);
	case CURLE_OPERATION_TIMEDOUT:
		return kube_error_set(KUBE_ETIMEOUT, "%s %s: timed out: %s", verb, url, why);
	case CURLE_OUT_OF_MEMORY:
		return kube_error_set(KUBE_ENOMEM, "%s %s: out of memory", verb, url);
	case CURLE_WRITE_ERROR:
		return kube_error_set(KUBE_EPROTOCOL, "%s %s: %s", verb, url, why);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return kube_error_set(KUBE_ECONFIG, "%s %s: bad server URL: %s", verb, url, why);
	default:
		return kube_error_set(KUBE_ENETWORK, "%s %s: %s", verb, url, why);
	}
}

static const char *status_text(long status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

void kube_http_log_request(const char *verb, const char *url, long status, double ms, const char *req_body,
                           size_t req_len, const kube_buf *resp_body)
{
	int verbosity = kube_log_verbosity();
	if (verbosity < KUBE_LOG_REQUEST)
		return;
	if (verbosity >= KUBE_LOG_BODY && req_body && req_len) {
		kube_buf text = KUBE_BUF_INIT;
		if (kube_redact_body(&text, req_body, req_len, 10240) == 0)
			kube_log(KUBE_LOG_BODY, "Request Body: %s", kube_buf_cstr(&text));
		kube_buf_dispose(&text);
	}
	if (status)
		kube_log(KUBE_LOG_REQUEST, "%s %s %ld %s in %.0f milliseconds", verb, url, status, status_text(status),
		         ms);
	else
		kube_log(KUBE_LOG_REQUEST, "%s %s (no response) in %.0f milliseconds", verb, url, ms);
	if (verbosity >= KUBE_LOG_BODY && resp_body && resp_body->len) {
		kube_buf text = KUBE_BUF_INIT;
		if (kube_redact_body(&text, resp_body->ptr, resp_body->len, 10240) == 0)
			kube_log(KUBE_LOG_BODY, "Response Body: %s", kube_buf_cstr(&text));
		kube_buf_dispose(&text);
	}
}
