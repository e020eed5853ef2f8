/* libFuzzer target for base64.c in both encodings: the input decoded as
 * text (success or a clean KUBE_EINVALID inside the input), and the input
 * as bytes encoded by OpenSSL's EVP_EncodeBlock, which must decode back to
 * the same bytes in the standard and (translated, unpadded) URL alphabets. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes text in encoding and checks what any result promises. */
static int decode(char **out, size_t *out_len, const char *text, size_t len, enum kube_base64_encoding encoding)
{
	size_t bad_at = (size_t)-1;
	int rc = kube_base64_decode(out, out_len, text, len, encoding, &bad_at);
	if (rc == 0 && (!*out || (*out)[*out_len] != '\0' || *out_len > len / 4 * 3 + 2))
		abort();
	if (rc == KUBE_EINVALID && (*out || *out_len || bad_at > len))
		abort(); /* failure leaves nothing behind and points into the input */
	if (rc != 0 && rc != KUBE_EINVALID && rc != KUBE_ENOMEM)
		abort();
	return rc;
}

/* The bytes encoded by OpenSSL (standard alphabet, padded) must decode to
 * themselves; so must the same text in the URL alphabet without padding. */
static void round_trip(const uint8_t *data, size_t size)
{
	unsigned char *encoded = malloc((size + 2) / 3 * 4 + 1);
	char *decoded = NULL;
	size_t decoded_len = 0;
	if (!encoded)
		return;
	size_t encoded_len = (size_t)EVP_EncodeBlock(encoded, data, (int)size);
	if (decode(&decoded, &decoded_len, (const char *)encoded, encoded_len, KUBE_BASE64_STD) != 0 ||
	    decoded_len != size || memcmp(decoded, data, size) != 0)
		abort();
	kube_free(decoded);
	decoded = NULL;
	for (size_t i = 0; i < encoded_len; i++)
		encoded[i] = encoded[i] == '+' ? '-' : encoded[i] == '/' ? '_' : encoded[i];
	while (encoded_len > 0 && encoded[encoded_len - 1] == '=')
		encoded_len--;
	if (decode(&decoded, &decoded_len, (const char *)encoded, encoded_len, KUBE_BASE64_RAW_URL) != 0 ||
	    decoded_len != size || memcmp(decoded, data, size) != 0)
		abort();
	kube_free(decoded);
	free(encoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *std = NULL, *url = NULL;
	size_t std_len = 0, url_len = 0;
	if (size > 1 << 16)
		return 0;
	int std_rc = decode(&std, &std_len, text, size, KUBE_BASE64_STD);
	int url_rc = decode(&url, &url_len, text, size, KUBE_BASE64_RAW_URL);
	/* Text using neither alphabet's own two characters, nor padding,
	 * whose length is a multiple of four means the same in both. */
	if (!memchr(text, '+', size) && !memchr(text, '/', size) && !memchr(text, '-', size) &&
	    !memchr(text, '_', size) && !memchr(text, '=', size) && std_rc != KUBE_ENOMEM && url_rc != KUBE_ENOMEM) {
		size_t sextets = 0;
		for (size_t i = 0; i < size; i++)
			sextets += text[i] != '\r' && text[i] != '\n';
		if (sextets % 4 == 0 &&
		    (std_rc != url_rc || std_len != url_len || (std_rc == 0 && memcmp(std, url, std_len) != 0)))
			abort();
	}
	if (std_rc == 0) {
		/* What decodes must round-trip through OpenSSL's encoder. */
		round_trip((const uint8_t *)std, std_len);
	}
	kube_free(std);
	kube_free(url);
	round_trip(data, size);
	return 0;
}
