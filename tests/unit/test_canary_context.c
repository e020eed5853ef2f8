/* Tests of plugins/canary/context.c's patches of D against a canned API
 * server: a JSON Patch guarded by test operations when the run's state is
 * written over the state D has, the merge patch on the resourceVersion
 * otherwise; a failed test read as a conflict (patched again when only
 * D's status moved, the abort winning when one was requested, exit 6 when
 * D changed); a validation error left as it is; and the dry runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "canary.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define REPLY(status, body) "HTTP/1.1 " status "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body
/* What the API server answers when a JSON Patch does not apply (a test
 * failed): it keeps the library's message to itself. */
#define NOT_APPLIED                                                                                                    \
	REPLY("422 Unprocessable Entity",                                                                              \
	      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"the "   \
	      "server rejected our request due to an error in our request\",\"reason\":\"Invalid\",\"details\":{},"    \
	      "\"code\":422}")
#define INVALID                                                                                                        \
	REPLY("422 Unprocessable Entity",                                                                              \
	      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"         \
	      "\"Deployment.apps \\\"web\\\" is invalid: spec.replicas: Invalid value: -1: must be greater than or "   \
	      "equal to 0\",\"reason\":\"Invalid\",\"details\":{\"name\":\"web\",\"group\":\"apps\",\"kind\":"         \
	      "\"Deployment\"},\"code\":422}")
#define CONFLICT                                                                                                       \
	REPLY("409 Conflict",                                                                                          \
	      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"         \
	      "\"Operation cannot be fulfilled on deployments.apps \\\"web\\\": the object has been modified; please " \
	      "apply your changes to the latest version and try again\",\"reason\":\"Conflict\",\"code\":409}")

/* The run's state as the annotation's text (static buffer per slot). */
static const char *state_text(int slot, int abort_requested, int weight)
{
	static char texts[3][2048];
	canary_state state;
	kube_buf text = KUBE_BUF_INIT;
	char err[256];
	canary_state_init(&state);
	state.phase = CANARY_PHASE_PAUSED;
	snprintf(state.run_id, sizeof(state.run_id), "20261124-120000-abcd");
	snprintf(state.router, sizeof(state.router), "replicas");
	assert_int_equal(canary_ladder_parse(&state.ladder, "5,25,50,100", "0", err, sizeof(err)), 0);
	state.step_index = weight == 5 ? 0 : 1;
	state.weight = weight;
	state.original_replicas = 4;
	snprintf(state.change, sizeof(state.change), "image app=web:2 && <more>");
	state.abort_requested = abort_requested;
	if (abort_requested)
		snprintf(state.abort_requested_by, sizeof(state.abort_requested_by), "alice");
	assert_int_equal(canary_state_format(&text, &state), 0);
	assert_true(text.len < sizeof(texts[slot]));
	snprintf(texts[slot], sizeof(texts[slot]), "%s", kube_buf_cstr(&text));
	kube_buf_dispose(&text);
	return texts[slot];
}

/* D: replicas, its state (NULL: none) and ready pods (the status the
 * Deployment controller writes). Owned. */
static json_t *deployment(const char *rv, int replicas, const char *state, int ready)
{
	json_t *d =
	        json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}},"
	                  " s:{s:[{s:s, s:s}]}}}, s:{s:i, s:i}}",
	                  "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "web", "namespace", "ns",
	                  "uid", "u-1", "resourceVersion", rv, "annotations", "deployment.kubernetes.io/revision", "1",
	                  "labels", "app", "web", "spec", "replicas", replicas, "selector", "matchLabels", "app", "web",
	                  "template", "metadata", "labels", "app", "web", "spec", "containers", "name", "app", "image",
	                  "web:1", "status", "replicas", replicas, "readyReplicas", ready);
	assert_non_null(d);
	if (state)
		assert_int_equal(json_object_set_new(json_object_get(json_object_get(d, "metadata"), "annotations"),
		                                     CANARY_ANNOTATION_STATE, json_string(state)),
		                 0);
	return d;
}

/* An HTTP reply carrying object (static buffer per slot). */
static const char *ok(int slot, const json_t *object)
{
	static char replies[4][4096];
	char *text = json_dumps(object, JSON_COMPACT);
	assert_non_null(text);
	int n = snprintf(replies[slot], sizeof(replies[slot]), REPLY("200 OK", "%s"), text);
	assert_true(n > 0 && (size_t)n < sizeof(replies[slot]));
	free(text);
	return replies[slot];
}

