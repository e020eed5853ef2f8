/* One probe run now through the API server: httpGet and gRPC with libcurl
 * over a port-forward (an abstract AF_UNIX listener for libcurl < 8, which
 * connect()s even an already-connected socket, curl/curl#10626; the
 * socketpair otherwise), tcpSocket as a port-forward that the kubelet does
 * not report failed, exec with kube_pod_exec. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include <kube/alloc.h>
#include <kube/clock.h>
#include <kube/error.h>
#include <kube/log.h>
#include <kube/stream.h>

#include "exercise.h"
#include "exercise_util.h"

#define TUNNEL_TIMEOUT_MS 10000
#define TUNNEL_TRIES      4
#define TUNNEL_RETRY_MS   1000
#define MAX_REDIRECTS     10

static void fail_api(probecheck_exercise *x, int rc)
{
	const kube_error *e = kube_error_last();
	x->state = PROBECHECK_EXERCISE_FAILED;
	x->api_rc = rc;
	x->http_status = e->http_status;
	(void)snprintf(x->error, sizeof(x->error), "%s", e->message);
	if (*e->server_message && !strstr(e->message, e->server_message))
		(void)snprintf(x->error + strlen(x->error), sizeof(x->error) - strlen(x->error), ": %s",
		               e->server_message);
}

static void set_detail(probecheck_exercise_sample *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_detail(probecheck_exercise_sample *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

/* A stream to the pod that the path to the API server refused or cut
 * (429, 5xx, a reset, an answer that is not an upgrade, a stream that
 * ended early) says nothing about the probe, so it is opened again. Which
 * layer retries what:
 * - libkube's connect (kube_portforward_open) retries an upgrade refused
 *   with 429 or 5xx before the 101, up to 3 times within the tunnel's
 *   timeout, after Retry-After (at most 5 s) or a short backoff; what it
 *   still reports refused is not tried here again.
 * - exec is told not to (max_retries 0): its timeout is the probe's
 *   timeoutSeconds, too short to wait for a Retry-After in and to be spent
 *   on waiting, so a refused exec is run again here, each try with the
 *   whole timeout.
 * - here, TUNNEL_TRIES tries in all, TUNNEL_RETRY_MS apart (the Retry-After
 *   the API server sends with 429 and 503): refused execs, and every
 *   stream reset or cut, before the 101 or after it (libkube never
 *   repeats a stream that was up).
 * What is left after the last try is the API server's failure, not the
 * probe's: the probe is reported not exercised (state failed), never as a
 * failing sample. */
static int transient(int rc)
{
	return rc == KUBE_ENETWORK || rc == KUBE_EPROTOCOL || rc == KUBE_ERROR;
}

/* The last error is an upgrade the API server refused with 429 or 5xx. */
static int refused_upgrade(void)
{
	long status = kube_error_last()->http_status;
	return status == 429 || status >= 500;
}

/* libkube_retried: the call already retried refused upgrades. */
static int retry_after(int rc, int attempt, const char *what, int libkube_retried)
{
	if (!transient(rc) || attempt + 1 >= TUNNEL_TRIES || (libkube_retried && refused_upgrade()))
		return 0;
	kube_log(KUBE_LOG_DECISION, "--exercise: %s: %s; again in %d ms", what, kube_error_last()->message,
	         TUNNEL_RETRY_MS);
	kube_sleep_ms(TUNNEL_RETRY_MS);
	return 1;
}

/* Opens a tunnel to port and measures its round trip (0 when the ping
 * fails). An error is the tunnel's (the kubelet reports a dial that fails
 * on the stream, later), returned after the retries. */
static int open_tunnel(kube_client *client, const probecheck_exercise *x, long port, int listen, kube_portforward **pf,
                       long long *rtt)
{
	kube_portforward_options opts = KUBE_PORTFORWARD_OPTIONS_INIT;
	opts.timeout_ms = TUNNEL_TIMEOUT_MS;
	opts.listen = listen;
	int rc;
	for (int attempt = 0;; attempt++) {
		*rtt = 0;
		*pf = NULL;
		rc = kube_portforward_open(client, pf, x->ns, x->pod, (int)port, &opts);
		if (!rc || !retry_after(rc, attempt, "port-forward", 1))
			break;
	}
	if (!rc && kube_portforward_ping(*pf, rtt, 5000) != 0)
		*rtt = 0;
	return rc;
}

/* ----- libcurl over a tunnel ----- */

