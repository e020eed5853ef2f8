/* kubectl-probecheck's report records (compiled in from plugins/probecheck/
 * report.c, spill.c and arena.c): workloads written as records, kept in
 * memory or in the spill file, read back one at a time with their deferred
 * findings resolved; truncation; the fallback to memory without a spill
 * file or when the file fails; and the one-line error of a failed read. */
#define _GNU_SOURCE /* spill.c's O_TMPFILE and mkostemp, before any header */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube/error.h>

/* the plugin is no library: its report is compiled into the test */
#include "../../plugins/probecheck/arena.c"  /* NOLINT(bugprone-suspicious-include) */
#include "../../plugins/probecheck/report.c" /* NOLINT(bugprone-suspicious-include) */
#include "../../plugins/probecheck/spill.c"  /* NOLINT(bugprone-suspicious-include) */

#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum store { IN_MEMORY, ON_FILE, NO_TMPDIR };

static const probecheck_suppression annotation = {PROBECHECK_SUPPRESSED_BY_ANNOTATION, "vendored chart",
                                                  "metadata.annotations"};

/* Workload i of a test report: "web-<i>" in "team-<i % 3>", with
 * findings_per findings, every third one suppressed, the second one
 * deferred on a Service, the third on a PDB; fix holds fix_len bytes. */
struct made {
	char name[32], ns[32], file[48], value[32], messages[8][64];
	char *fix;
	probecheck_label labels[2];
	probecheck_finding findings[8];
	probecheck_report_workload w;
};

static void make(struct made *m, size_t i, size_t findings_per, size_t fix_len)
{
	memset(m, 0, sizeof(*m));
	(void)snprintf(m->name, sizeof(m->name), "web-%zu", i);
	if (i % 3) /* every third workload has no namespace (a cluster-scoped kind) */
		(void)snprintf(m->ns, sizeof(m->ns), "team-%zu", i % 3);
	(void)snprintf(m->file, sizeof(m->file), "dir/file-%zu.yaml", i / 4);
	(void)snprintf(m->value, sizeof(m->value), "app-%zu", i);
	m->fix = malloc(fix_len + 1);
	assert_non_null(m->fix);
	for (size_t k = 0; k < fix_len; k++)
		m->fix[k] = (char)('a' + k % 26);
	m->fix[fix_len] = '\0';
	m->labels[0] = (probecheck_label){"app", m->value};
	m->labels[1] = (probecheck_label){"tier", "web"};
	m->w.kind = "Deployment";
	m->w.namespace_name = m->ns;
	m->w.name = m->name;
	m->w.source.file = i % 5 ? m->file : NULL;
	m->w.source.line = (int)i * 10 + 1;
	m->w.source.helm_source = i % 2 ? "chart/templates/web.yaml" : NULL;
	m->w.source.helm_line = (int)i + 2;
	m->w.kind_id = PROBECHECK_KIND_DEPLOYMENT;
	m->w.run_to_completion = (int)(i % 2);
	m->w.replicas = (long)i - 1;
	m->w.labels = m->labels;
	m->w.label_count = i % 4 ? 2 : 0;
	for (size_t c = 0; c < PROBECHECK_CHECK_COUNT; c++)
		m->w.evaluated[c] = (unsigned char)((c + i) % 2);
	for (size_t k = 0; k < findings_per && k < ARRAY_SIZE(m->findings); k++) {
		probecheck_finding *f = &m->findings[k];
		(void)snprintf(m->messages[k], sizeof(m->messages[k]), "finding %zu of %s", k, m->name);
		f->check = (uint16_t)((i + k) % PROBECHECK_CHECK_COUNT);
		f->severity = (uint8_t)(1 + k % 3);
		f->flags = k == 1 ? PROBECHECK_DEFER_ESCALATE_IF_SERVICE : k == 2 ? PROBECHECK_DEFER_DROP_IF_PDB : 0;
		f->suppressed_by = k % 3 == 0 ? &annotation : NULL;
		f->container = k ? "app" : "";
		f->probe = k % 2 ? "livenessProbe" : "";
		f->message = m->messages[k];
		f->fix = k == 0 ? m->fix : "";
	}
	m->w.findings = m->findings;
	m->w.finding_count = findings_per < ARRAY_SIZE(m->findings) ? findings_per : ARRAY_SIZE(m->findings);
}

