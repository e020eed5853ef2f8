/* Client configuration: a merged kubeconfig plus kubectl's flags resolved
 * into a kube_rest by client-go's rules (tools/clientcmd client_config.go,
 * merged_client_builder.go, validation.go), or the in-cluster service
 * account (incluster.c) when there is no configuration. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kube/config.h>

#include "base64.h"
#include "fs.h"
#include "incluster.h"
#include "internal.h"
#include "kubeconfig.h"
#include "rest.h"

#define EXEC_EXTENSION       "client.authentication.k8s.io/exec"
#define SMALL_FILE_MAX_BYTES ((size_t)1024 * 1024)

struct kube_config {
	struct kube_rest *rest;
	char *ns;
	int ns_explicit;
	char *context_name;
	char *cluster_name;
	char *user_name;
};

/* The context, cluster and user chosen by flags and current-context. */
struct selection {
	const char *context_name; /* "" when none */
	const char *cluster_name;
	const char *user_name;
	const struct kube_kubeconfig_entry *context; /* NULL when none or missing */
	const struct kube_kubeconfig_entry *cluster;
	const struct kube_kubeconfig_entry *user;
};

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* A string field of a kubeconfig body; NULL when absent, null or "". */
static const char *field_str(const json_t *body, const char *key)
{
	return nonempty(json_string_value(json_object_get(body, key)));
}

static int nomem(void)
{
	return kube_error_set(KUBE_ENOMEM, "out of memory");
}

static int set_str(char **field, const char *value)
{
	char *copy = NULL;
	if (value && !(copy = kube_strdup(value)))
		return nomem();
	kube_free(*field);
	*field = copy;
	return 0;
}

/* Sets a path field, resolved against the file that defined it. */
static int set_path(char **field, const char *value, const char *origin)
{
	if (!value || !origin)
		return set_str(field, value);
	char *resolved = kube_path_resolve(value, origin);
	if (!resolved)
		return nomem();
	kube_free(*field);
	*field = resolved;
	return 0;
}

static int set_data(char **data, size_t *len, const json_t *body, const char *key, const char *origin)
{
	const char *text = field_str(body, key);
	size_t bad_at = 0;
	if (!text)
		return 0;
	kube_free(*data);
	*data = NULL;
	*len = 0;
	int rc = kube_base64_decode(data, len, text, strlen(text), KUBE_BASE64_STD, &bad_at);
	if (rc == KUBE_EINVALID)
		rc = kube_error_set(KUBE_ECONFIG, "%s: %s: illegal base64 data at input byte %zu", origin, key, bad_at);
	return rc;
}

static void clear_data(char **data, size_t *len)
{
	kube_free(*data);
	*data = NULL;
	*len = 0;
}

static void free_strings(char **list)
{
	for (char **item = list; item && *item; item++)
		kube_free(*item);
	kube_free(list);
}

/* Copies a JSON list of strings (or C strings) into a NULL-terminated
 * array; null items become "". */
static int copy_strings(char ***out, const json_t *list, const char *const *flags, size_t flag_count)
{
	size_t count = flags ? flag_count : json_array_size(list);
	char **copy = kube_calloc(count + 1, sizeof(*copy));
	if (!copy)
		return nomem();
	for (size_t i = 0; i < count; i++) {
		const char *value = flags ? flags[i] : json_string_value(json_array_get(list, i));
		if (!(copy[i] = kube_strdup(value ? value : ""))) {
			free_strings(copy);
			return nomem();
		}
	}
	free_strings(*out);
	*out = copy;
	return 0;
}

/* A one-line KUBE_ECONFIG about the selected user, prefixed with the file
 * and the user's name when the user came from a kubeconfig. */
#define USER_ERROR(sel, ...)                                                                                           \
	(kube_error_set(KUBE_ECONFIG, __VA_ARGS__),                                                                    \
	 (sel)->user ? kube_error_wrap("%s: user \"%s\"", (sel)->user->origin, (sel)->user_name) : KUBE_ECONFIG)

/* os.Open in client-go's validation: the file must be readable. */
static int check_readable(const struct selection *sel, const char *what, const char *path, const char *owner)
{
	FILE *file = fopen(path, "rb");
	if (file) {
		(void)fclose(file);
		return 0;
	}
	if (sel)
		return USER_ERROR(sel, "unable to read %s %s: %s", what, path, strerror(errno));
	return kube_error_set(KUBE_ECONFIG, "unable to read %s %s for cluster \"%s\": %s", what, path, owner,
	                      strerror(errno));
}

