/* Tests of plugins/canary/json_patch.c: merge patches translated into JSON
 * Patch operations (checked against RFC 7386 applied to the same target),
 * JSON Pointer escaping, the test operations that guard what a run owns,
 * Go's encoding of them, and running out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <kube/alloc.h>
#include <kube/error.h>

#include "json_patch.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The parent object of the member path names in doc, and that member's
 * name (RFC 6901, objects only: all the patches here address). NULL when
 * the parent is missing. */
static json_t *pointer_parent(json_t *doc, const char *path, char *key, size_t key_size)
{
	json_t *at = doc;
	const char *p = path;
	assert_int_equal(*p, '/');
	for (;;) {
		size_t n = 0;
		p++;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~')
				c = *p++ == '0' ? '~' : '/';
			assert_true(n + 1 < key_size);
			key[n++] = c;
		}
		key[n] = '\0';
		if (!*p)
			return json_is_object(at) ? at : NULL;
		at = json_object_get(at, key);
	}
}

/* RFC 6902 add, remove and test applied to doc in place; 0, or -1 when an
 * operation does not apply (the whole patch then fails, as on the
 * server). */
static int json_patch_apply(json_t *doc, const json_t *ops)
{
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op)
	{
		char key[256];
		const char *name = json_string_value(json_object_get(op, "op"));
		json_t *parent = pointer_parent(doc, json_string_value(json_object_get(op, "path")), key, sizeof(key));
		json_t *value = json_object_get(op, "value");
		if (!parent)
			return -1;
		if (!strcmp(name, "add"))
			json_object_set(parent, key, value);
		else if (!strcmp(name, "remove")) {
			if (json_object_del(parent, key))
				return -1;
		} else if (!strcmp(name, "test")) {
			if (!json_equal(json_object_get(parent, key), value))
				return -1;
		} else {
			fail_msg("unexpected operation %s", name);
		}
	}
	return 0;
}

static const char deployment[] =
        "{\"metadata\": {\"name\": \"web\", \"uid\": \"u-1\", \"resourceVersion\": \"41\","
        "  \"annotations\": {\"deployment.kubernetes.io/revision\": \"3\", \"rollguard.io/canary\": \"{\\\"phase\\\":"
        "\\\"Paused\\\"}\", \"rollguard.io/canary-stable-template\": \"{}\"},"
        "  \"labels\": {\"app\": \"web\", \"rollguard.io/canary-active\": \"true\"}},"
        " \"spec\": {\"replicas\": 3, \"selector\": {\"matchLabels\": {\"app\": \"web\"}},"
        "  \"template\": {\"metadata\": {\"labels\": {\"app\": \"web\"}},"
        "   \"spec\": {\"nodeSelector\": {\"disk\": \"ssd\"}, \"containers\": [{\"name\": \"app\", \"image\": "
        "\"web:1\"}, {\"name\": \"proxy\", \"image\": \"proxy:1\"}]}}},"
        " \"status\": {\"replicas\": 3, \"readyReplicas\": 3}}";

/* Each merge patch becomes the operations listed, which do to the target
 * what RFC 7386 does. */
