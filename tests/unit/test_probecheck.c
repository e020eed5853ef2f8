/* kubectl-probecheck's offline audit, tested through the real binary: the
 * fixture corpus in tests/fixtures/probecheck/cases (each NAME.expected
 * with its findings, exit code and error line, run table-driven), and the
 * shape of every output format.
 *
 * The binary is PROBECHECK_BIN, by default ../kubectl-probecheck relative
 * to the working directory ctest gives the test (build/tests).
 *
 * NAME.expected, one item per line ("#" starts a comment):
 *   args: FLAGS          extra flags ({dir} is tests/fixtures/probecheck)
 *   input: PATH          what -f reads, relative to {dir} (default cases/NAME.yaml)
 *   stdin: yes           feed the input on standard input (-f -)
 *   exit: N              expected exit code (default 0; the runner adds --fail-on never first)
 *   stderr: TEXT         a substring of standard error
 *   report: yes          a report is expected although the exit code is 2
 *   suppressed: WORKLOAD CHECK [CONTAINER]   an entry of suppressed[] (with --strict)
 *   WORKLOAD CHECK SEVERITY [CONTAINER]      a finding; WORKLOAD is Kind/name or Kind/namespace/name
 * The findings must match exactly, as a set with repetitions. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <kube/yaml.h>

#include "test_support.h"

#define MAX_LINES 128

struct run_result {
	int exit_code;
	char *out; /* malloc'd */
	char *err; /* malloc'd */
};

static const char *binary(void)
{
	const char *bin = getenv("PROBECHECK_BIN");
	return bin && *bin ? bin : "../kubectl-probecheck";
}

static const char *fixtures(void)
{
	static char dir[4096];
	(void)snprintf(dir, sizeof(dir), "%s/probecheck", FIXTURES_DIR);
	return dir;
}

static char *slurp(FILE *f)
{
	size_t len = 0, cap = 8192;
	char *data = malloc(cap);
	assert_non_null(data);
	for (;;) {
		size_t n = fread(data + len, 1, cap - len - 1, f);
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			data = realloc(data, cap);
			assert_non_null(data);
			continue;
		}
		if (n == 0)
			break;
	}
	data[len] = '\0';
	return data;
}

/* Replaces every {dir} in text with the fixtures directory. */
static void expand(char *out, size_t size, const char *text)
{
	size_t used = 0;
	out[0] = '\0';
	while (*text && used + 1 < size) {
		if (strncmp(text, "{dir}", 5) == 0) {
			int n = snprintf(out + used, size - used, "%s", fixtures());
			used += n > 0 ? (size_t)n : 0;
			text += 5;
		} else {
			out[used++] = *text++;
			out[used] = '\0';
		}
	}
	if (used >= size)
		out[size - 1] = '\0';
}

/* Runs "BIN ARGS" through the shell (stdin_path: < it), capturing both streams. */
static void run(struct run_result *r, const char *args, const char *stdin_path)
{
	char cmd[20480], err_path[] = "/tmp/probecheck-test-XXXXXX";
	int fd = mkstemp(err_path);
	assert_true(fd >= 0);
	close(fd);
	(void)snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'%s%s%s", binary(), args, err_path, stdin_path ? " <'" : "",
	               stdin_path ? stdin_path : "", stdin_path ? "'" : "");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	r->out = slurp(p);
	int status = pclose(p);
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *e = fopen(err_path, "r");
	assert_non_null(e);
	r->err = slurp(e);
	fclose(e);
	unlink(err_path);
}

