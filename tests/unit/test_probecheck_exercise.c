/* kubectl-probecheck --exercise: the pure helpers (compiled in from
 * plugins/probecheck/exercise_util.c) that mirror the kubelet — $(VAR)
 * expansion of exec commands, the gRPC health request and response,
 * the redirect rule, missing-binary detection, the kube-probe
 * User-Agent and the latency verdict — and the flag rules through the
 * real binary (PROBECHECK_BIN, default ../kubectl-probecheck). The
 * network part runs in e2e/suites/test_probecheck_exercise.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

/* the plugin is no library: its pure helpers are compiled into the test */
#include "../../plugins/probecheck/exercise_util.c" /* NOLINT(bugprone-suspicious-include) */

static char *expand_one(const char *arg, const char *env_json)
{
	json_t *env = env_json ? json_loads(env_json, 0, NULL) : NULL;
	kube_buf out = KUBE_BUF_INIT;
	assert_int_equal(probecheck_expand_arg(&out, arg, env), 0);
	json_decref(env);
	char *text = strdup(kube_buf_cstr(&out));
	kube_buf_dispose(&out);
	return text;
}

static void expect_expansion(const char *arg, const char *env_json, const char *want)
{
	char *got = expand_one(arg, env_json);
	assert_string_equal(got, want);
	free(got);
}

/* As k8s.io/kubernetes third_party/forked/golang/expansion's tests. */
static void test_exercise__expand(void **state)
{
	const char *env = "[{\"name\":\"VAR_A\",\"value\":\"A\"},{\"name\":\"VAR_B\",\"value\":\"B\"},"
	                  "{\"name\":\"FROM\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"
	                  "{\"name\":\"VAR_B\",\"value\":\"B2\"}]";
	(void)state;
	expect_expansion("plain", env, "plain");
	expect_expansion("$(VAR_A)", env, "A");
	expect_expansion("x$(VAR_A)y$(VAR_B)z", env, "xAyB2z"); /* the last of a name wins */
	expect_expansion("$(FROM)", env, "");                   /* valueFrom: the static value is "" */
	expect_expansion("$(UNSET)", env, "$(UNSET)");
	expect_expansion("$$(VAR_A)", env, "$(VAR_A)");
	expect_expansion("$$$(VAR_A)", env, "$A");
	expect_expansion("$VAR_A", env, "$VAR_A");
	expect_expansion("$(VAR_A", env, "$(VAR_A");
	expect_expansion("end$", env, "end$");
	expect_expansion("$", env, "$");
	expect_expansion("$()", env, "$()");
	expect_expansion("test \"$(VAR_A)\" = A", NULL, "test \"$(VAR_A)\" = A");
}

static void test_exercise__grpc_request(void **state)
{
	kube_buf out = KUBE_BUF_INIT;
	(void)state;
	assert_int_equal(probecheck_grpc_health_request(&out, ""), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.ptr, "\0\0\0\0\0", 5);
	kube_buf_clear(&out);
	assert_int_equal(probecheck_grpc_health_request(&out, "liveness"), 0);
	assert_int_equal(out.len, 15);
	assert_memory_equal(out.ptr, "\0\0\0\0\x0a\x0a\x08liveness", 15);
	kube_buf_clear(&out);
	char long_name[300];
	memset(long_name, 's', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(probecheck_grpc_health_request(&out, long_name), 0);
	/* 299 bytes: the length is a two-byte varint (0xab 0x02) */
	assert_int_equal(out.len, 5 + 1 + 2 + 299);
	assert_memory_equal(out.ptr, "\0\0\0\x01\x2e\x0a\xab\x02", 8);
	kube_buf_dispose(&out);
}

static void test_exercise__grpc_response(void **state)
{
	long status = -1;
	(void)state;
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\x02\x08\x01", 7, &status), 0);
	assert_int_equal(status, 1);
	assert_string_equal(probecheck_grpc_status_name(status), "SERVING");
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\x02\x08\x02", 7, &status), 0);
	assert_string_equal(probecheck_grpc_status_name(status), "NOT_SERVING");
	/* proto3 leaves the default out: an empty message is UNKNOWN */
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\0", 5, &status), 0);
	assert_int_equal(status, 0);
	/* unknown fields are skipped */
	assert_int_equal(
	        probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\x06\x12\x02hi\x08\x01", 11, &status), 0);
	assert_int_equal(status, 1);
	/* compressed, a wrong length, a truncated varint, nothing */
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\x01\0\0\0\x02\x08\x01", 7, &status),
	                 -1);
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\x03\x08\x01", 7, &status), -1);
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"\0\0\0\0\x02\x08\x81", 7, &status), -1);
	assert_int_equal(probecheck_grpc_health_status((const unsigned char *)"", 0, &status), -1);
	assert_string_equal(probecheck_grpc_status_name(7), "?");
}

