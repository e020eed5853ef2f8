/* The completion engine: reads the words typed so far against the program's
 * command and flag tables and prints cobra's __complete answer. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kube/alloc.h>
#include <kube/buf.h>
#include <kube/config.h>
#include <kube/error.h>
#include <kube/yaml.h>

#include "cli/complete.h"
#include "cli/exit.h"
#include "cli/helm_env.h"
#include "cli/internal.h"
#include "cli/output.h"

/* A kubeconfig file larger than this is not read for completion. */
#define KUBECONFIG_MAX_BYTES (4L * 1024 * 1024)

struct cli_completion {
	char **values; /* as printed: prefix + value */
	char **descriptions;
	size_t count, cap;
	unsigned directive;
	const char *word;   /* what is typed, matched against prefix + value */
	const char *prefix; /* set by a hook: part of the candidate */
	int nomem;
	kube_config *config;
	kube_client *client;
	int client_failed;
};

void cli_complete_directive(cli_completion *c, unsigned bits)
{
	c->directive |= bits;
}

void cli_complete_file_names(cli_completion *c, int dirs_only)
{
	c->directive &= ~CLI_COMPLETE_NO_FILE;
	if (dirs_only)
		c->directive |= CLI_COMPLETE_FILTER_DIRS;
}

void cli_complete_prefix(cli_completion *c, const char *prefix)
{
	c->prefix = prefix;
}

/* A description on one line: tabs and newlines would break the protocol. */
static char *one_line(const char *text)
{
	char *copy = kube_strndup(text, strlen(text));
	for (char *p = copy; p && *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	return copy;
}

void cli_complete_add(cli_completion *c, const char *value, const char *description)
{
	kube_buf full = KUBE_BUF_INIT;
	if (c->nomem || !*value || strpbrk(value, "\t\n\r"))
		return;
	if (kube_buf_printf(&full, "%s%s", c->prefix ? c->prefix : "", value)) {
		c->nomem = 1;
		return;
	}
	if (strncmp(full.ptr, c->word, strlen(c->word)) != 0) {
		kube_buf_dispose(&full);
		return;
	}
	for (size_t i = 0; i < c->count; i++) {
		if (strcmp(c->values[i], full.ptr) == 0) {
			kube_buf_dispose(&full);
			return;
		}
	}
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **values = kube_realloc(c->values, cap * sizeof(*values));
		if (values)
			c->values = values;
		char **descriptions = values ? kube_realloc(c->descriptions, cap * sizeof(*descriptions)) : NULL;
		if (!descriptions) {
			kube_buf_dispose(&full);
			c->nomem = 1;
			return;
		}
		c->descriptions = descriptions;
		c->cap = cap;
	}
	char *desc = description && *description ? one_line(description) : NULL;
	if (description && *description && !desc) {
		kube_buf_dispose(&full);
		c->nomem = 1;
		return;
	}
	c->values[c->count] = kube_buf_detach(&full);
	c->descriptions[c->count] = desc;
	c->count++;
}

void cli_complete_add_list(cli_completion *c, const char *const *values)
{
	for (size_t i = 0; values && values[i]; i++)
		cli_complete_add(c, values[i], NULL);
}

int cli_complete_flag_is(const cli_complete_request *req, const char *name)
{
	return req->flag && strcmp(req->flag->name, name) == 0;
}

/* ----- the cluster ----- */

kube_client *cli_complete_client(cli_completion *c, const cli_complete_request *req)
{
	if (c->client || c->client_failed)
		return c->client;
	kube_config_options opts = req->args->config;
	/* a --request-timeout typed on the line is honoured */
	if (opts.request_timeout_ms <= 0)
		opts.request_timeout_ms = CLI_COMPLETE_TIMEOUT_MS;
	kube_client_options client_opts = KUBE_CLIENT_OPTIONS_INIT;
	client_opts.max_retries = 0;
	if (kube_config_load(&c->config, &opts) != 0 || kube_client_new(&c->client, c->config, &client_opts) != 0) {
		kube_client_free(c->client);
		c->client = NULL;
		c->client_failed = 1;
	}
	return c->client;
}

