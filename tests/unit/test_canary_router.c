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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static json_t *parse(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);
	if (!value)
		fail_msg("bad test JSON (%s) at %d: %s", error.text, error.position, text);
	return value;
}

/* Fails with both documents when they differ. */
static void assert_json_equal(const json_t *got, const char *want_text, const char *name)
{
	json_t *want = parse(want_text);
	if (!json_equal((json_t *)got, want)) {
		char *got_text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *wanted = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		print_error("%s:\n got  %s\n want %s\n", name, got_text ? got_text : "(null)", wanted);
		free(got_text);
		free(wanted);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

/* RFC 7386 applied to a copy of target (owned), to check the patches. */
static json_t *merge_apply(const json_t *target, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)patch, key, value)
	{
		if (json_is_null(value)) {
			json_object_del(out, key);
			continue;
		}
		json_object_set_new(out, key, merge_apply(json_object_get(out, key), value));
	}
	return out;
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
		enum route_type type;
		const char *object;
		int want;
	} cases[] = {
	        {"httproute: backendRef", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"web\","
	         "\"port\":80}]}]}}",
	         1},
	        {"httproute: core group and Service kind spelled out", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"group\":\"\","
	         "\"kind\":\"Service\",\"name\":\"web\",\"namespace\":\"shop\",\"port\":80}]}]}}",
	         1},
	        {"httproute: in a later rule", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"api\"}]},"
	         "{\"backendRefs\":[{\"name\":\"web\"}]}]}}",
	         1},
	        {"httproute: another namespace's web", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"web\","
	         "\"namespace\":\"other\"}]}]}}",
	         0},
	        {"httproute: not a Service", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"group\":"
	         "\"example.com\",\"kind\":\"Bucket\",\"name\":\"web\"}]}]}}",
	         0},
	        {"httproute: other Service", HTTPROUTE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"webx\"}]}]}"
	         "}",
	         0},
	        {"httproute: no rules", HTTPROUTE, "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{}}", 0},
	        {"virtualservice: short host", VIRTUALSERVICE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"http\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web\"}}]}]}}",
	         1},
	        {"virtualservice: FQDN host in a tcp route", VIRTUALSERVICE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"tcp\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web.shop.svc.cluster.local\"}}]}]}}",
	         1},
	        {"virtualservice: another namespace", VIRTUALSERVICE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"http\":[{\"route\":[{\"destination\":{\"host\":"
	         "\"web.other.svc.cluster.local\"}}]}]}}",
	         0},
	        {"virtualservice: only in hosts", VIRTUALSERVICE,
	         "{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"hosts\":[\"web\"],\"http\":[{\"route\":[{"
	         "\"destination\":{\"host\":\"api\"}}]}]}}",
	         0},
	        {"ingress: a path", INGRESS,
	         "{\"spec\":{\"rules\":[{\"host\":\"a.example\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":"
	         "\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}]}}]}}",
	         1},
	        {"ingress: the default backend", INGRESS,
	         "{\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}}", 1},
	        {"ingress: other backends only", INGRESS,
	         "{\"spec\":{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"/\",\"backend\":{\"service\":{\"name\":"
	         "\"api\"}}}]}}]}}",
	         0},
	        {"trafficsplit: root", TRAFFICSPLIT, "{\"spec\":{\"service\":\"web\",\"backends\":[]}}", 1},
	        {"trafficsplit: backend", TRAFFICSPLIT,
	         "{\"spec\":{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":100}]}}", 1},
	        {"trafficsplit: neither", TRAFFICSPLIT,
	         "{\"spec\":{\"service\":\"api\",\"backends\":[{\"service\":\"api-v1\",\"weight\":100}]}}", 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *object = parse(cases[i].object);
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
		json_t *object = parse(cases[i].object);
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
	enum weighted_type type;
	const char *spec;
	int weight;
	const char *want; /* the weighted spec, or NULL: refused */
	const char *err;  /* part of the reason when refused */
} weighted_cases[] = {
        {"httproute: the only backend", W_HTTPROUTE,
         "{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
         "\"/\"}}],\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"port\":80,\"weight\":"
         "1}]}]}",
         25,
         "{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
         "\"/\"}}],\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"port\":80,\"weight\":"
         "75},{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web-canary\",\"port\":80,\"weight\":25}]}]}",
         NULL},
        {"httproute: no weight given, 100 %", W_HTTPROUTE,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"web\",\"port\":8080}]}]}", 100,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"web\",\"port\":8080,\"weight\":0},{\"name\":\"web-canary\","
         "\"port\":8080,\"weight\":100}]}]}",
         NULL},
        {"httproute: other rules untouched", W_HTTPROUTE,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\",\"port\":80}]},{\"backendRefs\":[{\"name\":\"web\","
         "\"port\":80}]}]}",
         5,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\",\"port\":80}]},{\"backendRefs\":[{\"name\":\"web\","
         "\"port\":80,\"weight\":95},{\"name\":\"web-canary\",\"port\":80,\"weight\":5}]}]}",
         NULL},
        {"httproute: shared rule keeps its proportions", W_HTTPROUTE,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":1},{\"name\":\"web\",\"weight\":3}]}]}", 50,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":100},{\"name\":\"web\",\"weight\":150},{"
         "\"name\":\"web-canary\",\"weight\":150}]}]}",
         NULL},
        {"httproute: weights too large to multiply", W_HTTPROUTE,
         "{\"rules\":[{\"backendRefs\":[{\"name\":\"legacy\",\"weight\":20000},{\"name\":\"web\",\"weight\":1}]}]}", 50,
         NULL, "too large"},
        {"httproute: nothing sends to web", W_HTTPROUTE, "{\"rules\":[{\"backendRefs\":[{\"name\":\"api\"}]}]}", 5,
         NULL, "no rule sends to service web"},
        {"virtualservice: one destination", W_VIRTUALSERVICE,
         "{\"hosts\":[\"web\"],\"http\":[{\"route\":[{\"destination\":{\"host\":\"web\",\"port\":{\"number\":80}}}]}]}",
         25,
         "{\"hosts\":[\"web\"],\"http\":[{\"route\":[{\"destination\":{\"host\":\"web\",\"port\":{\"number\":80}},"
         "\"weight\":75},{\"destination\":{\"host\":\"web-canary\",\"port\":{\"number\":80}},\"weight\":25}]}]}",
         NULL},
        {"virtualservice: FQDN host, subset dropped, headers kept", W_VIRTUALSERVICE,
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.shop.svc.cluster.local\",\"subset\":\"v1\"},"
         "\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":100}]}]}",
         50,
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.shop.svc.cluster.local\",\"subset\":\"v1\"},"
         "\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":50},{\"destination\":{\"host\":"
         "\"web-canary.shop.svc.cluster.local\"},\"headers\":{\"response\":{\"set\":{\"x\":\"1\"}}},\"weight\":"
         "50}]}]}",
         NULL},
        {"virtualservice: shared route keeps the sum", W_VIRTUALSERVICE,
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"legacy\"},\"weight\":20},{\"destination\":{\"host\":"
         "\"web\"},\"weight\":80}]}]}",
         25,
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"legacy\"},\"weight\":20},{\"destination\":{\"host\":"
         "\"web\"},\"weight\":60},{\"destination\":{\"host\":\"web-canary\"},\"weight\":20}]}]}",
         NULL},
        {"virtualservice: tcp and http", W_VIRTUALSERVICE,
         "{\"tcp\":[{\"route\":[{\"destination\":{\"host\":\"web\"}}]}],\"http\":[{\"route\":[{\"destination\":{"
         "\"host\":\"api\"}}]}]}",
         10,
         "{\"tcp\":[{\"route\":[{\"destination\":{\"host\":\"web\"},\"weight\":90},{\"destination\":{\"host\":"
         "\"web-canary\"},\"weight\":10}]}],\"http\":[{\"route\":[{\"destination\":{\"host\":\"api\"}}]}]}",
         NULL},
        {"virtualservice: nothing sends to web", W_VIRTUALSERVICE,
         "{\"http\":[{\"route\":[{\"destination\":{\"host\":\"web.other.svc.cluster.local\"}}]}]}", 10, NULL,
         "no route has a destination host web"},
        {"trafficsplit: root and backend", W_TRAFFICSPLIT,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":100}]}", 5,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":95},{\"service\":\"web-canary\","
         "\"weight\":5}]}",
         NULL},
        {"trafficsplit: v1alpha1 quantity", W_TRAFFICSPLIT,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":\"100\"}]}", 50,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":50},{\"service\":\"web-canary\","
         "\"weight\":50}]}",
         NULL},
        {"trafficsplit: shared with another backend", W_TRAFFICSPLIT,
         "{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":9},{\"service\":\"old\",\"weight\":"
         "1}]}",
         50,
         "{\"service\":\"web-root\",\"backends\":[{\"service\":\"web\",\"weight\":450},{\"service\":\"web-canary\","
         "\"weight\":450},{\"service\":\"old\",\"weight\":100}]}",
         NULL},
        {"trafficsplit: a quantity that is not whole", W_TRAFFICSPLIT,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web\",\"weight\":\"500m\"}]}", 50, NULL,
         "not a whole number"},
        {"trafficsplit: root only", W_TRAFFICSPLIT,
         "{\"service\":\"web\",\"backends\":[{\"service\":\"web-v1\",\"weight\":100}]}", 50, NULL,
         "no backend is service web"},
};

