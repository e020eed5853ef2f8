/* The audit engine: dispatch by kind, per-workload summaries, suppressions, deferred checks. */
#include <stdarg.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/error.h>

#include "checks/checks.h"
#include "cli/exit.h"
#include "engine.h"
#include "selector.h"

struct probecheck_engine {
	probecheck_options options;
	probecheck_report report;
	probecheck_selector_index services;
	probecheck_selector_index pdbs;
	probecheck_workload workload; /* the one being audited; its containers array is reused */
	probecheck_probe (*probes)[PROBECHECK_PROBE_KINDS];
	size_t probe_cap;
	probecheck_fix fix;
	probecheck_suppress_item *items; /* suppressions in force for the current workload */
	size_t item_count, item_cap;
	/* The workload being audited, handed to the report when its audit is
	 * complete: its strings are borrowed from the object or live in
	 * scratch, which is reset for the next one. */
	probecheck_report_workload summary;
	probecheck_label *labels;
	size_t label_cap;
	probecheck_finding *findings;
	size_t finding_count, finding_cap;
	probecheck_arena scratch;
	kube_buf text; /* a finding's message, formatted before it is kept */
};

int probecheck_engine_new(probecheck_engine **out, const probecheck_options *options)
{
	*out = NULL;
	probecheck_engine *engine = kube_calloc(1, sizeof(*engine));
	if (!engine)
		return KUBE_ENOMEM;
	engine->options = *options;
	engine->report.strict = options->strict;
	engine->report.fail_on = options->fail_on;
	memcpy(engine->report.enabled, options->enabled, sizeof(engine->report.enabled));
	engine->services.arena = &engine->report.arena;
	engine->pdbs.arena = &engine->report.arena;
	*out = engine;
	return 0;
}

void probecheck_engine_free(probecheck_engine *engine)
{
	if (!engine)
		return;
	probecheck_report_dispose(&engine->report);
	probecheck_selector_dispose(&engine->services);
	probecheck_selector_dispose(&engine->pdbs);
	probecheck_workload_dispose(&engine->workload);
	probecheck_fix_dispose(&engine->fix);
	kube_free(engine->probes);
	kube_free(engine->items);
	kube_free(engine->labels);
	kube_free(engine->findings);
	probecheck_arena_dispose(&engine->scratch);
	kube_buf_dispose(&engine->text);
	kube_free(engine);
}

size_t probecheck_engine_workload_count(const probecheck_engine *engine)
{
	return engine->report.workload_count;
}

void probecheck_engine_truncate(probecheck_engine *engine, size_t count)
{
	probecheck_report_truncate(&engine->report, count);
}

probecheck_report *probecheck_engine_report(probecheck_engine *engine)
{
	return &engine->report;
}

static int scope_applies(enum probecheck_scope scope, const probecheck_workload *w)
{
	switch (scope) {
	case PROBECHECK_SCOPE_ALL:
		return 1;
	case PROBECHECK_SCOPE_LONG_RUNNING:
		return !w->run_to_completion;
	case PROBECHECK_SCOPE_REPLICATED:
		return w->replicas >= 0;
	case PROBECHECK_SCOPE_ROLLOUT:
		return w->kind == PROBECHECK_KIND_DEPLOYMENT || w->kind == PROBECHECK_KIND_STATEFULSET ||
		       w->kind == PROBECHECK_KIND_DAEMONSET;
	}
	return 0;
}

int probecheck_applies(const probecheck_ctx *ctx, enum probecheck_check check)
{
	return ctx->engine->options.enabled[check] && scope_applies(probecheck_catalog[check].scope, ctx->workload);
}

const probecheck_probe *probecheck_ctx_probe(const probecheck_ctx *ctx, size_t container,
                                             enum probecheck_probe_kind kind)
{
	return &ctx->probes[container][kind];
}

int probecheck_container_runs(const probecheck_container *c)
{
	return !c->init || c->sidecar;
}