static int select_entries(struct selection *sel, const struct kube_kubeconfig *kc, const kube_config_options *opts)
{
	const char *flag_context = nonempty(opts->context);
	sel->cluster_name = sel->user_name = "";
	sel->context_name = flag_context ? flag_context : kc->current_context ? kc->current_context : "";
	if (*sel->context_name && !(sel->context = kube_kubeconfig_find(&kc->contexts, sel->context_name))) {
		if (flag_context)
			return kube_error_set(KUBE_ECONFIG, "context \"%s\" does not exist", sel->context_name);
		return kube_error_set(KUBE_ECONFIG, "context \"%s\" does not exist (current-context of %s)",
		                      sel->context_name, kc->current_context_origin);
	}
	const json_t *context = sel->context ? sel->context->body : NULL;
	const char *name = nonempty(opts->cluster) ? opts->cluster : field_str(context, "cluster");
	sel->cluster_name = name ? name : "";
	if (*sel->cluster_name && !(sel->cluster = kube_kubeconfig_find(&kc->clusters, sel->cluster_name)) &&
	    nonempty(opts->cluster))
		return kube_error_set(KUBE_ECONFIG, "cluster \"%s\" does not exist", sel->cluster_name);
	name = nonempty(opts->user) ? opts->user : field_str(context, "user");
	sel->user_name = name ? name : "";
	if (*sel->user_name && !(sel->user = kube_kubeconfig_find(&kc->users, sel->user_name))) {
		if (nonempty(opts->user))
			return kube_error_set(KUBE_ECONFIG, "user \"%s\" does not exist", sel->user_name);
		/* clientcmd proceeds without credentials (getAuthInfo). */
		kube_log(KUBE_LOG_DECISION, "user \"%s\" of context \"%s\" does not exist; no credentials",
		         sel->user_name, sel->context_name);
	}
	if (sel->context)
		kube_log(KUBE_LOG_DECISION, "using context \"%s\" from %s", sel->context_name, sel->context->origin);
	return 0;
}

/* Server, TLS and proxy from the cluster, then the flags on top
 * (client_config.go getCluster). */
static int apply_cluster(struct kube_rest *rest, const struct selection *sel, const kube_config_options *opts)
{
	const json_t *body = sel->cluster ? sel->cluster->body : NULL;
	const char *origin = sel->cluster ? sel->cluster->origin : NULL;
	int rc;
	if ((rc = set_str(&rest->server, field_str(body, "server"))) != 0 ||
	    (rc = set_str(&rest->tls_server_name, field_str(body, "tls-server-name"))) != 0 ||
	    (rc = set_path(&rest->ca_file, field_str(body, "certificate-authority"), origin)) != 0 ||
	    (rc = set_data(&rest->ca_data, &rest->ca_data_len, body, "certificate-authority-data", origin)) != 0 ||
	    (rc = set_str(&rest->proxy_url, field_str(body, "proxy-url"))) != 0)
		return rc;
	rest->insecure = json_is_true(json_object_get(body, "insecure-skip-tls-verify"));
	rest->disable_compression = json_is_true(json_object_get(body, "disable-compression"));

	const char *flag_ca = nonempty(opts->certificate_authority);
	if (nonempty(opts->server) && (rc = set_str(&rest->server, opts->server)) != 0)
		return rc;
	/* --insecure-skip-tls-verify=false cannot be told from "unset" in
	 * client-go, so only true or a CA flag replaces the cluster's TLS. */
	if (opts->insecure_skip_tls_verify == 1 || flag_ca) {
		rest->insecure = opts->insecure_skip_tls_verify == 1;
		clear_data(&rest->ca_data, &rest->ca_data_len);
		if ((rc = set_str(&rest->ca_file, flag_ca)) != 0)
			return rc;
	}
	if (nonempty(opts->tls_server_name) || nonempty(opts->server))
		rc = set_str(&rest->tls_server_name, nonempty(opts->tls_server_name));
	return rc;
}

/* Trims trailing slashes and gives a scheme-less host client-go's
 * default: plain http (rest.DefaultServerURL without TLS settings). */
