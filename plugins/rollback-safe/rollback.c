/* helm rollback-safe [rollback] RELEASE [REVISION] and plan: choose a
 * known-good target, handle the pending-* lock, preflight and plan against
 * the live objects, then (unless planning) re-check the history, record
 * the run in its Lease, run the user's helm, and verify health. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kube/error.h>
#include <kube/lease.h>
#include <kube/log.h>

#include "commands.h"
#include "helm.h"
#include "lock.h"
#include "plan.h"
#include "rollback.h"
#include "target.h"
#include "verify.h"

/* One rollback command: what it decided, in the order it decided it. */
typedef struct job {
	rollback_ctx ctx;
	const cli_args *args;
	int execute; /* not a plan or --dry-run */
	long long requested;
	long lock_timeout_ms;
	long timeout_ms;
	long history_max; /* 0 = unlimited */
	int history_max_given;
	rollback_record *last;
	rollback_record *target_rec;
	rollback_target target;
	rollback_run run;
	int unlock; /* mark last failed before helm runs */
	/* last's status as read, before an unlock changed it */
	enum rollback_status last_status;
	int repair;        /* last is the pending-rollback of an interrupted run of ours */
	int resume_verify; /* an interrupted run's helm finished: only verify is left */
	char unlock_why[256];
	char run_id[32];
	rollback_plan plan;
	int planned;
	rollback_helm helm;
	int helm_exit;
	long long new_revision;
	char **helm_argv; /* built before anything changes */
	kube_lease *lease;
	int lease_lost; /* another process took the Lease while helm ran */
	int keep_lease; /* leave the run's record for the re-run */
	rollback_verify_result verify;
	int verified;
	json_t *doc;
	cli_output out; /* --output-file, opened before anything changes */
} job;

#ifdef ROLLGUARD_TESTING
/* A test build's positive integer knob from the environment, else 0. */
static long test_env_long(const char *name)
{
	const char *text = getenv(name);
	char *end = NULL;
	if (!text || !text[0])
		return 0;
	errno = 0;
	long value = strtol(text, &end, 10);
	return errno || *end || value <= 0 || value > 3600 ? 0 : value;
}
#endif

static int lease_duration_s(void)
{
#ifdef ROLLGUARD_TESTING
	long seconds = test_env_long("ROLLGUARD_TEST_LEASE_SECONDS");
	if (seconds > 0)
		return (int)seconds;
#endif
	return 15;
}

static void test_pause(void)
{
#ifdef ROLLGUARD_TESTING
	long seconds = test_env_long("ROLLGUARD_TEST_PAUSE_BEFORE_EXECUTE");
	if (seconds > 0) {
		fprintf(stderr, "test: pausing %lds before execute\n", seconds);
		fflush(stderr);
		sleep((unsigned)seconds);
	}
#endif
}

static int parse_flags(job *j)
{
	const cli_args *args = j->args;
	if (args->positional_count > 1) {
		const char *text = args->positional[1];
		char *end = NULL;
		errno = 0;
		long long revision = strtoll(text, &end, 10);
		if (errno || !text[0] || *end || revision < 0)
			return cli_usage_error(args, "invalid revision \"%.64s\": must be a revision number", text);
		j->requested = revision; /* 0: choose, as Helm's own rollback takes it */
	}
	j->lock_timeout_ms = cli_flag_duration_ms(args, "lock-timeout", ROLLBACK_DEFAULT_LOCK_MS);
	j->timeout_ms = cli_flag_duration_ms(args, "timeout", ROLLBACK_DEFAULT_TIMEOUT);
	j->history_max = 10;
	const char *env = getenv("HELM_MAX_HISTORY");
	if (env && env[0]) {
		char *end = NULL;
		long value = strtol(env, &end, 10);
		if (*end == '\0' && value >= 0) {
			j->history_max = value;
			j->history_max_given = 1;
		}
	}
	if (cli_flag_given(args, "history-max")) {
		j->history_max = cli_flag_long(args, "history-max", 10);
		j->history_max_given = 1;
		if (j->history_max < 0)
			return cli_usage_error(args, "invalid --history-max %ld: must be 0 (no limit) or more",
			                       j->history_max);
	}
	if (j->timeout_ms <= 0)
		return cli_usage_error(args, "invalid --timeout: must be more than 0");
	return 0;
}