static void unmake(struct made *m)
{
	free(m->fix);
}

static void assert_string_or_null(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* got is want as recorded: nothing resolved. */
static void assert_same(const probecheck_report_workload *got, const probecheck_report_workload *want)
{
	assert_string_equal(got->kind, want->kind);
	assert_string_equal(got->namespace_name, want->namespace_name);
	assert_string_equal(got->name, want->name);
	assert_string_or_null(got->source.file, want->source.file);
	assert_int_equal(got->source.line, want->source.line);
	assert_string_or_null(got->source.helm_source, want->source.helm_source);
	assert_int_equal(got->source.helm_line, want->source.helm_line);
	assert_int_equal(got->kind_id, want->kind_id);
	assert_int_equal(got->run_to_completion, want->run_to_completion);
	assert_int_equal(got->replicas, want->replicas);
	assert_memory_equal(got->evaluated, want->evaluated, sizeof(got->evaluated));
	assert_int_equal(got->label_count, want->label_count);
	for (size_t i = 0; i < got->label_count; i++) {
		assert_string_equal(got->labels[i].key, want->labels[i].key);
		assert_string_equal(got->labels[i].value, want->labels[i].value);
	}
	assert_int_equal(got->finding_count, want->finding_count);
	for (size_t i = 0; i < got->finding_count; i++) {
		const probecheck_finding *g = &got->findings[i], *f = &want->findings[i];
		assert_int_equal(g->check, f->check);
		assert_int_equal(g->severity, f->severity);
		assert_int_equal(g->flags, f->flags);
		assert_string_equal(g->container, f->container);
		assert_string_equal(g->probe, f->probe);
		assert_string_equal(g->message, f->message);
		assert_string_equal(g->fix, f->fix);
		if (!f->suppressed_by) {
			assert_null(g->suppressed_by);
			continue;
		}
		assert_non_null(g->suppressed_by);
		assert_int_equal(g->suppressed_by->origin, f->suppressed_by->origin);
		assert_string_equal(g->suppressed_by->where, f->suppressed_by->where);
		assert_string_equal(g->suppressed_by->reason, f->suppressed_by->reason);
	}
}

/* The next workload of cursor; the test fails when there is none. */
static const probecheck_report_workload *next_workload(probecheck_report_cursor *cursor)
{
	const probecheck_report_workload *w = NULL;
	assert_int_equal(probecheck_report_next(cursor, &w), 1);
	if (!w)
		abort(); /* for the analyzer, which does not know assert_* return only on success */
	return w;
}

/* A report whose records go where store says from the first byte. */
static void report_init(probecheck_report *report, enum store store)
{
	memset(report, 0, sizeof(*report));
	if (store == NO_TMPDIR)
		setenv("TMPDIR", "/nonexistent/probecheck-test", 1);
	report->spill = probecheck_spill_new(store == IN_MEMORY ? (size_t)-1 : 0);
	assert_non_null(report->spill);
}

static void add(probecheck_report *report, size_t first, size_t count, size_t findings_per, size_t fix_len)
{
	for (size_t i = first; i < first + count; i++) {
		struct made m;
		make(&m, i, findings_per, fix_len);
		assert_int_equal(probecheck_report_add(report, &m.w), 0);
		unmake(&m);
	}
}

/* Reads the report back and checks it holds workloads [0, count) but for
 * [skip_from, skip_to), as made with findings_per and fix_len. */
static void assert_holds(const probecheck_report *report, size_t count, size_t skip_from, size_t skip_to,
                         size_t findings_per, size_t fix_len)
{
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	size_t i = 0, read = 0;
	probecheck_report_cursor_init(&cursor, report);
	for (; i < count; i++) {
		if (i >= skip_from && i < skip_to)
			continue;
		struct made m;
		make(&m, i, findings_per, fix_len);
		assert_same(next_workload(&cursor), &m.w);
		unmake(&m);
		read++;
	}
	assert_int_equal(probecheck_report_next(&cursor, &w), 0);
	assert_int_equal(report->workload_count, read);
	probecheck_report_cursor_dispose(&cursor);
}

static void test_probecheck_report__round_trip(void **state)
{
	static const enum store stores[] = {IN_MEMORY, ON_FILE, NO_TMPDIR};
	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(stores); s++) {
		probecheck_report report;
		report_init(&report, stores[s]);
		/* long fixes: the file takes several 64 KiB blocks */
		add(&report, 0, 300, 5, 700);
		assert_int_equal(probecheck_spill_on_file(report.spill), stores[s] == ON_FILE);
		assert_holds(&report, 300, 0, 0, 5, 700);
		/* a second cursor starts over, and two may walk at once */
		probecheck_report_cursor a, b;
		const probecheck_report_workload *wa, *wb;
		probecheck_report_cursor_init(&a, &report);
		probecheck_report_cursor_init(&b, &report);
		wa = next_workload(&a);
		for (int i = 0; i < 200; i++)
			wb = next_workload(&b);
		assert_string_equal(wa->name, "web-0");
		assert_string_equal(wb->name, "web-199");
		assert_string_equal(next_workload(&a)->name, "web-1");
		probecheck_report_cursor_dispose(&a);
		probecheck_report_cursor_dispose(&b);
		probecheck_report_dispose(&report);
		unsetenv("TMPDIR");
	}
}

