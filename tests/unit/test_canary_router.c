/* Tests of plugins/canary/router_json.c: which routing object sends to a
 * Service, the weighted HTTPRoute / VirtualService / TrafficSplit specs,
 * the nginx canary Ingress and merge patches, table-driven from JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "router_json.h"
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fails with both documents when got is not the JSON of want_text. */
static void assert_json_equal(const json_t *got, const char *want_text, const char *name)
{
	json_t *want = test_json_parse(want_text);
	test_assert_json_equal(got, want, name);
	json_decref(want);
}

static void test_canary_router__host_names_service(void **state)
{
	static const struct {
		const char *host;
		int want;
	} cases[] = {
	        {"web", 1},
	        {"web.shop", 1},
	        {"web.shop.svc", 1},
	        {"web.shop.svc.cluster.local", 1},
	        {"web.shop.svc.corp.example", 1},
	        {"web-canary", 0},
	        {"webx", 0},
	        {"web.other", 0},
	        {"web.other.svc.cluster.local", 0},
	        {"web.shopx", 0},
	        {"web.shop.svcx", 0},
	        {"web.shop.local", 0},
	        {"we", 0},
	        {"", 0},
	        {NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = canary_host_is_service(cases[i].host, "shop", "web");
		if (got != cases[i].want)
			fail_msg("host %s: got %d, want %d", cases[i].host ? cases[i].host : "(null)", got,
			         cases[i].want);
	}
}

enum route_type { HTTPROUTE, VIRTUALSERVICE, INGRESS, TRAFFICSPLIT };

static int routes_to(enum route_type type, const json_t *object, const char *service)
{
	switch (type) {
	case HTTPROUTE:
		return canary_httproute_routes_to(object, service);
	case VIRTUALSERVICE:
		return canary_virtualservice_routes_to(object, service);
	case INGRESS:
		return canary_ingress_routes_to(object, service);
	case TRAFFICSPLIT:
		return canary_trafficsplit_routes_to(object, service);
	}
	return -1;
}

static void test_canary_router__finds_what_routes_to_a_service(void **state)
{
	static const struct {
		const char *name;
		const char *object;
		enum route_type type;
		int want;
	} cases[] = {
	        {"httproute: backendRef",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"web\","
	         "\"port\":80}]}]}}",
	         HTTPROUTE, 1},
	        {"httproute: core group and Service kind spelled out",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"group\":\"\","
	         "\"kind\":\"Service\",\"name\":\"web\",\"namespace\":\"shop\",\"port\":80}]}]}}",
	         HTTPROUTE, 1},
	        {"httproute: in a later rule",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"api\"}]},"
	         "{\"backendRefs\":[{\"name\":\"web\"}]}]}}",
	         HTTPROUTE, 1},
	        {"httproute: another namespace's web",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"web\","
	         "\"namespace\":\"other\"}]}]}}",
	         HTTPROUTE, 0},
	        {"httproute: not a Service",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"group\":"
	         "\"example.com\",\"kind\":\"Bucket\",\"name\":\"web\"}]}]}}",
	         HTTPROUTE, 0},
	        {"httproute: other Service",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"webx\"}]}]}"
	         "}",
	         HTTPROUTE, 0},
	        {"httproute: no rules", "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{}}", HTTPROUTE, 0},
	        {"virtualservice: short host",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"http\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web\"}}]}]}}",
	         VIRTUALSERVICE, 1},
	        {"virtualservice: FQDN host in a tcp route",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"tcp\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web.shop.svc.cluster.local\"}}]}]}}",
	         VIRTUALSERVICE, 1},
	        {"virtualservice: another namespace",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"http\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web.other.svc.cluster.local\"}}]}]}}",
	         VIRTUALSERVICE, 0},
	        {"virtualservice: only in hosts",
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"hosts\":[\"web\"],\"http\":[{\"route\":[{"
	         "\"destination\":{\"host\":\"api\"}}]}]}}",
	         VIRTUALSERVICE, 0},
	        {"ingress: a path",
	         "{\"spec\":{\"rules\":[{\"host\":\"a.example\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":"
	         "\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}]}}]}}",
	         INGRESS, 1},
	        {"ingress: the default backend",
	         "{\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}}", INGRESS,
	         1},
	        {"ingress: other backends only",
	         "{\"spec\":{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"/\",\"backend\":{\"service\":{\"name\":"
	         "\"api\"}}}]}}]}}",
	         INGRESS, 0},
	        {"trafficsplit: root", "{\"spec\":{\"service\":\"web\",\"backends\":[]}}", TRAFFICSPLIT, 1},
	        {"trafficsplit: backend",
	         "{\"spec\":{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":100}]}}",
	         TRAFFICSPLIT, 1},
	        {"trafficsplit: neither",
	         "{\"spec\":{\"service\":\"api\",\"backends\":[{\"service\":\"api-v1\",\"weight\":100}]}}",
	         TRAFFICSPLIT, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *object = test_json_parse(cases[i].object);
		int got = routes_to(cases[i].type, object, "web");
		json_decref(object);
		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, got, cases[i].want);
	}
}

