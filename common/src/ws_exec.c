/* exec over WebSocket: GET .../pods/POD/exec upgraded to v5.channel.k8s.io
 * (v4.channel.k8s.io as the fallback, as client-go offers them), stdout and
 * stderr collected, stdin sent and half-closed, and the command's end read
 * from the status channel (a metav1.Status). */
#include <assert.h>
#include <string.h>

#include <jansson.h>

#include "client_internal.h"
#include "internal.h"
#include "ws.h"

#define EXEC_DEFAULT_OUTPUT (1024UL * 1024)
#define EXEC_MAX_STATUS     (64UL * 1024)
#define EXEC_STDIN_CHUNK    16384

struct exec_session {
	struct kube_ws ws;
	struct kube_ws_demux demux;
	kube_exec_result *result;
	size_t limit;
	kube_buf status;
	int in_status;  /* the message being received is on the status channel */
	int status_end; /* a whole status message arrived */
	char protocol_error[256];
	const unsigned char *stdin_data;
	size_t stdin_len, stdin_sent;
	int stdin_closed;
	int v5;
	unsigned char frame[KUBE_WS_PRE + 1 + EXEC_STDIN_CHUNK];
};

int kube_exec_path(kube_buf *out, const char *ns, const char *pod, const kube_exec_options *opts)
{
	if (!opts->command || opts->command_count == 0)
		return kube_error_set(KUBE_EINVALID, "exec: no command given");
	int rc = kube_buf_puts(out, "/api/v1/namespaces/");
	if (!rc)
		rc = kube_buf_put_urlescaped(out, ns);
	if (!rc)
		rc = kube_buf_puts(out, "/pods/");
	if (!rc)
		rc = kube_buf_put_urlescaped(out, pod);
	if (!rc)
		rc = kube_buf_puts(out, "/exec?");
	for (size_t i = 0; !rc && i < opts->command_count; i++) {
		rc = kube_buf_puts(out, i ? "&command=" : "command=");
		if (!rc)
			rc = kube_buf_put_urlescaped(out, opts->command[i] ? opts->command[i] : "");
	}
	if (!rc && opts->container && *opts->container) {
		rc = kube_buf_puts(out, "&container=");
		if (!rc)
			rc = kube_buf_put_urlescaped(out, opts->container);
	}
	if (!rc && opts->stdin_data)
		rc = kube_buf_puts(out, "&stdin=true");
	if (!rc)
		rc = kube_buf_puts(out, "&stdout=true&stderr=true");
	return rc;
}

/* "exit status N" (Go's exec.ExitError text) in a failure's message: kwok
 * and some runtimes report a non-zero exit that way, as an InternalError
 * without an ExitCode cause. The last occurrence wins. */
static int exit_status_in(const char *message)
{
	static const char marker[] = "exit status ";
	int code = -1;
	for (const char *at = message ? strstr(message, marker) : NULL; at; at = strstr(at + 1, marker)) {
		const char *digits = at + sizeof(marker) - 1;
		char *end;
		long value = strtol(digits, &end, 10);
		if (end != digits && *digits >= '0' && *digits <= '9' && value >= 1 && value <= 255)
			code = (int)value;
	}
	return code;
}

static int exit_code_cause(const json_t *status)
{
	size_t i;
	json_t *cause;
	json_array_foreach(json_object_get(json_object_get(status, "details"), "causes"), i, cause)
	{
		const char *reason = json_string_value(json_object_get(cause, "reason"));
		const char *message = json_string_value(json_object_get(cause, "message"));
		if (!reason || strcmp(reason, "ExitCode") != 0 || !message)
			continue;
		char *end;
		long value = strtol(message, &end, 10);
		/* client-go: strconv.ParseUint(message, 10, 8) */
		if (end != message && !*end && *message >= '0' && *message <= '9' && value <= 255)
			return (int)value;
	}
	return -1;
}

int kube_exec_status_parse(const char *json, size_t len, int *out_exit_code, char **out_reason, char **out_message)
{
	*out_exit_code = -1;
	*out_reason = *out_message = NULL;
	json_error_t err;
	json_t *status = json_loadb(json, len, 0, &err);
	if (!json_is_object(status)) {
		json_decref(status);
		return kube_error_set(KUBE_EPROTOCOL, "status channel: not a Status object");
	}
	const char *state = json_string_value(json_object_get(status, "status"));
	int rc = 0;
	if (state && strcmp(state, "Success") == 0) {
		*out_exit_code = 0;
	} else if (!state || strcmp(state, "Failure") != 0) {
		rc = kube_error_set(KUBE_EPROTOCOL, "status channel: unknown status \"%s\"", state ? state : "");
	} else {
		const char *reason = json_string_value(json_object_get(status, "reason"));
		const char *message = json_string_value(json_object_get(status, "message"));
		*out_reason = reason ? kube_strdup(reason) : NULL;
		*out_message = message ? kube_strdup(message) : NULL;
		if ((reason && !*out_reason) || (message && !*out_message))
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		if (reason && strcmp(reason, "NonZeroExitCode") == 0)
			*out_exit_code = exit_code_cause(status);
		if (*out_exit_code < 0)
			*out_exit_code = exit_status_in(message);
	}
	json_decref(status);
	if (rc) {
		kube_free(*out_reason);
		kube_free(*out_message);
		*out_reason = *out_message = NULL;
		*out_exit_code = -1;
	}
	return rc;
}

