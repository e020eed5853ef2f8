/* libFuzzer target for the analysis file (--analysis) and the annotation
 * rollguard.io/canary-analysis, which anyone who may edit the Deployment
 * may write: the parser refuses with one printable line, or yields an
 * analysis whose normalized JSON reads back to the same text; every query
 * it holds expands without going past its buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube/buf.h>
#include <kube/error.h>

#include "analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *text)
{
	if (!text[0])
		abort();
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
}

static const canary_query_vars vars = {
        .ns = "shop",
        .deployment = "web",
        .canary = "web-canary",
        .revision = "86bc49586d",
        .track = "canary",
        .service = "web",
        .route = "web",
        .router = "nginx",
        .window_ms = 60000,
};

static void check_queries(const canary_analysis *a)
{
	char err[512];
	for (int k = 0; k < CANARY_QUERY_KINDS; k++) {
		for (int t = 0; t < 2; t++) {
			kube_buf out = KUBE_BUF_INIT;
			int rc = canary_query_builtin(&out, a, (enum canary_query_kind)k, (enum canary_track_kind)t,
			                              &vars, err, sizeof(err));
			if (rc == -1)
				check_line(err);
			else if (rc != 0 && rc != KUBE_ENOMEM)
				abort();
			kube_buf_dispose(&out);
		}
	}
	for (int i = 0; i < a->metric_count; i++) {
		kube_buf out = KUBE_BUF_INIT;
		/* the parser checked the variables: a run that has them all expands */
		if (canary_query_expand(&out, a->metrics[i].query, &vars, NULL, err, sizeof(err)) == -1)
			abort();
		kube_buf_dispose(&out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	canary_analysis *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	kube_buf first = KUBE_BUF_INIT, second = KUBE_BUF_INIT;
	char err[512] = "";
	if (!a || !b || size > 65536)
		goto done;
	int rc = canary_analysis_parse(a, (const char *)data, size, err, sizeof(err));
	if (rc == KUBE_ENOMEM)
		goto done;
	if (rc != 0) {
		if (rc != -1 || a->metric_count != 0)
			abort(); /* nothing half-read */
		check_line(err);
		goto done;
	}
	if (a->metric_count < 0 || a->metric_count > CANARY_METRICS_MAX || a->interval_ms < 1000 ||
	    a->window_ms < 1000 || a->min_requests < 0 || a->max_p99_ms < 0)
		abort();
	check_queries(a);
	if (canary_analysis_finish(a, "replicas", err, sizeof(err)) != 0) {
		check_line(err);
		goto done;
	}
	if (canary_analysis_gate_count(a) + 1 > CANARY_MAX_GATES || a->template_kind == CANARY_TEMPLATE_DEFAULT)
		abort();
	if (canary_analysis_format(&first, a) != 0 || memchr(first.ptr, '\n', first.len))
		goto done;
	/* what start stores, every later command reads */
	if (canary_analysis_parse(b, first.ptr, first.len, err, sizeof(err)) != 0)
		abort();
	/* the very same numbers, not ones rounded on the way */
	if (b->error_floor != a->error_floor || b->error_ratio != a->error_ratio || b->min_requests != a->min_requests)
		abort();
	if (canary_analysis_finish(b, "replicas", err, sizeof(err)) != 0)
		abort();
	if (canary_analysis_format(&second, b) != 0)
		goto done;
	if (second.len != first.len || memcmp(second.ptr, first.ptr, first.len) != 0)
		abort();
done:
	kube_buf_dispose(&first);
	kube_buf_dispose(&second);
	free(a);
	free(b);
	return 0;
}