static void test_canary_router__detects_nginx_ingresses(void **state)
{
	static const struct {
		const char *object;
		int want;
	} cases[] = {
	        {"{\"spec\":{\"ingressClassName\":\"nginx\"}}", 1},
	        {"{\"spec\":{\"ingressClassName\":\"nginx-internal\"}}", 1},
	        {"{\"metadata\":{\"annotations\":{\"kubernetes.io/ingress.class\":\"nginx\"}},\"spec\":{}}", 1},
	        {"{\"spec\":{\"ingressClassName\":\"traefik\"}}", 0},
	        {"{\"spec\":{}}", 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *object = test_json_parse(cases[i].object);
		int got = canary_ingress_is_nginx(object);
		json_decref(object);
		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].object, got, cases[i].want);
	}
}

enum weighted_type { W_HTTPROUTE, W_VIRTUALSERVICE, W_TRAFFICSPLIT };

static int weighted(enum weighted_type type, json_t **out, const json_t *spec, int weight, char *err, size_t size)
{
	switch (type) {
	case W_HTTPROUTE:
		return canary_httproute_weighted(out, spec, "shop", "web", "web-canary", weight, err, size);
	case W_VIRTUALSERVICE:
		return canary_virtualservice_weighted(out, spec, "shop", "web", "web-canary", weight, err, size);
	case W_TRAFFICSPLIT:
		return canary_trafficsplit_weighted(out, spec, "web", "web-canary", weight, err, size);
	}
	return -1;
}

