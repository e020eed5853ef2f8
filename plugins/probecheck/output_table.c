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

static void print_strict_suppressions(FILE *stream, const probecheck_report *report)
{
	int header = 0;
	for (size_t i = 0; i < report->finding_count; i++) {
		const probecheck_finding *f = &report->findings[i];
		char label[512];
		if (!f->suppressed_by || (f->flags & PROBECHECK_FINDING_DROPPED))
			continue;
		if (!header) {
			(void)fputs("\nSuppressions ignored by --strict:\n", stream);
			header = 1;
		}
		probecheck_workload_label(label, sizeof(label), &report->workloads[f->workload]);
		(void)fprintf(stream, "  %s%s%s %s: %s (%s): %s\n", label, *f->container ? " container " : "",
		              f->container, probecheck_catalog[f->check].id, f->suppressed_by->where,
		              probecheck_suppression_origin_name(f->suppressed_by->origin), f->suppressed_by->reason);
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
		cli_table *table = cli_table_new(columns, sizeof(columns) / sizeof(columns[0]));
		if (!table)
			return cli_error_nomem();
		for (size_t w = 0; w < report->workload_count; w++) {
			const probecheck_report_workload *wl = &report->workloads[w];
			char label[512], severity[64], source[1200];
			int first = 1;
			probecheck_workload_label(label, sizeof(label), wl);
			if (wl->source.helm_source)
				(void)snprintf(source, sizeof(source), "%s (%s:%d)", wl->source.helm_source,
				               wl->source.file, wl->source.line);
			else if (wl->source.file)
				(void)snprintf(source, sizeof(source), "%s:%d", wl->source.file, wl->source.line);
			else
				source[0] = '\0';
			for (size_t i = 0; i < wl->finding_count; i++) {
				const probecheck_finding *f = &report->findings[wl->first_finding + i];
				if (!probecheck_finding_reported(report, f))
					continue;
				const char *name = probecheck_severity_name((enum probecheck_severity)f->severity);
				const char *message, *fix;
				if (probecheck_finding_text(report, f, &message, &fix)) {
					cli_table_free(table);
					return CLI_EXIT_FAIL;
				}
				(void)snprintf(severity, sizeof(severity), "%s%s%s",
				               cli_style_start(color, cli_style_for_severity(name)), name,
				               cli_style_end(color));
				const char *cells[] = {first ? label : "",
				                       f->container,
				                       severity,
				                       probecheck_catalog[f->check].id,
				                       message,
				                       f->probe,
				                       first ? source : ""};
				first = 0;
				if (cli_table_add_row(table, cells)) {
					cli_table_free(table);
					return CLI_EXIT_FAIL;
				}
			}
		}
		cli_table_print(table, stream, wide);
		cli_table_free(table);
		(void)fputc('\n', stream);
	}
	print_summary(stream, report);
	if (report->strict)
		print_strict_suppressions(stream, report);
	return 0;
}
