/* SHA-256 over tagged, length-prefixed fields, in hex. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "internal.h"
#include "secret.h"

static int digest_failed(const struct kube_digest *digest)
{
	return kube_error_set(KUBE_ERROR, "%s: SHA-256 failed", digest->what);
}

int kube_digest_start(struct kube_digest *digest, const char *what)
{
	digest->what = what;
	digest->ctx = EVP_MD_CTX_new();
	if (!digest->ctx)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	return EVP_DigestInit_ex(digest->ctx, EVP_sha256(), NULL) == 1 ? 0 : digest_failed(digest);
}

int kube_digest_field(struct kube_digest *digest, char tag, const void *data, size_t len)
{
	unsigned char head[9];
	head[0] = (unsigned char)tag;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	if (EVP_DigestUpdate(digest->ctx, head, sizeof(head)) != 1 ||
	    (len && EVP_DigestUpdate(digest->ctx, data, len) != 1))
		return digest_failed(digest);
	return 0;
}

int kube_digest_string(struct kube_digest *digest, char tag, const char *value)
{
	return kube_digest_field(digest, tag, value, value ? strlen(value) : 0);
}

int kube_digest_finish(struct kube_digest *digest, char out[KUBE_DIGEST_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned int sum_len = 0;
	out[0] = '\0';
	if (EVP_DigestFinal_ex(digest->ctx, sum, &sum_len) != 1 || sum_len != 32)
		return digest_failed(digest);
	for (unsigned int i = 0; i < sum_len; i++) {
		out[2 * i] = hex[sum[i] >> 4];
		out[2 * i + 1] = hex[sum[i] & 0xf];
	}
	out[2 * sum_len] = '\0';
	kube_secret_wipe(sum, sizeof(sum));
	return 0;
}

void kube_digest_dispose(struct kube_digest *digest)
{
	EVP_MD_CTX_free(digest->ctx);
	digest->ctx = NULL;
}