struct reply {
	kube_buf body;
	size_t limit;
	int large;
	long grpc_status; /* -1 until a grpc-status header or trailer */
	char grpc_message[160];
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	struct reply *r = user;
	size_t n = size * count;
	size_t room = r->body.len < r->limit ? r->limit - r->body.len : 0;
	if (kube_buf_put(&r->body, data, n < room ? n : room) != 0)
		return 0;
	if (n > room) {
		r->large = 1;
		return 0; /* stop reading, as the kubelet does */
	}
	return n;
}

/* grpc-status and grpc-message, in the headers or (HTTP/2) the trailers. */
static size_t on_header(char *data, size_t size, size_t count, void *user)
{
	struct reply *r = user;
	size_t n = size * count;
	if (n > 12 && strncasecmp(data, "grpc-status:", 12) == 0)
		r->grpc_status = strtol(data + 12, NULL, 10);
	else if (n > 13 && strncasecmp(data, "grpc-message:", 13) == 0) {
		size_t len = n - 13;
		while (len && isspace((unsigned char)data[13 + len - 1]))
			len--;
		(void)snprintf(r->grpc_message, sizeof(r->grpc_message), "%.*s", (int)len, data + 13);
	}
	return n;
}

static CURL *easy_over(kube_portforward *pf, const char *url, struct curl_slist *headers, long timeout_ms,
                       struct reply *r)
{
	CURL *easy = curl_easy_init();
	if (!easy)
		return NULL;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L); /* as the kubelet: HTTPS is not verified */
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
	kube_portforward_curl_attach(pf, easy);
	return easy;
}

/* Why a transfer failed: the kubelet's own report on the error channel
 * (connection refused...) when it made one, else libcurl's. */
static void transfer_failed(probecheck_exercise_sample *s, kube_portforward *pf, CURLcode res, long timeout_s)
{
	if (res == CURLE_OPERATION_TIMEDOUT) {
		set_detail(s, "timeout: no answer within timeoutSeconds (%ld s)", timeout_s);
		return;
	}
	if (kube_portforward_check(pf, 500) != 0) {
		set_detail(s, "%s", kube_error_last()->message);
		return;
	}
	set_detail(s, "%s", curl_easy_strerror(res));
}

/* The URL's port, with the scheme's default; 0 when it does not parse. */
static long url_port(const char *url)
{
	CURLU *u = curl_url();
	char *port = NULL;
	long n = 0;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && port)
		n = strtol(port, NULL, 10);
	curl_free(port);
	curl_url_cleanup(u);
	return n;
}

static int append(struct curl_slist **list, const char *line)
{
	struct curl_slist *grown = curl_slist_append(*list, line);
	if (!grown)
		return -1;
	*list = grown;
	return 0;
}

/* The kubelet's request headers: httpHeaders as given (an empty value
 * removes User-Agent or Accept, else is sent empty), then User-Agent and
 * Accept when not given, and no keep-alive. NULL when out of memory. */
static struct curl_slist *http_headers(const probecheck_exercise *x, const char *user_agent)
{
	struct curl_slist *list = NULL;
	int has_agent = 0, has_accept = 0, failed = 0;
	char line[2048];
	size_t i;
	const json_t *header;
	json_array_foreach(x->probe.headers, i, header)
	{
		const char *name = json_string_value(json_object_get(header, "name"));
		const char *value = json_string_value(json_object_get(header, "value"));
		if (!name || !*name)
			continue;
		int agent = strcasecmp(name, "User-Agent") == 0, accept = strcasecmp(name, "Accept") == 0;
		has_agent |= agent;
		has_accept |= accept;
		if (!value || !*value)
			(void)snprintf(line, sizeof(line), "%s%s", name, agent || accept ? ":" : ";");
		else
			(void)snprintf(line, sizeof(line), "%s: %s", name, value);
		failed |= append(&list, line);
	}
	(void)snprintf(line, sizeof(line), "User-Agent: %s", user_agent);
	if (!has_agent)
		failed |= append(&list, line);
	if (!has_accept)
		failed |= append(&list, "Accept: */*");
	failed |= append(&list, "Connection: close");
	if (failed) {
		curl_slist_free_all(list);
		return NULL;
	}
	return list;
}

/* The host in the probe's URL: the pod IP as the kubelet dials it. */
static void host_part(char *buf, size_t size, const probecheck_exercise *x)
{
	const char *ip = x->pod_ip && *x->pod_ip ? x->pod_ip : "127.0.0.1";
	(void)snprintf(buf, size, strchr(ip, ':') ? "[%s]" : "%s", ip);
}