/* ----- the session (loop thread) ----- */

static void keep_output(kube_buf *buf, int *truncated, size_t limit, const unsigned char *data, size_t len)
{
	size_t room = buf->len < limit ? limit - buf->len : 0;
	if (len > room) {
		*truncated = 1;
		len = room;
	}
	if (len && kube_buf_put(buf, data, len) != 0)
		*truncated = 1;
}

static int on_channel(void *user, int channel, const unsigned char *data, size_t len)
{
	struct exec_session *s = user;
	switch (channel) {
	case KUBE_WS_STDOUT:
		keep_output(&s->result->out, &s->result->out_truncated, s->limit, data, len);
		return 0;
	case KUBE_WS_STDERR:
		keep_output(&s->result->err, &s->result->err_truncated, s->limit, data, len);
		return 0;
	case KUBE_WS_STATUS:
		s->in_status = 1;
		if (len && kube_buf_put(&s->status, data, len) != 0)
			return kube_error_set(KUBE_EPROTOCOL, "status channel: more than %lu bytes", EXEC_MAX_STATUS);
		return 0;
	default:
		return 0; /* nothing else is meant for the client */
	}
}

static void protocol_failure(struct exec_session *s)
{
	pthread_mutex_lock(&s->ws.lock);
	(void)snprintf(s->protocol_error, sizeof(s->protocol_error), "%s", kube_error_last()->message);
	pthread_mutex_unlock(&s->ws.lock);
}

static int exec_established(struct kube_ws *ws)
{
	struct exec_session *s = ws->user;
	pthread_mutex_lock(&ws->lock);
	s->v5 = strcmp(ws->protocol, KUBE_WS_V5) == 0;
	pthread_mutex_unlock(&ws->lock);
	kube_ws_demux_init(&s->demux, s->v5, 0);
	if (s->stdin_data)
		kube_ws_want_write(ws);
	return 0;
}

static int exec_receive(struct kube_ws *ws, const unsigned char *data, size_t len, int first, int final)
{
	struct exec_session *s = ws->user;
	if (first)
		s->in_status = 0;
	if (kube_ws_demux_feed(&s->demux, data, len, first, final, on_channel, s) != 0) {
		protocol_failure(s);
		return -1;
	}
	if (final && s->in_status && !s->status_end) {
		/* the status is the last word: close rather than wait for the server */
		s->status_end = 1;
		pthread_mutex_lock(&ws->lock);
		ws->close_requested = 1;
		pthread_mutex_unlock(&ws->lock);
		kube_ws_want_write(ws);
	}
	return 0;
}

static int exec_writable(struct kube_ws *ws)
{
	struct exec_session *s = ws->user;
	unsigned char *frame = s->frame + KUBE_WS_PRE;
	size_t cap = sizeof(s->frame) - KUBE_WS_PRE;
	size_t len;
	if (s->stdin_sent < s->stdin_len) {
		size_t chunk = s->stdin_len - s->stdin_sent;
		chunk = chunk > EXEC_STDIN_CHUNK ? EXEC_STDIN_CHUNK : chunk;
		len = kube_ws_frame(frame, cap, KUBE_WS_STDIN, s->stdin_data + s->stdin_sent, chunk);
		s->stdin_sent += chunk;
	} else if (s->v5 && !s->stdin_closed) {
		/* v5 only: v4 has no way to tell the command its stdin ended */
		unsigned char channel = KUBE_WS_STDIN;
		len = kube_ws_frame(frame, cap, KUBE_WS_CLOSE, &channel, 1);
		s->stdin_closed = 1;
	} else {
		return 0;
	}
	if (kube_ws_send(ws, s->frame, len) != 0)
		return -1;
	if (s->stdin_sent < s->stdin_len || (s->v5 && !s->stdin_closed))
		kube_ws_want_write(ws);
	return 0;
}

static const struct kube_ws_ops exec_ops = {
        exec_established, exec_receive, exec_writable, NULL, NULL, NULL, NULL, NULL,
};

/* ----- the caller's side ----- */

