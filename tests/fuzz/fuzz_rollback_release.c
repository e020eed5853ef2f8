/* libFuzzer target for helm-rollback-safe's release record decoder, which
 * reads whatever anyone who may write Secrets or ConfigMaps in a release's
 * namespace stored there: it must refuse with one printable line or yield a
 * release that encodes and decodes back to an equal tree.
 *
 * Input: a mode byte, then the bytes. Mode 0 reads them as they are, as a
 * Secret's value and as a ConfigMap's; mode 1 takes them for the JSON of a
 * record and stores it as Helm does (gzip, base64, and base64 again for a
 * Secret), so that the decoder's JSON layer is reached; mode 2 does the
 * same without gzip (records written before Helm compressed them). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kube/alloc.h>
#include <kube/base64.h>
#include <kube/buf.h>
#include <kube/error.h>
#include <zlib.h>

#include "release.h"

enum mode { MODE_RAW, MODE_GZIP, MODE_PLAIN, MODE_COUNT };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reason(const char *err)
{
	if (!err[0])
		abort(); /* a refusal always says why */
	for (const char *c = err; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	}
}

static void check(const char *value, size_t len, enum rollback_storage storage)
{
	char err[256] = "";
	json_t *release = NULL, *again = NULL;
	kube_buf encoded = KUBE_BUF_INIT;
	int rc = rollback_release_decode(&release, value, len, storage, err, sizeof(err));
	if (rc != 0) {
		if (rc != -1 || release)
			abort(); /* no memory shortage here, and nothing half-read */
		check_reason(err);
		return;
	}
	/* what decoded has what rollback-safe relies on */
	if (!json_is_object(release) || rollback_release_version(release) < 1 ||
	    !json_is_string(json_object_get(json_object_get(release, "info"), "status")))
		abort();
	(void)rollback_release_name(release);
	(void)rollback_release_namespace(release);
	(void)rollback_status_name(rollback_release_status(release));
	(void)rollback_release_manifest(release);
	(void)rollback_release_hooks(release);
	(void)rollback_release_chart_name(release);
	if (rollback_release_encode(&encoded, release, storage, err, sizeof(err)) != 0)
		abort(); /* what we read, we write */
	if (rollback_release_decode(&again, encoded.ptr, encoded.len, storage, err, sizeof(err)) != 0)
		abort(); /* what we write, we read */
	if (!json_equal(release, again))
		abort();
	json_t *labels = json_object();
	if (!labels ||
	    rollback_release_set_status(again, labels, ROLLBACK_STATUS_PENDING_ROLLBACK, err, sizeof(err)) != 0)
		abort();
	if (rollback_release_status(again) != ROLLBACK_STATUS_PENDING_ROLLBACK ||
	    strcmp(json_string_value(json_object_get(labels, "status")), "pending-rollback") != 0)
		abort();
	json_decref(labels);
	json_decref(again);
	json_decref(release);
	kube_buf_dispose(&encoded);
}

/* Appends data[0..len) gzip-compressed to out. A small window and little
 * memory: any gzip stream will do, and this runs for every input. */
static void gzip(kube_buf *out, const uint8_t *data, size_t len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 16 + 9, 1, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	size_t bound = deflateBound(&z, (uLong)len);
	unsigned char *deflated = kube_malloc(bound);
	if (!deflated)
		abort();
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = deflated;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END || kube_buf_put(out, deflated, bound - z.avail_out) != 0)
		abort();
	deflateEnd(&z);
	kube_free(deflated);
}

/* The record's JSON as storage holds it: base64 of the (gzip) bytes for a
 * ConfigMap, and base64 again for a Secret. */
static void check_stored(const uint8_t *json, size_t len, int gzipped)
{
	kube_buf bytes = KUBE_BUF_INIT, once = KUBE_BUF_INIT, twice = KUBE_BUF_INIT;
	if (gzipped)
		gzip(&bytes, json, len);
	else if (kube_buf_put(&bytes, json, len) != 0)
		abort();
	if (kube_base64_encode(&once, bytes.ptr, bytes.len) != 0 || kube_base64_encode(&twice, once.ptr, once.len) != 0)
		abort();
	check(once.ptr, once.len, ROLLBACK_STORAGE_CONFIGMAP);
	check(twice.ptr, twice.len, ROLLBACK_STORAGE_SECRET);
	kube_buf_dispose(&bytes);
	kube_buf_dispose(&once);
	kube_buf_dispose(&twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 1024 * 1024)
		return 0;
	enum mode mode = (enum mode)(data[0] % MODE_COUNT);
	data++, size--;
	if (mode == MODE_RAW) {
		check((const char *)data, size, ROLLBACK_STORAGE_SECRET);
		check((const char *)data, size, ROLLBACK_STORAGE_CONFIGMAP);
		return 0;
	}
	check_stored(data, size, mode == MODE_GZIP);
	return 0;
}