/* What one canary_patch_deploy did. */
struct patched {
	int rc, served, abort_pending;
	json_t *deploy;               /* ctx->deploy after (owned) */
	json_t *bodies[4];            /* the requests' bodies (owned), NULL for none */
	char lines[4][256];           /* their request lines */
	int json_patch[4];            /* 1: sent as application/json-patch+json */
	char errors[1024], plan[256]; /* printed through cli_error; the plan */
};

static void patched_dispose(struct patched *p)
{
	json_decref(p->deploy);
	for (size_t i = 0; i < ARRAY_SIZE(p->bodies); i++)
		json_decref(p->bodies[i]);
}

/* canary_patch_deploy(patch) on deploy (taken) read by the run of
 * state_text, against a server answering replies in turn. */
static struct patched patch_against(json_t *deploy, const char *patch_text, enum canary_dry_run dry_run,
                                    const char *const *replies)
{
	struct test_api fx;
	canary_ctx ctx;
	struct patched seen;
	char *errors = NULL;
	size_t errors_len = 0;
	FILE *err = open_memstream(&errors, &errors_len);
	json_error_t error;
	json_t *patch = json_loads(patch_text, 0, &error);
	assert_non_null(patch);
	assert_non_null(err);
	memset(&seen, 0, sizeof(seen));
	test_api_start(&fx, replies, NULL, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.client = fx.client;
	ctx.ns = "ns";
	ctx.name = "web";
	ctx.dry_run = dry_run;
	assert_int_equal(canary_take_deploy(&ctx, deploy), 0);
	json_decref(deploy);
	cli_error_stream_set(err);
	seen.rc = canary_patch_deploy(&ctx, patch, "commit");
	cli_error_stream_set(NULL);
	(void)fclose(err);
	(void)snprintf(seen.errors, sizeof(seen.errors), "%s", errors ? errors : "");
	free(errors);
	seen.served = atomic_load(&fx.srv.served);
	for (int i = 0; i < seen.served && i < 4; i++) {
		const char *request = fx.srv.requests[i];
		const char *body = strstr(request, "\r\n\r\n");
		(void)snprintf(seen.lines[i], sizeof(seen.lines[i]), "%s", test_server_request_line(&fx.srv, i));
		seen.json_patch[i] = strstr(request, "Content-Type: application/json-patch+json") != NULL;
		if (body && body[4])
			seen.bodies[i] = test_server_request_body(&fx.srv, i);
	}
	(void)snprintf(seen.plan, sizeof(seen.plan), "%s", kube_buf_cstr(&ctx.plan));
	seen.abort_pending = ctx.abort_pending;
	seen.deploy = ctx.deploy;
	ctx.deploy = NULL;
	kube_buf_dispose(&ctx.plan);
	json_decref(patch);
	test_api_stop(&fx);
	return seen;
}

/* A commit: the state and the stable scale (canary_step_weight's). */
static const char *commit_patch(void)
{
	static char text[2600];
	json_t *patch = json_pack("{s:{s:{s:s}}, s:{s:i}}", "metadata", "annotations", CANARY_ANNOTATION_STATE,
	                          state_text(2, 0, 25), "spec", "replicas", 3);
	char *dumped = json_dumps(patch, JSON_COMPACT);
	assert_non_null(dumped);
	(void)snprintf(text, sizeof(text), "%s", dumped);
	free(dumped);
	json_decref(patch);
	return text;
}

/* The operation of ops at path, or NULL. */
static json_t *op_at(const json_t *ops, const char *op, const char *path)
{
	size_t i;
	json_t *entry;
	json_array_foreach(ops, i, entry)
	{
		if (!strcmp(json_string_value(json_object_get(entry, "op")), op) &&
		    !strcmp(json_string_value(json_object_get(entry, "path")), path))
			return entry;
	}
	return NULL;
}

/* Over a state D has: one JSON Patch, its tests first, no
 * resourceVersion, and the reply becomes ctx->deploy. */
static void test_canary_context__patches_d_with_test_operations(void **state)
{
	(void)state;
	json_t *after = deployment("12", 3, state_text(2, 0, 25), 4);
	const char *replies[] = {ok(0, after), NULL};
	struct patched p = patch_against(deployment("10", 4, state_text(0, 0, 5), 4), commit_patch(),
	                                 CANARY_DRY_RUN_NONE, replies);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.served, 1);
	assert_string_equal(p.lines[0], "PATCH /apis/apps/v1/namespaces/ns/deployments/web?fieldManager=kubectl-canary "
	                                "HTTP/1.1");
	assert_true(p.json_patch[0]);
	json_t *ops = p.bodies[0];
	assert_true(json_is_array(ops));
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 0), "op")), "test");
	assert_non_null(op_at(ops, "test", "/metadata/uid"));
	json_t *spec = json_object_get(op_at(ops, "test", "/spec"), "value");
	assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 4);
	assert_string_equal(json_string_value(json_object_get(
	                            op_at(ops, "test", "/metadata/annotations/rollguard.io~1canary"), "value")),
	                    state_text(0, 0, 5));
	assert_null(op_at(ops, "test", "/metadata/annotations/deployment.kubernetes.io~1revision"));
	assert_int_equal(json_integer_value(json_object_get(op_at(ops, "add", "/spec/replicas"), "value")), 3);
	assert_string_equal(json_string_value(json_object_get(
	                            op_at(ops, "add", "/metadata/annotations/rollguard.io~1canary"), "value")),
	                    state_text(2, 0, 25));
	assert_null(op_at(ops, "add", "/metadata/resourceVersion"));
	assert_int_equal(json_array_size(ops), 5);
	assert_true(json_equal(p.deploy, after));
	patched_dispose(&p);
	json_decref(after);
}

