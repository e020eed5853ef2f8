/* kube-driver's stream commands: exec and port-forward over WebSocket,
 * with HTTP and TCP spoken through the tunnel. Tests only. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kube/client.h>
#include <kube/error.h>
#include <kube/stream.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "driver.h"

static int run_exec(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_exec_options opts = KUBE_EXEC_OPTIONS_INIT;
	kube_exec_result result = KUBE_EXEC_RESULT_INIT;
	opts.container = cli_flag_string(args, "container");
	opts.command = args->positional + 1;
	opts.command_count = args->positional_count - 1;
	opts.stdin_data = cli_flag_string(args, "stdin-data");
	opts.stdin_len = opts.stdin_data ? strlen(opts.stdin_data) : 0;
	opts.timeout_ms = cli_flag_duration_ms(args, "timeout", 30000);
	opts.v4_only = cli_flag_bool(args, "v4-only");
	opts.output_limit = (size_t)cli_flag_long(args, "output-limit", 0);
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_pod_exec(client, &result, kube_client_namespace(client), args->positional[0], &opts));
	fwrite(kube_buf_cstr(&result.out), 1, result.out.len, stdout);
	fflush(stdout);
	fwrite(kube_buf_cstr(&result.err), 1, result.err.len, stderr);
	if (!rc) {
		fprintf(stderr, "kube-driver: protocol=%s exit=%d upgrade_ms=%lld elapsed_ms=%lld truncated=%d\n",
		        result.protocol ? result.protocol : "", result.exit_code, result.upgrade_ms, result.elapsed_ms,
		        result.out_truncated || result.err_truncated);
		if (result.status_reason || result.status_message)
			fprintf(stderr, "kube-driver: reason=%s message=%s\n",
			        result.status_reason ? result.status_reason : "",
			        result.status_message ? result.status_message : "");
		rc = result.exit_code >= 0 ? result.exit_code : CLI_EXIT_FAIL;
	}
	kube_exec_result_dispose(&result);
	disconnect(config, client);
	return rc;
}

static int parse_port(const cli_args *args, const char *text, int *out)
{
	char *end;
	long port = strtol(text, &end, 10);
	if (end == text || *end || port < 1 || port > 65535)
		return cli_usage_error(args, "port %s is not between 1 and 65535", text);
	*out = (int)port;
	return 0;
}

/* The tunnel's socket, handed to libcurl as an already-connected socket. */

/* As the kubelet's HTTP probe: the body is read up to 10 KiB. */
static size_t probe_body(char *data, size_t size, size_t count, void *user)
{
	kube_buf *body = user;
	size_t n = size * count;
	size_t room = body->len < 10240 ? 10240 - body->len : 0;
	if (kube_buf_put(body, data, n < room ? n : room) != 0 || n > room)
		return 0; /* stop reading, as the kubelet does */
	return n;
}

static int open_tunnel(const cli_args *args, kube_client *client, int port, int listen, kube_portforward **pf,
                       long long *rtt)
{
	kube_portforward_options opts = KUBE_PORTFORWARD_OPTIONS_INIT;
	opts.timeout_ms = cli_flag_duration_ms(args, "timeout", 30000);
	opts.listen = listen;
	int rc = report(
	        kube_portforward_open(client, pf, kube_client_namespace(client), args->positional[0], port, &opts));
	*rtt = -1;
	if (!rc && !cli_flag_bool(args, "no-ping"))
		rc = report(kube_portforward_ping(*pf, rtt, 5000));
	return rc;
}

/* --raw: HTTP/1.0 by hand over the socketpair itself, whatever libcurl's
 * version; the status line and the body's size. */
