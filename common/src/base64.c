/* Go's base64 decoders (encoding/base64 StdEncoding and RawURLEncoding,
 * non-strict), with the byte offset Go reports for bad input, and its
 * StdEncoding encoder. */
#include <stdint.h>

#include <kube/base64.h>

#include "internal.h"

static int sextet(unsigned char c, enum kube_base64_encoding encoding)
{
	int url = encoding == KUBE_BASE64_RAW_URL;
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int kube_base64_decode(char **out, size_t *out_len, const char *text, size_t len, enum kube_base64_encoding encoding,
                       size_t *bad_at)
{
	int padded = encoding == KUBE_BASE64_STD;
	/* Four characters make three bytes; a raw final quantum makes at
	 * most two more, and the NUL one. */
	unsigned char *decoded = kube_malloc(len / 4 * 3 + 4);
	size_t written = 0, pads = 0, i;
	uint32_t acc = 0;
	int count = 0;

	*out = NULL;
	*out_len = 0;
	if (!decoded)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\r' || c == '\n')
			continue;
		if (pads) {
			/* After "=", only the rest of the padding may follow. */
			if (c != '=' || count + (int)pads == 4)
				goto bad;
			pads++;
			continue;
		}
		if (c == '=' && padded && count >= 2) {
			pads = 1;
			continue;
		}
		int value = sextet(c, encoding);
		if (value < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)value;
		if (++count == 4) {
			decoded[written++] = (unsigned char)(acc >> 16);
			decoded[written++] = (unsigned char)(acc >> 8);
			decoded[written++] = (unsigned char)acc;
			acc = 0;
			count = 0;
		}
	}
	/* The final quantum: two or three characters, padded to four unless
	 * the encoding is raw; a single character is never whole. */
	if (padded ? count + (int)pads != 4 * (count != 0) : count == 1)
		goto bad;
	if (count >= 2)
		decoded[written++] = (unsigned char)(count == 2 ? acc >> 4 : acc >> 10);
	if (count == 3)
		decoded[written++] = (unsigned char)(acc >> 2);
	decoded[written] = '\0';
	*out = (char *)decoded;
	*out_len = written;
	return 0;
bad:
	kube_free(decoded);
	if (bad_at)
		*bad_at = i;
	return KUBE_EINVALID;
}

int kube_base64_encode(kube_buf *out, const void *data, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *bytes = data;
	char quantum[4];
	int rc;

	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t acc = (uint32_t)bytes[i] << 16;
		if (left > 1)
			acc |= (uint32_t)bytes[i + 1] << 8;
		if (left > 2)
			acc |= bytes[i + 2];
		quantum[0] = alphabet[acc >> 18 & 63];
		quantum[1] = alphabet[acc >> 12 & 63];
		quantum[2] = left > 1 ? alphabet[acc >> 6 & 63] : '=';
		quantum[3] = left > 2 ? alphabet[acc & 63] : '=';
		if ((rc = kube_buf_put(out, quantum, sizeof(quantum))) != 0)
			return rc;
	}
	return 0;
}
