/* Tests of plugins/rollback-safe/manifest.c, diff.c, preflight.c and
 * plan.c: the manifest splitter, object identities, the three-way diff,
 * quantities, immutable fields, workload health, deletions, hooks, history
 * pruning, and whole plans built against a canned API server, from
 * hand-written releases and from records captured from real Helm
 * (tests/fixtures/helm). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "cli/exit.h"
#include "diff.h"
#include "manifest.h"
#include "plan.h"
#include "preflight.h"
#include "release.h"
#include "rollback.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A JSON value written as YAML (flow style keeps tests short). */
static json_t *yaml(const char *text)
{
	json_t *out = NULL;
	if (kube_yaml_parse_one(&out, text, strlen(text)) != 0)
		fail_msg("bad test YAML: %s: %s", kube_error_last()->message, text);
	return out;
}

static const char *obj_kind(const json_t *obj)
{
	return json_string_value(json_object_get(obj, "kind"));
}

static const char *obj_name(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static void assert_printable_line(const char *text)
{
	assert_true(text[0] != '\0');
	for (const char *c = text; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
}

/* ----- manifest ----- */

static const char helm_manifest[] = "---\n"
                                    "# Source: app/templates/config.yaml\n"
                                    "apiVersion: v1\n"
                                    "kind: ConfigMap\n"
                                    "metadata:\n"
                                    "  name: config\n"
                                    "data:\n"
                                    "  enabled: \"true\"\n"
                                    "---\n"
                                    "# Source: app/templates/empty.yaml\n"
                                    "---\n"
                                    "# Source: app/templates/null.yaml\n"
                                    "null\n"
                                    "--- # a comment after the separator\n"
                                    "# Source: app/templates/web.yaml\n"
                                    "apiVersion: apps/v1\n"
                                    "kind: Deployment\n"
                                    "metadata:\n"
                                    "  name: web\n"
                                    "  namespace: other\n"
                                    "spec:\n"
                                    "  replicas: 3\n"
                                    "---\n"
                                    "# Source: app/templates/list.yaml\n"
                                    "apiVersion: v1\n"
                                    "kind: List\n"
                                    "items:\n"
                                    "- {apiVersion: v1, kind: Service, metadata: {name: a}}\n"
                                    "- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n";

static void test_rollback_plan__manifest_splits_helm_documents(void **state)
{
	json_t *objects = NULL;
	char err[256] = "";
	(void)state;
	assert_int_equal(rollback_manifest_objects(&objects, helm_manifest, "ns", err, sizeof(err)), 0);
	assert_int_equal(json_array_size(objects), 4);
	const char *kinds[] = {"ConfigMap", "Deployment", "Service", "Secret"};
	const char *names[] = {"config", "web", "a", "b"};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(obj_kind(json_array_get(objects, i)), kinds[i]);
		assert_string_equal(obj_name(json_array_get(objects, i)), names[i]);
	}
	/* Kubernetes' typing: the quoted "true" stays a string, 3 is a number */
	assert_true(json_is_string(json_object_get(json_object_get(json_array_get(objects, 0), "data"), "enabled")));
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(json_array_get(objects, 1), "spec"), "replicas")),
	        3);
	/* namespaces are not defaulted by the splitter */
	assert_null(json_object_get(json_object_get(json_array_get(objects, 0), "metadata"), "namespace"));
	assert_string_equal(rollback_object_ns(json_array_get(objects, 0), "ns"), "ns");
	assert_string_equal(rollback_object_ns(json_array_get(objects, 1), "ns"), "other");
	json_decref(objects);
}

static void test_rollback_plan__manifest_empty_is_no_objects(void **state)
{
	const char *inputs[] = {NULL, "", "---\n", "---\n# Source: x.yaml\n---\n", "\n\n# only a comment\n"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		json_t *objects = NULL;
		char err[128] = "x";
		assert_int_equal(rollback_manifest_objects(&objects, inputs[i], NULL, err, sizeof(err)), 0);
		assert_true(json_is_array(objects));
		assert_int_equal(json_array_size(objects), 0);
		json_decref(objects);
	}
}

struct bad_manifest {
	const char *text;
	const char *reason; /* the whole message */
};

static void test_rollback_plan__manifest_refusals_name_line_and_source(void **state)
{
	static const struct bad_manifest cases[] = {
	        {"---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	         "---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
	         "manifest line 9 (c/templates/b.yaml): object has no metadata.name"},
	        {"---\n# Source: c/templates/a.yaml\nkind: ConfigMap\nmetadata: {name: a}\n",
	         "manifest line 3 (c/templates/a.yaml): object has no apiVersion"},
	        {"apiVersion: v1\nmetadata: {name: a}\n", "manifest line 1: object has no kind"},
	        {"---\n# Source: c/templates/s.yaml\n- a\n- b\n",
	         "manifest line 3 (c/templates/s.yaml): object is a list, not a Kubernetes object"},
	        {"---\n# Source: c/templates/l.yaml\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: "
	         "Secret, metadata: {name: ok}}\n- {apiVersion: v1, kind: Secret}\n",
	         "manifest line 3 (c/templates/l.yaml): List item 2 has no metadata.name"},
	        {"---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	         "---\n# Source: c/templates/bad.yaml\napiVersion: v1\nkind: [unclosed\n",
	         NULL /* a YAML error: checked below */},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *objects = (json_t *)1;
		char err[256] = "";
		assert_int_equal(rollback_manifest_objects(&objects, cases[i].text, "ns", err, sizeof(err)), -1);
		assert_null(objects);
		assert_printable_line(err);
		if (cases[i].reason)
			assert_string_equal(err, cases[i].reason);
		else
			assert_non_null(strstr(err, "(c/templates/bad.yaml)"));
	}
	/* the YAML reader's line counts from the manifest's start */
	json_t *objects = NULL;
	char err[256] = "";
	assert_int_equal(rollback_manifest_objects(&objects, cases[5].text, "ns", err, sizeof(err)), -1);
	int line = 0;
	assert_int_equal(sscanf(err, "manifest line %d", &line), 1);
	assert_true(line >= 8 && line <= 10); /* libyaml may place it at the end of the input */
}

static void test_rollback_plan__manifest_separators_follow_kubernetes(void **state)
{
	json_t *objects = NULL;
	char err[256] = "";
	(void)state;
	/* "---" with trailing blanks or \r separates; "----" inside a block
	 * scalar's indentation does not */
	const char *text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    y\n"
	                   "---  \r\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
	assert_int_equal(rollback_manifest_objects(&objects, text, NULL, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(objects), 2);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(json_array_get(objects, 0), "data"), "x")),
	        "---\ny\n");
	json_decref(objects);
}

static void test_rollback_plan__manifest_control_bytes_never_reach_the_message(void **state)
{
	json_t *objects = NULL;
	char err[256] = "";
	(void)state;
	const char *text = "---\n# Source: c/\x1b[31mevil\x7f.yaml\napiVersion: v1\nkind: ConfigMap\n";
	assert_int_equal(rollback_manifest_objects(&objects, text, NULL, err, sizeof(err)), -1);
	assert_printable_line(err);
	assert_non_null(strstr(err, "c/?[31mevil?.yaml"));
}

static void test_rollback_plan__manifest_out_of_memory(void **state)
{
	(void)state;
	json_t *expected = NULL;
	char err[256] = "";
	assert_int_equal(rollback_manifest_objects(&expected, helm_manifest, "ns", err, sizeof(err)), 0);
	for (long n = 1;; n++) {
		json_t *objects = NULL;
		test_alloc_fail_at(n);
		int rc = rollback_manifest_objects(&objects, helm_manifest, "ns", err, sizeof(err));
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_true(json_equal(objects, expected));
			json_decref(objects);
			if (used < n)
				break;
			continue;
		}
		assert_int_equal(rc, KUBE_ENOMEM);
		assert_string_equal(err, "out of memory");
		assert_null(objects);
		assert_true(n < 100000);
	}
	json_decref(expected);
}

static void test_rollback_plan__object_keys_match_as_helm_does(void **state)
{
	rollback_object_key a, b;
	char group[16];
	(void)state;
	rollback_api_group(group, sizeof(group), "apps/v1");
	assert_string_equal(group, "apps");
	rollback_api_group(group, sizeof(group), "v1");
	assert_string_equal(group, "");
	rollback_api_group(group, 4, "networking.k8s.io/v1");
	assert_string_equal(group, "net");
	json_t *hpa1 = yaml("{apiVersion: autoscaling/v1, kind: HorizontalPodAutoscaler, metadata: {name: web}}");
	json_t *hpa2 = yaml("{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web}}");
	json_t *ext = yaml("{apiVersion: extensions/v1beta1, kind: Deployment, metadata: {name: web}}");
	json_t *apps = yaml("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}");
	/* the version does not count */
	rollback_object_key_of(&a, hpa1, "ns");
	rollback_object_key_of(&b, hpa2, "ns");
	assert_true(rollback_object_key_equal(&a, &b));
	/* the group, namespace and name do */
	rollback_object_key_of(&b, hpa2, "other");
	assert_false(rollback_object_key_equal(&a, &b));
	rollback_object_key_of(&a, ext, "ns");
	rollback_object_key_of(&b, apps, "ns");
	assert_false(rollback_object_key_equal(&a, &b));
	char *text = rollback_object_key_string(&b);
	assert_string_equal(text, "apps\x1f"
	                          "Deployment\x1fns\x1fweb");
	kube_free(text);
	rollback_object_key_of(&a, apps, NULL);
	assert_string_equal(a.ns, "");
	json_decref(hpa1);
	json_decref(hpa2);
	json_decref(ext);
	json_decref(apps);
}

/* ----- quantities ----- */

struct quantity_case {
	const char *text;
	long double value;
};