static int normalize_server(struct kube_rest *rest)
{
	const char *scheme = strstr(rest->server, "://");
	size_t keep = scheme ? (size_t)(scheme - rest->server) + 3 : 0;
	size_t len = strlen(rest->server);
	while (len > keep && rest->server[len - 1] == '/')
		rest->server[--len] = '\0';
	if (scheme)
		return 0;
	char *with_scheme = kube_asprintf("http://%s", rest->server);
	if (!with_scheme)
		return nomem();
	kube_log(KUBE_LOG_DECISION, "server %s has no scheme; using http://", rest->server);
	kube_free(rest->server);
	rest->server = with_scheme;
	return 0;
}

static int validate_cluster(const struct kube_rest *rest, const struct selection *sel)
{
	static const char *const proxy_schemes[] = {"http://", "https://", "socks5://"};
	const char *name = sel->cluster_name;
	size_t i = 0;
	if (rest->ca_file && rest->ca_data)
		return kube_error_set(KUBE_ECONFIG,
		                      "both certificate-authority-data and certificate-authority are "
		                      "specified for cluster \"%s\"",
		                      name);
	if (rest->ca_file && check_readable(NULL, "certificate-authority", rest->ca_file, name) != 0)
		return KUBE_ECONFIG;
	while (rest->proxy_url && i < KUBE_ARRAY_SIZE(proxy_schemes) &&
	       strncasecmp(rest->proxy_url, proxy_schemes[i], strlen(proxy_schemes[i])) != 0)
		i++;
	if (i == KUBE_ARRAY_SIZE(proxy_schemes))
		return kube_error_set(KUBE_ECONFIG,
		                      "invalid proxy-url \"%s\" for cluster \"%s\": unsupported scheme, "
		                      "must be http, https, or socks5",
		                      rest->proxy_url, name);
	return 0;
}

/* Removes characters a terminal would interpret from installHint, as
 * client-go's cleanANSIEscapeCodes does (control bytes become U+00XX). */
static char *clean_hint(const char *hint)
{
	kube_buf buf = KUBE_BUF_INIT;
	int rc = 0;
	for (const unsigned char *c = (const unsigned char *)hint; *c && !rc; c++) {
		if ((*c < 0x20 && !(*c >= 0x09 && *c <= 0x0d)) || *c == 0x7f)
			rc = kube_buf_printf(&buf, "U+%04X", (unsigned)*c);
		else
			rc = kube_buf_put(&buf, c, 1);
	}
	if (!rc)
		return kube_buf_detach(&buf);
	kube_buf_dispose(&buf);
	return NULL;
}

static int build_exec(struct kube_exec_config **out, const json_t *exec, const struct selection *sel)
{
	struct kube_exec_config *config = kube_calloc(1, sizeof(*config));
	if (!config)
		return nomem();
	*out = config;
	const char *command = field_str(exec, "command");
	const char *api_version = field_str(exec, "apiVersion");
	const char *mode = field_str(exec, "interactiveMode");
	const json_t *env = json_object_get(exec, "env");
	if (!command)
		return USER_ERROR(sel, "command must be specified to use exec authentication plugin");
	if (!api_version)
		return USER_ERROR(sel, "apiVersion must be specified to use exec authentication plugin");
	/* api/v1/defaults.go: only the beta and alpha versions default. */
	if (!mode && (strcmp(api_version, "client.authentication.k8s.io/v1beta1") == 0 ||
	              strcmp(api_version, "client.authentication.k8s.io/v1alpha1") == 0))
		mode = "IfAvailable";
	if (!mode)
		return USER_ERROR(sel, "interactiveMode must be specified to use exec authentication plugin");
	if (strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 && strcmp(mode, "Always") != 0)
		return USER_ERROR(sel, "invalid interactiveMode \"%s\"", mode);
	/* loader.go: a command with a slash is a path relative to the file. */
	const char *origin = sel->user ? sel->user->origin : NULL;
	int rc =
	        strchr(command, '/') ? set_path(&config->command, command, origin) : set_str(&config->command, command);
	if (!rc)
		rc = set_str(&config->api_version, api_version);
	if (!rc)
		rc = set_str(&config->interactive_mode, mode);
	if (!rc)
		rc = copy_strings(&config->args, json_object_get(exec, "args"), NULL, 0);
	if (rc)
		return rc;
	char **env_pairs = kube_calloc(json_array_size(env) + 1, sizeof(*env_pairs));
	if (!(config->env = env_pairs))
		return nomem();
	for (size_t i = 0; i < json_array_size(env); i++) {
		const char *name = field_str(json_array_get(env, i), "name");
		const char *value = json_string_value(json_object_get(json_array_get(env, i), "value"));
		if (!name)
			return USER_ERROR(sel, "env variable name must be specified to use exec authentication plugin");
		if (!(env_pairs[i] = kube_asprintf("%s=%s", name, value ? value : "")))
			return nomem();
	}
	const char *hint = field_str(exec, "installHint");
	if (!rc && hint && !(config->install_hint = clean_hint(hint)))
		rc = nomem();
	config->provide_cluster_info = json_is_true(json_object_get(exec, "provideClusterInfo"));
	/* client_config.go: the cluster's extension of this name. */
	const json_t *extensions = sel->cluster ? json_object_get(sel->cluster->body, "extensions") : NULL;
	for (size_t i = 0; !rc && i < json_array_size(extensions); i++) {
		const json_t *extension = json_array_get(extensions, i);
		const json_t *value = json_object_get(extension, "extension");
		const char *name = json_string_value(json_object_get(extension, "name"));
		if (!name || strcmp(name, EXEC_EXTENSION) != 0 || !value || json_is_null(value))
			continue;
		if (!(config->cluster_config = json_deep_copy(value)))
			rc = nomem();
		break;
	}
	return rc;
}

