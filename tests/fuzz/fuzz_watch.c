/* Fuzz target: the watch stream's line parser on arbitrary bytes, split
 * into lines as the transport splits them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kube/watch.h>

#include "watch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t start = 0;
	while (start < size) {
		const char *newline = memchr(text + start, '\n', size - start);
		size_t len = newline ? (size_t)(newline - (text + start)) : size - start;
		kube_watch_event event;
		if (kube_watch_parse_line(&event, text + start, len) == 0)
			kube_watch_event_dispose(&event);
		start += len + 1;
	}
	return 0;
}
