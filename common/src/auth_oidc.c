/* The oidc auth-provider: JWT expiry, refresh through the issuer's token
 * endpoint (golang.org/x/oauth2's refresh flow), and write-back of the new
 * tokens to the kubeconfig, following client-go's oidc.go. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kube/yaml.h>

#include "auth_oidc.h"
#include "base64.h"
#include "fs.h"
#include "internal.h"
#include "secret.h"

#define OIDC_EXPIRY_DELTA_S 10
#define OIDC_TIMEOUT_MS     30000L
#define OIDC_BODY_MAX       ((size_t)1 << 20)
#define KUBECONFIG_MAX      ((size_t)16 << 20)

struct kube_oidc_auth {
	json_t *cfg;       /* owned copy of the auth-provider config map */
	char *source_file; /* kubeconfig to write refreshed tokens to, or NULL */
	char *user_name;
	char *ca_pem; /* decoded idp-certificate-authority-data, or NULL */
	size_t ca_len;
	long timeout_ms;
	int force_refresh;
};

static const char *cfg_get(const json_t *cfg, const char *key)
{
	const char *value = json_string_value(json_object_get(cfg, key));
	return value ? value : "";
}

/* jansson's error text without its " near '...'" excerpt, which could
 * quote a token. */
static const char *json_problem(json_error_t *jerr)
{
	char *near = strstr(jerr->text, " near ");
	if (near)
		*near = '\0';
	return jerr->text;
}

/* ---- the id-token -------------------------------------------------------------------------------------------- */

/* jsonTime: a number (or a string holding one), fractions truncated. */
static int claim_time(int64_t *out, const json_t *value)
{
	const char *text = json_string_value(value);
	char *end = NULL;
	double real = json_real_value(value);
	if (json_is_integer(value)) {
		*out = (int64_t)json_integer_value(value);
		return 0;
	}
	if (text) {
		errno = 0;
		real = strtod(text, &end);
		if (end == text || *end || errno)
			return -1;
	} else if (!json_is_real(value)) {
		return -1;
	}
	if (real != real) /* "nan" */
		return -1;
	*out = real >= 9.2e18 ? INT64_MAX : real <= -9.2e18 ? INT64_MIN : (int64_t)real;
	return 0;
}

int kube_oidc_id_token_valid(int *out_valid, const char *id_token, int64_t now_s)
{
	char *payload = NULL;
	json_t *claims = NULL;
	json_error_t jerr; /* zeroed below: see kube_exec_credential_parse */
	size_t payload_len = 0, bad_at = 0;
	int rc = 0;

	memset(&jerr, 0, sizeof(jerr));
	*out_valid = 0;
	const char *first = strchr(id_token, '.');
	const char *second = first ? strchr(first + 1, '.') : NULL;
	if (!second || strchr(second + 1, '.'))
		return kube_error_set(KUBE_EAUTH, "ID Token is not a valid JWT");
	rc = kube_base64_decode(&payload, &payload_len, first + 1, (size_t)(second - first - 1), KUBE_BASE64_RAW_URL,
	                        &bad_at);
	if (rc == KUBE_EINVALID)
		rc = kube_error_set(KUBE_EAUTH, "ID Token: illegal base64 data at input byte %zu", bad_at);
	if (rc)
		goto done;
	claims = json_loadb(payload, payload_len, JSON_DECODE_ANY, &jerr);
	if (!claims) {
		rc = json_error_code(&jerr) == json_error_out_of_memory
		             ? kube_error_set(KUBE_ENOMEM, "out of memory")
		             : kube_error_set(KUBE_EAUTH, "ID Token: parsing claims: %s", json_problem(&jerr));
		goto done;
	}
	if (!json_is_object(claims) && !json_is_null(claims)) {
		rc = kube_error_set(KUBE_EAUTH, "ID Token: parsing claims: not a JSON object");
		goto done;
	}
	const json_t *exp = json_object_get(claims, "exp");
	int64_t expiry = 0; /* no exp: the zero time, long past */
	if (exp && claim_time(&expiry, exp) != 0) {
		rc = kube_error_set(KUBE_EAUTH, "ID Token: parsing claims: exp is not a number");
		goto done;
	}
	*out_valid = now_s <= INT64_MAX - OIDC_EXPIRY_DELTA_S && now_s + OIDC_EXPIRY_DELTA_S < expiry;
done:
	json_decref(claims);
	kube_free(payload);
	return rc;
}