static void run_dispose(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

static json_t *parse_json(const char *text)
{
	json_error_t error;
	json_t *doc = json_loads(text, 0, &error);
	if (!doc)
		fail_msg("output is not JSON: %s (line %d)\n%s", error.text, error.line, text);
	return doc;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void workload_id(char *buf, size_t size, const json_t *workload)
{
	const char *ns = json_string_value(json_object_get(workload, "namespace"));
	(void)snprintf(buf, size, "%s/%s%s%s", json_string_value(json_object_get(workload, "kind")), ns ? ns : "",
	               ns && *ns ? "/" : "", json_string_value(json_object_get(workload, "name")));
}

/* Normalizes "a  b c " to "a b c". */
static void squeeze(char *s)
{
	char *w = s;
	int space = 1;
	for (char *r = s; *r; r++) {
		if (*r == ' ' || *r == '\t') {
			if (!space)
				*w++ = ' ';
			space = 1;
		} else {
			*w++ = *r;
			space = 0;
		}
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

struct expectation {
	char args[2048];
	char input[9216];
	int use_stdin;
	int exit_code;
	int report;
	char stderr_text[1024];
	char *findings[MAX_LINES];
	size_t finding_count;
	char *suppressed[MAX_LINES];
	size_t suppressed_count;
};

static int directive(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);
	if (strncmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*value = line + n + 1;
	while (**value == ' ')
		(*value)++;
	return 1;
}

static void parse_expectation(struct expectation *x, const char *name, char *text)
{
	memset(x, 0, sizeof(*x));
	(void)snprintf(x->input, sizeof(x->input), "%s/cases/%s.yaml", fixtures(), name);
	for (char *line = strtok_r(text, "\n", &text); line; line = strtok_r(NULL, "\n", &text)) {
		const char *value;
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if (directive(line, "args", &value)) {
			expand(x->args, sizeof(x->args), value);
		} else if (directive(line, "input", &value)) {
			char rel[1024];
			expand(rel, sizeof(rel), value);
			(void)snprintf(x->input, sizeof(x->input), "%s/%s", fixtures(), rel);
		} else if (directive(line, "stdin", &value)) {
			x->use_stdin = strcmp(value, "yes") == 0;
		} else if (directive(line, "exit", &value)) {
			x->exit_code = (int)strtol(value, NULL, 10);
		} else if (directive(line, "report", &value)) {
			x->report = strcmp(value, "yes") == 0;
		} else if (directive(line, "stderr", &value)) {
			expand(x->stderr_text, sizeof(x->stderr_text), value);
		} else if (directive(line, "suppressed", &value)) {
			char *copy = strdup(value);
			assert_non_null(copy);
			squeeze(copy);
			if (x->suppressed_count < MAX_LINES)
				x->suppressed[x->suppressed_count++] = copy;
			else
				free(copy);
		} else {
			char *copy = strdup(line);
			assert_non_null(copy);
			squeeze(copy);
			if (x->finding_count < MAX_LINES)
				x->findings[x->finding_count++] = copy;
			else
				free(copy);
		}
	}
}

static void expectation_dispose(struct expectation *x)
{
	for (size_t i = 0; i < x->finding_count; i++)
		free(x->findings[i]);
	for (size_t i = 0; i < x->suppressed_count; i++)
		free(x->suppressed[i]);
}

/* Compares two lists as multisets; appends the differences to report. */
static int same_lines(char **expected, size_t expected_count, char **actual, size_t actual_count, const char *what,
                      FILE *report)
{
	int same = expected_count == actual_count;
	qsort(expected, expected_count, sizeof(char *), compare_strings);
	qsort(actual, actual_count, sizeof(char *), compare_strings);
	for (size_t i = 0; same && i < expected_count; i++)
		same = strcmp(expected[i], actual[i]) == 0;
	if (same)
		return 1;
	(void)fprintf(report, "  %s expected:\n", what);
	for (size_t i = 0; i < expected_count; i++)
		(void)fprintf(report, "    %s\n", expected[i]);
	(void)fprintf(report, "  %s actual:\n", what);
	for (size_t i = 0; i < actual_count; i++)
		(void)fprintf(report, "    %s\n", actual[i]);
	return 0;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* Runs one case; returns 1 when it passes, else writes why to report. */
static int run_case(const char *name, FILE *report)
{
	char path[4096], args[16384];
	struct expectation x;
	struct run_result r;
	int ok = 1;

	(void)snprintf(path, sizeof(path), "probecheck/cases/%s.expected", name);
	char *text = test_fixture_read(path, NULL);
	parse_expectation(&x, name, text);
	free(text);
	(void)snprintf(args, sizeof(args), "-f '%s' -o json --fail-on never %s", x.use_stdin ? "-" : x.input, x.args);
	run(&r, args, x.use_stdin ? x.input : NULL);

	(void)fprintf(report, "case %s: kubectl-probecheck %s\n", name, args);
	if (r.exit_code != x.exit_code) {
		(void)fprintf(report, "  exit code %d, expected %d\n  stderr: %s\n", r.exit_code, x.exit_code, r.err);
		ok = 0;
	}
	if (x.stderr_text[0] && !strstr(r.err, x.stderr_text)) {
		(void)fprintf(report, "  stderr lacks \"%s\":\n%s\n", x.stderr_text, r.err);
		ok = 0;
	}
	if (x.exit_code >= 2 && !x.report) {
		/* SPEC §1.2: exactly one error line, and no report. */
		if (count_lines_starting(r.err, "error: ") != 1 || r.out[0]) {
			(void)fprintf(report, "  expected one error line and no output; stderr:\n%s\nstdout:\n%s\n",
			              r.err, r.out);
			ok = 0;
		}
	} else if (ok) {
		json_t *doc = parse_json(r.out);
		char *actual[MAX_LINES * 2], *actual_suppressed[MAX_LINES];
		size_t actual_count = 0, suppressed_count = 0, index;
		json_t *item;
		json_array_foreach(json_object_get(doc, "findings"), index, item)
		{
			char workload[512], line[1024];
			const char *container = json_string_value(json_object_get(item, "container"));
			workload_id(workload, sizeof(workload), json_object_get(item, "workload"));
			(void)snprintf(line, sizeof(line), "%s %s %s %s", workload,
			               json_string_value(json_object_get(item, "checkId")),
			               json_string_value(json_object_get(item, "severity")),
			               container ? container : "");
			squeeze(line);
			assert_true(actual_count < MAX_LINES * 2);
			actual[actual_count++] = strdup(line);
		}
		json_array_foreach(json_object_get(doc, "suppressed"), index, item)
		{
			char workload[512], line[1024];
			workload_id(workload, sizeof(workload), json_object_get(item, "workload"));
			(void)snprintf(line, sizeof(line), "%s %s %s", workload,
			               json_string_value(json_object_get(item, "checkId")),
			               json_string_value(json_object_get(item, "container")));
			squeeze(line);
			assert_true(suppressed_count < MAX_LINES);
			actual_suppressed[suppressed_count++] = strdup(line);
		}
		ok &= same_lines(x.findings, x.finding_count, actual, actual_count, "findings", report);
		ok &= same_lines(x.suppressed, x.suppressed_count, actual_suppressed, suppressed_count, "suppressed",
		                 report);
		for (size_t i = 0; i < actual_count; i++)
			free(actual[i]);
		for (size_t i = 0; i < suppressed_count; i++)
			free(actual_suppressed[i]);
		json_decref(doc);
	}
	expectation_dispose(&x);
	run_dispose(&r);
	return ok;
}

static int is_expected_file(const struct dirent *e)
{
	size_t len = strlen(e->d_name);
	return len > 9 && strcmp(e->d_name + len - 9, ".expected") == 0;
}

static void test_probecheck__binary_is_built(void **state)
{
	(void)state;
	if (access(binary(), X_OK) != 0)
		fail_msg("%s is not an executable: build kubectl-probecheck first or set PROBECHECK_BIN", binary());
}

static void test_probecheck__fixture_corpus(void **state)
{
	char dir[4096];
	struct dirent **entries = NULL;
	char *failures = NULL;
	size_t failures_len = 0;
	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/cases", fixtures());
	int count = scandir(dir, &entries, is_expected_file, alphasort);
	assert_true(count >= 40);
	FILE *report = open_memstream(&failures, &failures_len);
	assert_non_null(report);
	int failed = 0;
	for (int i = 0; i < count; i++) {
		char name[256];
		(void)snprintf(name, sizeof(name), "%.*s", (int)(strlen(entries[i]->d_name) - 9), entries[i]->d_name);
		long mark = ftell(report);
		if (run_case(name, report)) {
			/* keep only the failures in the report */
			fflush(report);
			fseek(report, mark, SEEK_SET);
		} else {
			failed++;
		}
		free(entries[i]);
	}
	free(entries);
	fflush(report);
	long end = ftell(report);
	fclose(report);
	if (failures)
		failures[end] = '\0';
	if (failed)
		printf("%s", failures); /* cmocka cuts long messages */
	free(failures);
	if (failed)
		fail_msg("%d of %d fixture cases failed (above)", failed, count);
	printf("[ INFO     ] %d fixture cases passed\n", count);
}

/* Every fixture input is used by a case (no orphans). */
static void test_probecheck__every_fixture_has_expectations(void **state)
{
	char dir[4096], expected[8448];
	struct dirent **entries = NULL;
	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/cases", fixtures());
	int count = scandir(dir, &entries, NULL, alphasort);
	assert_true(count > 0);
	for (int i = 0; i < count; i++) {
		const char *n = entries[i]->d_name;
		size_t len = strlen(n);
		if (len > 5 && strcmp(n + len - 5, ".yaml") == 0) {
			(void)snprintf(expected, sizeof(expected), "%s/%.*s.expected", dir, (int)(len - 5), n);
			if (access(expected, R_OK) != 0)
				fail_msg("%s has no %s", n, expected);
		}
		free(entries[i]);
	}
	free(entries);
}

static json_t *run_json(const char *args, int expected_exit)
{
	struct run_result r;
	run(&r, args, NULL);
	if (r.exit_code != expected_exit)
		fail_msg("kubectl-probecheck %s: exit %d, expected %d\n%s", args, r.exit_code, expected_exit, r.err);
	json_t *doc = parse_json(r.out);
	run_dispose(&r);
	return doc;
}

/* The path of a case's input (a static buffer: one use per statement). */
static const char *case_path(const char *name)
{
	static char path[4096];
	(void)snprintf(path, sizeof(path), "%s/cases/%s", fixtures(), name);
	return path;
}

static void test_probecheck__report_json_shape(void **state)
{
	char args[4096];
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s' -o json", case_path("presence-none.yaml"));
	json_t *doc = run_json(args, 1); /* probe-none is an error for the Deployment a Service selects */
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "rollguard.io/v1");
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "ProbeReport");
	assert_string_equal(json_string_value(json_object_get(doc, "failOn")), "error");
	json_t *workloads = json_object_get(doc, "workloads");
	assert_int_equal(json_array_size(workloads), 2);
	json_t *first = json_array_get(workloads, 0);
	assert_string_equal(json_string_value(json_object_get(first, "kind")), "Deployment");
	/* a List's items carry the List document's line */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "source"), "line")), 3);
	json_t *summary = json_object_get(doc, "summary");
	size_t findings = json_array_size(json_object_get(doc, "findings"));
	assert_int_equal(json_integer_value(json_object_get(summary, "findings")), findings);
	assert_int_equal(json_integer_value(json_object_get(summary, "error")) +
	                         json_integer_value(json_object_get(summary, "warning")) +
	                         json_integer_value(json_object_get(summary, "info")),
	                 findings);
	size_t index;
	json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), index, f)
	{
		static const char *const keys[] = {"workload", "checkId", "severity", "container", "probe",
		                                   "message",  "why",     "fix",      "source"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!json_object_get(f, keys[k]))
				fail_msg("finding %zu lacks %s", index, keys[k]);
	}
	assert_null(json_object_get(doc, "suppressed"));
	json_decref(doc);
}

