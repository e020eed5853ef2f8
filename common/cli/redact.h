/* Masking of credentials in text about to be logged, as defence in depth
 * behind libkube's own redaction: it works on plain text, truncated JSON
 * and JSON embedded in JSON strings alike. */
#ifndef CLI_REDACT_H
#define CLI_REDACT_H

#include <stddef.h>

#include <kube/buf.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLI_REDACT_MASK     "<masked>"   /* a header or parameter credential */
#define CLI_REDACT_REDACTED "<redacted>" /* a JSON value or a key block */

/* Appends text (len bytes) to out with:
 * - `Authorization: <scheme> <credential>` (any case, Proxy-Authorization
 *   too) and `Bearer <token>` anywhere: the credential becomes <masked>;
 * - JSON string values of credential keys ("token", "id-token",
 *   "refresh_token", "password", "client-key-data", "authorization", ...)
 *   becoming "<redacted>";
 * - when the text holds a Secret or SecretList ("kind": "Secret"), every
 *   value of its "data" and "stringData" objects becoming "<redacted>";
 * - PEM private key blocks, and base64-encoded ones (kubeconfig's
 *   client-key-data), reduced to their markers around <redacted>;
 * - JSON Web Tokens and token, password, client_secret, ... parameters of
 *   forms and queries becoming <masked>.
 * JSON escaped inside JSON strings (last-applied-configuration) is
 * handled the same way; text cut short mid-value is masked to its end.
 * Returns 0 or KUBE_ENOMEM. */
int cli_redact(kube_buf *out, const char *text, size_t len);

/* cli_redact into a new NUL-terminated string (free with kube_free), or
 * NULL when memory runs out. */
char *cli_redact_string(const char *text);

#ifdef __cplusplus
}
#endif
#endif
