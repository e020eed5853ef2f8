/* Tests for kube/yaml.h: the typing rules of sigs.k8s.io/yaml, one fixture
 * pair per rule in tests/fixtures/yaml, the kubectl-style writer, round
 * trips, streaming (from memory and from a reader, in pieces of any size)
 * and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "internal.h" /* kube_error_set, for a reader that describes its failure */
#include "test_support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* yaml/NAME.yaml parses (kube_yaml_parse_all) to the array in yaml/NAME.json. */
static const char *const parse_fixtures[] = {
        "bool_true_forms",
        "bool_false_forms",
        "bool_other_cases_are_strings",
        "quoted_stays_string",
        "null_forms",
        "int_decimal",
        "int_octal_hex_binary",
        "int_beyond_int64",
        "float_forms",
        "float_lookalikes_are_strings",
        "env_value_yes_is_boolean",
        "multi_document",
        "empty_documents_skipped",
        "empty_stream",
        "root_scalars",
        "anchors_aliases",
        "merge_keys",
        "block_scalars",
        "json_input",
        "json_surrogate_pairs",
        "timestamps_stay_strings",
        "explicit_tags",
        "non_string_keys",
        "special_strings_plain",
        "flow_style",
        "deployment",
};

/* yaml/NAME.yaml fails with KUBE_EINVALID and a message containing the
 * first line of yaml/NAME.err. */
static const char *const error_fixtures[] = {
        "err_duplicate_key",      "err_duplicate_key_after_conversion",
        "err_syntax_indentation", "err_tab_indentation",
        "err_unclosed_flow",      "err_unknown_alias",
        "err_alias_bomb",         "err_inf_value",
        "err_nan_value",          "err_tag_mismatch",
        "err_tag_bool_mismatch",  "err_merge_not_map",
        "err_null_key",           "err_complex_key",
        "err_control_character",  "err_invalid_utf8",
        "err_too_deep",           "err_yaml_surrogate_escape",
};

/* kube_yaml_emit writes yaml/emit/NAME.json as yaml/emit/NAME.yaml. */
static const char *const emit_fixtures[] = {"deployment", "quoting"};

static char *read_fixture(const char *dir, const char *name, const char *ext, size_t *len)
{
	char relpath[256];
	(void)snprintf(relpath, sizeof(relpath), "%s/%s.%s", dir, name, ext);
	return test_fixture_read(relpath, len);
}

static json_t *load_json_fixture(const char *dir, const char *name)
{
	size_t len;
	char *text = read_fixture(dir, name, "json", &len);
	json_error_t error;
	json_t *value = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (!value)
		fail_msg("%s/%s.json: %s (line %d)", dir, name, error.text, error.line);
	free(text);
	return value;
}

static void assert_same_json(const json_t *got, const json_t *want, const char *what)
{
	if (!json_equal(got, want)) {
		char *got_text = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
		char *want_text = json_dumps(want, JSON_ENCODE_ANY | JSON_SORT_KEYS);
		print_error("%s\n got: %s\nwant: %s\n", what, got_text, want_text);
		free(got_text);
		free(want_text);
		fail();
	}
}

static json_t *parse_fixture(const char *name)
{
	size_t len;
	char *text = read_fixture("yaml", name, "yaml", &len);
	json_t *docs = NULL;
	int rc = kube_yaml_parse_all(&docs, text, len);
	if (rc)
		fail_msg("yaml/%s.yaml: %s: %s", name, kube_error_name(rc), kube_error_last()->message);
	free(text);
	return docs;
}

static char *emit_text(const json_t *value)
{
	kube_buf out = KUBE_BUF_INIT;
	int rc = kube_yaml_emit(&out, value);
	if (rc)
		fail_msg("emit: %s: %s", kube_error_name(rc), kube_error_last()->message);
	return kube_buf_detach(&out);
}

