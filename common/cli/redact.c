/* Masking of credentials in log text, one pass per shape of secret: PEM
 * blocks, JSON values (at any depth of JSON-in-a-JSON-string), headers,
 * bearer tokens, form parameters, JWTs and base64-encoded private keys.
 * Text-based on purpose: log lines are often truncated JSON. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "cli/internal.h"
#include "cli/redact.h"

/* Copies the input to out, replacing ranges as a pass finds them. With out
 * NULL it only reads (the Secret detection). */
struct rewriter {
	kube_buf *out;
	const char *t;
	size_t len;
	size_t copied; /* t[0..copied) has been handled */
	int rc;
};

static void replace(struct rewriter *rw, size_t from, size_t to, const char *replacement)
{
	if (!rw->out || rw->rc)
		return;
	rw->rc = kube_buf_put(rw->out, rw->t + rw->copied, from - rw->copied);
	if (!rw->rc)
		rw->rc = kube_buf_puts(rw->out, replacement);
	rw->copied = to;
}

static int finish(struct rewriter *rw)
{
	if (rw->out && !rw->rc)
		rw->rc = kube_buf_put(rw->out, rw->t + rw->copied, rw->len - rw->copied);
	return rw->rc;
}

static size_t find(const char *t, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = from; i + n <= len; i++)
		if (memcmp(t + i, needle, n) == 0)
			return i;
	return len;
}

static int at(const char *t, size_t len, size_t i, const char *word)
{
	size_t n = strlen(word);
	return i + n <= len && memcmp(t + i, word, n) == 0;
}

static int at_ci(const char *t, size_t len, size_t i, const char *word)
{
	size_t n = strlen(word);
	return i + n <= len && strncasecmp(t + i, word, n) == 0;
}

static int equals_ci(const char *t, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(t, word, len) == 0;
}

static int is_b64url(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

static int is_b64(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '/' || c == '=';
}

/* End of a credential-like token: up to whitespace, quotes, brackets or
 * punctuation that ends a header value in a dump. */
static size_t token_end(const char *t, size_t len, size_t i)
{
	while (i < len && !isspace((unsigned char)t[i]) && !strchr("\"'`,;[]{}()\\", t[i]))
		i++;
	return i;
}

/* ----- PEM private key blocks ----- */

static int pass_pem(kube_buf *out, const char *t, size_t len)
{
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	while ((i = find(t, len, i, "-----BEGIN ")) < len) {
		size_t label = i + strlen("-----BEGIN ");
		size_t close = find(t, len, label, "-----");
		if (close == len || close - label > 64) {
			i = label;
			continue;
		}
		size_t body = close + 5;
		if (find(t, close, label, "PRIVATE KEY") == close) {
			i = body;
			continue;
		}
		size_t end = find(t, len, body, "-----END ");
		replace(&rw, body, end, CLI_REDACT_REDACTED);
		if (end == len)
			break;
		size_t end_close = find(t, len, end + strlen("-----END "), "-----");
		i = end_close == len ? len : end_close + 5;
	}
	return finish(&rw);
}

/* ----- JSON values, at any depth of escaping ----- */

/* Keys whose string values are credentials. */
static const char *const secret_keys[] = {
        "token",         "id-token",     "idToken",       "id_token",     "refresh-token",   "refreshToken",
        "refresh_token", "access-token", "accessToken",   "access_token", "client-key-data", "clientKeyData",
        "client-secret", "clientSecret", "client_secret", "password",     "bearerToken",     "bearer-token",
        "authorization", "private-key",  "privateKey",    "private_key",  "apiKey",          "api_key",
};

/* A string quote at nesting depth d is 2^(d-1)-1 backslashes then '"':
 * `"` in JSON, `\"` in JSON inside a JSON string, `\\\"` one level more.
 * Returns that count of backslashes at i, or -1 when i starts no quote. */
static int quote_at(const char *t, size_t len, size_t i)
{
	size_t n = 0;
	while (i + n < len && t[i + n] == '\\')
		n++;
	if (i + n >= len || t[i + n] != '"' || n > 15 || (n & (n + 1)) != 0)
		return -1;
	return (int)n;
}

struct jstring {
	size_t content;     /* first byte inside the quotes */
	size_t content_end; /* the closing quote's first byte (len when cut short) */
	size_t end;         /* just past the closing quote */
	int closed;
};

/* Reads the string opened at i by a depth quote of n backslashes. It ends
 * at a '"' preceded by k backslashes with k mod 2(n+1) == n: fewer or more
 * are escaped quotes and backslashes of this or deeper levels. */
static void read_string(const char *t, size_t len, size_t i, int n, struct jstring *s)
{
	size_t modulus = 2 * ((size_t)n + 1);
	size_t run = 0;
	s->content = i + (size_t)n + 1;
	for (size_t j = s->content; j < len; j++) {
		if (t[j] == '\\') {
			run++;
			continue;
		}
		if (t[j] == '"' && run % modulus == (size_t)n) {
			s->content_end = j - (size_t)n;
			s->end = j + 1;
			s->closed = 1;
			return;
		}
		run = 0;
	}
	s->content_end = s->end = len;
	s->closed = 0;
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)t[i]))
		i++;
	return i;
}

