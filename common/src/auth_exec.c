/* Exec credential plugins: spawning the plugin, reading its ExecCredential
 * and caching it, following client-go's plugin/pkg/client/auth/exec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth_exec.h"
#include "clock.h"
#include "fs.h"
#include "internal.h"
#include "secret.h"

extern char **environ;

#define EXEC_INFO_ENV               "KUBERNETES_EXEC_INFO"
#define EXEC_API_V1                 "client.authentication.k8s.io/v1"
#define EXEC_API_V1BETA1            "client.authentication.k8s.io/v1beta1"
#define EXEC_OUTPUT_MAX             ((size_t)1 << 20)
#define EXEC_TIMEOUT_MS             (2L * 60 * 1000)
#define EXEC_INTERACTIVE_TIMEOUT_MS (10L * 60 * 1000)
#define EXEC_CA_FILE_MAX            ((size_t)16 << 20)

struct kube_exec_auth {
	const struct kube_exec_config *config; /* borrowed from the rest settings */
	json_t *cluster;                       /* spec.cluster, or NULL without provideClusterInfo */
	struct kube_exec_options opts;
	struct kube_exec_credential cred;
	int cached;
	char *key; /* in the process-wide cache */
};

void kube_exec_credential_clear(struct kube_exec_credential *cred)
{
	if (!cred)
		return;
	kube_secret_free(cred->token);
	kube_secret_free(cred->cert_pem);
	kube_secret_free(cred->key_pem);
	memset(cred, 0, sizeof(*cred));
}

/* ---- ExecCredential parsing ---------------------------------------------------------------------------------- */

static int status_string(char **out, const json_t *status, const char *key)
{
	const json_t *value = json_object_get(status, key);
	*out = NULL;
	if (value && !json_is_null(value) && !json_is_string(value))
		return kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: status.%s must be a string", key);
	if (json_string_length(value) == 0) /* absent, null or "" */
		return 0;
	*out = kube_strndup(json_string_value(value), json_string_length(value));
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}

static int parse_expiry(struct kube_exec_credential *out, const json_t *status)
{
	const json_t *value = json_object_get(status, "expirationTimestamp");
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value))
		return kube_error_set(KUBE_EAUTH,
		                      "exec plugin: decoding stdout: status.expirationTimestamp must be a string");
	if (kube_time_parse_rfc3339(&out->expiry_s, &out->expiry_ns, json_string_value(value)) != 0)
		return kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: parsing time \"%.64s\" as RFC 3339",
		                      json_string_value(value));
	out->has_expiry = 1;
	return 0;
}

int kube_exec_credential_parse(struct kube_exec_credential *out, const char *api_version, const char *data, size_t len)
{
	/* zeroed: jansson leaves the error code unset when it runs out of
	 * memory before it starts (valgrind: a jump on an uninitialised value) */
	json_error_t jerr;
	json_t *root = NULL;
	int rc = 0;

	memset(&jerr, 0, sizeof(jerr));
	memset(out, 0, sizeof(*out));
	root = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		/* Not jansson's " near '...'" excerpt: it could quote a credential. */
		const char *near = strstr(jerr.text, " near ");
		return kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: %.*s at line %d",
		                      near ? (int)(near - jerr.text) : (int)strlen(jerr.text), jerr.text, jerr.line);
	}
	if (!json_is_object(root)) {
		rc = kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: not a JSON object");
		goto done;
	}
	const json_t *kind = json_object_get(root, "kind");
	const json_t *version = json_object_get(root, "apiVersion");
	if (version && !json_is_string(version)) {
		rc = kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: apiVersion must be a string");
		goto done;
	}
	const char *returned = version ? json_string_value(version) : "";
	/* A missing kind is defaulted from the target type, as the decoder does. */
	if (kind && (!json_is_string(kind) || strcmp(json_string_value(kind), "ExecCredential") != 0)) {
		rc = kube_error_set(
		        KUBE_EAUTH,
		        "exec plugin: decoding stdout: no kind \"%.64s\" is registered for version \"%.64s\"",
		        json_is_string(kind) ? json_string_value(kind) : "?", returned);
		goto done;
	}
	if (strcmp(returned, api_version) != 0) {
		rc = kube_error_set(KUBE_EAUTH,
		                    "exec plugin is configured to use API version %s, plugin returned version %.64s",
		                    api_version, *returned ? returned : "(none)");
		goto done;
	}
	const json_t *status = json_object_get(root, "status");
	if (!status || json_is_null(status)) {
		rc = kube_error_set(KUBE_EAUTH, "exec plugin didn't return a status field");
		goto done;
	}
	if (!json_is_object(status)) {
		rc = kube_error_set(KUBE_EAUTH, "exec plugin: decoding stdout: status must be an object");
		goto done;
	}
	if ((rc = status_string(&out->token, status, "token")) != 0 ||
	    (rc = status_string(&out->cert_pem, status, "clientCertificateData")) != 0 ||
	    (rc = status_string(&out->key_pem, status, "clientKeyData")) != 0 || (rc = parse_expiry(out, status)) != 0)
		goto done;
	if (!out->token && !out->cert_pem && !out->key_pem) {
		rc = kube_error_set(KUBE_EAUTH, "exec plugin didn't return a token or cert/key pair");
		goto done;
	}
	if (!out->cert_pem != !out->key_pem)
		rc = kube_error_set(KUBE_EAUTH, "exec plugin returned only certificate or key, not both");