static int build_auth_provider(struct kube_auth_provider **out, const json_t *provider, const struct selection *sel)
{
	struct kube_auth_provider *config = kube_calloc(1, sizeof(*config));
	if (!config)
		return nomem();
	*out = config;
	const json_t *settings = json_object_get(provider, "config");
	int rc = set_str(&config->name, field_str(provider, "name"));
	if (!rc)
		rc = set_str(&config->source_file, sel->user ? sel->user->origin : NULL);
	if (!rc)
		rc = set_str(&config->user_name, sel->user_name);
	if (!rc && !(config->config = json_is_object(settings) ? json_deep_copy(settings) : json_object()))
		rc = nomem();
	return rc;
}

static int copy_extra(char ***out, const json_t *extra)
{
	json_t *map = (json_t *)extra;
	size_t count = 0, used = 0;
	for (void *it = json_object_iter(map); it; it = json_object_iter_next(map, it))
		count += json_array_size(json_object_iter_value(it));
	char **pairs = kube_calloc(count + 1, sizeof(*pairs));
	if (!pairs)
		return nomem();
	*out = pairs;
	for (void *it = json_object_iter(map); it; it = json_object_iter_next(map, it)) {
		const json_t *values = json_object_iter_value(it);
		for (size_t i = 0; i < json_array_size(values); i++) {
			const char *text = json_string_value(json_array_get(values, i));
			if (!(pairs[used++] = kube_asprintf("%s=%s", json_object_iter_key(it), text ? text : "")))
				return nomem();
		}
	}
	return 0;
}

/* kubeconfig's as/as-uid/as-groups/as-user-extra, then --as flags. */
static int apply_impersonation(struct kube_rest *rest, const struct selection *sel, const kube_config_options *opts)
{
	const json_t *body = sel->user ? sel->user->body : NULL;
	const json_t *groups = json_object_get(body, "as-groups");
	const json_t *extra = json_object_get(body, "as-user-extra");
	const char *user = nonempty(opts->as) ? opts->as : field_str(body, "as");
	const char *uid = nonempty(opts->as_uid) ? opts->as_uid : field_str(body, "as-uid");
	int rc = set_str(&rest->impersonate_user, user);
	if (!rc)
		rc = set_str(&rest->impersonate_uid, uid);
	if (!rc && opts->as_groups_count > 0)
		rc = copy_strings(&rest->impersonate_groups, NULL, opts->as_groups, opts->as_groups_count);
	else if (!rc && json_array_size(groups) > 0)
		rc = copy_strings(&rest->impersonate_groups, groups, NULL, 0);
	if (!rc && json_object_size(extra) > 0)
		rc = copy_extra(&rest->impersonate_extra, extra);
	if (!rc && !user && (uid || rest->impersonate_groups || rest->impersonate_extra))
		rc = USER_ERROR(sel, "requesting uid, groups or user-extra without impersonating a user");
	return rc;
}