struct json_scan {
	struct rewriter rw;
	int secret;       /* the text holds a Secret: redact data/stringData */
	int found_secret; /* detection result */
};

/* Replaces every string value of the object opened at i (a Secret's data);
 * returns where the scan goes on. */
static size_t redact_map(struct json_scan *js, size_t i, int n)
{
	const char *t = js->rw.t;
	size_t len = js->rw.len;
	for (i++;;) {
		struct jstring key, value;
		i = skip_ws(t, len, i);
		if (i >= len || t[i] == '}')
			return i;
		if (quote_at(t, len, i) != n)
			return i;
		read_string(t, len, i, n, &key);
		i = skip_ws(t, len, key.end);
		if (!key.closed || i >= len || t[i] != ':')
			return i;
		i = skip_ws(t, len, i + 1);
		if (quote_at(t, len, i) == n) {
			read_string(t, len, i, n, &value);
			replace(&js->rw, value.content, value.content_end, CLI_REDACT_REDACTED);
			i = value.end;
		} else {
			while (i < len && t[i] != ',' && t[i] != '}')
				i++;
		}
		i = skip_ws(t, len, i);
		if (i >= len || t[i] != ',')
			return i;
		i++;
	}
}

static int is_secret_key(const char *key, size_t len)
{
	for (size_t k = 0; k < CLI_ARRAY_SIZE(secret_keys); k++)
		if (equals_ci(key, len, secret_keys[k]))
			return 1;
	return 0;
}

static void scan_json(struct json_scan *js)
{
	const char *t = js->rw.t;
	size_t len = js->rw.len;
	size_t i = 0;
	while (i < len) {
		if (t[i] != '"' && t[i] != '\\') {
			i++;
			continue;
		}
		int n = quote_at(t, len, i);
		if (n < 0) {
			/* an escape sequence: skip the whole backslash run */
			while (i < len && t[i] == '\\')
				i++;
			i++;
			continue;
		}
		struct jstring key = {0}, value = {0};
		read_string(t, len, i, n, &key);
		size_t p = skip_ws(t, len, key.end);
		if (!key.closed || p >= len || t[p] != ':') {
			i += (size_t)n + 1; /* maybe a closing quote: look again from inside */
			continue;
		}
		const char *name = t + key.content;
		size_t name_len = key.content_end - key.content;
		p = skip_ws(t, len, p + 1);
		int value_is_string = quote_at(t, len, p) == n;
		if (value_is_string)
			read_string(t, len, p, n, &value);
		if (value_is_string && is_secret_key(name, name_len)) {
			replace(&js->rw, value.content, value.content_end, CLI_REDACT_REDACTED);
			i = value.end;
		} else if (js->secret && p < len && t[p] == '{' &&
		           (equals_ci(name, name_len, "data") || equals_ci(name, name_len, "stringData"))) {
			i = redact_map(js, p, n);
		} else {
			if (value_is_string && equals_ci(name, name_len, "kind") && value.closed) {
				size_t vlen = value.content_end - value.content;
				const char *v = t + value.content;
				if ((vlen == 6 && memcmp(v, "Secret", 6) == 0) ||
				    (vlen == 10 && memcmp(v, "SecretList", 10) == 0))
					js->found_secret = 1;
			}
			i = key.end;
		}
	}
}

static int pass_json(kube_buf *out, const char *t, size_t len)
{
	/* Kubernetes writes kind first, but kubectl's last-applied
	 * annotation sorts keys: data comes before kind. Detect first. */
	struct json_scan detect = {{NULL, t, len, 0, 0}, 0, 0};
	scan_json(&detect);
	struct json_scan js = {{out, t, len, 0, 0}, detect.found_secret, 0};
	scan_json(&js);
	return finish(&js.rw);
}

/* ----- Authorization headers ----- */

static int pass_authorization(kube_buf *out, const char *t, size_t len)
{
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	while (i < len) {
		if (!at_ci(t, len, i, "authorization")) {
			i++;
			continue;
		}
		size_t p = i + strlen("authorization");
		i = p;
		if (p >= len || t[p] != ':')
			continue;
		p++;
		while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '['))
			p++;
		size_t first_end = token_end(t, len, p);
		if (first_end == p)
			continue;
		size_t second = first_end;
		while (second < len && t[second] == ' ')
			second++;
		size_t second_end = token_end(t, len, second);
		if (second > first_end && second_end > second) {
			/* "<scheme> <credential>": keep the scheme */
			if (t[second] != '<')
				replace(&rw, second, second_end, CLI_REDACT_MASK);
			i = second_end;
		} else {
			if (t[p] != '<')
				replace(&rw, p, first_end, CLI_REDACT_MASK);
			i = first_end;
		}
	}
	return finish(&rw);
}

/* ----- "Bearer <token>" anywhere ----- */