done:
	json_decref(root);
	if (rc)
		kube_exec_credential_clear(out);
	return rc;
}

/* Never prompt for a passphrase on the terminal: a plugin's key is clear. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
	(void)buf, (void)size, (void)rwflag, (void)user;
	return -1;
}

/* tls.X509KeyPair's checks: a certificate, a key, and that they match. */
static int check_key_pair(const char *cert_pem, const char *key_pem)
{
	BIO *cert_bio = BIO_new_mem_buf(cert_pem, -1);
	BIO *key_bio = BIO_new_mem_buf(key_pem, -1);
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	const char *problem = NULL;
	int rc = 0;

	if (!cert_bio || !key_bio) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	if (!(cert = PEM_read_bio_X509(cert_bio, NULL, no_passphrase, NULL)))
		problem = "tls: failed to find any PEM data in certificate input";
	else if (!(key = PEM_read_bio_PrivateKey(key_bio, NULL, no_passphrase, NULL)))
		problem = "tls: failed to find any PEM data in key input";
	else if (X509_check_private_key(cert, key) != 1)
		problem = "tls: private key does not match public key";
	if (problem)
		rc = kube_error_set(KUBE_EAUTH, "exec plugin: failed parsing client key/certificate: %s", problem);
done:
	EVP_PKEY_free(key);
	X509_free(cert);
	BIO_free(key_bio);
	BIO_free(cert_bio);
	ERR_clear_error();
	return rc;
}

/* ---- setup --------------------------------------------------------------------------------------------------- */

/* The CA bundle from ca_file (dataFromSliceOrFile). */
static int read_ca_file(kube_buf *out, const char *path)
{
	char err_text[128];
	int rc = kube_file_load(out, path, EXEC_CA_FILE_MAX, NULL);
	if (rc > 0)
		return kube_error_set(KUBE_ECONFIG, "failed to load CA bundle for execProvider: %s: %s", path,
		                      kube_errno_text(rc, err_text, sizeof(err_text)));
	return rc;
}

static int set_string(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, json_string(value)) ? kube_error_set(KUBE_ENOMEM, "out of memory") : 0;
}

