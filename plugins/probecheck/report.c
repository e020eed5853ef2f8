/* The audit's result: counting and the verdict. */
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "report.h"

/* The bytes of text kept in memory before spilling; test builds take
 * ROLLGUARD_TEST_SPILL_AFTER, so small inputs exercise the spill. */
static size_t spill_after(void)
{
#ifdef ROLLGUARD_TESTING
	const char *text = getenv("ROLLGUARD_TEST_SPILL_AFTER");
	if (text && *text)
		return (size_t)strtoull(text, NULL, 10);
#endif
	return PROBECHECK_SPILL_AFTER;
}

int probecheck_report_set_text(probecheck_report *report, probecheck_finding *f, const char *message, const char *fix)
{
	size_t message_len = strlen(message), fix_len = strlen(fix), limit = spill_after();
	if (report->text_kept >= limit && !report->spill && !report->spill_failed &&
	    !(report->spill = probecheck_spill_open()))
		report->spill_failed = 1;
	if (report->text_kept >= limit && probecheck_spill_usable(report->spill) && message_len < UINT32_MAX &&
	    fix_len < UINT32_MAX) {
		uint64_t at, ignored;
		if (probecheck_spill_put(report->spill, message, message_len + 1, &at) == 0 &&
		    probecheck_spill_put(report->spill, fix, fix_len + 1, &ignored) == 0) {
			f->message = f->fix = NULL;
			f->spilled_at = at;
			f->message_len = (uint32_t)message_len;
			f->fix_len = (uint32_t)fix_len;
			return 0;
		}
		/* the file is full or gone: this text and the rest stay here */
	}
	f->message = probecheck_arena_strndup(&report->arena, message, message_len);
	f->fix = probecheck_arena_strndup(&report->arena, fix, fix_len);
	if (!f->message || !f->fix)
		return KUBE_ENOMEM;
	report->text_kept += message_len + fix_len;
	return 0;
}

int probecheck_finding_text(const probecheck_report *report, const probecheck_finding *f, const char **message,
                            const char **fix)
{
	if (f->message) {
		*message = f->message;
		*fix = f->fix ? f->fix : "";
		return 0;
	}
	const char *text = report->spill ? probecheck_spill_get(report->spill, f->spilled_at,
	                                                        (size_t)f->message_len + 1 + f->fix_len + 1)
	                                 : NULL;
	if (!text)
		return -1;
	*message = text;
	*fix = text + f->message_len + 1;
	return 0;
}

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
	probecheck_spill_close(report->spill);
	report->spill = NULL;
	report->text_kept = 0;
	report->spill_failed = 0;
	json_decref(report->exercised);
	report->exercised = NULL;
	report->workloads = NULL;
	report->findings = NULL;
	report->workload_count = report->workload_cap = report->finding_count = report->finding_cap = 0;
}
