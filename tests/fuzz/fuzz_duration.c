/* libFuzzer target for kubectl's duration format (kube_duration_parse):
 * any text is a non-negative number of milliseconds or a one-line
 * KUBE_EINVALID, and a sign in front changes nothing it should not. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube/config.h>
#include <kube/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* The text, and room for it with a sign in front. */
	char *text = malloc(size + 2);
	if (!text)
		return 0;
	memcpy(text + 1, data, size);
	text[size + 1] = '\0';
	const char *unsigned_text = text + 1;
	long ms = -1;
	int rc = kube_duration_parse(&ms, unsigned_text);
	if (rc != 0 && rc != KUBE_EINVALID)
		abort();
	if (rc == 0 && ms < 0)
		abort();
	if (rc != 0 && strchr(kube_error_last()->message, '\n'))
		abort();
	if (rc == 0 && *unsigned_text && strspn(unsigned_text, "0123456789") == strlen(unsigned_text) && ms % 1000 != 0)
		abort(); /* a bare integer is whole seconds */
	if (*unsigned_text != '+' && *unsigned_text != '-') {
		long plus_ms = -1, minus_ms = -1;
		text[0] = '+';
		int plus_rc = kube_duration_parse(&plus_ms, text);
		if (plus_rc != rc || (rc == 0 && plus_ms != ms))
			abort(); /* "+" is allowed and means nothing */
		text[0] = '-';
		int minus_rc = kube_duration_parse(&minus_ms, text);
		if (minus_rc == 0 && (rc != 0 || ms != 0 || minus_ms != 0))
			abort(); /* negative durations are refused, except zero */
	}
	free(text);
	return 0;
}