/* rest.ConfigToExecCluster: what a plugin learns about the cluster. */
static int build_cluster(json_t **out, const struct kube_rest *rest)
{
	json_t *cluster = json_object();
	kube_buf ca_file = KUBE_BUF_INIT;
	char *ca_b64 = NULL;
	int rc = 0;

	*out = NULL;
	if (!cluster)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	const char *ca = rest->ca_data;
	size_t ca_len = rest->ca_data_len;
	if (!(ca && ca_len) && rest->ca_file && *rest->ca_file) {
		if ((rc = read_ca_file(&ca_file, rest->ca_file)) != 0)
			goto done;
		ca = ca_file.ptr, ca_len = ca_file.len;
	}
	if ((rc = set_string(cluster, "server", rest->server ? rest->server : "")) != 0)
		goto done;
	if (rest->tls_server_name && *rest->tls_server_name &&
	    (rc = set_string(cluster, "tls-server-name", rest->tls_server_name)) != 0)
		goto done;
	if (rest->insecure && json_object_set_new(cluster, "insecure-skip-tls-verify", json_true())) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	/* []byte fields are standard base64 in Go's JSON. */
	if (ca && ca_len && (ca_len > INT_MAX / 4 * 3 || !(ca_b64 = kube_malloc((ca_len + 2) / 3 * 4 + 1)))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	if (ca_b64) {
		EVP_EncodeBlock((unsigned char *)ca_b64, (const unsigned char *)ca, (int)ca_len);
		if ((rc = set_string(cluster, "certificate-authority-data", ca_b64)) != 0)
			goto done;
	}
	if (rest->proxy_url && *rest->proxy_url && (rc = set_string(cluster, "proxy-url", rest->proxy_url)) != 0)
		goto done;
	/* An absent extension is an empty RawExtension, which Go encodes as null. */
	json_t *config = rest->exec->cluster_config ? json_deep_copy(rest->exec->cluster_config) : json_null();
	if (json_object_set_new(cluster, "config", config)) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	*out = cluster;
	cluster = NULL;
done:
	kube_free(ca_b64);
	kube_buf_dispose(&ca_file);
	json_decref(cluster);
	return rc;
}

int kube_exec_auth_new(struct kube_exec_auth **out, const struct kube_rest *rest, const struct kube_exec_options *opts)
{
	static const struct kube_exec_options defaults = KUBE_EXEC_OPTIONS_INIT;
	const struct kube_exec_config *config = rest->exec;

	*out = NULL;
	if (!config || !config->command || !*config->command)
		return kube_error_set(KUBE_ECONFIG, "exec plugin: no command given");
	if (!config->api_version ||
	    (strcmp(config->api_version, EXEC_API_V1) != 0 && strcmp(config->api_version, EXEC_API_V1BETA1) != 0))
		return kube_error_set(KUBE_ECONFIG, "exec plugin: invalid apiVersion \"%s\"",
		                      config->api_version ? config->api_version : "");
	struct kube_exec_auth *auth = kube_calloc(1, sizeof(*auth));
	if (!auth)
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	auth->config = config;
	auth->opts = opts ? *opts : defaults;
	int rc = config->provide_cluster_info ? build_cluster(&auth->cluster, rest) : 0;
	if (!rc)
		rc = kube_exec_cache_key(&auth->key, config, auth->cluster);
	if (rc) {
		kube_exec_auth_free(auth);
		return rc;
	}
	*out = auth;
	return 0;
}

void kube_exec_auth_free(struct kube_exec_auth *auth)
{
	if (!auth)
		return;
	kube_exec_credential_clear(&auth->cred);
	json_decref(auth->cluster);
	kube_free(auth->key);
	kube_free(auth);
}

void kube_exec_auth_reset(struct kube_exec_auth *auth)
{
	kube_exec_credential_clear(&auth->cred);
	auth->cached = 0;
	kube_exec_cache_forget(auth->key); /* the server rejected it: nobody should reuse it */
}

/* ---- running the plugin -------------------------------------------------------------------------------------- */

/* isInteractive: Never, IfAvailable (stdin is a terminal), Always (which
 * insists on a terminal). v1beta1 defaults to IfAvailable; v1 requires a
 * mode, and client-go reports the empty one as unknown. */
static int decide_interactive(int *out, const struct kube_exec_config *config, int stdin_is_tty)
{
	const char *mode = config->interactive_mode                             ? config->interactive_mode
	                   : strcmp(config->api_version, EXEC_API_V1BETA1) == 0 ? "IfAvailable"
	                                                                        : "";
	if (stdin_is_tty < 0)
		stdin_is_tty = isatty(STDIN_FILENO);
	if (strcmp(mode, "Never") == 0) {
		*out = 0;
	} else if (strcmp(mode, "IfAvailable") == 0) {
		*out = stdin_is_tty != 0;
	} else if (strcmp(mode, "Always") == 0) {
		if (!stdin_is_tty)
			return kube_error_set(
			        KUBE_EAUTH,
			        "exec plugin cannot support interactive mode: standard input is not a terminal");
		*out = 1;
	} else {
		return kube_error_set(KUBE_EAUTH,
		                      "exec plugin cannot support interactive mode: unknown interactiveMode: \"%s\"",
		                      mode);
	}
	return 0;
}

/* The ExecCredential handed to the plugin as KUBERNETES_EXEC_INFO=...,
 * encoded in the order Go writes it (kind, apiVersion, spec.cluster,
 * spec.interactive). */
static int exec_info(char **out, const struct kube_exec_auth *auth, int interactive)
{
	json_t *root = json_object();
	json_t *spec = json_object();
	char *json = NULL;

	*out = NULL;
	int failed = !root || !spec || set_string(root, "kind", "ExecCredential") ||
	             set_string(root, "apiVersion", auth->config->api_version) ||
	             (auth->cluster && json_object_set(spec, "cluster", auth->cluster)) ||
	             json_object_set_new(spec, "interactive", json_boolean(interactive)) ||
	             json_object_set(root, "spec", spec);
	if (!failed && (json = json_dumps(root, JSON_COMPACT)) != NULL)
		*out = kube_asprintf("%s=%s", EXEC_INFO_ENV, json);
	kube_free(json);
	json_decref(spec);
	json_decref(root);
	return *out ? 0 : kube_error_set(KUBE_ENOMEM, "out of memory");
}

/* Adds "NAME=value" to a NULL-terminated environment, replacing an earlier
 * NAME (Go's exec dedups the environment, later entries winning). */
static int env_put(char ***env, size_t *count, size_t *cap, const char *entry)
{
	const char *eq = strchr(entry, '=');
	for (size_t i = 0; eq && i < *count; i++) {
		size_t name_len = (size_t)(eq - entry) + 1;
		if (strncmp((*env)[i], entry, name_len) == 0) {
			(*env)[i] = (char *)entry;
			return 0;
		}
	}
	if (*count + 2 > *cap) {
		size_t next = *cap ? *cap * 2 : 64;
		char **grown = kube_realloc(*env, next * sizeof(**env));
		if (!grown)
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		*env = grown;
		*cap = next;
	}
	(*env)[(*count)++] = (char *)entry;
	(*env)[*count] = NULL;
	return 0;
}

/* exec.LookPath: the first regular, executable file named name in an
 * absolute PATH entry. Relative entries are skipped, as Go refuses to run
 * what they find (exec.ErrDot, reported as not found). */
static int look_path(char **out, const char *name)
{
	const char *path = getenv("PATH");
	*out = NULL;
	for (const char *dir = path; dir && *dir;) {
		const char *end = strchr(dir, ':');
		size_t len = end ? (size_t)(end - dir) : strlen(dir);
		if (len > 0 && dir[0] == '/') {
			char *candidate = kube_asprintf("%.*s/%s", (int)len, dir, name);
			struct stat st;
			if (!candidate)
				return kube_error_set(KUBE_ENOMEM, "out of memory");
			if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) {
				*out = candidate;
				return 0;
			}
			kube_free(candidate);
		}
		dir = end ? end + 1 : NULL;
	}
	return 0;
}

