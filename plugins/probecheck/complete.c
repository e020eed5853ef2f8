/* Completion for kubectl probecheck: targets as kubectl writes them (TYPE,
 * TYPE/NAME, TYPE NAME...) with names from the cluster, check IDs, and
 * --fail-on levels. */
#include <string.h>

#include <kube/discovery.h>

#include "catalog.h"
#include "cli/complete.h"
#include "commands.h"

/* The workload types probecheck audits, as users shorten them. */
static const struct {
	const char *name;
	const char *kind;
} target_types[] = {
        {"deploy", "Deployment"},        {"sts", "StatefulSet"}, {"ds", "DaemonSet"}, {"rs", "ReplicaSet"},
        {"rc", "ReplicationController"}, {"pod", "Pod"},         {"job", "Job"},      {"cronjob", "CronJob"},
};

static void add_types(cli_completion *c, const char *suffix)
{
	char value[64];
	for (size_t i = 0; i < sizeof(target_types) / sizeof(target_types[0]); i++) {
		(void)snprintf(value, sizeof(value), "%s%s", target_types[i].name, suffix);
		cli_complete_add(c, value, target_types[i].kind);
	}
}

/* The names of the objects of the type the user wrote (type_len bytes),
 * each after prefix. */
static void add_names(cli_completion *c, const cli_complete_request *req, const char *type, size_t type_len,
                      const char *prefix)
{
	char name[256];
	kube_resource res;
	kube_client *client = cli_complete_client(c, req);
	if (!client || type_len == 0 || type_len >= sizeof(name))
		return;
	(void)snprintf(name, sizeof(name), "%.*s", (int)type_len, type);
	if (kube_discovery_resolve(client, &res, name) != 0)
		return;
	cli_complete_prefix(c, prefix);
	(void)cli_complete_names(c, req, &res, NULL);
	cli_complete_prefix(c, NULL);
}

static void complete_target(cli_completion *c, const cli_complete_request *req)
{
	const char *slash = strchr(req->word, '/');
	char prefix[256];
	if (slash) {
		/* TYPE/NAME */
		(void)snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - req->word + 1), req->word);
		add_names(c, req, req->word, (size_t)(slash - req->word), prefix);
		return;
	}
	if (req->position == 0) {
		add_types(c, "");
		return;
	}
	if (req->args->positional_count < 1 || !req->args->positional[0])
		return;
	const char *first = req->args->positional[0];
	if (strchr(first, '/')) {
		/* more TYPE/NAME arguments */
		add_types(c, "/");
		cli_complete_directive(c, CLI_COMPLETE_NO_SPACE);
	} else if (!strchr(first, ',')) {
		/* TYPE NAME... */
		add_names(c, req, first, strlen(first), NULL);
	}
}

/* Check IDs; in a comma-separated list, the last item. */
static void add_checks(cli_completion *c, const cli_complete_request *req)
{
	const char *comma = strrchr(req->word, ',');
	char prefix[512] = "";
	if (comma)
		(void)snprintf(prefix, sizeof(prefix), "%.*s", (int)(comma - req->word + 1), req->word);
	cli_complete_prefix(c, prefix[0] ? prefix : NULL);
	for (int i = 0; i < PROBECHECK_CHECK_COUNT; i++)
		cli_complete_add(c, probecheck_catalog[i].id, probecheck_catalog[i].title);
	cli_complete_prefix(c, NULL);
}

void probecheck_complete_audit(cli_completion *c, const cli_complete_request *req)
{
	static const enum probecheck_severity levels[] = {PROBECHECK_SEV_ERROR, PROBECHECK_SEV_WARNING,
	                                                  PROBECHECK_SEV_INFO, PROBECHECK_SEV_NONE};
	if (!req->flag) {
		complete_target(c, req);
	} else if (cli_complete_flag_is(req, "fail-on")) {
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			cli_complete_add(c, probecheck_severity_name(levels[i]), NULL);
	} else if (cli_complete_flag_is(req, "checks") || cli_complete_flag_is(req, "skip")) {
		add_checks(c, req);
	}
}

void probecheck_complete_checks(cli_completion *c, const cli_complete_request *req)
{
	if (!req->flag)
		add_checks(c, req);
}