static int http_sample(kube_client *client, probecheck_exercise *x, probecheck_exercise_sample *s,
                       const char *user_agent)
{
	char host[80], url[2400];
	int listen = kube_portforward_curl_needs_listen();
	struct curl_slist *headers = http_headers(x, user_agent);
	if (!headers)
		return KUBE_ENOMEM;
	host_part(host, sizeof(host), x);
	const char *scheme = strcasecmp(x->probe.scheme, "HTTPS") == 0 ? "https" : "http";
	(void)snprintf(url, sizeof(url), "%s://%s:%ld%s%s", scheme, host, x->probe.port,
	               x->probe.path[0] == '/' ? "" : "/", x->probe.path);
	const char *hostname = x->pod_ip && *x->pod_ip ? x->pod_ip : "127.0.0.1";
	long port = x->probe.port;
	int rc = 0;
	s->tunnel_ms = 0;
	for (int hop = 0;; hop++) {
		kube_portforward *pf = NULL;
		long long rtt;
		struct reply r = {KUBE_BUF_INIT, PROBECHECK_BODY_LIMIT, 0, -1, ""};
		if ((rc = open_tunnel(client, x, port, listen, &pf, &rtt)))
			break;
		s->tunnel_ms += rtt;
		CURL *easy = easy_over(pf, url, headers, x->probe.timeout * 1000 + (long)rtt, &r);
		if (!easy) {
			kube_portforward_free(pf);
			rc = KUBE_ENOMEM;
			break;
		}
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		CURLcode res = curl_easy_perform(easy);
		long status = 0;
		curl_off_t total_us = 0;
		char *location = NULL;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
		curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
		s->raw_ms += (long long)(total_us / 1000);
		int next = 0;
		if (r.large)
			x->large_body = 1;
		if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && r.large && status)) {
			transfer_failed(s, pf, res, x->probe.timeout);
		} else if (status >= 300 && status < 400 && location && probecheck_same_hostname(location, hostname)) {
			if (hop + 1 >= MAX_REDIRECTS) {
				set_detail(s, "stopped after %d redirects", MAX_REDIRECTS);
			} else {
				(void)snprintf(url, sizeof(url), "%s", location);
				port = url_port(url);
				x->redirects_followed = 1;
				next = port > 0;
				if (!next)
					set_detail(s, "redirect to %s: no port to forward", location);
			}
		} else if (status >= 300 && status < 400) {
			s->ok = 1;
			x->redirect_cross_host = 1;
			(void)snprintf(x->location, sizeof(x->location), "%s", location ? location : "");
			set_detail(s, "HTTP %ld: Probe terminated redirects (to %s)", status,
			           location ? location : "no Location");
		} else if (status >= 200 && status < 400) {
			s->ok = 1;
			set_detail(s, "HTTP %ld%s", status, r.large ? ", body over 10 KiB (10 KiB read)" : "");
		} else {
			set_detail(s, "HTTP probe failed with statuscode: %ld", status);
		}
		curl_easy_cleanup(easy);
		kube_buf_dispose(&r.body);
		kube_portforward_free(pf);
		if (!next)
			break;
	}
	curl_slist_free_all(headers);
	return rc;
}

/* ----- gRPC health over HTTP/2 (prior knowledge) ----- */