static void test_probecheck_report__empty(void **state)
{
	probecheck_report report;
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	(void)state;
	memset(&report, 0, sizeof(report));
	probecheck_report_cursor_init(&cursor, &report);
	assert_int_equal(probecheck_report_next(&cursor, &w), 0);
	assert_int_equal(probecheck_report_next_finding(&cursor, &w, &f), 0);
	probecheck_report_cursor_dispose(&cursor);
	assert_int_equal(probecheck_report_count(&report), 0);
	assert_int_equal(report.reported, 0);
	assert_false(probecheck_report_failed(&report));
	probecheck_report_truncate(&report, 0);
	probecheck_report_dispose(&report);

	/* a workload without findings or labels */
	memset(&report, 0, sizeof(report));
	add(&report, 0, 1, 0, 0);
	assert_holds(&report, 1, 0, 0, 0, 0);
	probecheck_report_dispose(&report);
}

/* A listing that started over: the workloads after the mark are
 * forgotten and the next ones take their place, in memory, in the write
 * block, and from before what the file already holds. */
static void test_probecheck_report__truncate(void **state)
{
	static const enum store stores[] = {IN_MEMORY, ON_FILE, NO_TMPDIR};
	static const size_t fix_lens[] = {10, 30000};
	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(stores); s++) {
		for (size_t l = 0; l < ARRAY_SIZE(fix_lens); l++) {
			probecheck_report report;
			report_init(&report, stores[s]);
			add(&report, 0, 40, 3, fix_lens[l]);
			probecheck_report_truncate(&report, 50); /* past the end: nothing */
			assert_int_equal(report.workload_count, 40);
			probecheck_report_truncate(&report, 12);
			assert_int_equal(report.workload_count, 12);
			assert_holds(&report, 12, 0, 0, 3, fix_lens[l]);
			add(&report, 20, 30, 3, fix_lens[l]);
			assert_holds(&report, 50, 12, 20, 3, fix_lens[l]);
			probecheck_report_truncate(&report, 0);
			assert_holds(&report, 0, 0, 0, 3, fix_lens[l]);
			add(&report, 0, 3, 3, fix_lens[l]);
			assert_holds(&report, 3, 0, 0, 3, fix_lens[l]);
			probecheck_report_dispose(&report);
			unsetenv("TMPDIR");
		}
	}
}

static void resolve_all(void *user, probecheck_report_workload *w, unsigned deferred)
{
	int *calls = user;
	(*calls)++;
	if (deferred & (PROBECHECK_DEFER_ESCALATE_IF_SERVICE | PROBECHECK_DEFER_DROP_IF_SERVICE))
		w->service = strcmp(w->name, "web-1") == 0 ? "front" : NULL;
	if (deferred & PROBECHECK_DEFER_DROP_IF_PDB)
		w->pdb = "budget";
}