static const struct {
	const char *name;
	const char *spec;
	const char *want; /* the weighted spec, or NULL: refused */
	const char *err;  /* part of the reason when refused */
	enum weighted_type type;
	int weight;
} weighted_cases[] = {
        {"httproute: the only backend",
         "{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
         "\"/\"}}],\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"port\":80,\"weight\":"
         "1}]}]}",
         "{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
         "\"/\"}}],\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"port\":80,\"weight\":"
         "75},{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web-canary\",\"port\":80,\"weight\":25}]}]}",
         NULL, W_HTTPROUTE, 25},
        {"httproute: no weight given, 100 %", "{\"rules\":[{\"backendRefs\":[{\"name\":\"web\",\"port\":8080}]}]}",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"web\",\"port\":8080,\"weight\":0},{\"name\":\"web-canary\","
         "\"port\":8080,\"weight\":100}]}]}",
         NULL, W_HTTPROUTE, 100},
        {"httproute: other rules untouched",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\",\"port\":80}]},{\"backendRefs\":[{\"name\":\"web\","
         "\"port\":80}]}]}",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\",\"port\":80}]},{\"backendRefs\":[{\"name\":\"web\","
         "\"port\":80,\"weight\":95},{\"name\":\"web-canary\",\"port\":80,\"weight\":5}]}]}",
         NULL, W_HTTPROUTE, 5},
        {"httproute: shared rule keeps its proportions",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":1},{\"name\":\"web\",\"weight\":3}]}]}",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":100},{\"name\":\"web\",\"weight\":150},{"
         "\"name\":\"web-canary\",\"weight\":150}]}]}",
         NULL, W_HTTPROUTE, 50},
        {"httproute: weights too large to multiply",
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":20000},{\"name\":\"web\",\"weight\":1}]}]}",
         NULL, "too large", W_HTTPROUTE, 50},
        {"httproute: nothing sends to web", "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\"}]}]}", NULL,
         "no rule sends to service web", W_HTTPROUTE, 5},
        {"virtualservice: one destination",
         "{\"hosts\":[\"web\"],\"http\":[{\"route\":[{\"destination\":{\"host\":\"web\",\"port\":{\"number\":80}}}]}]}",
         "{\"hosts\":[\"web\"],\"http\":[{\"route\":[{\"destination\":{\"host\":\"web\",\"port\":{\"number\":80}},"
         "\"weight\":75},{\"destination\":{\"host\":\"web-canary\",\"port\":{\"number\":80}},\"weight\":25}]}]}",
         NULL, W_VIRTUALSERVICE, 25},
        {"virtualservice: FQDN host, subset dropped, headers kept",
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.shop.svc.cluster.local\",\"subset\":\"v1\"},"
         "\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":100}]}]}",
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.shop.svc.cluster.local\",\"subset\":\"v1\"},"
         "\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":50},{\"destination\":{\"host\":"
         "\"web-canary.shop.svc.cluster.local\"},\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":"
         "50}]}]}",
         NULL, W_VIRTUALSERVICE, 50},
        {"virtualservice: shared route keeps the sum",
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"legacy\"},\"weight\":20},{\"destination\":{\"host\":"
         "\"web\"},\"weight\":80}]}]}",
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"legacy\"},\"weight\":20},{\"destination\":{\"host\":"
         "\"web\"},\"weight\":60},{\"destination\":{\"host\":\"web-canary\"},\"weight\":20}]}]}",
         NULL, W_VIRTUALSERVICE, 25},
        {"virtualservice: tcp and http",
         "{\"tcp\":[{\"route\":[{\"destination\":{\"host\":\"web\"}}]}],\"http\":[{\"route\":[{\"destination\":{"
         "\"host\":\"api\"}}]}]}",
         "{\"tcp\":[{\"route\":[{\"destination\":{\"host\":\"web\"},\"weight\":90},{\"destination\":{\"host\":"
         "\"web-canary\"},\"weight\":10}]}],\"http\":[{\"route\":[{\"destination\":{\"host\":\"api\"}}]}]}",
         NULL, W_VIRTUALSERVICE, 10},
        {"virtualservice: nothing sends to web",
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.other.svc.cluster.local\"}}]}]}", NULL,
         "no route has a destination host web", W_VIRTUALSERVICE, 10},
        {"trafficsplit: root and backend", "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":100}]}",
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":95},{\"service\":\"web-canary\","
         "\"weight\":5}]}",
         NULL, W_TRAFFICSPLIT, 5},
        {"trafficsplit: v1alpha1 quantity",
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":\"100\"}]}",
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":50},{\"service\":\"web-canary\","
         "\"weight\":50}]}",
         NULL, W_TRAFFICSPLIT, 50},
        {"trafficsplit: shared with another backend",
         "{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":9},{\"service\":\"old\",\"weight\":"
         "1}]}",
         "{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":450},{\"service\":\"web-canary\","
         "\"weight\":450},{\"service\":\"old\",\"weight\":100}]}",
         NULL, W_TRAFFICSPLIT, 50},
        {"trafficsplit: a quantity that is not whole",
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":\"500m\"}]}", NULL, "not a whole number",
         W_TRAFFICSPLIT, 50},
        {"trafficsplit: root only", "{\"service\":\"web\",\"backends\":[{\"service\":\"web-v1\",\"weight\":100}]}",
         NULL, "no backend is service web", W_TRAFFICSPLIT, 50},
};

