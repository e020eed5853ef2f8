/* libFuzzer target for the metric gates' Prometheus parsers, which read
 * what a server (or a proxy in front of it) sends and what a user types:
 * the first byte picks the HTTP status the reply came with, the rest is the
 * body of /api/v1/query. Every reply yields one value, no data, or an error
 * whose reason is one printable line; the same bytes as a --prometheus
 * address either parse into a usable address without user information or
 * are refused with one printable line, which never quotes user
 * information. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *text)
{
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
}

static void check_reply(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 0, 400, 422, 503, 404, 500, 204, 302};
	canary_prom_result r;
	long status = size ? statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))] : 200;
	const char *body = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	canary_prom_parse_reply(&r, status, body, len);
	switch (r.kind) {
	case CANARY_PROM_VALUE:
	case CANARY_PROM_EMPTY:
		if (r.error[0])
			abort();
		/* only a 2xx reply (or one of unknown status) carries a value */
		if (status && (status < 200 || status > 299))
			abort();
		break;
	case CANARY_PROM_ERROR:
		if (!r.error[0] || !memchr(r.error, '\0', sizeof(r.error)))
			abort();
		check_line(r.error);
		break;
	default:
		abort();
	}
}

static void check_addr(const uint8_t *data, size_t size)
{
	canary_prom_addr addr;
	char err[256] = "";
	char *text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	/* user information: an '@' before the host ends (or, without a
	 * scheme, before the first '/') */
	const char *scheme_end = strstr(text, "://");
	const char *authority = scheme_end ? scheme_end + 3 : text;
	int userinfo = memchr(authority, '@', strcspn(authority, "/?#")) != NULL;
	if (canary_prom_addr_parse(&addr, text, err, sizeof(err)) != 0) {
		if (!err[0])
			abort();
		check_line(err);
		if (userinfo && strchr(err, '@'))
			abort();
		free(text);
		return;
	}
	if (userinfo)
		abort();
	check_line(addr.display);
	if (addr.proxy) {
		if (!addr.ns[0] || !addr.service[0] || !addr.port[0] || addr.url[0])
			abort();
	} else {
		size_t len = strlen(addr.url);
		if (strncmp(addr.url, "http://", 7) != 0 && strncmp(addr.url, "https://", 8) != 0)
			abort();
		if (len == 0 || strpbrk(addr.url, "?# "))
			abort();
		/* the display is the URL, which has no user:password@ */
		const char *host = strstr(addr.url, "://");
		if (!host || memchr(host, '@', strcspn(host + 3, "/") + 3) || strcmp(addr.display, addr.url) != 0)
			abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	check_reply(data, size);
	if (size < 1024)
		check_addr(data, size);
	return 0;
}
