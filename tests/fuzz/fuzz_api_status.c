/* libFuzzer target for what a non-2xx reply turns into: each response
 * header line is read as the request loop reads it (Retry-After, which
 * spaces the retries of a 429 or 503, and Date, the server's clock), and
 * the body as the API server's Status by kube_http_status_error. The error
 * must carry the code the status maps to, the status itself, and one line
 * naming the request with the server's message when there is one.
 *
 * Input: two bytes of HTTP status (big-endian, modulo 1000), then the
 * header lines up to the first empty one, then the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kube/buf.h>
#include <kube/error.h>

#include "client_internal.h"
#include "http_internal.h"

#define VERB "GET"
#define PATH "/api/v1/namespaces/ns/pods/x"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int expected_code(long status)
{
	switch (status) {
	case 400:
	case 422:
		return KUBE_EINVALID;
	case 401:
		return KUBE_EAUTH;
	case 403:
		return KUBE_EFORBIDDEN;
	case 404:
		return KUBE_ENOTFOUND;
	case 409:
		return KUBE_ECONFLICT;
	case 410:
		return KUBE_EGONE;
	case 504:
		return KUBE_ETIMEOUT;
	default:
		return status >= 500 || status == 429 ? KUBE_ENETWORK : KUBE_EPROTOCOL;
	}
}

static void header_line(kube_client *client, const char *line, size_t len)
{
	long seconds = kube_http_retry_after(line, len);
	if (seconds < -1 || (seconds >= 0 && (len < 12 || strncasecmp(line, "Retry-After:", 12) != 0)))
		abort();
	kube_client_note_header(client, line, len);
	if (client->has_server_date && client->server_date_ms % 1000 != 0)
		abort(); /* Date has whole seconds */
	(void)kube_client_server_now_ms(client);
}

static void status_error(long status, const kube_buf *body)
{
	static const char prefix[] = VERB " " PATH ": ";
	kube_error_clear();
	int rc = kube_http_status_error(status, body, VERB, PATH);
	const kube_error *err = kube_error_last();
	if (rc != expected_code(status) || err->code != rc || err->http_status != status)
		abort();
	if (strncmp(err->message, prefix, sizeof(prefix) - 1) != 0 || strchr(err->message, '\n'))
		abort(); /* one line naming the request */
	if (strchr(err->reason, '\n') || strchr(err->server_message, '\n'))
		abort();
	/* the server's message, as far as the line holds it */
	const char *said = err->message + sizeof(prefix) - 1;
	if (err->server_message[0] && strncmp(said, err->server_message, strlen(said)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	long status = (long)(((unsigned)data[0] << 8 | data[1]) % 1000);
	const char *text = (const char *)data + 2;
	size_t len = size - 2, at = 0;
	kube_client client;
	kube_buf body = KUBE_BUF_INIT;

	memset(&client, 0, sizeof(client));
	while (at < len) {
		const char *newline = memchr(text + at, '\n', len - at);
		size_t line_len = newline ? (size_t)(newline - (text + at)) + 1 : len - at;
		const char *line = text + at;
		at += line_len;
		if ((line_len == 1 && line[0] == '\n') || (line_len == 2 && line[0] == '\r' && line[1] == '\n'))
			break; /* the end of the headers */
		header_line(&client, line, line_len);
	}
	body.limit = KUBE_MAX_RESPONSE_BYTES;
	if (kube_buf_put(&body, text + at, len - at) != 0)
		abort();
	status_error(status, &body);
	kube_buf_dispose(&body);
	return 0;
}
