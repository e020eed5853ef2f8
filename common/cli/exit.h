/* The suite's exit codes (SPEC §1.2), the mapping from libkube's error
 * codes to them, and the one-line `error:` / `hint:` messages on stderr. */
#ifndef CLI_EXIT_H
#define CLI_EXIT_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cli_args;

enum cli_exit {
	CLI_EXIT_OK = 0,
	/* The job's verdict is negative: findings at or above --fail-on, a
	 * gate failed, a rollback's verification failed, the helm child
	 * failed. Also what internal failures (out of memory, a report that
	 * cannot be written) exit with: the table has no other slot. */
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,     /* bad flag or argument, unparsable manifest */
	CLI_EXIT_CONFIG = 3,    /* kubeconfig, credentials, exec plugin, TLS */
	CLI_EXIT_API = 4,       /* unreachable, 5xx, forbidden, not found */
	CLI_EXIT_REFUSED = 5,   /* refused for safety, nothing changed */
	CLI_EXIT_CONFLICT = 6,  /* Lease held elsewhere, object or history changed */
	CLI_EXIT_SIGINT = 130,  /* interrupted, resumable state left */
	CLI_EXIT_SIGTERM = 143, /* terminated, resumable state left */
};

/* Maps a libkube code (KUBE_OK or a negative KUBE_E*) to an exit code:
 * ECONFIG/EAUTH/ETLS 3; ENETWORK/EFORBIDDEN/ENOTFOUND/ETIMEOUT/EPROTOCOL/
 * EGONE 4; ECONFLICT 6; EINVALID 4 when the server rejected the request
 * (http_status != 0) and 2 when a local parser rejected the user's input;
 * anything else 4 when the server answered 5xx, else 1. A command that
 * knows better (an invalid flag value the server rejected) returns its own
 * code instead. */
int cli_exit_from_kube(int code, long http_status);

/* A hint for a libkube code ("check --certificate-authority ..."), or NULL. */
const char *cli_hint_for_kube(int code);

/* Where error, hint and warning lines go: stderr unless a test redirects
 * them (NULL restores stderr). */
void cli_error_stream_set(FILE *stream);
FILE *cli_error_stream(void);

/* Prints "error: <fmt>" as one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "hint: <fmt>" as one line. */
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "warning: <fmt>" as one line. */
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints kube_error_last() as "error: <what>: <message>" (what may be
 * NULL), with the server's Status message appended verbatim when the
 * message does not already carry it, then the hint for code. Returns
 * cli_exit_from_kube(code, http status). */
int cli_error_kube(const char *what, int code);

/* Prints "error: <fmt>" and "hint: see '<program> [command] --help'";
 * returns CLI_EXIT_USAGE. args may be NULL (no hint). */
int cli_usage_error(const struct cli_args *args, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "error: out of memory"; returns CLI_EXIT_FAIL. */
int cli_error_nomem(void);

#ifdef __cplusplus
}
#endif
#endif
