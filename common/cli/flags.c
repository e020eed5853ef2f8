/* Parsing of a command line against the common flags and the flags of the
 * subcommand it names, pflag-style (kubectl's and helm's parser). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube/alloc.h>
#include <kube/config.h>
#include <kube/error.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/flags.h"
#include "cli/internal.h"
#include "cli/version.h"

struct cli_flag_slot {
	int given;
	int boolean;
	long number;
	const char *value;
	const char **values;
	size_t count;
};

/* Wording from kubectl's own help, so `--help` reads the same. */
static const cli_flag common_flags[CLI_F_COUNT] = {
        [CLI_F_AS] = {"as", 0, CLI_FLAG_STRING, "string",
                      "Username to impersonate for the operation. User could be a regular user or a service account "
                      "in a namespace.",
                      NULL},
        [CLI_F_AS_GROUP] = {"as-group", 0, CLI_FLAG_STRINGS, "stringArray",
                            "Group to impersonate for the operation, this flag can be repeated to specify multiple "
                            "groups.",
                            NULL},
        [CLI_F_AS_UID] = {"as-uid", 0, CLI_FLAG_STRING, "string", "UID to impersonate for the operation.", NULL},
        [CLI_F_CERTIFICATE_AUTHORITY] = {"certificate-authority", 0, CLI_FLAG_STRING, "string",
                                         "Path to a cert file for the certificate authority", NULL},
        [CLI_F_CLIENT_CERTIFICATE] = {"client-certificate", 0, CLI_FLAG_STRING, "string",
                                      "Path to a client certificate file for TLS", NULL},
        [CLI_F_CLIENT_KEY] = {"client-key", 0, CLI_FLAG_STRING, "string", "Path to a client key file for TLS", NULL},
        [CLI_F_CLUSTER] = {"cluster", 0, CLI_FLAG_STRING, "string", "The name of the kubeconfig cluster to use", NULL},
        [CLI_F_CONTEXT] = {"context", 0, CLI_FLAG_STRING, "string", "The name of the kubeconfig context to use", NULL},
        [CLI_F_INSECURE_SKIP_TLS_VERIFY] = {"insecure-skip-tls-verify", 0, CLI_FLAG_BOOL, NULL,
                                            "If true, the server's certificate will not be checked for validity. "
                                            "This will make your HTTPS connections insecure",
                                            NULL},
        [CLI_F_KUBECONFIG] = {"kubeconfig", 0, CLI_FLAG_STRING, "string",
                              "Path to the kubeconfig file to use for CLI requests.", NULL},
        [CLI_F_NAMESPACE] = {"namespace", 'n', CLI_FLAG_STRING, "string",
                             "If present, the namespace scope for this CLI request", NULL},
        [CLI_F_REQUEST_TIMEOUT] = {"request-timeout", 0, CLI_FLAG_DURATION, "string",
                                   "The length of time to wait before giving up on a single server request. "
                                   "Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). "
                                   "A value of zero means don't timeout requests.",
                                   NULL},
        [CLI_F_SERVER] = {"server", 's', CLI_FLAG_STRING, "string", "The address and port of the Kubernetes API server",
                          NULL},
        [CLI_F_TLS_SERVER_NAME] = {"tls-server-name", 0, CLI_FLAG_STRING, "string",
                                   "Server name to use for server certificate validation. If it is not provided, "
                                   "the hostname used to contact the server is used",
                                   NULL},
        [CLI_F_TOKEN] = {"token", 0, CLI_FLAG_STRING, "string", "Bearer token for authentication to the API server",
                         NULL},
        [CLI_F_USER] = {"user", 0, CLI_FLAG_STRING, "string", "The name of the kubeconfig user to use", NULL},
        [CLI_F_NO_COLOR] = {"no-color", 0, CLI_FLAG_BOOL, NULL,
                            "Disable colour (also when NO_COLOR is set or the output is not a terminal)", NULL},
        [CLI_F_V] = {"v", 'v', CLI_FLAG_INT, "Level",
                     "number for the log level verbosity (4 decisions, 6 requests, 8 bodies)", NULL},
        [CLI_F_ALL_NAMESPACES] = {"all-namespaces", 'A', CLI_FLAG_BOOL, NULL,
                                  "If present, list the requested object(s) across all namespaces.", NULL},
        [CLI_F_OUTPUT] = {"output", 'o', CLI_FLAG_STRING, "string", "Output format. One of: ", NULL},
        [CLI_F_JSON] = {"json", 0, CLI_FLAG_BOOL, NULL, "Shorthand for -o json", NULL},
        [CLI_F_OUTPUT_FILE] = {"output-file", 0, CLI_FLAG_STRING, "string",
                               "Write the report to this file (replaced atomically) instead of stdout", NULL},
        [CLI_F_HELP] = {"help", 'h', CLI_FLAG_BOOL, NULL, "help for ", NULL},
        [CLI_F_VERSION] = {"version", 0, CLI_FLAG_BOOL, NULL, "Print the version and exit", NULL},
};

