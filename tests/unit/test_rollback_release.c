/* Tests of plugins/rollback-safe/release.c: records written by the real
 * Helm 3 and Helm 4 (tests/fixtures/helm, from
 * scripts/capture-helm-fixtures.sh) checked against what Helm itself said
 * about them, round trips that keep unknown fields, every rejection, the
 * statuses, the status setter, and running out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#define ZLIB_CONST /* next_in points to const bytes */
#include <zlib.h>

#include <kube/alloc.h>
#include <kube/base64.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "release.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	const char *name; /* tests/fixtures/helm/<name>.release and .expect.json */
	enum rollback_storage storage;
	int helm4;
};

static const struct fixture fixtures[] = {
        {"helm3-secret-v1", ROLLBACK_STORAGE_SECRET, 0},       {"helm3-secret-v2", ROLLBACK_STORAGE_SECRET, 0},
        {"helm3-configmap-v1", ROLLBACK_STORAGE_CONFIGMAP, 0}, {"helm3-configmap-v2", ROLLBACK_STORAGE_CONFIGMAP, 0},
        {"helm4-secret-v1", ROLLBACK_STORAGE_SECRET, 1},       {"helm4-secret-v2", ROLLBACK_STORAGE_SECRET, 1},
        {"helm4-configmap-v1", ROLLBACK_STORAGE_CONFIGMAP, 1}, {"helm4-configmap-v2", ROLLBACK_STORAGE_CONFIGMAP, 1},
};