/* 1 when every null in value was written as "key: null" in text (a
 * deliberate deletion), not left by a key whose content is only comments. */
static int nulls_are_deliberate(const json_t *value, const char *text)
{
	const char *key;
	json_t *member;
	size_t index;
	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, member)
		{
			char spelled[256];
			(void)snprintf(spelled, sizeof(spelled), "%s: null", key);
			if (json_is_null(member) ? !strstr(text, spelled) : !nulls_are_deliberate(member, text))
				return 0;
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, index, member)
		{
			if (!nulls_are_deliberate(member, text))
				return 0;
		}
	}
	return 1;
}

/* Every fix the corpus produces is YAML that parses to a map, and names no placeholder probe. */
static void test_probecheck__fixes_are_yaml(void **state)
{
	char args[8192];
	size_t fixes = 0;
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s/cases' -o json --fail-on never --keep-going", fixtures());
	struct run_result r;
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 2); /* the corpus holds bad inputs on purpose */
	json_t *doc = parse_json(r.out);
	size_t index;
	json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), index, f)
	{
		const char *fix = json_string_value(json_object_get(f, "fix"));
		json_t *parsed = NULL;
		if (!fix || !*fix)
			continue;
		fixes++;
		if (kube_yaml_parse_one(&parsed, fix, strlen(fix)) != 0 || !json_is_object(parsed))
			fail_msg("fix of %s is not a YAML map:\n%s", json_string_value(json_object_get(f, "checkId")),
			         fix);
		if (!nulls_are_deliberate(parsed, fix))
			fail_msg("fix of %s has a key without a value (it would delete the field):\n%s",
			         json_string_value(json_object_get(f, "checkId")), fix);
		if (strstr(fix, "/tmp/healthy") || strstr(fix, "cat /tmp"))
			fail_msg("fix of %s holds a placeholder probe:\n%s",
			         json_string_value(json_object_get(f, "checkId")), fix);
		json_decref(parsed);
	}
	assert_true(fixes > 100);
	json_decref(doc);
	run_dispose(&r);
}