/* ---- HTTP to the issuer -------------------------------------------------------------------------------------- */

struct http_reply {
	long status;
	char media[96]; /* Content-Type without parameters, lower case */
	kube_buf body;
	int body_failed; /* the body passed the cap, or memory ran out */
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	struct http_reply *reply = user;
	if ((reply->body_failed = kube_buf_put(&reply->body, data, size * count)) != 0)
		return 0;
	return size * count;
}

/* The Content-Type's media type, lower case, as mime.ParseMediaType gives it. */
static void media_type(char *out, size_t size, const char *content_type)
{
	size_t n = 0;
	const char *p = content_type ? content_type + strspn(content_type, " ") : "";
	for (; *p && *p != ';' && *p != ' ' && n + 1 < size; p++)
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	out[n] = '\0';
}

/* One request on its own easy handle, TLS verified against the issuer CA
 * when configured. form: POST body, else GET. user/password: basic auth. */
static int http_do(const struct kube_oidc_auth *oidc, struct http_reply *reply, const char *url, const char *form,
                   const char *user, const char *password)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *easy = curl_easy_init();
	int rc = 0;

	memset(reply, 0, sizeof(*reply));
	reply->body.limit = OIDC_BODY_MAX;
	if (!easy)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, oidc->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
	if (oidc->ca_pem) {
		struct curl_blob ca = {oidc->ca_pem, oidc->ca_len, CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
	} else if (*cfg_get(oidc->cfg, "idp-certificate-authority")) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg_get(oidc->cfg, "idp-certificate-authority"));
	}
	if (form) {
		if (!(headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded"))) {
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
			goto done;
		}
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, form);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	}
	if (user) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, user);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, password);
	}
	CURLcode code = curl_easy_perform(easy);
	if (code == CURLE_WRITE_ERROR && reply->body_failed == KUBE_ENOMEM) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	} else if (code == CURLE_WRITE_ERROR && reply->body_failed) {
		rc = kube_error_set(KUBE_EAUTH, "%s \"%s\": response larger than %zu bytes", form ? "Post" : "Get", url,
		                    OIDC_BODY_MAX);
	} else if (code != CURLE_OK) {
		rc = kube_error_set(KUBE_EAUTH, "%s \"%s\": %s", form ? "Post" : "Get", url,
		                    *errbuf ? errbuf : curl_easy_strerror(code));
	} else {
		char *content_type = NULL;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply->status);
		curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type);
		media_type(reply->media, sizeof(reply->media), content_type);
	}
done:
	if (rc)
		kube_buf_dispose(&reply->body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	return rc;
}

/* Go's %q for a short, possibly binary body. */
static void put_quoted(kube_buf *out, const char *data, size_t len)
{
	kube_buf_put(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '"' || c == '\\')
			kube_buf_printf(out, "\\%c", c);
		else if (c == '\n')
			kube_buf_puts(out, "\\n");
		else if (c < 0x20 || c == 0x7f)
			kube_buf_printf(out, "\\x%02x", c);
		else
			kube_buf_put(out, &c, 1);
	}
	kube_buf_put(out, "\"", 1);
}

/* tokenEndpoint: OpenID discovery's token_endpoint. */
static int token_endpoint(char **out, const struct kube_oidc_auth *oidc)
{
	const char *issuer = cfg_get(oidc->cfg, "idp-issuer-url");
	size_t issuer_len = strlen(issuer);
	if (issuer_len > 0 && issuer[issuer_len - 1] == '/')
		issuer_len--;
	struct http_reply reply;
	json_t *doc = NULL;
	json_error_t jerr;
	int rc;

	*out = NULL;
	char *url = kube_asprintf("%.*s/.well-known/openid-configuration", (int)issuer_len, issuer);
	if (!url)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	if ((rc = http_do(oidc, &reply, url, NULL, NULL, NULL)) != 0)
		goto done;
	if (reply.status != 200) {
		kube_buf quoted = KUBE_BUF_INIT;
		put_quoted(&quoted, kube_buf_cstr(&reply.body), reply.body.len > 80 ? 80 : reply.body.len);
		rc = kube_error_set(KUBE_EAUTH, "oidc: failed to query metadata endpoint %ld: %s%s", reply.status,
		                    kube_buf_cstr(&quoted), reply.body.len > 80 ? "..." : "");
		kube_buf_dispose(&quoted);
		goto done;
	}
	doc = json_loadb(kube_buf_cstr(&reply.body), reply.body.len, JSON_DECODE_ANY, &jerr);
	const json_t *endpoint = json_object_get(doc, "token_endpoint");
	if (!doc || (!json_is_object(doc) && !json_is_null(doc)) ||
	    (endpoint && !json_is_string(endpoint) && !json_is_null(endpoint))) {
		rc = kube_error_set(KUBE_EAUTH, "oidc: failed to decode provider discovery object: %s",
		                    !doc                  ? json_problem(&jerr)
		                    : json_is_object(doc) ? "token_endpoint is not a string"
		                                          : "not a JSON object");
	} else if (!json_string_length(endpoint)) {
		rc = kube_error_set(KUBE_EAUTH, "oidc: discovery object doesn't contain a token_endpoint");
	} else if (!(*out = kube_strdup(json_string_value(endpoint)))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	}
done:
	json_decref(doc);
	kube_buf_dispose(&reply.body);
	kube_free(url);
	return rc;
}

