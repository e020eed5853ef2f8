/* The audit's result: workload records written and read back, deferred
 * findings resolved, counting and the verdict.
 *
 * A record is one workload with its findings:
 *   struct record_head
 *   kind, namespace, name[, file][, helm source]         NUL-terminated
 *   label key, value                                      label_count times
 *   struct finding_head, container, probe, message, fix
 *     [, where, reason when suppressed]                   finding_count times */
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>

#include "cli/exit.h"
#include "report.h"

struct record_head {
	int64_t replicas;
	uint32_t label_count, finding_count;
	int32_t line, helm_line;
	uint8_t kind_id, run_to_completion, has_file, has_helm_source;
	unsigned char evaluated[PROBECHECK_CHECK_COUNT];
};

struct finding_head {
	uint16_t check;
	uint8_t severity, flags;
	int8_t origin; /* enum probecheck_suppression_origin, -1 when not suppressed */
};

/* The bytes of records kept in memory before spilling; test builds take
 * ROLLGUARD_TEST_SPILL_AFTER, so small inputs exercise the spill file. */
static size_t spill_after(void)
{
#ifdef ROLLGUARD_TESTING
	const char *text = getenv("ROLLGUARD_TEST_SPILL_AFTER");
	if (text && *text)
		return (size_t)strtoull(text, NULL, 10);
#endif
	return PROBECHECK_SPILL_AFTER;
}

static int put_string(kube_buf *out, const char *s)
{
	return kube_buf_put(out, s, strlen(s) + 1);
}

static int encode(kube_buf *out, const probecheck_report_workload *w, uint8_t *deferred)
{
	struct record_head head;
	int rc = 0;
	if (w->label_count > UINT32_MAX || w->finding_count > UINT32_MAX)
		return KUBE_ENOMEM;
	memset(&head, 0, sizeof(head));
	head.replicas = w->replicas;
	head.label_count = (uint32_t)w->label_count;
	head.finding_count = (uint32_t)w->finding_count;
	head.line = w->source.line;
	head.helm_line = w->source.helm_line;
	head.kind_id = (uint8_t)w->kind_id;
	head.run_to_completion = (uint8_t)(w->run_to_completion != 0);
	head.has_file = w->source.file != NULL;
	head.has_helm_source = w->source.helm_source != NULL;
	memcpy(head.evaluated, w->evaluated, sizeof(head.evaluated));
	kube_buf_clear(out);
	if ((rc = kube_buf_put(out, &head, sizeof(head))) || (rc = put_string(out, w->kind)) ||
	    (rc = put_string(out, w->namespace_name)) || (rc = put_string(out, w->name)) ||
	    (w->source.file && (rc = put_string(out, w->source.file))) ||
	    (w->source.helm_source && (rc = put_string(out, w->source.helm_source))))
		return rc;
	for (size_t i = 0; i < w->label_count; i++)
		if ((rc = put_string(out, w->labels[i].key)) || (rc = put_string(out, w->labels[i].value)))
			return rc;
	*deferred = 0;
	for (size_t i = 0; i < w->finding_count; i++) {
		const probecheck_finding *f = &w->findings[i];
		struct finding_head fh;
		memset(&fh, 0, sizeof(fh)); /* no uninitialised padding in the file */
		fh.check = f->check;
		fh.severity = f->severity;
		fh.flags = f->flags;
		fh.origin = (int8_t)(f->suppressed_by ? (int)f->suppressed_by->origin : -1);
		*deferred |= (uint8_t)(f->flags & PROBECHECK_DEFER_MASK);
		if ((rc = kube_buf_put(out, &fh, sizeof(fh))) || (rc = put_string(out, f->container)) ||
		    (rc = put_string(out, f->probe)) || (rc = put_string(out, f->message)) ||
		    (rc = put_string(out, f->fix)) ||
		    (f->suppressed_by && ((rc = put_string(out, f->suppressed_by->where)) ||
		                          (rc = put_string(out, f->suppressed_by->reason)))))
			return rc;
	}
	return out->len > UINT32_MAX ? KUBE_ENOMEM : 0;
}