static void test_probecheck__yaml_output(void **state)
{
	char args[4096];
	struct run_result r;
	json_t *doc = NULL;
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s' -o yaml --checks probe-none", case_path("presence-none.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 1); /* probe-none is an error for the Service-selected Deployment */
	assert_int_equal(kube_yaml_parse_one(&doc, r.out, strlen(r.out)), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "ProbeReport");
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 2);
	json_decref(doc);
	run_dispose(&r);
}

static void test_probecheck__table_output(void **state)
{
	char args[4096];
	struct run_result r;
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s' --checks probe-none,img-latest-or-untagged --no-color",
	               case_path("presence-none.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 1);
	char *golden = test_fixture_read("probecheck/golden/presence-none.table", NULL);
	assert_string_equal(r.out, golden);
	free(golden);
	run_dispose(&r);

	(void)snprintf(args, sizeof(args), "-f '%s' -o wide --checks probe-none --fail-on never",
	               case_path("presence-none.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "SOURCE"));
	assert_non_null(strstr(r.out, "presence-none.yaml:3"));
	assert_null(strstr(r.out, "\033[")); /* no colour off a terminal */
	run_dispose(&r);
}

static void test_probecheck__strict_table_lists_suppressions(void **state)
{
	char args[8192];
	struct run_result r;
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s' --strict --checks probe-none --fail-on never",
	               case_path("suppress-object-annotation.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "Suppressions ignored by --strict:"));
	assert_non_null(strstr(r.out, "upstream chart, probes come with v2"));
	run_dispose(&r);
}

static const json_t *sarif_rule(const json_t *rules, const char *id, size_t *out_index)
{
	size_t index;
	const json_t *rule;
	json_array_foreach(rules, index, rule)
	{
		if (strcmp(json_string_value(json_object_get(rule, "id")), id) == 0) {
			*out_index = index;
			return rule;
		}
	}
	return NULL;
}

static void test_probecheck__sarif_structure(void **state)
{
	char args[8192];
	(void)state;
	(void)snprintf(args, sizeof(args),
	               "-f '%s/cases/presence-none.yaml' -f '%s/cases/input-helm-template.yaml' -o sarif "
	               "--fail-on never",
	               fixtures(), fixtures());
	json_t *doc = run_json(args, 0);
	assert_string_equal(json_string_value(json_object_get(doc, "version")), "2.1.0");
	assert_non_null(strstr(json_string_value(json_object_get(doc, "$schema")), "sarif-2.1.0"));
	json_t *run0 = json_array_get(json_object_get(doc, "runs"), 0);
	json_t *driver = json_object_get(json_object_get(run0, "tool"), "driver");
	assert_string_equal(json_string_value(json_object_get(driver, "name")), "kubectl-probecheck");
	json_t *rules = json_object_get(driver, "rules");
	json_t *catalog = run_json("checks -o json", 0);
	assert_int_equal(json_array_size(rules), json_array_size(json_object_get(catalog, "checks")));
	json_decref(catalog);
	size_t index, helm = 0;
	json_t *result;
	json_t *results = json_object_get(run0, "results");
	assert_true(json_array_size(results) > 5);
	json_array_foreach(results, index, result)
	{
		size_t rule_index = 0;
		const char *rule_id = json_string_value(json_object_get(result, "ruleId"));
		const char *level = json_string_value(json_object_get(result, "level"));
		const json_t *rule = sarif_rule(rules, rule_id, &rule_index);
		assert_non_null(rule);
		assert_int_equal(json_integer_value(json_object_get(result, "ruleIndex")), rule_index);
		assert_true(strcmp(level, "error") == 0 || strcmp(level, "warning") == 0 || strcmp(level, "note") == 0);
		assert_non_null(json_string_value(json_object_get(json_object_get(result, "message"), "text")));
		json_t *physical =
		        json_object_get(json_array_get(json_object_get(result, "locations"), 0), "physicalLocation");
		const char *uri =
		        json_string_value(json_object_get(json_object_get(physical, "artifactLocation"), "uri"));
		json_int_t line = json_integer_value(json_object_get(json_object_get(physical, "region"), "startLine"));
		assert_non_null(uri);
		assert_true(line >= 1);
		if (strcmp(uri, "shop/templates/deployment.yaml") == 0) {
			helm++; /* the chart's template, not the rendered stream */
			assert_int_equal(line, 1);
		} else if (strstr(uri, "presence-none.yaml")) {
			assert_int_equal(line, 3);
		} else if (strcmp(uri, "shop/templates/tests/test-connection.yaml") != 0) {
			fail_msg("unexpected uri %s", uri);
		}
	}
	assert_true(helm > 0);
	json_decref(doc);
}

/* A suppressed finding stays in SARIF with suppressions[] (and without it under --strict). */
static void test_probecheck__sarif_suppressions(void **state)
{
	char args[8192];
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s' -o sarif --checks probe-none",
	               case_path("suppress-object-annotation.yaml"));
	json_t *doc = run_json(args, 0);
	json_t *results = json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "results");
	size_t index, suppressed = 0;
	json_t *result;
	json_array_foreach(results, index, result)
	{
		json_t *s = json_object_get(result, "suppressions");
		if (!s)
			continue;
		suppressed++;
		assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "kind")), "inSource");
		assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "justification")),
		                    "upstream chart, probes come with v2");
	}
	assert_int_equal(json_array_size(results), 2);
	assert_int_equal(suppressed, 1);
	json_decref(doc);
}