static int raw_get(const cli_args *args, kube_portforward *pf, int port, long long rtt)
{
	char request[2300];
	const char *path = args->positional[2];
	int len = snprintf(request, sizeof(request),
	                   "GET %s%s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: kube-probe/1.36\r\n\r\n",
	                   path[0] == '/' ? "" : "/", path, port);
	int fd = kube_portforward_fd(pf);
	long long start = now_ms();
	if (len < 0 || (size_t)len >= sizeof(request) || write(fd, request, (size_t)len) != len) {
		int err = errno;
		int rc = report(kube_portforward_check(pf, 500)); /* the kubelet may have said why */
		if (!rc) {
			cli_error("write to the tunnel: %s", strerror(err));
			rc = CLI_EXIT_API;
		}
		return rc;
	}
	/* until the reply is complete by its Content-Length, or EOF: kwok
	 * keeps the stream open after the pod's side closed, until we close */
	kube_buf reply = KUBE_BUF_INIT;
	char chunk[4096];
	long long deadline = start + cli_flag_duration_ms(args, "request-time", 10000);
	for (;;) {
		const char *head_end = strstr(kube_buf_cstr(&reply), "\r\n\r\n");
		const char *length = head_end ? strstr(kube_buf_cstr(&reply), "Content-Length: ") : NULL;
		if (length && length < head_end &&
		    reply.len >= (size_t)(head_end + 4 - reply.ptr) + strtoul(length + 16, NULL, 10))
			break;
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0 || kube_buf_put(&reply, chunk, (size_t)n) != 0)
			break;
	}
	long long latency = now_ms() - start;
	const char *text = kube_buf_cstr(&reply);
	const char *body = strstr(text, "\r\n\r\n");
	int rc = report(kube_portforward_check(pf, 0));
	if (!rc && strncmp(text, "HTTP/", 5) != 0) {
		cli_error("no HTTP reply through the tunnel");
		rc = CLI_EXIT_API;
	}
	if (!rc)
		printf("status=%.3s bytes=%zu latency_ms=%lld setup_ms=%lld upgrade_ms=%lld rtt_ms=%lld "
		       "via=socketpair\n",
		       text + strcspn(text, " ") + 1, body ? reply.len - (size_t)(body + 4 - text) : 0, latency,
		       kube_portforward_setup_ms(pf), kube_portforward_upgrade_ms(pf), rtt);
	kube_buf_dispose(&reply);
	return rc;
}

/* portforward-http POD PORT PATH: one GET through a tunnel, as a kubelet
 * HTTP probe sends it (kube-probe User-Agent, no redirects followed, no
 * keep-alive, 10 KiB of body). */
static int run_portforward_http(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_portforward *pf = NULL;
	kube_buf body = KUBE_BUF_INIT;
	struct curl_slist *headers = NULL;
	CURL *easy = NULL;
	long long rtt;
	int port = 0;
	int rc = parse_port(args, args->positional[1], &port);
	if (!rc)
		rc = driver_connect(args, &config, &client);
	int raw = cli_flag_bool(args, "raw");
	int listen = !raw && kube_portforward_curl_needs_listen();
	if (!rc)
		rc = open_tunnel(args, client, port, listen, &pf, &rtt);
	if (!rc && raw) {
		rc = raw_get(args, pf, port, rtt);
		goto done;
	}
	if (!rc && !(easy = curl_easy_init()))
		rc = report(KUBE_ENOMEM);
	if (!rc) {
		const char *path = args->positional[2];
		char url[2048];
		(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s%s", port, path[0] == '/' ? "" : "/", path);
		headers = curl_slist_append(headers, "Accept: */*");
		headers = curl_slist_append(headers, "Connection: close");
		curl_easy_setopt(easy, CURLOPT_URL, url);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_USERAGENT, "kube-probe/1.36");
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_VERBOSE, getenv("DRIVER_CURL_VERBOSE") ? 1L : 0L);
		curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, cli_flag_duration_ms(args, "request-time", 10000));
		kube_portforward_curl_attach(pf, easy);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, probe_body);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
		if (cli_flag_bool(args, "http2"))
			curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		CURLcode res = curl_easy_perform(easy);
		long status = 0;
		curl_off_t total_us = 0;
		char *location = NULL;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
		curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
		if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && status)) {
			/* the kubelet may have said why on the error channel */
			rc = report(kube_portforward_check(pf, 500));
			if (!rc) {
				cli_error("GET %s through the tunnel: %s", url, curl_easy_strerror(res));
				rc = CLI_EXIT_API;
			}
		} else {
			printf("status=%ld bytes=%zu truncated=%d latency_ms=%lld setup_ms=%lld upgrade_ms=%lld "
			       "rtt_ms=%lld "
			       "via=%s\n",
			       status, body.len, res == CURLE_WRITE_ERROR, (long long)(total_us / 1000),
			       kube_portforward_setup_ms(pf), kube_portforward_upgrade_ms(pf), rtt,
			       listen ? "abstract-socket" : "socketpair");
			if (location)
				printf("location=%s\n", location);
			if (cli_flag_bool(args, "body"))
				printf("%s\n", kube_buf_cstr(&body));
		}
	}