int probecheck_emit(probecheck_ctx *ctx, enum probecheck_check check, enum probecheck_severity severity,
                    const probecheck_container *c, int probe, unsigned flags, const char *fmt, ...)
{
	probecheck_engine *engine = ctx->engine;
	va_list ap;
	int failed = ctx->fix->failed;

	if (!probecheck_applies(ctx, check)) {
		probecheck_fix_reset(ctx->fix);
		return 0;
	}
	if (engine->finding_count == engine->finding_cap) {
		size_t cap = engine->finding_cap ? engine->finding_cap * 2 : 64;
		probecheck_finding *grown = kube_realloc(engine->findings, cap * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		engine->findings = grown;
		engine->finding_cap = cap;
	}
	probecheck_finding *f = &engine->findings[engine->finding_count];
	memset(f, 0, sizeof(*f));
	f->check = (uint16_t)check;
	f->severity = (uint8_t)severity;
	f->flags = (uint8_t)flags;
	f->container = c ? c->name : "";
	f->probe = probe >= 0 ? probecheck_probe_field((enum probecheck_probe_kind)probe) : "";
	kube_buf_clear(&engine->text);
	va_start(ap, fmt);
	int rc = kube_buf_vprintf(&engine->text, fmt, ap);
	va_end(ap);
	if (!rc) {
		f->message = probecheck_arena_strndup(&engine->scratch, kube_buf_cstr(&engine->text), engine->text.len);
		f->fix = probecheck_arena_strndup(&engine->scratch, kube_buf_cstr(&ctx->fix->buf), ctx->fix->buf.len);
	}
	probecheck_fix_reset(ctx->fix);
	if (failed || rc || !f->container || !f->message || !f->fix)
		return KUBE_ENOMEM;
	f->suppressed_by = probecheck_suppress_find(engine->items, engine->item_count, (int)check, c ? c->name : "");
	engine->finding_count++;
	return 0;
}

/* Starts the summary of w: identity, source and pod labels, borrowed from
 * the object until the report records it. */
static int start_summary(probecheck_engine *engine, const probecheck_workload *w)
{
	probecheck_report_workload *s = &engine->summary;
	memset(s, 0, sizeof(*s));
	engine->finding_count = 0;
	probecheck_arena_reset(&engine->scratch);
	s->kind = w->kind_name ? w->kind_name : ""; /* probecheck_kind_of read it: never NULL */
	s->namespace_name = w->namespace_name;
	s->name = w->name;
	s->kind_id = w->kind;
	s->run_to_completion = w->run_to_completion;
	s->replicas = w->replicas;
	s->source = w->source;

	size_t count = json_object_size(w->labels), i = 0;
	if (count > engine->label_cap) {
		probecheck_label *grown = kube_realloc(engine->labels, count * sizeof(*grown));
		if (!grown)
			return KUBE_ENOMEM;
		engine->labels = grown;
		engine->label_cap = count;
	}
	if (count) {
		const char *key;
		const json_t *value;
		json_object_foreach((json_t *)w->labels, key, value)
		{
			if (!json_is_string(value))
				continue;
			engine->labels[i].key = key;
			engine->labels[i].value = json_string_value(value);
			i++;
		}
	}
	s->labels = engine->labels;
	s->label_count = i;
	return 0;
}

static int parse_probes(probecheck_engine *engine, const probecheck_workload *w)
{
	if (w->container_count > engine->probe_cap) {
		size_t cap = w->container_count + 8;
		void *probes = kube_realloc(engine->probes, cap * sizeof(*engine->probes));
		if (!probes)
			return KUBE_ENOMEM;
		engine->probes = probes;
		engine->probe_cap = cap;
	}
	for (size_t i = 0; i < w->container_count; i++) {
		for (int kind = 0; kind < PROBECHECK_PROBE_KINDS; kind++)
			(void)probecheck_probe_parse(&engine->probes[i][kind], w->containers[i].spec,
			                             (enum probecheck_probe_kind)kind);
	}
	return 0;
}

static int report_problem(void *user, const char *message)
{
	probecheck_ctx *ctx = user;
	return probecheck_emit(ctx, PROBECHECK_SUPPRESSION_INVALID, PROBECHECK_SEV_WARNING, NULL, -1, 0, "%s", message);
}

static int annotation_suppressions(probecheck_ctx *ctx, const json_t *annotations,
                                   enum probecheck_suppression_origin origin)
{
	probecheck_engine *engine = ctx->engine;
	const json_t *value = json_object_get(annotations, PROBECHECK_IGNORE_ANNOTATION);
	if (!value)
		return 0;
	if (!json_is_string(value))
		return report_problem(ctx, PROBECHECK_IGNORE_ANNOTATION " must be a string");
	return probecheck_suppress_parse_annotation(ctx->arena, ctx->workload, json_string_value(value), origin,
	                                            &engine->items, &engine->item_count, &engine->item_cap,
	                                            report_problem, ctx);
}

static int audit_workload(probecheck_engine *engine, const json_t *object, const probecheck_source *source, char *err,
                          size_t err_size)
{
	probecheck_workload *w = &engine->workload;
	int rc = probecheck_workload_init(w, object, source, engine->options.default_namespace, err, err_size);
	if (rc)
		return rc;
	if ((rc = start_summary(engine, w)) || (rc = parse_probes(engine, w)))
		return rc;

	/* suppressions parsed from annotations live in scratch with the findings */
	probecheck_ctx ctx = {engine, w, (const probecheck_probe(*)[PROBECHECK_PROBE_KINDS])engine->probes,
	                      &engine->fix, &engine->scratch};
	probecheck_report_workload *summary = &engine->summary;
	for (int check = 0; check < PROBECHECK_CHECK_COUNT; check++)
		summary->evaluated[check] = (unsigned char)probecheck_applies(&ctx, (enum probecheck_check)check);

	engine->item_count = 0;
	if ((rc = probecheck_config_match(engine->options.config, w, &engine->items, &engine->item_count,
	                                  &engine->item_cap)) ||
	    (rc = annotation_suppressions(&ctx, w->annotations, PROBECHECK_SUPPRESSED_BY_ANNOTATION)) ||
	    (rc = annotation_suppressions(&ctx, w->template_annotations, PROBECHECK_SUPPRESSED_BY_TEMPLATE_ANNOTATION)))
		return rc;

	if ((rc = probecheck_check_presence(&ctx)) || (rc = probecheck_check_correctness(&ctx)) ||
	    (rc = probecheck_check_timing(&ctx)) || (rc = probecheck_check_intent(&ctx)) ||
	    (rc = probecheck_check_hygiene(&ctx)))
		return rc;
	if (engine->options.hook && (rc = engine->options.hook(&ctx, engine->options.hook_user)))
		return rc;
	summary->findings = engine->findings;
	summary->finding_count = engine->finding_count;
	return probecheck_report_add(&engine->report, summary);
}

static const char *object_namespace(const probecheck_engine *engine, const json_t *object)
{
	const char *ns = probecheck_json_string(probecheck_json_object(object, "metadata"), "namespace");
	if (ns && *ns)
		return ns;
	return engine->options.default_namespace ? engine->options.default_namespace : "";
}

int probecheck_engine_add(probecheck_engine *engine, const json_t *object, const probecheck_source *source, char *err,
                          size_t err_size)
{
	const char *name = probecheck_json_string(probecheck_json_object(object, "metadata"), "name");
	const json_t *spec = probecheck_json_object(object, "spec");
	int rc;
	if (!name)
		name = "";
	switch (probecheck_kind_of(object)) {
	case PROBECHECK_KIND_SERVICE:
		rc = probecheck_selector_add_map(&engine->services, object_namespace(engine, object), name,
		                                 json_object_get(spec, "selector"));
		if (rc == KUBE_EINVALID)
			(void)snprintf(err, err_size, "Service \"%s\": spec.selector must be a map of strings", name);
		return rc;
	case PROBECHECK_KIND_PDB:
		rc = probecheck_selector_add_label_selector(&engine->pdbs, object_namespace(engine, object), name,
		                                            json_object_get(spec, "selector"));
		if (rc == KUBE_EINVALID)
			(void)snprintf(err, err_size,
			               "PodDisruptionBudget \"%s\": spec.selector is not a valid label selector", name);
		return rc;
	case PROBECHECK_KIND_OTHER:
		if (probecheck_looks_like_workload(object)) {
			const char *kind = probecheck_json_string(object, "kind");
			const char *api_version = probecheck_json_string(object, "apiVersion");
			cli_warning(
			        "%s:%d: skipping %s \"%s\" (%s): it has a pod template, but probecheck audits only "
			        "Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Pod, Job and "
			        "CronJob",
			        source->file ? source->file : "", source->line, kind ? kind : "?", name,
			        api_version ? api_version : "no apiVersion");
		}
		return 0;
	default:
		return audit_workload(engine, object, source, err, err_size);
	}
}

/* The report's resolve: the Service and the PDB selecting w's pods,
 * looked up in the indexes by w's own label pairs. */
static void resolve_selectors(void *user, probecheck_report_workload *w, unsigned deferred)
{
	const probecheck_engine *engine = user;
	if (deferred & (PROBECHECK_DEFER_ESCALATE_IF_SERVICE | PROBECHECK_DEFER_DROP_IF_SERVICE))
		w->service = probecheck_selector_match(&engine->services, w->namespace_name, w->labels, w->label_count);
	if (deferred & PROBECHECK_DEFER_DROP_IF_PDB)
		w->pdb = probecheck_selector_match(&engine->pdbs, w->namespace_name, w->labels, w->label_count);
}

/* The findings whose severity or existence depends on Services and PDBs
 * are resolved as each record is read back, now that the whole input has
 * been read: counting is the first such pass. */
int probecheck_engine_finish(probecheck_engine *engine)
{
	engine->report.resolve = resolve_selectors;
	engine->report.resolve_user = engine;
	return probecheck_report_count(&engine->report) ? KUBE_ERROR : 0;
}