/* parse_one(emit(value)) == value, types included. */
static void assert_round_trip(const json_t *value, const char *what)
{
	char *text = emit_text(value);
	json_t *back = NULL;
	int rc = kube_yaml_parse_one(&back, text, strlen(text));
	if (rc)
		fail_msg("%s: re-parse failed: %s\n%s", what, kube_error_last()->message, text);
	if (!json_equal(back, value))
		print_error("%s: emitted as\n%s", what, text);
	assert_same_json(back, value, what);
	json_decref(back);
	kube_free(text);
}

static void test_yaml__parse_matches_fixture(void **state)
{
	const char *name = *state;
	json_t *want = load_json_fixture("yaml", name);
	json_t *got = parse_fixture(name);
	assert_same_json(got, want, name);
	json_decref(got);
	json_decref(want);
}

static void test_yaml__rejects_fixture(void **state)
{
	const char *name = *state;
	size_t len;
	char *text = read_fixture("yaml", name, "yaml", &len);
	char *expected = read_fixture("yaml", name, "err", NULL);
	json_t *docs = NULL;
	int rc;
	expected[strcspn(expected, "\n")] = '\0';
	rc = kube_yaml_parse_all(&docs, text, len);
	assert_null(docs);
	assert_int_equal(rc, KUBE_EINVALID);
	assert_int_equal(kube_error_last()->code, KUBE_EINVALID);
	if (!strstr(kube_error_last()->message, expected))
		fail_msg("%s: message \"%s\" lacks \"%s\"", name, kube_error_last()->message, expected);
	free(text);
	free(expected);
}

static int listed(const char *const *names, size_t count, const char *name, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

/* A fixture file nobody runs is a rule nobody checks. */
static void test_yaml__every_fixture_is_listed(void **state)
{
	const char *dirs[] = {"yaml", "yaml/emit"};
	(void)state;
	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(test_fixture_path(dirs[d]));
		struct dirent *entry;
		assert_non_null(dir);
		while ((entry = readdir(dir)) != NULL) {
			const char *dot = strrchr(entry->d_name, '.');
			size_t len = dot ? (size_t)(dot - entry->d_name) : 0;
			int known;
			if (entry->d_name[0] == '.' || !dot || strcmp(dot, ".yaml") != 0)
				continue;
			if (d == 0)
				known = listed(parse_fixtures, ARRAY_SIZE(parse_fixtures), entry->d_name, len) ||
				        listed(error_fixtures, ARRAY_SIZE(error_fixtures), entry->d_name, len);
			else
				known = listed(emit_fixtures, ARRAY_SIZE(emit_fixtures), entry->d_name, len);
			if (!known)
				fail_msg("%s/%s is in no fixture table", dirs[d], entry->d_name);
		}
		closedir(dir);
	}
}

static void test_yaml__round_trips_every_fixture(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_fixtures); i++) {
		json_t *docs = parse_fixture(parse_fixtures[i]);
		json_t *doc;
		size_t index;
		json_array_foreach(docs, index, doc)
		{
			assert_round_trip(doc, parse_fixtures[i]);
		}
		/* and the whole stream as one value */
		assert_round_trip(docs, parse_fixtures[i]);
		json_decref(docs);
	}
	for (size_t i = 0; i < ARRAY_SIZE(emit_fixtures); i++) {
		json_t *value = load_json_fixture("yaml/emit", emit_fixtures[i]);
		assert_round_trip(value, emit_fixtures[i]);
		json_decref(value);
	}
}

static void test_yaml__emit_matches_golden(void **state)
{
	const char *name = *state;
	json_t *value = load_json_fixture("yaml/emit", name);
	char *want = read_fixture("yaml/emit", name, "yaml", NULL);
	char *got = emit_text(value);
	assert_string_equal(got, want);
	kube_free(got);
	free(want);
	json_decref(value);
}