const cli_flag *cli_common_flag_get(enum cli_common_flag id)
{
	assert(id < CLI_F_COUNT);
	return &common_flags[id];
}

/* A flag found by name: a common one (id >= 0) or one of command's. */
struct flag_match {
	const cli_flag *flag;
	int common_id;
	size_t index;
};

static int takes_value(const cli_flag *flag)
{
	return flag->type != CLI_FLAG_BOOL && !(flag->type == CLI_FLAG_STRING && flag->no_opt_value);
}

static int flag_matches(const cli_flag *flag, const char *name, size_t name_len, char shorthand)
{
	if (shorthand)
		return flag->shorthand == shorthand;
	return strlen(flag->name) == name_len && memcmp(flag->name, name, name_len) == 0;
}

static int match_in(const cli_flag *table, const char *name, size_t name_len, char shorthand, struct flag_match *out)
{
	for (size_t i = 0; table && table[i].name; i++) {
		if (flag_matches(&table[i], name, name_len, shorthand)) {
			out->flag = &table[i];
			out->common_id = -1;
			out->index = i;
			return 1;
		}
	}
	return 0;
}

/* Looks a flag up by long name (name_len bytes) or by shorthand. With
 * command NULL, in every command of prog: the subcommand is not known yet
 * and only whether the flag takes a value matters. */
static int find_flag(const cli_program *prog, const cli_command *command, const char *name, size_t name_len,
                     char shorthand, struct flag_match *out)
{
	for (int id = 0; id < CLI_F_COUNT; id++) {
		if (flag_matches(&common_flags[id], name, name_len, shorthand)) {
			out->flag = &common_flags[id];
			out->common_id = id;
			out->index = 0;
			return 1;
		}
	}
	if (command)
		return match_in(command->flags, name, name_len, shorthand, out);
	for (size_t i = 0; prog->commands && prog->commands[i]; i++)
		if (match_in(prog->commands[i]->flags, name, name_len, shorthand, out))
			return 1;
	return prog->default_command && match_in(prog->default_command->flags, name, name_len, shorthand, out);
}

const cli_flag *cli_flag_lookup(const cli_program *prog, const cli_command *command, const char *name, size_t name_len,
                                char shorthand, int *out_common_id)
{
	struct flag_match m;
	if (!find_flag(prog, command, name, name_len, shorthand, &m))
		return NULL;
	if (out_common_id)
		*out_common_id = m.common_id;
	return m.flag;
}

int cli_flag_takes_value(const cli_flag *flag)
{
	return takes_value(flag);
}

const cli_command *cli_command_find(const cli_program *prog, const char *name)
{
	for (size_t i = 0; prog->commands && prog->commands[i]; i++)
		if (strcmp(prog->commands[i]->name, name) == 0)
			return prog->commands[i];
	return NULL;
}