static void assert_printable_line(const char *err)
{
	assert_true(err[0] != '\0');
	for (const char *c = err; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
}

static json_t *decode_fixture(const struct fixture *f)
{
	char path[128], err[256] = "";
	size_t len = 0;
	json_t *release = NULL;
	(void)snprintf(path, sizeof(path), "helm/%s.release", f->name);
	char *value = test_fixture_read(path, &len);
	int rc = rollback_release_decode(&release, value, len, f->storage, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %s", f->name, err);
	free(value);
	return release;
}

static json_t *read_expect(const struct fixture *f)
{
	char path[128];
	json_error_t jerr;
	(void)snprintf(path, sizeof(path), "helm/%s.expect.json", f->name);
	json_t *expect = json_load_file(test_fixture_path(path), 0, &jerr);
	if (!expect)
		fail_msg("%s: %s", path, jerr.text);
	return expect;
}

/* The value a record of json_text would hold: gzip when asked, then
 * base64 once (ConfigMap) or twice (Secret). */
static char *make_value(const void *bytes, size_t len, enum rollback_storage storage)
{
	kube_buf once = KUBE_BUF_INIT, twice = KUBE_BUF_INIT;
	assert_int_equal(kube_base64_encode(&once, bytes, len), 0);
	if (storage == ROLLBACK_STORAGE_CONFIGMAP)
		return kube_buf_detach(&once);
	assert_int_equal(kube_base64_encode(&twice, kube_buf_cstr(&once), once.len), 0);
	kube_buf_dispose(&once);
	return kube_buf_detach(&twice);
}

/* gzip of data[0..len) made with zlib (freed with free). */
static unsigned char *gzip_bytes(const void *data, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	uLong bound = deflateBound(&z, (uLong)len);
	unsigned char *out = malloc(bound);
	assert_non_null(out);
	z.next_in = (const Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = bound - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void expect_rejected(const char *value, enum rollback_storage storage, const char *needle)
{
	char err[256] = "";
	json_t *release = (json_t *)&release; /* must be reset */
	int rc = rollback_release_decode(&release, value, strlen(value), storage, err, sizeof(err));
	assert_int_equal(rc, -1);
	assert_null(release);
	assert_printable_line(err);
	if (!strstr(err, needle))
		fail_msg("reason \"%s\" does not hold \"%s\"", err, needle);
}

static void expect_rejected_bytes(const void *bytes, size_t len, const char *needle)
{
	char *value = make_value(bytes, len, ROLLBACK_STORAGE_CONFIGMAP);
	expect_rejected(value, ROLLBACK_STORAGE_CONFIGMAP, needle);
	kube_free(value);
}

static void test_rollback_release__decodes_real_helm_records(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const struct fixture *f = &fixtures[i];
		json_t *release = decode_fixture(f);
		json_t *expect = read_expect(f);
		json_t *chart = json_object_get(expect, "chart");
		enum rollback_status status;

		assert_string_equal(rollback_release_name(release), json_string_value(json_object_get(expect, "name")));
		assert_int_equal(rollback_release_version(release),
		                 json_integer_value(json_object_get(expect, "version")));
		assert_int_equal(rollback_status_parse(&status, json_string_value(json_object_get(expect, "status"))),
		                 0);
		assert_int_equal(rollback_release_status(release), status);
		assert_string_equal(rollback_release_namespace(release),
		                    json_string_value(json_object_get(expect, "namespace")));
		assert_string_equal(rollback_release_description(release),
		                    json_string_value(json_object_get(expect, "description")));
		assert_string_equal(rollback_release_chart_name(release),
		                    json_string_value(json_object_get(chart, "name")));
		assert_string_equal(rollback_release_chart_version(release),
		                    json_string_value(json_object_get(chart, "version")));
		assert_string_equal(rollback_release_app_version(release),
		                    json_string_value(json_object_get(chart, "appVersion")));
		/* what the capture made: two revisions, the first superseded */
		assert_int_equal(status, rollback_release_version(release) == 1 ? ROLLBACK_STATUS_SUPERSEDED
		                                                                : ROLLBACK_STATUS_DEPLOYED);
		assert_true(strlen(rollback_release_last_deployed(release)) >= 20);
		assert_non_null(strstr(rollback_release_manifest(release), "kind: Deployment"));
		assert_non_null(strstr(rollback_release_manifest(release), "kind: ConfigMap"));
		assert_null(strstr(rollback_release_manifest(release), "kind: Job"));
		const json_t *hooks = rollback_release_hooks(release);
		assert_non_null(hooks);
		assert_int_equal(json_array_size(hooks), 1);
		const json_t *events = json_object_get(json_array_get(hooks, 0), "events");
		assert_string_equal(json_string_value(json_array_get(events, 0)), "pre-rollback");
		/* Helm 4 records how it applied; Helm 3 never wrote the field. */
		assert_int_equal(json_object_get(release, "apply_method") != NULL, f->helm4);
		json_decref(expect);
		json_decref(release);
	}
}

static json_t *round_trip(const json_t *release, enum rollback_storage storage)
{
	kube_buf value = KUBE_BUF_INIT;
	char err[256] = "";
	json_t *again = NULL;
	assert_int_equal(rollback_release_encode(&value, release, storage, err, sizeof(err)), 0);
	/* base64 only, no line breaks: it goes into a JSON string as it is */
	assert_int_equal(
	        strspn(kube_buf_cstr(&value), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
	        value.len);
	assert_int_equal(rollback_release_decode(&again, value.ptr, value.len, storage, err, sizeof(err)), 0);
	kube_buf_dispose(&value);
	return again;
}

static void test_rollback_release__round_trip_is_equal(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		json_t *release = decode_fixture(&fixtures[i]);
		json_t *as_secret = round_trip(release, ROLLBACK_STORAGE_SECRET);
		json_t *as_configmap = round_trip(release, ROLLBACK_STORAGE_CONFIGMAP);
		assert_true(json_equal(release, as_secret));
		assert_true(json_equal(release, as_configmap));
		json_decref(as_secret);
		json_decref(as_configmap);
		json_decref(release);
	}
}

static void test_rollback_release__round_trip_keeps_unknown_fields(void **state)
{
	(void)state;
	json_t *release = decode_fixture(&fixtures[0]); /* Helm 3: no apply_method */
	json_t *info = json_object_get(release, "info");
	assert_null(json_object_get(release, "apply_method"));
	assert_int_equal(json_object_set_new(release, "apply_method", json_string("ssa")), 0);
	assert_int_equal(json_object_set_new(info, "rollback_revision", json_integer(1)), 0);
	assert_int_equal(json_object_set_new(release, "x_rollguard_made_up", json_pack("{s:[i,s,n]}", "a", 7, "<&>")),
	                 0);
	json_t *again = round_trip(release, ROLLBACK_STORAGE_SECRET);
	assert_true(json_equal(release, again));
	assert_string_equal(json_string_value(json_object_get(again, "apply_method")), "ssa");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(again, "info"), "rollback_revision")), 1);
	assert_non_null(json_object_get(again, "x_rollguard_made_up"));
	/* member order as read: name first, as Helm writes it */
	assert_string_equal(json_object_iter_key(json_object_iter(again)), "name");
	json_decref(again);
	json_decref(release);
}

