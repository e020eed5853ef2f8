/* Helm release storage records decoded to a generic JSON tree and encoded
 * back, as Helm's pkg/storage/driver/util.go does (identical in Helm 3 and
 * Helm 4). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ZLIB_CONST /* next_in points to const bytes */
#include <zlib.h>

#include <kube/alloc.h>
#include <kube/base64.h>
#include <kube/error.h>

#include "release.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* gzip's ID1 ID2 and CM (deflate): what Helm checks before inflating. */
static const unsigned char gzip_magic[3] = {0x1f, 0x8b, 0x08};

static const char *const status_names[] = {
        [ROLLBACK_STATUS_UNKNOWN] = "unknown",
        [ROLLBACK_STATUS_DEPLOYED] = "deployed",
        [ROLLBACK_STATUS_UNINSTALLED] = "uninstalled",
        [ROLLBACK_STATUS_SUPERSEDED] = "superseded",
        [ROLLBACK_STATUS_FAILED] = "failed",
        [ROLLBACK_STATUS_UNINSTALLING] = "uninstalling",
        [ROLLBACK_STATUS_PENDING_INSTALL] = "pending-install",
        [ROLLBACK_STATUS_PENDING_UPGRADE] = "pending-upgrade",
        [ROLLBACK_STATUS_PENDING_ROLLBACK] = "pending-rollback",
};

const char *rollback_status_name(enum rollback_status status)
{
	return (size_t)status < ARRAY_SIZE(status_names) ? status_names[status] : "unknown";
}

int rollback_status_parse(enum rollback_status *out, const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum rollback_status)i;
			return 0;
		}
	}
	return -1;
}

int rollback_status_is_pending(enum rollback_status status)
{
	return status == ROLLBACK_STATUS_PENDING_INSTALL || status == ROLLBACK_STATUS_PENDING_UPGRADE ||
	       status == ROLLBACK_STATUS_PENDING_ROLLBACK;
}

static int fail(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (err && err_size) {
		va_start(ap, fmt);
		(void)vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
		/* One printable line, whatever bytes jansson's "near '...'" quotes. */
		for (char *c = err; *c; c++) {
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		}
	}
	return -1;
}

static int out_of_memory(char *err, size_t err_size)
{
	(void)fail(err, err_size, "out of memory");
	return KUBE_ENOMEM;
}

/* zlib allocates through libkube's hook like everything else. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return kube_calloc(items, size);
}

static void zlib_free(voidpf opaque, voidpf address)
{
	(void)opaque;
	kube_free(address);
}

/* Inflates gzip data[0..len) into a new buffer (free with kube_free) of at
 * most ROLLBACK_RELEASE_MAX_JSON bytes. Concatenated members are read on,
 * as Go's gzip.Reader does; anything after the last is an error. */