/* Credentials of the user, then the flags on top (getAuthInfo). */
static int apply_user(struct kube_rest *rest, const struct selection *sel, const kube_config_options *opts)
{
	const json_t *body = sel->user ? sel->user->body : NULL;
	const char *origin = sel->user ? sel->user->origin : NULL;
	const json_t *exec = json_object_get(body, "exec");
	const json_t *provider = json_object_get(body, "auth-provider");
	int rc;
	if ((rc = set_str(&rest->token, field_str(body, "token"))) != 0 ||
	    (rc = set_path(&rest->token_file, field_str(body, "tokenFile"), origin)) != 0 ||
	    (rc = set_path(&rest->cert_file, field_str(body, "client-certificate"), origin)) != 0 ||
	    (rc = set_data(&rest->cert_data, &rest->cert_data_len, body, "client-certificate-data", origin)) != 0 ||
	    (rc = set_path(&rest->key_file, field_str(body, "client-key"), origin)) != 0 ||
	    (rc = set_data(&rest->key_data, &rest->key_data_len, body, "client-key-data", origin)) != 0 ||
	    (rc = set_str(&rest->username, field_str(body, "username"))) != 0 ||
	    (rc = set_str(&rest->password, field_str(body, "password"))) != 0)
		return rc;
	/* --token replaces both the token and the tokenFile. */
	if (nonempty(opts->token) &&
	    ((rc = set_str(&rest->token, opts->token)) != 0 || (rc = set_str(&rest->token_file, NULL)) != 0))
		return rc;
	if (nonempty(opts->client_certificate)) {
		clear_data(&rest->cert_data, &rest->cert_data_len);
		if ((rc = set_str(&rest->cert_file, opts->client_certificate)) != 0)
			return rc;
	}
	if (nonempty(opts->client_key)) {
		clear_data(&rest->key_data, &rest->key_data_len);
		if ((rc = set_str(&rest->key_file, opts->client_key)) != 0)
			return rc;
	}
	if (json_is_object(exec) && json_is_object(provider))
		return USER_ERROR(sel, "authProvider cannot be provided in combination with an exec plugin");
	if (json_is_object(exec) && (rc = build_exec(&rest->exec, exec, sel)) != 0)
		return rc;
	if (json_is_object(provider) && (rc = build_auth_provider(&rest->auth_provider, provider, sel)) != 0)
		return rc;
	return apply_impersonation(rest, sel, opts);
}

/* validation.go validateAuthInfo on the merged user. */
static int validate_user(const struct kube_rest *rest, const struct selection *sel)
{
	int rc = 0;
	if (rest->token && (rest->username || rest->password))
		return USER_ERROR(sel, "more than one authentication method found; found [token basicAuth], only one "
		                       "is allowed");
	if (!rest->cert_file && !rest->cert_data)
		return 0;
	if (rest->cert_file && rest->cert_data)
		return USER_ERROR(sel, "client-certificate-data and client-certificate are both specified");
	if (rest->key_file && rest->key_data)
		return USER_ERROR(sel, "client-key-data and client-key are both specified");
	if (!rest->key_file && !rest->key_data)
		return USER_ERROR(sel, "client-key-data or client-key must be specified to use the clientCert "
		                       "authentication method");
	if (rest->cert_file)
		rc = check_readable(sel, "client-certificate", rest->cert_file, NULL);
	if (!rc && rest->key_file)
		rc = check_readable(sel, "client-key", rest->key_file, NULL);
	return rc;
}

static void free_exec(struct kube_exec_config *exec)
{
	if (!exec)
		return;
	kube_free(exec->api_version);
	kube_free(exec->command);
	free_strings(exec->args);
	free_strings(exec->env);
	kube_free(exec->install_hint);
	kube_free(exec->interactive_mode);
	json_decref(exec->cluster_config);
	kube_free(exec);
}

static void free_auth_provider(struct kube_auth_provider *provider)
{
	if (!provider)
		return;
	kube_free(provider->name);
	json_decref(provider->config);
	kube_free(provider->source_file);
	kube_free(provider->user_name);
	kube_free(provider);
}

/* client-go attaches TLS settings and credentials only when the server is
 * https (client_config.go, restclient.IsConfigTransportTLS). */
