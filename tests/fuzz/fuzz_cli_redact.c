/* libFuzzer target for the CLI's log redaction (cli_redact): any text is
 * redacted or fails for memory only, cli_redact_string agrees with
 * cli_redact, and a JSON Web Token standing apart after the text never
 * survives, whatever the text set up before it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "cli/redact.h"

/* Its signature is what must not reach a log. */
#define PLANTED_SIGNATURE "cGxhbnRlZC1zaWduYXR1cmU"
#define PLANTED_JWT       " eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0." PLANTED_SIGNATURE " "

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	kube_buf out = KUBE_BUF_INIT, input = KUBE_BUF_INIT, expected = KUBE_BUF_INIT;
	if (size > 4096) /* log lines; the JSON scan is quadratic in unclosed quotes */
		return 0;
	int rc = cli_redact(&out, text, size);
	if (rc != 0 && rc != KUBE_ENOMEM)
		abort();

	/* From here on the text as a C string: up to its first NUL. */
	size_t c_len = strnlen(text, size);
	if (kube_buf_put(&input, text, c_len) != 0)
		goto done;
	char *redacted = cli_redact_string(kube_buf_cstr(&input));
	if (redacted && cli_redact(&expected, text, c_len) == 0 && strcmp(redacted, kube_buf_cstr(&expected)) != 0)
		abort();
	kube_free(redacted);

	if (!strstr(kube_buf_cstr(&input), PLANTED_SIGNATURE) && kube_buf_puts(&input, PLANTED_JWT) == 0) {
		kube_buf_clear(&out);
		if (cli_redact(&out, input.ptr, input.len) == 0 && strstr(kube_buf_cstr(&out), PLANTED_SIGNATURE))
			abort(); /* a token leaked into the log */
	}
done:
	kube_buf_dispose(&expected);
	kube_buf_dispose(&input);
	kube_buf_dispose(&out);
	return 0;
}