/* "exec: executable X not found" plus client-go's verbose help and the
 * installHint, folded onto one line with the hint first so it survives
 * the error message's length limit. */
static int not_found(const struct kube_exec_config *config)
{
	kube_buf hint = KUBE_BUF_INIT;
	int space = 0;
	for (const char *p = config->install_hint; p && *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = hint.len > 0;
			continue;
		}
		if ((space && kube_buf_put(&hint, " ", 1)) || kube_buf_put(&hint, p, 1)) {
			kube_buf_dispose(&hint);
			return kube_error_set(KUBE_ENOMEM, "out of memory");
		}
		space = 0;
	}
	int rc = kube_error_set(KUBE_EAUTH,
	                        "exec: executable %s not found%s%s (It looks like you are trying to use a client-go "
	                        "credential plugin that is not installed; see https://kubernetes.io/docs/reference/"
	                        "access-authn-authz/authentication/#client-go-credential-plugins)",
	                        config->command, hint.len ? ": " : "", kube_buf_cstr(&hint));
	kube_buf_dispose(&hint);
	return rc;
}

static int ensure_high_cloexec(int *fd)
{
	if (*fd <= STDERR_FILENO) {
		int moved = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		close(*fd);
		*fd = moved;
		return moved < 0 ? -1 : 0;
	}
	return fcntl(*fd, F_SETFD, FD_CLOEXEC);
}

/* Starts the plugin with stdout on a pipe (*out_fd), stderr shared with
 * ours, and stdin from /dev/null unless interactive. */