static void test_rollback_plan__quantities_parse_as_kubernetes_reads_them(void **state)
{
	static const struct quantity_case good[] = {
	        {"0", 0},
	        {"100", 100},
	        {"1Ki", 1024},
	        {"1.5Ki", 1536},
	        {"10Mi", 10485760},
	        {"1Gi", 1073741824.0L},
	        {"2Ti", 2199023255552.0L},
	        {"1Ei", 1152921504606846976.0L},
	        {"500m", 0.5L},
	        {"250u", 0.00025L},
	        {"5n", 0.000000005L},
	        {"1k", 1000},
	        {"10G", 1e10L},
	        {"1E", 1e18L},
	        {"1e3", 1000},
	        {"1E3", 1000},
	        {"1.5e-3", 0.0015L},
	        {"+2", 2},
	        {"-1", -1},
	        {".5", 0.5L},
	        {"3.", 3},
	};
	static const char *const bad[] = {"", "Gi", "1x", "1.2.3", "1e", "1e+", "--1", "1Kib", "1 Gi", "0x10", "1K"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		long double value = -42;
		if (rollback_quantity_parse(&value, good[i].text) != 0)
			fail_msg("%s: refused", good[i].text);
		long double diff = value - good[i].value;
		if ((diff < 0 ? -diff : diff) > 1e-9L * (good[i].value < 0 ? -good[i].value : good[i].value) + 1e-15L)
			fail_msg("%s: %Lg, expected %Lg", good[i].text, value, good[i].value);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		long double value;
		if (rollback_quantity_parse(&value, bad[i]) != -1)
			fail_msg("%s: accepted", bad[i]);
	}
}

static void test_rollback_plan__quantities_compare_by_amount(void **state)
{
	int order = 7;
	(void)state;
	json_t *cases = yaml("[[1Gi, 1024Mi, 0], [0.5, 500m, 0], [0.1, 100m, 0], [1, 1000m, 0], [10Gi, 5Gi, 1],"
	                     " [5Gi, 10Gi, -1], [1G, 1Gi, -1], [2, '2', 0], [1e3, 1k, 0]]");
	size_t i;
	json_t *row;
	json_array_foreach(cases, i, row)
	{
		assert_int_equal(rollback_quantity_cmp(&order, json_array_get(row, 0), json_array_get(row, 1)), 0);
		assert_int_equal(order, json_integer_value(json_array_get(row, 2)));
	}
	json_t *pair = yaml("[1Gi, lots]");
	assert_int_equal(rollback_quantity_cmp(&order, json_array_get(pair, 0), json_array_get(pair, 1)), -1);
	json_decref(pair);
	pair = yaml("[{a: 1}, 1]");
	assert_int_equal(rollback_quantity_cmp(&order, json_array_get(pair, 0), json_array_get(pair, 1)), -1);
	json_decref(pair);
	json_decref(cases);
}

/* ----- the diff ----- */

#define LIVE_DEPLOYMENT                                                                                                \
	"{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: ns, uid: u1, resourceVersion: '9',"  \
	" generation: 4, creationTimestamp: '2030-01-01T00:00:00Z', labels: {app: web, tier: front},"                  \
	" annotations: {deployment.kubernetes.io/revision: '4'}},"                                                     \
	" spec: {replicas: 3, revisionHistoryLimit: 10, progressDeadlineSeconds: 600,"                                 \
	" selector: {matchLabels: {app: web}}, strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%,"         \
	" maxUnavailable: 25%}},"                                                                                      \
	" template: {metadata: {labels: {app: web}}, spec: {restartPolicy: Always, dnsPolicy: ClusterFirst,"           \
	" terminationGracePeriodSeconds: 30, nodeSelector: {disk: ssd},"                                               \
	" containers: [{name: sidecar, image: 'proxy:1', resources: {}},"                                              \
	" {name: app, image: 'web:2', imagePullPolicy: IfNotPresent, args: [--port, '8080'],"                          \
	" ports: [{containerPort: 8080, protocol: TCP}],"                                                              \
	" resources: {limits: {cpu: 500m, memory: 1Gi}, requests: {cpu: 100m}},"                                       \
	" env: [{name: A, value: '1'}, {name: B, value: '2'}]}]}}},"                                                   \
	" status: {replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3}}"

#define TARGET_DEPLOYMENT(image, extra)                                                                                \
	"{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, labels: {app: web},"                            \
	" creationTimestamp: null}, spec: {replicas: 3, selector: {matchLabels: {app: web}},"                          \
	" template: {metadata: {labels: {app: web}}, spec: {hostNetwork: false, containers: ["                         \
	"{name: app, image: '" image "', args: [--port, '8080'], ports: [{containerPort: 8080}],"                      \
	" resources: {limits: {cpu: 0.5, memory: 1024Mi}, requests: {cpu: 0.1}},"                                      \
	" env: [{name: B, value: '2'}, {name: A, value: '1'}], securityContext: {}}" extra "]}}}, status: {}}"

static void assert_paths(const rollback_diff *diff, const char *const *paths, size_t count)
{
	if (diff->count != count) {
		for (size_t i = 0; i < diff->count; i++)
			print_message("change: %s\n", diff->items[i].path);
		fail_msg("%zu changes, expected %zu", diff->count, count);
	}
	for (size_t i = 0; i < count; i++)
		assert_string_equal(diff->items[i].path, paths[i]);
}

/* Asserts that rollback_diff_objects(target, live, current) changes the
 * count paths and no others (YAML; current may be NULL). */
static void assert_diff(const char *target_yaml, const char *live_yaml, const char *current_yaml,
                        const char *const *paths, size_t count)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	json_t *target = yaml(target_yaml), *live = yaml(live_yaml);
	json_t *current = current_yaml ? yaml(current_yaml) : NULL;
	assert_int_equal(rollback_diff_objects(&diff, target, live, current), 0);
	assert_paths(&diff, paths, count);
	rollback_diff_dispose(&diff);
	json_decref(current);
	json_decref(target);
	json_decref(live);
}

static void test_rollback_plan__diff_target_subset_of_live_is_unchanged(void **state)
{
	(void)state;
	/* defaults, status, server metadata, quantities written differently,
	 * named lists in another order, empty values, null: all unchanged */
	assert_diff(TARGET_DEPLOYMENT("web:2", ""), LIVE_DEPLOYMENT, NULL, NULL, 0);
}

static void test_rollback_plan__diff_names_changed_fields(void **state)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	char text[256];
	(void)state;
	json_t *live = yaml(LIVE_DEPLOYMENT);
	json_t *target = yaml(TARGET_DEPLOYMENT("web:1", ", {name: init, image: 'busybox'}"));
	json_object_set_new(json_object_get(json_object_get(target, "spec"), "selector"), "x", json_string("y"));
	json_object_set_new(json_object_get(target, "spec"), "replicas", json_integer(2));
	assert_int_equal(rollback_diff_objects(&diff, target, live, NULL), 0);
	static const char *const paths[] = {"spec.replicas", "spec.selector.x",
	                                    "spec.template.spec.containers[app].image",
	                                    "spec.template.spec.containers[init]"};
	assert_paths(&diff, paths, ARRAY_SIZE(paths));
	assert_int_equal(json_integer_value(diff.items[0].live), 3);
	assert_int_equal(json_integer_value(diff.items[0].target), 2);
	assert_null(diff.items[1].live);
	assert_string_equal(json_string_value(diff.items[2].live), "web:2");
	assert_string_equal(json_string_value(diff.items[2].target), "web:1");
	assert_null(diff.items[3].live);
	assert_true(rollback_diff_touches(&diff, "spec.template"));
	assert_true(rollback_diff_touches(&diff, "spec.template.spec.containers"));
	assert_true(rollback_diff_touches(&diff, "spec.replicas"));
	assert_false(rollback_diff_touches(&diff, "spec.rep"));
	assert_false(rollback_diff_touches(&diff, "metadata"));
	rollback_diff_describe(text, sizeof(text), &diff, 2);
	assert_string_equal(text, "spec.replicas, spec.selector.x and 2 more");
	rollback_diff_describe(text, sizeof(text), &diff, 4);
	assert_string_equal(text, "spec.replicas, spec.selector.x, spec.template.spec.containers[app].image, "
	                          "spec.template.spec.containers[init]");
	rollback_diff_dispose(&diff);
	json_decref(target);
	json_decref(live);
}

static void test_rollback_plan__diff_lists_without_names_compare_by_index(void **state)
{
	static const char *const paths[] = {"spec.args", "spec.rules[1].host"};
	(void)state;
	assert_diff("{kind: X, spec: {args: [a, b], rules: [{host: a}, {host: c}]}}",
	            "{kind: X, spec: {args: [a, b, c], rules: [{host: a}, {host: b}]}}", NULL, paths,
	            ARRAY_SIZE(paths));
}

static void test_rollback_plan__diff_three_way_removes_what_current_set(void **state)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	(void)state;
	json_t *live = yaml(LIVE_DEPLOYMENT);
	json_t *target = yaml(TARGET_DEPLOYMENT("web:2", ""));
	/* the current revision set the nodeSelector and the sidecar; the
	 * target drops them, so the patch removes them. The tier label was
	 * never Helm's: it stays. */
	json_t *current = yaml(TARGET_DEPLOYMENT("web:2", ", {name: sidecar, image: 'proxy:1'}"));
	json_object_set_new(json_object_get(json_object_get(json_object_get(current, "spec"), "template"), "spec"),
	                    "nodeSelector", yaml("{disk: ssd}"));
	assert_int_equal(rollback_diff_objects(&diff, target, live, current), 0);
	static const char *const paths[] = {"spec.template.spec.containers[sidecar]",
	                                    "spec.template.spec.nodeSelector"};
	assert_paths(&diff, paths, ARRAY_SIZE(paths));
	assert_null(diff.items[0].target);
	assert_string_equal(json_string_value(json_object_get(diff.items[0].live, "image")), "proxy:1");
	assert_null(diff.items[1].target);
	rollback_diff_dispose(&diff);
	/* without the current revision's object: nothing to remove */
	assert_int_equal(rollback_diff_objects(&diff, target, live, NULL), 0);
	assert_int_equal(diff.count, 0);
	rollback_diff_dispose(&diff);
	json_decref(current);
	json_decref(target);
	json_decref(live);
}