/* Validates against the official SARIF 2.1.0 JSON schema with ajv when
 * node and the validator's packages are installed (see
 * tests/fixtures/probecheck/sarif/README.md); skipped otherwise. */
static void test_probecheck__sarif_schema(void **state)
{
	char dir[4096], args[8192], cmd[16384], sarif_path[] = "/tmp/probecheck-sarif-XXXXXX";
	struct run_result r;
	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/sarif", fixtures());
	char default_modules[4096];
	const char *modules = getenv("PROBECHECK_SARIF_NODE_PATH");
	if (!modules || !*modules) {
		const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		(void)snprintf(default_modules, sizeof(default_modules), "%s%s/rollguard/sarif-validator/node_modules",
		               cache && *cache ? cache
		               : home          ? home
		                               : ".",
		               cache && *cache ? "" : "/.cache");
		modules = default_modules;
	}
	(void)snprintf(cmd, sizeof(cmd),
	               "command -v node >/dev/null 2>&1 && NODE_PATH='%s' node -e \"require('ajv/dist/2020'); "
	               "require('ajv-formats')\" >/dev/null 2>&1",
	               modules);
	if (system(cmd) != 0) {
		/* scripts/deps.sh installs the validator: in CI a skip would hide a gap */
		if (getenv("CI"))
			fail_msg("SARIF schema validation: node or ajv/ajv-formats not found under %s", modules);
		printf("[ SKIPPED  ] SARIF schema validation: node or ajv/ajv-formats not found "
		       "(set PROBECHECK_SARIF_NODE_PATH; see %s/README.md)\n",
		       dir);
		skip();
	}
	int fd = mkstemp(sarif_path);
	assert_true(fd >= 0);
	close(fd);
	(void)snprintf(args, sizeof(args), "-f '%s/cases' -o sarif --fail-on never --keep-going --output-file '%s'",
	               fixtures(), sarif_path);
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 2); /* the corpus holds bad inputs on purpose; the report is still written */
	run_dispose(&r);
	(void)snprintf(cmd, sizeof(cmd), "NODE_PATH='%s' node '%s/validate.js' '%s/sarif-schema-2.1.0.json' '%s'",
	               modules, dir, dir, sarif_path);
	int status = system(cmd);
	unlink(sarif_path);
	assert_int_equal(status, 0);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_probecheck__junit_output(void **state)
{
	char args[8192];
	struct run_result r;
	(void)state;
	(void)snprintf(args, sizeof(args),
	               "-f '%s' -o junit --checks probe-none,img-latest-or-untagged,suppression-invalid",
	               case_path("suppress-object-annotation.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(strncmp(r.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 51), 0);
	/* two workloads x three checks */
	assert_int_equal(count(r.out, "<testcase "), 6);
	assert_int_equal(count(r.out, "<testsuite "), 2);
	/* below --fail-on error: no failures, findings in system-out; suppressed ones skipped */
	assert_int_equal(count(r.out, "<failure "), 0);
	assert_int_equal(count(r.out, "<skipped message=\"suppressed: upstream chart, probes come with v2\"/>"), 2);
	assert_int_equal(count(r.out, "<system-out>"), 2);
	assert_non_null(strstr(r.out, "tests=\"6\" failures=\"0\" errors=\"0\" skipped=\"2\""));
	run_dispose(&r);

	(void)snprintf(args, sizeof(args), "-f '%s' -o junit --checks probe-none --fail-on warning",
	               case_path("suppress-object-annotation.yaml"));
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 1);
	assert_int_equal(count(r.out, "<failure type=\"warning\" message=\"container app has no liveness, readiness or "
	                              "startup probe\">"),
	                 1);
	run_dispose(&r);
}

/* Finding texts spilled to the temporary file (all of them, from the
 * first: ROLLGUARD_TEST_SPILL_AFTER=0) render byte for byte as texts kept
 * in memory, in every format; with no usable temporary directory they stay
 * in memory and the output is the same again. */
static void test_probecheck__spilled_texts(void **state)
{
	static const char *const formats[] = {"json", "yaml", "sarif", "junit", "wide"};
	char args[8192];
	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct run_result kept, spilled, nowhere;
		(void)snprintf(
		        args, sizeof(args),
		        "$(for f in '%s'/cases/*.yaml; do case $f in */bad-*) ;; *) printf -- \"-f %%s \" \"$f\" ;; "
		        "esac; done) -o %s --fail-on never --strict",
		        fixtures(), formats[i]);
		run(&kept, args, NULL);
		assert_int_equal(kept.exit_code, 0);
		assert_true(strlen(kept.out) > 10000);
		setenv("ROLLGUARD_TEST_SPILL_AFTER", "0", 1);
		run(&spilled, args, NULL);
		setenv("TMPDIR", "/nonexistent/probecheck-test", 1);
		run(&nowhere, args, NULL);
		unsetenv("TMPDIR");
		unsetenv("ROLLGUARD_TEST_SPILL_AFTER");
		assert_int_equal(spilled.exit_code, 0);
		assert_string_equal(spilled.out, kept.out);
		assert_int_equal(nowhere.exit_code, 0);
		assert_string_equal(nowhere.out, kept.out);
		run_dispose(&kept);
		run_dispose(&spilled);
		run_dispose(&nowhere);
	}
}