struct list_walk {
	cli_completion *c;
	cli_complete_item_fn fn;
	void *user;
};

static int list_page(const json_t *items, int first_page, void *user)
{
	struct list_walk *walk = user;
	size_t i;
	const json_t *item;
	(void)first_page;
	json_array_foreach(items, i, item) walk->fn(walk->c, item, walk->user);
	return 1; /* one page is enough for a shell */
}

int cli_complete_list(cli_completion *c, const cli_complete_request *req, const kube_resource *res,
                      const char *label_selector, cli_complete_item_fn fn, void *user)
{
	kube_client *client = cli_complete_client(c, req);
	if (!client)
		return KUBE_ECONFIG;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	opts.label_selector = label_selector;
	opts.metadata_only = 1;
	opts.limit = 500;
	struct list_walk walk = {c, fn, user};
	int rc = kube_client_list_pages(client, res, res->namespaced ? kube_client_namespace(client) : NULL, &opts,
	                                list_page, &walk, NULL);
	return rc == 1 ? 0 : rc;
}

static void add_name(cli_completion *c, const json_t *item, void *user)
{
	(void)user;
	const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
	if (name)
		cli_complete_add(c, name, NULL);
}

int cli_complete_names(cli_completion *c, const cli_complete_request *req, const kube_resource *res,
                       const char *label_selector)
{
	return cli_complete_list(c, req, res, label_selector, add_name, NULL);
}

/* ----- the kubeconfig: --context, --cluster, --user ----- */

static json_t *read_yaml_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	kube_buf data = KUBE_BUF_INIT;
	char chunk[8192];
	size_t n;
	int bad = 0;
	while (!bad && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		bad = kube_buf_put(&data, chunk, n) != 0 || data.len > (size_t)KUBECONFIG_MAX_BYTES;
	(void)fclose(f);
	json_t *doc = NULL;
	if (!bad && kube_yaml_parse_one(&doc, data.ptr ? data.ptr : "", data.len) != 0)
		doc = NULL;
	kube_buf_dispose(&data);
	return doc;
}

/* The names under key ("contexts", "clusters", "users") in one file;
 * contexts are described by their cluster and namespace. */
static void add_kubeconfig_names(cli_completion *c, const char *path, const char *key)
{
	json_t *doc = read_yaml_file(path);
	size_t i;
	const json_t *entry;
	json_array_foreach(json_object_get(doc, key), i, entry)
	{
		const char *name = json_string_value(json_object_get(entry, "name"));
		const json_t *body = json_object_get(entry, "context");
		const char *cluster = json_string_value(json_object_get(body, "cluster"));
		const char *ns = json_string_value(json_object_get(body, "namespace"));
		char description[512] = "";
		if (cluster)
			(void)snprintf(description, sizeof(description), "cluster %s%s%s", cluster,
			               ns ? ", namespace " : "", ns ? ns : "");
		if (name)
			cli_complete_add(c, name, description);
	}
	json_decref(doc);
}

/* The files kubectl would read: --kubeconfig, else $KUBECONFIG's list,
 * else ~/.kube/config. */
static void complete_kubeconfig(cli_completion *c, const cli_args *args, const char *key)
{
	if (args->config.kubeconfig) {
		add_kubeconfig_names(c, args->config.kubeconfig, key);
		return;
	}
	const char *list = getenv("KUBECONFIG");
	if (list && *list) {
		while (*list) {
			size_t len = strcspn(list, ":");
			char *path = len ? kube_strndup(list, len) : NULL;
			if (path)
				add_kubeconfig_names(c, path, key);
			kube_free(path);
			list += len + (list[len] == ':');
		}
		return;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		kube_buf path = KUBE_BUF_INIT;
		if (kube_buf_printf(&path, "%s/.kube/config", home) == 0)
			add_kubeconfig_names(c, path.ptr, key);
		kube_buf_dispose(&path);
	}
}

/* ----- reading the line ----- */

