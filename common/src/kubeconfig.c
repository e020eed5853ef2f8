/* Kubeconfig files: read in kubectl's precedence, type-checked as
 * client-go's decoder does, and merged by clientcmd's loader rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kube/yaml.h>

#include "base64.h"
#include "fs.h"
#include "internal.h"
#include "kubeconfig.h"

/* A kubeconfig larger than this is not a kubeconfig. */
#define KUBECONFIG_MAX_BYTES ((size_t)64 * 1024 * 1024)

/* What client-go's types accept for each field (tools/clientcmd/api/v1). */
enum field_kind {
	FIELD_STRING,      /* string or null */
	FIELD_BOOL,        /* boolean or null */
	FIELD_BASE64,      /* base64 string or null ([]byte) */
	FIELD_STRINGS,     /* list of strings or null */
	FIELD_STRING_MAP,  /* mapping of strings or null */
	FIELD_STRINGS_MAP, /* mapping of lists of strings or null */
	FIELD_ANY,         /* anything (runtime.RawExtension) */
	FIELD_OBJECT,      /* mapping checked against nested, or null */
	FIELD_OBJECTS,     /* list of mappings checked against nested, or null */
	FIELD_NAMED,       /* list of {name, <label>: mapping checked against nested} */
};

struct field {
	const char *key;
	enum field_kind kind;
	const struct field *nested;
	const char *label; /* FIELD_NAMED: the body's key, also the noun in messages */
};

