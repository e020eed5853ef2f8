/* kube_client: one connection to an API server and the request loop
 * (rate limit, credentials, retries with backoff and jitter, 401 re-auth). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kube/version.h>

#include "client_internal.h"
#include "http_internal.h"
#include "internal.h"

/* 9999-12-31T23:59:59Z, the last second an HTTP date can name. */
#define MAX_DATE_S 253402300799LL

static int curl_ready;

static int global_init(void)
{
	if (curl_ready)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return kube_error_set(KUBE_ERROR, "libcurl initialisation failed");
	curl_ready = 1;
	return 0;
}

/* Splits "https://host:port/prefix" into what tls-server-name needs. */
static int setup_server_name(kube_client *client)
{
	const char *server = client->rest->server;
	const char *name = client->rest->tls_server_name;
	if (!name || !*name)
		return 0;
	const char *hostport = strstr(server, "://");
	hostport = hostport ? hostport + 3 : server;
	size_t hostport_len = strcspn(hostport, "/");
	const char *colon = NULL;
	if (*hostport == '[') {
		const char *close = memchr(hostport, ']', hostport_len);
		if (close && close + 1 < hostport + hostport_len && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(hostport, ':', hostport_len);
	}
	size_t host_len = colon ? (size_t)(colon - hostport) : hostport_len;
	const char *port = colon ? colon + 1 : "443";
	int port_len = colon ? (int)(hostport + hostport_len - port) : 3;
	char *entry = kube_asprintf("%s:%.*s:%.*s:%.*s", name, port_len, port, (int)host_len, hostport, port_len, port);
	client->url_host = kube_strdup(name);
	client->host_header = kube_strndup(hostport, hostport_len);
	client->connect_to = entry ? curl_slist_append(NULL, entry) : NULL;
	kube_free(entry);
	if (!client->url_host || !client->host_header || !client->connect_to)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return 0;
}

static char *default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg)
		return kube_asprintf("%s/rollguard", xdg);
	const char *home = getenv("HOME");
	return kube_asprintf("%s/.cache/rollguard", home && *home ? home : "/tmp");
}