/* What the words before the one being completed say. */
struct line {
	const cli_command *named; /* the command named on the line */
	int help;                 /* "help" was named */
	int dashdash;             /* "--" ended the flags */
	size_t positional;        /* positional words, command name not counted */
	const cli_flag *pending;  /* the last word is a flag waiting for its value */
	int pending_common;       /* its enum cli_common_flag, or -1 */
};

/* Walks the words as cli_args_parse does: flag values are skipped, the
 * first other word may name the command. */
static void read_line(struct line *line, const cli_program *prog, int count, char **words)
{
	int first = 1;
	memset(line, 0, sizeof(*line));
	for (int i = 0; i < count; i++) {
		const char *w = words[i];
		int last = i == count - 1;
		const cli_flag *flag;
		int common_id = -1;
		if (!line->dashdash && strcmp(w, "--") == 0) {
			line->dashdash = 1;
		} else if (!line->dashdash && w[0] == '-' && w[1] == '-') {
			size_t len = strcspn(w + 2, "=");
			flag = cli_flag_lookup(prog, line->named, w + 2, len, 0, &common_id);
			if (flag && cli_flag_takes_value(flag) && !w[2 + len]) {
				if (last) {
					line->pending = flag;
					line->pending_common = common_id;
				}
				i++;
			}
		} else if (!line->dashdash && w[0] == '-' && w[1]) {
			for (const char *c = w + 1; *c; c++) {
				flag = cli_flag_lookup(prog, line->named, NULL, 0, *c, &common_id);
				if (!flag)
					break;
				if (cli_flag_takes_value(flag) || c[1] == '=') {
					if (!c[1] && cli_flag_takes_value(flag)) {
						if (last) {
							line->pending = flag;
							line->pending_common = common_id;
						}
						i++;
					}
					break;
				}
			}
		} else if (first && !line->dashdash && strcmp(w, "help") == 0) {
			first = 0;
			line->help = 1;
		} else if (first && !line->dashdash && (line->named = cli_command_find(prog, w)) != NULL) {
			first = 0;
		} else {
			first = 0;
			line->positional++;
		}
	}
}

/* The command whose flags and arguments apply. */
static const cli_command *effective_command(const cli_program *prog, const struct line *line)
{
	if (line->named)
		return line->named;
	return line->help ? NULL : prog->default_command;
}

static void add_flag(cli_completion *c, const cli_flag *flag, const char *help, int shorthand)
{
	char name[128];
	if (shorthand && flag->shorthand) {
		(void)snprintf(name, sizeof(name), "-%c", flag->shorthand);
		cli_complete_add(c, name, help);
	}
	(void)snprintf(name, sizeof(name), "--%s", flag->name);
	cli_complete_add(c, name, help);
}

/* The flags help lists for cmd (or the program's root), then the global ones. */
static void complete_flag_names(cli_completion *c, const cli_program *prog, const cli_command *cmd, int shorthand)
{
	char help[256];
	const cli_flag *flag = cli_common_flag_get(CLI_F_HELP);
	(void)snprintf(help, sizeof(help), "%s%s", flag->help, cmd ? cmd->name : prog->name);
	add_flag(c, flag, help, shorthand);
	if (cmd && (cmd->features & CLI_CMD_ALL_NAMESPACES))
		add_flag(c, cli_common_flag_get(CLI_F_ALL_NAMESPACES), cli_common_flag_get(CLI_F_ALL_NAMESPACES)->help,
		         shorthand);
	if (cmd && cmd->outputs) {
		char formats[128];
		flag = cli_common_flag_get(CLI_F_OUTPUT);
		cli_output_formats_describe(formats, sizeof(formats), cmd->outputs);
		(void)snprintf(help, sizeof(help), "%s%s", flag->help, formats);
		add_flag(c, flag, help, shorthand);
		if (cmd->outputs & CLI_OUTPUT_BIT(CLI_OUTPUT_JSON))
			add_flag(c, cli_common_flag_get(CLI_F_JSON), cli_common_flag_get(CLI_F_JSON)->help, shorthand);
		add_flag(c, cli_common_flag_get(CLI_F_OUTPUT_FILE), cli_common_flag_get(CLI_F_OUTPUT_FILE)->help,
		         shorthand);
	}
	if (!cmd)
		add_flag(c, cli_common_flag_get(CLI_F_VERSION), cli_common_flag_get(CLI_F_VERSION)->help, shorthand);
	for (size_t i = 0; cmd && cmd->flags && cmd->flags[i].name; i++)
		add_flag(c, &cmd->flags[i], cmd->flags[i].help, shorthand);
	for (int id = 0; id <= CLI_F_V; id++) {
		flag = cli_common_flag_get((enum cli_common_flag)id);
		add_flag(c, flag, flag->help, shorthand);
	}
}