static int gunzip(char **out, size_t *out_len, const unsigned char *data, size_t len, char *err, size_t err_size)
{
	z_stream z;
	char *inflated = NULL;
	size_t cap = len < ROLLBACK_RELEASE_MAX_JSON / 8 ? len * 8 + 1024 : ROLLBACK_RELEASE_MAX_JSON + 1;
	int rc = 0, zrc;

	*out = NULL;
	*out_len = 0;
	assert(len <= ROLLBACK_RELEASE_MAX_JSON); /* so that it fits a uInt */
	memset(&z, 0, sizeof(z));
	z.zalloc = zlib_alloc;
	z.zfree = zlib_free;
	zrc = inflateInit2(&z, 16 + MAX_WBITS);
	if (zrc != Z_OK)
		return zrc == Z_MEM_ERROR ? out_of_memory(err, err_size) : fail(err, err_size, "inflate error: init");
	if (cap > ROLLBACK_RELEASE_MAX_JSON + 1)
		cap = ROLLBACK_RELEASE_MAX_JSON + 1;
	inflated = kube_malloc(cap);
	if (!inflated) {
		rc = out_of_memory(err, err_size);
		goto done;
	}
	z.next_in = (const Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)inflated;
	z.avail_out = (uInt)cap;
	for (;;) {
		if (z.avail_out == 0) {
			/* One byte past the cap is how a bomb shows itself. */
			if (cap > ROLLBACK_RELEASE_MAX_JSON) {
				rc = fail(err, err_size, "release record too large: more than %u bytes inflated",
				          ROLLBACK_RELEASE_MAX_JSON);
				goto done;
			}
			size_t grown = cap * 2 > ROLLBACK_RELEASE_MAX_JSON ? ROLLBACK_RELEASE_MAX_JSON + 1 : cap * 2;
			char *bigger = kube_realloc(inflated, grown);
			if (!bigger) {
				rc = out_of_memory(err, err_size);
				goto done;
			}
			inflated = bigger;
			z.next_out = (Bytef *)inflated + cap;
			z.avail_out = (uInt)(grown - cap);
			cap = grown;
		}
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			zrc = inflateReset(&z);
			if (zrc == Z_OK)
				continue;
		}
		if (zrc == Z_OK || (zrc == Z_BUF_ERROR && z.avail_out == 0))
			continue;
		if (zrc == Z_MEM_ERROR)
			rc = out_of_memory(err, err_size);
		else if (zrc == Z_BUF_ERROR)
			rc = fail(err, err_size, "inflate error: unexpected end of gzip data");
		else
			rc = fail(err, err_size, "inflate error: %s", z.msg ? z.msg : "corrupt gzip data");
		goto done;
	}
	if (cap - z.avail_out > ROLLBACK_RELEASE_MAX_JSON) {
		rc = fail(err, err_size, "release record too large: more than %u bytes inflated",
		          ROLLBACK_RELEASE_MAX_JSON);
		goto done;
	}
	*out_len = cap - z.avail_out;
	*out = inflated;
	inflated = NULL;
done:
	inflateEnd(&z);
	kube_free(inflated);
	return rc;
}

/* jansson reports some allocation failures as syntax errors ("invalid
 * token" when a string's copy cannot be allocated) and some with no text
 * at all, so a syntax error is trusted only when it repeats (as canary's
 * state.c does). */
static int load_json(json_t **out, const char *text, size_t len, json_error_t *jerr)
{
	*out = json_loadb(text, len, JSON_ALLOW_NUL, jerr);
	if (!*out && jerr->text[0] && json_error_code(jerr) != json_error_out_of_memory)
		*out = json_loadb(text, len, JSON_ALLOW_NUL, jerr);
	if (*out)
		return 0;
	return !jerr->text[0] || json_error_code(jerr) == json_error_out_of_memory ? KUBE_ENOMEM : -1;
}

static int check_required(const json_t *release, char *err, size_t err_size)
{
	const json_t *version = json_object_get(release, "version");
	const json_t *info = json_object_get(release, "info");
	if (!json_is_string(json_object_get(release, "name")))
		return fail(err, err_size, "release record has no name");
	if (!json_is_integer(version) || json_integer_value(version) < 1)
		return fail(err, err_size, "release record has no version (revision) of 1 or more");
	if (!json_is_object(info) || !json_is_string(json_object_get(info, "status")))
		return fail(err, err_size, "release record has no info.status");
	return 0;
}

/* Decodes one layer of base64; what names the layer in a reason. */
static int unbase64(char **out, size_t *out_len, const char *text, size_t len, const char *what, char *err,
                    size_t err_size)
{
	size_t bad_at = 0;
	int rc = kube_base64_decode(out, out_len, text, len, KUBE_BASE64_STD, &bad_at);
	if (rc == KUBE_EINVALID)
		return fail(err, err_size, "bad base64 in %s at input byte %zu", what, bad_at);
	return rc == 0 ? 0 : out_of_memory(err, err_size);
}