static void test_canary_router__weights_routing_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(weighted_cases); i++) {
		json_t *spec = test_json_parse(weighted_cases[i].spec), *out = NULL;
		char *before = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
		char err[256] = "";
		int rc = weighted(weighted_cases[i].type, &out, spec, weighted_cases[i].weight, err, sizeof(err));
		if (weighted_cases[i].want) {
			if (rc != 0)
				fail_msg("%s: refused: %s", weighted_cases[i].name, err);
			assert_json_equal(out, weighted_cases[i].want, weighted_cases[i].name);
		} else {
			if (rc == 0 || out)
				fail_msg("%s: accepted", weighted_cases[i].name);
			if (!strstr(err, weighted_cases[i].err))
				fail_msg("%s: reason \"%s\" lacks \"%s\"", weighted_cases[i].name, err,
				         weighted_cases[i].err);
		}
		/* the input is never changed */
		char *after = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(before, after);
		free(before);
		free(after);
		json_decref(out);
		json_decref(spec);
	}
}

/* Every weight of the ladder, then the merge patch back to the original:
 * the object returns to its spec exactly (what abort and the end do). */
static void test_canary_router__patches_back_to_the_original(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(weighted_cases); i++) {
		if (!weighted_cases[i].want)
			continue;
		json_t *original = test_json_parse(weighted_cases[i].spec), *current = json_deep_copy(original);
		static const int ladder[] = {1, 5, 25, 50, 99, 100};
		for (size_t k = 0; k < ARRAY_SIZE(ladder); k++) {
			json_t *want = NULL, *patch, *next;
			char err[256];
			assert_int_equal(weighted(weighted_cases[i].type, &want, original, ladder[k], err, sizeof(err)),
			                 0);
			patch = canary_merge_patch(current, want);
			next = test_json_merge_apply(current, patch);
			if (!json_equal(next, want))
				fail_msg("%s: the patch to %d%% does not give the weighted spec",
				         weighted_cases[i].name, ladder[k]);
			json_decref(current);
			current = next;
			json_decref(patch);
			json_decref(want);
		}
		json_t *patch = canary_merge_patch(current, original);
		json_t *restored = test_json_merge_apply(current, patch);
		if (!json_equal(restored, original))
			fail_msg("%s: not restored exactly", weighted_cases[i].name);
		json_t *none = canary_merge_patch(restored, original);
		assert_int_equal(json_object_size(none), 0);
		json_decref(none);
		json_decref(restored);
		json_decref(patch);
		json_decref(current);
		json_decref(original);
	}
}

static void test_canary_router__builds_merge_patches(void **state)
{
	static const struct {
		const char *current, *want, *patch;
	} cases[] = {
	        {"{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{}"},
	        {"{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{\"a\":2,\"b\":{\"c\":2}}", "{\"a\":2,\"b\":{\"d\":null}}"},
	        {"{\"a\":[1,2]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	        {"{\"a\":{\"x\":1}}", "{\"a\":[1]}", "{\"a\":[1]}"},
	        {"{}", "{\"n\":{\"m\":{}}}", "{\"n\":{\"m\":{}}}"},
	        {"{\"gone\":true,\"keep\":\"k\"}", "{\"keep\":\"k\",\"new\":0}", "{\"gone\":null,\"new\":0}"},
	        /* abort while Promoting: D's template (the canary's, a --patch
	         * added a nodeSelector, a toleration and an annotation) back to
	         * the saved one exactly */
	        {"{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"},\"annotations\":{\"a\":"
	         "\"1\"}},\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"},\"tolerations\":[{\"key\":\"k\"}],"
	         "\"containers\":[{\"name\":\"app\",\"image\":\"web:2\"}]}}",
	         "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},\"spec\":{"
	         "\"containers\":[{\"name\":\"app\",\"image\":\"web:1\"}]}}",
	         "{\"metadata\":{\"annotations\":null},\"spec\":{\"nodeSelector\":null,\"tolerations\":null,"
	         "\"containers\":[{\"name\":\"app\",\"image\":\"web:1\"}]}}"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *current = test_json_parse(cases[i].current), *want = test_json_parse(cases[i].want);
		json_t *patch = canary_merge_patch(current, want);
		assert_json_equal(patch, cases[i].patch, cases[i].current);
		json_t *applied = test_json_merge_apply(current, patch);
		assert_true(json_equal(applied, want));
		json_decref(applied);
		/* and rollguard's own application of it (the finish rebuilds the
		 * canary's template this way) */
		applied = canary_merge_apply(current, patch);
		assert_true(json_equal(applied, want));
		json_decref(applied);
		json_decref(patch);
		json_decref(current);
		json_decref(want);
	}
}