static void drop_tls_and_credentials(struct kube_rest *rest)
{
	char **strings[] = {&rest->tls_server_name, &rest->ca_file,    &rest->cert_file, &rest->key_file,
	                    &rest->token,           &rest->token_file, &rest->username,  &rest->password};
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(strings); i++) {
		kube_free(*strings[i]);
		*strings[i] = NULL;
	}
	clear_data(&rest->ca_data, &rest->ca_data_len);
	clear_data(&rest->cert_data, &rest->cert_data_len);
	clear_data(&rest->key_data, &rest->key_data_len);
	free_exec(rest->exec);
	rest->exec = NULL;
	free_auth_provider(rest->auth_provider);
	rest->auth_provider = NULL;
	rest->insecure = 0;
}

static int from_kubeconfig(struct kube_rest *rest, const struct selection *sel, const kube_config_options *opts)
{
	int rc;
	if ((rc = apply_cluster(rest, sel, opts)) != 0 || (rc = normalize_server(rest)) != 0 ||
	    (rc = validate_cluster(rest, sel)) != 0 || (rc = apply_user(rest, sel, opts)) != 0 ||
	    (rc = validate_user(rest, sel)) != 0)
		return rc;
	if (strncasecmp(rest->server, "https://", 8) != 0) {
		kube_log(KUBE_LOG_DECISION, "server %s is not https: no TLS settings or credentials are sent",
		         rest->server);
		drop_tls_and_credentials(rest);
		return 0;
	}
	if (rest->insecure && (rest->ca_file || rest->ca_data))
		return kube_error_set(KUBE_ECONFIG,
		                      "specifying a root certificates file with the insecure flag is not allowed");
	/* getUserIdentificationPartialConfig: a key without a certificate is
	 * not used; a tokenFile is read now when there is no token. */
	if (!rest->cert_file && !rest->cert_data) {
		kube_free(rest->key_file);
		rest->key_file = NULL;
		clear_data(&rest->key_data, &rest->key_data_len);
	}
	if (!rest->token && rest->token_file &&
	    (rc = kube_file_read_trimmed(&rest->token, rest->token_file, SMALL_FILE_MAX_BYTES)) != 0)
		return rc == KUBE_ENOMEM ? rc : USER_ERROR(sel, "tokenFile: %s", kube_error_last()->message);
	if (sel->cluster)
		kube_log(KUBE_LOG_DECISION, "using cluster \"%s\" from %s: server %s", sel->cluster_name,
		         sel->cluster->origin, rest->server);
	if (sel->user)
		kube_log(KUBE_LOG_DECISION, "using user \"%s\" from %s", sel->user_name, sel->user->origin);
	return 0;
}

/* Why there is no server, as one line with the next step. */
static int no_server_error(const struct kube_kubeconfig *kc, const struct selection *sel,
                           const kube_config_options *opts)
{
	if (*sel->cluster_name)
		return kube_error_set(KUBE_ECONFIG, "cluster \"%s\" of context \"%s\" does not exist",
		                      sel->cluster_name, sel->context_name);
	if (sel->context)
		return kube_error_set(KUBE_ECONFIG, "%s: context \"%s\" has no cluster", sel->context->origin,
		                      sel->context_name);
	if (kc->has_content)
		return kube_error_set(KUBE_ECONFIG, "no context is selected: set current-context in the kubeconfig "
		                                    "or pass --context or --server");
	if (nonempty(getenv("KUBERNETES_SERVICE_HOST")))
		return kube_error_set(KUBE_ECONFIG,
		                      "no configuration has been provided: set KUBECONFIG or pass "
		                      "--kubeconfig or --server (KUBERNETES_SERVICE_HOST is set but "
		                      "%s/token does not exist)",
		                      kube_incluster_dir(opts));
	return kube_error_set(KUBE_ECONFIG, "no configuration has been provided: set KUBECONFIG, pass --kubeconfig "
	                                    "or --server, or create ~/.kube/config");
}

/* Flag, then context, then (DeferredLoadingClientConfig.Namespace) the
 * in-cluster namespace when in-cluster is possible, then "default". */
static int resolve_namespace(kube_config *config, const struct selection *sel, const kube_config_options *opts)
{
	const char *from_context = field_str(sel->context ? sel->context->body : NULL, "namespace");
	const char *source = "flag";
	int rc = 0;
	if (nonempty(opts->ns)) {
		config->ns_explicit = 1;
		rc = set_str(&config->ns, opts->ns);
	} else if (from_context) {
		source = "context";
		rc = set_str(&config->ns, from_context);
	} else if (config->rest->in_cluster || (rc = kube_incluster_possible(opts)) == 1) {
		source = "in-cluster service account";
		rc = kube_incluster_namespace(&config->ns, opts);
	} else if (rc == 0) {
		source = "default";
		rc = set_str(&config->ns, "default");
	}
	if (!rc)
		kube_log(KUBE_LOG_DECISION, "namespace \"%s\" from %s", config->ns, source);
	return rc;
}

