/* The pending-* lock of a Helm release, unlocking it with an audit trail,
 * and the run Lease of an executing rollback. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kube/clock.h>
#include <kube/error.h>
#include <kube/log.h>

#include "lock.h"

#define RUN_PREFIX "helm-rollback-safe/"

void rollback_kill_point(const char *point)
{
#ifdef ROLLGUARD_TESTING
	const char *at = getenv("ROLLGUARD_TEST_KILL_AT");
	if (at && strcmp(at, point) == 0) {
		fflush(NULL);
		raise(SIGKILL);
	}
#else
	(void)point;
#endif
}

void rollback_run_format(char *buf, size_t size, const char *run_id, long long revision, long long target)
{
	char host[65] = "";
	if (gethostname(host, sizeof(host) - 1) || !host[0])
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, size, RUN_PREFIX "%.31s/r%lld/t%lld/%s/%ld", run_id, revision, target, host, (long)getpid());
}

int rollback_run_parse(rollback_run *out, const char *holder)
{
	size_t prefix = strlen(RUN_PREFIX);
	if (!holder || strncmp(holder, RUN_PREFIX, prefix) != 0)
		return -1;
	const char *p = holder + prefix;
	const char *slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= sizeof(out->run_id))
		return -1;
	long long revision = 0, target = 0;
	int used = 0;
	if (sscanf(slash, "/r%lld/t%lld/%n", &revision, &target, &used) != 2 || used == 0 || revision <= 0 ||
	    target <= 0)
		return -1;
	memcpy(out->run_id, p, (size_t)(slash - p));
	out->run_id[slash - p] = '\0';
	out->revision = revision;
	out->target = target;
	return 0;
}

void rollback_run_new_id(char *buf, size_t size)
{
	unsigned char nonce[4] = {0, 0, 0, 0};
	FILE *random = fopen("/dev/urandom", "rb");
	if (random) {
		if (fread(nonce, 1, sizeof(nonce), random) != sizeof(nonce))
			nonce[0] = (unsigned char)time(NULL);
		fclose(random);
	}
	snprintf(buf, size, "%04lx%02x%02x%02x%02x", (unsigned long)time(NULL) & 0xffffUL, nonce[0], nonce[1], nonce[2],
	         nonce[3]);
}

void rollback_run_lease_name(const rollback_ctx *ctx, char *buf, size_t size)
{
	snprintf(buf, size, ROLLBACK_LEASE_PREFIX "%s", ctx->release);
}

int rollback_run_owns(const rollback_record *rec, const char *run_id, long long target)
{
	char expect[64], tag[48];
	const char *desc = rec->release ? rollback_release_description(rec->release) : "";
	size_t n = (size_t)snprintf(expect, sizeof(expect), "Rollback to %lld", target);
	snprintf(tag, sizeof(tag), "(run %.31s)", run_id);
	if (strcmp(desc, expect) == 0)
		return 1;
	return strncmp(desc, expect, n) == 0 && desc[n] == ' ' && strstr(desc + n, tag) != NULL;
}

void rollback_run_forget(rollback_ctx *ctx)
{
	char name[128], holder[256];
	rollback_run_lease_name(ctx, name, sizeof(name));
	snprintf(holder, sizeof(holder), "helm-rollback-safe-unlock/%ld", (long)getpid());
	kube_lease_options opts = KUBE_LEASE_OPTIONS_INIT;
	opts.holder = holder;
	kube_lease *lease = NULL;
	int rc = kube_lease_acquire(&lease, ctx->client, ctx->ns, name, &opts, NULL);
	if (rc == 0)
		rc = kube_lease_release(ctx->client, lease);
	if (rc) {
		kube_log(KUBE_LOG_DECISION, "removing the run Lease %s: %s", name, kube_error_last()->message);
		kube_error_clear();
	}
	kube_lease_free(lease);
}

int rollback_run_read(rollback_ctx *ctx, rollback_run *out)
{
	char name[128];
	memset(out, 0, sizeof(*out));
	rollback_run_lease_name(ctx, name, sizeof(name));
	int rc = kube_lease_get_holder(&out->holder, ctx->client, ctx->ns, name);
	if (rc == KUBE_ENOTFOUND || rc == KUBE_EFORBIDDEN) {
		/* No run record (or none this user may read: then it cannot
		 * take the Lease either, and execute says so). */
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: %s", ctx->ns, name, kube_error_last()->message);
		kube_error_clear();
		return 0;
	}
	if (rc)
		return cli_error_kube("reading the run Lease", rc);
	if (rollback_run_parse(out, out->holder.holder) == 0)
		out->present = 1;
	else
		kube_log(KUBE_LOG_DECISION, "lease %s/%s: holder \"%s\" is not a rollback-safe run", ctx->ns, name,
		         out->holder.holder);
	return 0;
}