/* Service web of api_version with spec (YAML flow, inside the braces). */
#define SERVICE_WEB(api_version, spec)                                                                                 \
	"{apiVersion: " api_version ", kind: Service, metadata: {name: web}, spec: {" spec "}}"
/* As a chart writes it: the fields the server allocates left empty. */
#define SERVICE_WEB_CHART_SPEC "type: NodePort, clusterIP: '', ports: [{name: http, port: 80, targetPort: 8080}]"

static void test_rollback_plan__diff_service_keeps_allocated_values(void **state)
{
	static const char live[] = SERVICE_WEB("v1", "type: NodePort, clusterIP: 10.0.0.10, clusterIPs: [10.0.0.10],"
	                                             " ports: [{name: http, port: 80, nodePort: 30080, protocol: TCP,"
	                                             " targetPort: 8080}]");
	static const char current[] =
	        SERVICE_WEB("v1", "clusterIP: 10.0.0.10, ports: [{name: http, port: 80, nodePort: 30080}]");
	static const char *const paths[] = {"spec.clusterIP"};
	(void)state;
	assert_diff(SERVICE_WEB("v1", SERVICE_WEB_CHART_SPEC), live, current, NULL, 0);
	/* a Service of another group is no Service of the core API */
	assert_diff(SERVICE_WEB("serving.knative.dev/v1", SERVICE_WEB_CHART_SPEC), live, NULL, paths,
	            ARRAY_SIZE(paths));
}

static void test_rollback_plan__diff_out_of_memory(void **state)
{
	(void)state;
	json_t *live = yaml(LIVE_DEPLOYMENT);
	json_t *target = yaml(TARGET_DEPLOYMENT("web:1", ", {name: init, image: 'busybox'}"));
	json_t *current = yaml(TARGET_DEPLOYMENT("web:2", ", {name: sidecar, image: 'proxy:1'}"));
	for (long n = 1;; n++) {
		rollback_diff diff = ROLLBACK_DIFF_INIT;
		rollback_findings findings = ROLLBACK_FINDINGS_INIT;
		test_alloc_fail_at(n);
		int rc = rollback_diff_objects(&diff, target, live, current);
		if (!rc)
			rc = rollback_check_immutable(&findings, target, live, &diff);
		long used = test_alloc_count();
		test_alloc_fail_at(0);
		rollback_diff_dispose(&diff);
		rollback_findings_dispose(&findings);
		if (rc == 0 && used < n)
			break;
		if (rc != 0)
			assert_int_equal(rc, KUBE_ENOMEM);
		assert_true(n < 10000);
	}
	json_decref(current);
	json_decref(target);
	json_decref(live);
}

/* ----- immutable fields ----- */

/* The findings of rollback_check_immutable(target, live). */
static void immutable(rollback_findings *out, const char *target_yaml, const char *live_yaml)
{
	rollback_diff diff = ROLLBACK_DIFF_INIT;
	json_t *target = yaml(target_yaml), *live = yaml(live_yaml);
	assert_int_equal(rollback_diff_objects(&diff, target, live, NULL), 0);
	assert_int_equal(rollback_check_immutable(out, target, live, &diff), 0);
	for (size_t i = 0; i < out->count; i++)
		assert_printable_line(out->items[i].message);
	rollback_diff_dispose(&diff);
	json_decref(target);
	json_decref(live);
}

static void assert_finding(const rollback_finding *finding, enum rollback_severity severity, const char *check,
                           const char *object, const char *needle)
{
	if (finding->severity != severity || strcmp(finding->check, check) != 0 ||
	    strcmp(finding->object, object) != 0 || !strstr(finding->message, needle))
		fail_msg("got %s %s %s: %s; expected %s %s %s: ...%s...", rollback_severity_name(finding->severity),
		         finding->check, finding->object, finding->message, rollback_severity_name(severity), check,
		         object, needle);
}

/* One rollback_check_immutable(target, live): the finding it makes, or
 * none. */
struct immutable_case {
	const char *target, *live; /* YAML */
	const char *object;        /* the BLOCK finding's object; NULL: no finding */
	const char *needle;        /* in its message */
};

static void check_immutable(const struct immutable_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		rollback_findings findings = ROLLBACK_FINDINGS_INIT;
		immutable(&findings, cases[i].target, cases[i].live);
		if (findings.count != (cases[i].object ? 1u : 0u))
			fail_msg("case %zu: %zu findings", i, findings.count);
		if (cases[i].object)
			assert_finding(&findings.items[0], ROLLBACK_SEVERITY_BLOCK, "immutable-field", cases[i].object,
			               cases[i].needle);
		rollback_findings_dispose(&findings);
	}
}

static void test_rollback_plan__immutable_workload_selector(void **state)
{
	(void)state;
	const char *kinds[] = {"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char target[256], live[256], object[64];
		(void)snprintf(target, sizeof(target),
		               "{apiVersion: apps/v1, kind: %s, metadata: {name: web}, spec: {selector: {matchLabels: "
		               "{app: web-v1}}, template: {metadata: {labels: {app: web-v1}}}}}",
		               kinds[i]);
		(void)snprintf(live, sizeof(live),
		               "{apiVersion: apps/v1, kind: %s, metadata: {name: web}, spec: {selector: {matchLabels: "
		               "{app: web}}, template: {metadata: {labels: {app: web}}}}}",
		               kinds[i]);
		(void)snprintf(object, sizeof(object), "%s/web", kinds[i]);
		const struct immutable_case selector_change = {
		        target, live, object,
		        "spec.selector is immutable: spec.selector.matchLabels.app (web -> web-v1)"};
		check_immutable(&selector_change, 1);
	}
	static const struct immutable_case cases[] = {
	        /* only the template changes: nothing immutable */
	        {"{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 1, selector: "
	         "{matchLabels: {app: web}}, template: {spec: {containers: [{name: a, image: 'x:1'}]}}}}",
	         "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: "
	         "{matchLabels: {app: web}}, template: {spec: {containers: [{name: a, image: 'x:2'}]}}}}",
	         NULL, NULL},
	        /* a Deployment of another group is not checked */
	        {"{apiVersion: example.com/v1, kind: Deployment, metadata: {name: web}, spec: {selector: 1}}",
	         "{apiVersion: example.com/v1, kind: Deployment, metadata: {name: web}, spec: {selector: 2}}", NULL,
	         NULL},
	};
	check_immutable(cases, ARRAY_SIZE(cases));
}

#define STATEFULSET_LIVE                                                                                               \
	"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {replicas: 1,"                           \
	" serviceName: db, podManagementPolicy: OrderedReady, selector: {matchLabels: {app: db}},"                     \
	" updateStrategy: {type: RollingUpdate}, minReadySeconds: 0, template: {spec: {containers:"                    \
	" [{name: db, image: 'pg:15'}]}}, volumeClaimTemplates: [{apiVersion: v1, kind:"                               \
	" PersistentVolumeClaim, metadata: {name: data}, spec: {accessModes: [ReadWriteOnce],"                         \
	" volumeMode: Filesystem, resources: {requests: {storage: 10Gi}}}, status: {phase: Pending}}]}}"

static void test_rollback_plan__immutable_statefulset_fields(void **state)
{
	static const struct immutable_case cases[] = {
	        /* the fields Kubernetes lets change */
	        {"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {replicas: 3, serviceName: db,"
	         " selector: {matchLabels: {app: db}}, updateStrategy: {type: OnDelete}, minReadySeconds: 5,"
	         " revisionHistoryLimit: 3, persistentVolumeClaimRetentionPolicy: {whenScaled: Delete},"
	         " template: {spec: {containers: [{name: db, image: 'pg:14'}]}}, volumeClaimTemplates: [{metadata:"
	         " {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}}]}}",
	         STATEFULSET_LIVE, NULL, NULL},
	        /* the ones it refuses */
	        {"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {replicas: 1, serviceName:"
	         " db-headless, podManagementPolicy: Parallel, selector: {matchLabels: {app: db}},"
	         " template: {spec: {containers: [{name: db, image: 'pg:15'}]}}, volumeClaimTemplates: [{metadata:"
	         " {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 5Gi}}}}]}}",
	         STATEFULSET_LIVE, "StatefulSet/db",
	         "spec.serviceName (db -> db-headless), spec.podManagementPolicy (OrderedReady -> Parallel), "
	         "spec.volumeClaimTemplates[data].spec.resources.requests.storage (10Gi -> 5Gi); Kubernetes "
	         "rejects the patch (helm/helm#7998)"},
	        /* a selector change is reported once, as the selector */
	        {"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {selector: {matchLabels: {app:"
	         " db2}}}}",
	         STATEFULSET_LIVE, "StatefulSet/db", "spec.selector is immutable"},
	};
	(void)state;
	check_immutable(cases, ARRAY_SIZE(cases));
}

#define SERVICE_LIVE                                                                                                   \
	"{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {clusterIP: 10.0.0.10, clusterIPs:"              \
	" [10.0.0.10]}}"
#define PVC_LIVE                                                                                                       \
	"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {accessModes:"                    \
	" [ReadWriteOnce], storageClassName: standard, volumeName: pvc-1, volumeMode: Filesystem,"                     \
	" resources: {requests: {storage: 10Gi}}}, status: {phase: Bound}}"

