/* The Lease (or annotation) lock one canary step holds, and kill points. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/clock.h>
#include <kube/error.h>
#include <kube/log.h>

#include "lock.h"

int canary_lock_duration_s(void)
{
#ifdef ROLLGUARD_TESTING
	const char *text = getenv("ROLLGUARD_TEST_LEASE_SECONDS");
	if (text && strtol(text, NULL, 10) > 0)
		return (int)strtol(text, NULL, 10);
#endif
	return 15;
}

void canary_kill_point(const char *point)
{
#ifdef ROLLGUARD_TESTING
	const char *at = getenv("ROLLGUARD_TEST_KILL_AT");
	if (at && !strcmp(at, point)) {
		fflush(NULL);
		raise(SIGKILL);
	}
#else
	(void)point;
#endif
}

void canary_stall_point(const char *point)
{
#ifdef ROLLGUARD_TESTING
	const char *at = getenv("ROLLGUARD_TEST_STALL_AT");
	if (at && !strcmp(at, point))
		kube_sleep_ms(5000);
#else
	(void)point;
#endif
}

static void lease_name(const canary_ctx *ctx, char *buf, size_t size)
{
	snprintf(buf, size, "rollguard-canary-%s", ctx->name);
}

static void conflict_message(const canary_ctx *ctx, const kube_lease_holder *held)
{
	cli_error("deployment/%s: another rollguard process holds the lock (Lease rollguard-canary-%s, holder %s)",
	          ctx->name, ctx->name, held->holder[0] ? held->holder : "unknown");
	cli_hint("wait for it to finish, or run 'kubectl canary abort %s', which always wins", ctx->name);
}

/* The annotation lock on D: {"holder","renewTime","durationSeconds"}. */
static int annotation_lock(canary_ctx *ctx, enum canary_lock_mode mode)
{
	long long now = kube_client_server_now_ms(ctx->client);
	json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
	const char *text = json_string_value(json_object_get(annotations, CANARY_ANNOTATION_LOCK));
	if (text) {
		json_t *lock = json_loads(text, 0, NULL);
		const char *holder = json_string_value(json_object_get(lock, "holder"));
		long long renew = 0;
		canary_time_parse(&renew, json_string_value(json_object_get(lock, "renewTime")));
		long long duration = json_integer_value(json_object_get(lock, "durationSeconds"));
		if (duration < 0 || duration > 3600) /* anyone can edit the annotation */
			duration = 3600;
		int expired = renew + duration * 1000 < now;
		if (holder && strcmp(holder, ctx->holder) != 0 && !expired) {
			kube_lease_holder held;
			memset(&held, 0, sizeof(held));
			snprintf(held.holder, sizeof(held.holder), "%s", holder);
			json_decref(lock);
			if (mode == CANARY_LOCK_STEP)
				conflict_message(ctx, &held);
			return CLI_EXIT_CONFLICT;
		}
		json_decref(lock);
	}
	char stamp[40];
	canary_time_format(stamp, sizeof(stamp), now);
	json_t *value = json_pack("{s:s, s:s, s:i}", "holder", ctx->holder, "renewTime", stamp, "durationSeconds",
	                          canary_lock_duration_s());
	char *encoded = value ? json_dumps(value, JSON_COMPACT) : NULL;
	json_t *patch =
	        encoded ? json_pack("{s:{s:{s:s}}}", "metadata", "annotations", CANARY_ANNOTATION_LOCK, encoded) : NULL;
	int rc = patch ? canary_patch_deploy(ctx, patch, "take the annotation lock") : cli_error_nomem();
	json_decref(patch);
	free(encoded);
	json_decref(value);
	if (!rc) {
		ctx->annotation_lock = 1;
		ctx->annotation_lock_renewed_ms = now;
	}
	return rc;
}

