/* The version subcommand. */
#include <string.h>

#include <kube/version.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/output.h"
#include "cli/version.h"

const cli_command cli_version_command = {
        .name = "version",
        .usage = "version [-o json|yaml]",
        .summary = "Print the version, git commit, build date and library versions",
        .description = "Print the version of {program}, the git commit and date it was built from,\n"
                       "and the versions of libcurl and OpenSSL it runs on.",
        .examples = "  # Print the version\n"
                    "  {program} version\n"
                    "\n"
                    "  # Print it as a rollguard.io/v1 Version object\n"
                    "  {program} version -o json",
        .outputs = CLI_OUTPUT_BIT(CLI_OUTPUT_TABLE) | CLI_OUTPUT_BIT(CLI_OUTPUT_JSON) | CLI_OUTPUT_BIT(CLI_OUTPUT_YAML),
        .min_args = 0,
        .max_args = 0,
        .run = cli_version_run,
};

/* "3.0.15" out of "OpenSSL 3.0.15 3 Sep 2024"; other TLS libraries keep
 * their own full name. */
static void openssl_version(char *buf, size_t size)
{
	const char *full = kube_version_openssl();
	const char *prefix = "OpenSSL ";
	if (strncmp(full, prefix, strlen(prefix)) == 0) {
		const char *number = full + strlen(prefix);
		(void)snprintf(buf, size, "%.*s", (int)strcspn(number, " "), number);
	} else {
		(void)snprintf(buf, size, "%s", full);
	}
}

json_t *cli_version_object(const char *binary)
{
	char openssl[128];
	openssl_version(openssl, sizeof(openssl));
	json_t *doc = cli_object_new("Version");
	if (!doc)
		return NULL;
	if (json_object_set_new(doc, "version", json_string(kube_version_string())) ||
	    json_object_set_new(doc, "commit", json_string(kube_version_commit())) ||
	    json_object_set_new(doc, "buildDate", json_string(kube_version_build_date())) ||
	    json_object_set_new(doc, "libcurl", json_string(kube_version_curl())) ||
	    json_object_set_new(doc, "openssl", json_string(openssl)) ||
	    json_object_set_new(doc, "binary", json_string(binary))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void cli_version_print(FILE *stream, const char *binary)
{
	char openssl[128];
	const char *full = kube_version_openssl();
	openssl_version(openssl, sizeof(openssl));
	(void)fprintf(stream, "%s version %s (commit %s, built %s)\n", binary, kube_version_string(),
	              kube_version_commit(), kube_version_build_date());
	(void)fprintf(stream, "libcurl %s\n", kube_version_curl());
	(void)fprintf(stream, "%s%s\n", strncmp(full, "OpenSSL ", 8) == 0 ? "OpenSSL " : "", openssl);
}

int cli_version_run(const cli_args *args)
{
	cli_output out;
	int rc = cli_output_open(&out, args->output_file);
	if (rc)
		return rc;
	if (args->output == CLI_OUTPUT_JSON || args->output == CLI_OUTPUT_YAML) {
		json_t *doc = cli_version_object(args->program->binary);
		rc = doc ? cli_output_document(out.stream, args->output, doc) : cli_error_nomem();
		json_decref(doc);
	} else {
		cli_version_print(out.stream, args->program->binary);
	}
	return cli_output_close(&out, rc);
}