static void assert_emits(json_t *value, const char *want)
{
	char *got = emit_text(value);
	assert_string_equal(got, want);
	kube_free(got);
	assert_round_trip(value, want);
	json_decref(value);
}

static void test_yaml__emit_keeps_integers_and_reals_apart(void **state)
{
	(void)state;
	assert_emits(json_integer(1), "1\n");
	assert_emits(json_integer(-9223372036854775807LL - 1), "-9223372036854775808\n");
	assert_emits(json_real(1.0), "1.0\n");
	assert_emits(json_real(-3.0), "-3.0\n");
	assert_emits(json_real(0.1), "0.1\n");
	assert_emits(json_real(123456.0), "123456.0\n");
	assert_emits(json_real(1e6), "1e+06\n");
	assert_emits(json_real(1.5e-7), "1.5e-07\n");
	assert_emits(json_real(9223372036854775808.0), "9.223372036854776e+18\n");
	assert_emits(json_real(1.7976931348623157e308), "1.7976931348623157e+308\n");
}

static void test_yaml__emit_writes_roots_and_empty_collections(void **state)
{
	(void)state;
	assert_emits(json_object(), "{}\n");
	assert_emits(json_array(), "[]\n");
	assert_emits(json_string("hello"), "hello\n");
	assert_emits(json_string("yes"), "\"yes\"\n");
	assert_emits(json_true(), "true\n");
	assert_emits(json_pack("{s:[], s:{}, s:[{}]}", "a", "b", "c"), "a: []\nb: {}\nc:\n- {}\n");
	assert_emits(json_pack("[[s,s],{s:i}]", "a", "b", "k", 1), "- - a\n  - b\n- k: 1\n");
}

/* Every ASCII character, alone and inside, around and after text, as a
 * value and as a key, reads back as the same string. */
static void test_yaml__emit_round_trips_awkward_strings(void **state)
{
	/* '@' stands for the character under test */
	static const char *const shapes[] = {"@", "a@b", "@ab", "ab@", " @", "@ ", "a @ b", "@@", "- @", "@\n@"};
	(void)state;
	for (int c = 1; c < 128; c++) {
		for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
			char text[16];
			size_t len = 0;
			json_t *value;
			for (const char *p = shapes[s]; *p; p++)
				text[len++] = *p == '@' ? (char)c : *p;
			text[len] = '\0';
			value = json_pack("{s:s}", text, text);
			assert_non_null(value);
			assert_round_trip(value, text);
			json_decref(value);
		}
	}
}

static void test_yaml__emit_appends_and_restores_buffer_on_error(void **state)
{
	kube_buf out = KUBE_BUF_INIT;
	json_t *deep = json_array(), *inner = deep, *small = json_pack("{s:i}", "a", 1);
	(void)state;
	assert_int_equal(kube_buf_puts(&out, "# head\n"), 0);
	assert_int_equal(kube_yaml_emit(&out, small), 0);
	json_decref(small);
	for (int i = 0; i < 1100; i++) {
		json_t *next = json_array();
		json_array_append_new(inner, next);
		inner = next;
	}
	assert_int_equal(kube_yaml_emit(&out, deep), KUBE_EINVALID);
	assert_non_null(strstr(kube_error_last()->message, "nested"));
	assert_string_equal(kube_buf_cstr(&out), "# head\na: 1\n");
	json_decref(deep);
	kube_buf_dispose(&out);
}

struct seen_docs {
	json_t *docs;
	int lines[8];
	int count;
	int fail_at; /* 1-based document whose callback fails; 0 = never */
};

static int record_doc(const json_t *doc, int line, void *user)
{
	struct seen_docs *seen = user;
	if (seen->count < 8)
		seen->lines[seen->count] = line;
	seen->count++;
	json_array_append(seen->docs, (json_t *)doc);
	return seen->count == seen->fail_at ? KUBE_ECONFLICT : 0;
}