/* The pending-* lock and the run record of an interrupted run. */
static int decide_lock(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	int rc = rollback_run_read(ctx, &j->run);
	if (rc)
		return rc;
	if (j->run.present && j->run.holder.expires_in_ms > 0) {
		if (!j->execute) {
			cli_warning("release %s: helm rollback-safe run %s holds the release (Lease %s%s)",
			            ctx->release, j->run.run_id, ROLLBACK_LEASE_PREFIX, ctx->release);
		} else if ((rc = rollback_run_wait_expired(ctx, &j->run))) {
			return rc;
		}
	}
	int ours = j->run.present && j->run.revision == j->last->revision &&
	           rollback_run_owns(j->last, j->run.run_id, j->run.target);
	if (j->run.present && j->run.revision == j->last->revision && !ours)
		kube_log(KUBE_LOG_DECISION, "revision %lld was not made by run %s (\"%s\"): the Lease is stale",
		         j->last->revision, j->run.run_id, rollback_release_description(j->last->release));
	if (ours) {
		if (j->last->status == ROLLBACK_STATUS_PENDING_ROLLBACK) {
			j->repair = j->unlock = 1;
			snprintf(j->unlock_why, sizeof(j->unlock_why),
			         "Marked failed by helm rollback-safe: run %s was interrupted while helm rolled back "
			         "to %lld",
			         j->run.run_id, j->run.target);
			fprintf(stderr, "Revision %lld is the pending-rollback of interrupted run %s: repairing it.\n",
			        j->last->revision, j->run.run_id);
		} else if (j->last->status == ROLLBACK_STATUS_DEPLOYED &&
		           (j->requested == 0 || j->requested == j->run.target)) {
			j->resume_verify = 1;
			fprintf(stderr,
			        "Run %s was interrupted after helm rolled back to revision %lld as revision %lld: "
			        "resuming its verification.\n",
			        j->run.run_id, j->run.target, j->last->revision);
			return 0;
		}
		if (j->requested == 0)
			j->requested = j->run.target;
	} else if (j->run.present && j->run.revision == j->last->revision + 1 && j->requested == 0) {
		/* Interrupted before its helm created a revision: same target. */
		j->requested = j->run.target;
		fprintf(stderr, "Resuming interrupted run %s: rolling back to revision %lld.\n", j->run.run_id,
		        j->run.target);
	}
	if (j->repair || !rollback_status_is_pending(j->last->status))
		return 0;
	int force = cli_flag_bool(j->args, "force-unlock");
	if (!force && !cli_flag_bool(j->args, "unlock")) {
		long long age = rollback_record_age_ms(ctx, j->last);
		char age_text[32];
		if (age >= 0)
			cli_format_duration(age_text, sizeof(age_text), (long)age);
		else
			snprintf(age_text, sizeof(age_text), "an unknown time");
		cli_error("release %s: revision %lld is %s since %s: another operation (install/upgrade/rollback) "
		          "may be in progress",
		          ctx->release, j->last->revision, rollback_status_name(j->last->status), age_text);
		cli_hint("if no helm is running, repeat with --unlock (it must be older than --lock-timeout) or see "
		         "'helm rollback-safe unlock --help'");
		return CLI_EXIT_REFUSED;
	}
	if ((rc = rollback_unlock_check(ctx, j->last, j->lock_timeout_ms, force)))
		return rc;
	j->unlock = 1;
	snprintf(j->unlock_why, sizeof(j->unlock_why), "Unlocked by helm rollback-safe from stale '%s' state",
	         rollback_status_name(j->last->status));
	return 0;
}

