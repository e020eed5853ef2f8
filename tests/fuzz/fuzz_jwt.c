/* libFuzzer target for the oidc id-token expiry check
 * (kube_oidc_id_token_valid): the input as a whole token must fail cleanly
 * or answer; the input as a JWT's claims (base64url-encoded between two
 * segments) must be judged exactly as its "exp" says. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <kube/error.h>

#include "auth_oidc.h"

#define NOW_S 1000000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, int valid)
{
	if (rc != 0 && rc != KUBE_EAUTH && rc != KUBE_ENOMEM)
		abort();
	if (rc != 0 && (valid != 0 || strchr(kube_error_last()->message, '\n')))
		abort(); /* failure answers "not valid" in one line */
	if (rc == 0 && valid != 0 && valid != 1)
		abort();
}

/* "h.<claims as RawURLEncoding>.s" */
static char *jwt_with_claims(const uint8_t *claims, size_t size)
{
	char *jwt = malloc((size + 2) / 3 * 4 + 8);
	if (!jwt)
		return NULL;
	jwt[0] = 'h';
	jwt[1] = '.';
	size_t n = (size_t)EVP_EncodeBlock((unsigned char *)jwt + 2, claims, (int)size);
	for (size_t i = 2; i < n + 2; i++)
		jwt[i] = jwt[i] == '+' ? '-' : jwt[i] == '/' ? '_' : jwt[i];
	while (n > 0 && jwt[n + 1] == '=')
		n--;
	memcpy(jwt + 2 + n, ".s", 3);
	return jwt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int valid = -1;
	if (size > 1 << 16)
		return 0;
	char *token = malloc(size + 1);
	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	check(kube_oidc_id_token_valid(&valid, token, NOW_S), valid);
	free(token);

	char *jwt = jwt_with_claims(data, size);
	if (!jwt)
		return 0;
	valid = -1;
	int rc = kube_oidc_id_token_valid(&valid, jwt, NOW_S);
	check(rc, valid);
	if (rc == KUBE_EAUTH && !strstr(kube_error_last()->message, "parsing claims"))
		abort(); /* a well-formed JWT can only fail on its claims */
	json_t *claims = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	const json_t *exp = json_object_get(claims, "exp");
	if (rc == 0 && json_is_integer(exp) && valid != (NOW_S + 10 < json_integer_value(exp)))
		abort(); /* valid while exp is more than 10 seconds ahead */
	if (rc == 0 && claims && !exp && valid)
		abort(); /* no exp: the zero time, long past */
	json_decref(claims);
	free(jwt);
	return 0;
}