/* Deferred findings are resolved as they are read back: escalated when a
 * Service selects the pods, dropped when a PDB does; counts follow. */
static void test_probecheck_report__resolve_and_count(void **state)
{
	probecheck_report report;
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	const probecheck_finding *f;
	int calls = 0;
	(void)state;
	report_init(&report, ON_FILE);
	add(&report, 0, 3, 4, 5); /* web-1 has a Service; every one a PDB */
	report.resolve = resolve_all;
	report.resolve_user = &calls;
	report.fail_on = PROBECHECK_SEV_ERROR;
	assert_int_equal(probecheck_report_count(&report), 0);
	assert_int_equal(calls, 3);
	/* each: finding 0 suppressed (info), 1 escalated or not (warning), 2 dropped, 3 suppressed (info) */
	assert_int_equal(report.suppressed, 6);
	assert_int_equal(report.reported, 3);
	assert_int_equal(report.count[PROBECHECK_SEV_ERROR], 1);
	assert_int_equal(report.count[PROBECHECK_SEV_WARNING], 2);
	assert_true(probecheck_report_failed(&report));

	probecheck_report_cursor_init(&cursor, &report);
	for (size_t i = 0; i < 3; i++) {
		w = next_workload(&cursor);
		assert_string_equal(w->pdb, "budget");
		assert_true(w->findings[2].flags & PROBECHECK_FINDING_DROPPED);
		assert_false(probecheck_finding_reported(&report, &w->findings[2]));
		if (i == 1) {
			assert_string_equal(w->service, "front");
			assert_int_equal(w->findings[1].severity, PROBECHECK_SEV_ERROR);
			assert_string_equal(w->findings[1].message,
			                    "finding 1 of web-1; Service \"front\" selects these pods");
		} else {
			assert_null(w->service);
			assert_int_equal(w->findings[1].severity, PROBECHECK_SEV_WARNING);
		}
	}
	probecheck_report_cursor_dispose(&cursor);

	/* strict: the suppressed ones are reported too */
	report.strict = 1;
	assert_int_equal(probecheck_report_count(&report), 0);
	assert_int_equal(report.reported, 9);

	/* findings one at a time, dropped ones included */
	size_t n = 0;
	probecheck_report_cursor_init(&cursor, &report);
	while (probecheck_report_next_finding(&cursor, &w, &f) > 0) {
		assert_ptr_equal(f, &w->findings[n % 4]);
		n++;
	}
	assert_int_equal(n, 12);
	probecheck_report_cursor_dispose(&cursor);
	probecheck_report_dispose(&report);
}

/* A spill file that stops taking writes: what it did not take stays in
 * memory, and every record still reads back. */
static void test_probecheck_report__write_failure_keeps_memory(void **state)
{
	probecheck_report report;
	(void)state;
	report_init(&report, ON_FILE);
	add(&report, 0, 100, 4, 2000);
	assert_true(probecheck_spill_on_file(report.spill));
	int read_only = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(read_only >= 0);
	assert_true(dup2(read_only, report.spill->fd) >= 0);
	(void)close(read_only);
	add(&report, 100, 100, 4, 2000);
	assert_false(probecheck_spill_on_file(report.spill));
	/* what reached the file before cannot be read from /dev/null: the
	 * records from base on can */
	probecheck_report_truncate(&report, 0);
	add(&report, 0, 150, 4, 2000);
	assert_holds(&report, 150, 0, 0, 4, 2000);
	probecheck_report_dispose(&report);
}

/* Reads the error lines a failing read printed. */
static void read_errors(FILE *stream, char *buf, size_t size)
{
	rewind(stream);
	size_t len = fread(buf, 1, size - 1, stream);
	buf[len] = '\0';
}

/* A spill file that cannot be read back: one error line, -1 from the
 * cursor and from counting, no crash. */