static void test_rollback_release__raw_json_accepted(void **state)
{
	(void)state;
	const char *text = "{\"name\":\"web\",\"info\":{\"status\":\"pending-upgrade\",\"description\":\"Preparing "
	                   "upgrade\"},\"version\":3,\"namespace\":\"team-a\",\"hooks\":[]}";
	char err[256] = "";
	for (int storage = ROLLBACK_STORAGE_SECRET; storage <= ROLLBACK_STORAGE_CONFIGMAP; storage++) {
		char *value = make_value(text, strlen(text), (enum rollback_storage)storage);
		json_t *release = NULL;
		assert_int_equal(rollback_release_decode(&release, value, strlen(value), (enum rollback_storage)storage,
		                                         err, sizeof(err)),
		                 0);
		assert_string_equal(rollback_release_name(release), "web");
		assert_int_equal(rollback_release_version(release), 3);
		assert_string_equal(rollback_release_namespace(release), "team-a");
		assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_PENDING_UPGRADE);
		assert_true(rollback_status_is_pending(rollback_release_status(release)));
		assert_string_equal(rollback_release_description(release), "Preparing upgrade");
		/* absent fields read as empty */
		assert_string_equal(rollback_release_chart_name(release), "");
		assert_string_equal(rollback_release_manifest(release), "");
		assert_string_equal(rollback_release_last_deployed(release), "");
		assert_int_equal(json_array_size(rollback_release_hooks(release)), 0);
		json_decref(release);
		kube_free(value);
	}
}

static void test_rollback_release__rejects_bad_base64(void **state)
{
	(void)state;
	expect_rejected("H4sI$AAA", ROLLBACK_STORAGE_CONFIGMAP, "bad base64 in Helm's release string at input byte 4");
	expect_rejected("SDRzSQ", ROLLBACK_STORAGE_SECRET, "bad base64 in Secret data");
	/* the Secret layer is fine, Helm's string inside is not: "H4s!" */
	expect_rejected("SDRzIQ==", ROLLBACK_STORAGE_SECRET, "bad base64 in Helm's release string at input byte 3");
	expect_rejected("", ROLLBACK_STORAGE_SECRET, "neither gzip nor JSON");
}

static void test_rollback_release__rejects_bad_gzip(void **state)
{
	(void)state;
	const char *text = "{\"name\":\"web\",\"info\":{\"status\":\"deployed\"},\"version\":1}";
	size_t len = 0;
	unsigned char *gz = gzip_bytes(text, strlen(text), &len);

	expect_rejected_bytes(gz, len - 4, "inflate error: unexpected end of gzip data"); /* no ISIZE */
	expect_rejected_bytes(gz, len / 2, "inflate error: unexpected end of gzip data");
	expect_rejected_bytes(gz, 3, "inflate error: unexpected end of gzip data");
	gz[len - 8] ^= 0xff; /* CRC32 */
	expect_rejected_bytes(gz, len, "inflate error: incorrect data check");
	gz[len - 8] ^= 0xff;
	gz[3] = 0xe0; /* reserved flag bits */
	expect_rejected_bytes(gz, len, "inflate error:");
	free(gz);

	/* something after the gzip member that is no gzip member itself */
	unsigned char *trailing = gzip_bytes(text, strlen(text), &len);
	unsigned char *longer = realloc(trailing, len + 4);
	assert_non_null(longer);
	static const unsigned char junk[4] = {0x6a, 0x75, 0x6e, 0x6b};
	memcpy(longer + len, junk, sizeof(junk));
	expect_rejected_bytes(longer, len + 4, "inflate error:");
	free(longer);

	/* gzip, but of something that is not JSON */
	unsigned char *not_json = gzip_bytes("hello", 5, &len);
	expect_rejected_bytes(not_json, len, "release record is gzip but not JSON");
	free(not_json);
}

