/* The ProbeReport object behind -o json and -o yaml. */
#include <string.h>

#include "cli/exit.h"
#include "cli/output.h"
#include "output.h"

static int set_string(json_t *object, const char *key, const char *value)
{
	return json_object_set_new(object, key, json_string(value ? value : ""));
}

static json_t *source_object(const probecheck_source *source)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (set_string(object, "file", source->file) ||
	    json_object_set_new(object, "line", json_integer(source->line)) ||
	    (source->helm_source && (set_string(object, "helmSource", source->helm_source) ||
	                             json_object_set_new(object, "helmLine", json_integer(source->helm_line))))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *workload_ref(const probecheck_report_workload *w, int with_source)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (set_string(object, "kind", w->kind) || set_string(object, "namespace", w->namespace_name) ||
	    set_string(object, "name", w->name) ||
	    (with_source && w->source.file && json_object_set_new(object, "source", source_object(&w->source)))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *suppression_object(const probecheck_suppression *by)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (set_string(object, "origin", probecheck_suppression_origin_name(by->origin)) ||
	    set_string(object, "where", by->where) || set_string(object, "reason", by->reason)) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *finding_object(const probecheck_report *report, const probecheck_finding *f)
{
	const probecheck_report_workload *w = &report->workloads[f->workload];
	const probecheck_check_info *check = &probecheck_catalog[f->check];
	const char *message, *fix;
	if (probecheck_finding_text(report, f, &message, &fix))
		return NULL;
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (json_object_set_new(object, "workload", workload_ref(w, 0)) || set_string(object, "checkId", check->id) ||
	    set_string(object, "severity", probecheck_severity_name((enum probecheck_severity)f->severity)) ||
	    set_string(object, "container", f->container) || set_string(object, "probe", f->probe) ||
	    set_string(object, "message", message) || set_string(object, "why", check->why) ||
	    set_string(object, "fix", fix) ||
	    (w->source.file && json_object_set_new(object, "source", source_object(&w->source))) ||
	    (f->suppressed_by && json_object_set_new(object, "suppressedBy", suppression_object(f->suppressed_by)))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static json_t *summary_object(const probecheck_report *report)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (json_object_set_new(object, "workloads", json_integer((json_int_t)report->workload_count)) ||
	    json_object_set_new(object, "findings", json_integer((json_int_t)report->reported)) ||
	    json_object_set_new(object, "error", json_integer((json_int_t)report->count[PROBECHECK_SEV_ERROR])) ||
	    json_object_set_new(object, "warning", json_integer((json_int_t)report->count[PROBECHECK_SEV_WARNING])) ||
	    json_object_set_new(object, "info", json_integer((json_int_t)report->count[PROBECHECK_SEV_INFO])) ||
	    json_object_set_new(object, "suppressed", json_integer((json_int_t)report->suppressed)) ||
	    json_object_set_new(object, "failed", json_boolean(probecheck_report_failed(report)))) {
		json_decref(object);
		return NULL;
	}
	return object;
}

static int fill(json_t *doc, const probecheck_report *report)
{
	json_t *suppressed = report->strict ? json_array() : NULL;
	if (json_object_set_new(doc, "failOn", json_string(probecheck_severity_name(report->fail_on))) ||
	    json_object_set_new(doc, "strict", json_boolean(report->strict)) ||
	    json_object_set_new(doc, "workloads", json_array()) || json_object_set_new(doc, "findings", json_array())) {
		json_decref(suppressed);
		return -1;
	}
	/* workloads and findings stay empty here: probecheck_output_report
	 * streams them in */
	if (json_object_set_new(doc, "summary", summary_object(report)) ||
	    (report->exercised && json_object_set(doc, "exercised", report->exercised)))
		return -1;
	if (!suppressed)
		return 0;
	if (json_object_set_new(doc, "suppressed", suppressed))
		return -1;
	for (size_t i = 0; i < report->finding_count; i++) {
		const probecheck_finding *f = &report->findings[i];
		if (!f->suppressed_by || (f->flags & PROBECHECK_FINDING_DROPPED))
			continue;
		json_t *entry = suppression_object(f->suppressed_by);
		/* appended first, so the array owns it whatever fails next */
		if (json_array_append_new(suppressed, entry) ||
		    json_object_set_new(entry, "workload", workload_ref(&report->workloads[f->workload], 0)) ||
		    set_string(entry, "checkId", probecheck_catalog[f->check].id) ||
		    set_string(entry, "container", f->container))
			return -1;
	}
	return 0;
}

struct cursor {
	const probecheck_report *report;
	size_t next;
};

static json_t *next_workload(void *user, int *done)
{
	struct cursor *cursor = user;
	if (cursor->next < cursor->report->workload_count)
		return workload_ref(&cursor->report->workloads[cursor->next++], 1);
	*done = 1;
	return NULL;
}

static json_t *next_finding(void *user, int *done)
{
	struct cursor *cursor = user;
	const probecheck_report *report = cursor->report;
	while (cursor->next < report->finding_count) {
		const probecheck_finding *f = &report->findings[cursor->next++];
		if (probecheck_finding_reported(report, f))
			return finding_object(report, f);
	}
	*done = 1;
	return NULL;
}

int probecheck_output_report(FILE *stream, enum cli_output_format format, const probecheck_report *report)
{
	struct cursor workloads = {report, 0}, findings = {report, 0};
	json_t *doc = cli_object_new("ProbeReport");
	if (!doc || fill(doc, report)) {
		json_decref(doc);
		return cli_error_nomem();
	}
	const probecheck_streamed_array arrays[] = {
	        {doc, "workloads", next_workload, &workloads},
	        {doc, "findings", next_finding, &findings},
	};
	int rc = probecheck_output_streamed(stream, format, doc, arrays, sizeof(arrays) / sizeof(arrays[0]));
	json_decref(doc);
	return rc;
}