void cli_args_command_path(const cli_args *args, char *buf, size_t size)
{
	if (args->command)
		(void)snprintf(buf, size, "%s %s", args->program->name, args->command->name);
	else
		(void)snprintf(buf, size, "%s", args->program->name);
}

static int fail(cli_args *args, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(cli_args *args, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(args->error, sizeof(args->error), fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

static int fail_nomem(cli_args *args)
{
	(void)snprintf(args->error, sizeof(args->error), "out of memory");
	return CLI_EXIT_FAIL;
}

/* "-n, --namespace" or "--kubeconfig", as pflag names a flag in errors. */
static void flag_display(const cli_flag *flag, char *buf, size_t size)
{
	if (flag->shorthand)
		(void)snprintf(buf, size, "-%c, --%s", flag->shorthand, flag->name);
	else
		(void)snprintf(buf, size, "--%s", flag->name);
}

static int invalid(cli_args *args, const cli_flag *flag, const char *value, const char *why)
{
	char shown[96];
	flag_display(flag, shown, sizeof(shown));
	return fail(args, "invalid argument \"%s\" for \"%s\" flag: %s", value, shown, why);
}

int cli_parse_bool(int *out, const char *text)
{
	static const char *const truths[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const lies[] = {"0", "f", "F", "false", "FALSE", "False"};
	for (size_t i = 0; i < CLI_ARRAY_SIZE(truths); i++) {
		if (strcmp(text, truths[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(text, lies[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_long(long *out, const char *text)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	if (errno || end == text || *end)
		return -1;
	*out = value;
	return 0;
}

static int parse_duration(cli_args *args, const cli_flag *flag, const char *value, long *out_ms)
{
	if (kube_duration_parse(out_ms, value) != 0) {
		const char *why = kube_error_last()->message;
		return invalid(args, flag, value, *why ? why : "expected a duration such as 0, 30s, 1m or 1h30m");
	}
	return *out_ms < 0 ? invalid(args, flag, value, "must not be negative") : 0;
}

int cli_args_add_group(cli_args *args, const char *group)
{
	if (args->config.as_groups_count == args->as_groups_cap) {
		size_t cap = args->as_groups_cap ? args->as_groups_cap * 2 : 4;
		const char **groups = kube_realloc(args->as_groups, cap * sizeof(*groups));
		if (!groups)
			return -1;
		args->as_groups = groups;
		args->as_groups_cap = cap;
	}
	args->as_groups[args->config.as_groups_count++] = group;
	args->config.as_groups = args->as_groups;
	return 0;
}

const char *cli_args_keep(cli_args *args, const char *s, size_t len)
{
	char *copy = kube_strndup(s, len);
	if (!copy)
		return NULL;
	char **owned = kube_realloc(args->owned, (args->owned_count + 1) * sizeof(*owned));
	if (!owned) {
		kube_free(copy);
		return NULL;
	}
	owned[args->owned_count++] = copy;
	args->owned = owned;
	return copy;
}

/* Where each common string flag lands; NULL for the ones handled apart. */
static const char **common_string_field(cli_args *args, int id)
{
	kube_config_options *c = &args->config;
	switch (id) {
	case CLI_F_AS:
		return &c->as;
	case CLI_F_AS_UID:
		return &c->as_uid;
	case CLI_F_CERTIFICATE_AUTHORITY:
		return &c->certificate_authority;
	case CLI_F_CLIENT_CERTIFICATE:
		return &c->client_certificate;
	case CLI_F_CLIENT_KEY:
		return &c->client_key;
	case CLI_F_CLUSTER:
		return &c->cluster;
	case CLI_F_CONTEXT:
		return &c->context;
	case CLI_F_KUBECONFIG:
		return &c->kubeconfig;
	case CLI_F_NAMESPACE:
		return &c->ns;
	case CLI_F_SERVER:
		return &c->server;
	case CLI_F_TLS_SERVER_NAME:
		return &c->tls_server_name;
	case CLI_F_TOKEN:
		return &c->token;
	case CLI_F_USER:
		return &c->user;
	case CLI_F_OUTPUT_FILE:
		return &args->output_file;
	default:
		return NULL;
	}
}

static int apply_common(cli_args *args, const cli_flag *flag, int id, const char *value, int boolean)
{
	const char **field = common_string_field(args, id);
	if (field) {
		/* kubectl treats an empty value as "not given" */
		*field = *value && !(id == CLI_F_OUTPUT_FILE && strcmp(value, "-") == 0) ? value : NULL;
		return 0;
	}
	long number;
	switch (id) {
	case CLI_F_AS_GROUP:
		return cli_args_add_group(args, value) ? fail_nomem(args) : 0;
	case CLI_F_INSECURE_SKIP_TLS_VERIFY:
		args->config.insecure_skip_tls_verify = boolean;
		return 0;
	case CLI_F_REQUEST_TIMEOUT:
		if (parse_duration(args, flag, value, &number))
			return CLI_EXIT_USAGE;
		args->config.request_timeout_ms = number;
		return 0;
	case CLI_F_NO_COLOR:
		args->no_color = boolean;
		return 0;
	case CLI_F_V:
		if (parse_long(&number, value) || number < 0 || number > INT_MAX)
			return invalid(args, flag, value, "must be a non-negative integer");
		args->verbosity = (int)number;
		args->verbosity_given = 1;
		return 0;
	case CLI_F_ALL_NAMESPACES:
		args->all_namespaces = boolean;
		return 0;
	case CLI_F_OUTPUT: {
		char allowed[128];
		if (cli_output_format_parse(&args->output, value) == 0) {
			args->output_given = 1;
			return 0;
		}
		cli_output_formats_describe(allowed, sizeof(allowed), ~0u);
		char why[160];
		(void)snprintf(why, sizeof(why), "must be one of %s", allowed);
		return invalid(args, flag, value, why);
	}
	case CLI_F_JSON:
		if (boolean) {
			args->output = CLI_OUTPUT_JSON;
			args->output_given = 1;
		}
		return 0;
	case CLI_F_HELP:
		args->help = boolean;
		return 0;
	case CLI_F_VERSION:
		args->version = boolean;
		return 0;
	default:
		assert(!"common flag without a handler");
		return 0;
	}
}

static int apply_command(cli_args *args, const cli_flag *flag, struct cli_flag_slot *slot, const char *value,
                         int boolean)
{
	slot->given = 1;
	switch (flag->type) {
	case CLI_FLAG_BOOL:
		slot->boolean = boolean;
		return 0;
	case CLI_FLAG_STRING:
		slot->value = value;
		return 0;
	case CLI_FLAG_STRINGS: {
		const char **values = kube_realloc(slot->values, (slot->count + 1) * sizeof(*values));
		if (!values)
			return fail_nomem(args);
		values[slot->count++] = value;
		slot->values = values;
		return 0;
	}
	case CLI_FLAG_INT:
		if (parse_long(&slot->number, value))
			return invalid(args, flag, value, "must be an integer");
		return 0;
	case CLI_FLAG_DURATION:
		return parse_duration(args, flag, value, &slot->number);
	}
	return 0;
}

/* Applies one flag occurrence; value is NULL when a flag that takes no
 * value was given bare. */
static int apply(cli_args *args, const struct flag_match *m, const char *value)
{
	int boolean = 1;
	if (m->flag->type == CLI_FLAG_BOOL && value && cli_parse_bool(&boolean, value))
		return invalid(args, m->flag, value, "must be true or false");
	if (!value && m->flag->type != CLI_FLAG_BOOL)
		value = m->flag->no_opt_value;
	if (m->common_id >= 0)
		return apply_common(args, m->flag, m->common_id, value ? value : "", boolean);
	assert(m->index < args->slot_count);
	return apply_command(args, m->flag, &args->slots[m->index], value, boolean);
}

/* The positions of the first two arguments that are not flags or flag
 * values, judged against every command's flags. */
struct discovery {
	int index[2];
	int after_dashdash[2];
	int count;
	char unknown[160]; /* the first unknown flag before them, if any */
};

static void discover(struct discovery *d, const cli_program *prog, int argc, char **argv)
{
	int dashdash = 0;
	memset(d, 0, sizeof(*d));
	for (int i = 1; i < argc && d->count < 2; i++) {
		const char *arg = argv[i];
		struct flag_match m;
		if (!dashdash && strcmp(arg, "--") == 0) {
			dashdash = 1;
		} else if (!dashdash && arg[0] == '-' && arg[1] == '-') {
			const char *name = arg + 2;
			size_t len = strcspn(name, "=");
			if (!find_flag(prog, NULL, name, len, 0, &m)) {
				if (!d->unknown[0])
					(void)snprintf(d->unknown, sizeof(d->unknown), "unknown flag: --%.*s", (int)len,
					               name);
			} else if (takes_value(m.flag) && !name[len]) {
				i++;
			}
		} else if (!dashdash && arg[0] == '-' && arg[1]) {
			for (const char *c = arg + 1; *c; c++) {
				if (!find_flag(prog, NULL, NULL, 0, *c, &m)) {
					if (!d->unknown[0])
						(void)snprintf(d->unknown, sizeof(d->unknown),
						               "unknown shorthand flag: '%c' in %.100s", *c, arg);
					break;
				}
				if (takes_value(m.flag) || c[1] == '=') {
					if (!c[1] && takes_value(m.flag))
						i++;
					break;
				}
			}
		} else {
			d->index[d->count] = i;
			d->after_dashdash[d->count] = dashdash;
			d->count++;
		}
	}
}

/* Picks the command; returns the argv indices of the words that named it
 * (command name, "help"), which are not positional arguments. */
/* Whether argv asks for help or the version (then no default command runs). */
static int asks_help_or_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strncmp(argv[i], "--help", 6) == 0 ||
		    strncmp(argv[i], "--version", 9) == 0)
			return 1;
	}
	return 0;
}

static int resolve_command(cli_args *args, const struct discovery *d, int argc, char **argv, int skip[2])
{
	const cli_program *prog = args->program;
	skip[0] = skip[1] = -1;
	if (d->count == 0) {
		/* flags only (`kubectl probecheck -f x.yaml`): the default command,
		 * unless there is nothing at all or help/version was asked for */
		if (prog->default_command && argc > 1 && !asks_help_or_version(argc, argv))
			args->command = prog->default_command;
		return 0;
	}
	if (!d->after_dashdash[0]) {
		const char *name = argv[d->index[0]];
		if (strcmp(name, "help") == 0) {
			args->help = 1;
			skip[0] = d->index[0];
			if (d->count < 2 || d->after_dashdash[1])
				return 0;
			skip[1] = d->index[1];
			args->command = cli_command_find(prog, argv[d->index[1]]);
			if (args->command)
				return 0;
			return fail(args, "unknown command \"%s\" for \"%s\"", argv[d->index[1]], prog->name);
		}
		args->command = cli_command_find(prog, name);
		if (args->command) {
			skip[0] = d->index[0];
			return 0;
		}
	}
	if (prog->default_command) {
		args->command = prog->default_command;
		return 0;
	}
	if (d->unknown[0])
		return fail(args, "%s", d->unknown);
	return fail(args, "unknown command \"%s\" for \"%s\"", argv[d->index[0]], prog->name);
}

static int parse_long_flag(cli_args *args, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const char *value = name[len] == '=' ? name + len + 1 : NULL;
	struct flag_match m;
	/* with no command chosen, only the common flags exist (a subcommand's
	 * flag has no slot to land in) */
	if (!find_flag(args->program, args->command, name, len, 0, &m) || (m.common_id < 0 && !args->command))
		return fail(args, "unknown flag: --%.*s", (int)len, name);
	if (!value && takes_value(m.flag)) {
		if (*i + 1 >= argc)
			return fail(args, "flag needs an argument: --%s", m.flag->name);
		value = argv[++*i];
	}
	return apply(args, &m, value);
}

static int parse_short_flags(cli_args *args, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	for (const char *c = arg + 1; *c; c++) {
		struct flag_match m;
		const char *value = NULL;
		if (!find_flag(args->program, args->command, NULL, 0, *c, &m) || (m.common_id < 0 && !args->command))
			return fail(args, "unknown shorthand flag: '%c' in %s", *c, arg);
		if (c[1] == '=') {
			value = c + 2;
		} else if (takes_value(m.flag)) {
			if (c[1])
				value = c + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return fail(args, "flag needs an argument: '%c' in %s", *c, arg);
		}
		int rc = apply(args, &m, value);
		if (rc || value)
			return rc;
	}
	return 0;
}

/* lenient: a bad flag or value is skipped instead of ending the parse
 * (completion reads lines that are still being typed). */
static int parse_all(cli_args *args, int argc, char **argv, const int skip[2], int lenient)
{
	int dashdash = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int rc = 0;
		if (i == skip[0] || i == skip[1])
			continue;
		if (!dashdash && strcmp(arg, "--") == 0)
			dashdash = 1;
		else if (!dashdash && arg[0] == '-' && arg[1] == '-')
			rc = parse_long_flag(args, argc, argv, &i);
		else if (!dashdash && arg[0] == '-' && arg[1])
			rc = parse_short_flags(args, argc, argv, &i);
		else
			args->positional[args->positional_count++] = arg;
		if (rc && !(lenient && rc == CLI_EXIT_USAGE))
			return rc;
	}
	return 0;
}

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

/* What the chosen command accepts, checked once everything is parsed. */
static int validate(cli_args *args)
{
	char path[256];
	const cli_command *cmd = args->version ? &cli_version_command : args->command;
	if (!cmd)
		return 0;
	cli_args_command_path(args, path, sizeof(path));
	if (args->output_given && !(cmd->outputs & CLI_OUTPUT_BIT(args->output))) {
		char allowed[128];
		if (!cmd->outputs)
			return fail(args, "\"%s\" does not support -o/--output", path);
		cli_output_formats_describe(allowed, sizeof(allowed), cmd->outputs);
		return fail(args, "\"%s\" does not support -o %s (one of: %s)", path,
		            cli_output_format_name(args->output), allowed);
	}
	if (args->output_file && !cmd->outputs)
		return fail(args, "\"%s\" does not support --output-file", path);
	if (args->version)
		return 0;
	if (args->all_namespaces && !(cmd->features & CLI_CMD_ALL_NAMESPACES))
		return fail(args, "\"%s\" does not support -A/--all-namespaces", path);
	long got = (long)args->positional_count;
	if (cmd->max_args == 0 && got > 0)
		return fail(args, "\"%s\" accepts no arguments, got \"%s\"", path, args->positional[0]);
	if (cmd->min_args == cmd->max_args && got != cmd->min_args)
		return fail(args, "\"%s\" requires exactly %d argument%s, got %ld", path, cmd->min_args,
		            plural(cmd->min_args), got);
	if (got < cmd->min_args)
		return fail(args, "\"%s\" requires at least %d argument%s, got %ld", path, cmd->min_args,
		            plural(cmd->min_args), got);
	if (cmd->max_args >= 0 && got > cmd->max_args)
		return fail(args, "\"%s\" accepts at most %d argument%s, got %ld", path, cmd->max_args,
		            plural(cmd->max_args), got);
	return 0;
}

static int parse(cli_args *out, const cli_program *prog, int argc, char **argv, int lenient)
{
	static const kube_config_options config_init = KUBE_CONFIG_OPTIONS_INIT;
	struct discovery d;
	int skip[2];
	memset(out, 0, sizeof(*out));
	out->program = prog;
	out->config = config_init;
	out->output = CLI_OUTPUT_TABLE;

	discover(&d, prog, argc, argv);
	int rc = resolve_command(out, &d, argc, argv, skip);
	if (rc && !lenient)
		return rc;
	if (out->command && out->command->flags) {
		while (out->command->flags[out->slot_count].name)
			out->slot_count++;
		out->slots = kube_calloc(out->slot_count ? out->slot_count : 1, sizeof(*out->slots));
		if (!out->slots)
			return fail_nomem(out);
	}
	out->positional = kube_calloc(argc > 0 ? (size_t)argc : 1, sizeof(*out->positional));
	if (!out->positional)
		return fail_nomem(out);
	rc = parse_all(out, argc, argv, skip, lenient);
	if (rc || out->help || lenient)
		return rc;
	return validate(out);
}

int cli_args_parse(cli_args *out, const cli_program *prog, int argc, char **argv)
{
	return parse(out, prog, argc, argv, 0);
}

int cli_args_parse_partial(cli_args *out, const cli_program *prog, int argc, char **argv)
{
	return parse(out, prog, argc, argv, 1);
}

void cli_args_dispose(cli_args *args)
{
	if (!args)
		return;
	for (size_t i = 0; i < args->slot_count && args->slots; i++)
		kube_free(args->slots[i].values);
	kube_free(args->slots);
	kube_free(args->positional);
	kube_free(args->as_groups);
	for (size_t i = 0; i < args->owned_count; i++)
		kube_free(args->owned[i]);
	kube_free(args->owned);
	args->slots = NULL;
	args->positional = NULL;
	args->as_groups = NULL;
	args->owned = NULL;
	args->slot_count = args->owned_count = args->positional_count = 0;
}

static const struct cli_flag_slot *slot_for(const cli_args *args, const char *name, enum cli_flag_type type)
{
	const cli_flag *flags = args->command ? args->command->flags : NULL;
	for (size_t i = 0; flags && flags[i].name; i++) {
		if (strcmp(flags[i].name, name) == 0) {
			assert(flags[i].type == type && "flag read as another type than declared");
			(void)type;
			return i < args->slot_count ? &args->slots[i] : NULL;
		}
	}
	assert(!"flag not declared by the command");
	return NULL;
}

int cli_flag_given(const cli_args *args, const char *name)
{
	const cli_flag *flags = args->command ? args->command->flags : NULL;
	for (size_t i = 0; flags && flags[i].name; i++)
		if (strcmp(flags[i].name, name) == 0)
			return i < args->slot_count && args->slots[i].given;
	assert(!"flag not declared by the command");
	return 0;
}

const char *cli_flag_string(const cli_args *args, const char *name)
{
	const struct cli_flag_slot *slot = slot_for(args, name, CLI_FLAG_STRING);
	return slot && slot->given ? slot->value : NULL;
}

int cli_flag_bool(const cli_args *args, const char *name)
{
	const struct cli_flag_slot *slot = slot_for(args, name, CLI_FLAG_BOOL);
	return slot && slot->given ? slot->boolean : 0;
}

size_t cli_flag_strings(const cli_args *args, const char *name, const char *const **out_values)
{
	const struct cli_flag_slot *slot = slot_for(args, name, CLI_FLAG_STRINGS);
	*out_values = slot ? slot->values : NULL;
	return slot ? slot->count : 0;
}

long cli_flag_long(const cli_args *args, const char *name, long fallback)
{
	const struct cli_flag_slot *slot = slot_for(args, name, CLI_FLAG_INT);
	return slot && slot->given ? slot->number : fallback;
}

long cli_flag_duration_ms(const cli_args *args, const char *name, long fallback_ms)
{
	const struct cli_flag_slot *slot = slot_for(args, name, CLI_FLAG_DURATION);
	return slot && slot->given ? slot->number : fallback_ms;
}