static void test_rollback_release__concatenated_gzip_members_read_on(void **state)
{
	(void)state;
	const char *first = "{\"name\":\"web\",\"info\":{\"status\":\"failed\"},";
	const char *second = "\"version\":2}";
	size_t first_len = 0, second_len = 0;
	unsigned char *a = gzip_bytes(first, strlen(first), &first_len);
	unsigned char *b = gzip_bytes(second, strlen(second), &second_len);
	unsigned char *both = malloc(first_len + second_len);
	assert_non_null(both);
	memcpy(both, a, first_len);
	memcpy(both + first_len, b, second_len);
	char *value = make_value(both, first_len + second_len, ROLLBACK_STORAGE_CONFIGMAP);
	char err[256] = "";
	json_t *release = NULL;
	assert_int_equal(
	        rollback_release_decode(&release, value, strlen(value), ROLLBACK_STORAGE_CONFIGMAP, err, sizeof(err)),
	        0);
	assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_FAILED);
	assert_int_equal(rollback_release_version(release), 2);
	json_decref(release);
	kube_free(value);
	free(both);
	free(b);
	free(a);
}

static void test_rollback_release__rejects_gzip_bomb(void **state)
{
	(void)state;
	size_t size = ROLLBACK_RELEASE_MAX_JSON + 1, len = 0;
	char *spaces = malloc(size);
	assert_non_null(spaces);
	/* valid JSON but for its size: whitespace, then an object */
	memset(spaces, ' ', size);
	spaces[size - 2] = '{';
	spaces[size - 1] = '}';
	unsigned char *gz = gzip_bytes(spaces, size, &len);
	free(spaces);
	assert_true(len < 1024 * 1024); /* small enough for a Secret */
	expect_rejected_bytes(gz, len, "release record too large: more than 67108864 bytes inflated");
	free(gz);
}

static void test_rollback_release__rejects_not_json(void **state)
{
	(void)state;
	expect_rejected_bytes("hello", 5, "release record is neither gzip nor JSON");
	expect_rejected_bytes("{\"name\":", 8, "release record is neither gzip nor JSON");
	expect_rejected_bytes("\x1f\x8b", 2, "neither gzip nor JSON"); /* too short for the magic */
	expect_rejected_bytes("[1,2]", 5, "release record is not a JSON object");
	expect_rejected_bytes("\"x\"", 3, "neither gzip nor JSON"); /* jansson: not an object or array */
}

static void test_rollback_release__rejects_missing_fields(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *reason;
	} cases[] = {
	        {"{\"info\":{\"status\":\"deployed\"},\"version\":1}", "release record has no name"},
	        {"{\"name\":7,\"info\":{\"status\":\"deployed\"},\"version\":1}", "release record has no name"},
	        {"{\"name\":\"web\",\"info\":{\"status\":\"deployed\"}}", "has no version"},
	        {"{\"name\":\"web\",\"info\":{\"status\":\"deployed\"},\"version\":\"1\"}", "has no version"},
	        {"{\"name\":\"web\",\"info\":{\"status\":\"deployed\"},\"version\":0}", "has no version"},
	        {"{\"name\":\"web\",\"info\":{\"status\":\"deployed\"},\"version\":1.0}", "has no version"},
	        {"{\"name\":\"web\",\"version\":1}", "release record has no info.status"},
	        {"{\"name\":\"web\",\"info\":[],\"version\":1}", "release record has no info.status"},
	        {"{\"name\":\"web\",\"info\":{\"status\":null},\"version\":1}", "release record has no info.status"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = 0;
		unsigned char *gz = gzip_bytes(cases[i].text, strlen(cases[i].text), &len);
		expect_rejected_bytes(gz, len, cases[i].reason);
		expect_rejected_bytes(cases[i].text, strlen(cases[i].text), cases[i].reason);
		free(gz);
	}
}

