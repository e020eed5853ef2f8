/* libFuzzer target for kube_yaml_parse_reader: the YAML read in pieces of
 * varying small sizes gives what kube_yaml_parse_stream gives on it whole
 * (the same documents, lines, error and message), and a read that fails
 * is never taken for the end of the input.
 *
 * Input: two control bytes, then the YAML. The first chooses the pieces
 * (sizes 1..64 from a generator it seeds); the second, when its high bit
 * is set, makes the read fail after that many 128ths of the YAML. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "same_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pieces {
	const char *text;
	size_t len, pos;
	uint32_t state;  /* xorshift32, never 0 */
	size_t max_size; /* of a piece */
	size_t fail_at;  /* with fail */
	int fail;
	int ended;
};

static ssize_t read_pieces(void *ctx, char *buf, size_t size)
{
	struct pieces *in = ctx;
	size_t n, end = in->fail && in->fail_at < in->len ? in->fail_at : in->len;
	if (in->ended) /* no read after the end */
		abort();
	if (in->fail && in->pos >= in->fail_at)
		return KUBE_ENETWORK;
	in->state ^= in->state << 13;
	in->state ^= in->state >> 17;
	in->state ^= in->state << 5;
	n = 1 + in->state % in->max_size;
	n = n < size ? n : size;
	n = n < end - in->pos ? n : end - in->pos;
	memcpy(buf, in->text + in->pos, n);
	in->pos += n;
	in->ended = n == 0;
	return (ssize_t)n;
}

static int record(const json_t *doc, int line, void *user)
{
	return json_array_append_new(user, json_pack("[iO]", line, doc)) ? KUBE_ENOMEM : 0;
}

/* got's documents are the first ones of want's. */
static int is_prefix(json_t *got, json_t *want)
{
	size_t index;
	json_t *value;
	if (json_array_size(got) > json_array_size(want))
		return 0;
	json_array_foreach(got, index, value)
	{
		if (!fuzz_same_json(value, json_array_get(want, index)))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pieces in;
	json_t *whole, *got;
	char message[1024];
	int whole_rc, rc;
	if (size < 2)
		return 0;
	memset(&in, 0, sizeof(in));
	in.text = (const char *)data + 2;
	in.len = size - 2;
	in.state = 0x9e3779b9u ^ data[0];
	in.max_size = 1 + data[0] % 64;
	in.fail = data[1] & 0x80;
	in.fail_at = in.len * (data[1] & 0x7f) / 128;

	whole = json_array();
	got = json_array();
	if (!whole || !got)
		abort();
	whole_rc = kube_yaml_parse_stream(in.text, in.len, record, whole);
	(void)snprintf(message, sizeof(message), "%s", whole_rc ? kube_error_last()->message : "");
	rc = kube_yaml_parse_reader(read_pieces, &in, record, got);
	if (rc == KUBE_ENOMEM || whole_rc == KUBE_ENOMEM)
		goto done;
	if (!in.fail) {
		/* the same outcome, whatever the pieces */
		if (rc != whole_rc || (rc && strcmp(kube_error_last()->message, message) != 0) ||
		    !fuzz_same_json(got, whole))
			abort();
	} else {
		/* never a silent end; a parse error only one the whole text has too */
		if (rc != KUBE_ENETWORK && rc != KUBE_EINVALID)
			abort();
		if (rc == KUBE_EINVALID &&
		    (whole_rc != KUBE_EINVALID || strcmp(kube_error_last()->message, message) != 0))
			abort();
		if (!is_prefix(got, whole))
			abort();
	}
done:
	json_decref(whole);
	json_decref(got);
	return 0;
}