static int choose_target(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	rollback_record *explicit = j->requested > 0 ? rollback_history_find(&ctx->history, j->requested) : NULL;
	int rc;
	/* An explicit revision is judged by its body, as history shows it. */
	if (explicit && (rc = rollback_record_read(ctx, explicit)))
		return rc;
	for (;;) {
		int allow = cli_flag_bool(j->args, "allow-failed-target");
		int result = rollback_target_choose(&j->target, &ctx->history, j->requested, allow);
		if (result == ROLLBACK_TARGET_MISSING) {
			cli_error("release %s: has no revision %lld (revisions %lld to %lld)", ctx->release,
			          j->requested, ctx->history.items[0].revision, j->last->revision);
			return CLI_EXIT_API;
		}
		if (result == ROLLBACK_TARGET_UNSAFE) {
			cli_error("release %s: revision %lld is not a known-good target: %s", ctx->release,
			          j->requested, j->target.skipped[0].reason);
			cli_hint("to roll back to it anyway, add --allow-failed-target");
			return CLI_EXIT_REFUSED;
		}
		if (result == ROLLBACK_TARGET_NONE) {
			cli_error("release %s: no deployed or superseded revision below revision %lld to roll back to",
			          ctx->release, j->last->revision);
			cli_hint("'helm rollback-safe history %s' shows why each revision is not a safe target",
			         ctx->release);
			return CLI_EXIT_REFUSED;
		}
		j->target_rec = rollback_history_find(&ctx->history, j->target.target);
		enum rollback_status label = j->target_rec->status;
		if ((rc = rollback_record_read(ctx, j->target_rec)))
			return rc;
		/* The label is only an index (users patch it by hand,
		 * helm/helm#5595); the body decides. Choose again if they
		 * disagree about whether it is good. */
		if (rollback_status_is_good(label) == rollback_status_is_good(j->target_rec->status))
			return 0;
		kube_log(KUBE_LOG_DECISION, "revision %lld: label says %s, body says %s", j->target_rec->revision,
		         rollback_status_name(label), rollback_status_name(j->target_rec->status));
	}
}