static int grpc_sample(kube_client *client, probecheck_exercise *x, probecheck_exercise_sample *s,
                       const char *user_agent)
{
	char host[80], url[256], agent[128], deadline[64];
	kube_buf request = KUBE_BUF_INIT;
	struct reply r = {KUBE_BUF_INIT, 65536, 0, -1, ""};
	struct curl_slist *headers = NULL;
	kube_portforward *pf = NULL;
	int listen = kube_portforward_curl_needs_listen(), failed = 0;
	long long rtt;
	host_part(host, sizeof(host), x);
	(void)snprintf(url, sizeof(url), "http://%s:%ld/grpc.health.v1.Health/Check", host, x->probe.port);
	(void)snprintf(agent, sizeof(agent), "User-Agent: %s", user_agent);
	(void)snprintf(deadline, sizeof(deadline), "grpc-timeout: %ldm", x->probe.timeout * 1000);
	const char *lines[] = {"Content-Type: application/grpc", "TE: trailers", agent, deadline, "Accept:", "Expect:"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		failed |= append(&headers, lines[i]);
	int rc = failed ? KUBE_ENOMEM : probecheck_grpc_health_request(&request, x->probe.grpc_service);
	if (rc || (rc = open_tunnel(client, x, x->probe.port, listen, &pf, &rtt)))
		goto done;
	s->tunnel_ms = rtt;
	CURL *easy = easy_over(pf, url, headers, x->probe.timeout * 1000 + (long)rtt, &r);
	if (!easy) {
		rc = KUBE_ENOMEM;
		goto done;
	}
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.ptr);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)request.len);
	CURLcode res = curl_easy_perform(easy);
	long status = 0, health = 0;
	curl_off_t total_us = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
	s->raw_ms = (long long)(total_us / 1000);
	if (res != CURLE_OK)
		transfer_failed(s, pf, res, x->probe.timeout);
	else if (status != 200)
		set_detail(s, "HTTP %ld instead of a gRPC answer", status);
	else if (r.grpc_status == 12)
		set_detail(s,
		           "error: this server does not implement the grpc health protocol "
		           "(grpc.health.v1.Health): %s",
		           r.grpc_message);
	else if (r.grpc_status != 0)
		set_detail(s, "rpc error: grpc-status %ld desc = %s", r.grpc_status, r.grpc_message);
	else if (probecheck_grpc_health_status((const unsigned char *)r.body.ptr, r.body.len, &health))
		set_detail(s, "malformed HealthCheckResponse (%zu bytes)", r.body.len);
	else if (health != 1)
		set_detail(s, "service unhealthy (responded with \"%s\")", probecheck_grpc_status_name(health));
	else {
		s->ok = 1;
		set_detail(s, "SERVING");
	}
	curl_easy_cleanup(easy);
done:
	kube_portforward_free(pf);
	curl_slist_free_all(headers);
	kube_buf_dispose(&request);
	kube_buf_dispose(&r.body);
	return rc;
}

/* ----- tcpSocket: the kubelet reports only a failed connect ----- */

static int tcp_sample(kube_client *client, probecheck_exercise *x, probecheck_exercise_sample *s)
{
	kube_portforward *pf = NULL;
	long long rtt;
	int rc = open_tunnel(client, x, x->probe.port, 0, &pf, &rtt);
	if (rc)
		return rc;
	/* long enough for the kubelet's dial to fail and its report to come back */
	long settle = (long)(300 + 3 * rtt);
	if (settle > x->probe.timeout * 1000)
		settle = x->probe.timeout * 1000;
	s->tunnel_ms = rtt;
	s->raw_ms = kube_portforward_setup_ms(pf);
	if (kube_portforward_check(pf, settle) != 0)
		set_detail(s, "%s", kube_error_last()->message);
	else {
		s->ok = 1;
		set_detail(s, "connected (no error from the kubelet within %ld ms)", settle);
	}
	kube_portforward_free(pf);
	return 0;
}

/* ----- exec ----- */

static void first_line(char *buf, size_t size, const kube_buf *out, const kube_buf *err)
{
	const char *text = err->len ? kube_buf_cstr(err) : kube_buf_cstr(out);
	size_t len = strcspn(text, "\n");
	(void)snprintf(buf, size, "%.*s", (int)(len < 200 ? len : 200), text);
}

static int exec_sample(kube_client *client, probecheck_exercise *x, probecheck_exercise_sample *s,
                       const char *const *argv, size_t argc)
{
	kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	kube_exec_result result = KUBE_EXEC_RESULT_INIT;
	char output[256];
	opts.container = x->container;
	opts.command = argv;
	opts.command_count = argc;
	opts.timeout_ms = x->probe.timeout * 1000;
	opts.output_limit = PROBECHECK_BODY_LIMIT;
	opts.max_retries = 0; /* refusals are retried below, each try with the whole timeout */
	int rc;
	/* a stream refused, or cut before the exit status came back, is run
	 * again: the kubelet runs a probe's command again and again anyway */
	for (int attempt = 0;; attempt++) {
		rc = kube_pod_exec(client, &result, x->ns, x->pod, &opts);
		if (!rc || !retry_after(rc, attempt, "exec", 0))
			break;
		kube_exec_result_dispose(&result); /* empty again, for the next try */
	}
	s->raw_ms = result.elapsed_ms;
	s->tunnel_ms = -1;
	if (rc == KUBE_ETIMEOUT) {
		set_detail(s, "command timed out after timeoutSeconds (%ld s, connecting included)", x->probe.timeout);
		rc = 0;
	} else if (!rc) {
		first_line(output, sizeof(output), &result.out, &result.err);
		const char *message = result.status_message ? result.status_message : output;
		if (probecheck_exec_missing_binary(result.exit_code, message))
			x->missing_binary = 1;
		if (result.exit_code == 0) {
			s->ok = 1;
			set_detail(s, "exit 0");
		} else if (result.exit_code > 0) {
			set_detail(s, "exit %d%s%s", result.exit_code, *output ? ": " : "", output);
		} else {
			set_detail(s, "%s: %s", result.status_reason ? result.status_reason : "no exit status",
			           message);
		}
	}
	kube_exec_result_dispose(&result);
	return rc;
}

