/* The up-front permission check of the commands that change several
 * objects with different verbs (start, abort, the finish, run). */
#include <string.h>

#include <kube/access.h>
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

/* The needs of one check, for kube_rules_review's test of cached rules. */
struct need_list {
	const canary_need *needs;
	size_t n;
};

static int grants_all(const json_t *rules, void *data)
{
	const struct need_list *list = data;
	for (size_t i = 0; i < list->n; i++)
		if (!canary_rules_allow(rules, list->needs[i].group, list->needs[i].resource, list->needs[i].verb))
			return 0;
	return 1;
}

int canary_access_check(canary_ctx *ctx, const canary_need *needs, size_t n)
{
	if (ctx->dry_run)
		return 0;
	struct need_list list = {needs, n};
	json_t *rules = NULL;
	kube_rules_source source = KUBE_RULES_INCOMPLETE;
	int rc = kube_rules_review(ctx->client, ctx->ns, grants_all, &list, &rules, &source);
	if (rc == KUBE_ENOMEM)
		return cli_error_nomem();
	if (rc || source == KUBE_RULES_INCOMPLETE) {
		/* not an answer to act on: each request will be decided by the
		 * server as it is made */
		kube_log(KUBE_LOG_DECISION, "permissions not checked up front: %s",
		         rc ? kube_error_last()->message : "the rules review is incomplete");
		kube_error_clear();
		json_decref(rules);
		return 0;
	}
	if (source == KUBE_RULES_CACHED) {
		/* the cache only grants: a need it lacks was asked of the server */
		kube_log(KUBE_LOG_DECISION,
		         "permissions: granted by the cached rules review (namespace \"%s\", %zu verbs)", ctx->ns, n);
		json_decref(rules);
		return 0;
	}
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
		json_decref(rules);
		return CLI_EXIT_API;
	}
	json_decref(rules);
	return 0;
}