static json_t *skipped_json(const job *j)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < j->target.skipped_count; i++) {
		const rollback_skip *s = &j->target.skipped[i];
		if (json_array_append_new(array,
		                          json_pack("{s:I, s:s, s:s}", "revision", (json_int_t)s->revision, "status",
		                                    rollback_status_name(s->status), "reason", s->reason))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

/* The RollbackPlan (or RollbackResult) document's plan fields. */
static int plan_document(job *j, const char *kind)
{
	rollback_ctx *ctx = &j->ctx;
	j->doc = cli_object_new(kind);
	json_t *unlock = j->unlock ? json_pack("{s:I, s:s, s:s}", "revision", (json_int_t)j->last->revision, "status",
	                                       rollback_status_name(j->last_status), "description", j->unlock_why)
	                           : json_null();
	if (!j->doc || !unlock || json_object_set_new(j->doc, "release", json_string(ctx->release)) ||
	    json_object_set_new(j->doc, "namespace", json_string(ctx->ns)) ||
	    json_object_set_new(j->doc, "currentRevision", json_integer(j->last->revision)) ||
	    json_object_set_new(j->doc, "currentStatus", json_string(rollback_status_name(j->last_status))) ||
	    json_object_set_new(j->doc, "targetRevision", json_integer(j->target.target)) ||
	    json_object_set_new(j->doc, "skipped", skipped_json(j)) || json_object_set_new(j->doc, "unlock", unlock) ||
	    json_object_set_new(j->doc, "objects", rollback_plan_objects_json(&j->plan)) ||
	    json_object_set_new(j->doc, "findings", rollback_plan_findings_json(&j->plan)) ||
	    json_object_set_new(j->doc, "blocked", json_boolean(rollback_plan_blocked(&j->plan))))
		return cli_error_nomem();
	return 0;
}

static int machine_output(const job *j)
{
	return j->args->output == CLI_OUTPUT_JSON || j->args->output == CLI_OUTPUT_YAML;
}

/* Where the human-readable account goes: stdout, unless stdout carries a
 * JSON or YAML document. */
static FILE *human(const job *j)
{
	return machine_output(j) ? stderr : j->out.stream;
}

static void print_plan(job *j)
{
	FILE *out = human(j);
	rollback_ctx *ctx = &j->ctx;
	fprintf(out, "Release %s in namespace %s: revision %lld (%s) -> revision %lld (%s)\n", ctx->release, ctx->ns,
	        j->last->revision, rollback_status_name(j->last_status), j->target.target,
	        rollback_status_name(j->target_rec->status));
	for (size_t i = 0; i < j->target.skipped_count; i++)
		fprintf(out, "Skipped revision %lld: %s\n", j->target.skipped[i].revision, j->target.skipped[i].reason);
	if (j->unlock)
		fprintf(out, "Unlock revision %lld: %s -> failed\n", j->last->revision,
		        rollback_status_name(j->last_status));
	if (!machine_output(j))
		rollback_plan_print(&j->plan, out, j->args->output == CLI_OUTPUT_WIDE);
}

/* Writes the document (RollbackPlan or RollbackResult) of a -o json/yaml
 * run to its output. */
static int write_document(job *j)
{
	return cli_output_document(j->out.stream, j->args->output, j->doc);
}

/* Renews the run's Lease now, before a change: exit 6 when another
 * process took it over (this one stalled past its expiry). */
static int lease_still_ours(job *j)
{
	int rc = kube_lease_renew(j->ctx.client, j->lease);
	if (rc == KUBE_ECONFLICT) {
		cli_error("release %s: the Lease that records run %s was taken over by another process; nothing "
		          "more was changed",
		          j->ctx.release, j->run_id);
		kube_lease_free(j->lease);
		j->lease = NULL;
		return CLI_EXIT_CONFLICT;
	}
	return rc ? cli_error_kube("renewing the run Lease", rc) : 0;
}

/* True when the history listed now is the one the plan was made from. */
static int history_unchanged(job *j, char *what, size_t size)
{
	rollback_ctx *ctx = &j->ctx;
	rollback_history planned = ctx->history;
	memset(&ctx->history, 0, sizeof(ctx->history));
	int rc = rollback_history_load(ctx, 0);
	rollback_history now = ctx->history;
	ctx->history = planned;
	if (rc) {
		rollback_history_clear(&now);
		return -rc;
	}
	int same = now.count == planned.count;
	for (size_t i = 0; same && i < now.count; i++) {
		const rollback_record *a = &planned.items[i], *b = &now.items[i];
		if (a->revision != b->revision || strcmp(a->resource_version, b->resource_version) != 0) {
			snprintf(what, size, "revision %lld changed", b->revision);
			same = 0;
		}
	}
	if (now.count != planned.count) {
		const rollback_record *newest = rollback_history_last(&now);
		snprintf(what, size, "it now has %zu revisions (newest %lld), the plan saw %zu", now.count,
		         newest ? newest->revision : 0LL, planned.count);
	}
	rollback_history_clear(&now);
	return same;
}

static int take_lease(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	char name[128], holder[256];
	rollback_run_lease_name(ctx, name, sizeof(name));
	rollback_run_format(holder, sizeof(holder), j->run_id, j->new_revision, j->target.target);
	json_t *labels = json_pack("{s:s}", ROLLBACK_LABEL_MANAGED, ROLLBACK_MANAGED_BY);
	json_t *owner = rollback_record_ref(ctx, j->last);
	if (!labels || !owner) {
		json_decref(labels);
		json_decref(owner);
		return cli_error_nomem();
	}
	kube_lease_options opts = KUBE_LEASE_OPTIONS_INIT;
	opts.holder = holder;
	opts.duration_s = lease_duration_s();
	opts.owner = owner;
	opts.labels = labels;
	kube_lease_holder held;
	int rc = kube_lease_acquire(&j->lease, ctx->client, ctx->ns, name, &opts, &held);
	json_decref(labels);
	json_decref(owner);
	if (rc == KUBE_ECONFLICT) {
		cli_error("release %s: another helm rollback-safe run holds it (Lease %s, holder %s)", ctx->release,
		          name, held.holder[0] ? held.holder : "unknown");
		cli_hint("wait for it to finish, then run the command again");
		return CLI_EXIT_CONFLICT;
	}
	if (rc == KUBE_EFORBIDDEN) {
		int code = cli_error_kube("taking the Lease that records the run", rc);
		cli_hint("helm rollback-safe needs get, create, update and delete on leases.coordination.k8s.io "
		         "in the release namespace");
		return code;
	}
	if (rc)
		return cli_error_kube("taking the Lease that records the run", rc);
	return 0;
}

static void release_lease(job *j)
{
	if (!j->lease)
		return;
	if (kube_lease_release(j->ctx.client, j->lease)) {
		kube_log(KUBE_LOG_DECISION, "releasing the run Lease: %s", kube_error_last()->message);
		kube_error_clear();
	}
	kube_lease_free(j->lease);
	j->lease = NULL;
}

/* Called about once a second while helm works: keeps the Lease, and in
 * test builds dies at the "during execute" kill point once helm's new
 * revision is on record as pending-rollback. */
static int helm_tick(void *user)
{
	job *j = user;
	int rc = j->lease && !j->lease_lost ? kube_lease_keep(j->ctx.client, j->lease) : 0;
	if (rc) {
		/* Lost (another process took it after it expired): helm is not
		 * stopped half-way, but nothing after it may trust the run's
		 * record. */
		if (rc == KUBE_ECONFLICT)
			j->lease_lost = 1;
		kube_log(KUBE_LOG_DECISION, "renewing the run Lease: %s", kube_error_last()->message);
		kube_error_clear();
	}
#ifdef ROLLGUARD_TESTING
	const char *at = getenv("ROLLGUARD_TEST_KILL_AT");
	if (at && strcmp(at, "rollback-during-execute") == 0) {
		rollback_record rec;
		json_t *object = NULL;
		rollback_record_init(&j->ctx, &rec, j->new_revision);
		if (kube_client_get(j->ctx.client, &object, j->ctx.storage_res, j->ctx.ns, rec.object_name, NULL) ==
		    0) {
			const char *status = json_string_value(json_object_get(
			        json_object_get(json_object_get(object, "metadata"), "labels"), "status"));
			if (status && strcmp(status, "pending-rollback") == 0)
				rollback_kill_point("rollback-during-execute");
		}
		kube_error_clear();
		json_decref(object);
	}
#endif
	return 0;
}

/* After helm failed: a new revision of this run that helm left
 * pending-rollback (a failed hook returns before Helm finalises,
 * helm-anchors (b)) is marked failed so the release is not locked. Only a
 * revision above the planned newest one whose description says it is
 * this run's rollback counts; someone else's is never touched. When it
 * cannot be settled, the Lease stays, so a re-run repairs it. */
static void settle_failed_helm(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	if (j->lease_lost)
		return;
	for (long long revision = j->new_revision; revision <= j->new_revision + 2; revision++) {
		rollback_record rec;
		rollback_record_init(ctx, &rec, revision);
		/* helm may have failed before it created a revision */
		if (rollback_record_peek(ctx, &rec)) {
			rollback_record_dispose(&rec);
			break;
		}
		if (!rollback_run_owns(&rec, j->run_id, j->target.target) ||
		    rec.status != ROLLBACK_STATUS_PENDING_ROLLBACK) {
			rollback_record_dispose(&rec);
			continue;
		}
		char why[200];
		snprintf(why, sizeof(why), "Marked failed by helm rollback-safe: helm rollback exited with %d",
		         j->helm_exit);
		/* helm's failure is the command's one error line (SPEC §1.2):
		 * this repair failing too is a warning beside it */
		FILE *captured = tmpfile();
		if (captured)
			cli_error_stream_set(captured);
		int rc = rollback_unlock_apply(ctx, &rec, why);
		cli_error_stream_set(NULL);
		if (rc == 0) {
			fprintf(stderr, "Revision %lld was left pending-rollback by helm: marked failed.\n",
			        rec.revision);
		} else {
			char line[1024] = "";
			if (captured) {
				rewind(captured);
				while (fgets(line, sizeof(line), captured) && strncmp(line, "error: ", 7) != 0)
					line[0] = '\0';
				line[strcspn(line, "\n")] = '\0';
			}
			cli_warning(
			        "revision %lld was left pending-rollback by helm and could not be marked failed: %s",
			        rec.revision, line[0] ? line + 7 : "see the lines above");
			j->keep_lease = 1;
		}
		if (captured)
			fclose(captured);
		rollback_record_dispose(&rec);
		break;
	}
}

/* Builds helm's command line before anything changes: a connection
 * flag helm cannot take is a usage error with the release untouched. */
static int prepare_helm(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	char description[256];
	snprintf(description, sizeof(description), "Rollback to %lld by helm rollback-safe (run %s)", j->target.target,
	         j->run_id);
	rollback_helm_rollback opts = ROLLBACK_HELM_ROLLBACK_INIT;
	opts.release = ctx->release;
	opts.revision = j->target.target;
	opts.ns = ctx->ns;
	opts.timeout_ms = j->timeout_ms;
	opts.history_max = j->history_max_given ? j->history_max : -1;
	opts.no_hooks = cli_flag_bool(j->args, "no-hooks");
	opts.cleanup_on_fail = cli_flag_bool(j->args, "cleanup-on-fail");
	opts.conn = &j->args->config;
	opts.description = description;
	return rollback_helm_argv(&j->helm_argv, &j->helm, &opts);
}

/* Whether the revision helm was to create exists (quietly). */
static int new_revision_exists(job *j)
{
	rollback_record rec;
	rollback_record_init(&j->ctx, &rec, j->new_revision);
	int exists = rollback_record_peek(&j->ctx, &rec) == 0;
	rollback_record_dispose(&rec);
	return exists;
}

static int run_helm(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	int rc;
	/* The token reaches helm through its environment, never argv. */
	if (j->args->config.token && j->args->config.token[0] && setenv("HELM_KUBETOKEN", j->args->config.token, 1))
		return cli_error_nomem();
	if ((rc = lease_still_ours(j)))
		return rc;
	fprintf(human(j), "Running helm %s rollback %s %lld...\n", j->helm.version, ctx->release, j->target.target);
	fflush(NULL);
	pid_t pid;
	if ((rc = rollback_helm_start(&pid, &j->helm, j->helm_argv)))
		return rc;
	rc = rollback_helm_wait_tick(pid, &j->helm_exit, helm_tick, j);
	if (rc)
		return rc;
	int sig = rollback_helm_signal();
	if (sig) {
		/* The Lease stays when helm got as far as a revision: the re-run
		 * recognises it as this run's. */
		j->keep_lease = new_revision_exists(j);
		cli_error("release %s: interrupted while helm rolled back (run %s)", ctx->release, j->run_id);
		if (j->keep_lease)
			cli_hint("run the same command again to repair and finish it");
		return sig == SIGINT ? CLI_EXIT_SIGINT : CLI_EXIT_SIGTERM;
	}
	if (j->helm_exit != 0) {
		settle_failed_helm(j);
		cli_error("release %s: helm rollback to revision %lld failed (exit %d; its output is above)",
		          ctx->release, j->target.target, j->helm_exit);
		return CLI_EXIT_FAIL;
	}
	if (j->lease_lost) {
		cli_error("release %s: helm rolled back, but another process took the Lease of run %s meanwhile; "
		          "not verifying",
		          ctx->release, j->run_id);
		return CLI_EXIT_CONFLICT;
	}
	return 0;
}

static int verify(job *j)
{
	rollback_kill_point("rollback-during-verify");
	j->ctx.tick = helm_tick;
	j->ctx.tick_user = j;
	int rc = rollback_verify(&j->ctx, j->plan.target_objects, j->timeout_ms, machine_output(j), &j->verify);
	if (rc) {
		/* Interrupted or cut off: the re-run resumes the verification. */
		j->keep_lease = 1;
		return rc;
	}
	j->verified = 1;
	rollback_verify_print(&j->verify, human(j));
	return 0;
}

static int execute(job *j)
{
	rollback_ctx *ctx = &j->ctx;
	char what[160] = "";
	int rc;
	rollback_run_new_id(j->run_id, sizeof(j->run_id));
	j->new_revision = j->last->revision + 1;
	if ((rc = prepare_helm(j)) || (rc = take_lease(j)))
		return rc;
	test_pause();
	int same = history_unchanged(j, what, sizeof(what));
	if (same < 0)
		return -same;
	if (!same) {
		cli_error("release %s: its history changed since the plan: %s", ctx->release, what);
		cli_hint("run the command again to plan against the new history");
		return CLI_EXIT_CONFLICT;
	}
	rollback_whoami(ctx);
	if (j->unlock) {
		if ((rc = lease_still_ours(j)) || (rc = rollback_unlock_apply(ctx, j->last, j->unlock_why)))
			return rc;
		fprintf(human(j), "Revision %lld unlocked: marked failed.\n", j->last->revision);
		rollback_kill_point("rollback-after-unlock");
	}
	rollback_record_event(ctx, j->last, "Normal", "RollbackStarted",
	                      "rolling back to revision %lld as revision %lld by %s (helm rollback-safe run %s)",
	                      j->target.target, j->new_revision, ctx->user.username, j->run_id);
	/* From here on the cluster may change under this run's name: an
	 * interruption leaves the Lease for the re-run. */
	if ((rc = run_helm(j)))
		return rc;
	return verify(j);
}

static int result_document(job *j)
{
	int rc = plan_document(j, "RollbackResult");
	if (rc)
		return rc;
	json_t *helm = json_pack("{s:s, s:i}", "version", j->helm.version, "exitCode", j->helm_exit);
	json_t *verify = j->verified ? rollback_verify_json(&j->verify) : json_null();
	if (!helm || !verify || json_object_set_new(j->doc, "newRevision", json_integer(j->new_revision)) ||
	    json_object_set_new(j->doc, "helm", helm) || json_object_set_new(j->doc, "verify", verify) ||
	    json_object_set_new(j->doc, "result",
	                        json_string(j->verified && j->verify.all_ready ? "Succeeded" : "Failed")))
		return cli_error_nomem();
	return 0;
}

static int run(const cli_args *args)
{
	job j;
	memset(&j, 0, sizeof(j));
	j.args = args;
	rollback_ctx *ctx = &j.ctx;
	int rc, reported = 0;
	/* The report's file is opened first: a path that cannot be written
	 * is a usage error before anything changes. */
	if ((rc = cli_output_open(&j.out, args->output_file)) || (rc = rollback_ctx_open(ctx, args)) ||
	    (rc = parse_flags(&j)))
		goto done;
	j.execute = ctx->dry_run == ROLLBACK_DRY_RUN_NONE;
	/* A missing helm is found before anything changes. */
	if (j.execute && (rc = rollback_helm_find(&j.helm)))
		goto done;
	ctx->helm_major = j.helm.major;
	ctx->no_hooks = cli_flag_bool(args, "no-hooks");
	if ((rc = rollback_history_load(ctx, 0)))
		goto done;
	j.last = rollback_history_last(&ctx->history);
	if ((rc = rollback_record_read(ctx, j.last)))
		goto done;
	j.last_status = j.last->status;
	if ((rc = decide_lock(&j)))
		goto done;
	if (j.resume_verify) {
		/* The revision helm made holds the target's manifest. */
		j.target.current = j.target.target = j.run.target;
		j.target_rec = j.last;
		j.new_revision = j.last->revision;
		snprintf(j.run_id, sizeof(j.run_id), "%s", j.run.run_id);
		if ((rc = rollback_plan_build(ctx, &j.plan, j.last, j.last, &ctx->history, 0)))
			goto done;
		j.planned = 1;
		if (!j.execute) {
			print_plan(&j);
			reported = 1;
			if (machine_output(&j) && !(rc = plan_document(&j, "RollbackPlan")))
				rc = write_document(&j);
			goto done;
		}
		reported = 1;
		if ((rc = take_lease(&j)) || (rc = verify(&j)))
			goto done;
		goto report;
	}
	if ((rc = choose_target(&j)))
		goto done;
	if ((rc = rollback_plan_build(ctx, &j.plan, j.last, j.target_rec, &ctx->history,
	                              j.history_max_given ? j.history_max : 10)))
		goto done;
	j.planned = 1;
	print_plan(&j);
	reported = 1;
	if (rollback_plan_blocked(&j.plan)) {
		if (machine_output(&j) && (rc = plan_document(&j, "RollbackPlan")) == 0)
			rc = write_document(&j);
		if (rc == 0) {
			cli_error("release %s: preflight blocked the rollback to revision %lld; nothing was changed",
			          ctx->release, j.target.target);
			rc = CLI_EXIT_REFUSED;
		}
		goto done;
	}
	if (!j.execute) {
		if (machine_output(&j) && (rc = plan_document(&j, "RollbackPlan")) == 0)
			rc = write_document(&j);
		goto done;
	}
	rc = execute(&j);
report:
	if (rc == 0 && !j.verify.all_ready) {
		cli_error("release %s: rolled back to revision %lld as revision %lld, but it is not healthy",
		          ctx->release, j.target.target, j.new_revision);
		rc = CLI_EXIT_FAIL;
	} else if (rc == 0) {
		char took[32];
		cli_format_duration(took, sizeof(took), j.verify.elapsed_ms);
		fprintf(human(&j), "Rolled back release %s to revision %lld as revision %lld: healthy after %s.\n",
		        ctx->release, j.target.target, j.new_revision, took);
		rollback_record_event(ctx, j.last, "Normal", "RollbackVerified",
		                      "rolled back to revision %lld as revision %lld; every workload is ready",
		                      j.target.target, j.new_revision);
	}
	if (machine_output(&j) && (rc == 0 || rc == CLI_EXIT_FAIL)) {
		json_decref(j.doc);
		j.doc = NULL;
		int wrc = result_document(&j);
		if (!wrc)
			wrc = write_document(&j);
		if (wrc)
			rc = wrc;
	}
done:
	if (j.keep_lease && j.lease) {
		/* The run's record stays for the re-run (interrupted, or a
		 * revision of this run left to repair). */
		kube_lease_free(j.lease);
		j.lease = NULL;
	}
	release_lease(&j);
	/* The report is the job's output also when its verdict is negative
	 * (a blocked plan, an unhealthy rollback); an error before any report
	 * leaves --output-file untouched. */
	int closed = cli_output_close(&j.out, reported && (rc == 0 || rc == CLI_EXIT_FAIL || rc == CLI_EXIT_REFUSED)
	                                              ? 0
	                                              : (rc ? rc : CLI_EXIT_FAIL));
	if (closed && (rc == 0 || !reported))
		rc = closed;
	json_decref(j.doc);
	rollback_verify_dispose(&j.verify);
	rollback_helm_argv_free(j.helm_argv);
	if (j.planned)
		rollback_plan_dispose(&j.plan);
	rollback_ctx_close(ctx);
	return rc;
}

static const cli_flag rollback_flags[] = {
        {"dry-run", 0, CLI_FLAG_STRING, "MODE", "only print the plan: client or server", "client"},
        {"allow-failed-target", 0, CLI_FLAG_BOOL, NULL, "allow an explicit REVISION that is failed or pending-*", NULL},
        {"unlock", 0, CLI_FLAG_BOOL, NULL, "mark a stale pending-* newest revision failed first (see unlock)", NULL},
        {"lock-timeout", 0, CLI_FLAG_DURATION, "DUR",
         "refuse to unlock a pending revision younger than this (default 10m)", NULL},
        {"force-unlock", 0, CLI_FLAG_BOOL, NULL, "unlock even when the pending revision is younger than --lock-timeout",
         NULL},
        {"timeout", 0, CLI_FLAG_DURATION, "DUR", "how long helm and the health verification may take (default 5m)",
         NULL},
        {"history-max", 0, CLI_FLAG_INT, "N", "revisions Helm keeps (default $HELM_MAX_HISTORY or 10; 0 = no limit)",
         NULL},
        {"no-hooks", 0, CLI_FLAG_BOOL, NULL, "do not run the target's pre/post-rollback hooks", NULL},
        {"cleanup-on-fail", 0, CLI_FLAG_BOOL, NULL, "let helm delete objects it created when the rollback fails", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};

#define ROLLBACK_DESCRIPTION                                                                                           \
	"Roll RELEASE back to REVISION, or, without it, to the newest deployed or superseded\n"                        \
	"revision below the current one (failed and pending-* revisions are skipped, and\n"                            \
	"listed). A newest revision stuck in pending-* blocks unless --unlock (older than\n"                           \
	"--lock-timeout) or --force-unlock. Preflight refuses (exit 5, nothing changed) kinds\n"                       \
	"the cluster no longer serves, immutable-field changes, deletions that lose data\n"                            \
	"(PVCs, PVs, CRDs) and history pruning that would remove the target. Then the\n"                               \
	"history is checked again (exit 6 if it changed), the run is recorded in the Lease\n"                          \
	"rollguard-release-RELEASE, helm rollback runs through $HELM_BIN, and every workload\n"                        \
	"is watched until rolled out and Ready within --timeout (exit 1 with reasons if not)."

const cli_command rollback_rollback_command = {
        .name = "rollback",
        .usage = "[rollback] RELEASE [REVISION]",
        .summary = "Roll a release back to a known-good revision, preflighted and verified (the default)",
        .description = ROLLBACK_DESCRIPTION,
        .examples = "  # Roll web back to its last good revision\n"
                    "  helm rollback-safe web -n shop\n\n"
                    "  # Roll back to revision 7, repairing a stale pending-upgrade first\n"
                    "  helm rollback-safe web 7 --unlock\n\n"
                    "  # Only show what would happen\n"
                    "  helm rollback-safe web --dry-run",
        .flags = rollback_flags,
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 1,
        .max_args = 2,
        .run = run,
        .complete = rollback_complete,
};

const cli_command rollback_plan_command = {
        .name = "plan",
        .usage = "plan RELEASE [REVISION]",
        .summary = "Show what a rollback would do and whether preflight allows it (= --dry-run)",
        .description = "Print the plan of 'helm rollback-safe RELEASE [REVISION]' without changing anything:\n"
                       "the target and the revisions skipped, the pending-* lock, every object the rollback\n"
                       "creates, patches, deletes or keeps, unhealthy objects it would not restart, hooks,\n"
                       "and the preflight findings. Exits 5 when preflight would block the rollback.",
        .examples = "  # What rolling web back would do\n"
                    "  helm rollback-safe plan web -n shop\n\n"
                    "  # As JSON (kind RollbackPlan)\n"
                    "  helm rollback-safe plan web 3 -o json",
        .flags = rollback_flags,
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 1,
        .max_args = 2,
        .run = run,
        .complete = rollback_complete,
};