static void test_canary_json_patch__translates_merge_patches(void **state)
{
	(void)state;
	static const struct {
		const char *name, *target, *merge, *ops;
	} cases[] = {
	        {"state and stable scale (nested objects; a null for an absent key is nothing)", deployment,
	         "{\"metadata\": {\"annotations\": {\"rollguard.io/canary\": \"{\\\"phase\\\":\\\"Progressing\\\"}\","
	         " \"rollguard.io/canary-history\": null}}, \"spec\": {\"replicas\": 2}}",
	         "[{\"op\": \"add\", \"path\": \"/metadata/annotations/rollguard.io~1canary\", \"value\": "
	         "\"{\\\"phase\\\":\\\"Progressing\\\"}\"},"
	         " {\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 2}]"},
	        {"end of a run (nulls of present keys removed)", deployment,
	         "{\"metadata\": {\"annotations\": {\"rollguard.io/canary-history\": \"[]\","
	         " \"rollguard.io/canary-stable-template\": null, \"rollguard.io/canary-analysis\": null},"
	         " \"labels\": {\"rollguard.io/canary-active\": null}}}",
	         "[{\"op\": \"add\", \"path\": \"/metadata/annotations/rollguard.io~1canary-history\", \"value\": "
	         "\"[]\"},"
	         " {\"op\": \"remove\", \"path\": \"/metadata/annotations/rollguard.io~1canary-stable-template\"},"
	         " {\"op\": \"remove\", \"path\": \"/metadata/labels/rollguard.io~1canary-active\"}]"},
	        {"template patch (arrays replaced whole, nulls inside arrays kept)", deployment,
	         "{\"spec\": {\"template\": {\"spec\": {\"nodeSelector\": null, \"containers\": [{\"name\": \"app\","
	         " \"image\": \"web:2\", \"args\": null}, {\"name\": \"proxy\", \"image\": \"proxy:1\"}]}}}}",
	         "[{\"op\": \"remove\", \"path\": \"/spec/template/spec/nodeSelector\"},"
	         " {\"op\": \"add\", \"path\": \"/spec/template/spec/containers\", \"value\": [{\"name\": \"app\","
	         " \"image\": \"web:2\", \"args\": null}, {\"name\": \"proxy\", \"image\": \"proxy:1\"}]}]"},
	        {"keys with '/' and '~'", "{\"a~b/c\": {\"~1\": 1, \"x/\": 2}}",
	         "{\"a~b/c\": {\"~1\": null, \"x/\": 3, \"/~\": 4}}",
	         "[{\"op\": \"remove\", \"path\": \"/a~0b~1c/~01\"}, {\"op\": \"add\", \"path\": \"/a~0b~1c/x~1\","
	         " \"value\": 3}, {\"op\": \"add\", \"path\": \"/a~0b~1c/~1~0\", \"value\": 4}]"},
	        {"missing parents added whole, their nulls dropped", "{\"metadata\": {\"name\": \"web\"}}",
	         "{\"metadata\": {\"labels\": {\"a\": \"1\", \"b\": null, \"c\": {\"d\": null, \"e\": [null]}}},"
	         " \"spec\": {\"replicas\": 1}}",
	         "[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"a\": \"1\", \"c\": {\"e\": "
	         "[null]}}},"
	         " {\"op\": \"add\", \"path\": \"/spec\", \"value\": {\"replicas\": 1}}]"},
	        {"an object over a value that is not one", "{\"a\": \"text\", \"b\": [1, 2], \"c\": null}",
	         "{\"a\": {\"x\": 1, \"y\": null}, \"b\": {\"z\": true}, \"c\": {\"w\": 0}}",
	         "[{\"op\": \"add\", \"path\": \"/a\", \"value\": {\"x\": 1}},"
	         " {\"op\": \"add\", \"path\": \"/b\", \"value\": {\"z\": true}},"
	         " {\"op\": \"add\", \"path\": \"/c\", \"value\": {\"w\": 0}}]"},
	        {"a value over an object, a null over null", "{\"a\": {\"x\": 1}, \"n\": null}",
	         "{\"a\": \"flat\", \"n\": null}",
	         "[{\"op\": \"add\", \"path\": \"/a\", \"value\": \"flat\"}, {\"op\": \"remove\", \"path\": \"/n\"}]"},
	        {"an empty patch, and empty objects", deployment, "{\"metadata\": {}, \"spec\": {\"template\": {}}}",
	         "[]"},
	        {"an empty object where there is none", "{}", "{\"metadata\": {\"annotations\": {}}}",
	         "[{\"op\": \"add\", \"path\": \"/metadata\", \"value\": {\"annotations\": {}}}]"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *target = test_json_parse(cases[i].target), *merge = test_json_parse(cases[i].merge);
		json_t *want = test_json_parse(cases[i].ops), *ops = json_array();
		assert_int_equal(canary_json_patch_from_merge(ops, target, merge), 0);
		test_assert_json_equal(ops, want, cases[i].name);
		json_t *merged = test_json_merge_apply(target, merge);
		json_t *patched = json_deep_copy(target);
		if (json_patch_apply(patched, ops))
			fail_msg("%s: the operations do not apply to their target", cases[i].name);
		test_assert_json_equal(patched, merged, cases[i].name);
		json_decref(patched);
		json_decref(merged);
		json_decref(ops);
		json_decref(want);
		json_decref(merge);
		json_decref(target);
	}
}

static void test_canary_json_patch__escapes_pointer_tokens(void **state)
{
	(void)state;
	static const struct {
		const char *token, *want;
	} cases[] = {
	        {"spec", "/spec"},  {"rollguard.io/canary", "/rollguard.io~1canary"},
	        {"a~b", "/a~0b"},   {"~1", "/~01"},
	        {"/~/", "/~1~0~1"}, {"", "/"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		kube_buf pointer = KUBE_BUF_INIT;
		assert_int_equal(canary_json_pointer_append(&pointer, cases[i].token), 0);
		assert_string_equal(kube_buf_cstr(&pointer), cases[i].want);
		kube_buf_dispose(&pointer);
	}
}

/* {"op": "test", "path": path, "value": value} (owned). */
static json_t *test_op(const char *path, json_t *value)
{
	return json_pack("{s:s, s:s, s:O}", "op", "test", "path", path, "value", value);
}

/* The tests hold the uid, the spec and each rollguard.io/ key present;
 * they pass while only the status and others' keys move, and fail when
 * any of those change. */
static void test_canary_json_patch__tests_what_a_run_owns(void **state)
{
	(void)state;
	json_t *object = test_json_parse(deployment), *ops = json_array();
	assert_int_equal(canary_json_patch_guard(ops, object), 0);
	json_t *meta = json_object_get(object, "metadata");
	json_t *annotations = json_object_get(meta, "annotations");
	json_t *want =
	        json_pack("[o, o, o, o, o]", test_op("/metadata/uid", json_object_get(meta, "uid")),
	                  test_op("/spec", json_object_get(object, "spec")),
	                  test_op("/metadata/annotations/rollguard.io~1canary",
	                          json_object_get(annotations, "rollguard.io/canary")),
	                  test_op("/metadata/annotations/rollguard.io~1canary-stable-template",
	                          json_object_get(annotations, "rollguard.io/canary-stable-template")),
	                  test_op("/metadata/labels/rollguard.io~1canary-active",
	                          json_object_get(json_object_get(meta, "labels"), "rollguard.io/canary-active")));
	assert_non_null(want);
	test_assert_json_equal(ops, want, "the test operations");

	static const struct {
		const char *name, *merge;
		int applies;
	} moves[] = {
	        {"the status and the resourceVersion",
	         "{\"metadata\": {\"resourceVersion\": \"42\"}, \"status\": {\"readyReplicas\": 2}}", 1},
	        {"others' annotations and labels",
	         "{\"metadata\": {\"annotations\": {\"deployment.kubernetes.io/revision\": \"4\", \"note\": \"x\"},"
	         " \"labels\": {\"team\": \"a\"}}}",
	         1},
	        {"an abort requested", "{\"metadata\": {\"annotations\": {\"rollguard.io/canary\": \"{}\"}}}", 0},
	        {"a saved template removed",
	         "{\"metadata\": {\"annotations\": {\"rollguard.io/canary-stable-template\": null}}}", 0},
	        {"the active label removed", "{\"metadata\": {\"labels\": {\"rollguard.io/canary-active\": null}}}", 0},
	        {"the replicas (an HPA)", "{\"spec\": {\"replicas\": 5}}", 0},
	        {"the template", "{\"spec\": {\"template\": {\"spec\": {\"nodeSelector\": null}}}}", 0},
	        {"deleted and created again", "{\"metadata\": {\"uid\": \"u-2\"}}", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(moves); i++) {
		json_t *merge = test_json_parse(moves[i].merge);
		json_t *moved = test_json_merge_apply(object, merge);
		int applies = json_patch_apply(moved, ops) == 0;
		if (applies != moves[i].applies)
			fail_msg("%s: the tests %s", moves[i].name, moves[i].applies ? "fail" : "pass");
		json_decref(moved);
		json_decref(merge);
	}

	/* nothing of rollguard's, no uid: the spec alone */
	json_t *bare = test_json_parse("{\"metadata\": {\"labels\": {\"app\": \"web\"}}, \"spec\": {\"replicas\": 1}}");
	json_t *bare_ops = json_array();
	assert_int_equal(canary_json_patch_guard(bare_ops, bare), 0);
	json_t *bare_want = test_json_parse("[{\"op\": \"test\", \"path\": \"/spec\", \"value\": {\"replicas\": 1}}]");
	test_assert_json_equal(bare_ops, bare_want, "the test operations of an object without rollguard's keys");
	json_decref(bare_want);
	json_decref(bare_ops);
	json_decref(bare);
	json_decref(want);
	json_decref(ops);
	json_decref(object);
}

/* The text is Go's encoding/json of the same operations, as the API
 * server encodes the object the tests compare with. */
static void test_canary_json_patch__encodes_as_go_does(void **state)
{
	(void)state;
	static const struct {
		const char *name, *value, *want;
	} cases[] = {
	        {"plain", "web:1.0 ~/", "\"web:1.0 ~/\""},
	        {"HTML characters", "a && b <x> c", "\"a \\u0026\\u0026 b \\u003cx\\u003e c\""},
	        {"line separators",
	         "a\xe2\x80\xa8"
	         "b\xe2\x80\xa9"
	         "c",
	         "\"a\\u2028b\\u2029c\""},
	        {"other UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xe2\x80\xa7",
	         "\"caf\xc3\xa9 \xe2\x82\xac \xe2\x80\xa7\""},
	        {"short escapes", "\"q\" \\ \n\r\t\b\f", "\"\\\"q\\\" \\\\ \\n\\r\\t\\b\\f\""},
	        {"control characters in lower case", "\x01\x1f\x0b\x7f", "\"\\u0001\\u001f\\u000b\x7f\""},
	        {"an escaped quote then '&'", "\\\"&", "\"\\\\\\\"\\u0026\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path", "/a", "value", cases[i].value);
		kube_buf text = KUBE_BUF_INIT;
		char want[256];
		assert_non_null(ops);
		assert_int_equal(canary_json_patch_encode(&text, ops), 0);
		snprintf(want, sizeof(want), "[{\"op\":\"test\",\"path\":\"/a\",\"value\":%s}]", cases[i].want);
		if (strcmp(kube_buf_cstr(&text), want) != 0)
			fail_msg("%s:\n got  %s\n want %s", cases[i].name, kube_buf_cstr(&text), want);
		/* and it still says the same */
		json_t *back = test_json_parse(kube_buf_cstr(&text));
		test_assert_json_equal(back, ops, cases[i].name);
		json_decref(back);
		kube_buf_dispose(&text);
		json_decref(ops);
	}
	/* numbers, booleans and null as Go writes them too */
	json_t *ops = test_json_parse(
	        "[{\"op\": \"test\", \"path\": \"/spec\", \"value\": {\"replicas\": 3, \"paused\": false,"
	        " \"x\": null, \"list\": [-1, true]}}]");
	kube_buf text = KUBE_BUF_INIT;
	assert_int_equal(canary_json_patch_encode(&text, ops), 0);
	assert_string_equal(kube_buf_cstr(&text), "[{\"op\":\"test\",\"path\":\"/spec\",\"value\":{\"replicas\":3,"
	                                          "\"paused\":false,\"x\":null,\"list\":[-1,true]}}]");
	kube_buf_dispose(&text);
	json_decref(ops);
}

/* A failing allocator (libkube's hook, which jansson uses too) that counts
 * the blocks alive, so a leak shows. */
static struct {
	long count, fail_at, live;
	int failed;
} oom;

typedef union {
	size_t size;
	max_align_t align;
} oom_header;

static void *oom_malloc(size_t size)
{
	if (oom.count++ == oom.fail_at) {
		oom.failed = 1;
		return NULL;
	}
	oom_header *h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	oom.live++;
	return h + 1;
}

static void *oom_realloc(void *ptr, size_t size)
{
	if (!ptr)
		return oom_malloc(size);
	if (oom.count++ == oom.fail_at) {
		oom.failed = 1;
		return NULL;
	}
	oom_header *h = realloc((oom_header *)ptr - 1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	return h + 1;
}

static void oom_free(void *ptr)
{
	if (!ptr)
		return;
	oom.live--;
	free((oom_header *)ptr - 1);
}

/* All three calls on a template patch, as one text (NULL when one
 * fails). */
static char *oom_call(const json_t *object, const json_t *merge)
{
	json_t *ops = json_array();
	kube_buf text = KUBE_BUF_INIT;
	char *out = NULL;
	if (ops && !canary_json_patch_guard(ops, object) && !canary_json_patch_from_merge(ops, object, merge) &&
	    !canary_json_patch_encode(&text, ops))
		out = strdup(kube_buf_cstr(&text));
	kube_buf_dispose(&text);
	json_decref(ops);
	return out;
}

/* Each allocation failing in turn: the calls fail or give the right text,
 * and leak nothing. */
static void test_canary_json_patch__survives_running_out_of_memory(void **state)
{
	(void)state;
	static const kube_allocator failing = {oom_malloc, oom_realloc, oom_free};
	json_t *object = test_json_parse(deployment);
	json_t *merge = test_json_parse(
	        "{\"metadata\": {\"annotations\": {\"rollguard.io/canary\": \"a&b\", \"gone\": null},"
	        " \"labels\": {\"new/key\": \"1\"}}, \"spec\": {\"replicas\": 4, \"template\": {\"spec\":"
	        " {\"nodeSelector\": null, \"tolerations\": [{\"key\": \"k\"}], \"affinity\": {\"a\": {"
	        "\"b\": null, \"c\": 1}}}}}}");
	char *want = oom_call(object, merge);
	assert_non_null(want);
	for (long n = 0;; n++) {
		memset(&oom, 0, sizeof(oom));
		oom.fail_at = n;
		kube_allocator_set(&failing);
		char *got = oom_call(object, merge);
		kube_allocator_set(NULL);
		if (oom.live)
			fail_msg("allocation %ld failing: %ld block(s) leaked", n, oom.live);
		if (got && strcmp(got, want) != 0)
			fail_msg("allocation %ld failing: a wrong result %s", n, got);
		int done = !oom.failed;
		if (done)
			assert_non_null(got);
		free(got);
		if (done)
			break;
	}
	free(want);
	json_decref(merge);
	json_decref(object);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_json_patch__translates_merge_patches),
	        cmocka_unit_test(test_canary_json_patch__escapes_pointer_tokens),
	        cmocka_unit_test(test_canary_json_patch__tests_what_a_run_owns),
	        cmocka_unit_test(test_canary_json_patch__encodes_as_go_does),
	        cmocka_unit_test(test_canary_json_patch__survives_running_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