/* Without a state on D (a new run), or without the state in the patch
 * (the annotation lock), absence would need testing: a merge patch on
 * the resourceVersion, as before. */
static void test_canary_context__keeps_the_resource_version_where_tests_cannot_say(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int state_on_d;
		const char *patch;
	} cases[] = {
	        {"the first state", 0, NULL},
	        {"the annotation lock", 1,
	         "{\"metadata\": {\"annotations\": {\"rollguard.io/canary-lock\": \"{\\\"holder\\\":\\\"h\\\"}\"}}}"},
	        {"a label map D lacks", 1, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *d = deployment("10", 4, cases[i].state_on_d ? state_text(0, 0, 5) : NULL, 4);
		const char *patch = cases[i].patch ? cases[i].patch : commit_patch();
		char with_labels[3000];
		if (i == 2) {
			/* D has no labels; the patch adds one */
			json_object_del(json_object_get(d, "metadata"), "labels");
			(void)snprintf(with_labels, sizeof(with_labels),
			               "{\"metadata\": {\"labels\": {\"rollguard.io/canary-active\": \"true\"},"
			               " \"annotations\": {\"rollguard.io/canary\": \"%s\"}}}",
			               "{\\\"phase\\\":\\\"Paused\\\"}");
			patch = with_labels;
		}
		json_t *after = deployment("11", 4, state_text(1, 0, 5), 4);
		const char *replies[] = {ok(0, after), NULL};
		struct patched p = patch_against(d, patch, CANARY_DRY_RUN_NONE, replies);
		if (p.rc != 0 || p.served != 1 || p.json_patch[0])
			fail_msg("%s: rc %d, %d request(s), JSON Patch %d", cases[i].name, p.rc, p.served,
			         p.json_patch[0]);
		assert_string_equal(
		        json_string_value(json_object_get(json_object_get(p.bodies[0], "metadata"), "resourceVersion")),
		        "10");
		patched_dispose(&p);
		json_decref(after);
	}
}

/* A failed test while only the status moved: D read again, then the
 * merge patch on the new resourceVersion (the test form could not say
 * it, so it is not sent again). */
static void test_canary_context__patches_again_when_only_the_status_moved(void **state)
{
	(void)state;
	json_t *fresh = deployment("11", 4, state_text(0, 0, 5), 3);
	json_t *after = deployment("12", 3, state_text(2, 0, 25), 3);
	const char *replies[] = {NOT_APPLIED, ok(0, fresh), ok(1, after), NULL};
	struct patched p = patch_against(deployment("10", 4, state_text(0, 0, 5), 4), commit_patch(),
	                                 CANARY_DRY_RUN_NONE, replies);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.served, 3);
	assert_true(p.json_patch[0]);
	assert_string_equal(p.lines[1], "GET /apis/apps/v1/namespaces/ns/deployments/web HTTP/1.1");
	assert_false(p.json_patch[2]);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(p.bodies[2], "metadata"), "resourceVersion")), "11");
	assert_true(json_equal(p.deploy, after));
	patched_dispose(&p);
	json_decref(after);
	json_decref(fresh);
}

/* A failed test because what the run owns changed: exit 6 saying what;
 * when it was an abort request for this run, the abort wins. */