/* The exec probe's argv, $(VAR) expanded from the container's env. */
static int exec_argv(const probecheck_exercise *x, char ***out, size_t *count)
{
	const json_t *env = json_object_get(x->container_spec, "env");
	size_t n = json_array_size(x->probe.command);
	char **argv = kube_calloc(n ? n : 1, sizeof(*argv));
	if (!argv)
		return KUBE_ENOMEM;
	*out = argv;
	*count = n;
	for (size_t i = 0; i < n; i++) {
		kube_buf arg = KUBE_BUF_INIT;
		const char *text = json_string_value(json_array_get(x->probe.command, i));
		if (probecheck_expand_arg(&arg, text ? text : "", env) || !(argv[i] = kube_buf_detach(&arg))) {
			kube_buf_dispose(&arg);
			return KUBE_ENOMEM;
		}
	}
	return 0;
}

static void free_argv(char **argv, size_t count)
{
	for (size_t i = 0; argv && i < count; i++)
		kube_free(argv[i]);
	kube_free(argv);
}

static int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static void not_exercised(probecheck_exercise *x, const char *why)
{
	x->state = PROBECHECK_NOT_EXERCISED;
	(void)snprintf(x->error, sizeof(x->error), "%s", why);
}

void probecheck_exercise_probe(kube_client *client, probecheck_exercise *x, int samples, const char *user_agent)
{
	char **argv = NULL;
	size_t argc = 0;
	enum probecheck_handler h = x->probe.handler;
	const char *why = NULL;
	if (h != PROBECHECK_HANDLER_EXEC && x->probe.port_state != PROBECHECK_PORT_STATE_OK)
		why = "the probe's port does not resolve (see the correctness findings)";
	else if (h == PROBECHECK_HANDLER_GRPC && !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2))
		why = "this libcurl has no HTTP/2, which gRPC needs";
	else if (h == PROBECHECK_HANDLER_EXEC && !json_array_size(x->probe.command))
		why = "exec.command is empty";
	if (why) {
		not_exercised(x, why);
		return;
	}
	if (h == PROBECHECK_HANDLER_EXEC && exec_argv(x, &argv, &argc)) {
		free_argv(argv, argc);
		not_exercised(x, "out of memory");
		return;
	}
	int rc = 0;
	for (int i = 0; i < samples && i < PROBECHECK_EXERCISE_MAX_SAMPLES && !rc; i++) {
		probecheck_exercise_sample *s = &x->samples[x->sample_count];
		memset(s, 0, sizeof(*s));
		switch (h) {
		case PROBECHECK_HANDLER_HTTP:
			rc = http_sample(client, x, s, user_agent);
			break;
		case PROBECHECK_HANDLER_GRPC:
			rc = grpc_sample(client, x, s, user_agent);
			break;
		case PROBECHECK_HANDLER_TCP:
			rc = tcp_sample(client, x, s);
			break;
		case PROBECHECK_HANDLER_EXEC:
			rc = exec_sample(client, x, s, (const char *const *)argv, argc);
			break;
		case PROBECHECK_HANDLER_NONE:
			break;
		}
		if (rc)
			break;
		s->ms = s->tunnel_ms > 0 && s->raw_ms > s->tunnel_ms ? s->raw_ms - s->tunnel_ms
		        : s->tunnel_ms > 0                           ? 0
		                                                     : s->raw_ms;
		x->sample_count++;
	}
	free_argv(argv, argc);
	if (rc) {
		fail_api(x, rc);
		return;
	}
	long long rtts[PROBECHECK_EXERCISE_MAX_SAMPLES];
	size_t n = 0;
	for (size_t i = 0; i < x->sample_count; i++)
		if (x->samples[i].tunnel_ms >= 0)
			rtts[n++] = x->samples[i].tunnel_ms;
	if (n) {
		qsort(rtts, n, sizeof(rtts[0]), compare_ll);
		x->tunnel_ms = rtts[n / 2];
	}
}