static void test_rollback_release__an_unknown_status_reads_as_unknown(void **state)
{
	(void)state;
	const char *text = "{\"name\":\"web\",\"info\":{\"status\":\"exploded\"},\"version\":1}";
	char *value = make_value(text, strlen(text), ROLLBACK_STORAGE_CONFIGMAP);
	char err[256] = "";
	json_t *release = NULL;
	assert_int_equal(
	        rollback_release_decode(&release, value, strlen(value), ROLLBACK_STORAGE_CONFIGMAP, err, sizeof(err)),
	        0);
	assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_UNKNOWN);
	json_decref(release);
	kube_free(value);
}

static void test_rollback_release__statuses(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum rollback_status status;
		int pending;
	} cases[] = {
	        {"unknown", ROLLBACK_STATUS_UNKNOWN, 0},
	        {"deployed", ROLLBACK_STATUS_DEPLOYED, 0},
	        {"uninstalled", ROLLBACK_STATUS_UNINSTALLED, 0},
	        {"superseded", ROLLBACK_STATUS_SUPERSEDED, 0},
	        {"failed", ROLLBACK_STATUS_FAILED, 0},
	        {"uninstalling", ROLLBACK_STATUS_UNINSTALLING, 0},
	        {"pending-install", ROLLBACK_STATUS_PENDING_INSTALL, 1},
	        {"pending-upgrade", ROLLBACK_STATUS_PENDING_UPGRADE, 1},
	        {"pending-rollback", ROLLBACK_STATUS_PENDING_ROLLBACK, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum rollback_status parsed = (enum rollback_status)99;
		assert_int_equal(rollback_status_parse(&parsed, cases[i].name), 0);
		assert_int_equal(parsed, cases[i].status);
		assert_string_equal(rollback_status_name(cases[i].status), cases[i].name);
		assert_int_equal(rollback_status_is_pending(cases[i].status), cases[i].pending);
	}
	enum rollback_status untouched = ROLLBACK_STATUS_FAILED;
	assert_int_equal(rollback_status_parse(&untouched, "Deployed"), -1);
	assert_int_equal(rollback_status_parse(&untouched, ""), -1);
	assert_int_equal(rollback_status_parse(&untouched, NULL), -1);
	assert_int_equal(untouched, ROLLBACK_STATUS_FAILED);
	assert_string_equal(rollback_status_name((enum rollback_status)42), "unknown");
}

static void test_rollback_release__set_status_sets_body_and_label(void **state)
{
	(void)state;
	char err[256] = "";
	json_t *release = decode_fixture(&fixtures[5]); /* helm4 secret v2: deployed */
	json_t *labels = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "fixture", "owner", "helm", "status", "deployed",
	                           "version", "2", "team", "a");
	assert_int_equal(
	        rollback_release_set_status(release, labels, ROLLBACK_STATUS_PENDING_ROLLBACK, err, sizeof(err)), 0);
	assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_PENDING_ROLLBACK);
	assert_string_equal(json_string_value(json_object_get(labels, "status")), "pending-rollback");
	assert_string_equal(json_string_value(json_object_get(labels, "team")), "a"); /* custom labels kept */
	assert_int_equal(json_object_size(labels), 5);

	/* a label missing before is added */
	json_t *bare = json_object();
	assert_int_equal(rollback_release_set_status(release, bare, ROLLBACK_STATUS_SUPERSEDED, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(bare, "status")), "superseded");
	assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_SUPERSEDED);

	/* no info object: nothing changes */
	json_t *broken = json_pack("{s:s,s:i}", "name", "web", "version", 1);
	assert_int_equal(rollback_release_set_status(broken, labels, ROLLBACK_STATUS_FAILED, err, sizeof(err)), -1);
	assert_string_equal(err, "release record has no info object");
	assert_string_equal(json_string_value(json_object_get(labels, "status")), "pending-rollback");

	json_decref(broken);
	json_decref(bare);
	json_decref(labels);
	json_decref(release);
}

