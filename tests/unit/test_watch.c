/* Unit tests of the watch stream's line parser, table-driven from
 * fixtures/watch/stream.jsonl (one event per line) and stream.expected
 * (per line: "0 TYPE NAME RV" or "CODE HTTP REASON MESSAGE"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube/error.h>
#include <kube/watch.h>

#include "test_support.h"
#include "watch_internal.h"

static const char *type_name(int type)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELIST"};
	return names[type];
}

static void test_watch__parses_each_event_kind(void **state)
{
	(void)state;
	char *stream = test_fixture_read("watch/stream.jsonl", NULL);
	char *expected = test_fixture_read("watch/stream.expected", NULL);
	char *line_save = stream, *want_save = expected;
	int cases = 0;
	for (;;) {
		char *line = line_save, *want = want_save;
		char *line_end = strchr(line, '\n'), *want_end = strchr(want, '\n');
		if (!line_end || !want_end)
			break;
		*line_end = *want_end = '\0';
		line_save = line_end + 1;
		want_save = want_end + 1;

		kube_watch_event event;
		char got[512];
		int rc = kube_watch_parse_line(&event, line, strlen(line));
		if (rc == 0) {
			json_t *meta = json_object_get(event.object, "metadata");
			const char *name = json_string_value(json_object_get(meta, "name"));
			snprintf(got, sizeof(got), "0 %s %s %s", type_name(event.type), name ? name : "-",
			         json_string_value(json_object_get(meta, "resourceVersion")));
			kube_watch_event_dispose(&event);
		} else {
			const kube_error *err = kube_error_last();
			assert_null(event.object);
			snprintf(got, sizeof(got), "%s %ld %s %s", kube_error_name(rc), err->http_status,
			         *err->reason ? err->reason : "-", *err->server_message ? err->server_message : "-");
		}
		assert_string_equal(got, want);
		cases++;
	}
	assert_int_equal(cases, 10);
	free(stream);
	free(expected);
}

static void test_watch__allocation_failure_never_leaks(void **state)
{
	(void)state;
	const char *line = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}";
	for (long n = 1; n < 200; n++) {
		kube_watch_event event;
		test_alloc_fail_at(n);
		int rc = kube_watch_parse_line(&event, line, strlen(line));
		test_alloc_fail_at(0);
		if (rc == 0) {
			kube_watch_event_dispose(&event);
			return;
		}
		assert_int_equal(rc, KUBE_EPROTOCOL); /* jansson reports its allocation failures as parse errors */
		assert_null(event.object);
	}
	fail_msg("parse never succeeded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_watch__parses_each_event_kind),
	        cmocka_unit_test(test_watch__allocation_failure_never_leaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