static void complete_output_formats(cli_completion *c, const cli_command *cmd)
{
	for (int f = CLI_OUTPUT_TABLE; f <= CLI_OUTPUT_JUNIT; f++)
		if (cmd && (cmd->outputs & CLI_OUTPUT_BIT(f)))
			cli_complete_add(c, cli_output_format_name((enum cli_output_format)f), NULL);
}

static void complete_flag_value(cli_completion *c, cli_complete_request *req, const cli_flag *flag, int common_id)
{
	static const kube_resource namespaces = {"", "v1", "namespaces", "Namespace", 0};
	req->flag = flag;
	switch (common_id) {
	case -1:
		if (flag->value_name && strcmp(flag->value_name, "FILE") == 0)
			cli_complete_file_names(c, 0);
		else if (flag->value_name && strcmp(flag->value_name, "DIR") == 0)
			cli_complete_file_names(c, 1);
		if (req->command && req->command->complete)
			req->command->complete(c, req);
		return;
	case CLI_F_OUTPUT:
		complete_output_formats(c, req->command);
		return;
	case CLI_F_NAMESPACE:
		(void)cli_complete_names(c, req, &namespaces, NULL);
		return;
	case CLI_F_CONTEXT:
		complete_kubeconfig(c, req->args, "contexts");
		return;
	case CLI_F_CLUSTER:
		complete_kubeconfig(c, req->args, "clusters");
		return;
	case CLI_F_USER:
		complete_kubeconfig(c, req->args, "users");
		return;
	case CLI_F_KUBECONFIG:
	case CLI_F_CERTIFICATE_AUTHORITY:
	case CLI_F_CLIENT_CERTIFICATE:
	case CLI_F_CLIENT_KEY:
	case CLI_F_OUTPUT_FILE:
		cli_complete_file_names(c, 0);
		return;
	default:
		return;
	}
}

static void complete_commands(cli_completion *c, const cli_program *prog)
{
	for (size_t i = 0; prog->commands && prog->commands[i]; i++)
		cli_complete_add(c, prog->commands[i]->name, prog->commands[i]->summary);
	cli_complete_add(c, "help", "Help about any command");
}

static void complete_positional(cli_completion *c, cli_complete_request *req, const cli_program *prog,
                                const struct line *line)
{
	if (line->help) {
		if (line->positional == 0 && !line->named)
			complete_commands(c, prog);
		return;
	}
	if (!line->named && line->positional == 0 && !line->dashdash)
		complete_commands(c, prog);
	const cli_command *cmd = req->command;
	if (!cmd || !cmd->complete || (cmd->max_args >= 0 && line->positional >= (size_t)cmd->max_args))
		return;
	req->position = line->positional;
	cmd->complete(c, req);
}

static void print_candidates(FILE *out, const cli_completion *c, int descriptions)
{
	for (size_t i = 0; i < c->count; i++) {
		if (descriptions && c->descriptions[i])
			(void)fprintf(out, "%s\t%s\n", c->values[i], c->descriptions[i]);
		else
			(void)fprintf(out, "%s\n", c->values[i]);
	}
	(void)fprintf(out, ":%u\n", c->directive);
}