static const char ingress_in[] =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"shop\",\"namespace\":"
        "\"prod\",\"uid\":\"i-1\",\"resourceVersion\":\"7\",\"labels\":{\"team\":\"a\"},\"annotations\":{"
        "\"nginx.ingress.kubernetes.io/rewrite-target\":\"/\"}},\"spec\":{\"ingressClassName\":\"nginx\","
        "\"tls\":[{\"hosts\":[\"shop.example\"],\"secretName\":\"shop-tls\"}],\"rules\":[{\"host\":\"shop.example\","
        "\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\","
        "\"port\":{\"name\":\"http\"}}}},{\"path\":\"/api\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{"
        "\"name\":\"api\",\"port\":{\"number\":80}}}}]}},{\"host\":\"admin.example\",\"http\":{\"paths\":[{"
        "\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"admin\",\"port\":{\"number\":"
        "80}}}}]}}]}}";

static const char ingress_copy_want[] =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"shop-canary\","
        "\"namespace\":\"prod\",\"labels\":{\"app.kubernetes.io/managed-by\":\"rollguard\",\"rollguard.io/track\":"
        "\"canary\"},\"annotations\":{\"nginx.ingress.kubernetes.io/canary\":\"true\","
        "\"nginx.ingress.kubernetes.io/canary-weight\":\"25\",\"rollguard.io/canary-of\":\"web\"},"
        "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"d-1\","
        "\"controller\":false,\"blockOwnerDeletion\":false}]},\"spec\":{\"ingressClassName\":\"nginx\",\"tls\":[{"
        "\"hosts\":[\"shop.example\"],\"secretName\":\"shop-tls\"}],\"rules\":[{\"host\":\"shop.example\","
        "\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":"
        "\"web-canary\",\"port\":{\"name\":\"http\"}}}}]}}]}}";

