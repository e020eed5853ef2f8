/* libFuzzer target for the YAML reader and writer: any input either fails
 * cleanly or parses into documents that survive emit and re-parse
 * unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "same_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *docs = NULL, *doc;
	size_t index;
	int rc = kube_yaml_parse_all(&docs, (const char *)data, size);
	if (rc) {
		if (rc != KUBE_EINVALID && rc != KUBE_ENOMEM)
			abort();
		return 0;
	}
	json_array_foreach(docs, index, doc)
	{
		kube_buf text = KUBE_BUF_INIT;
		json_t *back = NULL;
		if (kube_yaml_emit(&text, doc) != 0)
			abort();
		if (kube_yaml_parse_one(&back, text.ptr, text.len) != 0 || !fuzz_same_json(back, doc))
			abort();
		json_decref(back);
		kube_buf_dispose(&text);
	}
	json_decref(docs);
	return 0;
}
