/* Tests of plugins/canary/template.c: the pod template hash (stable under
 * key order, blind to rollguard's own labels, pinned to known values), and
 * --image and --set-env applied as kubectl set image / set env do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/error.h>

#include "template.h"
#include "test_support.h"

static const char web_template[] =
        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
        "\"nginx:1.27\",\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}],"
        "\"terminationGracePeriodSeconds\":30,\"enableServiceLinks\":false,\"x\":null,\"r\":1.5}}";

/* The same template written in another order at every level. */
static const char web_template_reordered[] =
        "{\"spec\":{\"r\":1.5,\"x\":null,\"enableServiceLinks\":false,\"terminationGracePeriodSeconds\":30,"
        "\"containers\":[{\"env\":[{\"value\":\"1\",\"name\":\"A\"}],\"ports\":[{\"containerPort\":80}],"
        "\"image\":\"nginx:1.27\",\"name\":\"app\"}]},\"metadata\":{\"labels\":{\"app\":\"web\"}}}";

static void hash_of(char *out, const char *text)
{
	json_t *value = test_json_parse(text);
	assert_int_equal(canary_template_hash(out, value), 0);
	json_decref(value);
}

static void test_canary_template__hash_is_pinned(void **state)
{
	char hash[11];
	(void)state;
	/* Values from an independent implementation of the documented walk
	 * (FNV-1a 32 over tagged, length-prefixed, key-sorted values, then
	 * Kubernetes' SafeEncodeString of the 10-digit decimal). Revisions
	 * name running canaries: these must never change. */
	hash_of(hash, "{}");
	assert_string_equal(hash, "55cd59544b");
	hash_of(hash, web_template);
	assert_string_equal(hash, "4dc9cf94c4");
	for (size_t i = 0; i < 10; i++)
		assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", hash[i]));
	assert_int_equal(hash[10], '\0');
}

static void test_canary_template__hash_ignores_key_order(void **state)
{
	char a[11], b[11];
	(void)state;
	hash_of(a, web_template);
	hash_of(b, web_template_reordered);
	assert_string_equal(a, b);
}

static void test_canary_template__hash_differs_for_different_templates(void **state)
{
	static const char *const variants[] = {
	        /* another image */
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.28\"}]}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}]}}",
	        /* a string where a number was */
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}],\"n\":\"1\"}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}],\"n\":1}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}],\"n\":1.0}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}],\"n\":true}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
	        "\"nginx:1.27\"}],\"n\":null}}",
	        /* where one string ends and the next begins */
	        "{\"metadata\":{\"labels\":{\"ab\":\"c\"}}}",
	        "{\"metadata\":{\"labels\":{\"a\":\"bc\"}}}",
	        /* array order matters */
	        "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
	        "{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]}}",
	        /* nesting matters */
	        "{\"spec\":{\"a\":[[]]}}",
	        "{\"spec\":{\"a\":[[],[]]}}",
	        "{\"spec\":{\"a\":[{}]}}",
	        /* another label */
	        "{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"front\"}}}",
	        "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}",
	        /* rollguard's label names outside metadata.labels are data */
	        "{\"metadata\":{\"annotations\":{\"rollguard.io/track\":\"canary\"}}}",
	        "{\"metadata\":{\"annotations\":{}}}",
	        "{\"spec\":{\"nodeSelector\":{\"rollguard.io/revision\":\"x\"}}}",
	        "{\"spec\":{\"nodeSelector\":{}}}",
	};
	char hashes[sizeof(variants) / sizeof(variants[0])][11];
	(void)state;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		hash_of(hashes[i], variants[i]);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(hashes[i], hashes[j]) == 0)
				fail_msg("%s and %s both hash to %s", variants[j], variants[i], hashes[i]);
		}
	}
}

static void test_canary_template__hash_ignores_rollguard_labels(void **state)
{
	char plain[11], canary[11], other[11];
	(void)state;
	hash_of(plain, web_template);
	/* what a canary pod template carries on top of D's */
	json_t *tpl = test_json_parse(web_template);
	json_t *labels = json_object_get(json_object_get(tpl, "metadata"), "labels");
	assert_int_equal(json_object_set_new(labels, CANARY_LABEL_TRACK, json_string("canary")), 0);
	assert_int_equal(json_object_set_new(labels, CANARY_LABEL_REVISION, json_string("4dc9cf94c4")), 0);
	assert_int_equal(canary_template_hash(canary, tpl), 0);
	assert_string_equal(canary, plain);
	/* any other label counts */
	assert_int_equal(json_object_set_new(labels, "rollguard.io/other", json_string("x")), 0);
	assert_int_equal(canary_template_hash(other, tpl), 0);
	assert_string_not_equal(other, plain);
	json_decref(tpl);
}

