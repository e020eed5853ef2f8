/* Fix snippets as strategic merge patches of the workload. */
#include <stdarg.h>
#include <string.h>

#include <kube/error.h>
#include <kube/yaml.h>

#include "fix.h"

void probecheck_fix_reset(probecheck_fix *fix)
{
	kube_buf_clear(&fix->buf);
	fix->failed = 0;
}

static void put_indent(probecheck_fix *fix, int indent)
{
	static const char spaces[] = "                                                                ";
	while (!fix->failed && indent > 0) {
		int n = indent < (int)sizeof(spaces) - 1 ? indent : (int)sizeof(spaces) - 1;
		fix->failed = kube_buf_put(&fix->buf, spaces, (size_t)n) != 0;
		indent -= n;
	}
}

void probecheck_fix_line(probecheck_fix *fix, int indent, const char *fmt, ...)
{
	va_list ap;
	put_indent(fix, indent);
	if (fix->failed)
		return;
	va_start(ap, fmt);
	fix->failed = kube_buf_vprintf(&fix->buf, fmt, ap) != 0 || kube_buf_puts(&fix->buf, "\n") != 0;
	va_end(ap);
}

int probecheck_fix_spec(probecheck_fix *fix)
{
	probecheck_fix_line(fix, 0, "spec:");
	return 2;
}

int probecheck_fix_pod(probecheck_fix *fix, const probecheck_workload *w)
{
	switch (w->kind) {
	case PROBECHECK_KIND_POD:
		probecheck_fix_line(fix, 0, "spec:");
		return 2;
	case PROBECHECK_KIND_CRONJOB:
		probecheck_fix_line(fix, 0, "spec:");
		probecheck_fix_line(fix, 2, "jobTemplate:");
		probecheck_fix_line(fix, 4, "spec:");
		probecheck_fix_line(fix, 6, "template:");
		probecheck_fix_line(fix, 8, "spec:");
		return 10;
	default:
		probecheck_fix_line(fix, 0, "spec:");
		probecheck_fix_line(fix, 2, "template:");
		probecheck_fix_line(fix, 4, "spec:");
		return 6;
	}
}

int probecheck_fix_container(probecheck_fix *fix, const probecheck_workload *w, const probecheck_container *c)
{
	int indent = probecheck_fix_pod(fix, w);
	probecheck_fix_line(fix, indent, "%s:", c->init ? "initContainers" : "containers");
	probecheck_fix_line(fix, indent, "- name: %s", c->name);
	return indent + 2;
}

void probecheck_fix_yaml(probecheck_fix *fix, int indent, const char *key, const json_t *value)
{
	kube_buf yaml = KUBE_BUF_INIT;
	probecheck_fix_line(fix, indent, "%s:", key);
	if (fix->failed)
		return;
	if (kube_yaml_emit(&yaml, value) != 0) {
		fix->failed = 1;
		kube_buf_dispose(&yaml);
		return;
	}
	const char *p = kube_buf_cstr(&yaml);
	while (*p && !fix->failed) {
		size_t len = strcspn(p, "\n");
		put_indent(fix, indent + 2);
		if (!fix->failed)
			fix->failed = kube_buf_put(&fix->buf, p, len) != 0 || kube_buf_puts(&fix->buf, "\n") != 0;
		p += len + (p[len] == '\n');
	}
	kube_buf_dispose(&yaml);
}

void probecheck_fix_probe(probecheck_fix *fix, int indent, enum probecheck_probe_kind kind,
                          const probecheck_probe *from, const probecheck_fix_numbers *numbers)
{
	probecheck_fix_line(fix, indent, "%s:", probecheck_probe_field(kind));
	if (from && from->handler_json)
		probecheck_fix_yaml(fix, indent + 2, probecheck_handler_name(from->handler), from->handler_json);
	if (numbers->initial_delay)
		probecheck_fix_line(fix, indent + 2, "initialDelaySeconds: %ld", numbers->initial_delay);
	if (numbers->period)
		probecheck_fix_line(fix, indent + 2, "periodSeconds: %ld", numbers->period);
	if (numbers->timeout)
		probecheck_fix_line(fix, indent + 2, "timeoutSeconds: %ld", numbers->timeout);
	if (numbers->success)
		probecheck_fix_line(fix, indent + 2, "successThreshold: %ld", numbers->success);
	if (numbers->failure)
		probecheck_fix_line(fix, indent + 2, "failureThreshold: %ld", numbers->failure);
}

void probecheck_fix_dispose(probecheck_fix *fix)
{
	kube_buf_dispose(&fix->buf);
	fix->failed = 0;
}
