/* Tests for the oidc auth-provider: JWT expiry, refresh against a local
 * OpenID provider on 127.0.0.1 (discovery and a token endpoint), the
 * client-credential fallback, and the write-back to the kubeconfig. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "auth.h"
#include "auth_oidc.h"
#include "test_support.h"

#define S(x)     ((char *)(x)) /* kube_rest's fields are not const */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------------------------- */

/* An unsigned JWT whose payload is claims (base64url, no padding). */
static void make_jwt(char *out, size_t size, const char *claims)
{
	unsigned char payload[480]; /* leaves room for the rest of the token in 512 bytes */
	assert_true(strlen(claims) <= (sizeof(payload) - 1) / 4 * 3);
	int n = EVP_EncodeBlock(payload, (const unsigned char *)claims, (int)strlen(claims));
	for (int i = 0; i < n; i++)
		payload[i] = payload[i] == '+' ? '-' : payload[i] == '/' ? '_' : payload[i] == '=' ? '\0' : payload[i];
	(void)snprintf(out, size, "eyJhbGciOiJub25lIn0.%s.c2ln", (char *)payload);
}

static void make_jwt_expiring_in(char *out, size_t size, long seconds)
{
	char claims[64];
	(void)snprintf(claims, sizeof(claims), "{\"exp\":%lld}", (long long)time(NULL) + seconds);
	make_jwt(out, size, claims);
}

/* ---- the id-token ------------------------------------------------------------------------------------------- */

static void test_auth_oidc__id_token_validity(void **state)
{
	(void)state;
	static const struct {
		const char *claims;
		int rc, valid;
	} cases[] = {
	        {"{\"exp\":1011}", 0, 1},     /* now + 10 < exp */
	        {"{\"exp\":1010}", 0, 0},     /* inside the 10 s skew */
	        {"{\"exp\":1011.9}", 0, 1},   /* floats truncated */
	        {"{\"exp\":\"2000\"}", 0, 1}, /* json.Number from a string */
	        {"{\"sub\":\"x\"}", 0, 0},    /* no exp: the zero time */
	        {"{\"exp\":true}", KUBE_EAUTH, 0}, {"[1]", KUBE_EAUTH, 0},
	};
	int valid;
	for (size_t i = 0; i < COUNT(cases); i++) {
		char jwt[512];
		make_jwt(jwt, sizeof(jwt), cases[i].claims);
		valid = -1;
		assert_int_equal(kube_oidc_id_token_valid(&valid, jwt, 1000), cases[i].rc);
		assert_int_equal(valid, cases[i].valid);
	}
	test_assert_error(kube_oidc_id_token_valid(&valid, "not-a-jwt", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	test_assert_error(kube_oidc_id_token_valid(&valid, "a.b.c.d", 0), KUBE_EAUTH, "ID Token is not a valid JWT");
	test_assert_error(kube_oidc_id_token_valid(&valid, "a.eyJleHAiOjF9=.c", 0), KUBE_EAUTH, "illegal base64 data");
}

static void test_auth_oidc__uses_unexpired_id_token(void **state)
{
	(void)state;
	char jwt[512];
	make_jwt_expiring_in(jwt, sizeof(jwt), 3600);
	/* The issuer is unreachable: nothing may be fetched. */
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url",
	                        "http://127.0.0.1:1", "id-token", jwt, "refresh-token", "refresh");
	struct kube_auth_provider provider = {S("oidc"), cfg, NULL, S("oidc-user")};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.auth_provider = &provider;
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, jwt);
	kube_auth_free(auth);

	json_object_del(cfg, "refresh-token");
	make_jwt(jwt, sizeof(jwt), "{\"exp\":1000}");
	json_object_set_new(cfg, "id-token", json_string(jwt));
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	test_assert_error(kube_auth_get(auth, &creds), KUBE_EAUTH,
	                  "No valid id-token, and cannot refresh without refresh-token");
	assert_int_equal(kube_auth_unauthorized(auth), 0);
	kube_auth_free(auth);

	json_object_del(cfg, "idp-issuer-url");
	test_assert_error(kube_auth_new(&auth, &rest), KUBE_ECONFIG, "Must provide idp-issuer-url");
	json_decref(cfg);
}

/* ---- refresh through a local issuer ------------------------------------------------------------------------- */