static void test_probecheck_report__read_failure(void **state)
{
	probecheck_report report;
	probecheck_report_cursor cursor;
	const probecheck_report_workload *w;
	char errors[1024];
	FILE *stream = tmpfile();
	(void)state;
	assert_non_null(stream);
	report_init(&report, ON_FILE);
	add(&report, 0, 200, 4, 2000);
	int write_only = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(write_only >= 0);
	assert_true(dup2(write_only, report.spill->fd) >= 0);
	(void)close(write_only);

	cli_error_stream_set(stream);
	probecheck_report_cursor_init(&cursor, &report);
	assert_int_equal(probecheck_report_next(&cursor, &w), -1);
	probecheck_report_cursor_dispose(&cursor);
	read_errors(stream, errors, sizeof(errors));
	assert_string_equal(errors, "error: read the findings' temporary file: Bad file descriptor\n");

	rewind(stream);
	assert_int_equal(ftruncate(fileno(stream), 0), 0);
	assert_int_equal(probecheck_report_count(&report), -1);
	read_errors(stream, errors, sizeof(errors));
	assert_string_equal(errors, "error: read the findings' temporary file: Bad file descriptor\n");
	cli_error_stream_set(NULL);
	(void)fclose(stream);
	probecheck_report_dispose(&report);
}

/* Out of memory at every allocation of adding and reading back: an error
 * code, never a crash or a leak. */
static void test_probecheck_report__allocation_failures(void **state)
{
	(void)state;
	for (long n = 1; n < 40; n++) {
		probecheck_report report;
		probecheck_report_cursor cursor;
		const probecheck_report_workload *w;
		struct made m;
		FILE *stream = tmpfile();
		assert_non_null(stream);
		cli_error_stream_set(stream);
		memset(&report, 0, sizeof(report));
		make(&m, 1, 4, 100);
		test_alloc_fail_at(n);
		int rc = probecheck_report_add(&report, &m.w);
		assert_true(rc == 0 || rc == KUBE_ENOMEM);
		if (rc == 0) {
			probecheck_report_cursor_init(&cursor, &report);
			rc = probecheck_report_next(&cursor, &w);
			assert_true(rc == 1 || rc == -1);
			probecheck_report_cursor_dispose(&cursor);
		}
		test_alloc_fail_at(0);
		cli_error_stream_set(NULL);
		(void)fclose(stream);
		unmake(&m);
		probecheck_report_dispose(&report);
	}
}

/* Scratch memory reused per workload: reset keeps the chunk being filled;
 * strings and packed bytes take no alignment, allocations do. */
static void test_probecheck_report__arena_reset(void **state)
{
	probecheck_arena arena = PROBECHECK_ARENA_INIT;
	(void)state;
	char *a = probecheck_arena_strdup(&arena, "abc");
	unsigned char *b = probecheck_arena_bytes(&arena, 3);
	void *c = probecheck_arena_alloc(&arena, 24);
	assert_non_null(a);
	assert_ptr_equal(b, (unsigned char *)a + 4);
	assert_int_equal((uintptr_t)c % 16, 0);
	assert_non_null(probecheck_arena_alloc(&arena, 200000)); /* a chunk of its own */
	assert_int_equal(arena.total, 64 * 1024 + 200000);
	probecheck_arena_reset(&arena);
	assert_int_equal(arena.total, 64 * 1024);
	assert_ptr_equal(probecheck_arena_strdup(&arena, "xyz"), a);
	probecheck_arena_dispose(&arena);
	/* a big block first, then reset: nothing kept */
	assert_non_null(probecheck_arena_alloc(&arena, 100000));
	probecheck_arena_reset(&arena);
	assert_null(arena.head);
	probecheck_arena_dispose(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_probecheck_report__round_trip),
	        cmocka_unit_test(test_probecheck_report__empty),
	        cmocka_unit_test(test_probecheck_report__truncate),
	        cmocka_unit_test(test_probecheck_report__resolve_and_count),
	        cmocka_unit_test(test_probecheck_report__write_failure_keeps_memory),
	        cmocka_unit_test(test_probecheck_report__read_failure),
	        cmocka_unit_test(test_probecheck_report__allocation_failures),
	        cmocka_unit_test(test_probecheck_report__arena_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
