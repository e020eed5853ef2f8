/* libFuzzer target: an exec plugin's stdout parsed as an ExecCredential of
 * either supported apiVersion; the parser must not crash, leak, or hand
 * back a half-filled credential. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "auth_exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = {"client.authentication.k8s.io/v1",
	                                       "client.authentication.k8s.io/v1beta1"};
	for (size_t i = 0; i < 2; i++) {
		struct kube_exec_credential cred;
		int rc = kube_exec_credential_parse(&cred, versions[i], (const char *)data, size);
		if (rc == 0 && !cred.token && !cred.cert_pem)
			abort(); /* success promises a token or a certificate pair */
		if (rc == 0 && !cred.cert_pem != !cred.key_pem)
			abort();
		if (rc != 0 && (cred.token || cred.cert_pem || cred.key_pem))
			abort(); /* failure leaves nothing behind */
		kube_exec_credential_clear(&cred);
	}
	return 0;
}