static void test_exercise__same_hostname(void **state)
{
	(void)state;
	assert_true(probecheck_same_hostname("http://10.0.0.5:8080/ok", "10.0.0.5"));
	assert_true(probecheck_same_hostname("https://10.0.0.5/other", "10.0.0.5")); /* another port or scheme */
	assert_true(probecheck_same_hostname("http://[fd00::5]:8080/ok", "fd00::5"));
	assert_false(probecheck_same_hostname("http://elsewhere.example/ok", "10.0.0.5"));
	assert_false(probecheck_same_hostname("http://10.0.0.50/ok", "10.0.0.5"));
	assert_false(probecheck_same_hostname("not a url", "10.0.0.5"));
}

static void test_exercise__missing_binary(void **state)
{
	(void)state;
	assert_true(probecheck_exec_missing_binary(127, NULL));
	assert_true(probecheck_exec_missing_binary(126, "sh: ./probe: Permission denied"));
	assert_false(probecheck_exec_missing_binary(1, "not found"));
	assert_false(probecheck_exec_missing_binary(0, NULL));
	assert_true(probecheck_exec_missing_binary(-1, "cmd start: /no/such/binary : fork/exec /no/such/binary: "
	                                               "no such file or directory"));
	assert_true(probecheck_exec_missing_binary(-1, "OCI runtime exec failed: exec failed: unable to start "
	                                               "container process: exec: \"curl\": executable file not "
	                                               "found in $PATH: unknown"));
	assert_false(probecheck_exec_missing_binary(-1, "container not running"));
}

static void test_exercise__user_agent(void **state)
{
	char ua[64];
	(void)state;
	json_t *version = json_pack("{s:s, s:s}", "major", "1", "minor", "36");
	probecheck_probe_user_agent(ua, sizeof(ua), version);
	assert_string_equal(ua, "kube-probe/1.36");
	json_decref(version);
	version = json_pack("{s:s, s:s}", "major", "1", "minor", "27+");
	probecheck_probe_user_agent(ua, sizeof(ua), version);
	assert_string_equal(ua, "kube-probe/1.27");
	json_decref(version);
	probecheck_probe_user_agent(ua, sizeof(ua), NULL);
	assert_string_equal(ua, "kube-probe/1.0");
}

static void test_exercise__latency_severity(void **state)
{
	(void)state;
	assert_int_equal(probecheck_latency_severity(0, 1), PROBECHECK_SEV_NONE);
	assert_int_equal(probecheck_latency_severity(499, 1), PROBECHECK_SEV_NONE);
	assert_int_equal(probecheck_latency_severity(500, 1), PROBECHECK_SEV_WARNING);
	assert_int_equal(probecheck_latency_severity(999, 1), PROBECHECK_SEV_WARNING);
	assert_int_equal(probecheck_latency_severity(1000, 1), PROBECHECK_SEV_ERROR);
	assert_int_equal(probecheck_latency_severity(1300, 2), PROBECHECK_SEV_WARNING);
	assert_int_equal(probecheck_latency_severity(900, 0), PROBECHECK_SEV_WARNING); /* 0 is the default 1 s */
}

/* ----- flags, through the binary ----- */

static int run_binary(const char *args, char *err, size_t err_size)
{
	char cmd[8192];
	const char *bin = getenv("PROBECHECK_BIN");
	(void)snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1 >/dev/null", bin && *bin ? bin : "../kubectl-probecheck", args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(err, 1, err_size - 1, p);
	err[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_exercise__flags(void **state)
{
	char err[4096], args[4096];
	(void)state;
	(void)snprintf(args, sizeof(args), "-f '%s/probecheck/cases/presence-none.yaml' --exercise", FIXTURES_DIR);
	assert_int_equal(run_binary(args, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--exercise runs the probes of pods in the cluster"));
	(void)snprintf(args, sizeof(args), "-f '%s/probecheck/cases/presence-none.yaml' --samples 2", FIXTURES_DIR);
	assert_int_equal(run_binary(args, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--samples needs --exercise"));
	assert_int_equal(run_binary("deploy --exercise --samples 21", err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--samples: 21 is not between 1 and 20"));
	/* without --exercise the active checks are not evaluated: no JUnit test case */
	(void)snprintf(args, sizeof(args), "-f '%s/probecheck/cases/presence-none.yaml' -o junit --fail-on never 2>&1",
	               FIXTURES_DIR);
	char cmd[8192];
	const char *bin = getenv("PROBECHECK_BIN");
	(void)snprintf(cmd, sizeof(cmd), "'%s' %s", bin && *bin ? bin : "../kubectl-probecheck", args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char out[65536];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "<testsuite"));
	assert_null(strstr(out, "active-"));
	/* the catalogue lists them */
	assert_int_equal(run_binary("checks active-probe-fails active-latency-vs-timeout active-http-redirect "
	                            "active-http-large-body active-exec-missing-binary",
	                            err, sizeof(err)),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exercise__expand),           cmocka_unit_test(test_exercise__grpc_request),
	        cmocka_unit_test(test_exercise__grpc_response),    cmocka_unit_test(test_exercise__same_hostname),
	        cmocka_unit_test(test_exercise__missing_binary),   cmocka_unit_test(test_exercise__user_agent),
	        cmocka_unit_test(test_exercise__latency_severity), cmocka_unit_test(test_exercise__flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