static void test_probecheck__output_file(void **state)
{
	char args[8192], path[] = "/tmp/probecheck-out-XXXXXX";
	struct run_result r;
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	(void)snprintf(args, sizeof(args), "-f '%s' -o json --output-file '%s' --checks probe-none",
	               case_path("presence-none.yaml"), path);
	run(&r, args, NULL);
	assert_int_equal(r.exit_code, 1);
	assert_string_equal(r.out, "");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *written = slurp(f);
	fclose(f);
	json_t *doc = parse_json(written);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "ProbeReport");
	json_decref(doc);
	free(written);
	unlink(path);
	run_dispose(&r);
}

/* The catalogue: `checks -o json` lists every check once, and docs/checks.md documents exactly those. */
static void test_probecheck__checks_catalog_matches_docs(void **state)
{
	char docs_path[4096];
	(void)state;
	json_t *doc = run_json("checks -o json", 0);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "CheckCatalog");
	json_t *checks = json_object_get(doc, "checks");
	assert_true(json_array_size(checks) >= 30);
	(void)snprintf(docs_path, sizeof(docs_path), "%s/../../docs/checks.md", FIXTURES_DIR);
	FILE *f = fopen(docs_path, "r");
	assert_non_null(f);
	char *docs = slurp(f);
	fclose(f);
	size_t index;
	json_t *check;
	json_array_foreach(checks, index, check)
	{
		char heading[256];
		const char *id = json_string_value(json_object_get(check, "id"));
		const char *severity = json_string_value(json_object_get(check, "severity"));
		assert_true(strcmp(severity, "error") == 0 || strcmp(severity, "warning") == 0 ||
		            strcmp(severity, "info") == 0);
		assert_non_null(json_string_value(json_object_get(check, "why")));
		(void)snprintf(heading, sizeof(heading), "\n### %s\n", id);
		if (!strstr(docs, heading))
			fail_msg("docs/checks.md has no section \"### %s\"", id);
		if (!strstr(docs, json_string_value(json_object_get(check, "title"))) ||
		    !strstr(docs, json_string_value(json_object_get(check, "why"))))
			fail_msg("docs/checks.md does not carry the catalogue's title and why of %s", id);
	}
	assert_int_equal(count(docs, "\n### "), json_array_size(checks));
	/* a failing and a passing example per check */
	assert_int_equal(count(docs, "\nFails:\n"), json_array_size(checks));
	assert_int_equal(count(docs, "\nPasses:\n"), json_array_size(checks));
	free(docs);
	json_decref(doc);
}