static void test_rollback_plan__immutable_job_service_pvc(void **state)
{
	static const struct immutable_case cases[] = {
	        /* Job: the template; labels the Job controller added live do not count */
	        {"{apiVersion: batch/v1, kind: Job, metadata: {name: migrate}, spec: {backoffLimit: 2, template: {spec:"
	         " {containers: [{name: m, image: 'mig:1'}]}}}}",
	         "{apiVersion: batch/v1, kind: Job, metadata: {name: migrate}, spec: {backoffLimit: 6, selector:"
	         " {matchLabels: {controller-uid: x}}, template: {metadata: {labels: {controller-uid: x}}, spec:"
	         " {containers: [{name: m, image: 'mig:2'}]}}}}",
	         "Job/migrate",
	         "spec.template.spec.containers[m].image (mig:2 -> mig:1); Kubernetes rejects the patch "
	         "(helm/helm#7725)"},
	        /* Service: a different clusterIP; an omitted one is fine */
	        {"{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {clusterIP: 10.0.0.99}}", SERVICE_LIVE,
	         "Service/web", "spec.clusterIP (10.0.0.10 -> 10.0.0.99)"},
	        {"{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {clusterIPs: [10.0.0.99]}}",
	         SERVICE_LIVE, "Service/web", "spec.clusterIPs[0] (10.0.0.10 -> 10.0.0.99)"},
	        {"{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 81}]}}",
	         "{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {clusterIP: 10.0.0.10, ports: [{port:"
	         " 80}]}}",
	         NULL, NULL},
	        /* PVC: shrinking; growing is the expansion Kubernetes allows */
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {accessModes:"
	         " [ReadWriteOnce], resources: {requests: {storage: 5Gi}}}}",
	         PVC_LIVE, "PersistentVolumeClaim/data", "spec.resources.requests.storage cannot shrink (10Gi -> 5Gi)"},
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {resources: {requests:"
	         " {storage: 20Gi}}}}",
	         PVC_LIVE, NULL, NULL},
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {resources: {requests:"
	         " {storage: 10240Mi}}}}",
	         PVC_LIVE, NULL, NULL},
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {storageClassName: fast,"
	         " accessModes: [ReadWriteMany]}}",
	         PVC_LIVE, "PersistentVolumeClaim/data",
	         "spec.storageClassName (standard -> fast), spec.accessModes[0] (ReadWriteOnce -> ReadWriteMany)"},
	};
	(void)state;
	check_immutable(cases, ARRAY_SIZE(cases));
}

/* ----- workload health ----- */

struct health_case {
	const char *live;
	int unhealthy;
	const char *why;
};

static void test_rollback_plan__workload_health_from_status(void **state)
{
	static const struct health_case cases[] = {
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {readyReplicas: 1,"
	         " availableReplicas: 1, unavailableReplicas: 2}}",
	         1, "1/3 ready"},
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {readyReplicas: 3,"
	         " availableReplicas: 3}}",
	         0, ""},
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {readyReplicas: 3,"
	         " availableReplicas: 2}}",
	         1, "2/3 ready"},
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 2}, status: {readyReplicas: 2,"
	         " availableReplicas: 2, conditions: [{type: Available, status: 'True'}, {type: Progressing, status:"
	         " 'False', reason: ProgressDeadlineExceeded}]}}",
	         1, "2/2 ready, progress deadline exceeded"},
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 0}, status: {}}", 0, ""},
	        {"{apiVersion: apps/v1, kind: Deployment, spec: {}, status: {}}", 1, "0/1 ready"},
	        {"{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 2}, status: {readyReplicas: 1}}", 1,
	         "1/2 ready"},
	        {"{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 2}, status: {readyReplicas: 2}}", 0, ""},
	        {"{apiVersion: apps/v1, kind: DaemonSet, status: {desiredNumberScheduled: 4, numberReady: 3}}", 1,
	         "3/4 ready"},
	        {"{apiVersion: apps/v1, kind: DaemonSet, status: {desiredNumberScheduled: 4, numberReady: 4}}", 0, ""},
	        {"{apiVersion: v1, kind: ConfigMap}", 0, ""},
	        {"{apiVersion: example.com/v1, kind: Deployment, spec: {replicas: 3}}", 0, ""},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[64] = "junk";
		json_t *live = yaml(cases[i].live);
		if (rollback_workload_unhealthy(why, sizeof(why), live) != cases[i].unhealthy)
			fail_msg("case %zu: expected %d", i, cases[i].unhealthy);
		assert_string_equal(why, cases[i].why);
		json_decref(live);
	}
}

/* ----- deletions ----- */

struct delete_case {
	const char *obj;
	const char *live; /* NULL: gone */
	int verdict;
	enum rollback_severity severity; /* of the last finding */
	const char *detail;
	size_t findings;
	const char *check;
	const char *needle;
};

static void test_rollback_plan__deletions_classified(void **state)
{
	static const struct delete_case cases[] = {
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}}",
	         "{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}}", ROLLBACK_DELETE_DELETED,
	         ROLLBACK_SEVERITY_BLOCK, "data loss: PersistentVolumeClaim", 1, "data-loss",
	         "revision 2 does not have PersistentVolumeClaim/data: the rollback deletes it"},
	        {"{apiVersion: v1, kind: PersistentVolume, metadata: {name: pv1}}",
	         "{apiVersion: v1, kind: PersistentVolume, metadata: {name: pv1}}", ROLLBACK_DELETE_DELETED,
	         ROLLBACK_SEVERITY_BLOCK, "data loss: PersistentVolume", 1, "data-loss", "PersistentVolume/pv1"},
	        {"{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: "
	         "a.example.com}}",
	         "{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: "
	         "a.example.com}}",
	         ROLLBACK_DELETE_DELETED, ROLLBACK_SEVERITY_BLOCK,
	         "data loss: CustomResourceDefinition and all its objects", 1, "data-loss",
	         "every object of that kind"},
	        /* a Namespace takes everything in it along */
	        {"{apiVersion: v1, kind: Namespace, metadata: {name: analytics}}",
	         "{apiVersion: v1, kind: Namespace, metadata: {name: analytics}}", ROLLBACK_DELETE_DELETED,
	         ROLLBACK_SEVERITY_BLOCK, "data loss: Namespace and everything in it", 1, "data-loss",
	         "Namespace/analytics"},
	        {"{apiVersion: v1, kind: ConfigMap, metadata: {name: extra}}",
	         "{apiVersion: v1, kind: ConfigMap, metadata: {name: extra}}", ROLLBACK_DELETE_DELETED,
	         ROLLBACK_SEVERITY_WARN, "not in revision 2", 1, "delete",
	         "revision 2 does not have ConfigMap/extra: the rollback deletes it"},
	        /* Helm reads the keep policy from the live object */
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}}",
	         "{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, annotations: "
	         "{helm.sh/resource-policy: keep}}}",
	         ROLLBACK_DELETE_KEPT, ROLLBACK_SEVERITY_INFO, "helm.sh/resource-policy: keep", 0, "", ""},
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, annotations: "
	         "{helm.sh/resource-policy: keep}}}",
	         "{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}}", ROLLBACK_DELETE_DELETED,
	         ROLLBACK_SEVERITY_BLOCK, "data loss: PersistentVolumeClaim", 1, "data-loss",
	         "PersistentVolumeClaim/data"},
	        {"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}}", NULL, ROLLBACK_DELETE_GONE,
	         ROLLBACK_SEVERITY_INFO, "already gone from the cluster", 0, "", ""},
	        /* a StatefulSet's claims stay, unless its retention policy deletes them */
	        {"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}}",
	         "{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {volumeClaimTemplates: "
	         "[{metadata:"
	         " {name: data}}, {metadata: {name: logs}}]}}",
	         ROLLBACK_DELETE_DELETED, ROLLBACK_SEVERITY_INFO, "not in revision 2", 2, "delete",
	         "volumeClaimTemplates (data, logs) stay"},
	        {"{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}}",
	         "{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {"
	         "persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}, volumeClaimTemplates: [{metadata:"
	         " {name: data}}]}}",
	         ROLLBACK_DELETE_DELETED, ROLLBACK_SEVERITY_BLOCK,
	         "data loss: the StatefulSet's PersistentVolumeClaims", 1, "data-loss",
	         "volumeClaimTemplates (data) with it"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		rollback_findings findings = ROLLBACK_FINDINGS_INIT;
		char detail[128] = "junk", object[128];
		json_t *obj = yaml(cases[i].obj), *live = cases[i].live ? yaml(cases[i].live) : NULL;
		int verdict = rollback_check_delete(&findings, detail, sizeof(detail), obj, live, 2);
		if (verdict != cases[i].verdict || findings.count != cases[i].findings)
			fail_msg("case %zu: verdict %d with %zu findings", i, verdict, findings.count);
		assert_string_equal(detail, cases[i].detail);
		(void)snprintf(object, sizeof(object), "%s/%s", obj_kind(obj), obj_name(obj));
		if (findings.count)
			assert_finding(&findings.items[findings.count - 1], cases[i].severity, cases[i].check, object,
			               cases[i].needle);
		if (findings.count == 2)
			assert_finding(&findings.items[0], ROLLBACK_SEVERITY_WARN, "delete", object, "deletes it");
		rollback_findings_dispose(&findings);
		json_decref(obj);
		json_decref(live);
	}
}

/* ----- hooks ----- */

