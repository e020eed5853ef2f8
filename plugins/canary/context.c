/* The per-command context of kubectl canary: connecting, reading D and
 * its canary, conditional patches, the dry-run plan, Events and the
 * acting user. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kube/error.h>
#include <kube/event.h>
#include <kube/log.h>
#include <kube/watch.h>

#include "canary.h"
#include "gate.h"
#include "json_patch.h"
#include "lock.h"
#include "template.h"

const kube_resource canary_res_deployments = {"apps", "v1", "deployments", "Deployment", 1};
const kube_resource canary_res_pods = {"", "v1", "pods", "Pod", 1};
const kube_resource canary_res_events = {"", "v1", "events", "Event", 1};
const kube_resource canary_res_hpas = {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", 1};

int canary_ctx_open(canary_ctx *ctx, const cli_args *args)
{
	int rc;
	memset(ctx, 0, sizeof(*ctx));
	ctx->args = args;
	canary_state_init(&ctx->state);
	if ((rc = canary_ctx_dry_run(ctx)))
		return rc;
	if ((rc = kube_config_load(&ctx->config, &args->config)))
		return cli_error_kube(NULL, rc);
	if ((rc = kube_client_new(&ctx->client, ctx->config, NULL)))
		return cli_error_kube(NULL, rc);
	ctx->ns = kube_config_namespace(ctx->config);
	if (args->positional_count > 0) {
		ctx->name = args->positional[0];
		if (snprintf(ctx->canary_name, sizeof(ctx->canary_name), "%s-canary", ctx->name) >=
		    (int)sizeof(ctx->canary_name))
			return cli_usage_error(args, "deployment name \"%s\" is too long", ctx->name);
	}
	char host[128] = "";
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "unknown");
	unsigned char nonce[4] = {0, 0, 0, 0};
	FILE *random = fopen("/dev/urandom", "rb");
	if (random) {
		if (fread(nonce, 1, sizeof(nonce), random) != sizeof(nonce))
			nonce[0] = (unsigned char)time(NULL);
		fclose(random);
	}
	/* host/pid names the process for people; the nonce keeps two hosts
	 * of one name (containers, CI runners) apart */
	snprintf(ctx->holder, sizeof(ctx->holder), "%s/%ld/%02x%02x%02x%02x", host, (long)getpid(), nonce[0], nonce[1],
	         nonce[2], nonce[3]);
	return 0;
}

void canary_ctx_close(canary_ctx *ctx)
{
	canary_lock_release(ctx);
	kube_watch_free(ctx->deploy_watch);
	json_decref(ctx->deploy);
	json_decref(ctx->canary);
	kube_buf_dispose(&ctx->plan);
	canary_gates_free(ctx->gates);
	kube_client_free(ctx->client);
	kube_config_free(ctx->config);
	memset(ctx, 0, sizeof(*ctx));
}

int canary_ctx_dry_run(canary_ctx *ctx)
{
	ctx->dry_run = CANARY_DRY_RUN_NONE;
	const cli_command *cmd = ctx->args->command;
	int declared = 0;
	for (const cli_flag *f = cmd ? cmd->flags : NULL; f && f->name; f++)
		if (!strcmp(f->name, "dry-run"))
			declared = 1;
	if (!declared || !cli_flag_given(ctx->args, "dry-run"))
		return 0;
	const char *value = cli_flag_string(ctx->args, "dry-run");
	if (!strcmp(value, "client") || !strcmp(value, "true"))
		ctx->dry_run = CANARY_DRY_RUN_CLIENT;
	else if (!strcmp(value, "server"))
		ctx->dry_run = CANARY_DRY_RUN_SERVER;
	else if (strcmp(value, "none") != 0 && strcmp(value, "false") != 0)
		return cli_usage_error(ctx->args,
		                       "invalid --dry-run value \"%s\": must be \"none\", \"server\", or \"client\"",
		                       value);
	return 0;
}

int canary_deploy_replicas(const json_t *deploy)
{
	json_t *r = json_object_get(json_object_get(deploy, "spec"), "replicas");
	return json_is_integer(r) ? (int)json_integer_value(r) : 1;
}