static void test_rollback_release__set_status_out_of_memory_changes_nothing(void **state)
{
	(void)state;
	for (long n = 1;; n++) {
		char err[256] = "";
		json_t *release =
		        json_pack("{s:s,s:{s:s},s:i}", "name", "web", "info", "status", "deployed", "version", 2);
		json_t *labels = json_pack("{s:s}", "status", "deployed");
		json_t *release_before = json_deep_copy(release);
		json_t *labels_before = json_deep_copy(labels);
		test_alloc_fail_at(n);
		int rc = rollback_release_set_status(release, labels, ROLLBACK_STATUS_FAILED, err, sizeof(err));
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_true(used < n);
			assert_string_equal(json_string_value(json_object_get(labels, "status")), "failed");
			assert_int_equal(rollback_release_status(release), ROLLBACK_STATUS_FAILED);
		} else {
			assert_int_equal(rc, KUBE_ENOMEM);
			assert_string_equal(err, "out of memory");
			assert_true(json_equal(release, release_before));
			assert_true(json_equal(labels, labels_before));
		}
		json_decref(release);
		json_decref(labels);
		json_decref(release_before);
		json_decref(labels_before);
		if (rc == 0)
			break;
	}
}

static void test_rollback_release__out_of_memory_is_never_a_bad_record(void **state)
{
	(void)state;
	/* Every token shorter than jansson's 16-byte first token buffer:
	 * jansson 2.14 corrupts its heap when growing that buffer fails
	 * (lex_scan_string's assert), whatever the caller does. */
	const char *text = "{\"name\":\"web\",\"info\":{\"status\":\"deployed\"},\"version\":2,\"hooks\":[]}";
	size_t gz_len = 0;
	unsigned char *gz = gzip_bytes(text, strlen(text), &gz_len);
	char *value = make_value(gz, gz_len, ROLLBACK_STORAGE_SECRET);
	size_t len = strlen(value);
	json_t *expected = json_loads(text, 0, NULL);
	free(gz);
	for (long n = 1; n < 100000; n++) {
		char err[256] = "";
		json_t *release = NULL;
		kube_buf encoded = KUBE_BUF_INIT;
		test_alloc_fail_at(n);
		int rc = rollback_release_decode(&release, value, len, ROLLBACK_STORAGE_SECRET, err, sizeof(err));
		int encode_rc =
		        rc == 0 ? rollback_release_encode(&encoded, release, ROLLBACK_STORAGE_SECRET, err, sizeof(err))
		                : rc;
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		kube_buf_dispose(&encoded);
		if (encode_rc == 0) {
			/* a failure jansson reports as a syntax error is retried */
			assert_true(json_equal(release, expected));
			json_decref(release);
			if (used < n)
				break;
			continue;
		}
		assert_int_equal(encode_rc, KUBE_ENOMEM);
		assert_string_equal(err, "out of memory");
		assert_true(rc == 0 || release == NULL);
		json_decref(release);
	}
	json_decref(expected);
	kube_free(value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rollback_release__decodes_real_helm_records),
	        cmocka_unit_test(test_rollback_release__round_trip_is_equal),
	        cmocka_unit_test(test_rollback_release__round_trip_keeps_unknown_fields),
	        cmocka_unit_test(test_rollback_release__raw_json_accepted),
	        cmocka_unit_test(test_rollback_release__rejects_bad_base64),
	        cmocka_unit_test(test_rollback_release__rejects_bad_gzip),
	        cmocka_unit_test(test_rollback_release__concatenated_gzip_members_read_on),
	        cmocka_unit_test(test_rollback_release__rejects_gzip_bomb),
	        cmocka_unit_test(test_rollback_release__rejects_not_json),
	        cmocka_unit_test(test_rollback_release__rejects_missing_fields),
	        cmocka_unit_test(test_rollback_release__an_unknown_status_reads_as_unknown),
	        cmocka_unit_test(test_rollback_release__statuses),
	        cmocka_unit_test(test_rollback_release__set_status_sets_body_and_label),
	        cmocka_unit_test(test_rollback_release__set_status_out_of_memory_changes_nothing),
	        cmocka_unit_test(test_rollback_release__out_of_memory_is_never_a_bad_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
