/* libFuzzer target for helm-rollback-safe's manifest splitter and the
 * preflight that reads its objects: a release's manifest is whatever the
 * chart rendered (and whoever could write the release record stored), so
 * it must be refused with one printable line or yield objects that have
 * what the plan relies on. Each object is then diffed against itself (no
 * change, whatever it holds), against its neighbours, and run through the
 * immutable-field, health and deletion checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kube/alloc.h>
#include <kube/error.h>

#include "manifest.h"
#include "preflight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *text)
{
	if (!text[0])
		abort(); /* a refusal always says why */
	for (const char *c = text; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	}
}

static int has_string(const json_t *value)
{
	return json_is_string(value) && json_string_length(value) > 0;
}

static void check_pair(const json_t *target, const json_t *live, const json_t *current)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	rollback_findings findings = ROLLBACK_FINDINGS_INIT;
	char text[512], why[128];
	if (rollback_diff_objects(&diff, target, live, current) != 0)
		abort();
	for (size_t i = 0; i < diff.count; i++) {
		if (!diff.items[i].path || (!diff.items[i].live && !diff.items[i].target))
			abort(); /* every change says where and what */
	}
	rollback_diff_describe(text, sizeof(text), &diff, 4);
	if (diff.count && !text[0])
		abort();
	if (rollback_check_immutable(&findings, target, live, &diff) != 0)
		abort();
	(void)rollback_workload_unhealthy(why, sizeof(why), live);
	int verdict = rollback_check_delete(&findings, text, sizeof(text), current ? current : target, live, 1);
	if (verdict < 0)
		abort();
	for (size_t i = 0; i < findings.count; i++) {
		if (findings.items[i].severity > ROLLBACK_SEVERITY_INFO || !findings.items[i].message[0])
			abort();
	}
	rollback_findings_dispose(&findings);
	rollback_diff_dispose(&diff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	json_t *objects = NULL;
	if (size > 256 * 1024)
		return 0;
	char *manifest = kube_malloc(size + 1);
	if (!manifest)
		return 0;
	memcpy(manifest, data, size);
	manifest[size] = '\0';
	int rc = rollback_manifest_objects(&objects, manifest, "ns", err, sizeof(err));
	kube_free(manifest);
	if (rc != 0) {
		if (rc != -1 || objects)
			abort(); /* no memory shortage here, and nothing half-read */
		check_line(err);
		return 0;
	}
	size_t i;
	const json_t *obj;
	json_array_foreach(objects, i, obj)
	{
		rollback_diff diff = ROLLBACK_DIFF_INIT;
		rollback_object_key key;
		if (!has_string(json_object_get(obj, "apiVersion")) || !has_string(json_object_get(obj, "kind")) ||
		    !has_string(json_object_get(json_object_get(obj, "metadata"), "name")))
			abort();
		if (!rollback_object_ns(obj, "ns"))
			abort();
		rollback_object_key_of(&key, obj, rollback_object_ns(obj, "ns"));
		if (!rollback_object_key_equal(&key, &key))
			abort();
		/* an object the cluster holds exactly is unchanged, three-way too */
		if (rollback_diff_objects(&diff, obj, obj, obj) != 0 || diff.count != 0)
			abort();
		rollback_diff_dispose(&diff);
		if (i > 0)
			check_pair(obj, json_array_get(objects, i - 1), i > 1 ? json_array_get(objects, i - 2) : NULL);
	}
	json_decref(objects);
	return 0;
}
