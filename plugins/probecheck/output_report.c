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

static json_t *finding_object(const probecheck_report_workload *w, const probecheck_finding *f)
{
	const probecheck_check_info *check = &probecheck_catalog[f->check];
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (json_object_set_new(object, "workload", workload_ref(w, 0)) || set_string(object, "checkId", check->id) ||
	    set_string(object, "severity", probecheck_severity_name((enum probecheck_severity)f->severity)) ||
	    set_string(object, "container", f->container) || set_string(object, "probe", f->probe) ||
	    set_string(object, "message", f->message) || set_string(object, "why", check->why) ||
	    set_string(object, "fix", f->fix) ||
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
	if (json_object_set_new(doc, "failOn", json_string(probecheck_severity_name(report->fail_on))) ||
	    json_object_set_new(doc, "strict", json_boolean(report->strict)) ||
	    json_object_set_new(doc, "workloads", json_array()) || json_object_set_new(doc, "findings", json_array()))
		return -1;
	/* workloads, findings and suppressed stay empty here:
	 * probecheck_output_report streams them in */
	if (json_object_set_new(doc, "summary", summary_object(report)) ||
	    (report->exercised && json_object_set(doc, "exercised", report->exercised)) ||
	    (report->strict && json_object_set_new(doc, "suppressed", json_array())))
		return -1;
	return 0;
}

static json_t *next_workload(void *user, int *done)
{
	const probecheck_report_workload *w;
	int rc = probecheck_report_next(user, &w);
	if (rc > 0)
		return workload_ref(w, 1);
	*done = rc < 0 ? -1 : 1;
	return NULL;
}

static json_t *next_finding(void *user, int *done)
{
	probecheck_report_cursor *cursor = user;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int rc;
	while ((rc = probecheck_report_next_finding(cursor, &w, &f)) > 0)
		if (probecheck_finding_reported(cursor->report, f))
			return finding_object(w, f);
	*done = rc < 0 ? -1 : 1;
	return NULL;
}

/* --strict: the suppressions it ignored, one per finding they cover. */
static json_t *next_suppressed(void *user, int *done)
{
	probecheck_report_cursor *cursor = user;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int rc;
	while ((rc = probecheck_report_next_finding(cursor, &w, &f)) > 0) {
		if (!f->suppressed_by || (f->flags & PROBECHECK_FINDING_DROPPED))
			continue;
		json_t *entry = suppression_object(f->suppressed_by);
		if (!entry || json_object_set_new(entry, "workload", workload_ref(w, 0)) ||
		    set_string(entry, "checkId", probecheck_catalog[f->check].id) ||
		    set_string(entry, "container", f->container)) {
			json_decref(entry);
			return NULL;
		}
		return entry;
	}
	*done = rc < 0 ? -1 : 1;
	return NULL;
}

int probecheck_output_report(FILE *stream, enum cli_output_format format, const probecheck_report *report)
{
	probecheck_report_cursor cursors[3];
	json_t *doc = cli_object_new("ProbeReport");
	if (!doc || fill(doc, report)) {
		json_decref(doc);
		return cli_error_nomem();
	}
	for (size_t i = 0; i < 3; i++)
		probecheck_report_cursor_init(&cursors[i], report);
	const probecheck_streamed_array arrays[] = {
	        {doc, "workloads", next_workload, &cursors[0]},
	        {doc, "findings", next_finding, &cursors[1]},
	        {doc, "suppressed", next_suppressed, &cursors[2]},
	};
	int rc = probecheck_output_streamed(stream, format, doc, arrays,
	                                    sizeof(arrays) / sizeof(arrays[0]) - !report->strict);
	for (size_t i = 0; i < 3; i++)
		probecheck_report_cursor_dispose(&cursors[i]);
	json_decref(doc);
	return rc;
}
