/* The framing of the *.channel.k8s.io WebSocket subprotocols: every
 * message starts with its channel's number; v5 adds a close signal
 * ([255, channel]); port-forward's channels each begin with the port. */
#include <string.h>

#include "internal.h"
#include "ws.h"

void kube_ws_demux_init(struct kube_ws_demux *demux, int v5, int port_prefix)
{
	memset(demux, 0, sizeof(*demux));
	demux->v5 = v5;
	demux->port_prefix = port_prefix;
	demux->channel = -1;
}

int kube_ws_demux_ports_seen(const struct kube_ws_demux *demux)
{
	return demux->prefix_seen[0] == 2 && demux->prefix_seen[1] == 2;
}

int kube_ws_demux_feed(struct kube_ws_demux *demux, const unsigned char *data, size_t len, int first, int final,
                       kube_ws_channel_fn fn, void *user)
{
	if (first) {
		if (demux->in_message)
			return kube_error_set(KUBE_EPROTOCOL, "stream: a new message began inside another");
		if (len == 0 && final)
			return 0; /* an empty message carries nothing, not even a channel */
		if (len == 0)
			return kube_error_set(KUBE_EPROTOCOL, "stream: a message without its channel byte");
		demux->channel = data[0];
		demux->in_message = 1;
		data++, len--;
		if (demux->v5 && demux->channel == KUBE_WS_CLOSE) {
			/* [255, channel]: the server half-closed a channel */
			if (len != 1 || !final)
				return kube_error_set(KUBE_EPROTOCOL, "stream: malformed close signal");
			demux->in_message = 0;
			demux->channel = -1;
			return 0;
		}
	} else if (!demux->in_message) {
		return kube_error_set(KUBE_EPROTOCOL, "stream: a continuation outside any message");
	}
	int channel = demux->channel;
	if (demux->port_prefix && channel >= 0 && channel <= 1) {
		size_t *seen = &demux->prefix_seen[channel];
		while (*seen < 2 && len) {
			demux->port[channel] |= (unsigned)data[0] << (8 * *seen);
			(*seen)++;
			data++, len--;
		}
	}
	int rc = 0;
	if (len || first)
		rc = fn(user, channel, data, len);
	if (final) {
		demux->in_message = 0;
		demux->channel = -1;
	}
	return rc;
}

size_t kube_ws_frame(unsigned char *dst, size_t cap, int channel, const void *data, size_t len)
{
	if (channel < 0 || channel > 255 || cap < 1 || len > cap - 1)
		return 0;
	dst[0] = (unsigned char)channel;
	if (len)
		memcpy(dst + 1, data, len);
	return len + 1;
}