static void test_yaml__stream_reports_document_lines(void **state)
{
	static const char text[] = "a: 1\n---\n\n# comment\nb: 2\n---\n---\n~\n--- {c: 3}\n";
	struct seen_docs seen = {json_array(), {0}, 0, 0};
	json_t *want;
	(void)state;
	assert_int_equal(kube_yaml_parse_stream(text, strlen(text), record_doc, &seen), 0);
	assert_int_equal(seen.count, 3);
	assert_int_equal(seen.lines[0], 1);
	assert_int_equal(seen.lines[1], 5);
	assert_int_equal(seen.lines[2], 9);
	want = json_pack("[{s:i},{s:i},{s:i}]", "a", 1, "b", 2, "c", 3);
	assert_same_json(seen.docs, want, "stream");
	json_decref(want);
	json_decref(seen.docs);
}

static void test_yaml__stream_stops_when_callback_fails(void **state)
{
	static const char text[] = "a: 1\n---\nb: 2\n---\nc: 3\n";
	struct seen_docs seen = {json_array(), {0}, 0, 2};
	(void)state;
	assert_int_equal(kube_yaml_parse_stream(text, strlen(text), record_doc, &seen), KUBE_ECONFLICT);
	assert_int_equal(seen.count, 2);
	json_decref(seen.docs);
}

/* Documents reach the callback before later ones are read. */
static void test_yaml__stream_delivers_documents_before_later_errors(void **state)
{
	static const char text[] = "a: 1\n---\nb: 2\n---\nc: [\n";
	struct seen_docs seen = {json_array(), {0}, 0, 0};
	(void)state;
	assert_int_equal(kube_yaml_parse_stream(text, strlen(text), record_doc, &seen), KUBE_EINVALID);
	assert_int_equal(seen.count, 2);
	assert_non_null(strstr(kube_error_last()->message, "line 6: "));
	json_decref(seen.docs);
}

static void test_yaml__parse_one_requires_a_single_document(void **state)
{
	json_t *value = NULL, *want;
	(void)state;
	assert_int_equal(kube_yaml_parse_one(&value, "a: 1\n---\nb: 2\n", 13), KUBE_EINVALID);
	assert_null(value);
	assert_non_null(strstr(kube_error_last()->message, "line 3: expected one YAML document"));
	assert_int_equal(kube_yaml_parse_one(&value, "", 0), 0);
	assert_true(json_is_object(value) && json_object_size(value) == 0);
	json_decref(value);
	assert_int_equal(kube_yaml_parse_one(&value, "---\n---\na: 1\n", 13), 0);
	want = json_pack("{s:i}", "a", 1);
	assert_same_json(value, want, "one of three");
	json_decref(want);
	json_decref(value);
	assert_int_equal(kube_yaml_parse_all(&value, NULL, 0), 0);
	assert_int_equal(json_array_size(value), 0);
	json_decref(value);
}

static void test_yaml__alias_copies_are_independent(void **state)
{
	static const char text[] = "a: &x {k: 1}\nb: *x\n";
	json_t *value = NULL;
	(void)state;
	assert_int_equal(kube_yaml_parse_one(&value, text, strlen(text)), 0);
	assert_ptr_not_equal(json_object_get(value, "a"), json_object_get(value, "b"));
	json_object_set_new(json_object_get(value, "b"), "k", json_integer(2));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(value, "a"), "k")), 1);
	json_decref(value);
}

/* A parse's outcome, to compare two ways of reading the same text. */
struct outcome {
	json_t *docs; /* [[line, document], ...] as they reached the callback */
	int rc;
	char message[1024]; /* the last error's, when rc is not 0 */
};

static int record_line_and_doc(const json_t *doc, int line, void *user)
{
	return json_array_append_new(user, json_pack("[iO]", line, doc)) ? KUBE_ENOMEM : 0;
}

/* Hands out text in pieces of the sizes in turn, over again; with fail_rc
 * set, returns it instead of anything past fail_after bytes. */