static void test_rollback_plan__hooks_listed_in_run_order(void **state)
{
	rollback_findings findings = ROLLBACK_FINDINGS_INIT;
	(void)state;
	json_t *hooks = yaml("[{name: install-only, kind: Job, events: [pre-install], weight: -10},"
	                     " {name: notify, kind: Job, events: [post-rollback, post-upgrade], weight: 5,"
	                     " delete_policies: [hook-succeeded, hook-failed]},"
	                     " {name: migrate, kind: Job, events: [pre-upgrade, pre-rollback], weight: -5},"
	                     " {name: b-both, kind: Pod, events: [pre-rollback, post-rollback]},"
	                     " {name: a-both, kind: ConfigMap, events: [post-rollback], weight: 0,"
	                     " delete_policies: [before-hook-creation]},"
	                     " {name: broken, kind: Job, events: 3}, 7]");
	assert_int_equal(rollback_check_hooks(&findings, hooks), 0);
	assert_int_equal(findings.count, 4);
	static const char *const messages[] = {
	        "hook Job/migrate runs pre-rollback (weight -5, delete policy before-hook-creation)",
	        "hook ConfigMap/a-both runs post-rollback (weight 0, delete policy before-hook-creation)",
	        "hook Pod/b-both runs pre-rollback and post-rollback (weight 0, delete policy before-hook-creation)",
	        "hook Job/notify runs post-rollback (weight 5, delete policy hook-succeeded,hook-failed)",
	};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(findings.items[i].severity, ROLLBACK_SEVERITY_INFO);
		assert_string_equal(findings.items[i].check, "hook");
		assert_string_equal(findings.items[i].message, messages[i]);
	}
	assert_string_equal(findings.items[0].object, "Job/migrate");
	assert_false(rollback_hook_runs_on_rollback(json_array_get(hooks, 0)));
	assert_true(rollback_hook_runs_on_rollback(json_array_get(hooks, 1)));
	rollback_findings_dispose(&findings);
	assert_int_equal(rollback_check_hooks(&findings, NULL), 0);
	assert_int_equal(findings.count, 0);
	json_decref(hooks);
}

/* ----- history ----- */

/* A history of statuses[0] for revision first, statuses[1] for first+1... */
static rollback_history make_history(rollback_record *records, long long first, const char *statuses)
{
	rollback_history history = {records, strlen(statuses)};
	for (size_t i = 0; statuses[i]; i++) {
		memset(&records[i], 0, sizeof(records[i]));
		records[i].revision = first + (long long)i;
		records[i].status = statuses[i] == 'd'   ? ROLLBACK_STATUS_DEPLOYED
		                    : statuses[i] == 's' ? ROLLBACK_STATUS_SUPERSEDED
		                    : statuses[i] == 'p' ? ROLLBACK_STATUS_PENDING_UPGRADE
		                                         : ROLLBACK_STATUS_FAILED;
		records[i].status_known = 1;
	}
	return history;
}

struct prune_case {
	const char *statuses; /* from revision 1 */
	long history_max;
	const char *pruned; /* "1,3,4" */
};

static void test_rollback_plan__history_pruned_as_helm_does(void **state)
{
	static const struct prune_case cases[] = {
	        {"sssssssssd", 0, ""},
	        {"sssssssssd", 11, ""},
	        {"sssssssssd", 10, "1"},
	        {"sssssssssd", 3, "1,2,3,4,5,6,7,8"},
	        /* the newest revision labelled deployed is never pruned */
	        {"sdfff", 3, "1,3,4"},
	        {"dsfpf", 2, "2,3,4,5"},
	        {"sffff", 1, "1,2,3,4,5"},
	        {"sdffd", 1, "1,2,3,4"},
	        {"ssd", 4, ""},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		rollback_record records[16];
		rollback_history history = make_history(records, 1, cases[i].statuses);
		long long *pruned = NULL;
		size_t count = 99;
		char text[128] = "";
		size_t used = 0;
		assert_int_equal(rollback_history_pruned(&pruned, &count, &history, cases[i].history_max), 0);
		for (size_t j = 0; j < count; j++)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%lld", j ? "," : "", pruned[j]);
		if (strcmp(text, cases[i].pruned) != 0)
			fail_msg("%s max %ld: pruned %s, expected %s", cases[i].statuses, cases[i].history_max, text,
			         cases[i].pruned);
		assert_true(count ? pruned != NULL : pruned == NULL);
		kube_free(pruned);
	}
	/* the history's order does not matter */
	rollback_record records[4];
	rollback_history history = make_history(records, 1, "ssfd");
	rollback_record swap = records[0];
	records[0] = records[3];
	records[3] = swap;
	long long *pruned = NULL;
	size_t count = 0;
	assert_int_equal(rollback_history_pruned(&pruned, &count, &history, 3), 0);
	assert_int_equal(count, 2);
	assert_int_equal(pruned[0], 1);
	assert_int_equal(pruned[1], 2);
	kube_free(pruned);
}

struct history_case {
	long history_max;
	long long target_revision;
	size_t count; /* findings, all "history-prune" */
	struct {
		enum rollback_severity severity;
		const char *object, *needle;
	} findings[2];
};

static void test_rollback_plan__history_prune_of_the_target_blocks(void **state)
{
	static const struct history_case cases[] = {
	        {10,
	         1,
	         1,
	         {{ROLLBACK_SEVERITY_BLOCK, "revision 1",
	           "with --history-max 10 Helm prunes revision 1 from history before it writes revision 11, so the "
	           "target would be gone after the rollback; pass --history-max 11 or more (0 for no limit)"}}},
	        /* other revisions pruned: information */
	        {5,
	         8,
	         1,
	         {{ROLLBACK_SEVERITY_INFO, "revision 1",
	           "Helm prunes revisions 1, 2, 3, 4, 5, 6 from history before it writes revision 11 "
	           "(--history-max 5)"}}},
	        /* both, with the smallest --history-max that keeps the target */
	        {5,
	         3,
	         2,
	         {{ROLLBACK_SEVERITY_BLOCK, "revision 3", "pass --history-max 9 or more"},
	          {ROLLBACK_SEVERITY_INFO, "revision 1", "revisions 1, 2, 4, 5, 6 from"}}},
	        {0, 1, 0, {{ROLLBACK_SEVERITY_INFO, NULL, NULL}}},
	};
	rollback_record records[16];
	(void)state;
	rollback_history history = make_history(records, 1, "sssssssssd");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		rollback_findings findings = ROLLBACK_FINDINGS_INIT;
		assert_int_equal(
		        rollback_check_history(&findings, &history, cases[i].history_max, cases[i].target_revision), 0);
		if (findings.count != cases[i].count)
			fail_msg("case %zu: %zu findings, expected %zu", i, findings.count, cases[i].count);
		for (size_t j = 0; j < cases[i].count; j++)
			assert_finding(&findings.items[j], cases[i].findings[j].severity, "history-prune",
			               cases[i].findings[j].object, cases[i].findings[j].needle);
		rollback_findings_dispose(&findings);
	}
}

/* ----- whole plans against a canned API server ----- */

#define AGGREGATED "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
/* Aggregated discovery documents: the core group, and the named groups. */
static const char core_discovery[] =
        "{\"kind\":\"APIGroupDiscoveryList\",\"items\":["
        "{\"metadata\":{\"name\":\"\"},\"versions\":[{\"version\":\"v1\",\"resources\":["
        "{\"resource\":\"configmaps\",\"responseKind\":{\"kind\":\"ConfigMap\"},\"scope\":\"Namespaced\"},"
        "{\"resource\":\"services\",\"responseKind\":{\"kind\":\"Service\"},\"scope\":\"Namespaced\"},"
        "{\"resource\":\"secrets\",\"responseKind\":{\"kind\":\"Secret\"},\"scope\":\"Namespaced\"},"
        "{\"resource\":\"persistentvolumeclaims\",\"responseKind\":{\"kind\":\"PersistentVolumeClaim\"},\"scope\":"
        "\"Namespaced\"},"
        "{\"resource\":\"persistentvolumes\",\"responseKind\":{\"kind\":\"PersistentVolume\"},\"scope\":\"Cluster\"}"
        "]}]}"
        "]}";

static const char group_discovery[] =
        "{\"kind\":\"APIGroupDiscoveryList\",\"items\":["
        "{\"metadata\":{\"name\":\"apps\"},\"versions\":[{\"version\":\"v1\",\"resources\":["
        "{\"resource\":\"deployments\",\"responseKind\":{\"kind\":\"Deployment\"},\"scope\":\"Namespaced\"}"
        "]}]},"
        "{\"metadata\":{\"name\":\"batch\"},\"versions\":[{\"version\":\"v1\",\"resources\":["
        "{\"resource\":\"jobs\",\"responseKind\":{\"kind\":\"Job\"},\"scope\":\"Namespaced\"}"
        "]}]},"
        "{\"metadata\":{\"name\":\"policy\"},\"versions\":[{\"version\":\"v1\",\"resources\":["
        "{\"resource\":\"poddisruptionbudgets\",\"responseKind\":{\"kind\":\"PodDisruptionBudget\"},\"scope\":"
        "\"Namespaced\"}"
        "]}]},"
        "{\"metadata\":{\"name\":\"example.com\"},\"versions\":[{\"version\":\"v1alpha1\",\"resources\":["
        "{\"resource\":\"widgets\",\"responseKind\":{\"kind\":\"Widget\"},\"scope\":\"Namespaced\"}"
        "]}]}"
        "]}";

/* What the canned server answers: lists by resource path (before '?'). */
struct scenario {
	const char *paths[8];
	char *bodies[8];       /* JSON, owned */
	const char *forbidden; /* a path answered 403 */
	const char *missing;   /* a path answered 404 */
	atomic_int discovery_requests;
	atomic_int list_requests;
	atomic_int other_requests;
	char list_lines[8][512];
};

static struct scenario *scenario;