/* Turns what the session saw into the result or an error. */
static int finish(struct exec_session *s, kube_client *client, const char *path, int timed_out, long timeout_ms)
{
	kube_exec_result *out = s->result;
	struct kube_ws *ws = &s->ws;
	if (ws->protocol[0] && !out->protocol) {
		out->protocol = kube_strdup(ws->protocol);
		if (!out->protocol)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	out->upgrade_ms = ws->upgraded_ms;
	if (s->protocol_error[0])
		return kube_error_set(KUBE_EPROTOCOL, "exec: GET %s: %s", path, s->protocol_error);
	if (!ws->established) {
		if (timed_out)
			return kube_error_set(KUBE_ETIMEOUT, "exec: GET %s: no answer within %ld ms", path, timeout_ms);
		return kube_ws_failure_error(ws, client, path, "exec");
	}
	kube_log(KUBE_LOG_DECISION, "exec: negotiated %s", ws->protocol[0] ? ws->protocol : "(none)");
	if (!s->status.len) {
		if (timed_out)
			return kube_error_set(KUBE_ETIMEOUT, "exec: GET %s: the command did not end within %ld ms",
			                      path, timeout_ms);
		return kube_error_set(KUBE_ENETWORK,
		                      "exec: GET %s: the connection closed before the command's status%s%s", path,
		                      ws->failure[0] ? ": " : "", ws->failure);
	}
	int rc = kube_exec_status_parse(s->status.ptr, s->status.len, &out->exit_code, &out->status_reason,
	                                &out->status_message);
	if (rc)
		return kube_error_wrap("exec: GET %s", path);
	kube_log(KUBE_LOG_DECISION, "exec: exit code %d%s%s", out->exit_code, out->status_message ? ": " : "",
	         out->status_message ? out->status_message : "");
	return 0;
}

/* One attempt. When the API server refused its upgrade and the attempt is
 * to be made again (kube_ws_retry_due), returns KUBE_ENETWORK with
 * retry->delay_ms >= 0 and without asking for the refusal's Status. */
static int exec_once(kube_client *client, kube_exec_result *out, const char *path, const kube_exec_options *opts,
                     long long deadline, struct kube_ws_retry *retry)
{
	struct exec_session *s = kube_calloc(1, sizeof(*s));
	if (!s)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	s->result = out;
	s->limit = opts->output_limit ? opts->output_limit : EXEC_DEFAULT_OUTPUT;
	s->status.limit = EXEC_MAX_STATUS;
	s->stdin_data = opts->stdin_data;
	s->stdin_len = opts->stdin_data ? opts->stdin_len : 0;
	int rc = kube_ws_prepare(&s->ws, client, path, opts->v4_only ? KUBE_WS_V4 : KUBE_WS_V5 ", " KUBE_WS_V4);
	if (!rc) {
		s->ws.ops = &exec_ops;
		s->ws.user = s;
		rc = kube_ws_start(&s->ws);
	}
	if (!rc) {
		int timed_out = kube_ws_wait(&s->ws, deadline, kube_ws_is_done) == KUBE_ETIMEOUT;
		if (timed_out)
			kube_ws_close(&s->ws);
		if (!timed_out && kube_ws_retry_due(retry, client, &s->ws, "exec", path, deadline))
			rc = kube_error_set(KUBE_ENETWORK, "exec: GET %s: HTTP %ld before the upgrade", path,
			                    retry->status);
		else
			rc = finish(s, client, path, timed_out, opts->timeout_ms);
	}
	kube_ws_dispose(&s->ws);
	kube_buf_dispose(&s->status);
	kube_free(s);
	return rc;
}

int kube_pod_exec(kube_client *client, kube_exec_result *out, const char *ns, const char *pod,
                  const kube_exec_options *opts)
{
	assert(client && out && ns && pod && opts);
	kube_exec_result empty = KUBE_EXEC_RESULT_INIT;
	*out = empty;
	out->exit_code = -1;
	kube_buf path = KUBE_BUF_INIT;
	long long start = kube_now_ms();
	long long deadline = opts->timeout_ms > 0 ? start + opts->timeout_ms : 0;
	struct kube_ws_retry retry;
	kube_ws_retry_init(&retry, client, opts->max_retries);
	int rc = kube_exec_path(&path, ns, pod, opts);
	while (!rc) {
		retry.delay_ms = -1;
		rc = exec_once(client, out, path.ptr, opts, deadline, &retry);
		/* refused before the 101 (a 401, a 429 or 5xx): nothing ran */
		if (!rc || retry.delay_ms < 0)
			break;
		kube_sleep_ms(retry.delay_ms);
		rc = 0;
	}
	out->elapsed_ms = kube_now_ms() - start;
	kube_buf_dispose(&path);
	return rc;
}

void kube_exec_result_dispose(kube_exec_result *result)
{
	if (!result)
		return;
	kube_buf_dispose(&result->out);
	kube_buf_dispose(&result->err);
	kube_free(result->status_reason);
	kube_free(result->status_message);
	kube_free(result->protocol);
	kube_exec_result empty = KUBE_EXEC_RESULT_INIT;
	*result = empty;
}