long canary_progress_deadline_s(const json_t *deploy)
{
	json_t *d = json_object_get(json_object_get(deploy, "spec"), "progressDeadlineSeconds");
	return json_is_integer(d) && json_integer_value(d) > 0 ? (long)json_integer_value(d) : 600;
}

static const char *meta_string(const json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(object, "metadata"), key));
	return s ? s : "";
}

const char *canary_object_rv(const json_t *object)
{
	return meta_string(object, "resourceVersion");
}

const char *canary_object_uid(const json_t *object)
{
	return meta_string(object, "uid");
}

int canary_read_deploy(canary_ctx *ctx)
{
	json_decref(ctx->deploy);
	ctx->deploy = NULL;
	int rc = kube_client_get(ctx->client, &ctx->deploy, &canary_res_deployments, ctx->ns, ctx->name, NULL);
	if (rc) {
		if (rc == KUBE_ENOTFOUND)
			cli_error("deployments.apps \"%s\" not found in namespace \"%s\"", ctx->name, ctx->ns);
		else
			return cli_error_kube(NULL, rc);
		return CLI_EXIT_API;
	}
	return canary_take_deploy(ctx, NULL);
}

int canary_watch_deploy(canary_ctx *ctx)
{
	kube_buf selector = {0};
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	kube_watch_event ev = {0};
	if (kube_buf_printf(&selector, "metadata.name=%s", ctx->name))
		return cli_error_nomem();
	opts.field_selector = kube_buf_cstr(&selector);
	opts.initial_events = 1;
	int rc = kube_watch_open(&watch, ctx->client, &canary_res_deployments, ctx->ns, &opts);
	kube_buf_dispose(&selector);
	if (!rc)
		rc = kube_watch_next(watch, &ev, 30000);
	if (rc) {
		kube_watch_event_dispose(&ev);
		kube_watch_free(watch);
		if (rc != KUBE_EFORBIDDEN)
			return rc == KUBE_ENOMEM ? cli_error_nomem() : cli_error_kube(NULL, rc);
		kube_log(KUBE_LOG_DECISION, "deployment/%s may not be watched (%s): reading it", ctx->name,
		         kube_error_last()->server_message);
		kube_error_clear();
		return canary_read_deploy(ctx);
	}
	/* the first event is D as it is now: a list of one, or of none */
	json_t *deploy = ev.type == KUBE_WATCH_RELIST  ? json_array_get(json_object_get(ev.object, "items"), 0)
	                 : ev.type == KUBE_WATCH_ADDED ? ev.object
	                                               : NULL;
	if (!deploy) {
		kube_watch_event_dispose(&ev);
		kube_watch_free(watch);
		cli_error("deployments.apps \"%s\" not found in namespace \"%s\"", ctx->name, ctx->ns);
		return CLI_EXIT_API;
	}
	/* items of a list (the LIST+WATCH fallback) carry no kind; D's
	 * ownerReferences (the Lease's) need them */
	if ((!json_object_get(deploy, "kind") && json_object_set_new(deploy, "kind", json_string("Deployment"))) ||
	    (!json_object_get(deploy, "apiVersion") &&
	     json_object_set_new(deploy, "apiVersion", json_string("apps/v1")))) {
		kube_watch_event_dispose(&ev);
		kube_watch_free(watch);
		return cli_error_nomem();
	}
	kube_watch_free(ctx->deploy_watch);
	ctx->deploy_watch = watch;
	rc = canary_take_deploy(ctx, deploy);
	kube_watch_event_dispose(&ev);
	return rc;
}