static const char *route_scenario(const char *req)
{
	static char reply[65536];
	char path[512];
	if (sscanf(req, "GET %511s ", path) != 1) {
		atomic_fetch_add(&scenario->other_requests, 1);
		return NULL;
	}
	if (strcmp(path, "/api") == 0 || strcmp(path, "/apis") == 0) {
		atomic_fetch_add(&scenario->discovery_requests, 1);
		(void)snprintf(reply, sizeof(reply),
		               "HTTP/1.1 200 OK\r\nContent-Type: " AGGREGATED "\r\nConnection: close\r\n\r\n%s",
		               strcmp(path, "/apis") == 0 ? group_discovery : core_discovery);
		return reply;
	}
	size_t resource_len = strcspn(path, "?");
	if (!path[resource_len]) {
		atomic_fetch_add(&scenario->other_requests, 1); /* a GET of one object */
		return NULL;
	}
	int n = atomic_fetch_add(&scenario->list_requests, 1);
	if (n < 8)
		(void)snprintf(scenario->list_lines[n], sizeof(scenario->list_lines[n]), "%s", path);
	if (scenario->forbidden && strncmp(path, scenario->forbidden, resource_len) == 0) {
		(void)snprintf(
		        reply, sizeof(reply),
		        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
		        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\","
		        "\"message\":\"deployments.apps is forbidden: User \\\"u\\\" cannot list "
		        "resource\",\"code\":403}");
		return reply;
	}
	if (scenario->missing && strncmp(path, scenario->missing, resource_len) == 0) {
		(void)snprintf(
		        reply, sizeof(reply),
		        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
		        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\","
		        "\"message\":\"the server could not find the requested resource\",\"code\":404}");
		return reply;
	}
	const char *body = "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}";
	for (size_t i = 0; i < ARRAY_SIZE(scenario->paths) && scenario->paths[i]; i++) {
		if (strlen(scenario->paths[i]) == resource_len && strncmp(path, scenario->paths[i], resource_len) == 0)
			body = scenario->bodies[i];
	}
	(void)snprintf(reply, sizeof(reply),
	               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n%s", body);
	return reply;
}

/* Sets the list at path to the items written as YAML. */
static void scenario_list(struct scenario *sc, size_t i, const char *path, const char *items_yaml)
{
	json_t *items = yaml(items_yaml);
	json_t *list =
	        json_pack("{s:s, s:{s:s}, s:o}", "kind", "List", "metadata", "resourceVersion", "5", "items", items);
	sc->paths[i] = path;
	sc->bodies[i] = json_dumps(list, JSON_COMPACT);
	json_decref(list);
}

static void scenario_dispose(struct scenario *sc)
{
	for (size_t i = 0; i < ARRAY_SIZE(sc->bodies); i++)
		kube_free(sc->bodies[i]);
}

static rollback_record make_record(long long revision, const char *manifest, const char *hooks_yaml)
{
	rollback_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.revision = revision;
	rec.status = ROLLBACK_STATUS_SUPERSEDED;
	rec.release = json_pack("{s:s, s:{s:s}, s:s, s:o, s:I, s:s}", "name", "app", "info", "status", "superseded",
	                        "manifest", manifest, "hooks", hooks_yaml ? yaml(hooks_yaml) : json_array(), "version",
	                        (json_int_t)revision, "namespace", "ns");
	assert_non_null(rec.release);
	return rec;
}

static const char current_manifest[] = "---\n"
                                       "# Source: app/templates/web.yaml\n"
                                       "apiVersion: apps/v1\n"
                                       "kind: Deployment\n"
                                       "metadata: {name: web}\n"
                                       "spec:\n"
                                       "  replicas: 2\n"
                                       "  selector: {matchLabels: {app: web}}\n"
                                       "  template:\n"
                                       "    metadata: {labels: {app: web}}\n"
                                       "    spec: {containers: [{name: app, image: 'web:2'}]}\n"
                                       "---\n"
                                       "# Source: app/templates/svc.yaml\n"
                                       "apiVersion: v1\n"
                                       "kind: Service\n"
                                       "metadata: {name: web}\n"
                                       "spec: {selector: {app: web}, ports: [{name: http, port: 80}]}\n"
                                       "---\n"
                                       "# Source: app/templates/extra.yaml\n"
                                       "apiVersion: v1\n"
                                       "kind: ConfigMap\n"
                                       "metadata: {name: extra}\n"
                                       "---\n"
                                       "# Source: app/templates/pvc.yaml\n"
                                       "apiVersion: v1\n"
                                       "kind: PersistentVolumeClaim\n"
                                       "metadata: {name: cache}\n"
                                       "spec: {resources: {requests: {storage: 1Gi}}}\n"
                                       "---\n"
                                       "# Source: app/templates/kept.yaml\n"
                                       "apiVersion: v1\n"
                                       "kind: ConfigMap\n"
                                       "metadata: {name: kept}\n"
                                       "---\n"
                                       "# Source: app/templates/gone.yaml\n"
                                       "apiVersion: v1\n"
                                       "kind: Secret\n"
                                       "metadata: {name: gone}\n";

static const char target_manifest[] = "---\n"
                                      "# Source: app/templates/web.yaml\n"
                                      "apiVersion: apps/v1\n"
                                      "kind: Deployment\n"
                                      "metadata: {name: web}\n"
                                      "spec:\n"
                                      "  replicas: 2\n"
                                      "  selector: {matchLabels: {app: web}}\n"
                                      "  template:\n"
                                      "    metadata: {labels: {app: web}}\n"
                                      "    spec: {containers: [{name: app, image: 'web:1'}]}\n"
                                      "---\n"
                                      "# Source: app/templates/svc.yaml\n"
                                      "apiVersion: v1\n"
                                      "kind: Service\n"
                                      "metadata: {name: web}\n"
                                      "spec: {selector: {app: web}, ports: [{name: http, port: 80}]}\n"
                                      "---\n"
                                      "# Source: app/templates/cfg.yaml\n"
                                      "apiVersion: v1\n"
                                      "kind: ConfigMap\n"
                                      "metadata: {name: cfg}\n"
                                      "---\n"
                                      "# Source: app/templates/pdb.yaml\n"
                                      "apiVersion: policy/v1beta1\n"
                                      "kind: PodDisruptionBudget\n"
                                      "metadata: {name: web}\n"
                                      "---\n"
                                      "# Source: app/templates/pv.yaml\n"
                                      "apiVersion: v1\n"
                                      "kind: PersistentVolume\n"
                                      "metadata: {name: pv-web, namespace: ignored}\n";

static const char target_hooks[] =
        "[{name: migrate, kind: Job, path: app/templates/migrate.yaml, events: [pre-rollback], weight: -5,"
        " manifest: \"apiVersion: batch/v1\\nkind: Job\\nmetadata: {name: migrate}\\n\"},"
        " {name: old-ing, kind: Ingress, path: app/templates/ing.yaml, events: [post-rollback],"
        " manifest: \"apiVersion: extensions/v1beta1\\nkind: Ingress\\nmetadata: {name: old-ing}\\n\"},"
        " {name: setup, kind: Job, path: app/templates/setup.yaml, events: [pre-install],"
        " manifest: \"apiVersion: nothing.example.com/v1\\nkind: Never\\nmetadata: {name: setup}\\n\"}]";

static void setup_scenario(struct scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	scenario_list(sc, 0, "/apis/apps/v1/namespaces/ns/deployments",
	              "[{metadata: {name: web, namespace: ns}, spec: {replicas: 2, selector: {matchLabels: {app: web}},"
	              " template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: 'web:2',"
	              " imagePullPolicy: IfNotPresent}]}}}, status: {replicas: 2, readyReplicas: 2, availableReplicas:"
	              " 2}}]");
	scenario_list(sc, 1, "/api/v1/namespaces/ns/services",
	              "[{metadata: {name: web, namespace: ns}, spec: {clusterIP: 10.0.0.1, selector: {app: web}, ports:"
	              " [{name: http, port: 80, protocol: TCP, targetPort: 80}]}}]");
	scenario_list(sc, 2, "/api/v1/namespaces/ns/configmaps",
	              "[{metadata: {name: extra, namespace: ns}}, {metadata: {name: kept, namespace: ns, annotations:"
	              " {helm.sh/resource-policy: keep}}}, {metadata: {name: unrelated, namespace: ns}}]");
	scenario_list(sc, 3, "/api/v1/namespaces/ns/persistentvolumeclaims",
	              "[{metadata: {name: cache, namespace: ns}, spec: {resources: {requests: {storage: 1Gi}}}}]");
}

/* Builds the plan of release app in namespace ns from revision 3
 * (current_text) back to 2 (target_text, with hooks) against a canned
 * server answering as sc says, stops the server, and asserts the return
 * code and the revisions. */
static void build_plan(struct scenario *sc, rollback_plan *plan, const char *current_text, const char *target_text,
                       const char *hooks, int expect_rc)
{
	struct test_api api;
	rollback_ctx ctx;
	char cache[512];
	memset(&ctx, 0, sizeof(ctx));
	scenario = sc;
	test_api_start(&api, NULL, route_scenario, test_tmp_path(cache, sizeof(cache), "cache"));
	ctx.client = api.client;
	ctx.ns = "ns";
	ctx.release = "app";
	rollback_record current = make_record(3, current_text, NULL);
	rollback_record target = make_record(2, target_text, hooks);
	rollback_record records[3];
	rollback_history history = make_history(records, 1, "ssd");
	int rc = rollback_plan_build(&ctx, plan, &current, &target, &history, 10);
	test_api_stop(&api); /* joins the server: what it wrote into sc is visible */
	assert_int_equal(rc, expect_rc);
	assert_int_equal(plan->current_revision, 3);
	assert_int_equal(plan->target_revision, 2);
	json_decref(current.release);
	json_decref(target.release);
}

struct expected_object {
	const char *kind, *name, *ns, *action, *detail;
};

static void assert_objects(const rollback_plan *plan, const struct expected_object *expected, size_t count)
{
	if (plan->object_count != count) {
		for (size_t i = 0; i < plan->object_count; i++)
			print_message("%s %s/%s %s\n", rollback_action_name(plan->objects[i].action),
			              plan->objects[i].kind, plan->objects[i].name, plan->objects[i].detail);
		for (size_t i = 0; i < plan->finding_count; i++)
			print_message("%s %s %s: %s\n", rollback_severity_name(plan->findings[i].severity),
			              plan->findings[i].check, plan->findings[i].object, plan->findings[i].message);
		fail_msg("%zu objects, expected %zu", plan->object_count, count);
	}
	for (size_t i = 0; i < count; i++) {
		const rollback_plan_object *object = &plan->objects[i];
		if (strcmp(object->kind, expected[i].kind) != 0 || strcmp(object->name, expected[i].name) != 0 ||
		    strcmp(object->ns, expected[i].ns) != 0 ||
		    strcmp(rollback_action_name(object->action), expected[i].action) != 0 ||
		    !strstr(object->detail, expected[i].detail))
			fail_msg("object %zu: %s %s/%s in '%s': %s", i, rollback_action_name(object->action),
			         object->kind, object->name, object->ns, object->detail);
	}
}

static void test_rollback_plan__build_against_the_cluster(void **state)
{
	struct scenario sc;
	rollback_plan plan;
	(void)state;
	setup_scenario(&sc);
	build_plan(&sc, &plan, current_manifest, target_manifest, target_hooks, 0);
	static const struct expected_object objects[] = {
	        {"Deployment", "web", "ns", "patch", "spec.template.spec.containers[app].image"},
	        {"Service", "web", "ns", "unchanged", ""},
	        {"ConfigMap", "cfg", "ns", "create", ""},
	        {"PersistentVolume", "pv-web", "", "create", ""},
	        {"ConfigMap", "extra", "ns", "delete", "not in revision 2"},
	        {"PersistentVolumeClaim", "cache", "ns", "delete", "data loss: PersistentVolumeClaim"},
	        {"ConfigMap", "kept", "ns", "keep", "helm.sh/resource-policy: keep"},
	        {"Secret", "gone", "ns", "delete", "already gone"},
	};
	assert_objects(&plan, objects, ARRAY_SIZE(objects));
	assert_string_equal(plan.objects[0].api_version, "apps/v1");
	/* findings in the order found */
	assert_int_equal(plan.finding_count, 6);
	assert_finding(&plan.findings[0], ROLLBACK_SEVERITY_BLOCK, "removed-api", "PodDisruptionBudget/web",
	               "PodDisruptionBudget/web in revision 2 uses policy/v1beta1 PodDisruptionBudget, which the "
	               "cluster no longer serves");
	assert_finding(&plan.findings[1], ROLLBACK_SEVERITY_BLOCK, "removed-api", "Ingress/old-ing",
	               "hook Ingress/old-ing in revision 2 uses extensions/v1beta1 Ingress");
	assert_finding(&plan.findings[2], ROLLBACK_SEVERITY_WARN, "delete", "ConfigMap/extra", "deletes it");
	assert_finding(&plan.findings[3], ROLLBACK_SEVERITY_BLOCK, "data-loss", "PersistentVolumeClaim/cache",
	               "deletes it");
	assert_finding(&plan.findings[4], ROLLBACK_SEVERITY_INFO, "hook", "Job/migrate",
	               "hook Job/migrate runs pre-rollback (weight -5, delete policy before-hook-creation)");
	assert_finding(&plan.findings[5], ROLLBACK_SEVERITY_INFO, "hook", "Ingress/old-ing",
	               "hook Ingress/old-ing runs post-rollback (weight 0, delete policy before-hook-creation)");
	assert_true(rollback_plan_blocked(&plan));
	/* the target's served objects, placed in their namespaces */
	assert_int_equal(json_array_size(plan.target_objects), 4);
	const json_t *cfg = json_array_get(plan.target_objects, 2);
	assert_string_equal(obj_name(cfg), "cfg");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "metadata"), "namespace")), "ns");
	const json_t *pv = json_array_get(plan.target_objects, 3);
	assert_null(json_object_get(json_object_get(pv, "metadata"), "namespace"));
	/* one LIST per type and namespace, a name selector for single objects;
	 * never a GET of one object; discovery fetched again only for the
	 * kinds it did not have */
	assert_int_equal(atomic_load(&sc.other_requests), 0);
	assert_int_equal(atomic_load(&sc.list_requests), 6);
	assert_int_equal(atomic_load(&sc.discovery_requests), 6);
	int deployments = 0, configmaps = 0, secrets = 0, pvs = 0;
	for (int i = 0; i < 6; i++) {
		const char *line = sc.list_lines[i];
		assert_non_null(strstr(line, "limit=500"));
		if (strncmp(line, "/apis/apps/v1/namespaces/ns/deployments?", 40) == 0)
			deployments += strstr(line, "fieldSelector=metadata.name%3Dweb") != NULL;
		if (strncmp(line, "/api/v1/namespaces/ns/configmaps?", 33) == 0)
			configmaps += strstr(line, "fieldSelector") == NULL;
		if (strncmp(line, "/api/v1/namespaces/ns/secrets?", 30) == 0)
			secrets += strstr(line, "fieldSelector=metadata.name%3Dgone") != NULL;
		if (strncmp(line, "/api/v1/persistentvolumes?", 26) == 0)
			pvs++;
	}
	assert_int_equal(deployments, 1);
	assert_int_equal(configmaps, 1);
	assert_int_equal(secrets, 1);
	assert_int_equal(pvs, 1);

	/* the renderings */
	json_t *objects_json = rollback_plan_objects_json(&plan);
	json_t *findings_json = rollback_plan_findings_json(&plan);
	json_t *expected_first = yaml("{apiVersion: apps/v1, kind: Deployment, namespace: ns, name: web, action: patch,"
	                              " detail: 'spec.template.spec.containers[app].image'}");
	assert_true(json_equal(json_array_get(objects_json, 0), expected_first));
	assert_int_equal(json_array_size(objects_json), plan.object_count);
	assert_string_equal(json_string_value(json_object_get(json_array_get(findings_json, 3), "severity")), "block");
	assert_string_equal(json_string_value(json_object_get(json_array_get(findings_json, 4), "severity")), "info");
	assert_string_equal(json_string_value(json_object_get(json_array_get(findings_json, 2), "check")), "delete");
	json_decref(expected_first);
	json_decref(objects_json);
	json_decref(findings_json);

	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);
	rollback_plan_print(&plan, stream, 0);
	(void)fclose(stream);
	assert_non_null(strstr(text, "ACTION"));
	assert_null(strstr(text, "NAMESPACE"));
	assert_non_null(strstr(text, "\nBLOCK data-loss PersistentVolumeClaim/cache: revision 2 does not have"));
	assert_non_null(strstr(text, "\nINFO hook Job/migrate: hook Job/migrate runs pre-rollback"));
	assert_non_null(strstr(text, "\nWARN delete ConfigMap/extra: "));
	free(text);
	stream = open_memstream(&text, &len);
	rollback_plan_print(&plan, stream, 1);
	(void)fclose(stream);
	assert_non_null(strstr(text, "NAMESPACE"));
	free(text);

	rollback_plan_dispose(&plan);
	assert_null(plan.objects);
	rollback_plan_dispose(&plan); /* twice is fine */
	scenario_dispose(&sc);
}

