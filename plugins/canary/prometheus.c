/* The Prometheus client of the metric gates: addresses, one instant query
 * directly (libcurl) or through the API server's service proxy, and the
 * parser of /api/v1/query replies. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <kube/buf.h>
#include <kube/clock.h>
#include <kube/error.h>
#include <kube/log.h>
#include <kube/version.h>

#include "prometheus.h"

/* --- addresses --------------------------------------------------------- */

static int addr_fail(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int addr_fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (err && err_size) {
		va_start(ap, fmt);
		(void)vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A DNS label (RFC 1123) of len bytes at s: what namespaces and Services
 * are named. */
static int dns_label(const char *s, size_t len)
{
	if (len < 1 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* A Service port: a number 1..65535 or a port name (IANA_SVC_NAME). */
static int service_port(const char *s, size_t len)
{
	int letters = 0;
	long number = 0;
	if (len < 1 || len > 15 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			number = number * 10 + (s[i] - '0');
		else if ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')
			letters = 1;
		else
			return 0;
	}
	return letters || (number >= 1 && number <= 65535);
}

static int parse_url(canary_prom_addr *out, const char *text, size_t scheme_len, char *err, size_t err_size)
{
	const char *host = text + scheme_len;
	size_t host_len = strcspn(host, "/");
	size_t len = strlen(text);
	if (strpbrk(text, "?#"))
		return addr_fail(err, err_size, "\"%.200s\": give the base URL, without a query or fragment", text);
	if (host_len == 0 || *host == ':')
		return addr_fail(err, err_size, "\"%.200s\": no host", text);
	while (len > scheme_len + host_len && text[len - 1] == '/')
		len--;
	if (len >= sizeof(out->url))
		return addr_fail(err, err_size, "a URL longer than %zu bytes", sizeof(out->url) - 1);
	memcpy(out->url, text, len);
	out->url[len] = '\0';
	(void)snprintf(out->display, sizeof(out->display), "%s", out->url);
	return 0;
}

int canary_prom_addr_parse(canary_prom_addr *out, const char *text, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return addr_fail(err, err_size, "empty");
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return addr_fail(err, err_size, "a blank, a control character or a byte that is not ASCII");
	/* The address is kept on the Deployment, readable by whoever reads
	 * it: a password has no place in it, nor in a message quoting it.
	 * Userinfo is what ends in '@' before the host (or, in an address
	 * that is no URL, before the first '/'). */
	const char *scheme_end = strstr(text, "://");
	const char *authority = scheme_end ? scheme_end + 3 : text;
	if (memchr(authority, '@', strcspn(authority, "/?#")))
		return addr_fail(err, err_size,
		                 "credentials in the URL are not supported (the address is stored on the Deployment)");
	if (!strncmp(text, "http://", 7))
		return parse_url(out, text, 7, err, err_size);
	if (!strncmp(text, "https://", 8))
		return parse_url(out, text, 8, err, err_size);
	if (strstr(text, "://"))
		return addr_fail(err, err_size, "\"%.200s\": only http:// and https:// URLs", text);
	const char *p = text;
	if (!strncmp(p, "https:", 6)) {
		out->https = 1;
		p += 6;
	}
	const char *slash = strchr(p, '/');
	if (!slash)
		return addr_fail(err, err_size,
		                 "\"%.200s\": neither a URL (http://HOST:PORT) nor NAMESPACE/SERVICE[:PORT]", text);
	const char *service = slash + 1;
	size_t service_len = strcspn(service, ":");
	const char *port = service[service_len] == ':' ? service + service_len + 1 : NULL;
	if (!dns_label(p, (size_t)(slash - p)))
		return addr_fail(err, err_size, "\"%.200s\": the namespace \"%.*s\" is not a DNS label", text,
		                 (int)(slash - p) > 63 ? 63 : (int)(slash - p), p);
	if (!dns_label(service, service_len))
		return addr_fail(err, err_size, "\"%.200s\": the Service name is not a DNS label", text);
	if (port && !service_port(port, strlen(port)))
		return addr_fail(err, err_size, "\"%.200s\": the port is neither a number 1-65535 nor a port name",
		                 text);
	out->proxy = 1;
	(void)snprintf(out->ns, sizeof(out->ns), "%.*s", (int)(slash - p), p);
	(void)snprintf(out->service, sizeof(out->service), "%.*s", (int)service_len, service);
	(void)snprintf(out->port, sizeof(out->port), "%s", port ? port : CANARY_PROM_DEFAULT_PORT);
	(void)snprintf(out->display, sizeof(out->display), "%s%s/%s:%s", out->https ? "https:" : "", out->ns,
	               out->service, out->port);
	return 0;
}

/* --- replies ----------------------------------------------------------- */

static void set_error(canary_prom_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* out becomes an ERROR whose reason is one printable ASCII line, whatever
 * bytes the reply quoted. */
static void set_error(canary_prom_result *out, const char *fmt, ...)
{
	va_list ap;
	out->kind = CANARY_PROM_ERROR;
	out->value = NAN;
	out->unreachable = 1;
	va_start(ap, fmt);
	(void)vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	for (char *c = out->error; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

static void query_error(canary_prom_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An ERROR about the query's result, not about reaching Prometheus. */
static void query_error(canary_prom_result *out, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	set_error(out, "%s", text);
	out->unreachable = 0;
}

/* A sample value as Prometheus writes it (strconv.FormatFloat 'f', -1):
 * "NaN", "+Inf", "-Inf", or a decimal, exponents allowed. */
static int parse_value(double *out, const char *text)
{
	if (!strcmp(text, "NaN")) {
		*out = NAN;
		return 0;
	}
	if (!strcmp(text, "+Inf") || !strcmp(text, "Inf")) {
		*out = INFINITY;
		return 0;
	}
	if (!strcmp(text, "-Inf")) {
		*out = -INFINITY;
		return 0;
	}
	/* strtod alone would take hex floats, "infinity" and blanks */
	if (!*text || text[strspn(text, "0123456789.eE+-")] != '\0')
		return -1;
	char *end;
	*out = strtod(text, &end);
	return *end ? -1 : 0;
}

/* [time, "value"]: the value. */
static int read_sample(double *out, const json_t *pair)
{
	const json_t *value = json_array_get(pair, 1);
	if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(json_array_get(pair, 0)))
		return -1;
	if (json_is_string(value))
		return parse_value(out, json_string_value(value));
	if (json_is_number(value)) {
		*out = json_number_value(value);
		return 0;
	}
	return -1;
}

/* The start of a body that is not a Prometheus reply, for a message: the
 * Kubernetes Status's message when it is one, else its first line. */
static void body_excerpt(char *buf, size_t size, const json_t *root, const char *body, size_t len)
{
	const char *message = json_string_value(json_object_get(root, "message"));
	if (message) {
		(void)snprintf(buf, size, "%s", message);
		return;
	}
	size_t n = 0;
	if (!body)
		len = 0;
	while (n < len && n < 120 && body[n] != '\n' && body[n] != '\r')
		n++;
	(void)snprintf(buf, size, "%.*s", (int)n, body ? body : "");
}

void canary_prom_parse_reply(canary_prom_result *out, long http_status, const char *body, size_t len)
{
	json_error_t jerr;
	char excerpt[160];
	memset(out, 0, sizeof(*out));
	out->value = NAN;
	json_t *root = body && len ? json_loadb(body, len, 0, &jerr) : NULL;
	const char *status = json_string_value(json_object_get(root, "status"));
	if (status && !strcmp(status, "error")) {
		const char *type = json_string_value(json_object_get(root, "errorType"));
		const char *error = json_string_value(json_object_get(root, "error"));
		set_error(out, "%s: %s", type && *type ? type : "error", error && *error ? error : "(no message)");
		out->unreachable = 0;
		goto done;
	}
	if (http_status && (http_status < 200 || http_status > 299)) {
		body_excerpt(excerpt, sizeof(excerpt), root, body, len);
		set_error(out, "HTTP %ld%s%s", http_status, excerpt[0] ? ": " : "", excerpt);
		goto done;
	}
	if (!root) {
		set_error(out, "not a Prometheus reply: %s", body && len ? jerr.text : "empty");
		goto done;
	}
	if (!status || strcmp(status, "success") != 0) {
		set_error(out, "not a Prometheus query reply (no \"status\": \"success\")");
		goto done;
	}
	const json_t *data = json_object_get(root, "data");
	const char *type = json_string_value(json_object_get(data, "resultType"));
	const json_t *result = json_object_get(data, "result");
	if (!type) {
		set_error(out, "not a Prometheus query reply (no data.resultType)");
	} else if (!strcmp(type, "vector")) {
		if (!json_is_array(result))
			set_error(out, "not a Prometheus query reply (data.result is not a list)");
		else if (json_array_size(result) == 0)
			out->kind = CANARY_PROM_EMPTY;
		else if (json_array_size(result) > 1)
			query_error(out,
			            "the query gave %zu series; a gate needs one value (aggregate it, e.g. with sum())",
			            json_array_size(result));
		else if (read_sample(&out->value, json_object_get(json_array_get(result, 0), "value")))
			set_error(out, "not a Prometheus query reply (a sample that is not [time, \"value\"])");
		else
			out->kind = CANARY_PROM_VALUE;
	} else if (!strcmp(type, "scalar")) {
		if (read_sample(&out->value, result))
			set_error(out, "not a Prometheus query reply (a scalar that is not [time, \"value\"])");
		else
			out->kind = CANARY_PROM_VALUE;
	} else {
		query_error(out, "the query gave a %.32s; a gate needs an instant vector or a scalar", type);
	}
done:
	json_decref(root);
}

/* --- queries ----------------------------------------------------------- */

struct reply_body {
	kube_buf buf;
	int failed; /* the cap was passed (KUBE_EPROTOCOL) or memory ran out */
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	struct reply_body *reply = user;
	if ((reply->failed = kube_buf_put(&reply->buf, data, size * count)) != 0)
		return 0;
	return size * count;
}

/* Prometheus's own time limit for the query: "&timeout=5s". */
static int put_timeout(kube_buf *url)
{
	return kube_buf_printf(url, "&timeout=%lds", CANARY_PROM_TIMEOUT_MS / 1000);
}

static int query_direct(canary_prom_result *out, const canary_prom_addr *addr, const char *query)
{
	char errbuf[CURL_ERROR_SIZE] = "", agent[64];
	struct reply_body reply = {KUBE_BUF_INIT, 0};
	kube_buf url = KUBE_BUF_INIT;
	struct curl_slist *headers = NULL;
	CURL *easy = NULL;
	long status = 0;
	int rc = 0;
	reply.buf.limit = CANARY_PROM_BODY_MAX;
	if (kube_buf_printf(&url, "%s/api/v1/query?query=", addr->url) || kube_buf_put_urlescaped(&url, query) ||
	    put_timeout(&url) || !(headers = curl_slist_append(NULL, "Accept: application/json")) ||
	    !(easy = curl_easy_init())) {
		rc = KUBE_ENOMEM;
		goto done;
	}
	(void)snprintf(agent, sizeof(agent), "rollguard/%s", kube_version_string());
	curl_easy_setopt(easy, CURLOPT_URL, kube_buf_cstr(&url));
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, CANARY_PROM_REQUEST_MS);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, CANARY_PROM_REQUEST_MS);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, agent);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
	long long started = kube_now_ms();
	CURLcode code = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	kube_log(KUBE_LOG_REQUEST, "prometheus: GET %s/api/v1/query %ld in %lld ms", addr->display, status,
	         kube_now_ms() - started);
	if (code == CURLE_WRITE_ERROR && reply.failed == KUBE_ENOMEM)
		rc = KUBE_ENOMEM;
	else if (code == CURLE_WRITE_ERROR && reply.failed)
		set_error(out, "Prometheus %s: a reply larger than %d bytes", addr->display, CANARY_PROM_BODY_MAX);
	else if (code != CURLE_OK)
		set_error(out, "Prometheus %s is unreachable: %s", addr->display,
		          *errbuf ? errbuf : curl_easy_strerror(code));
	else
		canary_prom_parse_reply(out, status, reply.buf.ptr, reply.buf.len);
done:
	curl_slist_free_all(headers);
	if (easy)
		curl_easy_cleanup(easy);
	kube_buf_dispose(&url);
	kube_buf_dispose(&reply.buf);
	return rc;
}

/* libkube's message without its "GET /api/v1/...?query=...: " in front:
 * the escaped query would fill the line before the reason. An escaped
 * path holds no blank, so the first ": " ends it. */
static const char *without_request(const char *message)
{
	const char *colon = strncmp(message, "GET ", 4) == 0 ? strstr(message, ": ") : NULL;
	return colon ? colon + 2 : message;
}

/* 1 when body is Prometheus's error reply ("status": "error"). */
static int prometheus_error(const char *body, size_t len)
{
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *status = json_string_value(json_object_get(root, "status"));
	int yes = status && !strcmp(status, "error");
	json_decref(root);
	return yes;
}

static int query_proxy(canary_prom_result *out, kube_client *client, const canary_prom_addr *addr, const char *query)
{
	kube_buf path = KUBE_BUF_INIT;
	kube_response resp;
	memset(&resp, 0, sizeof(resp));
	if (kube_buf_puts(&path, "/api/v1/namespaces/") || kube_buf_put_urlescaped(&path, addr->ns) ||
	    kube_buf_printf(&path, "/services/%s", addr->https ? "https:" : "") ||
	    kube_buf_put_urlescaped(&path, addr->service) || kube_buf_puts(&path, ":") ||
	    kube_buf_put_urlescaped(&path, addr->port) || kube_buf_puts(&path, "/proxy/api/v1/query?query=") ||
	    kube_buf_put_urlescaped(&path, query) || put_timeout(&path)) {
		kube_buf_dispose(&path);
		return KUBE_ENOMEM;
	}
	/* Bounded like a direct query, and not retried: a 5xx through the
	 * proxy is Prometheus's or the proxy's answer, and the gate asks again
	 * at its next measurement. */
	kube_request_options opts = KUBE_REQUEST_OPTIONS_INIT;
	opts.timeout_ms = CANARY_PROM_REQUEST_MS;
	opts.max_retries = 0;
	int rc = kube_client_request_opts(client, &resp, "GET", kube_buf_cstr(&path), NULL, NULL, 0, &opts);
	kube_buf_dispose(&path);
	if (rc == KUBE_ENOMEM) {
		kube_response_dispose(&resp);
		return rc;
	}
	/* A failure is Prometheus's own error passed through the proxy, or
	 * the API server's (no endpoints, forbidden, no such Service). */
	if (!rc || (resp.status && prometheus_error(resp.body.ptr, resp.body.len)))
		canary_prom_parse_reply(out, resp.status, resp.body.ptr, resp.body.len);
	else
		set_error(out, "Prometheus %s through the API server: %s%.0ld%s%s", addr->display,
		          kube_error_last()->http_status ? "HTTP " : "", kube_error_last()->http_status,
		          kube_error_last()->http_status ? ": " : "", without_request(kube_error_last()->message));
	kube_response_dispose(&resp);
	return 0;
}

int canary_prom_query(canary_prom_result *out, kube_client *client, const canary_prom_addr *addr, const char *query)
{
	memset(out, 0, sizeof(*out));
	out->value = NAN;
	return addr->proxy ? query_proxy(out, client, addr, query) : query_direct(out, addr, query);
}