int rollback_run_wait_expired(rollback_ctx *ctx, rollback_run *run)
{
	char name[128];
	rollback_run_lease_name(ctx, name, sizeof(name));
	if (run->holder.expires_in_ms <= 0)
		return 0;
	fprintf(stderr, "Waiting for the Lease %s of run %s (revision %lld) to expire, in %llds...\n", name,
	        run->run_id, run->revision, (run->holder.expires_in_ms + 999) / 1000);
	long long renew = run->holder.renew_ms;
	for (;;) {
		kube_sleep_ms(run->holder.expires_in_ms > 1000 ? 1000 : (long)run->holder.expires_in_ms + 50);
		kube_lease_holder now;
		int rc = kube_lease_get_holder(&now, ctx->client, ctx->ns, name);
		if (rc == KUBE_ENOTFOUND) {
			kube_error_clear();
			run->holder.expires_in_ms = 0;
			return 0;
		}
		if (rc)
			return cli_error_kube("reading the run Lease", rc);
		if (now.renew_ms != renew || strcmp(now.holder, run->holder.holder) != 0) {
			cli_error("release %s: another helm rollback-safe run (%s) is working on it (Lease %s held by "
			          "%s)",
			          ctx->release, run->run_id, name, now.holder);
			cli_hint("wait for it to finish, then run the command again");
			return CLI_EXIT_CONFLICT;
		}
		run->holder = now;
		if (now.expires_in_ms <= 0)
			return 0;
	}
}

int rollback_unlock_check(rollback_ctx *ctx, const rollback_record *last, long lock_timeout_ms, int force)
{
	long long age = rollback_record_age_ms(ctx, last);
	char age_text[32], limit[32];
	if (age >= 0)
		cli_format_duration(age_text, sizeof(age_text), (long)age);
	else
		snprintf(age_text, sizeof(age_text), "an unknown time");
	cli_format_duration(limit, sizeof(limit), lock_timeout_ms);
	if (force) {
		kube_log(KUBE_LOG_DECISION, "revision %lld is %s since %s: unlocking with --force-unlock",
		         last->revision, rollback_status_name(last->status), age_text);
		return 0;
	}
	if (age >= 0 && age >= lock_timeout_ms)
		return 0;
	cli_error("release %s: revision %lld is %s since %s, younger than --lock-timeout %s: another operation may "
	          "still be running",
	          ctx->release, last->revision, rollback_status_name(last->status), age_text, limit);
	cli_hint("make sure no helm process is working on it, then repeat with --force-unlock");
	return CLI_EXIT_REFUSED;
}

int rollback_unlock_apply(rollback_ctx *ctx, rollback_record *last, const char *why)
{
	char description[512];
	enum rollback_status old = last->status;
	const char *old_desc = last->release ? rollback_release_description(last->release) : "";
	snprintf(description, sizeof(description), "%.200s (was %s%s%.200s)", why, rollback_status_name(old),
	         old_desc[0] ? ": " : "", old_desc);
	int rc = rollback_record_set_status(ctx, last, ROLLBACK_STATUS_FAILED, description);
	if (rc)
		return rc;
	rollback_kill_point("unlock-after-mark");
	rollback_record_event(ctx, last, "Warning", "ReleaseUnlocked", "revision %lld: %s -> failed by %s: %s",
	                      last->revision, rollback_status_name(old),
	                      ctx->user.username[0] ? ctx->user.username : "unknown user", why);
	return 0;
}