static void test_canary_template__hash_when_memory_runs_out(void **state)
{
	char want[11], hash[11];
	json_t *tpl = test_json_parse(web_template);
	(void)state;
	assert_int_equal(canary_template_hash(want, tpl), 0);
	for (long n = 1;; n++) {
		test_alloc_fail_at(n);
		int rc = canary_template_hash(hash, tpl);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_true(used < n);
			assert_string_equal(hash, want);
			break;
		}
		assert_int_equal(rc, KUBE_ENOMEM);
		assert_true(n < 1000);
	}
	json_decref(tpl);
}

/* --- --image ----------------------------------------------------------- */

static const char two_containers[] =
        "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"image\":"
        "\"migrate:1\"}],\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.27\"},{\"name\":\"sidecar\","
        "\"image\":\"envoy:1\"}]}}";

static const char one_container[] =
        "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"image\":\"migrate:1\"}],\"containers\":[{\"name\":"
        "\"app\",\"image\":\"nginx:1.27\"}]}}";

static const char *image_of(const json_t *tpl, const char *list, size_t index)
{
	return json_string_value(
	        json_object_get(json_array_get(json_object_get(json_object_get(tpl, "spec"), list), index), "image"));
}

static void test_canary_template__set_image(void **state)
{
	static const struct {
		const char *tpl, *spec, *list;
		size_t index;
	} cases[] = {
	        /* without CONTAINER: the only container, not the init container */
	        {one_container, "nginx:1.28", "containers", 0},
	        {one_container, "app=nginx:1.28", "containers", 0},
	        {two_containers, "sidecar=envoy:2", "containers", 1},
	        {two_containers, "app=registry.example.com:5000/team/nginx@sha256:0123abcd", "containers", 0},
	        /* init containers are matched by name too */
	        {two_containers, "migrate=migrate:2", "initContainers", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		json_t *tpl = test_json_parse(cases[i].tpl), *before = test_json_parse(cases[i].tpl);
		if (canary_template_set_image(tpl, cases[i].spec, "deployment/web", err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		const char *equals = strchr(cases[i].spec, '=');
		assert_string_equal(image_of(tpl, cases[i].list, cases[i].index), equals ? equals + 1 : cases[i].spec);
		/* and nothing else changed */
		json_t *spec = json_object_get(before, "spec");
		json_t *container = json_array_get(json_object_get(spec, cases[i].list), cases[i].index);
		assert_int_equal(json_object_set_new(container, "image",
		                                     json_string(image_of(tpl, cases[i].list, cases[i].index))),
		                 0);
		assert_true(json_equal(tpl, before));
		json_decref(tpl);
		json_decref(before);
	}
}

static void test_canary_template__set_image_refusals(void **state)
{
	static const struct {
		const char *tpl, *spec, *what, *message;
	} cases[] = {
	        {two_containers, "x=nginx:1.28", "deployment/web",
	         "container \"x\" not found in deployment/web (containers: app, sidecar; init containers: migrate)"},
	        {"{\"spec\":{\"containers\":[{\"name\":\"app\"},{\"name\":\"sidecar\"}]}}", "x=nginx:1.28",
	         "deployment/web", "container \"x\" not found in deployment/web (containers: app, sidecar)"},
	        {two_containers, "nginx:1.28", "deployment/web",
	         "deployment/web has 2 containers (app, sidecar): name one as CONTAINER=IMAGE"},
	        {two_containers, "", "deployment/web", "--image \"\": empty image"},
	        {two_containers, "app=", "deployment/web", "--image \"app=\": empty image"},
	        {two_containers, "=nginx", "deployment/web", "--image \"=nginx\": empty container name before \"=\""},
	        {two_containers, "app=nginx 1.28", "deployment/web",
	         "--image \"nginx 1.28\": not an image reference (blanks or non-ASCII characters)"},
	        {two_containers, "app=nginx:1.28\n", "deployment/web", "--image \"nginx:1.28?\": not an image"},
	        {two_containers, "app=ngin\xc3\xa9", "deployment/web", "not an image reference"},
	        {"{\"spec\":{\"containers\":[]}}", "nginx", "deployment/web", "deployment/web has no containers"},
	        {"{\"spec\":{}}", "app=nginx", "deployment/web", "deployment/web has no containers"},
	        {"{}", "nginx", NULL, "the pod template has no containers"},
	        {"{\"spec\":{\"containers\":[\"app\"]}}", "nginx", "deployment/web",
	         "deployment/web: a container is not an object"},
	        {"{\"spec\":{\"containers\":[{\"name\":\"a\\nb\"},{}]}}", "x=nginx", "deployment/web",
	         "container \"x\" not found in deployment/web (containers: a?b, )"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		json_t *tpl = test_json_parse(cases[i].tpl), *before = test_json_parse(cases[i].tpl);
		assert_int_equal(canary_template_set_image(tpl, cases[i].spec, cases[i].what, err, sizeof(err)), -1);
		if (strcmp(err, cases[i].message) != 0 && !strstr(err, cases[i].message))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].message);
		assert_null(strchr(err, '\n'));
		assert_true(json_equal(tpl, before)); /* a refusal changes nothing */
		json_decref(tpl);
		json_decref(before);
	}
}

/* --- --set-env --------------------------------------------------------- */

static const char env_template[] =
        "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\"}],\"containers\":[{\"name\":\"app\",\"env\":["
        "{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":"
        "\"k\"}}},{\"name\":\"C\",\"value\":\"3\"},{\"name\":\"B\",\"value\":\"dup\"}]},{\"name\":\"sidecar\","
        "\"env\":null}]}}";

static void test_canary_template__set_env(void **state)
{
	static const struct {
		const char *spec, *result;
	} cases[] = {
	        /* added at the end where missing, in every container, init too */
	        {"D=4",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"env\":[{\"name\":\"D\",\"value\":\"4\"}]}],"
	         "\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\","
	         "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"3\"},"
	         "{\"name\":\"B\",\"value\":\"dup\"},{\"name\":\"D\",\"value\":\"4\"}]},{\"name\":\"sidecar\","
	         "\"env\":[{\"name\":\"D\",\"value\":\"4\"}]}]}}"},
	        /* replaced where it stands, valueFrom gone, the duplicate dropped */
	        {"B=two=2",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"env\":[{\"name\":\"B\",\"value\":\"two=2\"}]}]"
	         ","
	         "\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\","
	         "\"value\":\"two=2\"},{\"name\":\"C\",\"value\":\"3\"}]},{\"name\":\"sidecar\",\"env\":[{\"name\":"
	         "\"B\",\"value\":\"two=2\"}]}]}}"},
	        {"A=",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"env\":[{\"name\":\"A\",\"value\":\"\"}]}],"
	         "\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"\"},{\"name\":\"B\","
	         "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"3\"},"
	         "{\"name\":\"B\",\"value\":\"dup\"}]},{\"name\":\"sidecar\",\"env\":[{\"name\":\"A\",\"value\":"
	         "\"\"}]}]}}"},
	        /* removed everywhere, both copies */
	        {"B-",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\"}],\"containers\":[{\"name\":\"app\",\"env\":["
	         "{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"}]},{\"name\":\"sidecar\",\"env\":"
	         "null}]}}"},
	        /* removing what is not there changes nothing */
	        {"Z-",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\"}],\"containers\":[{\"name\":\"app\",\"env\":["
	         "{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\","
	         "\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"3\"},{\"name\":\"B\",\"value\":\"dup\"}]},{\"name\":"
	         "\"sidecar\",\"env\":null}]}}"},
	        /* names Kubernetes accepts */
	        {"-x.y_Z9=v",
	         "{\"spec\":{\"initContainers\":[{\"name\":\"migrate\",\"env\":[{\"name\":\"-x.y_Z9\",\"value\":\"v\"}]"
	         "}"
	         "],\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\","
	         "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"3\"},"
	         "{\"name\":\"B\",\"value\":\"dup\"},{\"name\":\"-x.y_Z9\",\"value\":\"v\"}]},{\"name\":\"sidecar\","
	         "\"env\":[{\"name\":\"-x.y_Z9\",\"value\":\"v\"}]}]}}"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		json_t *tpl = test_json_parse(env_template), *want = test_json_parse(cases[i].result);
		if (canary_template_set_env(tpl, cases[i].spec, err, sizeof(err)) != 0)
			fail_msg("case %zu (%s): %s", i, cases[i].spec, err);
		if (!json_equal(tpl, want)) {
			char *got = json_dumps(tpl, JSON_COMPACT);
			fail_msg("case %zu (%s): got %s", i, cases[i].spec, got);
		}
		json_decref(tpl);
		json_decref(want);
	}
}

static void test_canary_template__set_env_removes_an_emptied_list(void **state)
{
	char err[256] = "";
	json_t *tpl = test_json_parse(
	        "{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}");
	json_t *want = test_json_parse("{\"spec\":{\"containers\":[{\"name\":\"app\"}]}}");
	(void)state;
	assert_int_equal(canary_template_set_env(tpl, "A-", err, sizeof(err)), 0);
	assert_true(json_equal(tpl, want));
	json_decref(tpl);
	json_decref(want);
}

static void test_canary_template__set_env_refusals(void **state)
{
	static const struct {
		const char *tpl, *spec, *message;
	} cases[] = {
	        {env_template, "FOO", "--set-env \"FOO\": want NAME=VALUE, or NAME- to remove a variable"},
	        {env_template, "", "--set-env \"\": want NAME=VALUE"},
	        {env_template, "=x", "--set-env: \"\" is not a valid variable name"},
	        {env_template, "-", "--set-env: \"\" is not a valid variable name"},
	        {env_template, "1FOO=x",
	         "--set-env: \"1FOO\" is not a valid variable name (letters, digits, '_', '-' and '.', not starting "
	         "with "
	         "a digit)"},
	        {env_template, "FO O=x", "\"FO O\" is not a valid variable name"},
	        {env_template, "F\xc3\xa9=x", "\"F??\" is not a valid variable name"},
	        {env_template, "F\nO=x", "\"F?O\" is not a valid variable name"},
	        {env_template, "A=\xff", "--set-env A: the value is not UTF-8 text"},
	        {"{\"spec\":{\"containers\":[]}}", "A=1", "--set-env: the pod template has no containers"},
	        {"{}", "A=1", "--set-env: the pod template has no containers"},
	        {"{\"spec\":{\"containers\":[{\"name\":\"ok\"},{\"name\":\"app\",\"env\":{\"A\":\"1\"}}]}}", "A=1",
	         "--set-env: container \"app\" has an env that is not a list"},
	        {"{\"spec\":{\"containers\":[{\"name\":\"ok\"},7]}}", "A=1",
	         "--set-env: the pod template has a container that is not an object"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		json_t *tpl = test_json_parse(cases[i].tpl), *before = test_json_parse(cases[i].tpl);
		assert_int_equal(canary_template_set_env(tpl, cases[i].spec, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].message))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].message);
		assert_null(strchr(err, '\n'));
		assert_true(json_equal(tpl, before)); /* checked before anything changed */
		json_decref(tpl);
		json_decref(before);
	}
}