static void test_rollback_plan__build_unhealthy_unchanged_and_adopted(void **state)
{
	struct scenario sc;
	rollback_plan plan;
	(void)state;
	memset(&sc, 0, sizeof(sc));
	/* live web is the target already, with 1 of 2 pods ready; api exists
	 * live but the current revision does not have it */
	scenario_list(&sc, 0, "/apis/apps/v1/namespaces/ns/deployments",
	              "[{metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {app: web}},"
	              " template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: 'web:1'}]}}},"
	              " status: {readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 2}},"
	              " {metadata: {name: api}, spec: {replicas: 1, selector: {matchLabels: {app: api}}, template:"
	              " {spec: {containers: [{name: api, image: 'api:1'}]}}}, status: {readyReplicas: 1,"
	              " availableReplicas: 1}}]");
	const char *target = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"
	                     "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
	                     "    spec: {containers: [{name: app, image: 'web:1'}]}\n"
	                     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n"
	                     "  selector: {matchLabels: {app: api}}\n"
	                     "  template: {spec: {containers: [{name: api, image: 'api:1'}]}}\n";
	const char *current = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"
	                      "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
	                      "    spec: {containers: [{name: app, image: 'web:1'}]}\n";
	build_plan(&sc, &plan, current, target, NULL, 0);
	static const struct expected_object objects[] = {
	        {"Deployment", "web", "ns", "unhealthy",
	         "1/3 ready: the pod template does not change, so the rollback restarts nothing (helm/helm#9633); "
	         "patches spec.replicas"},
	        {"Deployment", "api", "ns", "unchanged", ""},
	};
	assert_objects(&plan, objects, ARRAY_SIZE(objects));
	assert_int_equal(plan.finding_count, 1);
	assert_finding(&plan.findings[0], ROLLBACK_SEVERITY_WARN, "adopt", "Deployment/api",
	               "Helm 3 stops the rollback with 'no Deployment with the name \"api\" found'");
	assert_false(rollback_plan_blocked(&plan));
	/* two Deployments: one plain list */
	assert_int_equal(atomic_load(&sc.list_requests), 1);
	assert_null(strstr(sc.list_lines[0], "fieldSelector"));
	rollback_plan_dispose(&plan);
	scenario_dispose(&sc);
}

