/* The credential dispatcher: picks the source client-go's transport would
 * use for a rest config (bearer token or tokenFile, basic auth, exec
 * plugin, oidc auth-provider) and hands out what the next request sends. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "auth_exec.h"
#include "auth_oidc.h"
#include "clock.h"
#include "digest.h"
#include "fs.h"
#include "internal.h"
#include "secret.h"

/* transport.NewCachedFileTokenSource: a token read from the file is good
 * for a minute less ten seconds of leeway; we also re-read as soon as the
 * file's identity, size or mtime changes. */
#define TOKEN_FILE_REREAD_MS (50 * 1000)
#define TOKEN_FILE_MAX       ((size_t)1 << 20)

enum auth_kind { AUTH_NONE, AUTH_TOKEN, AUTH_BASIC, AUTH_EXEC, AUTH_OIDC };

struct kube_auth {
	const struct kube_rest *rest;
	enum auth_kind kind;
	char *file_token; /* last token read from rest->token_file */
	struct stat file_stat;
	int64_t file_read_ms;
	struct kube_exec_auth *exec;
	struct kube_oidc_auth *oidc;
};

static int nonempty(const char *s)
{
	return s && *s;
}

/* ---- tokenFile ----------------------------------------------------------------------------------------------- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* fileTokenSource.Token: the file's contents with surrounding space
 * trimmed; an empty token is an error. */
