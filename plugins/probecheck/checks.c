/* kubectl probecheck checks [CHECK...]: the check catalogue, with explanations. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cli/cli.h"
#include "commands.h"

static json_t *check_object(const probecheck_check_info *check)
{
	static const char *const scopes[] = {
	        [PROBECHECK_SCOPE_ALL] = "all",
	        [PROBECHECK_SCOPE_LONG_RUNNING] = "longRunning",
	        [PROBECHECK_SCOPE_REPLICATED] = "replicated",
	        [PROBECHECK_SCOPE_ROLLOUT] = "rollout",
	};
	char docs[128];
	probecheck_check_docs(docs, sizeof(docs), check);
	json_t *object = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", check->id, "family", check->family,
	                           "severity", probecheck_severity_name(check->severity), "scope", scopes[check->scope],
	                           "title", check->title, "why", check->why, "docs", docs);
	if (object && check->severity_note &&
	    json_object_set_new(object, "severityNote", json_string(check->severity_note))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

/* Writes text wrapped at 76 columns, each line indented. */
static void print_wrapped(FILE *stream, const char *text, const char *indent)
{
	const size_t width = 76;
	const char *p = text;
	while (*p) {
		size_t len = strlen(p);
		if (len > width) {
			len = width;
			while (len > 0 && p[len] != ' ')
				len--;
			if (len == 0)
				len = strcspn(p, " ");
		}
		(void)fprintf(stream, "%s%.*s\n", indent, (int)len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
}

static void print_details(FILE *stream, const probecheck_check_info *check, int color)
{
	char docs[128];
	probecheck_check_docs(docs, sizeof(docs), check);
	const char *severity = probecheck_severity_name(check->severity);
	(void)fprintf(stream, "%s%s%s (%s, %s%s%s%s%s)\n", cli_style_start(color, CLI_STYLE_BOLD), check->id,
	              cli_style_end(color), check->family, cli_style_start(color, cli_style_for_severity(severity)),
	              severity, cli_style_end(color), check->severity_note ? "; " : "",
	              check->severity_note ? check->severity_note : "");
	(void)fprintf(stream, "  %s\n", check->title);
	print_wrapped(stream, check->why, "  ");
	(void)fprintf(stream, "  Docs: %s\n", docs);
}

static int run_checks(const cli_args *args)
{
	unsigned char selected[PROBECHECK_CHECK_COUNT];
	cli_output out;
	json_t *doc = NULL, *list = NULL;
	int rc;

	memset(selected, args->positional_count ? 0 : 1, sizeof(selected));
	for (size_t i = 0; i < args->positional_count; i++) {
		int check = probecheck_check_find(args->positional[i]);
		if (check < 0)
			return cli_usage_error(args, "unknown check \"%s\"", args->positional[i]);
		selected[check] = 1;
	}
	if ((rc = cli_output_open(&out, args->output_file)))
		return rc;
	int color = args->output_file ? 0 : args->color;
	if (args->output == CLI_OUTPUT_JSON || args->output == CLI_OUTPUT_YAML) {
		doc = cli_object_new("CheckCatalog");
		list = json_array();
		rc = doc && !json_object_set_new(doc, "checks", list) ? 0 : cli_error_nomem();
		for (int i = 0; !rc && i < PROBECHECK_CHECK_COUNT; i++)
			if (selected[i] && json_array_append_new(list, check_object(&probecheck_catalog[i])))
				rc = cli_error_nomem();
		if (!rc)
			rc = cli_output_document(out.stream, args->output, doc);
		json_decref(doc);
	} else if (args->positional_count) {
		for (int i = 0, first = 1; i < PROBECHECK_CHECK_COUNT; i++) {
			if (!selected[i])
				continue;
			if (!first)
				(void)fputc('\n', out.stream);
			first = 0;
			print_details(out.stream, &probecheck_catalog[i], color);
		}
	} else {
		static const cli_column columns[] = {
		        {"CHECK", 0}, {"FAMILY", 0}, {"SEVERITY", 0}, {"TITLE", 0}, {"DOCS", CLI_COLUMN_WIDE}};
		cli_table *table = cli_table_new(columns, sizeof(columns) / sizeof(columns[0]));
		rc = table ? 0 : cli_error_nomem();
		for (int i = 0; !rc && i < PROBECHECK_CHECK_COUNT; i++) {
			const probecheck_check_info *check = &probecheck_catalog[i];
			char severity[64], docs[128];
			const char *name = probecheck_severity_name(check->severity);
			(void)snprintf(severity, sizeof(severity), "%s%s%s%s",
			               cli_style_start(color, cli_style_for_severity(name)), name, cli_style_end(color),
			               check->severity_note ? "*" : "");
			probecheck_check_docs(docs, sizeof(docs), check);
			const char *cells[] = {check->id, check->family, severity, check->title, docs};
			rc = cli_table_add_row(table, cells);
		}
		if (!rc) {
			cli_table_print(table, out.stream, args->output == CLI_OUTPUT_WIDE);
			(void)fprintf(out.stream, "\n* the severity can differ: see '%s checks CHECK'\n",
			              args->program->name);
		}
		cli_table_free(table);
	}
	return cli_output_close(&out, rc);
}

const cli_command probecheck_checks_command = {
        .name = "checks",
        .usage = "checks [CHECK...]",
        .summary = "List the check catalogue, or explain the named checks",
        .description = "List every check with its ID, family, default severity and title, or, given check IDs,\n"
                       "explain each: what it flags, why it matters, and where the docs are.",
        .examples = "  # List the catalogue\n"
                    "  {program} checks\n"
                    "\n"
                    "  # Explain one check\n"
                    "  {program} checks probe-identical-unsafe\n"
                    "\n"
                    "  # The catalogue as a CheckCatalog object\n"
                    "  {program} checks -o json",
        .outputs = CLI_OUTPUTS_STANDARD,
        .min_args = 0,
        .max_args = -1,
        .run = run_checks,
        .complete = probecheck_complete_checks,
};