static void test_canary_router__copies_an_ingress_for_nginx(void **state)
{
	static const struct {
		const char *name, *ingress, *want; /* want NULL: no copy */
	} cases[] = {
	        {"paths of web only, class and tls kept", ingress_in, ingress_copy_want},
	        {"default backend and the class annotation",
	         "{\"metadata\":{\"name\":\"d\",\"namespace\":\"prod\",\"annotations\":{\"kubernetes.io/"
	         "ingress.class\":"
	         "\"nginx\"}},\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}}",
	         "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"d-canary\","
	         "\"namespace\":\"prod\",\"labels\":{\"app.kubernetes.io/managed-by\":\"rollguard\","
	         "\"rollguard.io/track\":\"canary\"},\"annotations\":{\"nginx.ingress.kubernetes.io/canary\":\"true\","
	         "\"nginx.ingress.kubernetes.io/canary-weight\":\"25\",\"rollguard.io/canary-of\":\"web\","
	         "\"kubernetes.io/ingress.class\":\"nginx\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	         "\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"d-1\",\"controller\":false,"
	         "\"blockOwnerDeletion\":false}]},\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"web-canary\","
	         "\"port\":{\"number\":80}}}}}"},
	        {"nothing sends to web",
	         "{\"metadata\":{\"name\":\"x\",\"namespace\":\"prod\"},\"spec\":{\"rules\":[{\"http\":{\"paths\":[{"
	         "\"path\":\"/\",\"backend\":{\"service\":{\"name\":\"api\"}}}]}}]}}",
	         NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *ingress = test_json_parse(cases[i].ingress);
		char *before = json_dumps(ingress, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *copy = canary_ingress_copy(ingress, "web", "web-canary", 25, "web", "d-1");
		if (cases[i].want)
			assert_json_equal(copy, cases[i].want, cases[i].name);
		else if (copy)
			fail_msg("%s: a copy was made", cases[i].name);
		char *after = json_dumps(ingress, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(before, after); /* the user's Ingress is never changed */
		free(before);
		free(after);
		json_decref(copy);
		json_decref(ingress);
	}
}

/* --- out of memory ------------------------------------------------------
 * A jansson allocator whose allocation number fail_at fails. Every block
 * carries a header; a released block is kept (not handed back to malloc)
 * and poisoned with a json_t null holding one reference, so a json_decref
 * of a value already released (its owner took it even though the call
 * failed) shows as that reference gone, and a second free as a header
 * already marked free. */

#define BLOCK_LIVE  0x6c697665u
#define BLOCK_FREED 0x66726565u

struct block {
	union {
		struct {
			struct block *next; /* released blocks, newest first */
			size_t size;
			unsigned mark;
		} h;
		max_align_t align;
	} u;
};

static struct {
	long count, fail_at, live;
	int failed, misuse;
	struct block *freed;
} oom;

static void *oom_malloc(size_t size)
{
	if (oom.count++ == oom.fail_at) {
		oom.failed = 1;
		return NULL;
	}
	struct block *b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->u.h.size = size;
	b->u.h.mark = BLOCK_LIVE;
	b->u.h.next = NULL;
	oom.live++;
	return b + 1;
}

static void oom_free(void *ptr)
{
	if (!ptr)
		return;
	struct block *b = (struct block *)ptr - 1;
	if (b->u.h.mark != BLOCK_LIVE) {
		oom.misuse++; /* released twice */
		return;
	}
	b->u.h.mark = BLOCK_FREED;
	oom.live--;
	memset(ptr, 0x5a, b->u.h.size);
	if (b->u.h.size >= sizeof(json_t)) {
		json_t poison = {JSON_NULL, 1};
		memcpy(ptr, &poison, sizeof(poison));
	}
	b->u.h.next = oom.freed;
	oom.freed = b;
}

/* Hands the released blocks back; the number of them touched after their
 * release. */
static int oom_release(void)
{
	int touched = 0;
	while (oom.freed) {
		struct block *b = oom.freed;
		oom.freed = b->u.h.next;
		if (b->u.h.size >= sizeof(json_t)) {
			json_t seen;
			memcpy(&seen, b + 1, sizeof(seen));
			touched += seen.type != JSON_NULL || seen.refcount != 1;
		}
		free(b);
	}
	return touched;
}

/* One call of router_json.c on fixed input; returns its result (owned;
 * NULL when it failed). */
typedef json_t *(*oom_call)(const json_t *input);

static json_t *oom_weighted(enum weighted_type type, const json_t *input)
{
	json_t *out = NULL;
	char err[256];
	return weighted(type, &out, input, 30, err, sizeof(err)) ? NULL : out;
}

static json_t *oom_httproute(const json_t *input)
{
	return oom_weighted(W_HTTPROUTE, input);
}

static json_t *oom_virtualservice(const json_t *input)
{
	return oom_weighted(W_VIRTUALSERVICE, input);
}

static json_t *oom_trafficsplit(const json_t *input)
{
	return oom_weighted(W_TRAFFICSPLIT, input);
}

static json_t *oom_ingress(const json_t *input)
{
	return canary_ingress_copy(input, "web", "web-canary", 25, "web", "d-1");
}

static json_t *oom_merge_patch(const json_t *input)
{
	return canary_merge_patch(json_object_get(input, "current"), json_object_get(input, "want"));
}

/* n entries built by entry(i) (owned), in an array. */
static json_t *array_of(size_t n, json_t *(*entry)(size_t))
{
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, entry(i));
	return list;
}

/* Nine paths, all to web: the ninth grows the copy's array of paths. */
static json_t *ingress_path(size_t i)
{
	char path[16];
	snprintf(path, sizeof(path), "/p%zu", i);
	return json_pack("{s:s, s:s, s:{s:{s:s, s:{s:i}}}}", "path", path, "pathType", "Prefix", "backend", "service",
	                 "name", "web", "port", "number", 80);
}

static json_t *ingress_rule(size_t i)
{
	char host[32];
	snprintf(host, sizeof(host), "h%zu.example", i);
	return json_pack("{s:s, s:{s:o}}", "host", host, "http", "paths", array_of(9, ingress_path));
}

/* Eight entries of which four are web: inserting the canary's copies
 * grows the array. */
static json_t *backend_ref(size_t i)
{
	return json_pack("{s:s, s:i, s:i}", "name", i % 2 ? "web" : "other", "port", 80, "weight", 1);
}

static json_t *istio_dest(size_t i)
{
	return json_pack("{s:{s:s}, s:i}", "destination", "host", i % 2 ? "web" : "other", "weight", 10);
}

static json_t *split_backend(size_t i)
{
	return json_pack("{s:s, s:i}", "service", i % 2 ? "web" : "other", "weight", 1);
}

/* Each call with its first, second, ... allocation failing: it fails or
 * gives the right result, leaks nothing and releases nothing twice. */
static void test_canary_router__survives_running_out_of_memory(void **state)
{
	(void)state;
	struct {
		const char *name;
		oom_call call;
		json_t *input;
	} cases[] = {
	        {"httproute", oom_httproute,
	         json_pack("{s:[{s:o}, {s:o}]}", "rules", "backendRefs", array_of(8, backend_ref), "backendRefs",
	                   array_of(2, backend_ref))},
	        {"virtualservice", oom_virtualservice,
	         json_pack("{s:[{s:o}], s:[{s:o}]}", "http", "route", array_of(8, istio_dest), "tcp", "route",
	                   array_of(1, istio_dest))},
	        {"trafficsplit", oom_trafficsplit,
	         json_pack("{s:s, s:o}", "service", "web", "backends", array_of(8, split_backend))},
	        {"ingress", oom_ingress,
	         json_pack("{s:{s:s, s:s}, s:{s:s, s:o, s:{s:{s:s}}}}", "metadata", "name", "shop", "namespace", "prod",
	                   "spec", "ingressClassName", "nginx", "rules", array_of(9, ingress_rule), "defaultBackend",
	                   "service", "name", "web")},
	        {"merge patch", oom_merge_patch,
	         json_pack("{s:{s:i, s:{s:i, s:i}, s:s}, s:{s:i, s:{s:i, s:{s:[i]}}, s:s}}", "current", "a", 1, "b",
	                   "c", 2, "d", 3, "gone", "x", "want", "a", 2, "b", "c", 2, "e", "f", 1, "new", "y")},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_non_null(cases[i].input);
		json_t *want = cases[i].call(cases[i].input);
		assert_non_null(want);
		for (long n = 0;; n++) {
			memset(&oom, 0, sizeof(oom));
			oom.fail_at = n;
			json_set_alloc_funcs(oom_malloc, oom_free);
			json_t *got = cases[i].call(cases[i].input);
			int right = got && json_equal(got, want);
			json_decref(got);
			json_set_alloc_funcs(malloc, free);
			int touched = oom_release();
			if (oom.live || oom.misuse || touched)
				fail_msg("%s, allocation %ld failing: %ld block(s) leaked, %d released twice, %d used "
				         "after release",
				         cases[i].name, n, oom.live, oom.misuse, touched);
			if (got && !right)
				fail_msg("%s, allocation %ld failing: a wrong result", cases[i].name, n);
			if (!oom.failed) {
				assert_true(right); /* every allocation made: the normal result */
				break;
			}
		}
		json_decref(want);
		json_decref(cases[i].input);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_router__host_names_service),
	        cmocka_unit_test(test_canary_router__finds_what_routes_to_a_service),
	        cmocka_unit_test(test_canary_router__detects_nginx_ingresses),
	        cmocka_unit_test(test_canary_router__weights_routing_specs),
	        cmocka_unit_test(test_canary_router__patches_back_to_the_original),
	        cmocka_unit_test(test_canary_router__builds_merge_patches),
	        cmocka_unit_test(test_canary_router__copies_an_ingress_for_nginx),
	        cmocka_unit_test(test_canary_router__survives_running_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
