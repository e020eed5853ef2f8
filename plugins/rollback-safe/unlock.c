/* helm rollback-safe unlock: repair a release stuck in pending-* by
 * marking that revision failed, with an audit trail, never deleting it. */
#include <stdio.h>
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>

#include "commands.h"
#include "lock.h"
#include "rollback.h"

void rollback_whoami(rollback_ctx *ctx)
{
	if (ctx->user.username[0] || ctx->dry_run)
		return;
	int rc = kube_whoami(ctx->client, &ctx->user);
	if (rc) {
		kube_log(KUBE_LOG_DECISION, "whoami: %s", kube_error_last()->message);
		kube_error_clear();
		snprintf(ctx->user.username, sizeof(ctx->user.username), "unknown user");
	}
}

/* An unlock killed after it marked the pending-rollback of an interrupted
 * run failed leaves that run's Lease (its holder is gone: the unlock
 * waited it out before it wrote the record): once the record says that
 * run was interrupted and unlocked, nothing is left to repair, so the
 * re-run deletes it, as it read it (resourceVersion precondition; not
 * through rollback_run_forget, whose takeover judges expiry on a clock
 * known only to the second). Another run's Lease (another run id or
 * revision) is left alone. Best effort, quiet. */
static void forget_repaired_run(rollback_ctx *ctx, const rollback_record *last)
{
	char name[128], tag[64];
	rollback_run run;
	memset(&run, 0, sizeof(run));
	rollback_run_lease_name(ctx, name, sizeof(name));
	if (kube_lease_get_holder(&run.holder, ctx->client, ctx->ns, name)) {
		kube_error_clear();
		return;
	}
	if (rollback_run_parse(&run, run.holder.holder) || run.revision != last->revision)
		return;
	snprintf(tag, sizeof(tag), "run %.31s was interrupted", run.run_id);
	const char *desc = last->release ? rollback_release_description(last->release) : "";
	if (!strstr(desc, tag))
		return;
	kube_log(KUBE_LOG_DECISION, "revision %lld was unlocked for run %s: removing its Lease %s", last->revision,
	         run.run_id, name);
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	opts.precondition_resource_version = run.holder.resource_version;
	int rc = kube_client_delete(ctx->client, NULL, &rollback_res_leases, ctx->ns, name, &opts);
	if (rc && rc != KUBE_ENOTFOUND)
		kube_log(KUBE_LOG_DECISION, "removing the run Lease %s: %s", name, kube_error_last()->message);
	kube_error_clear();
}

static int run_unlock(const cli_args *args)
{
	rollback_ctx ctx;
	rollback_run run;
	int rc;
	if ((rc = rollback_ctx_open(&ctx, args)) || (rc = rollback_history_load(&ctx, 0)))
		goto done;
	rollback_record *last = rollback_history_last(&ctx.history);
	if ((rc = rollback_record_read(&ctx, last)))
		goto done;
	if (!rollback_status_is_pending(last->status)) {
		if (last->status == ROLLBACK_STATUS_FAILED && !ctx.dry_run)
			forget_repaired_run(&ctx, last);
		printf("release %s: nothing to unlock: revision %lld is %s\n", ctx.release, last->revision,
		       rollback_status_name(last->status));
		goto done;
	}
	if ((rc = rollback_run_read(&ctx, &run)))
		goto done;
	int ours = run.present && run.revision == last->revision && last->status == ROLLBACK_STATUS_PENDING_ROLLBACK &&
	           rollback_run_owns(last, run.run_id, run.target);
	if (ours) {
		/* Left by an interrupted rollback-safe run: no need to wait
		 * out --lock-timeout, only its Lease. */
		if (!ctx.dry_run && (rc = rollback_run_wait_expired(&ctx, &run)))
			goto done;
	} else if ((rc = rollback_unlock_check(&ctx, last,
	                                       cli_flag_duration_ms(args, "lock-timeout", ROLLBACK_DEFAULT_LOCK_MS),
	                                       cli_flag_bool(args, "force-unlock")))) {
		goto done;
	}
	if (ctx.dry_run == ROLLBACK_DRY_RUN_CLIENT) {
		printf("release %s: would mark revision %lld (%s) failed (dry run)\n", ctx.release, last->revision,
		       rollback_status_name(last->status));
		goto done;
	}
	rollback_whoami(&ctx);
	char why[256];
	if (ours)
		snprintf(why, sizeof(why), "Unlocked by helm rollback-safe: run %s was interrupted", run.run_id);
	else
		snprintf(why, sizeof(why), "Unlocked by helm rollback-safe from stale '%s' state (%.100s)",
		         rollback_status_name(last->status), ctx.user.username);
	enum rollback_status old = last->status;
	if ((rc = rollback_unlock_apply(&ctx, last, why)))
		goto done;
	rollback_kill_point("unlock-after-apply");
	if (ours && !ctx.dry_run)
		rollback_run_forget(&ctx);
	printf("release %s: revision %lld unlocked: %s -> failed%s\n", ctx.release, last->revision,
	       rollback_status_name(old), ctx.dry_run ? " (server dry run)" : "");
done:
	rollback_ctx_close(&ctx);
	return rc;
}

static const cli_flag unlock_flags[] = {
        {"lock-timeout", 0, CLI_FLAG_DURATION, "DUR",
         "refuse to unlock a pending revision younger than this (default 10m)", NULL},
        {"force-unlock", 0, CLI_FLAG_BOOL, NULL, "unlock even when the pending revision is younger than --lock-timeout",
         NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE", "only print what would change: client or server", "client"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

const cli_command rollback_unlock_command = {
        .name = "unlock",
        .usage = "unlock RELEASE",
        .summary = "Repair a release stuck in pending-install, pending-upgrade or pending-rollback",
        .description = "Mark the newest revision of RELEASE failed when it is stuck in a pending-* state\n"
                       "(\"another operation (install/upgrade/rollback) is in progress\"), in the record's\n"
                       "body and its status label together, with a description naming the old status.\n"
                       "No record is ever deleted. Refuses while the pending revision is younger than\n"
                       "--lock-timeout unless --force-unlock; with nothing pending it says so and exits 0.",
        .examples = "  # Repair web after a CI job was killed mid-upgrade\n"
                    "  helm rollback-safe unlock web -n shop\n\n"
                    "  # It is only two minutes old, but you know nothing is running\n"
                    "  helm rollback-safe unlock web --force-unlock",
        .flags = unlock_flags,
        .min_args = 1,
        .max_args = 1,
        .run = run_unlock,
        .complete = rollback_complete,
};
