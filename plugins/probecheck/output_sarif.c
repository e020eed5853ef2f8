/* SARIF 2.1.0: one run, the catalogue as tool.driver.rules, a result per finding located at its manifest line. */
#include <string.h>

#include <kube/buf.h>
#include <kube/version.h>

#include "cli/exit.h"
#include "cli/output.h"
#include "output.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const char *sarif_level(enum probecheck_severity severity)
{
	switch (severity) {
	case PROBECHECK_SEV_ERROR:
		return "error";
	case PROBECHECK_SEV_WARNING:
		return "warning";
	case PROBECHECK_SEV_INFO:
	case PROBECHECK_SEV_NONE:
		break;
	}
	return "note";
}

static json_t *text(const char *value)
{
	return json_pack("{s:s}", "text", value ? value : "");
}

static json_t *rules_array(void)
{
	json_t *rules = json_array();
	for (int i = 0; rules && i < PROBECHECK_CHECK_COUNT; i++) {
		const probecheck_check_info *check = &probecheck_catalog[i];
		char docs[128], help[2048];
		probecheck_check_docs(docs, sizeof(docs), check);
		(void)snprintf(help, sizeof(help), "%s%s%s%s See %s.", check->why,
		               check->severity_note ? " Severity: " : "",
		               check->severity_note ? check->severity_note : "", check->severity_note ? "." : "", docs);
		json_t *rule =
		        json_pack("{s:s, s:o, s:o, s:o, s:{s:s}, s:{s:s, s:[s]}}", "id", check->id, "shortDescription",
		                  text(check->title), "fullDescription", text(check->why), "help", text(help),
		                  "defaultConfiguration", "level", sarif_level(check->severity), "properties", "family",
		                  check->family, "tags", check->family);
		if (json_array_append_new(rules, rule)) {
			json_decref(rules);
			return NULL;
		}
	}
	return rules;
}

/* A relative URI reference for a path: RFC 3986 unreserved characters
 * and "/" kept, everything else percent-encoded. */
static int uri_of(kube_buf *out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	kube_buf_clear(out);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		           strchr("-._~/", *p);
		char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		if (keep ? kube_buf_put(out, p, 1) : kube_buf_put(out, escaped, 3))
			return -1;
	}
	return 0;
}

static json_t *location(const probecheck_report_workload *w, const probecheck_finding *f, kube_buf *uri)
{
	const char *path = w->source.helm_source ? w->source.helm_source : w->source.file;
	int line = w->source.helm_source ? w->source.helm_line : w->source.line;
	char logical[1024];
	(void)snprintf(logical, sizeof(logical), "%s%s%s/%s%s%s", w->namespace_name, *w->namespace_name ? "/" : "",
	               w->kind, w->name, *f->container ? "/" : "", f->container);
	json_t *loc =
	        json_pack("{s:[{s:s, s:s}]}", "logicalLocations", "fullyQualifiedName", logical, "kind", "object");
	if (!loc || !path)
		return loc;
	if (uri_of(uri, path) ||
	    json_object_set_new(loc, "physicalLocation",
	                        json_pack("{s:{s:s}, s:{s:i}}", "artifactLocation", "uri", kube_buf_cstr(uri), "region",
	                                  "startLine", line > 0 ? line : 1))) {
		json_decref(loc);
		return NULL;
	}
	return loc;
}

static json_t *result(const probecheck_report *report, const probecheck_report_workload *w, const probecheck_finding *f,
                      kube_buf *uri)
{
	char fingerprint[1024], label[512];
	probecheck_workload_label(label, sizeof(label), w);
	(void)snprintf(fingerprint, sizeof(fingerprint), "%s/%s/%s/%s/%s/%s", w->kind, w->namespace_name, w->name,
	               f->container, f->probe, probecheck_catalog[f->check].id);
	json_t *r =
	        json_pack("{s:s, s:i, s:s, s:o, s:[o], s:{s:s}, s:{s:s, s:s, s:s, s:s}}", "ruleId",
	                  probecheck_catalog[f->check].id, "ruleIndex", (int)f->check, "level",
	                  sarif_level((enum probecheck_severity)f->severity), "message", text(f->message), "locations",
	                  location(w, f, uri), "partialFingerprints", "probecheckWorkload/v1", fingerprint,
	                  "properties", "workload", label, "container", f->container, "probe", f->probe, "fix", f->fix);
	if (r && f->suppressed_by && !report->strict &&
	    json_object_set_new(
	            r, "suppressions",
	            json_pack("[{s:s, s:s}]", "kind",
	                      f->suppressed_by->origin == PROBECHECK_SUPPRESSED_BY_CONFIG ? "external" : "inSource",
	                      "justification", f->suppressed_by->reason))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

struct result_cursor {
	probecheck_report_cursor records;
	kube_buf uri;
};

static json_t *next_result(void *user, int *done)
{
	struct result_cursor *cursor = user;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int rc;
	while ((rc = probecheck_report_next_finding(&cursor->records, &w, &f)) > 0) {
		/* Suppressed findings stay, marked with suppressions[], as SARIF viewers expect. */
		if (!(f->flags & PROBECHECK_FINDING_DROPPED))
			return result(cursor->records.report, w, f, &cursor->uri);
	}
	*done = rc < 0 ? -1 : 1;
	return NULL;
}

int probecheck_output_sarif(FILE *stream, const probecheck_report *report)
{
	struct result_cursor cursor = {.uri = KUBE_BUF_INIT};
	probecheck_report_cursor_init(&cursor.records, report);
	json_t *doc =
	        json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:o}}}]}", "$schema", SARIF_SCHEMA, "version", "2.1.0",
	                  "runs", "tool", "driver", "name", "kubectl-probecheck", "version", kube_version_string(),
	                  "semanticVersion", kube_version_string(), "rules", rules_array());
	json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
	const probecheck_streamed_array results = {run, "results", next_result, &cursor};
	int rc = run ? probecheck_output_streamed(stream, CLI_OUTPUT_JSON, doc, &results, 1) : cli_error_nomem();
	json_decref(doc);
	kube_buf_dispose(&cursor.uri);
	probecheck_report_cursor_dispose(&cursor.records);
	return rc;
}