struct chunked_input {
	const char *text;
	size_t len, pos;
	const size_t *sizes;
	size_t size_count, turn;
	int fail_rc;
	size_t fail_after;
	int ended;       /* 0 was returned */
	int reads_after; /* calls after that, which must not happen */
	int set_error;   /* describe the failure (kube_error_set) */
};

static ssize_t read_chunked(void *ctx, char *buf, size_t size)
{
	struct chunked_input *in = ctx;
	size_t n = in->sizes[in->turn++ % in->size_count], end = in->len;
	in->reads_after += in->ended;
	if (in->fail_rc && in->pos >= in->fail_after)
		return in->set_error ? kube_error_set(in->fail_rc, "connection reset by the test") : in->fail_rc;
	if (in->fail_rc && in->fail_after < end)
		end = in->fail_after;
	n = n < size ? n : size;
	n = n < end - in->pos ? n : end - in->pos;
	memcpy(buf, in->text + in->pos, n);
	in->pos += n;
	in->ended = n == 0;
	return (ssize_t)n;
}

static void outcome_finish(struct outcome *out, int rc)
{
	out->rc = rc;
	(void)snprintf(out->message, sizeof(out->message), "%s", rc ? kube_error_last()->message : "");
}

static void parse_whole(struct outcome *out, const char *text, size_t len)
{
	out->docs = json_array();
	outcome_finish(out, kube_yaml_parse_stream(text, len, record_line_and_doc, out->docs));
}

static void parse_in_pieces(struct outcome *out, struct chunked_input *in)
{
	out->docs = json_array();
	outcome_finish(out, kube_yaml_parse_reader(read_chunked, in, record_line_and_doc, out->docs));
	assert_int_equal(in->reads_after, 0);
}

static void assert_same_outcome(const struct outcome *got, const struct outcome *want, const char *what)
{
	if (got->rc != want->rc || strcmp(got->message, want->message) != 0)
		fail_msg("%s: %s \"%s\", whole: %s \"%s\"", what, kube_error_name(got->rc), got->message,
		         kube_error_name(want->rc), want->message);
	assert_same_json(got->docs, want->docs, what);
}

/* Pieces of every size from 1 to the whole and beyond, and of changing
 * sizes, give the documents, lines and errors of the text read whole. */
static void assert_pieces_read_as_whole(const char *text, size_t len, const char *what)
{
	static const size_t mixed[] = {1, 7, 2, 64, 3, 5, 1, 11, 4096, 13};
	struct outcome whole, got;
	char label[160];
	parse_whole(&whole, text, len);
	for (size_t size = 1; size <= len + 2; size++) {
		struct chunked_input in = {text, len, 0, &size, 1, 0, 0, 0, 0, 0, 0};
		(void)snprintf(label, sizeof(label), "%s in pieces of %zu", what, size);
		parse_in_pieces(&got, &in);
		assert_same_outcome(&got, &whole, label);
		json_decref(got.docs);
	}
	for (size_t first = 0; first < ARRAY_SIZE(mixed); first++) {
		struct chunked_input in = {text, len, 0, mixed, ARRAY_SIZE(mixed), first, 0, 0, 0, 0, 0};
		(void)snprintf(label, sizeof(label), "%s in mixed pieces from %zu", what, first);
		parse_in_pieces(&got, &in);
		assert_same_outcome(&got, &whole, label);
		json_decref(got.docs);
	}
	json_decref(whole.docs);
}