int rollback_release_decode(json_t **out, const char *value, size_t len, enum rollback_storage storage, char *err,
                            size_t err_size)
{
	char *helm_text = NULL, *bytes = NULL, *inflated = NULL;
	size_t helm_len = 0, bytes_len = 0, json_len = 0;
	const char *json_text;
	json_error_t jerr;
	json_t *release = NULL;
	int rc, gzipped;

	assert(out && (value || !len));
	*out = NULL;
	if (err && err_size)
		err[0] = '\0';
	if (storage == ROLLBACK_STORAGE_SECRET) {
		rc = unbase64(&helm_text, &helm_len, value, len, "Secret data", err, err_size);
		if (rc != 0)
			goto done;
		rc = unbase64(&bytes, &bytes_len, helm_text, helm_len, "Helm's release string", err, err_size);
	} else {
		rc = unbase64(&bytes, &bytes_len, value, len, "Helm's release string", err, err_size);
	}
	if (rc != 0)
		goto done;
	if (bytes_len > ROLLBACK_RELEASE_MAX_JSON) {
		rc = fail(err, err_size, "release record too large: %zu bytes", bytes_len);
		goto done;
	}
	gzipped = bytes_len >= sizeof(gzip_magic) && memcmp(bytes, gzip_magic, sizeof(gzip_magic)) == 0;
	if (gzipped) {
		rc = gunzip(&inflated, &json_len, (const unsigned char *)bytes, bytes_len, err, err_size);
		if (rc != 0)
			goto done;
		json_text = inflated;
	} else {
		/* Records written before Helm compressed them are plain JSON. */
		json_text = bytes;
		json_len = bytes_len;
	}
	rc = load_json(&release, json_text, json_len, &jerr);
	if (rc == KUBE_ENOMEM) {
		rc = out_of_memory(err, err_size);
		goto done;
	}
	if (rc != 0) {
		rc = fail(err, err_size, "release record is %s: %s at byte %d",
		          gzipped ? "gzip but not JSON" : "neither gzip nor JSON", jerr.text, jerr.position);
		goto done;
	}
	if (!json_is_object(release)) {
		rc = fail(err, err_size, "release record is not a JSON object");
		goto done;
	}
	rc = check_required(release, err, err_size);
	if (rc != 0)
		goto done;
	*out = release;
	release = NULL;
done:
	json_decref(release);
	kube_free(inflated);
	kube_free(bytes);
	kube_free(helm_text);
	return rc;
}

/* Compresses data[0..len) as gzip at best compression (what Helm uses)
 * into a new buffer (free with kube_free). */
static int gzip_best(unsigned char **out, size_t *out_len, const char *data, size_t len, char *err, size_t err_size)
{
	z_stream z;
	unsigned char *deflated = NULL;
	int rc = 0, zrc;

	*out = NULL;
	*out_len = 0;
	memset(&z, 0, sizeof(z));
	z.zalloc = zlib_alloc;
	z.zfree = zlib_free;
	zrc = deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK)
		return zrc == Z_MEM_ERROR ? out_of_memory(err, err_size) : fail(err, err_size, "deflate error: init");
	uLong bound = deflateBound(&z, (uLong)len);
	deflated = kube_malloc(bound);
	if (!deflated) {
		rc = out_of_memory(err, err_size);
		goto done;
	}
	z.next_in = (const Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = deflated;
	z.avail_out = (uInt)bound;
	zrc = deflate(&z, Z_FINISH);
	if (zrc != Z_STREAM_END) {
		rc = zrc == Z_MEM_ERROR ? out_of_memory(err, err_size)
		                        : fail(err, err_size, "deflate error: %s", z.msg ? z.msg : "incomplete");
		goto done;
	}
	*out_len = (size_t)(bound - z.avail_out);
	*out = deflated;
	deflated = NULL;
done:
	deflateEnd(&z);
	kube_free(deflated);
	return rc;
}

static int put_base64(kube_buf *out, const void *data, size_t len, char *err, size_t err_size)
{
	int rc = kube_base64_encode(out, data, len);
	if (rc == KUBE_ENOMEM)
		return out_of_memory(err, err_size);
	return rc == 0 ? 0 : fail(err, err_size, "encoded release record too large");
}