static int spawn(pid_t *pid, int *out_fd, const char *path, char **argv, char **envp, int interactive,
                 const struct kube_exec_config *config)
{
	char err_text[128];
	int fds[2] = {-1, -1};
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t mask, defaults;

	if (pipe(fds) != 0 || ensure_high_cloexec(&fds[0]) || ensure_high_cloexec(&fds[1])) {
		int err = errno;
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return kube_error_set(KUBE_EAUTH, "exec: creating a pipe for %s: %s", config->command,
		                      kube_errno_text(err, err_text, sizeof(err_text)));
	}
	int have_actions = posix_spawn_file_actions_init(&actions) == 0;
	if (!have_actions || posix_spawnattr_init(&attr) != 0) {
		if (have_actions)
			posix_spawn_file_actions_destroy(&actions);
		close(fds[0]), close(fds[1]);
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	}
	/* The plugin starts with an empty signal mask and a default SIGPIPE
	 * whatever this process does with them. */
	sigemptyset(&mask);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	int err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = err ? err : posix_spawnattr_setsigmask(&attr, &mask);
	err = err ? err : posix_spawnattr_setsigdefault(&attr, &defaults);
	if (!interactive)
		err = err ? err : posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	err = err ? err : posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	err = err ? err : posix_spawn(pid, path, &actions, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		/* A path with a slash that does not exist is as missing as a bare
		 * name PATH does not have: both get the install hint. (A script
		 * whose interpreter is missing is reported as the spawn error.) */
		struct stat st;
		if (err == ENOENT && stat(path, &st) != 0)
			return not_found(config);
		return kube_error_set(KUBE_EAUTH, "exec: fork/exec %s: %s", path,
		                      kube_errno_text(err, err_text, sizeof(err_text)));
	}
	*out_fd = fds[0];
	return 0;
}