static void test_yaml__reader_matches_stream_in_pieces_of_any_size(void **state)
{
	/* besides the fixtures: JSON escapes to cut (pairs, lone halves,
	 * escaped backslashes), a BOM, bad encoding */
	static const char *const texts[] = {
	        "a: 1\n---\n\n# comment\nb: 2\n---\n---\n~\n--- {c: 3}\n",
	        "[\"\\ud83d\\ude00\", \"\\ud83d\", \"x\\\\ud83d\\ude00\", \"\\\"\\udbff\\udfff\"]\n",
	        "  \r\n\t{\"k\\ud83d\\ude80\": \"\\ude00\\ud83d\\ud83d\\ude00\"}\n{\"b\": 1}",
	        "{\"a\": \"\\ud83d\\u00e9\", \"b\": \"\\ud83d\\",
	        "a: [1, 2\n",
	        "\357\273\277a: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n",
	        "a: 1\nb: \xe2\x82\n",
	        "a: 1\n\x01",
	        "",
	        /* libyaml decodes what it reads before it parses: no document
	         * before a bad byte in the same 16 KiB reaches the callback */
	        "a: 1\n---\nb: 2\n---\nc: \xff\n",
	        "{\"a\": \"\\ud83d\\ude00\"}\n---\n\x01",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_fixtures); i++) {
		size_t len;
		char *text = read_fixture("yaml", parse_fixtures[i], "yaml", &len);
		assert_pieces_read_as_whole(text, len, parse_fixtures[i]);
		free(text);
	}
	for (size_t i = 0; i < ARRAY_SIZE(error_fixtures); i++) {
		size_t len;
		char *text = read_fixture("yaml", error_fixtures[i], "yaml", &len);
		assert_pieces_read_as_whole(text, len, error_fixtures[i]);
		free(text);
	}
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		assert_pieces_read_as_whole(texts[i], strlen(texts[i]), texts[i]);
}

/* count documents "name: dN" with a comment line of pad bytes in each */
static char *many_documents(int count, size_t pad, size_t *len)
{
	kube_buf text = KUBE_BUF_INIT;
	for (int i = 0; i < count; i++) {
		assert_int_equal(kube_buf_printf(&text, "---\nname: d%d\n# ", i), 0);
		for (size_t k = 0; k < pad; k++)
			assert_int_equal(kube_buf_put(&text, "x", 1), 0);
		assert_int_equal(kube_buf_puts(&text, "\nvalue: [1, 2]\n"), 0);
	}
	*len = text.len;
	return kube_buf_detach(&text);
}

/* A failing read is the parse's error wherever it happens, never the end
 * of the input; documents parsed before it have reached the callback. */
static void test_yaml__reader_reports_read_errors(void **state)
{
	size_t len, size = 4000;
	char *text = many_documents(400, 100, &len);
	struct outcome whole, got;
	(void)state;
	parse_whole(&whole, text, len);
	assert_int_equal(whole.rc, 0);
	assert_int_equal(json_array_size(whole.docs), 400);
	for (size_t at = 0; at <= len; at += len / 7) {
		struct chunked_input in = {text, len, 0, &size, 1, 0, KUBE_ENETWORK, at, 0, 0, 0};
		parse_in_pieces(&got, &in);
		assert_int_equal(got.rc, KUBE_ENETWORK);
		assert_string_equal(got.message, "read error");
		assert_true(json_array_size(got.docs) < 400);
		for (size_t i = 0; i < json_array_size(got.docs); i++)
			assert_same_json(json_array_get(got.docs, i), json_array_get(whole.docs, i),
			                 "before the error");
		if (at > len / 2)
			assert_true(json_array_size(got.docs) > 0);
		json_decref(got.docs);
	}
	/* at the very end, instead of the end */
	{
		struct chunked_input in = {text, len, 0, &size, 1, 0, KUBE_ETIMEOUT, len, 0, 0, 1};
		parse_in_pieces(&got, &in);
		assert_int_equal(got.rc, KUBE_ETIMEOUT);
		assert_string_equal(got.message, "connection reset by the test");
		json_decref(got.docs);
	}
	json_decref(whole.docs);
	free(text);
}

/* Bad encoding is reported at its line however far into the input, as
 * libyaml gives a byte offset for it, not a line. */