int canary_take_deploy(canary_ctx *ctx, json_t *deploy)
{
	if (deploy) {
		json_decref(ctx->deploy);
		ctx->deploy = json_incref(deploy);
	}
	canary_state_init(&ctx->state);
	json_t *annotations = json_object_get(json_object_get(ctx->deploy, "metadata"), "annotations");
	json_t *text = json_object_get(annotations, CANARY_ANNOTATION_STATE);
	if (json_is_string(text)) {
		char err[256];
		if (canary_state_parse(&ctx->state, json_string_value(text), json_string_length(text), err,
		                       sizeof(err))) {
			cli_error("deployment/%s: annotation %s is not a canary state: %s", ctx->name,
			          CANARY_ANNOTATION_STATE, err);
			cli_hint("inspect it with 'kubectl get deploy %s -o yaml'; remove it only if no run is in "
			         "progress",
			         ctx->name);
			return CLI_EXIT_REFUSED;
		}
		if (ctx->state.canary_name[0])
			snprintf(ctx->canary_name, sizeof(ctx->canary_name), "%s", ctx->state.canary_name);
	}
	return 0;
}

/* 1 when object carries rollguard's managed-by label and an ownerReference
 * to the object with uid. */
static int ours(const json_t *object, const char *owner_uid)
{
	const char *managed = json_string_value(json_object_get(
	        json_object_get(json_object_get(object, "metadata"), "labels"), CANARY_LABEL_MANAGED_BY));
	if (!managed || strcmp(managed, CANARY_MANAGED_BY) != 0)
		return 0;
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(json_object_get(object, "metadata"), "ownerReferences"), i, ref)
	{
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		if (uid && !strcmp(uid, owner_uid))
			return 1;
	}
	return 0;
}

int canary_read_canary(canary_ctx *ctx)
{
	json_decref(ctx->canary);
	ctx->canary = NULL;
	int rc = kube_client_get(ctx->client, &ctx->canary, &canary_res_deployments, ctx->ns, ctx->canary_name, NULL);
	if (rc == KUBE_ENOTFOUND)
		return 0;
	if (rc)
		return cli_error_kube(NULL, rc);
	if (!ours(ctx->canary, canary_object_uid(ctx->deploy))) {
		cli_error(
		        "deployment/%s exists and was not created by rollguard for deployment/%s: refusing to touch it",
		        ctx->canary_name, ctx->name);
		cli_hint("rename or remove deployment/%s, or canary another Deployment", ctx->canary_name);
		return CLI_EXIT_REFUSED;
	}
	return 0;
}

void canary_whoami(canary_ctx *ctx)
{
	if (ctx->user.username[0])
		return;
	if (kube_whoami(ctx->client, &ctx->user)) {
		kube_log(KUBE_LOG_DECISION, "could not learn the acting user: %s", kube_error_last()->message);
		snprintf(ctx->user.username, sizeof(ctx->user.username), "unknown");
	}
}

const char *canary_track(const canary_state *state)
{
	return state->strategy == CANARY_STRATEGY_BLUE_GREEN ? "green" : "canary";
}

int canary_pod_selector(kube_buf *out, const canary_state *state)
{
	return kube_buf_printf(out, "%s=%s,%s=%s", CANARY_LABEL_TRACK, canary_track(state), CANARY_LABEL_REVISION,
	                       state->revision);
}

/* The patch's metadata object, created when missing; NULL on ENOMEM. */
static json_t *patch_metadata(json_t *patch, const char *key)
{
	json_t *meta = json_object_get(patch, "metadata");
	if (!meta && (!(meta = json_object()) || json_object_set_new(patch, "metadata", meta)))
		return NULL;
	if (!key)
		return meta;
	json_t *sub = json_object_get(meta, key);
	if (!sub && (!(sub = json_object()) || json_object_set_new(meta, key, sub)))
		return NULL;
	return sub;
}

int canary_patch_set_state(json_t *patch, const canary_state *state)
{
	kube_buf text = {0};
	json_t *annotations = patch_metadata(patch, "annotations");
	int rc = annotations ? canary_state_format(&text, state) : KUBE_ENOMEM;
	if (!rc && json_object_set_new(annotations, CANARY_ANNOTATION_STATE, json_string(kube_buf_cstr(&text))))
		rc = KUBE_ENOMEM;
	kube_buf_dispose(&text);
	return rc;
}

/* 1 when a and b (labels or annotations) agree on every rollguard.io/
 * key: others (the Deployment controller's revision annotation, a user's
 * label) may change during a run without touching its state. */
