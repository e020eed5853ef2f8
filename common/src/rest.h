/* The resolved connection settings one client uses (client-go's
 * rest.Config): produced by config.c from kubeconfig + flags or the
 * in-cluster service account, consumed by http.c and the auth modules. */
#ifndef KUBE_REST_H
#define KUBE_REST_H

#include <stddef.h>

#include <jansson.h>

/* An exec credential plugin as declared in a kubeconfig user. */
struct kube_exec_config {
	char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
	char *command;     /* resolved against the kubeconfig's dir if relative with a slash */
	char **args;       /* NULL-terminated */
	char **env;        /* NULL-terminated "NAME=value" */
	char *install_hint;
	int provide_cluster_info;
	char *interactive_mode; /* Never, IfAvailable, Always; NULL = IfAvailable (v1beta1) */
	json_t *cluster_config; /* clusters[].cluster.extensions client.authentication.k8s.io/exec, or NULL */
};

/* The legacy auth-provider stanza. */
struct kube_auth_provider {
	char *name;        /* "oidc", "gcp", "azure", ... */
	json_t *config;    /* the "config" map (strings) */
	char *source_file; /* kubeconfig file that defined the user (write-back target) */
	char *user_name;   /* name of the user entry in that file */
};

struct kube_rest {
	char *server; /* https://host:port[/prefix], no trailing slash */
	char *tls_server_name;
	int insecure; /* skip TLS verification */
	char *ca_file;
	char *ca_data; /* PEM bytes */
	size_t ca_data_len;
	char *proxy_url;
	char *cert_file;
	char *cert_data; /* PEM */
	size_t cert_data_len;
	char *key_file;
	char *key_data; /* PEM */
	size_t key_data_len;
	char *token;
	char *token_file; /* re-read when it changes */
	char *username;   /* basic auth */
	char *password;
	char *impersonate_user;
	char **impersonate_groups; /* NULL-terminated */
	char *impersonate_uid;
	char **impersonate_extra;                 /* NULL-terminated "key=value" (as-user-extra), one per value */
	struct kube_exec_config *exec;            /* NULL when not used */
	struct kube_auth_provider *auth_provider; /* NULL when not used */
	long request_timeout_ms;                  /* 0 = none */
	int disable_compression;                  /* cluster's disable-compression */
	int in_cluster;
};

/* Frees every field and the struct itself; NULL is fine. */
void kube_rest_free(struct kube_rest *rest);

struct kube_config;

/* The resolved settings of a loaded configuration (borrowed). */
const struct kube_rest *kube_config_rest(const struct kube_config *config);

#endif