static void test_yaml__reader_reports_bad_encoding_at_its_line(void **state)
{
	static const size_t sizes[] = {1, 100, 16384, 65536, 1 << 20};
	size_t len;
	char *text = many_documents(2000, 30, &len);
	(void)state;
	for (size_t at = 3; at < len; at = at * 3 + 1) {
		char *bad = malloc(len + 1);
		char want[64];
		int line = 1;
		assert_non_null(bad);
		memcpy(bad, text, len);
		bad[at] = (char)0xff;
		for (size_t i = 0; i < at; i++)
			line += text[i] == '\n';
		(void)snprintf(want, sizeof(want), "line %d: invalid leading UTF-8 octet", line);
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			struct chunked_input in = {bad, len, 0, &sizes[s], 1, 0, 0, 0, 0, 0, 0};
			struct outcome got;
			parse_in_pieces(&got, &in);
			assert_int_equal(got.rc, KUBE_EINVALID);
			assert_string_equal(got.message, want);
			json_decref(got.docs);
		}
		free(bad);
	}
	free(text);
}

/* Fails the n-th allocation for n = 1, 2, ... until the call succeeds:
 * every failure must surface as KUBE_ENOMEM (never a crash, a wrong code
 * or a swallowed failure); leaks show under ASan/valgrind. */
static void assert_parse_survives_allocation_failures(const char *name)
{
	size_t len;
	char *text = read_fixture("yaml", name, "yaml", &len);
	for (long n = 1;; n++) {
		json_t *docs = NULL;
		int rc;
		long used;
		test_alloc_fail_at(n);
		rc = kube_yaml_parse_all(&docs, text, len);
		used = test_alloc_count();
		test_alloc_fail_at(0);
		if (rc == 0) {
			assert_true(used < n);
			json_decref(docs);
			break;
		}
		if (rc != KUBE_ENOMEM)
			fail_msg("%s, allocation %ld failed: %s: %s", name, n, kube_error_name(rc),
			         kube_error_last()->message);
		assert_int_equal(kube_error_last()->code, KUBE_ENOMEM);
		assert_null(docs);
		assert_true(n < 1000000);
	}
	free(text);
}

static void assert_emit_survives_allocation_failures(const json_t *value)
{
	for (long n = 1;; n++) {
		kube_buf out = KUBE_BUF_INIT;
		int rc;
		long used;
		test_alloc_fail_at(n);
		rc = kube_yaml_emit(&out, value);
		used = test_alloc_count();
		test_alloc_fail_at(0);
		kube_buf_dispose(&out);
		if (rc == 0) {
			assert_true(used < n);
			break;
		}
		assert_int_equal(rc, KUBE_ENOMEM);
		assert_true(n < 1000000);
	}
}

static void test_yaml__allocation_failures_return_enomem(void **state)
{
	static const char *const names[] = {"anchors_aliases",  "merge_keys",      "multi_document",      "deployment",
	                                    "int_beyond_int64", "non_string_keys", "json_surrogate_pairs"};
	json_t *value;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_parse_survives_allocation_failures(names[i]);
	value = load_json_fixture("yaml/emit", "quoting");
	assert_emit_survives_allocation_failures(value);
	json_decref(value);
}