int probecheck_report_add(probecheck_report *report, const probecheck_report_workload *w)
{
	uint8_t deferred = 0;
	uint64_t at;
	int rc;
	if (report->workload_count == report->workload_cap) {
		size_t cap = report->workload_cap ? report->workload_cap * 2 : 64;
		probecheck_report_entry *grown = kube_realloc(report->entries, cap * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		report->entries = grown;
		report->workload_cap = cap;
	}
	if (!report->spill && !(report->spill = probecheck_spill_new(spill_after())))
		return KUBE_ENOMEM;
	if ((rc = encode(&report->record, w, &deferred)) ||
	    (rc = probecheck_spill_put(report->spill, report->record.ptr, report->record.len, &at)))
		return rc == KUBE_EPROTOCOL ? KUBE_ENOMEM : rc;
	probecheck_report_entry *entry = &report->entries[report->workload_count++];
	memset(entry, 0, sizeof(*entry));
	entry->at = at;
	entry->len = (uint32_t)report->record.len;
	entry->deferred = deferred;
	return 0;
}

void probecheck_report_truncate(probecheck_report *report, size_t count)
{
	if (count >= report->workload_count)
		return;
	probecheck_spill_truncate(report->spill, report->entries[count].at);
	report->workload_count = count;
}

void probecheck_report_cursor_init(probecheck_report_cursor *cursor, const probecheck_report *report)
{
	memset(cursor, 0, sizeof(*cursor));
	cursor->report = report;
}

void probecheck_report_cursor_dispose(probecheck_report_cursor *cursor)
{
	probecheck_arena_dispose(&cursor->scratch);
}

/* The NUL-terminated string at *p, or NULL when the record ends first. */
static const char *take_string(const char **p, const char *end)
{
	const char *s = *p, *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
	if (!nul)
		return NULL;
	*p = nul + 1;
	return s;
}

static int corrupt(size_t index)
{
	cli_error("read back the findings: the record of workload %zu is damaged", index + 1);
	return -1;
}

static int out_of_memory(void)
{
	cli_error("read back the findings: out of memory");
	return -1;
}

/* Decodes workload index as it was recorded into cursor->workload.
 * Returns 0, or -1 when the record cannot be read (the error printed). */
static int read_record(probecheck_report_cursor *cursor, size_t index)
{
	const probecheck_report *report = cursor->report;
	const probecheck_report_entry *entry = &report->entries[index];
	probecheck_report_workload *w = &cursor->workload;
	struct record_head head;

	memset(w, 0, sizeof(*w));
	cursor->findings = NULL;
	cursor->finding_next = 0;
	probecheck_arena_reset(&cursor->scratch);
	const char *bytes = probecheck_spill_get(report->spill, entry->at, entry->len);
	if (!bytes)
		return -1;
	/* a copy of its own: the spill's window moves with the next read */
	char *record = probecheck_arena_alloc(&cursor->scratch, entry->len);
	if (!record)
		return out_of_memory();
	memcpy(record, bytes, entry->len);
	const char *p = record + sizeof(head), *end = record + entry->len;
	if (entry->len < sizeof(head))
		return corrupt(index);
	memcpy(&head, record, sizeof(head));

	w->kind = take_string(&p, end);
	w->namespace_name = take_string(&p, end);
	w->name = take_string(&p, end);
	w->source.file = head.has_file ? take_string(&p, end) : NULL;
	w->source.line = head.line;
	w->source.helm_source = head.has_helm_source ? take_string(&p, end) : NULL;
	w->source.helm_line = head.helm_line;
	w->kind_id = (enum probecheck_kind)head.kind_id;
	w->run_to_completion = head.run_to_completion;
	w->replicas = (long)head.replicas;
	memcpy(w->evaluated, head.evaluated, sizeof(w->evaluated));
	if (!w->kind || !w->namespace_name || !w->name || (head.has_file && !w->source.file) ||
	    (head.has_helm_source && !w->source.helm_source) || head.label_count > entry->len ||
	    head.finding_count > entry->len)
		return corrupt(index);

	probecheck_label *labels =
	        head.label_count ? probecheck_arena_alloc(&cursor->scratch, head.label_count * sizeof(*labels)) : NULL;
	probecheck_finding *findings =
	        head.finding_count ? probecheck_arena_alloc(&cursor->scratch, head.finding_count * sizeof(*findings))
	                           : NULL;
	if ((head.label_count && !labels) || (head.finding_count && !findings))
		return out_of_memory();
	for (size_t i = 0; i < head.label_count; i++) {
		labels[i].key = take_string(&p, end);
		labels[i].value = take_string(&p, end);
		if (!labels[i].key || !labels[i].value)
			return corrupt(index);
	}
	for (size_t i = 0; i < head.finding_count; i++) {
		probecheck_finding *f = &findings[i];
		struct finding_head fh;
		if ((size_t)(end - p) < sizeof(fh))
			return corrupt(index);
		memcpy(&fh, p, sizeof(fh));
		p += sizeof(fh);
		f->check = fh.check;
		f->severity = fh.severity;
		f->flags = fh.flags;
		f->container = take_string(&p, end);
		f->probe = take_string(&p, end);
		f->message = take_string(&p, end);
		f->fix = take_string(&p, end);
		f->suppressed_by = NULL;
		if (!f->container || !f->probe || !f->message || !f->fix || f->check >= PROBECHECK_CHECK_COUNT ||
		    f->severity > PROBECHECK_SEV_ERROR)
			return corrupt(index);
		if (fh.origin >= 0) {
			probecheck_suppression *by = probecheck_arena_alloc(&cursor->scratch, sizeof(*by));
			if (!by)
				return out_of_memory();
			by->origin = (enum probecheck_suppression_origin)fh.origin;
			by->where = take_string(&p, end);
			by->reason = take_string(&p, end);
			if (!by->where || !by->reason)
				return corrupt(index);
			f->suppressed_by = by;
		}
	}
	w->labels = labels;
	w->label_count = head.label_count;
	w->findings = cursor->findings = findings;
	w->finding_count = head.finding_count;
	return 0;
}

/* Resolves the deferred findings of the workload just read. Returns 0 or
 * KUBE_ENOMEM. */
static int resolve(probecheck_report_cursor *cursor, unsigned deferred)
{
	const probecheck_report *report = cursor->report;
	probecheck_report_workload *w = &cursor->workload;
	if (!(deferred & PROBECHECK_DEFER_MASK) || !report->resolve)
		return 0;
	report->resolve(report->resolve_user, w, deferred);
	for (size_t i = 0; i < w->finding_count; i++) {
		probecheck_finding *f = &cursor->findings[i];
		if ((f->flags & PROBECHECK_DEFER_DROP_IF_SERVICE) && w->service)
			f->flags |= PROBECHECK_FINDING_DROPPED;
		if ((f->flags & PROBECHECK_DEFER_DROP_IF_PDB) && w->pdb)
			f->flags |= PROBECHECK_FINDING_DROPPED;
		if ((f->flags & PROBECHECK_DEFER_ESCALATE_IF_SERVICE) && w->service) {
			f->severity = PROBECHECK_SEV_ERROR;
			f->message = probecheck_arena_printf(&cursor->scratch, "%s; Service \"%s\" selects these pods",
			                                     f->message, w->service);
			if (!f->message)
				return KUBE_ENOMEM;
		}
	}
	return 0;
}

int probecheck_report_next(probecheck_report_cursor *cursor, const probecheck_report_workload **out)
{
	if (cursor->next >= cursor->report->workload_count)
		return 0;
	size_t index = cursor->next++;
	if (read_record(cursor, index))
		return -1;
	if (resolve(cursor, cursor->report->entries[index].deferred))
		return out_of_memory();
	*out = &cursor->workload;
	return 1;
}

int probecheck_report_next_finding(probecheck_report_cursor *cursor, const probecheck_report_workload **w,
                                   const probecheck_finding **f)
{
	while (cursor->finding_next >= cursor->workload.finding_count) {
		const probecheck_report_workload *next;
		int rc = probecheck_report_next(cursor, &next);
		if (rc <= 0)
			return rc;
	}
	*w = &cursor->workload;
	*f = &cursor->workload.findings[cursor->finding_next++];
	return 1;
}

int probecheck_finding_reported(const probecheck_report *report, const probecheck_finding *f)
{
	if (f->flags & PROBECHECK_FINDING_DROPPED)
		return 0;
	return !f->suppressed_by || report->strict;
}

int probecheck_report_count(probecheck_report *report)
{
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int rc;
	memset(report->count, 0, sizeof(report->count));
	report->reported = report->suppressed = 0;
	probecheck_report_cursor_init(&cursor, report);
	while ((rc = probecheck_report_next_finding(&cursor, &w, &f)) > 0) {
		if (f->flags & PROBECHECK_FINDING_DROPPED)
			continue;
		if (f->suppressed_by)
			report->suppressed++;
		if (probecheck_finding_reported(report, f)) {
			report->reported++;
			report->count[f->severity]++;
		}
	}
	probecheck_report_cursor_dispose(&cursor);
	return rc;
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
	kube_free(report->entries);
	probecheck_arena_dispose(&report->arena);
	probecheck_spill_free(report->spill);
	kube_buf_dispose(&report->record);
	json_decref(report->exercised);
	report->exercised = NULL;
	report->spill = NULL;
	report->entries = NULL;
	report->workload_count = report->workload_cap = 0;
}
