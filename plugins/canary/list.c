/* kubectl canary list and history: the runs in progress (one selector
 * query on rollguard.io/canary-active) and a Deployment's finished runs. */
#include <stdio.h>
#include <string.h>

#include <kube/error.h>

#include "commands.h"

static void age(char *buf, size_t size, long long now_ms, long long then_ms)
{
	if (!then_ms) {
		snprintf(buf, size, "-");
		return;
	}
	cli_format_duration(buf, size, (long)(now_ms - then_ms));
}

static int run_list(const cli_args *args)
{
	canary_ctx ctx;
	json_t *list = NULL, *doc = NULL, *items = NULL;
	cli_table *table = NULL;
	int rc;
	if ((rc = canary_ctx_open(&ctx, args)))
		goto done;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	opts.label_selector = CANARY_LABEL_ACTIVE "=true";
	if ((rc = kube_client_list(ctx.client, &list, &canary_res_deployments, args->all_namespaces ? "" : ctx.ns,
	                           &opts))) {
		rc = cli_error_kube("listing Deployments", rc);
		goto done;
	}
	static const cli_column columns[] = {{"NAMESPACE", 0},
	                                     {"NAME", 0},
	                                     {"PHASE", 0},
	                                     {"WEIGHT", 0},
	                                     {"STEP", 0},
	                                     {"REVISION", 0},
	                                     {"AGE", 0},
	                                     {"RUN", CLI_COLUMN_WIDE},
	                                     {"CHANGE", CLI_COLUMN_WIDE}};
	size_t first = args->all_namespaces ? 0 : 1;
	doc = cli_object_new("CanaryList");
	items = json_array();
	table = cli_table_new(columns + first, sizeof(columns) / sizeof(columns[0]) - first);
	if (!doc || !items || !table || json_object_set(doc, "items", items)) {
		rc = cli_error_nomem();
		goto done;
	}
	long long now = kube_client_server_now_ms(ctx.client);
	size_t i;
	json_t *deploy;
	json_array_foreach(json_object_get(list, "items"), i, deploy)
	{
		json_t *meta = json_object_get(deploy, "metadata");
		const char *text = json_string_value(
		        json_object_get(json_object_get(meta, "annotations"), CANARY_ANNOTATION_STATE));
		canary_state st;
		char err[256], weight[16], step[16], since[32];
		canary_state_init(&st);
		if (!text || canary_state_parse(&st, text, strlen(text), err, sizeof(err)))
			snprintf(st.message, sizeof(st.message), "unreadable state");
		json_t *item = canary_state_to_json(&st);
		json_t *m = json_pack("{s:s?, s:s?}", "name", json_string_value(json_object_get(meta, "name")),
		                      "namespace", json_string_value(json_object_get(meta, "namespace")));
		if (!item || !m || json_object_set_new(item, "metadata", m) || json_array_append_new(items, item)) {
			json_decref(m);
			rc = cli_error_nomem();
			goto done;
		}
		snprintf(weight, sizeof(weight), "%d%%", st.weight);
		snprintf(step, sizeof(step), "%d/%d", st.step_index + 1, st.ladder.count);
		age(since, sizeof(since), now, st.started_ms);
		const char *cells[] = {json_string_value(json_object_get(meta, "namespace")),
		                       json_string_value(json_object_get(meta, "name")),
		                       st.phase ? canary_phase_name(st.phase) : "Unknown",
		                       weight,
		                       step,
		                       st.revision,
		                       since,
		                       st.run_id,
		                       st.change};
		if ((rc = cli_table_add_row(table, cells + first)))
			goto done;
	}
	if (args->output == CLI_OUTPUT_TABLE && cli_table_rows(table) == 0) {
		if (args->all_namespaces)
			fprintf(stderr, "No canary runs in progress.\n");
		else
			fprintf(stderr, "No canary runs in progress in %s namespace.\n", ctx.ns);
		goto done;
	}
	rc = cli_output_report(args, doc, table);
done:
	cli_table_free(table);
	json_decref(items);
	json_decref(doc);
	json_decref(list);
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_list_command = {
        .name = "list",
        .usage = "list [-A]",
        .summary = "List the canary runs in progress",
        .description = "List the Deployments with a canary run in progress (label rollguard.io/canary-active=true)\n"
                       "in the namespace, or in all namespaces with -A.",
        .examples = "  # Runs in progress everywhere\n"
                    "  kubectl canary list -A",
        .outputs = CLI_OUTPUTS_STANDARD,
        .features = CLI_CMD_ALL_NAMESPACES,
        .min_args = 0,
        .max_args = 0,
        .run = run_list,
};

static int run_history(const cli_args *args)
{
	canary_ctx ctx;
	json_t *runs = NULL, *doc = NULL;
	cli_table *table = NULL;
	char err[256];
	int rc;
	if ((rc = canary_ctx_open(&ctx, args)) || (rc = canary_read_deploy(&ctx)))
		goto done;
	json_t *annotations = json_object_get(json_object_get(ctx.deploy, "metadata"), "annotations");
	const char *text = json_string_value(json_object_get(annotations, CANARY_ANNOTATION_HISTORY));
	if (canary_history_parse(&runs, text ? text : "[]", err, sizeof(err))) {
		cli_error("deployment/%s: annotation %s is not a history: %s", ctx.name, CANARY_ANNOTATION_HISTORY,
		          err);
		rc = CLI_EXIT_REFUSED;
		goto done;
	}
	static const cli_column columns[] = {{"RUN", 0},
	                                     {"PHASE", 0},
	                                     {"WEIGHT", 0},
	                                     {"REVISION", 0},
	                                     {"STARTED", 0},
	                                     {"BY", 0},
	                                     {"REASON", 0},
	                                     {"CHANGE", CLI_COLUMN_WIDE},
	                                     {"FINISHED", CLI_COLUMN_WIDE}};
	doc = cli_object_new("CanaryHistory");
	table = cli_table_new(columns, sizeof(columns) / sizeof(columns[0]));
	json_t *meta = json_pack("{s:s, s:s}", "name", ctx.name, "namespace", ctx.ns);
	if (!doc || !table || !meta || json_object_set_new(doc, "metadata", meta) ||
	    json_object_set(doc, "items", runs)) {
		rc = cli_error_nomem();
		goto done;
	}
	size_t i;
	json_t *run;
	json_array_foreach(runs, i, run)
	{
		char weight[16];
		snprintf(weight, sizeof(weight), "%lld%%", json_integer_value(json_object_get(run, "weight")));
		const char *cells[] = {json_string_value(json_object_get(run, "runId")),
		                       json_string_value(json_object_get(run, "phase")),
		                       weight,
		                       json_string_value(json_object_get(run, "revision")),
		                       json_string_value(json_object_get(run, "startedAt")),
		                       json_string_value(json_object_get(run, "startedBy")),
		                       json_string_value(json_object_get(run, "reason")),
		                       json_string_value(json_object_get(run, "change")),
		                       json_string_value(json_object_get(run, "finishedAt"))};
		if ((rc = cli_table_add_row(table, cells)))
			goto done;
	}
	if (args->output == CLI_OUTPUT_TABLE && cli_table_rows(table) == 0) {
		fprintf(stderr, "deployment/%s: no finished canary runs\n", ctx.name);
		goto done;
	}
	rc = cli_output_report(args, doc, table);
done:
	cli_table_free(table);
	json_decref(doc);
	json_decref(runs);
	canary_ctx_close(&ctx);
	return rc;
}

const cli_command canary_history_command = {
        .name = "history",
        .usage = "history DEPLOYMENT",
        .summary = "Show a Deployment's last 10 canary runs",
        .description = "Show the finished canary runs kept on the Deployment (annotation rollguard.io/canary-"
                       "history, the last 10): outcome, weight reached, revision, who started them and why they "
                       "ended.",
        .examples = "  # The last runs of web\n"
                    "  kubectl canary history web",
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 1,
        .max_args = 1,
        .run = run_history,
        .complete = canary_complete,
};