/* "v: " PREFIX, count copies of fill, SUFFIX: one long number. */
static json_t *parse_long_number(int *rc, const char *prefix, char fill, size_t count, const char *suffix)
{
	kube_buf text = KUBE_BUF_INIT;
	json_t *value = NULL;
	assert_int_equal(kube_buf_printf(&text, "v: %s", prefix), 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(kube_buf_put(&text, &fill, 1), 0);
	assert_int_equal(kube_buf_puts(&text, suffix), 0);
	*rc = kube_yaml_parse_one(&value, text.ptr, text.len);
	kube_buf_dispose(&text);
	return value;
}

/* Numbers too long for the resolver's stack buffer take the heap path. */
static void test_yaml__resolves_long_numbers(void **state)
{
	int rc;
	json_t *value;
	(void)state;
	value = parse_long_number(&rc, "0.", '0', 700, "15\n");
	assert_int_equal(rc, 0);
	assert_true(json_is_real(json_object_get(value, "v")));
	json_decref(value);
	/* a float that overflows is a string (strconv.ParseFloat fails) */
	value = parse_long_number(&rc, "1", '0', 700, ".5e999\n");
	assert_int_equal(rc, 0);
	assert_true(json_is_string(json_object_get(value, "v")));
	json_decref(value);
	/* an integer that overflows is a big.Int for go-yaml; JSON here cannot hold it */
	value = parse_long_number(&rc, "", '1', 700, "\n");
	assert_int_equal(rc, KUBE_EINVALID);
	assert_null(value);
	assert_non_null(strstr(kube_error_last()->message, "cannot be represented in JSON"));
}

/* "parse/NAME" and the like, for cmocka's report. */
static const char *case_name(const char *kind, const char *name)
{
	static char names[64][96];
	static size_t used;
	assert_true(used < ARRAY_SIZE(names));
	(void)snprintf(names[used], sizeof(names[used]), "%s/%s", kind, name);
	return names[used++];
}

int main(void)
{
	static struct CMUnitTest
	        tests[ARRAY_SIZE(parse_fixtures) + ARRAY_SIZE(error_fixtures) + ARRAY_SIZE(emit_fixtures) + 24];
	static const struct CMUnitTest fixed[] = {
	        cmocka_unit_test(test_yaml__every_fixture_is_listed),
	        cmocka_unit_test(test_yaml__round_trips_every_fixture),
	        cmocka_unit_test(test_yaml__emit_keeps_integers_and_reals_apart),
	        cmocka_unit_test(test_yaml__emit_writes_roots_and_empty_collections),
	        cmocka_unit_test(test_yaml__emit_round_trips_awkward_strings),
	        cmocka_unit_test(test_yaml__emit_appends_and_restores_buffer_on_error),
	        cmocka_unit_test(test_yaml__stream_reports_document_lines),
	        cmocka_unit_test(test_yaml__stream_stops_when_callback_fails),
	        cmocka_unit_test(test_yaml__stream_delivers_documents_before_later_errors),
	        cmocka_unit_test(test_yaml__parse_one_requires_a_single_document),
	        cmocka_unit_test(test_yaml__alias_copies_are_independent),
	        cmocka_unit_test(test_yaml__resolves_long_numbers),
	        cmocka_unit_test(test_yaml__allocation_failures_return_enomem),
	        cmocka_unit_test(test_yaml__reader_matches_stream_in_pieces_of_any_size),
	        cmocka_unit_test(test_yaml__reader_reports_read_errors),
	        cmocka_unit_test(test_yaml__reader_reports_bad_encoding_at_its_line),
	};
	size_t count = 0;
	for (size_t i = 0; i < ARRAY_SIZE(parse_fixtures); i++)
		tests[count++] =
		        (struct CMUnitTest){case_name("parse", parse_fixtures[i]), test_yaml__parse_matches_fixture,
		                            NULL, NULL, (void *)parse_fixtures[i]};
	for (size_t i = 0; i < ARRAY_SIZE(error_fixtures); i++)
		tests[count++] = (struct CMUnitTest){case_name("rejects", error_fixtures[i]),
		                                     test_yaml__rejects_fixture, NULL, NULL, (void *)error_fixtures[i]};
	for (size_t i = 0; i < ARRAY_SIZE(emit_fixtures); i++)
		tests[count++] =
		        (struct CMUnitTest){case_name("emit", emit_fixtures[i]), test_yaml__emit_matches_golden, NULL,
		                            NULL, (void *)emit_fixtures[i]};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[count++] = fixed[i];
	return _cmocka_run_group_tests("yaml", tests, count, NULL, NULL);
}