static int same_rollguard_keys(const json_t *a, const json_t *b)
{
	static const char prefix[] = "rollguard.io/";
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)a, key, value)
	{
		if (!strncmp(key, prefix, sizeof(prefix) - 1) && !json_equal(value, json_object_get(b, key)))
			return 0;
	}
	json_object_foreach((json_t *)b, key, value)
	{
		if (!strncmp(key, prefix, sizeof(prefix) - 1) && !json_object_get(a, key))
			return 0;
	}
	return 1;
}

/* What changed between old and fresh in what a canary run owns of a
 * Deployment (its identity, spec, rollguard.io/ annotations and labels),
 * or NULL when only the rest moved (its status, others' keys). */
static const char *owned_change(const json_t *old, const json_t *fresh)
{
	json_t *old_meta = json_object_get(old, "metadata"), *new_meta = json_object_get(fresh, "metadata");
	json_t *old_spec = json_object_get(old, "spec"), *new_spec = json_object_get(fresh, "spec");
	if (strcmp(canary_object_uid(old), canary_object_uid(fresh)) != 0)
		return "it was deleted and created again";
	if ((old_spec || new_spec) && !json_equal(old_spec, new_spec))
		return "its spec changed";
	if (!same_rollguard_keys(json_object_get(old_meta, "annotations"), json_object_get(new_meta, "annotations")))
		return "its rollguard.io/ annotations changed";
	if (!same_rollguard_keys(json_object_get(old_meta, "labels"), json_object_get(new_meta, "labels")))
		return "its rollguard.io/ labels changed";
	return NULL;
}

/* 1 when patch, a merge patch of object, can be sent as a JSON Patch
 * guarded by test operations (canary_json_patch_guard) rather than on the
 * resourceVersion, which the Deployment controller bumps with every
 * status write. The tests guard what the run owns as it was read, but
 * cannot say that a key is absent; so the patch must write the run's
 * state over a state object has (every writer of a run's keys writes its
 * state, so the test of the state is a compare-and-swap that orders
 * them), and change only what the tests cover or an add replaces as a
 * merge would: the spec (tested whole), and single annotations and labels
 * of maps object has. Not so: the record of a new run (no state yet), the
 * annotation lock (absence of a lock is what it takes). */
static int test_guardable(const json_t *object, const json_t *patch)
{
	json_t *meta = json_object_get(object, "metadata");
	json_t *patch_meta = json_object_get(patch, "metadata");
	const char *key;
	json_t *value;
	if (!json_is_string(json_object_get(json_object_get(meta, "annotations"), CANARY_ANNOTATION_STATE)) ||
	    !json_is_string(json_object_get(json_object_get(patch_meta, "annotations"), CANARY_ANNOTATION_STATE)))
		return 0;
	json_object_foreach((json_t *)patch, key, value)
	{
		if (strcmp(key, "spec") != 0 && strcmp(key, "metadata") != 0)
			return 0;
	}
	json_object_foreach(patch_meta, key, value)
	{
		if ((strcmp(key, "annotations") != 0 && strcmp(key, "labels") != 0) || !json_is_object(value) ||
		    !json_is_object(json_object_get(meta, key)))
			return 0;
	}
	return 1;
}

/* The path and body of the JSON Patch of deployment name that does what
 * patch (a merge patch) does to object, if object is still as read: the
 * test operations first. Returns 0 or KUBE_ENOMEM. */
static int tested_patch(kube_buf *path, kube_buf *body, const canary_ctx *ctx, const char *name, const json_t *object,
                        const json_t *patch, const kube_write_options *opts)
{
	json_t *ops = json_array();
	int rc = ops ? 0 : KUBE_ENOMEM;
	if (!rc)
		rc = canary_json_patch_guard(ops, object);
	if (!rc)
		rc = canary_json_patch_from_merge(ops, object, patch);
	if (!rc)
		rc = canary_json_patch_encode(body, ops);
	json_decref(ops);
	if (!rc)
		rc = kube_resource_path(path, &canary_res_deployments, ctx->ns, name, NULL);
	if (!rc)
		rc = kube_buf_puts(path, "?fieldManager=");
	if (!rc)
		rc = kube_buf_put_urlescaped(path, opts->field_manager);
	if (!rc && opts->dry_run)
		rc = kube_buf_puts(path, "&dryRun=All");
	return rc ? KUBE_ENOMEM : 0;
}

