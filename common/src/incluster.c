/* The in-cluster service account: the API server from the service
 * environment, the token, CA and namespace from the mounted directory. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "incluster.h"
#include "internal.h"

#define IN_CLUSTER_DIR      "/var/run/secrets/kubernetes.io/serviceaccount"
#define IN_CLUSTER_FILE_MAX ((size_t)1024 * 1024)

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static char *in_cluster_file(const kube_config_options *opts, const char *name)
{
	return kube_asprintf("%s/%s", kube_incluster_dir(opts), name);
}

const char *kube_incluster_dir(const kube_config_options *opts)
{
	return opts->in_cluster_dir ? opts->in_cluster_dir : IN_CLUSTER_DIR;
}

int kube_incluster_possible(const kube_config_options *opts)
{
	struct stat st;
	if (!nonempty(getenv("KUBERNETES_SERVICE_HOST")) || !nonempty(getenv("KUBERNETES_SERVICE_PORT")))
		return 0;
	char *token = in_cluster_file(opts, "token");
	if (!token)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	int possible = stat(token, &st) == 0 && !S_ISDIR(st.st_mode);
	kube_free(token);
	return possible;
}

int kube_incluster_rest(struct kube_rest *rest, const kube_config_options *opts)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int rc = 0;
	assert(host && port);
	rest->in_cluster = 1;
	rest->server = kube_asprintf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	rest->token_file = in_cluster_file(opts, "token");
	char *ca = in_cluster_file(opts, "ca.crt");
	if (!rest->server || !rest->token_file || !ca) {
		kube_free(ca);
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	FILE *ca_stream = fopen(ca, "rb");
	if (ca_stream) {
		(void)fclose(ca_stream);
		rest->ca_file = ca;
	} else {
		kube_log(KUBE_LOG_DECISION, "in-cluster CA %s unreadable: %s", ca, strerror(errno));
		kube_free(ca);
	}
	if (nonempty(opts->token)) {
		/* --token replaces the service account's token file. */
		if (!(rest->token = kube_strdup(opts->token)))
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		kube_free(rest->token_file);
		rest->token_file = NULL;
	} else {
		rc = kube_file_read_trimmed(&rest->token, rest->token_file, IN_CLUSTER_FILE_MAX);
	}
	if (!rc && nonempty(opts->certificate_authority)) {
		char *ca_flag = kube_strdup(opts->certificate_authority);
		if (!ca_flag)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		kube_free(rest->ca_file);
		rest->ca_file = ca_flag;
	}
	if (!rc)
		kube_log(KUBE_LOG_DECISION, "using in-cluster configuration: server %s", rest->server);
	return rc;
}

int kube_incluster_namespace(char **out, const kube_config_options *opts)
{
	const char *chosen = nonempty(getenv("POD_NAMESPACE"));
	*out = NULL;
	if (!chosen) {
		char *path = in_cluster_file(opts, "namespace");
		char *from_file = NULL;
		if (!path)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		int rc = kube_file_read_trimmed(&from_file, path, IN_CLUSTER_FILE_MAX);
		kube_free(path);
		if (rc == KUBE_ENOMEM)
			return rc;
		if (!rc && *from_file) {
			*out = from_file;
			return 0;
		}
		kube_free(from_file);
		chosen = "default";
	}
	*out = kube_strdup(chosen);
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}
