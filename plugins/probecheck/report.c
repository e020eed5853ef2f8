/* The audit's result: counting and the verdict. */
#include <kube/alloc.h>

#include "report.h"

int probecheck_finding_reported(const probecheck_report *report, const probecheck_finding *f)
{
	if (f->flags & PROBECHECK_FINDING_DROPPED)
		return 0;
	return !f->suppressed_by || report->strict;
}

void probecheck_report_count(probecheck_report *report)
{
	for (size_t s = 0; s <= PROBECHECK_SEV_ERROR; s++)
		report->count[s] = 0;
	report->reported = report->suppressed = 0;
	for (size_t i = 0; i < report->finding_count; i++) {
		const probecheck_finding *f = &report->findings[i];
		if (f->flags & PROBECHECK_FINDING_DROPPED)
			continue;
		if (f->suppressed_by)
			report->suppressed++;
		if (probecheck_finding_reported(report, f)) {
			report->reported++;
			report->count[f->severity]++;
		}
	}
}

int probecheck_report_failed(const probecheck_report *report)
{
	if (report->fail_on == PROBECHECK_SEV_NONE)
		return 0;
	for (int s = (int)report->fail_on; s <= PROBECHECK_SEV_ERROR; s++)
		if (report->count[s])
			return 1;
	return 0;
}

void probecheck_report_dispose(probecheck_report *report)
{
	kube_free(report->workloads);
	kube_free(report->findings);
	probecheck_arena_dispose(&report->arena);
	json_decref(report->exercised);
	report->exercised = NULL;
	report->workloads = NULL;
	report->findings = NULL;
	report->workload_count = report->workload_cap = report->finding_count = report->finding_cap = 0;
}