/* Sends a tested_patch. Returns the request's code; *reply gets the
 * object the server answered (NULL after a 2xx that is not JSON). */
static int send_tested_patch(canary_ctx *ctx, json_t **reply, const kube_buf *path, const kube_buf *body)
{
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	int rc = kube_client_request(ctx->client, &resp, "PATCH", kube_buf_cstr(path), "application/json-patch+json",
	                             kube_buf_cstr(body), body->len);
	*reply = rc ? NULL : json_loadb(kube_buf_cstr(&resp.body), resp.body.len, 0, NULL);
	kube_response_dispose(&resp);
	return rc;
}

/* 1 when the API server refused a JSON Patch because it does not apply to
 * the object as it is now: a test failed (or a member to remove is gone).
 * The server says so with a 422 and a generic message (it keeps the JSON
 * Patch library's own to itself), where a 422 of validation names the
 * object ("Deployment.apps \"web\" is invalid: ..."). */
static int patch_did_not_apply(int rc)
{
	const kube_error *e = kube_error_last();
	return rc == KUBE_EINVALID && e->http_status == 422 &&
	       (strstr(e->server_message, "the server rejected our request due to an error in our request") ||
	        strstr(e->server_message, "testing value") || strstr(e->server_message, "test operation"));
}

static int patch_object(canary_ctx *ctx, json_t **object, const char *name, json_t *patch, const char *what,
                        int conditional)
{
	json_t *meta = patch_metadata(patch, NULL);
	if (!meta)
		return cli_error_nomem();
	/* conditional on what the run owns where test operations can say it
	 * (then status writes do not get in the way), else on the
	 * resourceVersion */
	int tested = conditional && *object && test_guardable(*object, patch);
	if (conditional && *object && !tested &&
	    json_object_set_new(meta, "resourceVersion", json_string(canary_object_rv(*object))))
		return cli_error_nomem();
	if (ctx->dry_run == CANARY_DRY_RUN_CLIENT) {
		canary_plan(ctx, "%s", what);
		return 0;
	}
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	opts.field_manager = CANARY_FIELD_MANAGER;
	opts.dry_run = ctx->dry_run == CANARY_DRY_RUN_SERVER;
	json_t *reply = NULL;
	const char *changed = NULL;
	int rc;
	kube_log(KUBE_LOG_DECISION, "deployment/%s: %s", name, what);
	if (tested) {
		kube_buf path = KUBE_BUF_INIT, body = KUBE_BUF_INIT;
		if (tested_patch(&path, &body, ctx, name, *object, patch, &opts)) {
			kube_buf_dispose(&path);
			kube_buf_dispose(&body);
			return cli_error_nomem();
		}
		rc = send_tested_patch(ctx, &reply, &path, &body);
		kube_buf_dispose(&path);
		kube_buf_dispose(&body);
		if (!rc && !reply) {
			cli_error("deployment/%s: the API server's answer to the patch is not JSON", name);
			return CLI_EXIT_API;
		}
		if (patch_did_not_apply(rc))
			rc = KUBE_ECONFLICT;
	} else {
		rc = kube_client_patch(ctx->client, &reply, &canary_res_deployments, ctx->ns, name, KUBE_PATCH_MERGE,
		                       patch, &opts);
	}
	/* A test or the resourceVersion failed: read D again. When what the
	 * run owns is as it was (the Deployment controller bumps the
	 * resourceVersion with every status update), patch again on the new
	 * version. */
	for (int retry = 0; conditional && rc == KUBE_ECONFLICT && retry < 5; retry++) {
		json_t *fresh = NULL;
		json_decref(reply);
		reply = NULL;
		if (kube_client_get(ctx->client, &fresh, &canary_res_deployments, ctx->ns, name, NULL)) {
			rc = KUBE_ECONFLICT;
			break;
		}
		if ((changed = owned_change(*object, fresh))) {
			/* Did `abort` ask this run to stop? Then the abort wins. */
			if (object == &ctx->deploy && canary_note_abort_request(ctx, fresh)) {
				json_decref(*object);
				*object = fresh;
				return CLI_EXIT_CONFLICT;
			}
			json_decref(fresh);
			break;
		}
		if (tested)
			kube_log(
			        KUBE_LOG_DECISION,
			        "deployment/%s: the patch's tests failed though nothing they test changed; patching on "
			        "the resourceVersion",
			        name);
		else
			kube_log(KUBE_LOG_DECISION, "deployment/%s: only its status changed; patching again", name);
		tested = 0;
		json_decref(*object);
		*object = fresh;
		if (json_object_set_new(meta, "resourceVersion", json_string(canary_object_rv(fresh))))
			return cli_error_nomem();
		rc = kube_client_patch(ctx->client, &reply, &canary_res_deployments, ctx->ns, name, KUBE_PATCH_MERGE,
		                       patch, &opts);
	}
	if (rc == KUBE_ECONFLICT) {
		json_decref(reply);
		cli_error("deployment/%s changed since it was read: %s", name,
		          changed ? changed : kube_error_last()->server_message);
		cli_hint("run the command again");
		return CLI_EXIT_CONFLICT;
	}
	if (rc) {
		json_decref(reply);
		char label[320];
		snprintf(label, sizeof(label), "deployment/%s", name);
		return cli_error_kube(label, rc);
	}
	if (ctx->dry_run == CANARY_DRY_RUN_SERVER) {
		canary_plan(ctx, "%s", what);
		json_decref(reply);
		return 0;
	}
	json_decref(*object);
	*object = reply;
	return 0;
}

