/* Fuzz target: the stream channel demultiplexer and the status channel's
 * parser on arbitrary bytes. The first byte picks the mode (v5 or v4,
 * port prefixes or not); the rest is cut into WebSocket fragments by
 * length bytes, and whatever reaches the status channel is parsed as the
 * exec code path does. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	kube_buf status;
	size_t bytes;
};

static int on_channel(void *user, int channel, const unsigned char *data, size_t len)
{
	struct sink *sink = user;
	sink->bytes += len;
	if (channel == KUBE_WS_STATUS && len)
		return kube_buf_put(&sink->status, data, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct kube_ws_demux demux;
	struct sink sink = {KUBE_BUF_INIT, 0};
	sink.status.limit = 64 * 1024;
	kube_ws_demux_init(&demux, data[0] & 1, (data[0] >> 1) & 1);
	size_t at = 1;
	int first = 1;
	/* [length byte, flags byte, payload...]: flags bit 0 = final */
	while (at + 2 <= size) {
		size_t len = data[at];
		int final = data[at + 1] & 1;
		at += 2;
		if (len > size - at)
			len = size - at;
		if (kube_ws_demux_feed(&demux, data + at, len, first, final, on_channel, &sink) != 0)
			break;
		at += len;
		first = final;
	}
	(void)kube_ws_demux_ports_seen(&demux);
	int exit_code;
	char *reason = NULL, *message = NULL;
	if (kube_exec_status_parse(kube_buf_cstr(&sink.status), sink.status.len, &exit_code, &reason, &message) == 0 &&
	    (exit_code < -1 || exit_code > 255))
		__builtin_trap();
	kube_free(reason);
	kube_free(message);
	unsigned char frame[64];
	(void)kube_ws_frame(frame, sizeof(frame), data[0], data + 1,
	                    size - 1 < sizeof(frame) ? size - 1 : sizeof(frame));
	kube_buf_dispose(&sink.status);
	return 0;
}