static void test_canary_router__weights_routing_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(weighted_cases); i++) {
		json_t *spec = parse(weighted_cases[i].spec), *out = NULL;
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
		json_t *original = parse(weighted_cases[i].spec), *current = json_deep_copy(original);
		static const int ladder[] = {1, 5, 25, 50, 99, 100};
		for (size_t k = 0; k < ARRAY_SIZE(ladder); k++) {
			json_t *want = NULL, *patch, *next;
			char err[256];
			assert_int_equal(weighted(weighted_cases[i].type, &want, original, ladder[k], err, sizeof(err)),
			                 0);
			patch = canary_merge_patch(current, want);
			next = merge_apply(current, patch);
			if (!json_equal(next, want))
				fail_msg("%s: the patch to %d%% does not give the weighted spec",
				         weighted_cases[i].name, ladder[k]);
			json_decref(current);
			current = next;
			json_decref(patch);
			json_decref(want);
		}
		json_t *patch = canary_merge_patch(current, original);
		json_t *restored = merge_apply(current, patch);
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
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *current = parse(cases[i].current), *want = parse(cases[i].want);
		json_t *patch = canary_merge_patch(current, want);
		assert_json_equal(patch, cases[i].patch, cases[i].current);
		json_t *applied = merge_apply(current, patch);
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
		json_t *ingress = parse(cases[i].ingress);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