static void test_probecheck__checks_explain(void **state)
{
	struct run_result r;
	(void)state;
	run(&r, "checks probe-identical-unsafe", NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "probe-identical-unsafe (timing, warning)"));
	assert_non_null(strstr(r.out, "docs/checks.md#probe-identical-unsafe"));
	run_dispose(&r);
	run(&r, "checks probe-nonsense", NULL);
	assert_int_equal(r.exit_code, 2);
	assert_non_null(strstr(r.err, "error: unknown check \"probe-nonsense\""));
	run_dispose(&r);
	run(&r, "checks", NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "CHECK"));
	assert_non_null(strstr(r.out, "probe-readiness-missing"));
	run_dispose(&r);
}

static void test_probecheck__usage_errors(void **state)
{
	struct run_result r;
	(void)state;
	run(&r, "", NULL);
	assert_int_equal(r.exit_code, 0); /* no arguments: the help */
	assert_non_null(strstr(r.out, "kubectl probecheck"));
	run_dispose(&r);
	run(&r, "audit", NULL);
	assert_int_equal(r.exit_code, 2);
	assert_non_null(strstr(r.err, "error: no input: give -f FILE|DIR|-"));
	run_dispose(&r);
	run(&r, "-A -f x.yaml", NULL);
	assert_int_equal(r.exit_code, 2);
	assert_non_null(strstr(r.err, "-f cannot be combined with cluster targets (-A)"));
	run_dispose(&r);
	run(&r, "--help", NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "kubectl probecheck -f deploy.yaml"));
	run_dispose(&r);
	run(&r, "audit --help", NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out, "--fail-on"));
	run_dispose(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_probecheck__binary_is_built),
	        cmocka_unit_test(test_probecheck__fixture_corpus),
	        cmocka_unit_test(test_probecheck__every_fixture_has_expectations),
	        cmocka_unit_test(test_probecheck__report_json_shape),
	        cmocka_unit_test(test_probecheck__spilled_texts),
	        cmocka_unit_test(test_probecheck__fixes_are_yaml),
	        cmocka_unit_test(test_probecheck__yaml_output),
	        cmocka_unit_test(test_probecheck__table_output),
	        cmocka_unit_test(test_probecheck__strict_table_lists_suppressions),
	        cmocka_unit_test(test_probecheck__sarif_structure),
	        cmocka_unit_test(test_probecheck__sarif_suppressions),
	        cmocka_unit_test(test_probecheck__sarif_schema),
	        cmocka_unit_test(test_probecheck__junit_output),
	        cmocka_unit_test(test_probecheck__output_file),
	        cmocka_unit_test(test_probecheck__checks_catalog_matches_docs),
	        cmocka_unit_test(test_probecheck__checks_explain),
	        cmocka_unit_test(test_probecheck__usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