static void test_canary_template__set_env_changes_the_hash(void **state)
{
	char before[11], after[11], back[11];
	char err[256];
	json_t *tpl = test_json_parse(web_template);
	(void)state;
	assert_int_equal(canary_template_hash(before, tpl), 0);
	assert_int_equal(canary_template_set_env(tpl, "B=2", err, sizeof(err)), 0);
	assert_int_equal(canary_template_hash(after, tpl), 0);
	assert_string_not_equal(before, after);
	assert_int_equal(canary_template_set_env(tpl, "B-", err, sizeof(err)), 0);
	assert_int_equal(canary_template_hash(back, tpl), 0);
	assert_string_equal(before, back);
	json_decref(tpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_template__hash_is_pinned),
	        cmocka_unit_test(test_canary_template__hash_ignores_key_order),
	        cmocka_unit_test(test_canary_template__hash_differs_for_different_templates),
	        cmocka_unit_test(test_canary_template__hash_ignores_rollguard_labels),
	        cmocka_unit_test(test_canary_template__hash_when_memory_runs_out),
	        cmocka_unit_test(test_canary_template__set_image),
	        cmocka_unit_test(test_canary_template__set_image_refusals),
	        cmocka_unit_test(test_canary_template__set_env),
	        cmocka_unit_test(test_canary_template__set_env_removes_an_emptied_list),
	        cmocka_unit_test(test_canary_template__set_env_refusals),
	        cmocka_unit_test(test_canary_template__set_env_changes_the_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