done:
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(headers);
	kube_buf_dispose(&body);
	kube_portforward_free(pf);
	disconnect(config, client);
	return rc;
}

/* portforward-tcp POD PORT: a TCP connect through a tunnel; the kubelet
 * reports only failures, so success is no error within --settle. */
static int run_portforward_tcp(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_portforward *pf = NULL;
	long long rtt;
	int port = 0;
	int rc = parse_port(args, args->positional[1], &port);
	if (!rc)
		rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = open_tunnel(args, client, port, 0, &pf, &rtt);
	if (!rc)
		rc = report(kube_portforward_check(pf, cli_flag_duration_ms(args, "settle", 300)));
	if (!rc)
		printf("connected setup_ms=%lld upgrade_ms=%lld rtt_ms=%lld\n", kube_portforward_setup_ms(pf),
		       kube_portforward_upgrade_ms(pf), rtt);
	kube_portforward_free(pf);
	disconnect(config, client);
	return rc;
}

static const cli_flag exec_flags[] = {
        {"container", 'c', CLI_FLAG_STRING, "NAME", "container", NULL},
        {"stdin-data", 0, CLI_FLAG_STRING, "TEXT", "send TEXT on stdin, then close it", NULL},
        {"timeout", 0, CLI_FLAG_DURATION, "DUR", "deadline of the whole exec", NULL},
        {"v4-only", 0, CLI_FLAG_BOOL, NULL, "offer only v4.channel.k8s.io", NULL},
        {"output-limit", 0, CLI_FLAG_INT, "BYTES", "cap on stdout and stderr each", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag portforward_flags[] = {
        {"timeout", 0, CLI_FLAG_DURATION, "DUR", "deadline for the tunnel to open", NULL},
        {"request-time", 0, CLI_FLAG_DURATION, "DUR", "deadline of the HTTP request", NULL},
        {"settle", 0, CLI_FLAG_DURATION, "DUR", "how long to wait for the kubelet to report a failure", NULL},
        {"no-ping", 0, CLI_FLAG_BOOL, NULL, "do not measure the tunnel's round trip", NULL},
        {"body", 0, CLI_FLAG_BOOL, NULL, "print the body read (at most 10 KiB)", NULL},
        {"http2", 0, CLI_FLAG_BOOL, NULL, "HTTP/2 with prior knowledge (h2c)", NULL},
        {"raw", 0, CLI_FLAG_BOOL, NULL, "HTTP/1.0 by hand over the socketpair, without libcurl", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
const cli_command driver_exec_command = {"exec",
                                         "exec POD -- COMMAND [ARG...]",
                                         "run a command in a pod over WebSocket",
                                         NULL,
                                         NULL,
                                         exec_flags,
                                         0,
                                         0,
                                         2,
                                         -1,
                                         run_exec,
                                         NULL};
const cli_command driver_portforward_http_command = {"portforward-http",
                                                     "portforward-http POD PORT PATH",
                                                     "one HTTP GET through a port-forward",
                                                     NULL,
                                                     NULL,
                                                     portforward_flags,
                                                     0,
                                                     0,
                                                     3,
                                                     3,
                                                     run_portforward_http,
                                                     NULL};
const cli_command driver_portforward_tcp_command = {"portforward-tcp",
                                                    "portforward-tcp POD PORT",
                                                    "a TCP connect through a port-forward",
                                                    NULL,
                                                    NULL,
                                                    portforward_flags,
                                                    0,
                                                    0,
                                                    2,
                                                    2,
                                                    run_portforward_tcp,
                                                    NULL};
