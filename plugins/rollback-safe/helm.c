/* The user's helm binary as a child process: found through HELM_BIN or
 * PATH, asked for its version, handed a `helm rollback` command line for
 * its major, started so that it dies with the plugin, and reaped with
 * the plugin's SIGINT/SIGTERM forwarded to it. */
#define _DEFAULT_SOURCE /* syscall(SYS_close_range, ...) */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <kube/alloc.h>
#include <kube/log.h>

#include "cli/cli.h"
#include "helm.h"

#define NOT_FOUND_MESSAGE  "helm not found: set HELM_BIN or put helm on PATH"
/* `helm version` reads no cluster: anything slower is stuck. */
#define VERSION_TIMEOUT_MS 30000
/* Helm's action.MaxDescriptionLength, in runes; bytes are never fewer. */
#define DESCRIPTION_MAX    256

/* The signal the last wait forwarded (rollback_helm_signal). */
static int forwarded_signal;

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when path names a regular file this process may execute. */
static int executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolves name as execvp would: as it is when it holds a slash, else the
 * first executable PATH entry (an empty entry is the current directory).
 * Returns 0 with the path in out, or -1. */
static int resolve_executable(char *out, size_t size, const char *name)
{
	if (strchr(name, '/')) {
		if (!executable_file(name) || snprintf(out, size, "%s", name) >= (int)size)
			return -1;
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *dir = path;; dir++) {
		const char *end = strchr(dir, ':');
		size_t len = end ? (size_t)(end - dir) : strlen(dir);
		int n = len ? snprintf(out, size, "%.*s/%s", (int)len, dir, name) : snprintf(out, size, "./%s", name);
		if (n > 0 && n < (int)size && executable_file(out))
			return 0;
		if (!end)
			break;
		dir = end;
	}
	out[0] = '\0';
	return -1;
}

static int set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* Runs in the forked child: only async-signal-safe calls until exec. */
static void child_exec(pid_t parent, const char *path, char *const argv[], int stdout_fd, int report_fd)
{
	int err;
	struct sigaction sa;
	sigset_t none;
	/* The plugin may die by SIGKILL with no chance to stop helm: the
	 * kernel then stops it. A parent that died before this line is gone
	 * from getppid(), and then nobody would. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Nothing of the plugin's but stdin/stdout/stderr reaches helm:
	 * libcurl's sockets and the --output-file temp file are not
	 * close-on-exec. (report_fd is already.) */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0)
