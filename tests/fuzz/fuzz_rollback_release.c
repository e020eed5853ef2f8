/* libFuzzer target for helm-rollback-safe's release record decoder, which
 * reads whatever anyone who may write Secrets or ConfigMaps in a release's
 * namespace stored there: it must refuse with one printable line or yield a
 * release that encodes and decodes back to an equal tree. Each input is
 * read as a Secret's value and as a ConfigMap's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "release.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1024 * 1024)
		return 0;
	check((const char *)data, size, ROLLBACK_STORAGE_SECRET);
	check((const char *)data, size, ROLLBACK_STORAGE_CONFIGMAP);
	return 0;
}
