/* libFuzzer target for the watch stream: the bytes arrive in pieces, are
 * buffered and split into lines by the splitter kube_watch_next uses, and
 * each line goes through the event decoder. Whatever the pieces, the lines
 * must be exactly the input's lines, what is left buffered its unfinished
 * last line, and each line must decode to an event or be refused with one
 * line saying why.
 *
 * Input: three control bytes, then the stream. The first two choose the
 * pieces (sizes 1..2^(first % 17) from a generator the second seeds, as
 * the transport hands over whatever the socket held); the third, when its
 * high bit is set, caps the buffer at 64..8192 bytes instead of
 * KUBE_WATCH_MAX_LINE, so that appends are refused as one line too large
 * for the cap is. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <kube/watch.h>

#include "watch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *text)
{
	if (!text[0] || strchr(text, '\n'))
		abort(); /* one line, never empty */
}

static void decode(const char *line, size_t len)
{
	kube_watch_event event;
	kube_error_clear();
	int rc = kube_watch_parse_line(&event, line, len);
	if (rc == 0) {
		if (event.type < KUBE_WATCH_ADDED || event.type > KUBE_WATCH_BOOKMARK || !json_is_object(event.object))
			abort();
		/* what kube_watch_next reads from each event */
		json_t *meta = json_object_get(event.object, "metadata");
		(void)json_string_value(json_object_get(meta, "resourceVersion"));
		(void)json_string_value(
		        json_object_get(json_object_get(meta, "annotations"), "k8s.io/initial-events-end"));
		kube_watch_event_dispose(&event);
		if (event.object)
			abort();
		return;
	}
	const kube_error *err = kube_error_last();
	if (event.object || err->code != rc)
		abort();
	if (rc != KUBE_EGONE && rc != KUBE_EFORBIDDEN && rc != KUBE_EPROTOCOL)
		abort();
	if ((rc == KUBE_EGONE) != (err->http_status == 410))
		abort(); /* a 410 is what makes the watch relist */
	check_line(err->message);
	if (strchr(err->reason, '\n') || strchr(err->server_message, '\n'))
		abort();
}

/* Takes every complete line out of stream; *taken counts the input's bytes
 * gone so far, which the lines must match. */
static void drain(kube_buf *stream, const char *text, size_t *taken)
{
	size_t len;
	while (kube_watch_peek_line(stream, &len)) {
		if (len >= stream->len || stream->ptr[len] != '\n' || memchr(stream->ptr, '\n', len) ||
		    memcmp(stream->ptr, text + *taken, len + 1) != 0)
			abort(); /* the next line of the input, whole */
		if (len)         /* kube_watch_next skips empty lines */
			decode(stream->ptr, len);
		kube_watch_drop_line(stream, len);
		*taken += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t max_piece = (size_t)1 << (data[0] % 17);
	uint32_t state = 0x9e3779b9u ^ data[1]; /* xorshift32, never 0 */
	size_t limit = data[2] & 0x80 ? 64 + (size_t)(data[2] & 0x7f) * 64 : KUBE_WATCH_MAX_LINE;
	const char *text = (const char *)data + 3;
	size_t len = size - 3, fed = 0, taken = 0;
	kube_buf stream = KUBE_BUF_INIT;

	stream.limit = limit;
	while (fed < len) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		size_t piece = 1 + state % max_piece;
		if (piece > len - fed)
			piece = len - fed;
		int rc = kube_buf_put(&stream, text + fed, piece);
		if (rc) {
			/* refused only past the cap; the transfer then fails, after
			 * the complete lines already buffered are read */
			if (rc != KUBE_EPROTOCOL || stream.len + piece <= limit)
				abort();
			break;
		}
		fed += piece;
		drain(&stream, text, &taken);
	}
	drain(&stream, text, &taken);
	/* left: the unfinished last line, as it came */
	if (stream.len != fed - taken ||
	    (stream.len && (memchr(stream.ptr, '\n', stream.len) || memcmp(stream.ptr, text + taken, stream.len) != 0)))
		abort();
	kube_buf_dispose(&stream);
	return 0;
}
