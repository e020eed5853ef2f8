/* kubectl probecheck [audit] -f FILE|DIR|-: audits the workloads in manifests, with no cluster. */
#include <string.h>

#include <kube/buf.h>
#include <kube/error.h>

#include "cli/cli.h"
#include "cluster.h"
#include "commands.h"
#include "engine.h"
#include "exercise.h"
#include "input.h"
#include "output.h"
#include "suppress.h"

static const cli_flag audit_flags[] = {
        {"filename", 'f', CLI_FLAG_STRINGS, "FILE",
         "Manifest file, directory (read recursively: *.yaml, *.yml, *.json) or - for standard input; repeatable",
         NULL},
        {"fail-on", 0, CLI_FLAG_STRING, "LEVEL",
         "Exit 1 when a finding is at or above LEVEL: error, warning, info or never (default error)", NULL},
        {"checks", 0, CLI_FLAG_STRINGS, "IDS", "Run only these checks (comma-separated, repeatable)", NULL},
        {"skip", 0, CLI_FLAG_STRINGS, "IDS", "Do not run these checks (comma-separated, repeatable)", NULL},
        {"config", 0, CLI_FLAG_STRING, "FILE", "Suppression rules (kind ProbecheckConfig, see docs/probecheck.md)",
         NULL},
        {"strict", 0, CLI_FLAG_BOOL, NULL, "Ignore every suppression (annotations and --config) and list them", NULL},
        {"keep-going", 0, CLI_FLAG_BOOL, NULL,
         "When an input cannot be read or parsed, still report the others (the exit code stays 2)", NULL},
        {"exercise", 0, CLI_FLAG_BOOL, NULL,
         "Cluster targets: run every probe of the running pods now through the API server (port-forward, exec) "
         "and time it",
         NULL},
        {"samples", 0, CLI_FLAG_INT, "N", "With --exercise: how many times each probe is run (1-20, default 3)", NULL},
        {"selector", 'l', CLI_FLAG_STRING, "SELECTOR",
         "Cluster targets by label: audit the objects of the named types that match (e.g. deploy -l app=web)", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};

/* Marks the checks named in values (comma-separated) in out. */
static int parse_check_list(const cli_args *args, unsigned char out[PROBECHECK_CHECK_COUNT], const char *flag)
{
	const char *const *values;
	size_t count = cli_flag_strings(args, flag, &values);
	for (size_t i = 0; i < count; i++) {
		const char *p = values[i];
		while (*p) {
			size_t len = strcspn(p, ",");
			char id[128];
			if (len) {
				(void)snprintf(id, sizeof(id), "%.*s",
				               (int)(len < sizeof(id) - 1 ? len : sizeof(id) - 1), p);
				int check = len < sizeof(id) - 1 ? probecheck_check_find(id) : -1;
				if (check < 0)
					return cli_usage_error(
					        args, "--%s: unknown check \"%.*s\" (see 'kubectl probecheck checks')",
					        flag, (int)len, p);
				out[check] = 1;
			}
			p += len + (p[len] == ',');
		}
	}
	return 0;
}

static int parse_options(const cli_args *args, probecheck_options *options)
{
	unsigned char only[PROBECHECK_CHECK_COUNT] = {0}, skip[PROBECHECK_CHECK_COUNT] = {0};
	const char *fail_on = cli_flag_string(args, "fail-on");
	int rc;
	memset(options, 0, sizeof(*options));
	options->fail_on = PROBECHECK_SEV_ERROR;
	if (fail_on && probecheck_severity_parse(&options->fail_on, fail_on))
		return cli_usage_error(args, "--fail-on: \"%s\" is not one of error, warning, info, never", fail_on);
	if ((rc = parse_check_list(args, only, "checks")) || (rc = parse_check_list(args, skip, "skip")))
		return rc;
	int any_only = memchr(only, 1, sizeof(only)) != NULL;
	int exercise = cli_flag_bool(args, "exercise");
	for (int i = 0; i < PROBECHECK_CHECK_COUNT; i++)
		options->enabled[i] =
		        (unsigned char)((!any_only || only[i]) && !skip[i] &&
		                        (exercise || strcmp(probecheck_catalog[i].family, "active") != 0));
	options->strict = cli_flag_bool(args, "strict");
	options->default_namespace = args->config.ns;
	return 0;
}

static int add_object(void *user, const json_t *object, const probecheck_source *source, char *err, size_t err_size)
{
	return probecheck_engine_add(user, object, source, err, err_size);
}

static int no_objects(const char *const *files, size_t count)
{
	kube_buf names = KUBE_BUF_INIT;
	int failed = 0;
	for (size_t i = 0; i < count; i++)
		failed |= kube_buf_printf(&names, "%s%s", i ? ", " : "",
		                          strcmp(files[i], "-") == 0 ? PROBECHECK_STDIN_NAME : files[i]);
	if (failed) {
		kube_buf_dispose(&names);
		return cli_error_nomem();
	}
	cli_error("no objects found in %s: probecheck audits Deployment, StatefulSet, DaemonSet, ReplicaSet, "
	          "ReplicationController, Pod, Job and CronJob",
	          kube_buf_cstr(&names));
	kube_buf_dispose(&names);
	return CLI_EXIT_USAGE;
}

static int render(const cli_args *args, const probecheck_report *report)
{
	cli_output out;
	int rc = cli_output_open(&out, args->output_file);
	if (rc)
		return rc;
	switch (args->output) {
	case CLI_OUTPUT_JSON:
	case CLI_OUTPUT_YAML:
		rc = probecheck_output_report(out.stream, args->output, report);
		break;
	case CLI_OUTPUT_SARIF:
		rc = probecheck_output_sarif(out.stream, report);
		break;
	case CLI_OUTPUT_JUNIT:
		rc = probecheck_output_junit(out.stream, report);
		break;
	case CLI_OUTPUT_TABLE:
	case CLI_OUTPUT_WIDE:
		rc = probecheck_output_table(out.stream, report, args->output == CLI_OUTPUT_WIDE,
		                             args->output_file ? 0 : args->color);
		break;
	}
	return cli_output_close(&out, rc);
}

static int load_config(const cli_args *args, probecheck_options *options, probecheck_config **config)
{
	char err[1024];
	const char *config_path = cli_flag_string(args, "config");
	if (!config_path)
		return 0;
	int rc = probecheck_config_load(config, config_path, err, sizeof(err));
	if (rc == KUBE_ENOMEM)
		return cli_error_nomem();
	if (rc) {
		cli_error("--config %s", err);
		return CLI_EXIT_USAGE;
	}
	options->config = *config;
	return 0;
}

/* Cluster targets: everything is read, checked and finished by cluster.c. */
static int run_cluster(const cli_args *args, probecheck_options *options)
{
	probecheck_engine *engine = NULL;
	int rc = probecheck_cluster_audit(args, options, &engine);
	if (!rc) {
		probecheck_report *report = probecheck_engine_report(engine);
		rc = render(args, report);
		if (!rc)
			rc = probecheck_report_failed(report) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	probecheck_engine_free(engine);
	return rc;
}

static int run_audit(const cli_args *args)
{
	probecheck_options options;
	probecheck_config *config = NULL;
	probecheck_engine *engine = NULL;
	probecheck_input_stats stats;
	const char *const *files;
	size_t file_count = cli_flag_strings(args, "filename", &files);
	int cluster = args->positional_count || args->all_namespaces || cli_flag_given(args, "selector");
	int rc;

	if (cluster && file_count)
		return cli_usage_error(args, "-f cannot be combined with cluster targets (%s)",
		                       args->positional_count ? args->positional[0]
		                       : args->all_namespaces ? "-A"
		                                              : "-l");
	if (cli_flag_bool(args, "exercise") && file_count)
		return cli_usage_error(args,
		                       "--exercise runs the probes of pods in the cluster: it needs cluster targets "
		                       "(deploy/NAME, ...), not -f");
	if (cli_flag_given(args, "samples") && !cli_flag_bool(args, "exercise"))
		return cli_usage_error(args, "--samples needs --exercise");
	if (cli_flag_given(args, "samples") && (cli_flag_long(args, "samples", 3) < 1 ||
	                                        cli_flag_long(args, "samples", 3) > PROBECHECK_EXERCISE_MAX_SAMPLES))
		return cli_usage_error(args, "--samples: %ld is not between 1 and %d",
		                       cli_flag_long(args, "samples", 3), PROBECHECK_EXERCISE_MAX_SAMPLES);
	if (!file_count && !cluster)
		return cli_usage_error(args, "no input: give -f FILE|DIR|- for manifests, or cluster targets "
		                             "(deploy/NAME, deploy, -l SELECTOR, -A)");
	if ((rc = parse_options(args, &options)) || (rc = load_config(args, &options, &config)))
		goto done;
	if (cluster) {
		rc = run_cluster(args, &options);
		goto done;
	}
	if (probecheck_engine_new(&engine, &options)) {
		rc = cli_error_nomem();
		goto done;
	}
	int input_rc =
	        probecheck_input_each(files, file_count, cli_flag_bool(args, "keep-going"), add_object, engine, &stats);
	if (input_rc < 0) {
		rc = input_rc == KUBE_ENOMEM ? cli_error_nomem() : cli_error_kube(NULL, input_rc);
		goto done;
	}
	probecheck_report *report = probecheck_engine_report(engine);
	if (input_rc && !cli_flag_bool(args, "keep-going")) {
		rc = input_rc;
		goto done;
	}
	if (report->workload_count == 0) {
		rc = input_rc ? input_rc : no_objects(files, file_count);
		goto done;
	}
	if ((rc = probecheck_engine_finish(engine))) {
		/* a record that cannot be read back has said why */
		rc = rc == KUBE_ENOMEM ? cli_error_nomem() : CLI_EXIT_FAIL;
		goto done;
	}
	if ((rc = render(args, report)))
		goto done;
	rc = input_rc ? input_rc : probecheck_report_failed(report) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
	probecheck_engine_free(engine);
	probecheck_config_free(config);
	return rc;
}

const cli_command probecheck_audit_command = {
        .name = "audit",
        .usage = "[audit] (-f FILE|DIR|- | TYPE[/NAME] ... | TYPE -l SELECTOR | TYPE -A)",
        .summary = "Audit the probes and rollout hygiene of workloads in manifests or the cluster (the default "
                   "command)",
        .description =
                "Audit liveness, readiness and startup probes and rollout hygiene of the workloads in manifest\n"
                "files, directories or standard input, with no cluster: multi-document YAML, JSON, List kinds\n"
                "and the output of helm template. Every finding has a stable check ID, a severity, a why and a\n"
                "fix computed from the workload's own numbers ('{program} checks' lists them).\n"
                "\n"
                "Suppress a check with the annotation probecheck.rollguard.io/ignore: \"CHECK[,CONTAINER:CHECK]\n"
                "REASON\" on the object or its pod template, or with --config rules; --strict ignores both.\n"
                "\n"
                "Cluster targets (deploy/NAME, sts/NAME, ds/NAME, po/NAME, job/NAME, cronjob/NAME, a type\n"
                "alone for all of it, -l SELECTOR, -A) are read with a constant number of paginated LISTs run\n"
                "concurrently (the workload types, ReplicaSets or Jobs, Pods, Services, PodDisruptionBudgets,\n"
                "Events) and also checked from live evidence: Unhealthy, Killing and ProbeWarning events,\n"
                "restarts by probe kill, crash or OOM, CrashLoopBackOff, not-ready containers and observed\n"
                "startup time against the probe budgets. Events expire (1 h by default).\n"
                "\n"
                "--exercise (cluster targets) also runs every probe of the running pods now, through the API\n"
                "server as the kubelet runs it (httpGet and gRPC over a port-forward, tcpSocket as its connect,\n"
                "exec), --samples times, and compares the latency, less the tunnel's own round trip, with\n"
                "timeoutSeconds. It needs create on pods/portforward and pods/exec.\n"
                "\n"
                "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage error,\n"
                "unparsable manifest, no objects found or unknown resource type; 3 kubeconfig or credentials;\n"
                "4 API error (forbidden, not found, unreachable; with --exercise also when no probe could be\n"
                "run at all, e.g. without create on pods/portforward and pods/exec).",
        .examples =
                "  # Audit a manifest\n"
                "  {program} -f deploy.yaml\n"
                "\n"
                "  # Audit a Deployment in the cluster, with its live evidence\n"
                "  {program} deploy/api -n shop\n"
                "\n"
                "  # Every Deployment and StatefulSet labelled app=web in all namespaces, as JSON\n"
                "  {program} deploy,sts -l app=web -A -o json\n"
                "\n"
                "  # Run every probe of a Deployment's pods now, 5 times each, and time them\n"
                "  {program} deploy/api -n shop --exercise --samples 5\n"
                "\n"
                "  # Audit a rendered chart in CI, failing on warnings, as SARIF for code scanning\n"
                "  helm template ./chart | {program} -f - --fail-on warning -o sarif --output-file probecheck.sarif\n"
                "\n"
                "  # Only the timing checks of a directory of manifests\n"
                "  {program} -f k8s/ --checks probe-liveness-before-readiness,probe-identical-unsafe",
        .flags = audit_flags,
        .outputs = CLI_OUTPUTS_STANDARD | CLI_OUTPUT_BIT(CLI_OUTPUT_SARIF) | CLI_OUTPUT_BIT(CLI_OUTPUT_JUNIT),
        .features = CLI_CMD_ALL_NAMESPACES,
        .min_args = 0,
        .max_args = -1,
        .run = run_audit,
        .complete = probecheck_complete_audit,
};
