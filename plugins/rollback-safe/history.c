/* helm rollback-safe history: Helm's history of a release, plus which
 * revisions are safe rollback targets and why the others are not. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "rollback.h"
#include "target.h"

/* "2026-11-24T07:58:19.123+01:00" -> "2026-11-24 07:58:19" (as written,
 * in the writer's offset; Helm's table shows local time the same way). */
static void short_time(char *buf, size_t size, const char *rfc3339)
{
	snprintf(buf, size, "%.19s", rfc3339 && rfc3339[0] ? rfc3339 : "-");
	char *t = strchr(buf, 'T');
	if (t)
		*t = ' ';
}

static int run_history(const cli_args *args)
{
	rollback_ctx ctx;
	json_t *doc = NULL, *items = NULL;
	cli_table *table = NULL;
	int rc;
	if ((rc = rollback_ctx_open(&ctx, args)) || (rc = rollback_history_load(&ctx, 1)))
		goto done;
	static const cli_column columns[] = {
	        {"REVISION", 0},    {"UPDATED", 0},     {"STATUS", 0},  {"CHART", 0},
	        {"APP VERSION", 0}, {"SAFE TARGET", 0}, {"WHY NOT", 0}, {"DESCRIPTION", CLI_COLUMN_WIDE}};
	doc = cli_object_new("ReleaseHistory");
	items = json_array();
	table = cli_table_new(columns, sizeof(columns) / sizeof(columns[0]));
	if (!doc || !items || !table || json_object_set_new(doc, "release", json_string(ctx.release)) ||
	    json_object_set_new(doc, "namespace", json_string(ctx.ns)) || json_object_set(doc, "items", items)) {
		rc = cli_error_nomem();
		goto done;
	}
	const rollback_record *last = rollback_history_last(&ctx.history);
	for (size_t i = 0; i < ctx.history.count; i++) {
		const rollback_record *rec = &ctx.history.items[i];
		const json_t *rel = rec->release;
		char revision[32], updated[32], chart[320], why[192];
		int current = rec == last;
		int safe = !current && rollback_status_is_good(rec->status);
		if (current)
			snprintf(why, sizeof(why), "%s%s", "current revision",
			         rollback_status_is_pending(rec->status) ? ", pending: it locks the release" : "");
		else
			rollback_target_reason(why, sizeof(why), rec->status, rollback_release_description(rel));
		snprintf(revision, sizeof(revision), "%lld", rec->revision);
		short_time(updated, sizeof(updated), rollback_release_last_deployed(rel));
		snprintf(chart, sizeof(chart), "%.150s-%.150s", rollback_release_chart_name(rel),
		         rollback_release_chart_version(rel));
		json_t *item = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "revision",
		                         (json_int_t)rec->revision, "updated", rollback_release_last_deployed(rel),
		                         "status", rollback_status_name(rec->status), "chart", chart, "appVersion",
		                         rollback_release_app_version(rel), "description",
		                         rollback_release_description(rel), "safeTarget", safe, "reason", why);
		if (!item || json_array_append_new(items, item)) {
			rc = cli_error_nomem();
			goto done;
		}
		const char *cells[] = {revision,
		                       updated,
		                       rollback_status_name(rec->status),
		                       chart,
		                       rollback_release_app_version(rel),
		                       current ? "current"
		                       : safe  ? "yes"
		                               : "no",
		                       safe ? "" : why,
		                       rollback_release_description(rel)};
		if ((rc = cli_table_add_row(table, cells)))
			goto done;
	}
	rc = cli_output_report(args, doc, table);
done:
	cli_table_free(table);
	json_decref(items);
	json_decref(doc);
	rollback_ctx_close(&ctx);
	return rc;
}

const cli_command rollback_history_command = {
        .name = "history",
        .usage = "history RELEASE",
        .summary = "Show a release's history and which revisions are safe rollback targets",
        .description = "Show the revisions of RELEASE as Helm stores them (Secrets, or ConfigMaps with\n"
                       "HELM_DRIVER=configmap), read straight from the cluster, with which revisions a\n"
                       "rollback may safely go back to and why the others may not.",
        .examples = "  # The history of release web in namespace shop\n"
                    "  helm rollback-safe history web -n shop\n\n"
                    "  # As JSON (kind ReleaseHistory)\n"
                    "  helm rollback-safe history web -o json",
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 1,
        .max_args = 1,
        .run = run_history,
        .complete = rollback_complete,
};