#endif
	{
		for (int fd = 3; fd < 4096; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	/* dup2 clears close-on-exec on the copy, but not when the two are
	 * one descriptor already */
	if (stdout_fd == STDOUT_FILENO ? fcntl(STDOUT_FILENO, F_SETFD, 0) < 0 : dup2(stdout_fd, STDOUT_FILENO) < 0) {
		err = errno;
	} else {
		execv(path, argv);
		err = errno;
	}
	/* The parent reads this from the close-on-exec pipe: nothing there
	 * means exec worked. */
	if (write(report_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Reaps pid, retrying on EINTR; 0 with its raw status, or -1. */
static int reap(pid_t pid, int *status)
{
	pid_t r;
	while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? 0 : -1;
}

/* Forks and execs path with argv, its stdout on stdout_fd. Returns 0 with
 * *pid; or -1 with errno (fork, exec or dup2 failed; the child reaped). */
static int spawn(pid_t *pid, const char *path, char *const argv[], int stdout_fd)
{
	int report[2];
	if (pipe(report) != 0)
		return -1;
	if (set_cloexec(report[0]) != 0 || set_cloexec(report[1]) != 0) {
		int err = errno;
		close(report[0]);
		close(report[1]);
		errno = err;
		return -1;
	}
	/* An inherited SIGCHLD=SIG_IGN would have the kernel reap helm, and
	 * waitpid would fail while helm still runs. */
	struct sigaction chld;
	memset(&chld, 0, sizeof(chld));
	chld.sa_handler = SIG_DFL;
	sigemptyset(&chld.sa_mask);
	(void)sigaction(SIGCHLD, &chld, NULL);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0)
		child_exec(parent, path, argv, stdout_fd, report[1]);
	int err = errno;
	close(report[1]);
	if (child < 0) {
		close(report[0]);
		errno = err;
		return -1;
	}
	ssize_t n;
	int child_errno = 0;
	while ((n = read(report[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (n > 0) {
		int status;
		reap(child, &status);
		errno = child_errno;
		return -1;
	}
	*pid = child;
	return 0;
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Reads the child's stdout from fd into buf (NUL-terminated; the rest
 * dropped) until EOF or the deadline. Returns 0, or -1 on timeout. */
static int read_all(int fd, char *buf, size_t size, long long deadline_ms)
{
	size_t used = 0;
	buf[0] = '\0';
	for (;;) {
		long long left = deadline_ms - monotonic_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {fd, POLLIN, 0};
		int ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
		char chunk[256];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		size_t take = (size_t)n < size - 1 - used ? (size_t)n : size - 1 - used;
		memcpy(buf + used, chunk, take);
		used += take;
		buf[used] = '\0';
	}
}

/* Parses "v3.22.0" (the v optional, surrounding blanks ignored) into out.
 * Returns 0, or -1 when text is not such a version. */
static int parse_version(rollback_helm *out, const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	size_t len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	const char *p = text[0] == 'v' ? text + 1 : text;
	if (*p < '0' || *p > '9')
		return -1;
	char *end;
	errno = 0;
	long major = strtol(p, &end, 10);
	if (errno || *end != '.' || major > 1000)
		return -1;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return -1;
	long minor = strtol(p, &end, 10);
	if (errno || minor > 100000 || len >= sizeof(out->version))
		return -1;
	out->major = (int)major;
	out->minor = (int)minor;
	snprintf(out->version, sizeof(out->version), "%.*s", (int)len, text);
	return 0;
}

int rollback_helm_find(rollback_helm *out)
{
	memset(out, 0, sizeof(*out));
	const char *bin = getenv("HELM_BIN");
	if (bin && bin[0]) {
		if (resolve_executable(out->path, sizeof(out->path), bin) != 0) {
			cli_error("helm not found: HELM_BIN=%.1024s is not an executable file", bin);
			cli_hint("set HELM_BIN to the helm binary, or unset it and put helm on PATH");
			return CLI_EXIT_CONFIG;
		}
	} else if (resolve_executable(out->path, sizeof(out->path), "helm") != 0) {
		cli_error(NOT_FOUND_MESSAGE);
		return CLI_EXIT_CONFIG;
	}

	int pipefd[2];
	if (pipe(pipefd) != 0) {
		cli_error("running %.1024s version: %s", out->path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	/* The child's stdout is a dup2 of pipefd[1]; no other copy of either
	 * end may outlive the exec, or EOF never comes. */
	if (set_cloexec(pipefd[0]) != 0 || set_cloexec(pipefd[1]) != 0) {
		cli_error("running %.1024s version: %s", out->path, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return CLI_EXIT_FAIL;
	}
	char *const argv[] = {out->path, (char *)"version", (char *)"--template", (char *)"{{.Version}}", NULL};
	pid_t pid;
	int rc = spawn(&pid, out->path, argv, pipefd[1]);
	int err = errno;
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		cli_error("helm not found: cannot execute %.1024s: %s", out->path, strerror(err));
		cli_hint("set HELM_BIN to the helm binary, or put helm on PATH");
		return CLI_EXIT_CONFIG;
	}
	char text[256];
	int timed_out = read_all(pipefd[0], text, sizeof(text), monotonic_ms() + VERSION_TIMEOUT_MS);
	close(pipefd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	if (reap(pid, &status) != 0) {
		cli_error("running %.1024s version: %s", out->path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (timed_out) {
		cli_error("%.1024s version: no answer within %ds", out->path, VERSION_TIMEOUT_MS / 1000);
		return CLI_EXIT_FAIL;
	}
	if (exit_status(status) != 0) {
		cli_error("%.1024s version: exited with status %d", out->path, exit_status(status));
		return CLI_EXIT_FAIL;
	}
	if (parse_version(out, text) != 0) {
		cli_error("%.1024s version: not a Helm version: \"%.64s\"", out->path, text);
		return CLI_EXIT_FAIL;
	}
	if (out->major < 3) {
		cli_error("%.1024s is Helm %s: rollback-safe needs Helm 3 or 4", out->path, out->version);
		cli_hint("set HELM_BIN to a Helm 3 or Helm 4 binary");
		return CLI_EXIT_CONFIG;
	}
	kube_log(KUBE_LOG_DECISION, "helm: %s, version %s", out->path, out->version);
	return 0;
}

/* ----- the command line ----- */

typedef struct argv_builder {
	char **items;
	size_t count, cap;
	int nomem;
} argv_builder;

static void add(argv_builder *b, const char *arg)
{
	if (b->nomem)
		return;
	if (b->count + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		char **items = kube_realloc(b->items, cap * sizeof(*items));
		if (!items) {
			b->nomem = 1;
			return;
		}
		b->items = items;
		b->cap = cap;
	}
	if (!(b->items[b->count] = kube_strdup(arg))) {
		b->nomem = 1;
		return;
	}
	b->items[++b->count] = NULL;
}

static void add_flag(argv_builder *b, const char *flag, const char *value)
{
	if (!value || !value[0])
		return;
	add(b, flag);
	add(b, value);
}

/* Adds `flag value` with value's first DESCRIPTION_MAX bytes at most, cut
 * before a UTF-8 continuation byte. */
static void add_description(argv_builder *b, const char *value)
{
	char cut[DESCRIPTION_MAX + 1];
	size_t len = strlen(value);
	if (len > DESCRIPTION_MAX) {
		len = DESCRIPTION_MAX;
		while (len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(cut, value, len);
	cut[len] = '\0';
	add_flag(b, "--description", cut);
}

/* A Go duration for ms: whole seconds as "300s", else "1500ms". */
static void format_duration(char *buf, size_t size, long ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%lds", ms / 1000);
	else
		snprintf(buf, size, "%ldms", ms);
}

/* The kubectl flags helm has no --kube-* twin for: given, helm would pick
 * its cluster or user from the kubeconfig alone. */
static int check_mappable(const kube_config_options *conn)
{
	const struct {
		const char *flag;
		const char *value;
	} unmappable[] = {
	        {"--cluster", conn->cluster},
	        {"--user", conn->user},
	        {"--client-certificate", conn->client_certificate},
	        {"--client-key", conn->client_key},
	        {"--as-uid", conn->as_uid},
	};
	for (size_t i = 0; i < sizeof(unmappable) / sizeof(unmappable[0]); i++) {
		if (unmappable[i].value && unmappable[i].value[0]) {
			cli_error("%s cannot be handed to helm: helm has no equivalent flag, so it would not act "
			          "on the same cluster as the same user",
			          unmappable[i].flag);
			cli_hint("name a kubeconfig context with --context (or --kube-context) instead");
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

static void add_connection(argv_builder *b, const kube_config_options *conn)
{
	add_flag(b, "--kube-context", conn->context);
	add_flag(b, "--kubeconfig", conn->kubeconfig);
	add_flag(b, "--kube-apiserver", conn->server);
	/* Never the token: argv is readable by every local user
	 * (/proc/PID/cmdline); the child gets it as HELM_KUBETOKEN. */
	add_flag(b, "--kube-ca-file", conn->certificate_authority);
	if (conn->insecure_skip_tls_verify == 1)
		add(b, "--kube-insecure-skip-tls-verify=true");
	add_flag(b, "--kube-tls-server-name", conn->tls_server_name);
	add_flag(b, "--kube-as-user", conn->as);
	for (size_t i = 0; conn->as_groups && i < conn->as_groups_count; i++)
		add_flag(b, "--kube-as-group", conn->as_groups[i]);
}

int rollback_helm_argv(char ***out, const rollback_helm *helm, const rollback_helm_rollback *opts)
{
	assert(opts->release && opts->release[0] && opts->ns && opts->ns[0] && opts->revision >= 1);
	*out = NULL;
	int rc;
	if (opts->conn && (rc = check_mappable(opts->conn)) != 0)
		return rc;
	argv_builder b = {NULL, 0, 0, 0};
	char number[32];
	add(&b, helm->path);
	add(&b, "rollback");
	add(&b, opts->release);
	snprintf(number, sizeof(number), "%lld", opts->revision);
	add(&b, number);
	add_flag(&b, "--namespace", opts->ns);
	if (opts->timeout_ms > 0) {
		format_duration(number, sizeof(number), opts->timeout_ms);
		add_flag(&b, "--timeout", number);
	}
	if (opts->history_max >= 0) {
		snprintf(number, sizeof(number), "%ld", opts->history_max);
		add_flag(&b, "--history-max", number);
	}
	if (opts->no_hooks)
		add(&b, "--no-hooks");
	if (opts->cleanup_on_fail)
		add(&b, "--cleanup-on-fail");
	if (opts->description && opts->description[0] && (helm->major > 4 || (helm->major == 4 && helm->minor >= 3)))
		add_description(&b, opts->description);
	if (opts->conn)
		add_connection(&b, opts->conn);
	if (b.nomem) {
		rollback_helm_argv_free(b.items);
		return cli_error_nomem();
	}
	*out = b.items;
	return 0;
}

void rollback_helm_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		kube_free(argv[i]);
	kube_free(argv);
}

/* ----- running it ----- */

int rollback_helm_start(pid_t *pid, const rollback_helm *helm, char *const argv[])
{
	/* What helm prints on success goes with the progress output: stdout
	 * carries only the plugin's report. */
	fflush(stdout);
	fflush(stderr);
	if (spawn(pid, helm->path, argv, STDERR_FILENO) != 0) {
		cli_error("cannot run %.1024s: %s", helm->path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	kube_log(KUBE_LOG_DECISION, "helm: started %s %s (pid %ld)", helm->path, argv[1] ? argv[1] : "", (long)*pid);
	return 0;
}

/* Raises sig again once it is unblocked, when the program has a handler
 * for it; a default action would kill the plugin, which the caller may
 * not want now that helm is gone. */
static void redeliver(int sig)
{
	struct sigaction current;
	if (sigaction(sig, NULL, &current) != 0)
		return;
	if ((current.sa_flags & SA_SIGINFO) || (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN))
		raise(sig);
}

int rollback_helm_wait_tick(pid_t pid, int *exit_code, rollback_helm_tick_fn tick, void *user)
{
	sigset_t watched, old;
	sigemptyset(&watched);
	sigaddset(&watched, SIGCHLD);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGTERM);
	/* Blocked, the signals wait for sigtimedwait below: a signal coming
	 * between the waitpid and the wait cannot be lost. */
	sigprocmask(SIG_BLOCK, &watched, &old);
	forwarded_signal = 0;
	*exit_code = -1;
	int result = 0, stopping = 0;
	long long next_tick = monotonic_ms() + 1000;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			*exit_code = exit_status(status);
			break;
		}
		if (r < 0 && errno != EINTR) {
			cli_error("waiting for helm (pid %ld): %s", (long)pid, strerror(errno));
			result = CLI_EXIT_FAIL;
			break;
		}
		long long left = next_tick - monotonic_ms();
		if (left < 0)
			left = 0;
		struct timespec wait = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
		int sig = sigtimedwait(&watched, NULL, &wait);
		if (sig == SIGINT || sig == SIGTERM) {
			kube_log(KUBE_LOG_DECISION, "helm: forwarding %s to pid %ld",
			         sig == SIGINT ? "SIGINT" : "SIGTERM", (long)pid);
			forwarded_signal = sig;
			kill(pid, sig);
		}
		if (monotonic_ms() >= next_tick) {
			next_tick = monotonic_ms() + 1000;
			int rc = tick && !stopping ? tick(user) : 0;
			if (rc) {
				kube_log(KUBE_LOG_DECISION, "helm: stopping pid %ld", (long)pid);
				result = rc;
				stopping = 1;
				kill(pid, SIGTERM);
			}
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (forwarded_signal)
		redeliver(forwarded_signal);
	return result;
}

int rollback_helm_wait(pid_t pid, int *exit_code)
{
	return rollback_helm_wait_tick(pid, exit_code, NULL, NULL);
}

int rollback_helm_signal(void)
{
	return forwarded_signal;
}
