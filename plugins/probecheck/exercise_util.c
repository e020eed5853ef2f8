/* --exercise's pure helpers: expansion, gRPC encoding, redirect and exec rules. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include <kube/error.h>

#include "exercise_util.h"

/* The value of the last env entry named name (valueFrom: ""), or NULL. */
static const char *env_value(const json_t *env, const char *name, size_t len)
{
	const char *found = NULL;
	size_t i;
	const json_t *entry;
	json_array_foreach(env, i, entry)
	{
		const char *entry_name = json_string_value(json_object_get(entry, "name"));
		if (entry_name && strlen(entry_name) == len && strncmp(entry_name, name, len) == 0) {
			const char *value = json_string_value(json_object_get(entry, "value"));
			found = value ? value : "";
		}
	}
	return found;
}

int probecheck_expand_arg(kube_buf *out, const char *arg, const json_t *env)
{
	size_t checkpoint = 0, len = strlen(arg);
	int failed = 0;
	for (size_t cursor = 0; cursor < len; cursor++) {
		if (arg[cursor] != '$' || cursor + 1 >= len)
			continue;
		failed |= kube_buf_put(out, arg + checkpoint, cursor - checkpoint);
		const char *rest = arg + cursor + 1;
		size_t advance = 1;
		if (rest[0] == '$') {
			failed |= kube_buf_put(out, "$", 1);
		} else if (rest[0] == '(') {
			const char *close = strchr(rest + 1, ')');
			if (close) {
				size_t name_len = (size_t)(close - rest - 1);
				const char *value = env_value(env, rest + 1, name_len);
				if (value)
					failed |= kube_buf_put(out, value, strlen(value));
				else
					failed |= kube_buf_put(out, rest - 1, name_len + 3); /* "$(NAME)" as written */
				advance = name_len + 2;
			} else {
				failed |= kube_buf_put(out, "$(", 2);
			}
		} else {
			failed |= kube_buf_put(out, rest - 1, 2);
		}
		cursor += advance;
		checkpoint = cursor + 1;
	}
	if (checkpoint < len)
		failed |= kube_buf_put(out, arg + checkpoint, len - checkpoint);
	return failed ? KUBE_ENOMEM : 0;
}

static int put_varint(kube_buf *out, size_t value)
{
	unsigned char bytes[10];
	size_t n = 0;
	do {
		bytes[n] = (unsigned char)(value & 0x7f);
		value >>= 7;
		if (value)
			bytes[n] |= 0x80;
		n++;
	} while (value && n < sizeof(bytes));
	return kube_buf_put(out, (const char *)bytes, n);
}

int probecheck_grpc_health_request(kube_buf *out, const char *service)
{
	kube_buf message = KUBE_BUF_INIT;
	size_t service_len = service ? strlen(service) : 0;
	int failed = 0;
	if (service_len) {
		failed |= kube_buf_put(&message, "\x0a", 1); /* field 1, length-delimited */
		failed |= put_varint(&message, service_len);
		failed |= kube_buf_put(&message, service, service_len);
	}
	unsigned char prefix[5] = {0, (unsigned char)(message.len >> 24), (unsigned char)(message.len >> 16),
	                           (unsigned char)(message.len >> 8), (unsigned char)message.len};
	failed |= kube_buf_put(out, (const char *)prefix, sizeof(prefix));
	if (message.len)
		failed |= kube_buf_put(out, message.ptr, message.len);
	kube_buf_dispose(&message);
	return failed ? KUBE_ENOMEM : 0;
}

static int get_varint(const unsigned char **p, const unsigned char *end, unsigned long long *value)
{
	*value = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char byte = *(*p)++;
		*value |= (unsigned long long)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return 0;
	}
	return -1;
}

int probecheck_grpc_health_status(const unsigned char *body, size_t len, long *status)
{
	*status = 0;
	if (len < 5 || body[0] != 0)
		return -1;
	size_t message_len = ((size_t)body[1] << 24) | ((size_t)body[2] << 16) | ((size_t)body[3] << 8) | body[4];
	if (message_len != len - 5)
		return -1;
	const unsigned char *p = body + 5, *end = body + len;
	while (p < end) {
		unsigned long long key, value;
		if (get_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0: /* varint */
			if (get_varint(&p, end, &value))
				return -1;
			if (key >> 3 == 1)
				*status = value > 1000 ? 1000 : (long)value;
			break;
		case 1: /* 64-bit */
			if ((size_t)(end - p) < 8)
				return -1;
			p += 8;
			break;
		case 2: /* length-delimited */
			if (get_varint(&p, end, &value) || value > (unsigned long long)(end - p))
				return -1;
			p += value;
			break;
		case 5: /* 32-bit */
			if ((size_t)(end - p) < 4)
				return -1;
			p += 4;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

const char *probecheck_grpc_status_name(long status)
{
	static const char *const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
	return status >= 0 && status < 4 ? names[status] : "?";
}

int probecheck_same_hostname(const char *url, const char *host)
{
	CURLU *u = curl_url();
	char *part = NULL;
	int same = 0;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK && part) {
		size_t len = strlen(part);
		const char *name = part;
		if (len >= 2 && part[0] == '[' && part[len - 1] == ']') {
			name = part + 1;
			len -= 2;
		}
		same = strlen(host) == len && strncmp(name, host, len) == 0;
	}
	curl_free(part);
	curl_url_cleanup(u);
	return same;
}

int probecheck_exec_missing_binary(int exit_code, const char *message)
{
	if (exit_code == 126 || exit_code == 127)
		return 1;
	if (exit_code >= 0 || !message)
		return 0;
	return strstr(message, "executable file not found") || strstr(message, "no such file or directory") ||
	       strstr(message, "not found in $PATH") || strstr(message, "permission denied");
}

static long version_part(const json_t *version, const char *key)
{
	const char *text = json_string_value(json_object_get(version, key));
	long n = 0;
	int digits = 0;
	for (; text && isdigit((unsigned char)*text) && n < 100000; text++, digits++)
		n = n * 10 + (*text - '0');
	return digits ? n : -1;
}

void probecheck_probe_user_agent(char *buf, size_t size, const json_t *version)
{
	long major = version_part(version, "major"), minor = version_part(version, "minor");
	if (major < 0 || minor < 0) {
		major = 1;
		minor = 0;
	}
	(void)snprintf(buf, size, "kube-probe/%ld.%ld", major, minor);
}

enum probecheck_severity probecheck_latency_severity(long long max_ms, long timeout_s)
{
	long long timeout_ms = (long long)(timeout_s > 0 ? timeout_s : 1) * 1000;
	if (max_ms >= timeout_ms)
		return PROBECHECK_SEV_ERROR;
	if (max_ms * 2 >= timeout_ms)
		return PROBECHECK_SEV_WARNING;
	return PROBECHECK_SEV_NONE;
}