static void completion_dispose(cli_completion *c)
{
	for (size_t i = 0; i < c->count; i++) {
		kube_free(c->values[i]);
		kube_free(c->descriptions[i]);
	}
	kube_free(c->values);
	kube_free(c->descriptions);
	kube_client_free(c->client);
	kube_config_free(c->config);
}

int cli_complete_run(FILE *out, const cli_program *prog, int word_count, char **words, int descriptions)
{
	static char empty[] = "";
	cli_completion c;
	cli_args args;
	struct line line;
	memset(&c, 0, sizeof(c));
	c.directive = CLI_COMPLETE_NO_FILE;
	const char *cur = word_count > 0 ? words[word_count - 1] : empty;
	int before = word_count > 0 ? word_count - 1 : 0;

	/* cli_args_parse reads argv from index 1 */
	char **argv = kube_calloc((size_t)before + 2, sizeof(*argv));
	if (!argv) {
		(void)fputs(":1\n", out);
		return -1;
	}
	argv[0] = (char *)prog->binary;
	for (int i = 0; i < before; i++)
		argv[i + 1] = words[i];
	int rc = cli_args_parse_partial(&args, prog, before + 1, argv);
	if (rc == 0 && prog->helm_env)
		rc = cli_helm_env_apply(&args);
	read_line(&line, prog, before, words);

	cli_complete_request req = {&args, effective_command(prog, &line), NULL, 0, cur};
	c.word = cur;
	if (rc) {
		c.nomem = 1;
	} else if (line.pending) {
		complete_flag_value(&c, &req, line.pending, line.pending_common);
	} else if (!line.dashdash && cur[0] == '-' && cur[1] == '-' && strchr(cur, '=')) {
		/* --flag=VALUE: the bare values, as cobra answers; the shell
		 * scripts put the "--flag=" back */
		size_t len = strcspn(cur + 2, "=");
		int common_id = -1;
		const cli_flag *flag = cli_flag_lookup(prog, req.command, cur + 2, len, 0, &common_id);
		if (flag && flag->type != CLI_FLAG_BOOL) {
			c.word = req.word = cur + len + 3;
			complete_flag_value(&c, &req, flag, common_id);
		}
	} else if (!line.dashdash && cur[0] == '-') {
		complete_flag_names(&c, prog, req.command, cur[1] != '-');
	} else {
		complete_positional(&c, &req, prog, &line);
	}

	if (c.nomem) {
		(void)fputs(":1\n", out);
		rc = -1;
	} else {
		print_candidates(out, &c, descriptions);
	}
	completion_dispose(&c);
	cli_args_dispose(&args);
	kube_free(argv);
	return rc ? -1 : 0;
}

/* ----- entry points ----- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

#define KUBECTL_COMPLETE_PREFIX "kubectl_complete-"

int cli_complete_requested(int argc, char **argv)
{
	if (argc >= 1 && argv[0] &&
	    strncmp(base_name(argv[0]), KUBECTL_COMPLETE_PREFIX, strlen(KUBECTL_COMPLETE_PREFIX)) == 0)
		return 1;
	return argc >= 2 && (strcmp(argv[1], "__complete") == 0 || strcmp(argv[1], "__completeNoDesc") == 0);
}

int cli_complete_main(const cli_program *prog, int argc, char **argv)
{
	int null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0) {
		(void)dup2(null_fd, STDIN_FILENO);
		(void)dup2(null_fd, STDERR_FILENO);
		if (null_fd > STDERR_FILENO)
			(void)close(null_fd);
	}
	int skip = 2, descriptions = 1;
	if (argc >= 1 && strncmp(base_name(argv[0]), KUBECTL_COMPLETE_PREFIX, strlen(KUBECTL_COMPLETE_PREFIX)) == 0)
		skip = 1;
	else
		descriptions = strcmp(argv[1], "__completeNoDesc") != 0;
	(void)cli_complete_run(stdout, prog, argc > skip ? argc - skip : 0, argv + (argc > skip ? skip : argc),
	                       descriptions);
	(void)fflush(stdout);
	return 0;
}