/* Waits for pid until deadline; 0 with *status, 1 on timeout. */
static int wait_until(pid_t pid, int *status, int64_t deadline)
{
	for (;;) {
		pid_t done = waitpid(pid, status, WNOHANG);
		if (done == pid)
			return 0;
		if (done < 0 && errno != EINTR) {
			*status = 0; /* SIGCHLD ignored by the program: the exit status is lost */
			return 0;
		}
		if (kube_now_ms() >= deadline)
			return 1;
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

static void kill_and_reap(pid_t pid)
{
	int status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Reads the plugin's stdout until EOF, within the cap and the deadline.
 * Once the plugin has exited, what is buffered is taken and a grandchild
 * that kept the pipe open is not waited for. */
static int collect(kube_buf *out, int fd, pid_t pid, int *status, int *exited, int64_t deadline, const char *command)
{
	char chunk[4096];
	int64_t drain_until = 0;
	int rc = 0;
	for (;;) {
		int64_t now = kube_now_ms();
		if (*exited && now >= drain_until)
			break;
		if (now >= deadline) {
			rc = kube_error_set(KUBE_EAUTH, "exec: executable %s timed out", command);
			break;
		}
		int64_t remaining = (*exited ? drain_until : deadline) - now;
		struct pollfd pfd = {fd, POLLIN, 0};
		int ready = poll(&pfd, 1, remaining > 100 ? 100 : (int)remaining);
		ssize_t n = ready > 0 ? read(fd, chunk, sizeof(chunk)) : ready;
		if (ready > 0 && n == 0)
			break; /* EOF */
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			rc = kube_error_set(KUBE_EAUTH, "exec: reading the output of %s failed", command);
			break;
		}
		if (n > 0 && (rc = kube_buf_put(out, chunk, (size_t)n)) != 0) {
			if (rc == KUBE_EPROTOCOL)
				rc = kube_error_set(KUBE_EAUTH,
				                    "exec: executable %s wrote more than %zu bytes to stdout", command,
				                    out->limit);
			break;
		}
		if (ready == 0 && !*exited && waitpid(pid, status, WNOHANG) == pid) {
			*exited = 1;
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			drain_until = kube_now_ms() + 100;
		}
	}
	kube_secret_wipe(chunk, sizeof(chunk));
	return rc;
}

static int run_plugin(kube_buf *out, const struct kube_exec_auth *auth, int interactive, const char *info)
{
	const struct kube_exec_config *config = auth->config;
	char *resolved = NULL;
	char **argv = NULL, **envp = NULL;
	size_t env_count = 0, env_cap = 0, argc = 0;
	int fd = -1, status = 0, exited = 0, rc = 0;
	pid_t pid = -1;

	const char *path = config->command;
	struct stat st;
	if (!strchr(path, '/')) {
		if ((rc = look_path(&resolved, path)) != 0)
			return rc;
		if (!resolved)
			return not_found(config);
		path = resolved;
	} else if (stat(path, &st) != 0 && errno == ENOENT) {
		/* as exec.LookPath does for a path: found missing before the
		 * spawn, not only from its error (which a posix_spawn without
		 * CLONE_VFORK, as under valgrind, reports as exit code 127) */
		return not_found(config);
	}
	while (config->args && config->args[argc])
		argc++;
	if (!(argv = kube_calloc(argc + 2, sizeof(*argv)))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	argv[0] = config->command;
	for (size_t i = 0; i < argc; i++)
		argv[i + 1] = config->args[i];
	for (char **e = environ; e && *e && !rc; e++)
		rc = env_put(&envp, &env_count, &env_cap, *e);
	for (char **e = config->env; e && *e && !rc; e++)
		rc = env_put(&envp, &env_count, &env_cap, *e);
	rc = rc ? rc : env_put(&envp, &env_count, &env_cap, info);
	if (rc)
		goto done;

	kube_log(KUBE_LOG_DECISION, "exec: running plugin %s", config->command);
	if ((rc = spawn(&pid, &fd, path, argv, envp, interactive, config)) != 0) {
		pid = -1;
		goto done;
	}
	long timeout = auth->opts.timeout_ms;
	if (timeout <= 0)
		timeout = interactive ? EXEC_INTERACTIVE_TIMEOUT_MS : EXEC_TIMEOUT_MS;
	int64_t deadline = kube_now_ms() + timeout;
	out->limit = auth->opts.max_output ? auth->opts.max_output : EXEC_OUTPUT_MAX;
	if ((rc = collect(out, fd, pid, &status, &exited, deadline, config->command)) != 0)
		goto done;
	if (!exited && wait_until(pid, &status, deadline) != 0) {
		rc = kube_error_set(KUBE_EAUTH, "exec: executable %s timed out", config->command);
		goto done;
	}
	exited = 1;
	/* Go's ExitCode() is -1 for a plugin killed by a signal. */
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code != 0)
		rc = kube_error_set(KUBE_EAUTH, "exec: executable %s failed with exit code %d", config->command, code);
done:
	if (pid > 0 && !exited)
		kill_and_reap(pid);
	if (fd >= 0)
		close(fd);
	kube_free(envp);
	kube_free(argv);
	kube_free(resolved);
	return rc;
}

/* ---- the cache ----------------------------------------------------------------------------------------------- */

static void log_cached(const struct kube_exec_auth *auth)
{
	char when[64] = "for the life of the process";
	struct tm tm;
	time_t secs = (time_t)auth->cred.expiry_s;
	if (auth->cred.has_expiry &&
	    (!gmtime_r(&secs, &tm) || !strftime(when, sizeof(when), "until %Y-%m-%dT%H:%M:%SZ", &tm)))
		(void)snprintf(when, sizeof(when), "until @%lld", (long long)auth->cred.expiry_s);
	kube_log(KUBE_LOG_DECISION, "exec: credential from %s cached %s", auth->config->command, when);
}

int kube_exec_auth_get(struct kube_exec_auth *auth, const struct kube_exec_credential **out)
{
	struct kube_exec_credential fresh = {0};
	kube_buf output = KUBE_BUF_INIT;
	char *info = NULL;
	int interactive = 0, rc;

	*out = NULL;
	if (auth->cached && !kube_exec_credential_expired(&auth->cred)) {
		*out = &auth->cred;
		return 0;
	}
	kube_exec_cache_lock();
	int shared = kube_exec_cache_lookup(&fresh, auth->key);
	rc = shared < 0 ? shared : 0;
	if (!rc && !shared) {
		if ((rc = decide_interactive(&interactive, auth->config, auth->opts.stdin_is_tty)) == 0 &&
		    (rc = exec_info(&info, auth, interactive)) == 0 &&
		    (rc = run_plugin(&output, auth, interactive, info)) == 0 &&
		    (rc = kube_exec_credential_parse(&fresh, auth->config->api_version, kube_buf_cstr(&output),
		                                     output.len)) == 0 &&
		    (!fresh.cert_pem || (rc = check_key_pair(fresh.cert_pem, fresh.key_pem)) == 0))
			rc = kube_exec_cache_store(auth->key, &fresh);
	}
	kube_exec_cache_unlock();
	if (rc)
		goto done;
	if (shared)
		kube_log(KUBE_LOG_DECISION, "exec: credential from %s shared by another client of this process",
		         auth->config->command);
	kube_exec_credential_clear(&auth->cred);
	auth->cached = 0;
	auth->cred = fresh;
	memset(&fresh, 0, sizeof(fresh));
	auth->cached = 1;
	log_cached(auth);
	*out = &auth->cred;
done:
	kube_exec_credential_clear(&fresh);
	kube_secret_buf_dispose(&output);
	kube_free(info);
	return rc;
}