/* ---- the oauth2 refresh -------------------------------------------------------------------------------------- */

/* url.QueryEscape: unreserved bytes kept, space as '+', the rest %XX. */
static int query_escape(kube_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~') {
			rc = kube_buf_put(out, p, 1);
		} else if (*p == ' ') {
			rc = kube_buf_put(out, "+", 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = kube_buf_put(out, esc, 3);
		}
	}
	return rc;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* url.QueryUnescape of text[0..len) into a new string: NULL with *bad set
 * for a bad escape, NULL alone when memory ran out. */
static char *query_unescape(const char *text, size_t len, int *bad)
{
	kube_buf out = KUBE_BUF_INIT;
	int rc = 0;
	*bad = 0;
	for (size_t i = 0; i < len && !rc && !*bad; i++) {
		char c = text[i] == '+' ? ' ' : text[i];
		if (c == '%') {
			int hi = i + 2 < len ? hex_value(text[i + 1]) : -1,
			    lo = i + 2 < len ? hex_value(text[i + 2]) : -1;
			if ((*bad = hi < 0 || lo < 0) != 0)
				break;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		rc = kube_buf_put(&out, &c, 1);
	}
	char *s = rc || *bad ? NULL : out.ptr ? kube_buf_detach(&out) : kube_strdup("");
	kube_buf_dispose(&out);
	return s;
}

/* url.ParseQuery into a JSON object of first values. */
static int parse_form(json_t **out, const char *body, size_t len)
{
	json_t *vals = json_object();
	if (!vals)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	for (size_t start = 0; start < len;) {
		const char *amp = memchr(body + start, '&', len - start);
		size_t end = amp ? (size_t)(amp - body) : len;
		const char *pair = body + start;
		size_t pair_len = end - start;
		start = end + 1;
		if (pair_len == 0)
			continue;
		if (memchr(pair, ';', pair_len)) {
			json_decref(vals);
			return kube_error_set(KUBE_EAUTH,
			                      "oauth2: cannot parse response: invalid semicolon separator in query");
		}
		const char *eq = memchr(pair, '=', pair_len);
		size_t key_len = eq ? (size_t)(eq - pair) : pair_len;
		int bad_key = 0, bad_value = 0;
		char *key = query_unescape(pair, key_len, &bad_key);
		char *value = eq ? query_unescape(eq + 1, pair_len - key_len - 1, &bad_value) : kube_strdup("");
		int rc = 0;
		if (bad_key || bad_value)
			rc = kube_error_set(KUBE_EAUTH, "oauth2: cannot parse response: invalid URL escape");
		else if (!key || !value)
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		else if (!json_object_get(vals, key) && json_object_set_new(vals, key, json_string(value)))
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		kube_free(key);
		kube_free(value);
		if (rc) {
			json_decref(vals);
			return rc;
		}
	}
	*out = vals;
	return 0;
}

/* A token response's fields, read as oauth2's doTokenRoundTrip reads them;
 * the error set names the problem exactly as oauth2 would. */
static int token_round_trip(json_t **out, const struct kube_oidc_auth *oidc, const char *token_url, const char *form,
                            const char *user, const char *password)
{
	struct http_reply reply;
	json_t *vals = NULL;
	int rc = http_do(oidc, &reply, token_url, form, user, password);
	if (rc)
		return rc;
	int failure = reply.status < 200 || reply.status > 299;
	const char *body = kube_buf_cstr(&reply.body);
	if (strcmp(reply.media, "application/x-www-form-urlencoded") == 0 || strcmp(reply.media, "text/plain") == 0) {
		rc = parse_form(&vals, body, reply.body.len);
	} else {
		json_error_t jerr;
		vals = json_loadb(body, reply.body.len, JSON_DECODE_ANY, &jerr);
		if (!vals)
			rc = kube_error_set(KUBE_EAUTH, "oauth2: cannot parse json: %s", json_problem(&jerr));
		else if (!json_is_object(vals) && !json_is_null(vals))
			rc = kube_error_set(KUBE_EAUTH, "oauth2: cannot parse json: not an object");
		static const char *const strings[] = {"access_token", "token_type",        "refresh_token",
		                                      "error",        "error_description", "error_uri"};
		for (size_t i = 0; !rc && i < KUBE_ARRAY_SIZE(strings); i++) {
			const json_t *v = json_object_get(vals, strings[i]);
			if (v && !json_is_string(v) && !json_is_null(v))
				rc = kube_error_set(KUBE_EAUTH, "oauth2: cannot parse json: %s is not a string",
				                    strings[i]);
		}
	}
	if (rc == KUBE_ENOMEM || (rc && !failure))
		goto done;
	const char *error_code = cfg_get(vals, "error");
	if (failure || *error_code) {
		if (*error_code) {
			const char *desc = cfg_get(vals, "error_description"), *uri = cfg_get(vals, "error_uri");
			rc = kube_error_set(KUBE_EAUTH, "oauth2: \"%s\"%s%s%s%s%s%s", error_code, *desc ? " \"" : "",
			                    desc, *desc ? "\"" : "", *uri ? " \"" : "", uri, *uri ? "\"" : "");
		} else {
			kube_buf quoted = KUBE_BUF_INIT;
			put_quoted(&quoted, body, reply.body.len > 200 ? 200 : reply.body.len);
			rc = kube_error_set(KUBE_EAUTH, "oauth2: cannot fetch token: %ld Response: %s", reply.status,
			                    kube_buf_cstr(&quoted));
			kube_buf_dispose(&quoted);
		}
		goto done;
	}
	if (!rc && !*cfg_get(vals, "access_token"))
		rc = kube_error_set(KUBE_EAUTH, "oauth2: server response missing access_token");
done:
	if (!rc)
		*out = vals;
	else
		json_decref(vals);
	kube_secret_buf_dispose(&reply.body);
	return rc;
}

/* oauth2's RetrieveToken with AuthStyleAutoDetect: client id and secret in
 * a basic auth header first, then, after any failure, in the form. */
static int refresh_grant(json_t **out, const struct kube_oidc_auth *oidc, const char *token_url, const char *refresh)
{
	const char *client_id = cfg_get(oidc->cfg, "client-id"), *secret = cfg_get(oidc->cfg, "client-secret");
	kube_buf form = KUBE_BUF_INIT, params = KUBE_BUF_INIT, user = KUBE_BUF_INIT, password = KUBE_BUF_INIT;
	int rc = 0;
	/* url.Values.Encode sorts the keys. */
	if (kube_buf_puts(&form, "grant_type=refresh_token&refresh_token=") || query_escape(&form, refresh) ||
	    query_escape(&user, client_id) || query_escape(&password, secret) ||
	    (*client_id && (kube_buf_puts(&params, "client_id=") || query_escape(&params, client_id) ||
	                    kube_buf_puts(&params, "&"))) ||
	    (*secret && (kube_buf_puts(&params, "client_secret=") || query_escape(&params, secret) ||
	                 kube_buf_puts(&params, "&"))) ||
	    kube_buf_puts(&params, kube_buf_cstr(&form))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	rc = token_round_trip(out, oidc, token_url, kube_buf_cstr(&form), kube_buf_cstr(&user),
	                      kube_buf_cstr(&password));
	if (rc && rc != KUBE_ENOMEM) {
		kube_log(KUBE_LOG_DECISION,
		         "oidc: token endpoint refused client credentials in the header (%s); "
		         "retrying with them in the form",
		         kube_error_last()->message);
		rc = token_round_trip(out, oidc, token_url, kube_buf_cstr(&params), NULL, NULL);
	}
done:
	kube_secret_buf_dispose(&form);
	kube_secret_buf_dispose(&params);
	kube_buf_dispose(&user);
	kube_secret_buf_dispose(&password);
	return rc;
}

/* ---- writing the kubeconfig back ----------------------------------------------------------------------------- */

/* The kubeconfig to rewrite: -1 with errno set (EFBIG when it passes the
 * cap or memory runs out) when it cannot be read. */
static int read_file(kube_buf *out, const char *path)
{
	int rc = kube_file_load(out, path, KUBECONFIG_MAX, NULL);
	errno = rc > 0 ? rc : rc < 0 ? EFBIG : 0;
	return rc ? -1 : 0;
}

/* users[name=user].user.auth-provider, or NULL. */
static json_t *find_auth_provider(json_t *doc, const char *user_name)
{
	size_t i;
	json_t *entry;
	json_array_foreach(json_object_get(doc, "users"), i, entry)
	{
		const char *name = json_string_value(json_object_get(entry, "name"));
		if (name && strcmp(name, user_name) == 0) {
			json_t *provider = json_object_get(json_object_get(entry, "user"), "auth-provider");
			return json_is_object(provider) ? provider : NULL;
		}
	}
	return NULL;
}

/* clientcmd's persister: the user's auth-provider config replaced by cfg
 * in the file that defined the user, under kubectl's "<file>.lock". */
static int persist(const struct kube_oidc_auth *oidc, const json_t *cfg)
{
	char err_text[128];
	kube_buf data = KUBE_BUF_INIT, out = KUBE_BUF_INIT;
	json_t *doc = NULL;
	char *target = NULL, *lock = NULL;
	int lock_fd = -1, rc = 0;

	if (!oidc->source_file || !oidc->user_name) {
		kube_log(KUBE_LOG_DECISION, "oidc: no kubeconfig file to write the refreshed tokens to");
		return 0;
	}
	if (!(lock = kube_asprintf("%s.lock", oidc->source_file)))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	const char *failed = NULL;
	if ((lock_fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		failed = lock;
	else if (!(target = realpath(oidc->source_file, NULL)) || read_file(&data, target) != 0)
		failed = oidc->source_file; /* realpath: write through a symlink to its target */
	if (failed) {
		rc = kube_error_set(KUBE_EAUTH, "could not persist new tokens: open %s: %s", failed,
		                    kube_errno_text(errno, err_text, sizeof(err_text)));
		goto done;
	}
	if ((rc = kube_yaml_parse_one(&doc, kube_buf_cstr(&data), data.len)) != 0) {
		rc = kube_error_wrap("could not persist new tokens: %s", oidc->source_file);
		goto done;
	}
	json_t *provider = find_auth_provider(doc, oidc->user_name);
	if (!provider) {
		kube_log(KUBE_LOG_DECISION, "oidc: user %s has no auth-provider in %s; refreshed tokens not written",
		         oidc->user_name, oidc->source_file);
		goto done;
	}
	if (json_object_set_new(provider, "config", json_deep_copy(cfg)) || kube_yaml_emit(&out, doc) != 0) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	int err = kube_file_write_atomic(target, kube_buf_cstr(&out), out.len, 0600);
	if (err)
		rc = kube_error_set(err == ENOMEM ? KUBE_ENOMEM : KUBE_EAUTH,
		                    "could not persist new tokens: write %s: %s", target,
		                    kube_errno_text(err, err_text, sizeof(err_text)));
	else
		kube_log(KUBE_LOG_DECISION, "oidc: wrote refreshed tokens to %s", target);
done:
	if (lock_fd >= 0) {
		close(lock_fd);
		unlink(lock);
	}
	json_decref(doc);
	kube_secret_buf_dispose(&out);
	kube_secret_buf_dispose(&data);
	free(target); /* realpath allocates with malloc */
	kube_free(lock);
	return rc;
}

/* ---- the provider -------------------------------------------------------------------------------------------- */

int kube_oidc_auth_new(struct kube_oidc_auth **out, const struct kube_auth_provider *provider, long timeout_ms)
{
	struct kube_oidc_auth *oidc = NULL;
	char *ca = NULL;
	size_t ca_len = 0;
	int rc = 0;

	*out = NULL;
	const json_t *cfg = provider->config;
	if (!*cfg_get(cfg, "idp-issuer-url"))
		return kube_error_set(KUBE_ECONFIG, "Must provide idp-issuer-url");
	if (!*cfg_get(cfg, "client-id"))
		return kube_error_set(KUBE_ECONFIG, "Must provide client-id");
	if (*cfg_get(cfg, "extra-scopes"))
		kube_log(KUBE_LOG_INFO, "oidc: extra-scopes is deprecated; refresh requests don't send scopes");
	const char *ca_data = cfg_get(cfg, "idp-certificate-authority-data");
	size_t bad_at = 0;
	if (*ca_data &&
	    (rc = kube_base64_decode(&ca, &ca_len, ca_data, strlen(ca_data), KUBE_BASE64_STD, &bad_at)) != 0) {
		if (rc == KUBE_EINVALID)
			rc = kube_error_set(KUBE_ECONFIG,
			                    "idp-certificate-authority-data: illegal base64 data at input byte %zu",
			                    bad_at);
		goto fail;
	}
	if (!(oidc = kube_calloc(1, sizeof(*oidc))) || !(oidc->cfg = json_deep_copy(cfg)) ||
	    (provider->source_file && !(oidc->source_file = kube_strdup(provider->source_file))) ||
	    (provider->user_name && !(oidc->user_name = kube_strdup(provider->user_name)))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto fail;
	}
	oidc->ca_len = ca_len;
	oidc->ca_pem = ca;
	oidc->timeout_ms = timeout_ms > 0 ? timeout_ms : OIDC_TIMEOUT_MS;
	*out = oidc;
	return 0;
fail:
	kube_free(ca);
	kube_oidc_auth_free(oidc);
	return rc;
}

void kube_oidc_auth_free(struct kube_oidc_auth *oidc)
{
	if (!oidc)
		return;
	json_decref(oidc->cfg);
	kube_free(oidc->source_file);
	kube_free(oidc->user_name);
	kube_free(oidc->ca_pem);
	kube_free(oidc);
}

int kube_oidc_auth_invalidate(struct kube_oidc_auth *oidc)
{
	oidc->force_refresh = *cfg_get(oidc->cfg, "refresh-token") != '\0';
	return oidc->force_refresh;
}

int kube_oidc_auth_token(struct kube_oidc_auth *oidc, const char **out)
{
	json_t *reply = NULL, *next = NULL;
	char *token_url = NULL;
	int rc = 0, valid = 0;

	*out = NULL;
	const char *id_token = cfg_get(oidc->cfg, "id-token");
	if (*id_token && !oidc->force_refresh) {
		if ((rc = kube_oidc_id_token_valid(&valid, id_token, (int64_t)time(NULL))) != 0)
			return rc;
		if (valid) {
			*out = id_token;
			return 0;
		}
	}
	const char *refresh = cfg_get(oidc->cfg, "refresh-token");
	if (!*refresh)
		return kube_error_set(KUBE_EAUTH, "No valid id-token, and cannot refresh without refresh-token");
	kube_log(KUBE_LOG_DECISION, "oidc: refreshing the id-token at %s", cfg_get(oidc->cfg, "idp-issuer-url"));
	if ((rc = token_endpoint(&token_url, oidc)) != 0)
		goto done;
	if (refresh_grant(&reply, oidc, token_url, refresh) != 0) {
		rc = kube_error_wrap("failed to refresh token");
		goto done;
	}
	json_t *new_id = json_object_get(reply, "id_token");
	if (!json_is_string(new_id) || json_string_length(new_id) == 0) {
		rc = kube_error_set(KUBE_EAUTH,
		                    "token response did not contain an id_token, either the scope \"openid\" "
		                    "wasn't requested upon login, or the provider doesn't support id_tokens as "
		                    "part of the refresh response");
		goto done;
	}
	const char *new_refresh = cfg_get(reply, "refresh_token");
	if (!(next = json_deep_copy(oidc->cfg)) || json_object_set(next, "id-token", new_id) ||
	    (*new_refresh && strcmp(new_refresh, refresh) != 0 &&
	     json_object_set_new(next, "refresh-token", json_string(new_refresh)))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = persist(oidc, next)) != 0)
		goto done;
	json_decref(oidc->cfg);
	oidc->cfg = next;
	next = NULL;
	oidc->force_refresh = 0;
	*out = cfg_get(oidc->cfg, "id-token");
done:
	json_decref(next);
	json_decref(reply);
	kube_free(token_url);
	return rc;
}