int kube_config_resolve(kube_config **out, const struct kube_kubeconfig *kc, const kube_config_options *opts)
{
	static const kube_config_options defaults = KUBE_CONFIG_OPTIONS_INIT;
	struct selection sel;
	kube_config *config = NULL;
	int rc;
	assert(out && kc);
	*out = NULL;
	if (!opts)
		opts = &defaults;
	memset(&sel, 0, sizeof(sel));
	if ((rc = select_entries(&sel, kc, opts)) != 0)
		return rc;
	if (!(config = kube_calloc(1, sizeof(*config))) || !(config->rest = kube_calloc(1, sizeof(*config->rest)))) {
		rc = nomem();
		goto done;
	}
	int has_server = nonempty(opts->server) || field_str(sel.cluster ? sel.cluster->body : NULL, "server");
	if (has_server || sel.cluster) {
		if (!has_server) {
			rc = kube_error_set(KUBE_ECONFIG, "%s: no server found for cluster \"%s\"", sel.cluster->origin,
			                    sel.cluster_name);
			goto done;
		}
		rc = from_kubeconfig(config->rest, &sel, opts);
	} else {
		rc = kube_incluster_possible(opts);
		if (rc == 1) {
			rc = kube_incluster_rest(config->rest, opts);
			sel.context_name = sel.cluster_name = sel.user_name = "";
			sel.user = NULL;
		} else if (rc == 0) {
			rc = no_server_error(kc, &sel, opts);
		}
	}
	if (!rc && config->rest->in_cluster)
		rc = apply_impersonation(config->rest, &sel, opts);
	if (rc || (rc = resolve_namespace(config, &sel, opts)) != 0)
		goto done;
	config->rest->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 0;
	if (!(config->context_name = kube_strdup(sel.context_name)) ||
	    !(config->cluster_name = kube_strdup(sel.cluster_name)) ||
	    !(config->user_name = kube_strdup(sel.user_name))) {
		rc = nomem();
		goto done;
	}
	*out = config;
	config = NULL;
done:
	kube_config_free(config);
	return rc;
}

int kube_config_load(kube_config **out, const kube_config_options *opts)
{
	struct kube_kubeconfig kc = KUBE_KUBECONFIG_INIT;
	assert(out);
	*out = NULL;
	int rc = kube_kubeconfig_load(&kc, opts ? opts->kubeconfig : NULL);
	if (!rc)
		rc = kube_config_resolve(out, &kc, opts);
	kube_kubeconfig_dispose(&kc);
	return rc;
}

void kube_rest_free(struct kube_rest *rest)
{
	if (!rest)
		return;
	drop_tls_and_credentials(rest);
	kube_free(rest->server);
	kube_free(rest->proxy_url);
	kube_free(rest->impersonate_user);
	free_strings(rest->impersonate_groups);
	kube_free(rest->impersonate_uid);
	free_strings(rest->impersonate_extra);
	kube_free(rest);
}

void kube_config_free(kube_config *config)
{
	if (!config)
		return;
	kube_rest_free(config->rest);
	kube_free(config->ns);
	kube_free(config->context_name);
	kube_free(config->cluster_name);
	kube_free(config->user_name);
	kube_free(config);
}

const struct kube_rest *kube_config_rest(const struct kube_config *config)
{
	return config->rest;
}

const char *kube_config_namespace(const kube_config *config)
{
	return config->ns ? config->ns : "default";
}

const char *kube_config_server(const kube_config *config)
{
	return config->rest->server ? config->rest->server : "";
}

const char *kube_config_context_name(const kube_config *config)
{
	return config->context_name ? config->context_name : "";
}

const char *kube_config_cluster_name(const kube_config *config)
{
	return config->cluster_name ? config->cluster_name : "";
}

const char *kube_config_user_name(const kube_config *config)
{
	return config->user_name ? config->user_name : "";
}

int kube_config_namespace_explicit(const kube_config *config)
{
	return config->ns_explicit;
}
