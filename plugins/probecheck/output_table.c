/* The human report: one table, grouped by workload, and a summary line. */
#include <stdio.h>
#include <string.h>

#include "cli/color.h"
#include "cli/exit.h"
#include "cli/table.h"
#include "output.h"

void probecheck_workload_label(char *buf, size_t size, const probecheck_report_workload *w)
{
	if (*w->namespace_name)
		(void)snprintf(buf, size, "%s %s/%s", w->kind, w->namespace_name, w->name);
	else
		(void)snprintf(buf, size, "%s %s", w->kind, w->name);
}

const char *probecheck_suppression_origin_name(enum probecheck_suppression_origin origin)
{
	switch (origin) {
	case PROBECHECK_SUPPRESSED_BY_ANNOTATION:
		return "annotation";
	case PROBECHECK_SUPPRESSED_BY_TEMPLATE_ANNOTATION:
		return "templateAnnotation";
	case PROBECHECK_SUPPRESSED_BY_CONFIG:
		break;
	}
	return "config";
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_summary(FILE *stream, const probecheck_report *report)
{
	if (report->reported == 0)
		(void)fprintf(stream, "No findings in %zu %s", report->workload_count,
		              plural(report->workload_count, "workload", "workloads"));
	else
		(void)fprintf(stream, "%zu %s in %zu %s: %zu %s, %zu %s, %zu info", report->reported,
		              plural(report->reported, "finding", "findings"), report->workload_count,
		              plural(report->workload_count, "workload", "workloads"),
		              report->count[PROBECHECK_SEV_ERROR],
		              plural(report->count[PROBECHECK_SEV_ERROR], "error", "errors"),
		              report->count[PROBECHECK_SEV_WARNING],
		              plural(report->count[PROBECHECK_SEV_WARNING], "warning", "warnings"),
		              report->count[PROBECHECK_SEV_INFO]);
	if (report->suppressed)
		(void)fprintf(stream,
		              report->strict ? " (%zu suppressed, reported anyway: --strict)" : " (%zu suppressed)",
		              report->suppressed);
	(void)fputs(".\n", stream);
}

/* Returns 0, or -1 when a record cannot be read back (the error printed). */
static int print_strict_suppressions(FILE *stream, const probecheck_report *report)
{
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int header = 0, rc;
	probecheck_report_cursor_init(&cursor, report);
	while ((rc = probecheck_report_next_finding(&cursor, &w, &f)) > 0) {
		char label[512];
		if (!f->suppressed_by || (f->flags & PROBECHECK_FINDING_DROPPED))
			continue;
		if (!header) {
			(void)fputs("\nSuppressions ignored by --strict:\n", stream);
			header = 1;
		}
		probecheck_workload_label(label, sizeof(label), w);
		(void)fprintf(stream, "  %s%s%s %s: %s (%s): %s\n", label, *f->container ? " container " : "",
		              f->container, probecheck_catalog[f->check].id, f->suppressed_by->where,
		              probecheck_suppression_origin_name(f->suppressed_by->origin), f->suppressed_by->reason);
	}
	probecheck_report_cursor_dispose(&cursor);
	return rc;
}

/* Measures (pass 0) or prints (pass 1) the rows of wl's reported findings. */
static void table_rows(cli_table *table, FILE *stream, int pass, const probecheck_report *report,
                       const probecheck_report_workload *wl, int wide, int color)
{
	char label[512], severity[64], source[1200];
	int first = 1;
	probecheck_workload_label(label, sizeof(label), wl);
	if (wl->source.helm_source)
		(void)snprintf(source, sizeof(source), "%s (%s:%d)", wl->source.helm_source, wl->source.file,
		               wl->source.line);
	else if (wl->source.file)
		(void)snprintf(source, sizeof(source), "%s:%d", wl->source.file, wl->source.line);
	else
		source[0] = '\0';
	for (size_t i = 0; i < wl->finding_count; i++) {
		const probecheck_finding *f = &wl->findings[i];
		if (!probecheck_finding_reported(report, f))
			continue;
		const char *name = probecheck_severity_name((enum probecheck_severity)f->severity);
		(void)snprintf(severity, sizeof(severity), "%s%s%s",
		               cli_style_start(color, cli_style_for_severity(name)), name, cli_style_end(color));
		const char *cells[] = {
		        first ? label : "", f->container, severity,           probecheck_catalog[f->check].id,
		        f->message,         f->probe,     first ? source : ""};
		first = 0;
		if (pass == 0)
			cli_table_measure(table, cells);
		else
			cli_table_print_row(table, stream, cells, wide);
	}
}

int probecheck_output_table(FILE *stream, const probecheck_report *report, int wide, int color)
{
	static const cli_column columns[] = {
	        {"WORKLOAD", 0},
	        {"CONTAINER", 0},
	        {"SEVERITY", 0},
	        {"CHECK", 0},
	        {"MESSAGE", 0},
	        {"PROBE", CLI_COLUMN_WIDE},
	        {"SOURCE", CLI_COLUMN_WIDE},
	};
	if (report->reported) {
		/* Streamed: the records are read back twice, one workload at a
		 * time, to measure the columns and then to print the rows, so no
		 * row is kept whatever the size of the report. */
		cli_table *table = cli_table_new(columns, sizeof(columns) / sizeof(columns[0]));
		if (!table)
			return cli_error_nomem();
		for (int pass = 0; pass < 2; pass++) {
			probecheck_report_cursor cursor;
			const probecheck_report_workload *wl;
			int rc;
			if (pass == 1)
				cli_table_print_header(table, stream, wide);
			probecheck_report_cursor_init(&cursor, report);
			while ((rc = probecheck_report_next(&cursor, &wl)) > 0)
				table_rows(table, stream, pass, report, wl, wide, color);
			probecheck_report_cursor_dispose(&cursor);
			if (rc) {
				cli_table_free(table);
				return CLI_EXIT_FAIL;
			}
		}
		cli_table_free(table);
		(void)fputc('\n', stream);
	}
	print_summary(stream, report);
	if (report->strict && print_strict_suppressions(stream, report))
		return CLI_EXIT_FAIL;
	return 0;
}
