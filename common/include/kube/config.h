/* Client configuration resolved exactly as kubectl resolves it: KUBECONFIG
 * files merged (first file to define a name wins; current-context from the
 * first file that sets it), --kubeconfig overriding them, relative paths
 * resolved against the file that defined them, connection flags on top,
 * namespace from flag, then context, then "default"; or the in-cluster
 * service account when there is no kubeconfig at all. */
#ifndef KUBE_CONFIG_H
#define KUBE_CONFIG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_config kube_config;

/* kubectl's connection flags (SPEC §1.1). NULL / -1 mean "not given". */
typedef struct kube_config_options {
	const char *kubeconfig;            /* --kubeconfig: replaces KUBECONFIG */
	const char *context;               /* --context */
	const char *cluster;               /* --cluster */
	const char *user;                  /* --user */
	const char *ns;                    /* -n/--namespace */
	const char *server;                /* --server */
	const char *token;                 /* --token */
	const char *certificate_authority; /* --certificate-authority */
	const char *client_certificate;    /* --client-certificate */
	const char *client_key;            /* --client-key */
	int insecure_skip_tls_verify;      /* --insecure-skip-tls-verify: -1 unset, 0, 1 */
	const char *tls_server_name;       /* --tls-server-name */
	const char *as;                    /* --as */
	const char *const *as_groups;      /* --as-group (repeatable) */
	size_t as_groups_count;
	const char *as_uid;      /* --as-uid */
	long request_timeout_ms; /* --request-timeout: -1 unset, 0 none */
	/* Directory holding the in-cluster service account files; NULL means
	 * /var/run/secrets/kubernetes.io/serviceaccount. */
	const char *in_cluster_dir;
} kube_config_options;

#define KUBE_CONFIG_OPTIONS_INIT                                                                                       \
	{                                                                                                              \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1, NULL, NULL, NULL, 0, NULL, -1, NULL    \
	}

/* Loads and resolves the configuration. Errors: KUBE_ECONFIG with a
 * message naming the file and the problem (missing --kubeconfig file,
 * malformed YAML, unknown context/cluster/user, no configuration at all);
 * KUBE_ENOMEM. *out is freed with kube_config_free. A kubeconfig file
 * readable by its group or by others is reported through kube_log at
 * KUBE_LOG_WARN, once per file, as Helm words it. */
int kube_config_load(kube_config **out, const kube_config_options *opts);

/* How that warning starts ("...group-readable. This is insecure. Location: P"). */
#define KUBE_KUBECONFIG_READABLE_WARNING "Kubernetes configuration file is "

void kube_config_free(kube_config *config);

/* Borrowed views of the resolved configuration. */
const char *kube_config_namespace(const kube_config *config);
const char *kube_config_server(const kube_config *config);
/* The context in use ("" for in-cluster or flag-only configuration). */
const char *kube_config_context_name(const kube_config *config);
const char *kube_config_cluster_name(const kube_config *config);
const char *kube_config_user_name(const kube_config *config);
/* 1 when the namespace came from -n/--namespace. */
int kube_config_namespace_explicit(const kube_config *config);

/* Parses kubectl's duration format ("0", "30", "30s", "1m", "1h2m3.5s",
 * "500ms") into milliseconds. Errors: KUBE_EINVALID. */
int kube_duration_parse(long *out_ms, const char *text);

#ifdef __cplusplus
}
#endif
#endif