int kube_client_new(kube_client **out, const kube_config *config, const kube_client_options *opts)
{
	kube_client_options defaults = KUBE_CLIENT_OPTIONS_INIT;
	kube_client *client = NULL;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = global_init()) != 0)
		return rc;
	client = kube_calloc(1, sizeof(*client));
	if (!client)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	client->config = config;
	client->rest = kube_config_rest(config);
	client->max_retries = opts->max_retries >= 0 ? opts->max_retries : 5;
	kube_ratelimit_init(&client->limiter, opts->qps, opts->burst, kube_now_ms());
	client->user_agent =
	        opts->user_agent ? kube_strdup(opts->user_agent) : kube_asprintf("rollguard/%s", kube_version_string());
	client->cache_dir = opts->cache_dir ? kube_strdup(opts->cache_dir) : default_cache_dir();
	client->easy = curl_easy_init();
	client->share = curl_share_init();
	if (!client->user_agent || !client->cache_dir || !client->easy || !client->share) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	curl_share_setopt(client->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(client->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if ((rc = setup_server_name(client)) != 0)
		goto done;
	if ((rc = kube_auth_new(&client->auth, client->rest)) != 0)
		goto done;
	*out = client;
	client = NULL;
done:
	kube_client_free(client);
	return rc;
}

void kube_client_free(kube_client *client)
{
	if (!client)
		return;
	kube_auth_free(client->auth);
	if (client->easy)
		curl_easy_cleanup(client->easy);
	if (client->share)
		curl_share_cleanup(client->share);
	curl_slist_free_all(client->connect_to);
	kube_free(client->url_host);
	kube_free(client->host_header);
	kube_free(client->user_agent);
	kube_free(client->cache_dir);
	kube_free(client);
}

const char *kube_client_namespace(const kube_client *client)
{
	return kube_config_namespace(client->config);
}

unsigned long kube_client_request_count(const kube_client *client)
{
	return client->requests;
}

void kube_client_note_header(kube_client *client, const char *line, size_t len)
{
	static const char date[] = "Date:";
	char value[64];
	if (len <= sizeof(date) - 1 || strncasecmp(line, date, sizeof(date) - 1) != 0)
		return;
	const char *start = line + sizeof(date) - 1;
	size_t n = len - (sizeof(date) - 1);
	while (n && (*start == ' ' || *start == '\t'))
		start++, n--;
	while (n && (start[n - 1] == '\r' || start[n - 1] == '\n' || start[n - 1] == ' '))
		n--;
	if (n == 0 || n >= sizeof(value))
		return;
	memcpy(value, start, n);
	value[n] = '\0';
	time_t seconds = curl_getdate(value, NULL);
	/* not a date, or one no clock shows (before 1970, after 9999): in
	 * milliseconds a year past 292 million overflows */
	if (seconds < 0 || seconds > MAX_DATE_S) /* -1: not a date */
		return;
	long long date_ms = (long long)seconds * 1000;
	long long local_ms = kube_now_ms();
	if (client->has_server_date) {
		/* Date is cut to the second. While the previous anchor still
		 * falls inside this second it is the finer estimate: keeping it
		 * also keeps the server's now from stepping back between two
		 * replies of the same second. */
		long long previous = client->server_date_ms + (local_ms - client->server_date_local_ms);
		if (previous >= date_ms && previous < date_ms + 1000)
			return;
	}
	client->server_date_ms = date_ms;
	client->server_date_local_ms = local_ms;
	client->has_server_date = 1;
}

long long kube_client_server_now_ms(const kube_client *client)
{
	if (client->has_server_date)
		return client->server_date_ms + (kube_now_ms() - client->server_date_local_ms);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void kube_response_dispose(kube_response *resp)
{
	if (!resp)
		return;
	kube_buf_dispose(&resp->body);
	kube_free(resp->content_type);
	resp->content_type = NULL;
	resp->status = 0;
	resp->retry_after_s = -1;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	kube_buf *body = user;
	size_t n = size * count;
	return kube_buf_put(body, data, n) == 0 ? n : 0;
}

/* Where one request's header callback writes. */
struct header_target {
	kube_client *client;
	kube_response *resp;
};

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
	struct header_target *target = user;
	kube_response *resp = target->resp;
	size_t n = size * count;
	kube_client_note_header(target->client, data, n);
	static const char content_type[] = "Content-Type:";
	long retry_after_s = kube_http_retry_after(data, n);
	if (retry_after_s >= 0) {
		resp->retry_after_s = retry_after_s;
	} else if (n > sizeof(content_type) && strncasecmp(data, content_type, sizeof(content_type) - 1) == 0) {
		const char *value = data + sizeof(content_type) - 1;
		size_t len = n - (sizeof(content_type) - 1);
		while (len && (*value == ' ' || *value == '\t'))
			value++, len--;
		while (len && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
			len--;
		kube_free(resp->content_type);
		resp->content_type = kube_strndup(value, len);
	}
	return n;
}

static int is_idempotent(const char *verb)
{
	return strcmp(verb, "GET") == 0 || strcmp(verb, "HEAD") == 0 || strcmp(verb, "PUT") == 0 ||
	       strcmp(verb, "DELETE") == 0 || strcmp(verb, "OPTIONS") == 0;
}

/* A request that changes nothing: its lost answer needs no care. */
static int is_read(const char *verb)
{
	return strcmp(verb, "GET") == 0 || strcmp(verb, "HEAD") == 0;
}

/* Connection failures where the request cannot have reached the server. */
static int never_sent(CURLcode code)
{
	return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
	       code == CURLE_COULDNT_RESOLVE_PROXY;
}

/* 1 when libcurl's error text for a failed TLS handshake says the
 * transport failed under it (OpenSSL's SSL_ERROR_SYSCALL: a reset, or an
 * EOF where a handshake message was due). */
static int handshake_cut(const char *errbuf)
{
	return strstr(errbuf, "SSL_ERROR_SYSCALL") || strstr(errbuf, "unexpected eof") ||
	       strstr(errbuf, "Connection reset");
}

static int retryable_curl(CURLcode code)
{
	return never_sent(code) || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
	       code == CURLE_PARTIAL_FILE || code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM ||
	       code == CURLE_OPERATION_TIMEDOUT;
}

/* One attempt; timeout_ms > 0 bounds it (else the configuration's
 * request timeout does, if any). */
static int perform_once(kube_client *client, kube_response *resp, const char *verb, const char *url, const char *accept,
                        const char *content_type, const char *body, size_t body_len, long timeout_ms,
                        CURLcode *out_code)
{
	struct curl_slist *headers = NULL;
	struct header_target header_target = {client, resp};
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = kube_http_prepare(client, client->easy, &headers, verb, url, accept, content_type);
	if (rc)
		return rc;
	if (timeout_ms > 0)
		curl_easy_setopt(client->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	kube_buf_clear(&resp->body);
	resp->body.limit = KUBE_MAX_RESPONSE_BYTES;
	resp->status = 0;
	resp->retry_after_s = -1;
	curl_easy_setopt(client->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(client->easy, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(client->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(client->easy, CURLOPT_HEADERDATA, &header_target);
	curl_easy_setopt(client->easy, CURLOPT_ERRORBUFFER, errbuf);
	if (body) {
		curl_easy_setopt(client->easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(client->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	long long started = kube_now_ms();
	client->requests++;
	CURLcode code = curl_easy_perform(client->easy);
	curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (code != CURLE_OK && resp->status >= 400) {
		/* The API server answers an unauthenticated HTTP/2 request with the
		 * error and a GOAWAY; libcurl may then report the stream as cut
		 * short. The status line arrived, and it is the answer. */
		kube_log(KUBE_LOG_DECISION, "%s %s: HTTP %ld, then the connection closed (%s)", verb, url, resp->status,
		         curl_easy_strerror(code));
		code = CURLE_OK;
	} else if (code != CURLE_OK) {
		resp->status = 0;
	}
	if (code == CURLE_SSL_CONNECT_ERROR && handshake_cut(errbuf)) {
		/* The connection was reset or closed during the TLS handshake: a
		 * network failure before anything was sent, not a certificate
		 * problem (those fail verification, or end in a TLS alert). */
		kube_log(KUBE_LOG_DECISION, "%s %s: the connection was cut during the TLS handshake (%s)", verb, url,
		         errbuf);
		code = CURLE_COULDNT_CONNECT;
	}
	*out_code = code;
	kube_http_log_request(verb, url, resp->status, (double)(kube_now_ms() - started), body, body_len, &resp->body);
	curl_easy_setopt(client->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(client->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	if (code != CURLE_OK)
		return kube_http_curl_error(code, errbuf, verb, url);
	return 0;
}

/* 1 when waiting delay_ms more still leaves time before deadline_ms (0:
 * none) for another attempt. */
static int fits(long long deadline_ms, long delay_ms)
{
	return !deadline_ms || kube_now_ms() + delay_ms < deadline_ms;
}

/* The request loop: at most max_retries retries, the whole of it over by
 * deadline_ms (0: none). */
static int send_request(kube_client *client, kube_response *resp, const char *verb, const char *path,
                        const char *accept, const char *content_type, const char *body, size_t body_len,
                        long long deadline_ms, int max_retries)
{
	char *url = kube_http_url(client, path);
	int reauthenticated = 0;
	int maybe_applied = 0; /* a write attempt whose answer was lost */
	int rc = 0;
	if (!url)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	for (int attempt = 0;; attempt++) {
		long wait = kube_ratelimit_take(&client->limiter, kube_now_ms());
		if (wait > 0) {
			long long now = kube_now_ms();
			if (deadline_ms && now + wait > deadline_ms) /* no later than the deadline */
				wait = deadline_ms > now ? (long)(deadline_ms - now) : 0;
			kube_log(KUBE_LOG_DECISION, "client-side rate limit: waiting %ld ms", wait);
			kube_sleep_ms(wait);
		}
		long attempt_ms = 0;
		if (deadline_ms) {
			long long left = deadline_ms - kube_now_ms();
			if (left <= 0) {
				rc = kube_error_set(KUBE_ETIMEOUT, "%s %s: timed out", verb, path);
				break;
			}
			attempt_ms = (long)left;
			if (client->rest->request_timeout_ms > 0 && client->rest->request_timeout_ms < attempt_ms)
				attempt_ms = client->rest->request_timeout_ms;
		}
		CURLcode code = CURLE_OK;
		rc = perform_once(client, resp, verb, url, accept, content_type, body, body_len, attempt_ms, &code);
		int can_retry = attempt < max_retries;
		if (rc) {
			if (code == CURLE_OK || !can_retry || !retryable_curl(code) ||
			    (!is_idempotent(verb) && !never_sent(code)))
				break;
			long delay = kube_backoff_ms(attempt);
			if (!fits(deadline_ms, delay))
				break;
			if (!is_read(verb) && !never_sent(code))
				maybe_applied = 1;
			kube_log(KUBE_LOG_DECISION, "%s; retrying in %ld ms", kube_error_last()->message, delay);
			kube_sleep_ms(delay);
			continue;
		}
		if (resp->status >= 200 && resp->status < 300)
			break;
		if (resp->status == 401 && !reauthenticated && fits(deadline_ms, 0) &&
		    kube_auth_unauthorized(client->auth)) {
			reauthenticated = 1;
			kube_log(KUBE_LOG_DECISION, "401 from the server: refreshing credentials and retrying once");
			continue;
		}
		/* 429 was rejected before any processing (Priority and Fairness),
		 * so every verb may retry it; 5xx only idempotent verbs. */
		int retry_status = resp->status == 429 || (resp->status >= 500 && is_idempotent(verb));
		if (strstr(path, "/eviction") && resp->status == 429)
			retry_status = 0; /* a PodDisruptionBudget said no; asking again won't help */
		if (retry_status && can_retry) {
			/* capped before it is scaled: Retry-After may be any number */
			long delay = resp->retry_after_s >= 0
			                     ? (resp->retry_after_s < 60 ? resp->retry_after_s * 1000 : 60000)
			                     : kube_backoff_ms(attempt);
			if (fits(deadline_ms, delay)) {
				if (resp->status >= 500 && !is_read(verb))
					maybe_applied = 1; /* a server error says nothing of what was done */
				kube_log(KUBE_LOG_DECISION, "%s %s: HTTP %ld; retrying in %ld ms (attempt %d of %d)",
				         verb, path, resp->status, delay, attempt + 1, max_retries);
				kube_sleep_ms(delay);
				continue;
			}
		}
		if (maybe_applied && resp->status == 409) {
			/* The conflict may be with this very write, applied by the
			 * attempt whose answer was lost (a PUT carries the
			 * resourceVersion it read): the outcome is unknown, not a
			 * change by someone else. */
			rc = kube_error_set(
			        KUBE_ENETWORK,
			        "%s %s: the answer to an earlier attempt was lost and the retry conflicted: the "
			        "change may have been applied; read the object again",
			        verb, path);
			break;
		}
		rc = kube_http_status_error(resp->status, &resp->body, verb, path);
		break;
	}
	kube_free(url);
	return rc;
}

int kube_client_request(kube_client *client, kube_response *resp, const char *verb, const char *path,
                        const char *content_type, const char *body, size_t body_len)
{
	return kube_client_send(client, resp, verb, path, NULL, content_type, body, body_len);
}

int kube_client_request_opts(kube_client *client, kube_response *resp, const char *verb, const char *path,
                             const char *content_type, const char *body, size_t body_len,
                             const kube_request_options *opts)
{
	kube_request_options defaults = KUBE_REQUEST_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	long long deadline_ms = opts->timeout_ms > 0 ? kube_now_ms() + opts->timeout_ms : 0;
	return send_request(client, resp, verb, path, NULL, content_type, body, body_len, deadline_ms,
	                    opts->max_retries >= 0 ? opts->max_retries : client->max_retries);
}

int kube_client_send(kube_client *client, kube_response *resp, const char *verb, const char *path, const char *accept,
                     const char *content_type, const char *body, size_t body_len)
{
	return send_request(client, resp, verb, path, accept, content_type, body, body_len, 0, client->max_retries);
}

int kube_client_request_json(kube_client *client, json_t **out, const char *verb, const char *path,
                             const char *content_type, const json_t *body)
{
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	char *text = NULL;
	int rc;
	if (out)
		*out = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	rc = kube_client_request(client, &resp, verb, path, content_type ? content_type : "application/json", text,
	                         text ? strlen(text) : 0);
	if (rc == 0 && out) {
		json_error_t err;
		*out = json_loadb(kube_buf_cstr(&resp.body), resp.body.len, 0, &err);
		if (!*out)
			rc = kube_error_set(KUBE_EPROTOCOL, "%s %s: response is not JSON: %s", verb, path, err.text);
	}
	kube_free(text);
	kube_response_dispose(&resp);
	return rc;
}