static const struct field extension_fields[] = {
        {"name", FIELD_STRING, NULL, NULL},
        {"extension", FIELD_ANY, NULL, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field cluster_fields[] = {
        {"server", FIELD_STRING, NULL, NULL},
        {"tls-server-name", FIELD_STRING, NULL, NULL},
        {"insecure-skip-tls-verify", FIELD_BOOL, NULL, NULL},
        {"certificate-authority", FIELD_STRING, NULL, NULL},
        {"certificate-authority-data", FIELD_BASE64, NULL, NULL},
        {"proxy-url", FIELD_STRING, NULL, NULL},
        {"disable-compression", FIELD_BOOL, NULL, NULL},
        {"extensions", FIELD_OBJECTS, extension_fields, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field env_fields[] = {
        {"name", FIELD_STRING, NULL, NULL},
        {"value", FIELD_STRING, NULL, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field exec_fields[] = {
        {"command", FIELD_STRING, NULL, NULL},         {"args", FIELD_STRINGS, NULL, NULL},
        {"env", FIELD_OBJECTS, env_fields, NULL},      {"apiVersion", FIELD_STRING, NULL, NULL},
        {"installHint", FIELD_STRING, NULL, NULL},     {"provideClusterInfo", FIELD_BOOL, NULL, NULL},
        {"interactiveMode", FIELD_STRING, NULL, NULL}, {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field auth_provider_fields[] = {
        {"name", FIELD_STRING, NULL, NULL},
        {"config", FIELD_STRING_MAP, NULL, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field user_fields[] = {
        {"client-certificate", FIELD_STRING, NULL, NULL},
        {"client-certificate-data", FIELD_BASE64, NULL, NULL},
        {"client-key", FIELD_STRING, NULL, NULL},
        {"client-key-data", FIELD_BASE64, NULL, NULL},
        {"token", FIELD_STRING, NULL, NULL},
        {"tokenFile", FIELD_STRING, NULL, NULL},
        {"as", FIELD_STRING, NULL, NULL},
        {"as-uid", FIELD_STRING, NULL, NULL},
        {"as-groups", FIELD_STRINGS, NULL, NULL},
        {"as-user-extra", FIELD_STRINGS_MAP, NULL, NULL},
        {"username", FIELD_STRING, NULL, NULL},
        {"password", FIELD_STRING, NULL, NULL},
        {"auth-provider", FIELD_OBJECT, auth_provider_fields, NULL},
        {"exec", FIELD_OBJECT, exec_fields, NULL},
        {"extensions", FIELD_OBJECTS, extension_fields, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field context_fields[] = {
        {"cluster", FIELD_STRING, NULL, NULL},   {"user", FIELD_STRING, NULL, NULL},
        {"namespace", FIELD_STRING, NULL, NULL}, {"extensions", FIELD_OBJECTS, extension_fields, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field preferences_fields[] = {
        {"colors", FIELD_BOOL, NULL, NULL},
        {"extensions", FIELD_OBJECTS, extension_fields, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const struct field config_fields[] = {
        {"kind", FIELD_STRING, NULL, NULL},
        {"apiVersion", FIELD_STRING, NULL, NULL},
        {"preferences", FIELD_OBJECT, preferences_fields, NULL},
        {"clusters", FIELD_NAMED, cluster_fields, "cluster"},
        {"users", FIELD_NAMED, user_fields, "user"},
        {"contexts", FIELD_NAMED, context_fields, "context"},
        {"current-context", FIELD_STRING, NULL, NULL},
        {"extensions", FIELD_OBJECTS, extension_fields, NULL},
        {NULL, FIELD_ANY, NULL, NULL},
};

static const char *type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Where in the file a problem is, e.g. `user "alice": exec.args[1]`. */
struct where {
	const char *file;
	char path[512];
};

static int type_error(const struct where *at, const char *expected, const json_t *got)
{
	return kube_error_set(KUBE_ECONFIG, "%s: %s: expected %s, got %s", at->file, at->path, expected,
	                      type_name(got));
}

/* Appends a path segment: ".key" (or "key" at the start or after a name)
 * or "[index]". Returns the previous length so the caller can restore it;
 * overlong paths are truncated, which only shortens messages. */
static size_t where_key(struct where *at, const char *key)
{
	size_t used = strlen(at->path);
	int bare = used == 0 || at->path[used - 1] == ' ';
	(void)snprintf(at->path + used, sizeof(at->path) - used, "%s%s", bare ? "" : ".", key);
	return used;
}

static size_t where_index(struct where *at, size_t index)
{
	size_t used = strlen(at->path);
	(void)snprintf(at->path + used, sizeof(at->path) - used, "[%zu]", index);
	return used;
}

static int check_fields(const json_t *object, const struct field *fields, struct where *at);

static int check_string_list(const json_t *value, struct where *at)
{
	if (!json_is_array(value))
		return type_error(at, "a list of strings", value);
	size_t i;
	const json_t *item;
	json_array_foreach(value, i, item)
	{
		if (!json_is_string(item) && !json_is_null(item)) {
			size_t mark = where_index(at, i);
			int rc = type_error(at, "a string", item);
			at->path[mark] = '\0';
			return rc;
		}
	}
	return 0;
}

static int check_base64(const json_t *value, struct where *at)
{
	if (!json_is_string(value))
		return type_error(at, "a base64 string", value);
	const char *text = json_string_value(value);
	char *decoded = NULL;
	size_t len = 0, bad_at = 0;
	/* strlen, not the JSON length: the value ends at a NUL as C sees it */
	int rc = kube_base64_decode(&decoded, &len, text, strlen(text), KUBE_BASE64_STD, &bad_at);
	kube_free(decoded);
	if (rc == KUBE_EINVALID)
		return kube_error_set(KUBE_ECONFIG, "%s: %s: illegal base64 data at input byte %zu", at->file, at->path,
		                      bad_at);
	return rc;
}

static int check_named_list(const json_t *list, const struct field *field, struct where *at)
{
	if (!json_is_array(list))
		return type_error(at, "a list", list);
	char list_path[64];
	size_t i;
	const json_t *item;
	int rc = 0;
	(void)snprintf(list_path, sizeof(list_path), "%.63s", at->path);
	json_array_foreach(list, i, item)
	{
		const json_t *name = json_object_get(item, "name");
		if (json_is_string(name))
			(void)snprintf(at->path, sizeof(at->path), "%s \"%s\": ", field->label,
			               json_string_value(name));
		else
			(void)snprintf(at->path, sizeof(at->path), "%.63s[%zu]", list_path, i);
		if (json_is_null(item)) {
			rc = 0;
		} else if (!json_is_object(item)) {
			rc = type_error(at, "a mapping", item);
		} else if (name && !json_is_string(name) && !json_is_null(name)) {
			where_key(at, "name");
			rc = type_error(at, "a string", name);
		} else {
			const json_t *body = json_object_get(item, field->label);
			if (body && !json_is_null(body)) {
				if (!json_is_object(body)) {
					where_key(at, field->label);
					rc = type_error(at, "a mapping", body);
				} else {
					rc = check_fields(body, field->nested, at);
				}
			}
		}
		if (rc)
			break;
	}
	(void)snprintf(at->path, sizeof(at->path), "%.63s", list_path);
	return rc;
}

static int check_value(const json_t *value, const struct field *field, struct where *at)
{
	size_t i;
	const char *key;
	const json_t *item;
	int rc = 0;
	if (json_is_null(value) || field->kind == FIELD_ANY)
		return 0;
	switch (field->kind) {
	case FIELD_STRING:
		return json_is_string(value) ? 0 : type_error(at, "a string", value);
	case FIELD_BOOL:
		return json_is_boolean(value) ? 0 : type_error(at, "a boolean", value);
	case FIELD_BASE64:
		return check_base64(value, at);
	case FIELD_STRINGS:
		return check_string_list(value, at);
	case FIELD_STRING_MAP:
	case FIELD_STRINGS_MAP:
		if (!json_is_object(value))
			return type_error(at, "a mapping", value);
		json_object_foreach((json_t *)value, key, item)
		{
			size_t mark = where_key(at, key);
			if (field->kind == FIELD_STRINGS_MAP)
				rc = json_is_null(item) ? 0 : check_string_list(item, at);
			else if (!json_is_string(item) && !json_is_null(item))
				rc = type_error(at, "a string", item);
			at->path[mark] = '\0';
			if (rc)
				return rc;
		}
		return 0;
	case FIELD_OBJECT:
		return json_is_object(value) ? check_fields(value, field->nested, at)
		                             : type_error(at, "a mapping", value);
	case FIELD_OBJECTS:
		if (!json_is_array(value))
			return type_error(at, "a list", value);
		json_array_foreach(value, i, item)
		{
			size_t mark = where_index(at, i);
			if (json_is_object(item))
				rc = check_fields(item, field->nested, at);
			else if (!json_is_null(item))
				rc = type_error(at, "a mapping", item);
			at->path[mark] = '\0';
			if (rc)
				return rc;
		}
		return 0;
	case FIELD_NAMED:
		return check_named_list(value, field, at);
	default:
		return 0;
	}
}

/* Checks the fields client-go knows; like its decoder, ignores the rest. */
static int check_fields(const json_t *object, const struct field *fields, struct where *at)
{
	for (const struct field *field = fields; field->key; field++) {
		const json_t *value = json_object_get(object, field->key);
		if (!value)
			continue;
		size_t mark = where_key(at, field->key);
		int rc = check_value(value, field, at);
		at->path[mark] = '\0';
		if (rc)
			return rc;
	}
	return 0;
}

const struct kube_kubeconfig_entry *kube_kubeconfig_find(const struct kube_kubeconfig_list *list, const char *name)
{
	for (size_t i = 0; name && i < list->count; i++) {
		if (strcmp(list->items[i].name, name) == 0)
			return &list->items[i];
	}
	return NULL;
}

static const char *name_of(const json_t *item)
{
	const char *name = json_string_value(json_object_get(item, "name"));
	return name ? name : "";
}

/* client-go's decoder turns each list into a map and rejects a name that
 * appears twice in one file (api/v1/conversion.go). */
static int check_duplicates(const json_t *list, const char *key, const char *file)
{
	size_t count = json_array_size(list);
	for (size_t i = 0; i < count; i++) {
		const char *name = name_of(json_array_get(list, i));
		for (size_t j = 0; j < i; j++) {
			if (strcmp(name, name_of(json_array_get(list, j))) == 0)
				return kube_error_set(KUBE_ECONFIG, "%s: duplicate name \"%s\" in %s", file, name, key);
		}
	}
	return 0;
}

/* Adds the file's entries whose names no earlier file defined. */
static int merge_list(struct kube_kubeconfig_list *list, const json_t *items, const char *label, const char *origin)
{
	size_t i;
	const json_t *item;
	json_array_foreach(items, i, item)
	{
		const char *name = name_of(item);
		if (kube_kubeconfig_find(list, name))
			continue;
		if (list->count == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 8;
			struct kube_kubeconfig_entry *grown = kube_realloc(list->items, cap * sizeof(*grown));
			if (!grown)
				return kube_error_set(KUBE_ENOMEM, "out of memory");
			list->items = grown;
			list->cap = cap;
		}
		const json_t *body = label ? json_object_get(item, label) : NULL;
		struct kube_kubeconfig_entry *entry = &list->items[list->count++];
		entry->name = name;
		entry->body = json_is_object(body) ? body : NULL;
		entry->origin = origin;
	}
	return 0;
}

static int check_kind(const json_t *root, const char *path)
{
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *version = json_string_value(json_object_get(root, "apiVersion"));
	if (version && *version && strcmp(version, "v1") != 0)
		return kube_error_set(KUBE_ECONFIG, "%s: no kind \"%s\" is registered for version \"%s\"", path,
		                      kind && *kind ? kind : "Config", version);
	if (kind && *kind && strcmp(kind, "Config") != 0)
		return kube_error_set(KUBE_ECONFIG, "%s: no kind \"%s\" is registered for version \"v1\"", path, kind);
	return 0;
}

static int parse_document(json_t **out, const char *path, const char *data, size_t len)
{
	json_t *root = NULL;
	*out = NULL;
	if (len == 0)
		return 0;
	int rc = kube_yaml_parse_one(&root, data, len);
	if (rc == KUBE_ENOMEM)
		return rc;
	if (rc)
		return kube_error_set(KUBE_ECONFIG, "%s: %s", path, kube_error_last()->message);
	if (root && !json_is_object(root) && !json_is_null(root)) {
		rc = kube_error_set(KUBE_ECONFIG, "%s: a kubeconfig must be a mapping, not %s", path, type_name(root));
		json_decref(root);
		return rc;
	}
	if (json_is_null(root)) {
		json_decref(root);
		root = NULL;
	}
	*out = root;
	return 0;
}

int kube_kubeconfig_add(struct kube_kubeconfig *kc, const char *path, const char *data, size_t len)
{
	static const char *const lists[][2] = {
	        {"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}, {"extensions", NULL}};
	struct kube_kubeconfig_list *targets[] = {&kc->clusters, &kc->users, &kc->contexts, &kc->extensions};
	size_t saved[KUBE_ARRAY_SIZE(targets)];
	struct where at;
	json_t *root = NULL;
	char *owned_path = NULL;
	int rc = parse_document(&root, path, data, len);
	if (rc || !root)
		return rc;

	at.file = path;
	at.path[0] = '\0';
	if ((rc = check_fields(root, config_fields, &at)) != 0 || (rc = check_kind(root, path)) != 0)
		goto done;
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(targets); i++) {
		const json_t *items = json_object_get(root, lists[i][0]);
		if (json_is_array(items) && (rc = check_duplicates(items, lists[i][0], path)) != 0)
			goto done;
	}

	struct kube_kubeconfig_file *files = kube_realloc(kc->files, (kc->nfiles + 1) * sizeof(*files));
	if (files)
		kc->files = files;
	if (!files || !(owned_path = kube_strdup(path))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}

	for (size_t i = 0; i < KUBE_ARRAY_SIZE(targets); i++)
		saved[i] = targets[i]->count;
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(targets) && !rc; i++) {
		const json_t *items = json_object_get(root, lists[i][0]);
		if (json_is_array(items))
			rc = merge_list(targets[i], items, lists[i][1], owned_path);
	}
	if (rc) {
		for (size_t i = 0; i < KUBE_ARRAY_SIZE(targets); i++)
			targets[i]->count = saved[i];
		goto done;
	}

	const char *current = json_string_value(json_object_get(root, "current-context"));
	if (current && *current && !kc->current_context) {
		kc->current_context = current;
		kc->current_context_origin = owned_path;
	}
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(targets); i++) {
		if (json_array_size(json_object_get(root, lists[i][0])) > 0)
			kc->has_content = 1;
	}
	if ((current && *current) || json_is_true(json_object_get(json_object_get(root, "preferences"), "colors")))
		kc->has_content = 1;
	kc->files[kc->nfiles].root = root;
	kc->files[kc->nfiles].path = owned_path;
	kc->nfiles++;
	root = NULL;
	owned_path = NULL;
done:
	json_decref(root);
	kube_free(owned_path);
	return rc;
}

/* Helm's warning (cmd/helm/root_unix.go checkPerms) about a kubeconfig
 * others can read, with Helm's sentence, as a KUBE_LOG_WARN line the
 * program prints: one line per file, world-readable taking precedence
 * (Helm prints both for 0644). Only regular files: KUBECONFIG=/dev/null
 * is an idiom, not a leak. */
static void warn_if_readable(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) || !(st->st_mode & (S_IRGRP | S_IROTH)))
		return;
	kube_log(KUBE_LOG_WARN, KUBE_KUBECONFIG_READABLE_WARNING "%s-readable. This is insecure. Location: %s",
	         st->st_mode & S_IROTH ? "world" : "group", path);
}

/* Loads path; a missing file is skipped unless required (--kubeconfig),
 * as client-go's loader does. */
static int load_file(struct kube_kubeconfig *kc, const char *path, int required)
{
	kube_buf buf = KUBE_BUF_INIT;
	struct stat st;
	int rc = kube_file_read_stat(&buf, path, KUBECONFIG_MAX_BYTES, &st);
	if (rc == 1 && required) {
		rc = kube_error_set(KUBE_ECONFIG, "stat %s: no such file or directory", path);
	} else if (rc == 1) {
		kube_log(KUBE_LOG_DECISION, "kubeconfig %s does not exist, skipped", path);
		rc = 0;
	} else if (rc == 0) {
		kube_log(KUBE_LOG_DECISION, "loading kubeconfig %s", path);
		warn_if_readable(path, &st);
		rc = kube_kubeconfig_add(kc, path, buf.ptr ? buf.ptr : "", buf.len);
	}
	kube_buf_dispose(&buf);
	return rc;
}

/* Loads each entry of KUBECONFIG (split on ':'), skipping empty entries
 * and ones seen before (loader.go deduplicate). */
static int load_env_list(struct kube_kubeconfig *kc, const char *list)
{
	int rc = 0;
	const char *start = list;
	while (!rc) {
		const char *end = strchr(start, ':');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		int seen = len == 0;
		for (const char *prev = list; !seen && prev < start;) {
			const char *prev_end = strchr(prev, ':');
			if ((size_t)(prev_end - prev) == len && memcmp(prev, start, len) == 0)
				seen = 1;
			prev = prev_end + 1;
		}
		if (!seen) {
			char *path = kube_strndup(start, len);
			rc = path ? load_file(kc, path, 0) : kube_error_set(KUBE_ENOMEM, "out of memory");
			kube_free(path);
		}
		if (!end)
			break;
		start = end + 1;
	}
	return rc;
}

int kube_kubeconfig_load(struct kube_kubeconfig *kc, const char *explicit_path)
{
	if (explicit_path && *explicit_path)
		return load_file(kc, explicit_path, 1);
	const char *env = getenv("KUBECONFIG");
	if (env && *env)
		return load_env_list(kc, env);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		kube_log(KUBE_LOG_DECISION, "HOME is not set; no default kubeconfig");
		return 0;
	}
	char *path = kube_asprintf("%s/.kube/config", home);
	if (!path)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int rc = load_file(kc, path, 0);
	kube_free(path);
	return rc;
}

void kube_kubeconfig_dispose(struct kube_kubeconfig *kc)
{
	if (!kc)
		return;
	for (size_t i = 0; i < kc->nfiles; i++) {
		json_decref(kc->files[i].root);
		kube_free(kc->files[i].path);
	}
	kube_free(kc->files);
	kube_free(kc->clusters.items);
	kube_free(kc->users.items);
	kube_free(kc->contexts.items);
	kube_free(kc->extensions.items);
	memset(kc, 0, sizeof(*kc));
}

/* Lexical cleaning as Go's filepath.Clean: drops "." and empty segments,
 * folds "..", never climbs above the root. */
static char *path_clean(const char *path)
{
	size_t len = strlen(path);
	int rooted = path[0] == '/';
	char *out = kube_malloc(len + 2);
	size_t *starts = kube_calloc(len / 2 + 2, sizeof(*starts));
	size_t used = 0, depth = 0, climbs = 0;
	if (!out || !starts) {
		kube_free(out);
		kube_free(starts);
		return NULL;
	}
	if (rooted)
		out[used++] = '/';
	for (const char *seg = path; *seg;) {
		const char *end = strchr(seg, '/');
		size_t seg_len = end ? (size_t)(end - seg) : strlen(seg);
		int dots = seg_len == 2 && seg[0] == '.' && seg[1] == '.';
		if (seg_len == 0 || (seg_len == 1 && seg[0] == '.')) {
			/* nothing */
		} else if (dots && depth > climbs) {
			used = starts[--depth];
		} else if (!(dots && rooted)) {
			starts[depth++] = used;
			if (dots)
				climbs++;
			if (used > (size_t)rooted)
				out[used++] = '/';
			memcpy(out + used, seg, seg_len);
			used += seg_len;
		}
		seg += seg_len;
		if (*seg == '/')
			seg++;
	}
	if (used == 0)
		out[used++] = '.';
	out[used] = '\0';
	kube_free(starts);
	return out;
}

char *kube_path_resolve(const char *path, const char *origin)
{
	if (path[0] == '/')
		return kube_strdup(path);
	const char *slash = strrchr(origin, '/');
	int dir_len = slash ? (int)(slash - origin) : 0;
	char cwd[4096];
	char *joined;
	if (origin[0] == '/')
		joined = kube_asprintf("%.*s/%s", dir_len, origin, path);
	else if (getcwd(cwd, sizeof(cwd)))
		joined = kube_asprintf("%s/%.*s/%s", cwd, dir_len, origin, path);
	else
		joined = kube_asprintf("./%.*s/%s", dir_len, origin, path);
	if (!joined)
		return NULL;
	char *clean = path_clean(joined);
	kube_free(joined);
	return clean;
}