int canary_lock_acquire(canary_ctx *ctx, enum canary_lock_mode mode)
{
	if (ctx->dry_run)
		return 0;
	char name[300];
	lease_name(ctx, name, sizeof(name));
	json_t *labels = json_pack("{s:s}", CANARY_LABEL_MANAGED_BY, CANARY_MANAGED_BY);
	if (!labels)
		return cli_error_nomem();
	kube_lease_options opts = KUBE_LEASE_OPTIONS_INIT;
	opts.holder = ctx->holder;
	opts.duration_s = canary_lock_duration_s();
	opts.owner = ctx->deploy;
	opts.labels = labels;
	/* a run ended by the holder's own commit: its step is done, the Lease
	 * it left to expire is free */
	if (!canary_phase_active(ctx->state.phase) && ctx->state.lock_holder[0])
		opts.released_holder = ctx->state.lock_holder;
	kube_lease_holder first, held;
	int seen = 0, rc;
	long long first_seen_ms = 0;
	memset(&first, 0, sizeof(first));
	for (;;) {
		memset(&held, 0, sizeof(held));
		if (!seen)
			rc = kube_lease_acquire(&ctx->lease, ctx->client, ctx->ns, name, &opts, &held);
		else
			rc = kube_lease_get_holder(&held, ctx->client, ctx->ns, name);
		if (!seen && !rc)
			break;
		if (rc == KUBE_EFORBIDDEN) {
			kube_log(KUBE_LOG_DECISION, "no rights on Leases (%s): locking with an annotation on D",
			         kube_error_last()->server_message);
			json_decref(labels);
			return annotation_lock(ctx, mode);
		}
		if (seen && rc == KUBE_ENOTFOUND) {
			/* Released meanwhile: its holder was alive and finished a step. */
			json_decref(labels);
			if (mode == CANARY_LOCK_STEP)
				conflict_message(ctx, &first);
			return CLI_EXIT_CONFLICT;
		}
		if (rc && rc != KUBE_ECONFLICT) {
			json_decref(labels);
			return cli_error_kube("taking the Lease", rc);
		}
		if (mode == CANARY_LOCK_TRY) {
			json_decref(labels);
			return CLI_EXIT_CONFLICT;
		}
		long long now = kube_client_server_now_ms(ctx->client);
		if (!seen) {
			first = held;
			first_seen_ms = now;
			seen = 1;
			kube_log(KUBE_LOG_DECISION,
			         "Lease %s held by %s (expires in %llds); watching whether it is alive", name,
			         held.holder, held.expires_in_ms / 1000);
		} else if (strcmp(held.resource_version, first.resource_version) != 0) {
			/* Renewed or taken: a live holder. */
			json_decref(labels);
			conflict_message(ctx, &held);
			return CLI_EXIT_CONFLICT;
		} else if (held.expires_in_ms <= 0) {
			/* Unchanged to the end: left by a process that died. */
			kube_log(KUBE_LOG_DECISION, "Lease %s left by %s expired; taking it over", name, held.holder);
			rc = kube_lease_acquire(&ctx->lease, ctx->client, ctx->ns, name, &opts, &held);
			json_decref(labels);
			if (rc == KUBE_ECONFLICT) {
				conflict_message(ctx, &held);
				return CLI_EXIT_CONFLICT;
			}
			return rc ? cli_error_kube("taking the Lease", rc) : 0;
		}
		long window_ms = (long)held.duration_s * 1000 / 3 + 1500;
		if (now - first_seen_ms > window_ms && now - first_seen_ms < window_ms + 1100)
			cli_warning("deployment/%s: the Lease held by %s is not being renewed; waiting %llds for it to "
			            "expire",
			            ctx->name, held.holder, held.expires_in_ms / 1000 + 1);
		if (canary_interrupted()) {
			json_decref(labels);
			return canary_interrupt_exit();
		}
		kube_sleep_ms(1000);
	}
	json_decref(labels);
	return 0;
}

int canary_lock_keep(canary_ctx *ctx)
{
	if (ctx->lease) {
		if (kube_lease_keep(ctx->client, ctx->lease) == KUBE_ECONFLICT) {
			cli_error("deployment/%s: the Lease was taken by another process during this step", ctx->name);
			return CLI_EXIT_CONFLICT;
		}
		return 0;
	}
	if (!ctx->annotation_lock)
		return 0;
	long long now = kube_client_server_now_ms(ctx->client);
	if (now - ctx->annotation_lock_renewed_ms < canary_lock_duration_s() * 1000 / 3)
		return 0;
	int rc = annotation_lock(ctx, CANARY_LOCK_STEP);
	if (rc == CLI_EXIT_CONFLICT)
		cli_error("deployment/%s: the lock was taken by another process during this step", ctx->name);
	return rc;
}

void canary_lock_release(canary_ctx *ctx)
{
	if (ctx->lease) {
		if (ctx->lock_ended)
			kube_log(KUBE_LOG_DECISION,
			         "the Lease is left to expire: the run's end names this process as its last holder, "
			         "which frees it");
		else if (kube_lease_release(ctx->client, ctx->lease))
			kube_log(KUBE_LOG_DECISION, "releasing the Lease: %s", kube_error_last()->message);
		kube_lease_free(ctx->lease);
		ctx->lease = NULL;
	}
	if (ctx->annotation_lock && ctx->lock_ended) /* removed by the run's end */
		ctx->annotation_lock = 0;
	ctx->lock_ended = 0;
	if (ctx->annotation_lock) {
		json_t *patch = json_pack("{s:{s:{s:n}}}", "metadata", "annotations", CANARY_ANNOTATION_LOCK);
		ctx->annotation_lock = 0;
		if (patch && !ctx->dry_run) {
			kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
			opts.field_manager = CANARY_FIELD_MANAGER;
			json_t *reply = NULL;
			if (kube_client_patch(ctx->client, &reply, &canary_res_deployments, ctx->ns, ctx->name,
			                      KUBE_PATCH_MERGE, patch, &opts))
				kube_log(KUBE_LOG_DECISION, "releasing the annotation lock: %s",
				         kube_error_last()->message);
			json_decref(reply);
		}
		json_decref(patch);
	}
}