static void test_rollback_plan__build_unreadable_manifest_blocks(void **state)
{
	struct scenario sc;
	rollback_plan plan;
	(void)state;
	memset(&sc, 0, sizeof(sc));
	build_plan(&sc, &plan, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
	           "---\n# Source: app/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\n", NULL, 0);
	assert_int_equal(plan.object_count, 0);
	assert_int_equal(plan.finding_count, 1);
	assert_finding(&plan.findings[0], ROLLBACK_SEVERITY_BLOCK, "manifest", "revision 2",
	               "revision 2's manifest cannot be read: manifest line 3 (app/templates/broken.yaml): object has "
	               "no metadata.name");
	assert_true(rollback_plan_blocked(&plan));
	assert_int_equal(json_array_size(plan.target_objects), 0);
	rollback_plan_dispose(&plan);
	scenario_dispose(&sc);
}

static void test_rollback_plan__build_api_error_is_an_exit_code(void **state)
{
	struct scenario sc;
	rollback_plan plan;
	char *text = NULL;
	size_t len = 0;
	(void)state;
	setup_scenario(&sc);
	sc.forbidden = "/apis/apps/v1/namespaces/ns/deployments";
	FILE *err = open_memstream(&text, &len);
	cli_error_stream_set(err);
	build_plan(&sc, &plan, current_manifest, target_manifest, target_hooks, CLI_EXIT_API);
	cli_error_stream_set(NULL);
	(void)fclose(err);
	assert_non_null(strstr(text, "error: listing deployments in namespace ns: "));
	assert_non_null(strstr(text, "cannot list resource"));
	/* one error line */
	assert_int_equal(strncmp(text, "error: ", 7), 0);
	assert_null(strstr(text + 1, "error: "));
	free(text);
	rollback_plan_dispose(&plan);
	scenario_dispose(&sc);
}

static void test_rollback_plan__build_list_404_is_a_kind_not_served(void **state)
{
	struct scenario sc;
	rollback_plan plan;
	(void)state;
	/* discovery (a cache, say) still has example.com/v1alpha1; the API
	 * server answers its LIST with 404 */
	memset(&sc, 0, sizeof(sc));
	sc.missing = "/apis/example.com/v1alpha1/namespaces/ns/widgets";
	const char *manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n---\n"
	                       "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata: {name: w}\n";
	build_plan(&sc, &plan, manifest, manifest, NULL, 0);
	static const struct expected_object objects[] = {
	        {"ConfigMap", "cfg", "ns", "create", ""},
	};
	assert_objects(&plan, objects, ARRAY_SIZE(objects));
	assert_int_equal(plan.finding_count, 2);
	assert_finding(&plan.findings[0], ROLLBACK_SEVERITY_BLOCK, "removed-api", "Widget/w",
	               "Widget/w in revision 2 uses example.com/v1alpha1 Widget, which the cluster no longer serves");
	assert_finding(&plan.findings[1], ROLLBACK_SEVERITY_BLOCK, "removed-api", "Widget/w",
	               "Widget/w in revision 3 uses example.com/v1alpha1 Widget, which the cluster no longer serves: "
	               "Helm cannot build the current revision either");
	assert_int_equal(json_array_size(plan.target_objects), 1);
	rollback_plan_dispose(&plan);
	scenario_dispose(&sc);
}

/* Records captured from real Helm: revision 2 (current) back to 1. */
static json_t *decode_fixture(const char *name, enum rollback_storage storage)
{
	char path[128], err[256] = "";
	size_t len = 0;
	json_t *release = NULL;
	(void)snprintf(path, sizeof(path), "helm/%s.release", name);
	char *value = test_fixture_read(path, &len);
	if (rollback_release_decode(&release, value, len, storage, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	free(value);
	return release;
}

static void test_rollback_plan__build_from_helm_fixtures(void **state)
{
	static const struct {
		const char *prefix;
		enum rollback_storage storage;
	} fixtures[] = {
	        {"helm3-secret", ROLLBACK_STORAGE_SECRET},
	        {"helm3-configmap", ROLLBACK_STORAGE_CONFIGMAP},
	        {"helm4-secret", ROLLBACK_STORAGE_SECRET},
	        {"helm4-configmap", ROLLBACK_STORAGE_CONFIGMAP},
	};
	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(fixtures); f++) {
		struct scenario sc;
		struct test_api api;
		rollback_plan plan;
		rollback_ctx ctx;
		char name[64], cache[512];
		rollback_record current, target, records[2];
		memset(&sc, 0, sizeof(sc));
		memset(&ctx, 0, sizeof(ctx));
		memset(&current, 0, sizeof(current));
		memset(&target, 0, sizeof(target));
		(void)snprintf(name, sizeof(name), "%s-v2", fixtures[f].prefix);
		current.release = decode_fixture(name, fixtures[f].storage);
		(void)snprintf(name, sizeof(name), "%s-v1", fixtures[f].prefix);
		target.release = decode_fixture(name, fixtures[f].storage);
		current.revision = 2;
		target.revision = 1;
		/* the cluster as revision 2 left it */
		json_t *objects = NULL;
		char err[256] = "";
		assert_int_equal(rollback_manifest_objects(&objects, rollback_release_manifest(current.release), NULL,
		                                           err, sizeof(err)),
		                 0);
		assert_int_equal(json_array_size(objects), 2);
		assert_string_equal(obj_kind(json_array_get(objects, 0)), "ConfigMap");
		assert_string_equal(obj_kind(json_array_get(objects, 1)), "Deployment");
		json_t *deployment = json_deep_copy(json_array_get(objects, 1));
		json_object_set_new(deployment, "status", yaml("{readyReplicas: 1, availableReplicas: 1}"));
		char *text = json_dumps(json_array_get(objects, 0), JSON_COMPACT);
		char items[4096];
		(void)snprintf(items, sizeof(items), "[%s]", text);
		kube_free(text);
		scenario_list(&sc, 0, "/api/v1/namespaces/ns/configmaps", items);
		text = json_dumps(deployment, JSON_COMPACT);
		(void)snprintf(items, sizeof(items), "[%s]", text);
		kube_free(text);
		scenario_list(&sc, 1, "/apis/apps/v1/namespaces/ns/deployments", items);
		json_decref(deployment);
		json_decref(objects);
		scenario = &sc;
		test_api_start(&api, NULL, route_scenario, test_tmp_path(cache, sizeof(cache), "cache-fixtures"));
		ctx.client = api.client;
		ctx.ns = "ns";
		rollback_history history = make_history(records, 1, "sd");
		assert_int_equal(rollback_plan_build(&ctx, &plan, &current, &target, &history, 0), 0);
		test_api_stop(&api);
		static const struct expected_object expected[] = {
		        {"ConfigMap", "fixture-config", "ns", "patch", "data.message"},
		        {"Deployment", "fixture-web", "ns", "unchanged", ""},
		};
		assert_objects(&plan, expected, ARRAY_SIZE(expected));
		assert_int_equal(plan.finding_count, 1);
		assert_finding(&plan.findings[0], ROLLBACK_SEVERITY_INFO, "hook", "Job/fixture-pre-rollback",
		               "hook Job/fixture-pre-rollback runs pre-rollback (weight 0, delete policy "
		               "before-hook-creation,hook-succeeded)");
		assert_false(rollback_plan_blocked(&plan));
		rollback_plan_dispose(&plan);
		scenario_dispose(&sc);
		json_decref(current.release);
		json_decref(target.release);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rollback_plan__manifest_splits_helm_documents),
	        cmocka_unit_test(test_rollback_plan__manifest_empty_is_no_objects),
	        cmocka_unit_test(test_rollback_plan__manifest_refusals_name_line_and_source),
	        cmocka_unit_test(test_rollback_plan__manifest_separators_follow_kubernetes),
	        cmocka_unit_test(test_rollback_plan__manifest_control_bytes_never_reach_the_message),
	        cmocka_unit_test(test_rollback_plan__manifest_out_of_memory),
	        cmocka_unit_test(test_rollback_plan__object_keys_match_as_helm_does),
	        cmocka_unit_test(test_rollback_plan__quantities_parse_as_kubernetes_reads_them),
	        cmocka_unit_test(test_rollback_plan__quantities_compare_by_amount),
	        cmocka_unit_test(test_rollback_plan__diff_target_subset_of_live_is_unchanged),
	        cmocka_unit_test(test_rollback_plan__diff_names_changed_fields),
	        cmocka_unit_test(test_rollback_plan__diff_lists_without_names_compare_by_index),
	        cmocka_unit_test(test_rollback_plan__diff_three_way_removes_what_current_set),
	        cmocka_unit_test(test_rollback_plan__diff_service_keeps_allocated_values),
	        cmocka_unit_test(test_rollback_plan__diff_out_of_memory),
	        cmocka_unit_test(test_rollback_plan__immutable_workload_selector),
	        cmocka_unit_test(test_rollback_plan__immutable_statefulset_fields),
	        cmocka_unit_test(test_rollback_plan__immutable_job_service_pvc),
	        cmocka_unit_test(test_rollback_plan__workload_health_from_status),
	        cmocka_unit_test(test_rollback_plan__deletions_classified),
	        cmocka_unit_test(test_rollback_plan__hooks_listed_in_run_order),
	        cmocka_unit_test(test_rollback_plan__history_pruned_as_helm_does),
	        cmocka_unit_test(test_rollback_plan__history_prune_of_the_target_blocks),
	        cmocka_unit_test(test_rollback_plan__build_against_the_cluster),
	        cmocka_unit_test(test_rollback_plan__build_unhealthy_unchanged_and_adopted),
	        cmocka_unit_test(test_rollback_plan__build_unreadable_manifest_blocks),
	        cmocka_unit_test(test_rollback_plan__build_api_error_is_an_exit_code),
	        cmocka_unit_test(test_rollback_plan__build_list_404_is_a_kind_not_served),
	        cmocka_unit_test(test_rollback_plan__build_from_helm_fixtures),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