static int token_file_read(char **out, struct stat *st, const char *path)
{
	char err_text[128];
	kube_buf data = KUBE_BUF_INIT;

	*out = NULL;
	int rc = kube_file_load(&data, path, TOKEN_FILE_MAX, st);
	if (rc > 0)
		rc = kube_error_set(KUBE_EAUTH, "failed to read token file \"%s\": %s", path,
		                    kube_errno_text(rc, err_text, sizeof(err_text)));
	else if (rc == KUBE_EPROTOCOL)
		rc = kube_error_set(KUBE_EAUTH, "failed to read token file \"%s\": larger than %zu bytes", path,
		                    TOKEN_FILE_MAX);
	if (!rc) {
		size_t start = 0, end = data.len;
		while (start < end && is_space(data.ptr[start]))
			start++;
		while (end > start && is_space(data.ptr[end - 1]))
			end--;
		if (start == end)
			rc = kube_error_set(KUBE_EAUTH, "read empty token from file \"%s\"", path);
		else if (!(*out = kube_strndup(data.ptr + start, end - start)))
			rc = kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	kube_secret_buf_dispose(&data);
	return rc;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The token to send: re-reads the file when forced, when it changed, or
 * when the cached read is a minute old. A failed re-read keeps the last
 * good token (client-go's cachingTokenSource), or falls back to a static
 * token configured next to the file. *changed says whether the token in
 * use differs from the one before. */
static int token_file_refresh(struct kube_auth *auth, int force, int *changed)
{
	const char *path = auth->rest->token_file;
	const char *before = auth->file_token ? auth->file_token : auth->rest->token;
	struct stat st;
	char *token = NULL;

	*changed = 0;
	int due = force || !auth->file_token || kube_now_ms() - auth->file_read_ms >= TOKEN_FILE_REREAD_MS;
	if (!due && (stat(path, &st) != 0 || !same_file(&st, &auth->file_stat)))
		due = 1;
	if (!due)
		return 0;
	int rc = token_file_read(&token, &st, path);
	if (rc == KUBE_EAUTH && before) {
		kube_log(KUBE_LOG_DECISION, "tokenFile: %s; keeping the previous token", kube_error_last()->message);
		return 0;
	}
	if (rc)
		return rc;
	assert(token); /* token_file_read succeeded */
	auth->file_stat = st;
	auth->file_read_ms = kube_now_ms();
	*changed = !before || strcmp(before, token) != 0;
	if (auth->file_token && !*changed) {
		kube_secret_free(token);
		return 0;
	}
	kube_secret_free(auth->file_token);
	auth->file_token = token;
	if (*changed)
		kube_log(KUBE_LOG_DECISION, "tokenFile: read a new token from %s", path);
	return 0;
}

/* ---- choosing the source ------------------------------------------------------------------------------------- */

/* rest.GetAuthProvider: oidc is the only legacy provider left; gcp and
 * azure were replaced by exec plugins, which the message names. */
static int provider_new(struct kube_auth *auth, const struct kube_auth_provider *provider)
{
	const char *name = provider->name ? provider->name : "";
	if (strcmp(name, "oidc") == 0) {
		if (!provider->config || !json_is_object(provider->config))
			return kube_error_set(KUBE_ECONFIG, "Must provide idp-issuer-url");
		return kube_oidc_auth_new(&auth->oidc, provider, auth->rest->request_timeout_ms);
	}
	if (strcmp(name, "gcp") == 0)
		return kube_error_set(KUBE_EAUTH, "the gcp auth plugin was removed from kubectl; install "
		                                  "gke-gcloud-auth-plugin and use an exec credential (see "
		                                  "https://cloud.google.com/blog/products/containers-kubernetes/"
		                                  "kubectl-auth-changes-in-gke)");
	if (strcmp(name, "azure") == 0)
		return kube_error_set(KUBE_EAUTH, "the azure auth plugin was removed from kubectl; install kubelogin "
		                                  "(https://github.com/Azure/kubelogin) and use an exec credential");
	return kube_error_set(KUBE_EAUTH, "unknown auth-provider %s (client-go has no Auth Provider of that name)",
	                      *name ? name : "\"\"");
}

int kube_auth_new(struct kube_auth **out, const struct kube_rest *rest)
{
	struct kube_auth *auth = NULL;
	int rc = 0;

	*out = NULL;
	int has_token = nonempty(rest->token) || nonempty(rest->token_file);
	int has_basic = nonempty(rest->username);
	int has_cert =
	        (nonempty(rest->cert_file) || rest->cert_data_len) && (nonempty(rest->key_file) || rest->key_data_len);
	/* rest.Config.TransportConfig and transport.HTTPWrappersForConfig. */
	if (rest->exec && rest->auth_provider)
		return kube_error_set(KUBE_ECONFIG, "execProvider and authProvider cannot be used in combination");
	if (has_token && has_basic)
		return kube_error_set(KUBE_ECONFIG, "username/password or bearer token may be set, but not both");
	if (!(auth = kube_calloc(1, sizeof(*auth))))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	auth->rest = rest;
	/* Both are validated even when a token overrides them, as client-go
	 * builds them before looking at the other credentials. */
	if (rest->auth_provider && (rc = provider_new(auth, rest->auth_provider)) != 0)
		goto fail;
	if (rest->exec && (rc = kube_exec_auth_new(&auth->exec, rest, NULL)) != 0)
		goto fail;

	if (has_token) {
		auth->kind = AUTH_TOKEN;
		/* NewBearerAuthWithRefreshRoundTripper reads the file up front
		 * only when there is no static token to start with. */
		int changed;
		if (nonempty(rest->token_file) && !nonempty(rest->token) &&
		    (rc = token_file_refresh(auth, 1, &changed)) != 0)
			goto fail;
		kube_log(KUBE_LOG_DECISION, "auth: bearer token%s%s", nonempty(rest->token_file) ? " from " : "",
		         nonempty(rest->token_file) ? rest->token_file : "");
	} else if (has_basic) {
		auth->kind = AUTH_BASIC;
		kube_log(KUBE_LOG_DECISION, "auth: basic auth as %s", rest->username);
	} else if (rest->exec && auth->exec && !has_cert) {
		auth->kind = AUTH_EXEC;
		kube_log(KUBE_LOG_DECISION, "auth: exec plugin %s", rest->exec->command);
	} else if (auth->oidc) {
		auth->kind = AUTH_OIDC;
		kube_log(KUBE_LOG_DECISION, "auth: oidc auth-provider");
	}
	if (auth->kind != AUTH_EXEC) {
		kube_exec_auth_free(auth->exec);
		auth->exec = NULL;
	}
	if (auth->kind != AUTH_OIDC) {
		kube_oidc_auth_free(auth->oidc);
		auth->oidc = NULL;
	}
	*out = auth;
	return 0;
fail:
	kube_auth_free(auth);
	return rc;
}

void kube_auth_free(struct kube_auth *auth)
{
	if (!auth)
		return;
	kube_secret_free(auth->file_token);
	kube_exec_auth_free(auth->exec);
	kube_oidc_auth_free(auth->oidc);
	kube_free(auth);
}

int kube_auth_get(struct kube_auth *auth, struct kube_credentials *creds)
{
	const struct kube_exec_credential *cred = NULL;
	int rc = 0, changed;

	memset(creds, 0, sizeof(*creds));
	switch (auth->kind) {
	case AUTH_TOKEN:
		if (nonempty(auth->rest->token_file) && (rc = token_file_refresh(auth, 0, &changed)) != 0)
			return rc;
		creds->bearer = auth->file_token ? auth->file_token : auth->rest->token;
		break;
	case AUTH_BASIC:
		creds->username = auth->rest->username;
		creds->password = auth->rest->password ? auth->rest->password : "";
		break;
	case AUTH_EXEC:
		if ((rc = kube_exec_auth_get(auth->exec, &cred)) != 0)
			return rc;
		creds->bearer = cred->token;
		creds->cert_pem = cred->cert_pem;
		creds->key_pem = cred->key_pem;
		break;
	case AUTH_OIDC:
		rc = kube_oidc_auth_token(auth->oidc, &creds->bearer);
		break;
	case AUTH_NONE:
		break;
	}
	return rc;
}

int kube_auth_unauthorized(struct kube_auth *auth)
{
	int changed = 0;
	switch (auth->kind) {
	case AUTH_TOKEN:
		/* Worth a retry only if the file now holds another token. */
		if (nonempty(auth->rest->token_file) && token_file_refresh(auth, 1, &changed) == 0 && changed)
			return 1;
		return 0;
	case AUTH_EXEC:
		kube_log(KUBE_LOG_DECISION, "exec: credential rejected; the plugin will run again");
		kube_exec_auth_reset(auth->exec);
		return 1;
	case AUTH_OIDC:
		return kube_oidc_auth_invalidate(auth->oidc);
	case AUTH_BASIC:
	case AUTH_NONE:
		break;
	}
	return 0;
}

/* ---- fingerprint --------------------------------------------------------------------------------------------- */

/* An absent value adds no field, not an empty one as kube_digest_string
 * would: fingerprints name files on disk and must stay the same. */
static int digest_string(struct kube_digest *digest, char tag, const char *value)
{
	return value ? kube_digest_string(digest, tag, value) : 0;
}

/* The certificate a request presents, as http.c picks it. A file is
 * digested by contents, so a renewed certificate at the same path is
 * another credential. */
static int digest_certificate(struct kube_digest *digest, const struct kube_rest *rest,
                              const struct kube_credentials *creds)
{
	if (creds->cert_pem)
		return digest_string(digest, 'c', creds->cert_pem);
	if (rest->cert_data)
		return kube_digest_field(digest, 'c', rest->cert_data, rest->cert_data_len);
	if (!nonempty(rest->cert_file))
		return 0;
	kube_buf cert = KUBE_BUF_INIT;
	int rc = kube_file_load(&cert, rest->cert_file, TOKEN_FILE_MAX, NULL);
	if (rc == 0)
		rc = kube_digest_field(digest, 'c', cert.ptr ? cert.ptr : "", cert.len);
	else if (rc > 0) /* unreadable: the request will fail on it anyway; its path still tells users apart */
		rc = digest_string(digest, 'C', rest->cert_file);
	else if (rc == KUBE_EPROTOCOL)
		rc = kube_error_set(KUBE_EAUTH, "%s: larger than %zu bytes", rest->cert_file, TOKEN_FILE_MAX);
	kube_buf_dispose(&cert);
	return rc;
}

int kube_auth_fingerprint(struct kube_auth *auth, char out[KUBE_AUTH_FINGERPRINT_SIZE])
{
	struct kube_credentials creds;
	struct kube_digest digest;
	char kind = (char)('0' + auth->kind);

	out[0] = '\0';
	int rc = kube_auth_get(auth, &creds);
	if (rc)
		return rc;
	rc = kube_digest_start(&digest, "credential fingerprint");
	if (!rc)
		rc = kube_digest_field(&digest, 'k', &kind, 1);
	if (!rc)
		rc = digest_string(&digest, 't', creds.bearer);
	if (!rc)
		rc = digest_string(&digest, 'u', creds.username);
	if (!rc)
		rc = digest_string(&digest, 'p', creds.password);
	if (!rc)
		rc = digest_certificate(&digest, auth->rest, &creds);
	if (!rc)
		rc = kube_digest_finish(&digest, out);
	kube_digest_dispose(&digest);
	return rc;
}
