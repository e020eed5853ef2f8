/* Suppression annotations and --config rules. */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "input.h"
#include "suppress.h"

struct probecheck_config_rule {
	unsigned char checks[PROBECHECK_CHECK_COUNT];
	const char **kinds;
	size_t kind_count;
	const char *namespace_glob;
	const char *name_glob;
	const char *container_glob;
	probecheck_label *labels;
	size_t label_count;
	probecheck_suppression by;
};

struct probecheck_config {
	probecheck_arena arena;
	struct probecheck_config_rule *rules;
	size_t rule_count;
};

static int push_item(probecheck_suppress_item **items, size_t *count, size_t *cap, const probecheck_suppress_item *item)
{
	if (*count == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 8;
		probecheck_suppress_item *grown = kube_realloc(*items, grown_cap * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		*items = grown;
		*cap = grown_cap;
	}
	(*items)[(*count)++] = *item;
	return 0;
}

static int has_container(const probecheck_workload *w, const char *name, size_t len)
{
	for (size_t i = 0; i < w->container_count; i++)
		if (strlen(w->containers[i].name) == len && strncmp(w->containers[i].name, name, len) == 0)
			return 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int probecheck_suppress_parse_annotation(probecheck_arena *arena, const probecheck_workload *w, const char *value,
                                         enum probecheck_suppression_origin origin, probecheck_suppress_item **items,
                                         size_t *count, size_t *cap, probecheck_problem_fn problem, void *user)
{
	const char *where = origin == PROBECHECK_SUPPRESSED_BY_ANNOTATION ? "metadata.annotations"
	                                                                  : "the pod template's annotations";
	const char *p = value;
	while (is_space(*p))
		p++;
	const char *list = p;
	while (*p && !is_space(*p))
		p++;
	size_t list_len = (size_t)(p - list);
	while (is_space(*p))
		p++;
	const char *reason = p;
	size_t reason_len = strlen(reason);
	while (reason_len && is_space(reason[reason_len - 1]))
		reason_len--;

	if (list_len == 0 || reason_len == 0) {
		const char *msg = probecheck_arena_printf(
		        arena,
		        "%s in %s has no reason (\"%.*s\"): it suppresses nothing; write \"CHECK[,CHECK] REASON\"",
		        PROBECHECK_IGNORE_ANNOTATION, where, (int)(list_len > 200 ? 200 : list_len), list);
		return msg ? problem(user, msg) : KUBE_ENOMEM;
	}
	probecheck_suppression *by = probecheck_arena_alloc(arena, sizeof(*by));
	if (!by)
		return KUBE_ENOMEM;
	by->origin = origin;
	by->reason = probecheck_arena_strndup(arena, reason, reason_len);
	by->where = where;
	if (!by->reason)
		return KUBE_ENOMEM;

	const char *item = list, *end = list + list_len;
	while (item < end) {
		const char *comma = memchr(item, ',', (size_t)(end - item));
		size_t len = comma ? (size_t)(comma - item) : (size_t)(end - item);
		const char *colon = memchr(item, ':', len);
		const char *check_name = colon ? colon + 1 : item;
		size_t check_len = len - (size_t)(check_name - item);
		probecheck_suppress_item granted = {-1, NULL, NULL, 0, by};
		char id[96];
		int rc = 0;
		if (len == 0) {
			item += 1;
			continue;
		}
		(void)snprintf(id, sizeof(id), "%.*s", (int)(check_len < sizeof(id) - 1 ? check_len : sizeof(id) - 1),
		               check_name);
		if (strcmp(id, "*") != 0 &&
		    (check_len >= sizeof(id) - 1 || (granted.check = probecheck_check_find(id)) < 0)) {
			const char *msg = probecheck_arena_printf(arena, "%s in %s names an unknown check \"%.*s\"",
			                                          PROBECHECK_IGNORE_ANNOTATION, where, (int)check_len,
			                                          check_name);
			rc = msg ? problem(user, msg) : KUBE_ENOMEM;
		} else if (colon && !has_container(w, item, (size_t)(colon - item))) {
			const char *msg = probecheck_arena_printf(
			        arena, "%s in %s names a container \"%.*s\" the pod does not have",
			        PROBECHECK_IGNORE_ANNOTATION, where, (int)(colon - item), item);
			rc = msg ? problem(user, msg) : KUBE_ENOMEM;
		} else {
			if (colon &&
			    !(granted.container = probecheck_arena_strndup(arena, item, (size_t)(colon - item))))
				return KUBE_ENOMEM;
			rc = push_item(items, count, cap, &granted);
		}
		if (rc)
			return rc;
		item += len + 1;
	}
	return 0;
}

static int item_covers(const probecheck_suppress_item *item, int check, const char *container)
{
	if (item->checks ? !item->checks[check] : (item->check >= 0 && item->check != check))
		return 0;
	if (!item->container)
		return 1;
	if (!*container) /* a workload-level finding: only whole-workload suppressions cover it */
		return 0;
	return item->container_glob ? fnmatch(item->container, container, 0) == 0
	                            : strcmp(item->container, container) == 0;
}

const probecheck_suppression *probecheck_suppress_find(const probecheck_suppress_item *items, size_t count, int check,
                                                       const char *container)
{
	for (size_t i = 0; i < count; i++)
		if (item_covers(&items[i], check, container))
			return items[i].by;
	return NULL;
}

/* Config files. */

static int config_error(char *err, size_t size, const char *path, size_t rule, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int config_error(char *err, size_t size, const char *path, size_t rule, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(void)snprintf(err, size, "%s: ignore[%zu]: %s", path, rule, what);
	return KUBE_EINVALID;
}

static int string_list(probecheck_arena *arena, const json_t *value, const char ***out, size_t *count)
{
	size_t n = json_is_array(value) ? json_array_size(value) : 1;
	*out = probecheck_arena_alloc(arena, n * sizeof(char *));
	if (!*out)
		return KUBE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_is_array(value) ? json_array_get(value, i) : value;
		if (!json_is_string(item))
			return KUBE_EINVALID;
		if (!((*out)[i] = probecheck_arena_strdup(arena, json_string_value(item))))
			return KUBE_ENOMEM;
	}
	*count = n;
	return 0;
}

/* Reads an optional string field into *out (a copy in the arena). */
static int glob_field(probecheck_config *config, const json_t *spec, const char *key, const char **out)
{
	const json_t *value = json_object_get(spec, key);
	if (!value)
		return 0;
	if (!json_is_string(value))
		return KUBE_EINVALID;
	*out = probecheck_arena_strdup(&config->arena, json_string_value(value));
	return *out ? 0 : KUBE_ENOMEM;
}

static int parse_rule(probecheck_config *config, struct probecheck_config_rule *rule, const json_t *spec,
                      const char *path, size_t index, char *err, size_t err_size)
{
	static const char *const known[] = {"checks", "kinds",  "kind",      "namespace",
	                                    "name",   "labels", "container", "reason"};
	const char *key;
	const json_t *value;
	const char **checks = NULL;
	size_t check_count = 0;
	int rc;

	if (!json_is_object(spec))
		return config_error(err, err_size, path, index, "%s", "a rule must be a map");
	json_object_foreach((json_t *)spec, key, value)
	{
		size_t k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcmp(key, known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			return config_error(err, err_size, path, index, "unknown field \"%s\"", key);
	}
	const json_t *checks_json = json_object_get(spec, "checks");
	if (!checks_json || (rc = string_list(&config->arena, checks_json, &checks, &check_count)) == KUBE_EINVALID ||
	    check_count == 0)
		return config_error(err, err_size, path, index, "%s", "\"checks\" must list check IDs (or \"*\")");
	if (rc)
		return rc;
	for (size_t i = 0; i < check_count; i++) {
		if (strcmp(checks[i], "*") == 0) {
			memset(rule->checks, 1, sizeof(rule->checks));
			continue;
		}
		int check = probecheck_check_find(checks[i]);
		if (check < 0)
			return config_error(err, err_size, path, index,
			                    "unknown check \"%s\" (see 'kubectl probecheck checks')", checks[i]);
		rule->checks[check] = 1;
	}
	const char *reason = probecheck_json_string(spec, "reason");
	if (!reason || !*reason)
		return config_error(err, err_size, path, index, "%s", "\"reason\" is required");
	const json_t *kinds = json_object_get(spec, "kinds");
	if (!kinds)
		kinds = json_object_get(spec, "kind");
	if (kinds && (rc = string_list(&config->arena, kinds, &rule->kinds, &rule->kind_count)))
		return rc == KUBE_EINVALID ? config_error(err, err_size, path, index, "%s", "\"kinds\" must list kinds")
		                           : rc;
	if ((rc = glob_field(config, spec, "namespace", &rule->namespace_glob)) ||
	    (rc = glob_field(config, spec, "name", &rule->name_glob)) ||
	    (rc = glob_field(config, spec, "container", &rule->container_glob)))
		return rc == KUBE_EINVALID ? config_error(err, err_size, path, index, "%s",
		                                          "\"namespace\", \"name\" and \"container\" must be strings")
		                           : rc;
	const json_t *labels = json_object_get(spec, "labels");
	if (labels) {
		if (!json_is_object(labels))
			return config_error(err, err_size, path, index, "%s", "\"labels\" must be a map of strings");
		rule->label_count = json_object_size(labels);
		rule->labels = probecheck_arena_alloc(&config->arena, (rule->label_count + 1) * sizeof(*rule->labels));
		if (!rule->labels)
			return KUBE_ENOMEM;
		size_t i = 0;
		json_object_foreach((json_t *)labels, key, value)
		{
			if (!json_is_string(value))
				return config_error(err, err_size, path, index, "%s",
				                    "\"labels\" must be a map of strings");
			rule->labels[i].key = probecheck_arena_strdup(&config->arena, key);
			rule->labels[i].value = probecheck_arena_strdup(&config->arena, json_string_value(value));
			if (!rule->labels[i].key || !rule->labels[i].value)
				return KUBE_ENOMEM;
			i++;
		}
	}
	rule->by.origin = PROBECHECK_SUPPRESSED_BY_CONFIG;
	rule->by.reason = probecheck_arena_strdup(&config->arena, reason);
	rule->by.where = probecheck_arena_printf(&config->arena, "%s: ignore[%zu]", path, index);
	return rule->by.reason && rule->by.where ? 0 : KUBE_ENOMEM;
}

static int load_config(probecheck_config *config, const char *path, char *err, size_t err_size)
{
	char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int rc = probecheck_file_read(&data, &len, path, err, err_size);
	if (rc)
		return rc;
	if ((rc = kube_yaml_parse_one(&doc, data, len))) {
		if (rc == KUBE_EINVALID)
			probecheck_format_parse_error(err, err_size, path);
		goto done;
	}
	rc = KUBE_EINVALID;
	const char *key;
	const json_t *value;
	if (!json_is_object(doc)) {
		(void)snprintf(err, err_size, "%s: a config file must be a map", path);
		goto done;
	}
	json_object_foreach(doc, key, value)
	{
		if (strcmp(key, "apiVersion") != 0 && strcmp(key, "kind") != 0 && strcmp(key, "ignore") != 0) {
			(void)snprintf(err, err_size, "%s: unknown field \"%s\" (expected apiVersion, kind, ignore)",
			               path, key);
			goto done;
		}
	}
	const char *kind = probecheck_json_string(doc, "kind");
	if (kind && strcmp(kind, "ProbecheckConfig") != 0) {
		(void)snprintf(err, err_size, "%s: kind is \"%s\", expected ProbecheckConfig", path, kind);
		goto done;
	}
	const json_t *rules = json_object_get(doc, "ignore");
	if (rules && !json_is_null(rules) && !json_is_array(rules)) {
		(void)snprintf(err, err_size, "%s: \"ignore\" must be a list of rules", path);
		goto done;
	}
	config->rule_count = json_is_array(rules) ? json_array_size(rules) : 0;
	if (config->rule_count) {
		config->rules = probecheck_arena_alloc(&config->arena, config->rule_count * sizeof(*config->rules));
		if (!config->rules) {
			rc = KUBE_ENOMEM;
			goto done;
		}
		memset(config->rules, 0, config->rule_count * sizeof(*config->rules));
	}
	for (size_t i = 0; i < config->rule_count; i++)
		if ((rc = parse_rule(config, &config->rules[i], json_array_get(rules, i), path, i, err, err_size)))
			goto done;
	rc = 0;
done:
	json_decref(doc);
	kube_free(data);
	return rc;
}

int probecheck_config_load(probecheck_config **out, const char *path, char *err, size_t err_size)
{
	*out = NULL;
	probecheck_config *config = kube_calloc(1, sizeof(*config));
	if (!config)
		return KUBE_ENOMEM;
	int rc = load_config(config, path, err, err_size);
	if (rc) {
		probecheck_config_free(config);
		return rc;
	}
	*out = config;
	return 0;
}

void probecheck_config_free(probecheck_config *config)
{
	if (!config)
		return;
	probecheck_arena_dispose(&config->arena);
	kube_free(config);
}

static const char *workload_label(const probecheck_workload *w, const char *key)
{
	const char *value = probecheck_json_string(w->object_labels, key);
	return value ? value : probecheck_json_string(w->labels, key);
}

static int rule_targets(const struct probecheck_config_rule *rule, const probecheck_workload *w)
{
	if (rule->kind_count) {
		size_t k;
		for (k = 0; k < rule->kind_count; k++)
			if (w->kind_name && strcmp(rule->kinds[k], w->kind_name) == 0)
				break;
		if (k == rule->kind_count)
			return 0;
	}
	if (rule->namespace_glob && fnmatch(rule->namespace_glob, w->namespace_name, 0) != 0)
		return 0;
	if (rule->name_glob && fnmatch(rule->name_glob, w->name, 0) != 0)
		return 0;
	for (size_t i = 0; i < rule->label_count; i++) {
		const char *value = workload_label(w, rule->labels[i].key);
		if (!value || strcmp(value, rule->labels[i].value) != 0)
			return 0;
	}
	return 1;
}

int probecheck_config_match(const probecheck_config *config, const probecheck_workload *w,
                            probecheck_suppress_item **items, size_t *count, size_t *cap)
{
	for (size_t i = 0; config && i < config->rule_count; i++) {
		const struct probecheck_config_rule *rule = &config->rules[i];
		if (!rule_targets(rule, w))
			continue;
		probecheck_suppress_item item = {-1, rule->checks, rule->container_glob, 1, &rule->by};
		int rc = push_item(items, count, cap, &item);
		if (rc)
			return rc;
	}
	return 0;
}