static int pass_bearer(kube_buf *out, const char *t, size_t len)
{
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	while ((i = find(t, len, i, "Bearer ")) < len) {
		size_t p = i + strlen("Bearer ");
		if (i > 0 && isalnum((unsigned char)t[i - 1])) {
			i = p;
			continue;
		}
		while (p < len && t[p] == ' ')
			p++;
		size_t end = token_end(t, len, p);
		if (end > p && t[p] != '<')
			replace(&rw, p, end, CLI_REDACT_MASK);
		i = end > p ? end : p;
	}
	return finish(&rw);
}

/* ----- token=..., password=... in forms and queries ----- */

static int pass_parameters(kube_buf *out, const char *t, size_t len)
{
	static const char *const names[] = {"access_token",  "refresh_token", "id_token",
	                                    "client_secret", "password",      "token"};
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	while (i < len) {
		size_t value = 0;
		if (i == 0 || strchr("?& \t\"'", t[i - 1])) {
			for (size_t k = 0; k < CLI_ARRAY_SIZE(names) && !value; k++) {
				size_t n = strlen(names[k]);
				if (at_ci(t, len, i, names[k]) && i + n < len && t[i + n] == '=')
					value = i + n + 1;
			}
		}
		if (!value) {
			i++;
			continue;
		}
		size_t end = value;
		while (end < len && !isspace((unsigned char)t[end]) && !strchr("&#\"'", t[end]))
			end++;
		if (end > value && t[value] != '<')
			replace(&rw, value, end, CLI_REDACT_MASK);
		i = end;
	}
	return finish(&rw);
}

/* ----- JSON Web Tokens: eyJ<header>.eyJ<payload>.<signature> ----- */

static size_t b64url_run(const char *t, size_t len, size_t i)
{
	while (i < len && is_b64url(t[i]))
		i++;
	return i;
}

static int pass_jwt(kube_buf *out, const char *t, size_t len)
{
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	while ((i = find(t, len, i, "eyJ")) < len) {
		size_t header_end = b64url_run(t, len, i);
		if ((i > 0 && is_b64url(t[i - 1])) || header_end >= len || t[header_end] != '.' ||
		    !at(t, len, header_end + 1, "eyJ")) {
			i = header_end > i ? header_end : i + 1;
			continue;
		}
		size_t payload_end = b64url_run(t, len, header_end + 1);
		if (payload_end >= len || t[payload_end] != '.') {
			i = payload_end;
			continue;
		}
		size_t end = b64url_run(t, len, payload_end + 1);
		replace(&rw, i, end, CLI_REDACT_MASK);
		i = end;
	}
	return finish(&rw);
}

/* ----- base64-encoded PEM private keys (client-key-data) ----- */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes the start of a base64 run (enough for a PEM header line). */
static size_t b64_decode_prefix(char *dst, size_t size, const char *src, size_t len)
{
	size_t out = 0;
	unsigned bits = 0;
	int have = 0;
	for (size_t i = 0; i < len && out + 1 < size; i++) {
		int v = b64_value(src[i]);
		if (v < 0)
			break;
		bits = (bits << 6) | (unsigned)v;
		have += 6;
		if (have >= 8) {
			have -= 8;
			dst[out++] = (char)((bits >> have) & 0xff);
		}
	}
	dst[out] = '\0';
	return out;
}

static int pass_base64_pem(kube_buf *out, const char *t, size_t len)
{
	struct rewriter rw = {out, t, len, 0, 0};
	size_t i = 0;
	/* base64("-----BEGIN") */
	while ((i = find(t, len, i, "LS0tLS1CRUdJTi")) < len) {
		size_t end = i;
		while (end < len && is_b64(t[end]))
			end++;
		char head[96];
		size_t n = b64_decode_prefix(head, sizeof(head), t + i, end - i);
		if ((i == 0 || !is_b64(t[i - 1])) && find(head, n, 0, "PRIVATE KEY") < n)
			replace(&rw, i, end, CLI_REDACT_REDACTED);
		i = end;
	}
	return finish(&rw);
}

int cli_redact(kube_buf *out, const char *text, size_t len)
{
	static int (*const passes[])(kube_buf *, const char *, size_t) = {
	        pass_pem, pass_json, pass_authorization, pass_bearer, pass_parameters, pass_jwt, pass_base64_pem,
	};
	kube_buf bufs[2] = {KUBE_BUF_INIT, KUBE_BUF_INIT};
	const char *current = text;
	size_t current_len = len;
	int rc = 0;
	for (size_t p = 0; p < CLI_ARRAY_SIZE(passes) && !rc; p++) {
		kube_buf *next = &bufs[p % 2];
		kube_buf_clear(next);
		rc = passes[p](next, current, current_len);
		current = kube_buf_cstr(next);
		current_len = next->len;
	}
	if (!rc)
		rc = kube_buf_put(out, current, current_len);
	kube_buf_dispose(&bufs[0]);
	kube_buf_dispose(&bufs[1]);
	return rc;
}

char *cli_redact_string(const char *text)
{
	kube_buf out = KUBE_BUF_INIT;
	if (cli_redact(&out, text, strlen(text))) {
		kube_buf_dispose(&out);
		return NULL;
	}
	return kube_buf_detach(&out);
}