int canary_patch_deploy(canary_ctx *ctx, json_t *patch, const char *what)
{
	return patch_object(ctx, &ctx->deploy, ctx->name, patch, what, 1);
}

int canary_patch_canary(canary_ctx *ctx, json_t *patch, const char *what)
{
	return patch_object(ctx, &ctx->canary, ctx->canary_name, patch, what, 0);
}

void canary_record_event(canary_ctx *ctx, const char *type, const char *reason, const char *fmt, ...)
{
	if (ctx->dry_run)
		return;
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	kube_event_options opts = KUBE_EVENT_OPTIONS_INIT;
	opts.type = type;
	opts.reason = reason;
	opts.message = message;
	opts.component = CANARY_COMPONENT;
	if (kube_event_record(ctx->client, ctx->deploy, &opts))
		kube_log(KUBE_LOG_DECISION, "could not record the event %s: %s", reason, kube_error_last()->message);
}

void canary_plan(canary_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kube_buf_vprintf(&ctx->plan, fmt, ap);
	va_end(ap);
	kube_buf_puts(&ctx->plan, "\n");
}

int canary_print_plan(const canary_ctx *ctx)
{
	const char *mode = ctx->dry_run == CANARY_DRY_RUN_SERVER ? "server dry run" : "dry run";
	const char *p = kube_buf_cstr(&ctx->plan);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		printf("deployment/%s: would %.*s (%s)\n", ctx->name, (int)len, p, mode);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

void canary_new_run_id(char *buf, size_t size, long long now_ms)
{
	time_t seconds = (time_t)(now_ms / 1000);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	unsigned char random[2] = {0, 0};
	FILE *f = fopen("/dev/urandom", "rb");
	if (f) {
		if (fread(random, 1, sizeof(random), f) != sizeof(random))
			random[0] = (unsigned char)getpid();
		fclose(f);
	}
	snprintf(buf, size, "%04d%02d%02d-%02d%02d%02d-%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, random[0], random[1]);
}

int canary_find_hpa(canary_ctx *ctx, char *name, size_t size)
{
	json_t *list = NULL;
	name[0] = '\0';
	int rc = kube_client_list(ctx->client, &list, &canary_res_hpas, ctx->ns, NULL);
	if (rc == KUBE_EFORBIDDEN || rc == KUBE_ENOTFOUND) {
		cli_warning("cannot list HorizontalPodAutoscalers in namespace %s (%s): assuming none targets "
		            "deployment/%s",
		            ctx->ns, kube_error_last()->message, ctx->name);
		return 0;
	}
	if (rc)
		return cli_error_kube("listing HorizontalPodAutoscalers", rc);
	size_t i;
	json_t *hpa;
	json_array_foreach(json_object_get(list, "items"), i, hpa)
	{
		json_t *ref = json_object_get(json_object_get(hpa, "spec"), "scaleTargetRef");
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *target = json_string_value(json_object_get(ref, "name"));
		if (kind && target && !strcmp(kind, "Deployment") && !strcmp(target, ctx->name)) {
			snprintf(name, size, "%s", meta_string(hpa, "name"));
			break;
		}
	}
	json_decref(list);
	return 0;
}

/* Ready replicas of deploy's current generation, and whether its rollout
 * is complete (as `kubectl rollout status` judges it). */
static void rollout_progress(const json_t *deploy, int *ready, int *complete, int *deadline_exceeded)
{
	json_t *spec = json_object_get(deploy, "spec"), *status = json_object_get(deploy, "status");
	long long generation = json_integer_value(json_object_get(json_object_get(deploy, "metadata"), "generation"));
	long long observed = json_integer_value(json_object_get(status, "observedGeneration"));
	long long replicas = json_is_integer(json_object_get(spec, "replicas"))
	                             ? json_integer_value(json_object_get(spec, "replicas"))
	                             : 1;
	long long updated = json_integer_value(json_object_get(status, "updatedReplicas"));
	long long total = json_integer_value(json_object_get(status, "replicas"));
	long long available = json_integer_value(json_object_get(status, "availableReplicas"));
	*ready = (int)json_integer_value(json_object_get(status, "readyReplicas"));
	*complete = observed >= generation && updated == replicas && total == replicas && available == replicas;
	*deadline_exceeded = 0;
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(status, "conditions"), i, cond)
	{
		const char *type = json_string_value(json_object_get(cond, "type"));
		const char *reason = json_string_value(json_object_get(cond, "reason"));
		if (type && reason && !strcmp(type, "Progressing") && !strcmp(reason, "ProgressDeadlineExceeded"))
			*deadline_exceeded = 1;
	}
	if (observed < generation)
		*ready = 0;
}

int canary_wait_ready(canary_ctx *ctx, const char *deploy_name, int ready, int complete, long timeout_ms, char *reason,
                      size_t reason_size)
{
	json_t *current = !strcmp(deploy_name, ctx->name) ? ctx->deploy : ctx->canary;
	int have_ready, is_complete, exceeded;
	if (reason_size)
		reason[0] = '\0';
	if (current) {
		rollout_progress(current, &have_ready, &is_complete, &exceeded);
		if (have_ready >= ready && (!complete || is_complete))
			return 0;
	}
	kube_buf selector = {0};
	kube_watch *watch = NULL;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	long long deadline = kube_client_server_now_ms(ctx->client) + timeout_ms;
	/* D's own watch, open since D was read: what it delivers from before
	 * the last change of D's spec (an older generation) is skipped */
	int shared = !strcmp(deploy_name, ctx->name) && ctx->deploy_watch;
	json_int_t generation =
	        current ? json_integer_value(json_object_get(json_object_get(current, "metadata"), "generation")) : 0;
	int rc;
	if (shared) {
		watch = ctx->deploy_watch;
	} else {
		if (kube_buf_printf(&selector, "metadata.name=%s", deploy_name))
			return cli_error_nomem();
		opts.field_selector = kube_buf_cstr(&selector);
		opts.resource_version = current ? canary_object_rv(current) : NULL;
		opts.initial_events = 1;
		rc = kube_watch_open(&watch, ctx->client, &canary_res_deployments, ctx->ns, &opts);
		if (rc) {
			kube_buf_dispose(&selector);
			return cli_error_kube("watching the rollout", rc);
		}
	}
	int result = -1;
	while (result < 0) {
		if ((rc = canary_wait_tick(ctx))) {
			result = rc;
			break;
		}
		long long now = kube_client_server_now_ms(ctx->client);
		if (now >= deadline) {
			snprintf(reason, reason_size, "deployment/%s: %d/%d pods Ready after %lds", deploy_name,
			         current ? have_ready : 0, ready, timeout_ms / 1000);
			result = CLI_EXIT_FAIL;
			break;
		}
		kube_watch_event ev = {0};
		rc = kube_watch_next(watch, &ev, 1000);
		if (rc == KUBE_ETIMEOUT)
			continue;
		if (rc) {
			result = cli_error_kube("watching the rollout", rc);
			break;
		}
		json_t *object = ev.object;
		if (ev.type == KUBE_WATCH_RELIST)
			object = json_array_get(json_object_get(ev.object, "items"), 0);
		if (shared && object && ev.type != KUBE_WATCH_DELETED &&
		    json_integer_value(json_object_get(json_object_get(object, "metadata"), "generation")) <
		            generation) {
			kube_watch_event_dispose(&ev);
			continue;
		}
		if (object &&
		    (ev.type == KUBE_WATCH_ADDED || ev.type == KUBE_WATCH_MODIFIED || ev.type == KUBE_WATCH_RELIST)) {
			if (object && !strcmp(deploy_name, ctx->name) && canary_note_abort_request(ctx, object)) {
				result = CLI_EXIT_CONFLICT;
				kube_watch_event_dispose(&ev);
				break;
			}
			rollout_progress(object, &have_ready, &is_complete, &exceeded);
			json_t **slot = !strcmp(deploy_name, ctx->name) ? &ctx->deploy : &ctx->canary;
			json_decref(*slot);
			*slot = json_incref(object);
			current = object;
			if (have_ready >= ready && (!complete || is_complete))
				result = 0;
			else if (exceeded) {
				snprintf(reason, reason_size,
				         "deployment/%s exceeded its progress deadline (%d/%d pods Ready)", deploy_name,
				         have_ready, ready);
				result = CLI_EXIT_FAIL;
			}
		} else if (ev.type == KUBE_WATCH_DELETED) {
			snprintf(reason, reason_size, "deployment/%s was deleted", deploy_name);
			result = CLI_EXIT_FAIL;
		}
		kube_watch_event_dispose(&ev);
	}
	if (!shared)
		kube_watch_free(watch);
	kube_buf_dispose(&selector);
	return result;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

void canary_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void canary_signals_reset(void)
{
	interrupted = 0;
}

int canary_interrupted(void)
{
	return (int)interrupted;
}

int canary_interrupt_exit(void)
{
	return interrupted == SIGTERM ? CLI_EXIT_SIGTERM : CLI_EXIT_SIGINT;
}

int canary_note_abort_request(canary_ctx *ctx, const json_t *deploy)
{
	json_t *text = json_object_get(json_object_get(json_object_get(deploy, "metadata"), "annotations"),
	                               CANARY_ANNOTATION_STATE);
	canary_state seen;
	char err[256];
	if (!json_is_string(text) ||
	    canary_state_parse(&seen, json_string_value(text), json_string_length(text), err, sizeof(err)) ||
	    !seen.abort_requested || strcmp(seen.run_id, ctx->state.run_id) != 0)
		return 0;
	if (ctx->state.intent.active && !strcmp(ctx->state.intent.action, "abort"))
		return 0; /* this step is the abort */
	ctx->state.abort_requested = 1;
	snprintf(ctx->state.abort_requested_by, sizeof(ctx->state.abort_requested_by), "%s", seen.abort_requested_by);
	if (seen.reason[0])
		snprintf(ctx->state.reason, sizeof(ctx->state.reason), "%s", seen.reason);
	ctx->abort_pending = 1;
	return 1;
}

int canary_wait_tick(canary_ctx *ctx)
{
	int rc;
	if (canary_interrupted())
		return canary_interrupt_exit();
	if ((rc = canary_lock_keep(ctx)))
		return rc;
	if (ctx->wait_hook && (rc = ctx->wait_hook(ctx, ctx->wait_user)))
		return rc;
	return ctx->abort_pending ? CLI_EXIT_CONFLICT : 0;
}
