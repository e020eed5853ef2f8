/* The kubeconfig file model: files read in kubectl's precedence, each one
 * type-checked as client-go's decoder would, and merged by client-go's
 * rule (the first file to define a name wins; current-context from the
 * first file that sets one). config.c turns the result into a kube_rest. */
#ifndef KUBE_KUBECONFIG_H
#define KUBE_KUBECONFIG_H

#include <stddef.h>

#include <jansson.h>

#include <kube/config.h>

/* One named cluster, user or context. Everything is borrowed from the
 * parsed file held by the owning struct kube_kubeconfig. */
struct kube_kubeconfig_entry {
	const char *name;
	const json_t *body; /* the "cluster"/"user"/"context" object; NULL when absent or null */
	const char *origin; /* the file that defined the entry, as named when loaded */
};

struct kube_kubeconfig_list {
	struct kube_kubeconfig_entry *items;
	size_t count;
	size_t cap;
};

/* A loaded file: its parsed document and its name, both owned. */
struct kube_kubeconfig_file {
	json_t *root;
	char *path;
};

struct kube_kubeconfig {
	struct kube_kubeconfig_file *files;
	size_t nfiles;
	struct kube_kubeconfig_list clusters;
	struct kube_kubeconfig_list users;
	struct kube_kubeconfig_list contexts;
	struct kube_kubeconfig_list extensions;
	const char *current_context; /* NULL when no file sets one */
	const char *current_context_origin;
	int has_content; /* some file defined a name, a current-context or preferences */
};

#define KUBE_KUBECONFIG_INIT                                                                                           \
	{                                                                                                              \
		NULL, 0, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, NULL, NULL, 0                         \
	}

/* Parses one kubeconfig document (YAML or JSON) that claims to come from
 * path, checks its types and base64 fields, and merges it under the files
 * added before it. Errors: KUBE_ECONFIG "path: problem" (malformed YAML
 * with its line, wrong types, duplicate names, bad base64); KUBE_ENOMEM.
 * On error kc is unchanged apart from owning nothing new. */
int kube_kubeconfig_add(struct kube_kubeconfig *kc, const char *path, const char *data, size_t len);

/* Reads the files kubectl would: explicit_path alone when non-NULL and
 * non-empty (a missing file is an error), else every file of KUBECONFIG
 * (missing ones skipped, duplicates ignored), else $HOME/.kube/config if
 * it exists. Each file read that its group or others may read is reported
 * once as a KUBE_LOG_WARN line in Helm's words ("Kubernetes configuration
 * file is world-readable. This is insecure. Location: path"). Errors:
 * KUBE_ECONFIG naming the file; KUBE_ENOMEM. */
int kube_kubeconfig_load(struct kube_kubeconfig *kc, const char *explicit_path);

/* The entry called name, or NULL. */
const struct kube_kubeconfig_entry *kube_kubeconfig_find(const struct kube_kubeconfig_list *list, const char *name);

void kube_kubeconfig_dispose(struct kube_kubeconfig *kc);

/* Resolves path against the directory of origin like client-go's
 * ResolvePaths: absolute paths are kept, others are joined to the
 * absolute directory of origin and cleaned. Returns NULL on ENOMEM. */
char *kube_path_resolve(const char *path, const char *origin);

/* Resolves a kubeconfig model plus flags into a configuration (config.c);
 * kube_config_load is this after kube_kubeconfig_load. Errors as
 * kube_config_load. */
int kube_config_resolve(kube_config **out, const struct kube_kubeconfig *kc, const kube_config_options *opts);

#endif