static void test_canary_context__a_failed_test_is_a_conflict(void **state)
{
	(void)state;
	static const struct {
		const char *name, *says;
		int replicas, abort_requested, uid_changed;
	} cases[] = {
	        {"the spec changed (an HPA)", "its spec changed", 6, 0, 0},
	        {"an abort was requested", "", 4, 1, 0},
	        {"D was created again", "deleted and created again", 4, 0, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *fresh = deployment("11", cases[i].replicas, state_text(1, cases[i].abort_requested, 5), 4);
		if (cases[i].uid_changed)
			json_object_set_new(json_object_get(fresh, "metadata"), "uid", json_string("u-2"));
		const char *replies[] = {NOT_APPLIED, ok(0, fresh), NULL};
		struct patched p = patch_against(deployment("10", 4, state_text(0, 0, 5), 4), commit_patch(),
		                                 CANARY_DRY_RUN_NONE, replies);
		assert_int_equal(p.rc, CLI_EXIT_CONFLICT);
		assert_int_equal(p.served, 2);
		assert_int_equal(p.abort_pending, cases[i].abort_requested);
		if (cases[i].abort_requested)
			assert_true(json_equal(p.deploy, fresh)); /* the abort goes on from D as it is */
		else if (!strstr(p.errors, "deployment/web changed since it was read") ||
		         !strstr(p.errors, cases[i].says))
			fail_msg("%s: printed %s", cases[i].name, p.errors);
		patched_dispose(&p);
		json_decref(fresh);
	}
}

/* A 422 of validation is not a failed test: reported as it is, no retry;
 * a merge patch's 409 is retried as before. */
static void test_canary_context__other_errors_stay_what_they_are(void **state)
{
	(void)state;
	const char *invalid[] = {INVALID, NULL};
	struct patched p = patch_against(deployment("10", 4, state_text(0, 0, 5), 4), commit_patch(),
	                                 CANARY_DRY_RUN_NONE, invalid);
	assert_int_equal(p.rc, CLI_EXIT_API);
	assert_int_equal(p.served, 1);
	assert_non_null(strstr(p.errors, "is invalid"));
	patched_dispose(&p);

	json_t *fresh = deployment("11", 4, NULL, 3);
	json_t *after = deployment("12", 4, state_text(1, 0, 5), 3);
	const char *conflict[] = {CONFLICT, ok(0, fresh), ok(1, after), NULL};
	p = patch_against(deployment("10", 4, NULL, 4), commit_patch(), CANARY_DRY_RUN_NONE, conflict);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.served, 3);
	assert_false(p.json_patch[0]);
	assert_false(p.json_patch[2]);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(p.bodies[2], "metadata"), "resourceVersion")), "11");
	patched_dispose(&p);
	json_decref(after);
	json_decref(fresh);
}

/* --dry-run=client sends nothing; --dry-run=server sends the JSON Patch
 * with dryRun=All and keeps D as read. */
static void test_canary_context__dry_runs_change_nothing(void **state)
{
	(void)state;
	const char *none[] = {NULL};
	json_t *d = deployment("10", 4, state_text(0, 0, 5), 4);
	json_t *read = json_deep_copy(d);
	struct patched p = patch_against(d, commit_patch(), CANARY_DRY_RUN_CLIENT, none);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.served, 0);
	assert_string_equal(p.plan, "commit\n");
	patched_dispose(&p);

	json_t *after = deployment("10", 3, state_text(2, 0, 25), 4);
	const char *replies[] = {ok(0, after), NULL};
	p = patch_against(json_deep_copy(read), commit_patch(), CANARY_DRY_RUN_SERVER, replies);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.served, 1);
	assert_true(p.json_patch[0]);
	assert_string_equal(p.lines[0], "PATCH /apis/apps/v1/namespaces/ns/deployments/"
	                                "web?fieldManager=kubectl-canary&dryRun=All HTTP/1.1");
	assert_string_equal(p.plan, "commit\n");
	assert_true(json_equal(p.deploy, read));
	patched_dispose(&p);
	json_decref(after);
	json_decref(read);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_context__patches_d_with_test_operations),
	        cmocka_unit_test(test_canary_context__keeps_the_resource_version_where_tests_cannot_say),
	        cmocka_unit_test(test_canary_context__patches_again_when_only_the_status_moved),
	        cmocka_unit_test(test_canary_context__a_failed_test_is_a_conflict),
	        cmocka_unit_test(test_canary_context__other_errors_stay_what_they_are),
	        cmocka_unit_test(test_canary_context__dry_runs_change_nothing),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
