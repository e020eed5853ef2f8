/* Redaction of credentials and Secret data before anything is logged. */
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "internal.h"
#include "redact.h"

static const char *const secret_keys[] = {
        "token",         "id-token",     "refresh-token", "client-key-data", "clientKeyData", "password",
        "client-secret", "access_token", "id_token",      "refresh_token",   "bearerToken",
};

static int is_secret_key(const char *key)
{
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(secret_keys); i++)
		if (strcasecmp(key, secret_keys[i]) == 0)
			return 1;
	return 0;
}

/* Each function returns 0, or -1 when memory ran out: the caller then logs
 * nothing rather than an unredacted body. */
static int redact_map_values(json_t *map)
{
	const char *key;
	json_t *value;
	if (!json_is_object(map))
		return 0;
	json_object_foreach(map, key, value)
	{
		if (json_object_set_new(map, key, json_string("<redacted>")) != 0)
			return -1;
	}
	return 0;
}

/* A Secret's data and stringData, and kubectl's last-applied-configuration
 * annotation, which holds a copy of them. */
static int redact_secret(json_t *secret)
{
	json_t *annotations = json_object_get(json_object_get(secret, "metadata"), "annotations");
	if (json_object_get(annotations, "kubectl.kubernetes.io/last-applied-configuration") &&
	    json_object_set_new(annotations, "kubectl.kubernetes.io/last-applied-configuration",
	                        json_string("<redacted>")) != 0)
		return -1;
	if (redact_map_values(json_object_get(secret, "data")) != 0)
		return -1;
	return redact_map_values(json_object_get(secret, "stringData"));
}

static int redact_value(json_t *value, int depth)
{
	if (depth > 64)
		return 0;
	if (json_is_array(value)) {
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item)
		{
			if (redact_value(item, depth + 1) != 0)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(value))
		return 0;
	const char *kind = json_string_value(json_object_get(value, "kind"));
	if (kind && strcmp(kind, "Secret") == 0 && redact_secret(value) != 0)
		return -1;
	if (kind && strcmp(kind, "SecretList") == 0) {
		/* a SecretList's items carry no kind of their own */
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(value, "items"), i, item)
		{
			if (redact_secret(item) != 0)
				return -1;
		}
	}
	const char *key;
	json_t *child;
	json_object_foreach(value, key, child)
	{
		if (is_secret_key(key) && (json_is_string(child) || json_is_object(child))) {
			if (json_object_set_new(value, key, json_string("<redacted>")) != 0)
				return -1;
		} else if (redact_value(child, depth + 1) != 0) {
			return -1;
		}
	}
	return 0;
}

static int contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

int kube_redact_body(kube_buf *out, const char *body, size_t len, size_t limit)
{
	if (!body || len == 0)
		return 0;
	json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (doc) {
		char *text = redact_value(doc, 0) == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		if (!text)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		size_t text_len = strlen(text);
		int rc = kube_buf_put(out, text, text_len > limit ? limit : text_len);
		if (!rc && text_len > limit)
			rc = kube_buf_printf(out, "... (%zu bytes)", text_len);
		kube_free(text);
		return rc;
	}
	/* Not JSON (logs, YAML apply bodies): PEM private keys are the one
	 * credential shape plain text may carry. */
	if (contains(body, len, "PRIVATE KEY-----"))
		return kube_buf_puts(out, "<redacted: contains a private key>");
	int rc = kube_buf_put(out, body, len > limit ? limit : len);
	if (!rc && len > limit)
		rc = kube_buf_printf(out, "... (%zu bytes)", len);
	return rc;
}

int kube_redact_header(kube_buf *out, const char *header)
{
	static const char *const masked[] = {"Authorization:", "Proxy-Authorization:", "Cookie:", "Set-Cookie:"};
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(masked); i++) {
		size_t n = strlen(masked[i]);
		if (strncasecmp(header, masked[i], n) == 0) {
			const char *value = header + n;
			while (*value == ' ')
				value++;
			/* Keep the scheme ("Bearer", "Basic"), mask the credential. */
			size_t scheme = strcspn(value, " ");
			if (value[scheme] == ' ')
				return kube_buf_printf(out, "%.*s %.*s <masked>", (int)n, header, (int)scheme, value);
			return kube_buf_printf(out, "%.*s <masked>", (int)n, header);
		}
	}
	return kube_buf_puts(out, header);
}
