/* Tests of plugins/canary/access.c: which SelfSubjectRulesReview rules
 * grant a verb (the up-front check; the end-to-end side is
 * e2e/suites/test_rbac.sh), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "access.h"

static void test_canary_access__rules_allow(void **state)
{
	(void)state;
	/* what the API server answers for a user bound to docs/examples/rbac/canary.yaml
	 * plus system:basic-user's selfsubject* rules, one verb dropped */
	json_t *rules =
	        json_loads("[{\"verbs\":[\"get\",\"list\",\"watch\",\"patch\",\"delete\"],\"apiGroups\":[\"apps\"],"
	                   "\"resources\":[\"deployments\"]},"
	                   "{\"verbs\":[\"list\",\"watch\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"]},"
	                   "{\"verbs\":[\"create\"],\"apiGroups\":[\"authorization.k8s.io\"],"
	                   "\"resources\":[\"selfsubjectrulesreviews\"]},"
	                   "{\"verbs\":[\"create\"],\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\"],"
	                   "\"resourceNames\":[\"web\"]},"
	                   "{\"verbs\":[\"*\"],\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"*\"]}]",
	                   0, NULL);
	assert_non_null(rules);
	static const struct {
		const char *group, *resource, *verb;
		int allowed;
	} cases[] = {
	        {"apps", "deployments", "patch", 1},
	        {"apps", "deployments", "watch", 1},
	        {"apps", "deployments", "delete", 1},
	        /* only on an object named web: not for D-canary */
	        {"apps", "deployments", "create", 0},
	        {"", "pods", "watch", 1},
	        {"", "pods", "delete", 0},
	        /* same resource name, other group */
	        {"", "deployments", "patch", 0},
	        {"extensions", "deployments", "patch", 0},
	        /* wildcards */
	        {"coordination.k8s.io", "leases", "create", 1},
	        {"coordination.k8s.io", "anything", "update", 1},
	        {"apps", "replicasets", "list", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = canary_rules_allow(rules, cases[i].group, cases[i].resource, cases[i].verb);
		if (got != cases[i].allowed)
			fail_msg("%s %s.%s: expected %d, got %d", cases[i].verb, cases[i].resource, cases[i].group,
			         cases[i].allowed, got);
	}
	assert_int_equal(canary_rules_allow(NULL, "apps", "deployments", "get"), 0);
	json_t *all = json_loads("[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]}]", 0, NULL);
	assert_int_equal(canary_rules_allow(all, "apps", "deployments", "create"), 1);
	json_decref(all);
	json_decref(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canary_access__rules_allow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