/* A tiny OpenID provider on 127.0.0.1: discovery plus a token endpoint
 * that answers refresh grants, recording what it was sent. */
struct idp {
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	int reject_basic; /* answer 401 invalid_client to credentials in a header */
	char id_token[512];
	int token_requests; /* past 2, the token endpoint answers 404 */
	char bodies[2][512];
	char auth_headers[2][256];
};

static void idp_handle(void *server, int conn)
{
	struct idp *idp = server;
	char req[8192], resp[2048], body[1024];
	char *auth;
	char *end = test_http_read_request(conn, req, sizeof(req));
	if (!end)
		return;
	int status = 200;
	if (strncmp(req, "GET /.well-known/openid-configuration ", 38) == 0) {
		(void)snprintf(body, sizeof(body),
		               "{\"issuer\":\"http://127.0.0.1:%d\",\"token_endpoint\":\"http://127.0.0.1:%d/token\"}",
		               idp->port, idp->port);
	} else if (strncmp(req, "POST /token ", 12) == 0 && idp->token_requests < 2) {
		int i = idp->token_requests++;
		(void)snprintf(idp->bodies[i], sizeof(idp->bodies[i]), "%s", end + 4);
		if ((auth = strstr(req, "Authorization: ")) != NULL && auth < end)
			(void)snprintf(idp->auth_headers[i], sizeof(idp->auth_headers[i]), "%.*s",
			               (int)strcspn(auth + 15, "\r"), auth + 15);
		if (idp->reject_basic && auth && auth < end) {
			status = 401;
			(void)snprintf(body, sizeof(body), "{\"error\":\"invalid_client\"}");
		} else {
			(void)snprintf(body, sizeof(body),
			               "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
			               "\"refresh_token\":\"new-refresh\",\"id_token\":\"%s\"}",
			               idp->id_token);
		}
	} else {
		status = 404;
		(void)snprintf(body, sizeof(body), "not found");
	}
	int n = snprintf(resp, sizeof(resp),
	                 "HTTP/1.1 %d Whatever\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 status, strlen(body), body);
	send(conn, resp, (size_t)n, 0);
}

static void *idp_main(void *arg)
{
	struct idp *idp = arg;
	test_serve_until(idp->fd, &idp->stop, idp_handle, idp);
	return NULL;
}

static void idp_start(struct idp *idp)
{
	make_jwt_expiring_in(idp->id_token, sizeof(idp->id_token), 3600);
	idp->fd = test_listen_loopback(&idp->port);
	assert_int_equal(pthread_create(&idp->thread, NULL, idp_main, idp), 0);
}

static void idp_stop(struct idp *idp)
{
	atomic_store(&idp->stop, 1);
	pthread_join(idp->thread, NULL);
	close(idp->fd);
}

static json_t *user_config(json_t *doc, size_t user)
{
	json_t *entry = json_array_get(json_object_get(doc, "users"), user);
	return json_object_get(json_object_get(json_object_get(entry, "user"), "auth-provider"), "config");
}

/* Copies the fixture kubeconfig (mode 0644), points its oidc user at idp,
 * fetches credentials (expecting expect_bearer, or error), and returns the
 * copy as parsed afterwards. */
static json_t *refresh_and_reload(struct idp *idp, const char *expect_bearer, const char *error)
{
	char path[512], lock[600], issuer[64];
	json_t *doc = NULL;
	struct stat st;
	char *fixture = test_fixture_read("auth/oidc_kubeconfig.yaml", NULL);
	test_write_text(test_tmp_path(path, sizeof(path), "kubeconfig"), fixture);
	chmod(path, 0644);
	assert_int_equal(kube_yaml_parse_one(&doc, fixture, strlen(fixture)), 0);
	free(fixture);
	(void)snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d/", idp->port);
	json_object_set_new(user_config(doc, 1), "idp-issuer-url", json_string(issuer));

	struct kube_auth_provider provider = {S("oidc"), user_config(doc, 1), path, S("oidc-user")};
	struct kube_rest rest = {0};
	struct kube_auth *auth;
	struct kube_credentials creds;
	rest.auth_provider = &provider;
	rest.request_timeout_ms = 5000;
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	int rc = kube_auth_get(auth, &creds);
	if (error) {
		test_assert_error(rc, KUBE_EAUTH, error);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(creds.bearer, expect_bearer);
		assert_int_equal(kube_auth_get(auth, &creds), 0); /* now valid: no second refresh */
	}
	kube_auth_free(auth);
	json_decref(doc);

	(void)snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_not_equal(access(lock, F_OK), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, error ? 0644 : 0600);
	char *text = test_read_text(path);
	assert_int_equal(kube_yaml_parse_one(&doc, text, strlen(text)), 0);
	return doc;
}

static void test_auth_oidc__refresh_writes_back_tokens(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp_start(&idp);
	json_t *doc = refresh_and_reload(&idp, idp.id_token, NULL);
	idp_stop(&idp);

	assert_int_equal(idp.token_requests, 1);
	assert_string_equal(idp.bodies[0], "grant_type=refresh_token&refresh_token=old-refresh");
	assert_string_equal(idp.auth_headers[0], "Basic cm9sbGd1YXJkOnMzY3JldA=="); /* rollguard:s3cret */
	json_t *cfg = user_config(doc, 1);
	assert_string_equal(json_string_value(json_object_get(cfg, "id-token")), idp.id_token);
	assert_string_equal(json_string_value(json_object_get(cfg, "refresh-token")), "new-refresh");
	assert_string_equal(json_string_value(json_object_get(cfg, "client-secret")), "s3cret");
	json_t *other = json_object_get(json_array_get(json_object_get(doc, "users"), 0), "user");
	assert_string_equal(json_string_value(json_object_get(other, "token")), "other-token");
	assert_string_equal(json_string_value(json_object_get(doc, "current-context")), "test");
	json_decref(doc);
}

static void test_auth_oidc__refresh_retries_with_form_credentials(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp.reject_basic = 1;
	idp_start(&idp);
	json_decref(refresh_and_reload(&idp, idp.id_token, NULL));
	idp_stop(&idp);
	assert_int_equal(idp.token_requests, 2);
	assert_string_equal(idp.auth_headers[1], "");
	assert_string_equal(
	        idp.bodies[1],
	        "client_id=rollguard&client_secret=s3cret&grant_type=refresh_token&refresh_token=old-refresh");
}

static void test_auth_oidc__refresh_failure_keeps_kubeconfig(void **state)
{
	(void)state;
	struct idp idp = {0};
	idp_start(&idp);
	idp.token_requests = 2; /* the token endpoint answers 404 from now on */
	json_t *doc = refresh_and_reload(&idp, NULL, "failed to refresh token: oauth2: cannot fetch token: 404");
	idp_stop(&idp);
	assert_string_equal(json_string_value(json_object_get(user_config(doc, 1), "refresh-token")), "old-refresh");
	json_decref(doc);
}

static void test_auth_oidc__unauthorized_forces_refresh(void **state)
{
	(void)state;
	char issuer[64], jwt[512];
	struct idp idp = {0};
	struct kube_credentials creds;
	idp_start(&idp);
	(void)snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", idp.port);
	make_jwt_expiring_in(jwt, sizeof(jwt), 7200);
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "client-id", "rollguard", "idp-issuer-url", issuer, "id-token",
	                        jwt, "refresh-token", "old-refresh");
	struct kube_auth_provider provider = {S("oidc"), cfg, NULL, NULL}; /* nowhere to persist */
	struct kube_rest rest = {0};
	rest.auth_provider = &provider;
	struct kube_auth *auth = NULL;
	assert_int_equal(kube_auth_new(&auth, &rest), 0);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, jwt);
	assert_int_equal(kube_auth_unauthorized(auth), 1);
	assert_int_equal(kube_auth_get(auth, &creds), 0);
	assert_string_equal(creds.bearer, idp.id_token);
	kube_auth_free(auth);
	idp_stop(&idp);
	assert_int_equal(idp.token_requests, 1);
	json_decref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_auth_oidc__id_token_validity),
	        cmocka_unit_test(test_auth_oidc__uses_unexpired_id_token),
	        cmocka_unit_test(test_auth_oidc__refresh_writes_back_tokens),
	        cmocka_unit_test(test_auth_oidc__refresh_retries_with_form_credentials),
	        cmocka_unit_test(test_auth_oidc__refresh_failure_keeps_kubeconfig),
	        cmocka_unit_test(test_auth_oidc__unauthorized_forces_refresh),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
