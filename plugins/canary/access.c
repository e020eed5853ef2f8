/* The up-front permission check of the commands that change several
 * objects with different verbs (start, abort, the finish, run). */
#include <string.h>

#include <kube/error.h>
#include <kube/log.h>

#include "access.h"
#include "cli/exit.h"

/* 1 when list (a JSON array of strings) holds value or "*". */
static int lists(const json_t *list, const char *value)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *s = json_string_value(item);
		if (s && (!strcmp(s, "*") || !strcmp(s, value)))
			return 1;
	}
	return 0;
}

const canary_need canary_needs_start[3] = {
        {"apps", "deployments", "patch"}, {"apps", "deployments", "create"}, {"", "pods", "watch"}};
const canary_need canary_needs_finish[3] = {
        {"apps", "deployments", "patch"}, {"apps", "deployments", "watch"}, {"apps", "deployments", "delete"}};
const canary_need canary_needs_run[5] = {{"apps", "deployments", "patch"},
                                         {"apps", "deployments", "create"},
                                         {"", "pods", "watch"},
                                         {"apps", "deployments", "watch"},
                                         {"apps", "deployments", "delete"}};

int canary_rules_allow(const json_t *rules, const char *group, const char *resource, const char *verb)
{
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		/* a rule limited to some object names does not grant the verb
		 * on an object yet to be created or listed */
		if (json_array_size(json_object_get(rule, "resourceNames")))
			continue;
		if (lists(json_object_get(rule, "verbs"), verb) && lists(json_object_get(rule, "apiGroups"), group) &&
		    lists(json_object_get(rule, "resources"), resource))
			return 1;
	}
	return 0;
}

int canary_access_check(canary_ctx *ctx, const canary_need *needs, size_t n)
{
	if (ctx->dry_run)
		return 0;
	json_t *review = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "authorization.k8s.io/v1", "kind",
	                           "SelfSubjectRulesReview", "spec", "namespace", ctx->ns);
	json_t *out = NULL;
	if (!review)
		return cli_error_nomem();
	int rc = kube_client_request_json(ctx->client, &out, "POST",
	                                  "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", "application/json",
	                                  review);
	json_decref(review);
	if (rc == KUBE_ENOMEM)
		return cli_error_nomem();
	json_t *status = json_object_get(out, "status");
	if (rc || !status || json_is_true(json_object_get(status, "incomplete"))) {
		/* not an answer to act on: each request will be decided by the
		 * server as it is made */
		kube_log(KUBE_LOG_DECISION, "permissions not checked up front: %s",
		         rc ? kube_error_last()->message : "the rules review is incomplete");
		kube_error_clear();
		json_decref(out);
		return 0;
	}
	json_t *rules = json_object_get(status, "resourceRules");
	for (size_t i = 0; i < n; i++) {
		if (canary_rules_allow(rules, needs[i].group, needs[i].resource, needs[i].verb))
			continue;
		canary_whoami(ctx); /* cached: no request after the first in an hour */
		const char *user = ctx->user.username[0] ? ctx->user.username : "unknown";
		if (needs[i].group[0])
			cli_error("deployment/%s: forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" "
			          "in "
			          "the namespace \"%s\" (checked before any change: nothing changed)",
			          ctx->name, user, needs[i].verb, needs[i].resource, needs[i].group, ctx->ns);
		else
			cli_error("deployment/%s: forbidden: User \"%s\" cannot %s resource \"%s\" in the namespace "
			          "\"%s\" (checked before any change: nothing changed)",
			          ctx->name, user, needs[i].verb, needs[i].resource, ctx->ns);
		cli_hint("docs/canary.md#rbac lists the verbs each command needs");
		json_decref(out);
		return CLI_EXIT_API;
	}
	json_decref(out);
	return 0;
}
