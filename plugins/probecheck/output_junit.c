/* JUnit XML: a test suite per workload, a test case per check that ran on it; a case fails when it has a
 * finding at or above --fail-on, is skipped when all its findings are suppressed, and passes otherwise
 * (findings below the threshold go to its system-out). */
#include <stdio.h>
#include <string.h>

#include "cli/exit.h"
#include "output.h"

/* Writes s with XML's five entities escaped and characters XML 1.0 cannot hold dropped. */
static void xml(FILE *stream, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&':
			(void)fputs("&amp;", stream);
			break;
		case '<':
			(void)fputs("&lt;", stream);
			break;
		case '>':
			(void)fputs("&gt;", stream);
			break;
		case '"':
			(void)fputs("&quot;", stream);
			break;
		case '\'':
			(void)fputs("&apos;", stream);
			break;
		default:
			if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
				(void)fputc(*p, stream);
		}
	}
}

struct case_state {
	size_t failing, below, suppressed, reported;
	const probecheck_finding *first_failing;
	const probecheck_suppression *suppression;
};

static void tally(const probecheck_report *report, const probecheck_report_workload *w, int check,
                  struct case_state *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < w->finding_count; i++) {
		const probecheck_finding *f = &w->findings[i];
		if (f->check != check || (f->flags & PROBECHECK_FINDING_DROPPED))
			continue;
		if (!probecheck_finding_reported(report, f)) {
			st->suppressed++;
			st->suppression = f->suppressed_by;
			continue;
		}
		st->reported++;
		if (report->fail_on != PROBECHECK_SEV_NONE && f->severity >= report->fail_on) {
			if (!st->failing++)
				st->first_failing = f;
		} else {
			st->below++;
		}
	}
}

static void finding_text(FILE *stream, const probecheck_finding *f)
{
	(void)fprintf(stream, "[%s] ", probecheck_severity_name((enum probecheck_severity)f->severity));
	if (*f->container) {
		xml(stream, f->container);
		(void)fputs(": ", stream);
	}
	xml(stream, f->message);
	(void)fputc('\n', stream);
	if (*f->fix) {
		(void)fputs("fix:\n", stream);
		xml(stream, f->fix);
	}
}

static void write_case(FILE *stream, const probecheck_report *report, const probecheck_report_workload *w, int check,
                       const struct case_state *st)
{
	const probecheck_check_info *info = &probecheck_catalog[check];
	(void)fputs("    <testcase name=\"", stream);
	xml(stream, info->id);
	(void)fputs("\" classname=\"", stream);
	xml(stream, w->kind);
	(void)fputc('.', stream);
	if (*w->namespace_name) {
		xml(stream, w->namespace_name);
		(void)fputc('.', stream);
	}
	xml(stream, w->name);
	(void)fputs("\"", stream);
	if (w->source.file) {
		(void)fputs(" file=\"", stream);
		xml(stream, w->source.file);
		(void)fprintf(stream, "\" line=\"%d\"", w->source.line);
	}
	(void)fputs(" time=\"0\"", stream);
	if (!st->reported && !st->suppressed) {
		(void)fputs("/>\n", stream);
		return;
	}
	(void)fputs(">\n", stream);
	if (st->failing) {
		(void)fputs("      <failure type=\"", stream);
		xml(stream, probecheck_severity_name((enum probecheck_severity)st->first_failing->severity));
		(void)fputs("\" message=\"", stream);
		xml(stream, st->first_failing->message);
		if (st->failing > 1)
			(void)fprintf(stream, " (and %zu more)", st->failing - 1);
		(void)fputs("\">", stream);
		for (size_t i = 0; i < w->finding_count; i++) {
			const probecheck_finding *f = &w->findings[i];
			if (f->check == check && probecheck_finding_reported(report, f) &&
			    f->severity >= report->fail_on)
				finding_text(stream, f);
		}
		(void)fputs("</failure>\n", stream);
	} else if (!st->reported) {
		(void)fputs("      <skipped message=\"suppressed: ", stream);
		xml(stream, st->suppression->reason);
		(void)fputs("\"/>\n", stream);
	}
	if (st->below) {
		(void)fputs("      <system-out>", stream);
		for (size_t i = 0; i < w->finding_count; i++) {
			const probecheck_finding *f = &w->findings[i];
			if (f->check == check && probecheck_finding_reported(report, f) &&
			    (report->fail_on == PROBECHECK_SEV_NONE || f->severity < report->fail_on))
				finding_text(stream, f);
		}
		(void)fputs("</system-out>\n", stream);
	}
	(void)fputs("    </testcase>\n", stream);
}

/* Adds wl's test cases (the checks that ran for it), failures and skips to
 * the counts: a suite's own, or the document's totals. */
static void add_totals(const probecheck_report *report, const probecheck_report_workload *wl, size_t *tests,
                       size_t *failures, size_t *skipped)
{
	struct case_state st;
	for (int check = 0; check < PROBECHECK_CHECK_COUNT; check++) {
		if (!wl->evaluated[check])
			continue;
		tally(report, wl, check, &st);
		(*tests)++;
		*failures += st.failing > 0;
		*skipped += !st.failing && !st.reported && st.suppressed;
	}
}

/* Writes the test suite of one workload. */
static void write_suite(FILE *stream, const probecheck_report *report, const probecheck_report_workload *wl)
{
	struct case_state st;
	char label[512];
	size_t suite_tests = 0, suite_failures = 0, suite_skipped = 0;
	add_totals(report, wl, &suite_tests, &suite_failures, &suite_skipped);
	probecheck_workload_label(label, sizeof(label), wl);
	(void)fputs("  <testsuite name=\"", stream);
	xml(stream, label);
	(void)fprintf(stream, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\"", suite_tests,
	              suite_failures, suite_skipped);
	if (wl->source.file) {
		(void)fputs(" file=\"", stream);
		xml(stream, wl->source.helm_source ? wl->source.helm_source : wl->source.file);
		(void)fputs("\"", stream);
	}
	(void)fputs(">\n", stream);
	for (int check = 0; check < PROBECHECK_CHECK_COUNT; check++) {
		if (!wl->evaluated[check])
			continue;
		tally(report, wl, check, &st);
		write_case(stream, report, wl, check, &st);
	}
	(void)fputs("  </testsuite>\n", stream);
}

int probecheck_output_junit(FILE *stream, const probecheck_report *report)
{
	size_t tests = 0, failures = 0, skipped = 0;
	probecheck_report_cursor cursor;
	const probecheck_report_workload *wl;
	int rc;
	/* the totals come first: one pass to count, one to write */
	probecheck_report_cursor_init(&cursor, report);
	while ((rc = probecheck_report_next(&cursor, &wl)) > 0)
		add_totals(report, wl, &tests, &failures, &skipped);
	probecheck_report_cursor_dispose(&cursor);
	if (rc)
		return CLI_EXIT_FAIL;
	(void)fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", stream);
	(void)fprintf(
	        stream,
	        "<testsuites name=\"kubectl-probecheck\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
	        "time=\"0\">\n",
	        tests, failures, skipped);
	probecheck_report_cursor_init(&cursor, report);
	while ((rc = probecheck_report_next(&cursor, &wl)) > 0)
		write_suite(stream, report, wl);
	probecheck_report_cursor_dispose(&cursor);
	if (rc)
		return CLI_EXIT_FAIL;
	(void)fputs("</testsuites>\n", stream);
	return 0;
}