int rollback_release_encode(kube_buf *out, const json_t *release, enum rollback_storage storage, char *err,
                            size_t err_size)
{
	const size_t flags = JSON_COMPACT; /* jansson keeps member order */
	char *json_text = NULL;
	unsigned char *deflated = NULL;
	size_t json_len, deflated_len = 0;
	kube_buf helm_text = KUBE_BUF_INIT;
	int rc;

	assert(out && json_is_object(release));
	if (err && err_size)
		err[0] = '\0';
	/* jansson fails a dump only for lack of memory (its loop detection
	 * allocates) or a reference cycle, which no decoded tree has. */
	json_len = json_dumpb(release, NULL, 0, flags);
	if (json_len == 0)
		return out_of_memory(err, err_size);
	if (json_len > ROLLBACK_RELEASE_MAX_JSON)
		return fail(err, err_size, "release record too large: %zu bytes of JSON", json_len);
	json_text = kube_malloc(json_len);
	if (!json_text)
		return out_of_memory(err, err_size);
	if (json_dumpb(release, json_text, json_len, flags) != json_len) {
		rc = out_of_memory(err, err_size);
		goto done;
	}
	rc = gzip_best(&deflated, &deflated_len, json_text, json_len, err, err_size);
	if (rc != 0)
		goto done;
	if (storage == ROLLBACK_STORAGE_SECRET) {
		/* Helm's string is the Secret's bytes; the API wants those in base64. */
		rc = put_base64(&helm_text, deflated, deflated_len, err, err_size);
		if (rc == 0)
			rc = put_base64(out, helm_text.ptr, helm_text.len, err, err_size);
	} else {
		rc = put_base64(out, deflated, deflated_len, err, err_size);
	}
done:
	kube_buf_dispose(&helm_text);
	kube_free(deflated);
	kube_free(json_text);
	return rc;
}

int rollback_release_set_status(json_t *release, json_t *labels, enum rollback_status status, char *err,
                                size_t err_size)
{
	json_t *info = json_object_get(release, "info");
	json_t *old_label;
	const char *name = rollback_status_name(status);

	assert(json_is_object(release) && json_is_object(labels));
	assert((size_t)status < ARRAY_SIZE(status_names));
	if (!json_is_object(info))
		return fail(err, err_size, "release record has no info object");
	/* Replacing an existing member allocates nothing, so the label can be
	 * put back whatever happens to the body. */
	old_label = json_incref(json_object_get(labels, "status"));
	if (json_object_set_new(labels, "status", json_string(name)) != 0) {
		json_decref(old_label);
		return out_of_memory(err, err_size);
	}
	if (json_object_set_new(info, "status", json_string(name)) != 0) {
		if (old_label)
			(void)json_object_set(labels, "status", old_label);
		else
			(void)json_object_del(labels, "status");
		json_decref(old_label);
		return out_of_memory(err, err_size);
	}
	json_decref(old_label);
	return 0;
}

static const char *string_member(const json_t *object, const char *key)
{
	const char *value = json_string_value(json_object_get(object, key));
	return value ? value : "";
}

static const json_t *chart_metadata(const json_t *release)
{
	return json_object_get(json_object_get(release, "chart"), "metadata");
}

const char *rollback_release_name(const json_t *release)
{
	return string_member(release, "name");
}

long long rollback_release_version(const json_t *release)
{
	const json_t *version = json_object_get(release, "version");
	return json_is_integer(version) ? (long long)json_integer_value(version) : 0;
}

const char *rollback_release_namespace(const json_t *release)
{
	return string_member(release, "namespace");
}

enum rollback_status rollback_release_status(const json_t *release)
{
	enum rollback_status status = ROLLBACK_STATUS_UNKNOWN;
	(void)rollback_status_parse(&status,
	                            json_string_value(json_object_get(json_object_get(release, "info"), "status")));
	return status;
}

const char *rollback_release_description(const json_t *release)
{
	return string_member(json_object_get(release, "info"), "description");
}

const char *rollback_release_last_deployed(const json_t *release)
{
	return string_member(json_object_get(release, "info"), "last_deployed");
}

const char *rollback_release_chart_name(const json_t *release)
{
	return string_member(chart_metadata(release), "name");
}

const char *rollback_release_chart_version(const json_t *release)
{
	return string_member(chart_metadata(release), "version");
}

const char *rollback_release_app_version(const json_t *release)
{
	return string_member(chart_metadata(release), "appVersion");
}

const char *rollback_release_manifest(const json_t *release)
{
	return string_member(release, "manifest");
}

const json_t *rollback_release_hooks(const json_t *release)
{
	const json_t *hooks = json_object_get(release, "hooks");
	return json_is_array(hooks) ? hooks : NULL;
}
