/* Process hardening every plugin applies before it reads a credential:
 * no core dumps, which could hold a token, a client key or a Secret. */
#ifndef CLI_HARDEN_H
#define CLI_HARDEN_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sets RLIMIT_CORE's soft and hard limits to 0 and, on Linux, makes the
 * process not dumpable (PR_SET_DUMPABLE 0): a crash writes no core file,
 * not even through a core_pattern pipe, and other processes of the same
 * user cannot ptrace it or read its memory through /proc. Both last for
 * the process; children inherit the limit, and execve makes a child
 * dumpable again. LeakSanitizer and valgrind keep working (LSan makes the
 * process dumpable while it stops the world). cli_main calls it first.
 * Returns 0, or -1 when either call failed (a seccomp filter, say), which
 * callers may ignore: the other protection still holds. */
int cli_harden_process(void);

#ifdef __cplusplus
}
#endif
#endif
