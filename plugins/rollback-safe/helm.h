/* Running the user's helm binary (SPEC §5.2 Execute): finding it and its
 * major version, building the `helm rollback` command line for Helm 3 or
 * Helm 4, and starting and reaping the child so that it dies with the
 * plugin and the plugin's stdout stays clean. */
#ifndef ROLLBACK_HELM_H
#define ROLLBACK_HELM_H

#include <sys/types.h>

#include <kube/config.h>

typedef struct rollback_helm {
	char path[4096];  /* the binary as it is executed */
	char version[64]; /* what `helm version` printed, e.g. "v3.22.0" */
	int major;        /* 3, 4, or later (which gets Helm 4's flags) */
	int minor;
} rollback_helm;

/* Finds helm: HELM_BIN (what Helm hands its plugins: its own argv[0]),
 * else `helm`, looked up on PATH when the name has no slash; then runs
 * `<helm> version --template {{.Version}}` (Helm 3 and 4 both know it)
 * and parses the major. Returns 0, or an exit code (printed): 3 when no
 * executable helm is found ("helm not found: set HELM_BIN or put helm on
 * PATH") or it is Helm 2 or older; 1 when `helm version` fails, hangs for
 * more than 30 s or prints something that is not a version. */
int rollback_helm_find(rollback_helm *out);

/* What to roll back and how. */
typedef struct rollback_helm_rollback {
	const char *release;
	long long revision; /* >= 1 */
	const char *ns;     /* the release namespace: always passed as --namespace */
	long timeout_ms;    /* helm's --timeout; 0 = helm's default (5m) */
	long history_max;   /* --history-max; -1 = not given (helm's HELM_MAX_HISTORY or 10) */
	int no_hooks;
	int cleanup_on_fail;
	/* The plugin's own kubectl connection flags (may be NULL), handed to
	 * helm as its --kube-* flags so that both talk to the same cluster as
	 * the same user. */
	const kube_config_options *conn;
	/* --description (Helm >= 4.3; cut to 256 bytes on a character
	 * boundary); NULL = Helm's "Rollback to N". Ignored for older helms,
	 * which have no such flag. */
	const char *description;
} rollback_helm_rollback;

#define ROLLBACK_HELM_ROLLBACK_INIT                                                                                    \
	{                                                                                                              \
		NULL, 0, NULL, 0, -1, 0, 0, NULL, NULL                                                                 \
	}

/* Builds the argv (NULL-terminated; *out and its strings belong to the
 * caller, freed with rollback_helm_argv_free) of
 *   <helm> rollback RELEASE REVISION --namespace NS [flags]
 * for helm->major. Both majors take --timeout (a Go duration: "300s",
 * "1500ms"), --history-max, --no-hooks and --cleanup-on-fail; Helm 4.3
 * and later also --description. Never --wait (rollback-safe verifies by
 * itself; without it Helm 4 waits for hooks only), never
 * --force/--force-replace or --recreate-pods, never --dry-run. The connection maps onto helm's
 * global flags: context → --kube-context, kubeconfig → --kubeconfig,
 * server → --kube-apiserver, certificate_authority
 * → --kube-ca-file, insecure_skip_tls_verify 1 →
 * --kube-insecure-skip-tls-verify=true (always the `=` form: Helm's
 * plugin flag stripping takes a bare one as taking the next argument),
 * tls_server_name → --kube-tls-server-name, as → --kube-as-user, each of
 * as_groups → --kube-as-group. The token is never put in argv (any
 * local user can read a process's command line): the caller hands it to
 * helm as HELM_KUBETOKEN in its environment. Pure: touches nothing but memory and, on
 * error, stderr. Returns 0; 2 (printed) when conn holds a flag helm has
 * no equivalent for (--cluster, --user, --client-certificate,
 * --client-key, --as-uid), since helm would then act on another cluster
 * or as another user than the plugin checked; 1 (printed) when memory
 * runs out. *out is NULL on error. */
int rollback_helm_argv(char ***out, const rollback_helm *helm, const rollback_helm_rollback *opts);
/* Frees an argv from rollback_helm_argv; NULL is fine. */
void rollback_helm_argv_free(char **argv);

/* Starts helm->path with argv (argv[0] included) as a child process that
 * gets SIGKILL when the plugin dies (PR_SET_PDEATHSIG, checked against a
 * parent that died before it was set), with its stdout sent to the
 * plugin's stderr (so `-o json` on stdout stays clean) and its stderr
 * inherited (helm's errors shown verbatim), SIGINT, SIGTERM and SIGPIPE
 * at their defaults and no signal blocked. The kernel sends that SIGKILL
 * when the calling thread ends: call it from the main thread. Returns 0
 * and *pid, or an exit code (printed): 1 when fork fails or helm cannot
 * be executed. */
int rollback_helm_start(pid_t *pid, const rollback_helm *helm, char *const argv[]);

/* Called about once a second while helm runs; a non-zero return stops
 * helm (SIGTERM) and is what rollback_helm_wait_tick returns once helm
 * has exited. */
typedef int (*rollback_helm_tick_fn)(void *user);

/* Waits for the child pid to exit and puts its exit status in
 * *exit_code (128 + the signal when a signal killed it). SIGINT and
 * SIGTERM sent to the plugin while it waits are forwarded to the child
 * and the wait goes on; afterwards the signal is raised again in the
 * plugin when a handler is installed for it (so the command's own
 * "interrupted" flag sees it) and rollback_helm_signal() names it. Waits
 * in the calling thread with those signals blocked: call it from the
 * main thread of a program whose other threads block them too. Returns 0,
 * or 1 (printed) when waitpid fails. */
int rollback_helm_wait(pid_t pid, int *exit_code);

/* rollback_helm_wait, calling tick(user) about once a second (tick may be
 * NULL), e.g. to renew a Lease while helm works. Returns 0, the tick's
 * non-zero return (helm stopped and reaped), or 1 (printed). */
int rollback_helm_wait_tick(pid_t pid, int *exit_code, rollback_helm_tick_fn tick, void *user);

/* The signal (SIGINT or SIGTERM) the last wait forwarded to helm, or 0. */
int rollback_helm_signal(void);

#endif
