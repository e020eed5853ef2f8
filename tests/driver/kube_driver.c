/* kube-driver: a small test-only program that exercises libkube against a
 * real API server from the e2e suite (whoami, resolve, list, get, apply,
 * delete, watch, raw, exec, port-forward, leases, events). Never installed.
 * It uses the same CLI core as the plugins, so connection flags, -v and exit
 * codes behave as theirs do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kube/client.h>
#include <kube/config.h>
#include <kube/discovery.h>
#include <kube/error.h>
#include <kube/event.h>
#include <kube/lease.h>
#include <kube/stream.h>
#include <kube/watch.h>
#include <kube/whoami.h>
#include <kube/yaml.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/output.h"
#include "driver.h"

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints the library's code beside the CLI's error so tests can assert it. */
int report(int rc)
{
	if (rc < 0) {
		const kube_error *err = kube_error_last();
		fprintf(stderr, "kube-driver: code=%s http=%ld reason=%s\n", kube_error_name(rc), err->http_status,
		        err->reason);
	}
	return rc;
}

int driver_connect(const cli_args *args, kube_config **config, kube_client **client)
{
	*client = NULL;
	int rc = kube_config_load(config, &args->config);
	if (!rc)
		rc = kube_client_new(client, *config, NULL);
	return report(rc);
}

void disconnect(kube_config *config, kube_client *client)
{
	kube_client_free(client);
	kube_config_free(config);
}

const char *namespace_of(const cli_args *args, kube_client *client)
{
	return args->all_namespaces ? NULL : kube_client_namespace(client);
}

static int run_whoami(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	json_t *review = NULL;
	json_t *body = json_pack("{s:s, s:s}", "apiVersion", "authentication.k8s.io/v1", "kind", "SelfSubjectReview");
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_client_request_json(client, &review, "POST",
		                                     "/apis/authentication.k8s.io/v1/selfsubjectreviews", NULL, body));
	if (!rc)
		printf("%s\n", json_string_value(json_object_get(
		                       json_object_get(json_object_get(review, "status"), "userInfo"), "username")));
	json_decref(review);
	json_decref(body);
	disconnect(config, client);
	return rc;
}

static int run_resolve(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	int rc = driver_connect(args, &config, &client);
	for (size_t i = 0; !rc && i < args->positional_count; i++) {
		kube_resource res;
		rc = report(kube_discovery_resolve(client, &res, args->positional[i]));
		if (!rc)
			printf("%s %s/%s/%s %s %s\n", args->positional[i], res.group[0] ? res.group : "core",
			       res.version, res.resource, res.kind, res.namespaced ? "namespaced" : "cluster");
	}
	disconnect(config, client);
	return rc;
}

struct page_count {
	long pages;
	long items;
	long listings; /* 2 after the list started over */
};

static int print_page(const json_t *items, int first_page, void *user)
{
	struct page_count *count = user;
	size_t i;
	json_t *item;
	if (first_page) {
		if (count->listings++)
			printf("--- list started over\n");
		count->pages = count->items = 0;
	}
	count->pages++;
	json_array_foreach(items, i, item)
	{
		json_t *meta = json_object_get(item, "metadata");
		const char *ns = json_string_value(json_object_get(meta, "namespace"));
		printf("%s%s%s\n", ns ? ns : "", ns ? "/" : "", json_string_value(json_object_get(meta, "name")));
		count->items++;
	}
	fflush(stdout);
	return 0;
}

static int run_list(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	kube_list_options opts = KUBE_LIST_OPTIONS_INIT;
	struct page_count count = {0, 0, 0};
	opts.limit = cli_flag_long(args, "limit", 0);
	opts.label_selector = cli_flag_string(args, "selector");
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(kube_client_list_pages(client, &res, namespace_of(args, client), &opts, print_page, &count,
		                                   NULL));
	if (!rc)
		fprintf(stderr, "kube-driver: %ld items in %ld pages\n", count.items, count.pages);
	disconnect(config, client);
	return rc;
}

static int run_get(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	json_t *object = NULL;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(
		        kube_client_get(client, &object, &res, namespace_of(args, client), args->positional[1], NULL));
	if (!rc)
		rc = cli_output_document(stdout, args->output == CLI_OUTPUT_YAML ? CLI_OUTPUT_YAML : CLI_OUTPUT_JSON,
		                         object);
	json_decref(object);
	disconnect(config, client);
	return rc;
}

static int read_file(kube_buf *out, const char *path);

struct apply_state {
	kube_client *client;
	const cli_args *args;
};

static int apply_one(const json_t *doc, int line, void *user)
{
	struct apply_state *state = user;
	kube_resource res;
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	json_t *result = NULL;
	const char *api_version = json_string_value(json_object_get(doc, "apiVersion"));
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	json_t *meta = json_object_get(doc, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (!api_version || !kind || !name) {
		cli_error("document at line %d: apiVersion, kind and metadata.name are required", line);
		return CLI_EXIT_USAGE;
	}
	opts.force = cli_flag_bool(state->args, "force-conflicts");
	opts.dry_run = cli_flag_given(state->args, "dry-run");
	int rc = report(kube_discovery_resolve_kind(state->client, &res, api_version, kind));
	if (!rc)
		rc = report(kube_client_patch(state->client, &result, &res,
		                              ns ? ns : kube_client_namespace(state->client), name, KUBE_PATCH_APPLY,
		                              doc, &opts));
	if (!rc) {
		const char *rv =
		        json_string_value(json_object_get(json_object_get(result, "metadata"), "resourceVersion"));
		printf("%s/%s applied (resourceVersion %s)\n", res.resource, name, rv ? rv : "");
	}
	json_decref(result);
	return rc;
}

static int run_apply(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	const char *path = cli_flag_string(args, "filename");
	kube_buf data = KUBE_BUF_INIT;
	int rc = read_file(&data, path);
	if (!rc)
		rc = driver_connect(args, &config, &client);
	if (!rc) {
		struct apply_state state = {client, args};
		rc = kube_yaml_parse_stream(kube_buf_cstr(&data), data.len, apply_one, &state);
		if (rc == KUBE_EINVALID && kube_error_last()->http_status == 0) {
			cli_error("%s: %s", path, kube_error_last()->message);
			rc = CLI_EXIT_USAGE;
		}
	}
	kube_buf_dispose(&data);
	disconnect(config, client);
	return rc;
}

static int run_delete(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	kube_delete_options opts = KUBE_DELETE_OPTIONS_INIT;
	opts.propagation_policy = "Background";
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(
		        kube_client_delete(client, NULL, &res, namespace_of(args, client), args->positional[1], &opts));
	if (!rc)
		printf("%s/%s deleted\n", res.resource, args->positional[1]);
	disconnect(config, client);
	return rc;
}

static const char *event_name(int type)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELIST"};
	return names[type];
}

static int run_watch(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_watch *watch = NULL;
	kube_resource res;
	kube_watch_options opts = KUBE_WATCH_OPTIONS_INIT;
	const char *until = cli_flag_string(args, "until");
	opts.timeout_ms = cli_flag_duration_ms(args, "timeout", 30000);
	opts.label_selector = cli_flag_string(args, "selector");
	opts.resource_version = cli_flag_string(args, "resource-version");
	opts.initial_events = cli_flag_bool(args, "initial-events");
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(kube_watch_open(&watch, client, &res, namespace_of(args, client), &opts));
	while (!rc) {
		kube_watch_event event;
		rc = report(kube_watch_next(watch, &event, -1));
		if (rc)
			break;
		const char *name =
		        json_string_value(json_object_get(json_object_get(event.object, "metadata"), "name"));
		if (event.type == KUBE_WATCH_RELIST)
			printf("RELIST %zu items\n", json_array_size(json_object_get(event.object, "items")));
		else
			printf("%s %s\n", event_name(event.type), name ? name : "");
		fflush(stdout);
		int done = until && name && strcmp(name, until) == 0;
		if (until && event.type == KUBE_WATCH_RELIST) {
			/* a relist that already holds the awaited object ends the wait */
			size_t i;
			json_t *item;
			json_array_foreach(json_object_get(event.object, "items"), i, item)
			{
				const char *item_name =
				        json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
				done |= item_name && strcmp(item_name, until) == 0;
			}
		}
		kube_watch_event_dispose(&event);
		if (done)
			break;
	}
	fprintf(stderr, "kube-driver: %lu requests\n", client ? kube_client_request_count(client) : 0UL);
	kube_watch_free(watch);
	disconnect(config, client);
	return rc;
}

/* whoami-cached: kube_whoami (the SelfSubjectReview cached on disk), and
 * how many requests it took. */
static int run_whoami_cached(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_identity me;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_whoami(client, &me));
	if (!rc)
		printf("%s\n", me.username);
	if (client)
		fprintf(stderr, "kube-driver: uid=%s %lu requests\n", rc ? "" : me.uid,
		        kube_client_request_count(client));
	disconnect(config, client);
	return rc;
}

/* Prints who holds a Lease that could not be taken, for the e2e suite. */
static void print_holder(const kube_lease_holder *held)
{
	fprintf(stderr, "kube-driver: held by %s for %ds, expires in %lld ms (resourceVersion %s)\n",
	        held->holder[0] ? held->holder : "(nobody)", held->duration_s, held->expires_in_ms,
	        held->resource_version);
}

/* NS NAME HOLDER [DURATION]: one kube_lease_acquire; --hold keeps it
 * (kube_lease_keep) for a while, then releases it; --owner names the
 * object it serves. */
static int lease_take(const cli_args *args, kube_client *client, kube_lease **lease, const char *owner_ref)
{
	kube_lease_options opts = KUBE_LEASE_OPTIONS_INIT;
	kube_lease_holder held;
	json_t *owner = NULL;
	json_t *labels = json_pack("{s:s}", "app.kubernetes.io/managed-by", "rollguard");
	int rc = labels ? 0 : KUBE_ENOMEM;
	opts.holder = args->positional[2];
	opts.labels = labels;
	if (args->positional_count > 3) {
		char *end;
		long duration = strtol(args->positional[3], &end, 10);
		if (*end || end == args->positional[3] || duration < 1 || duration > 3600)
			rc = cli_usage_error(args, "DURATION must be a number of seconds from 1 to 3600");
		opts.duration_s = (int)duration;
	}
	if (!rc && owner_ref) {
		/* RESOURCE/NAME in the Lease's namespace */
		const char *slash = strchr(owner_ref, '/');
		char type[128];
		kube_resource res;
		if (!slash || slash == owner_ref || (size_t)(slash - owner_ref) >= sizeof(type))
			rc = cli_usage_error(args, "--owner must be RESOURCE/NAME");
		if (!rc) {
			(void)snprintf(type, sizeof(type), "%.*s", (int)(slash - owner_ref), owner_ref);
			rc = report(kube_discovery_resolve(client, &res, type));
		}
		if (!rc)
			rc = report(kube_client_get(client, &owner, &res, args->positional[0], slash + 1, NULL));
		opts.owner = owner;
	}
	if (!rc) {
		rc = report(kube_lease_acquire(lease, client, args->positional[0], args->positional[1], &opts, &held));
		if (rc == KUBE_ECONFLICT)
			print_holder(&held);
	}
	json_decref(owner);
	json_decref(labels);
	return rc;
}

static int run_lease_acquire(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_lease *lease = NULL;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = lease_take(args, client, &lease, cli_flag_string(args, "owner"));
	if (!rc) {
		printf("lease %s/%s acquired by %s\n", args->positional[0], args->positional[1],
		       kube_lease_holder_identity(lease));
		fflush(stdout);
	}
	long hold_ms = cli_flag_duration_ms(args, "hold", 0);
	for (long long until = now_ms() + hold_ms; !rc && hold_ms > 0 && now_ms() < until;) {
		struct timespec pause = {0, 200 * 1000 * 1000L};
		nanosleep(&pause, NULL);
		rc = report(kube_lease_keep(client, lease));
	}
	if (!rc && hold_ms > 0) {
		rc = report(kube_lease_release(client, lease));
		if (!rc)
			printf("lease %s/%s released\n", args->positional[0], args->positional[1]);
	}
	if (client)
		fprintf(stderr, "kube-driver: %lu requests\n", kube_client_request_count(client));
	kube_lease_free(lease);
	disconnect(config, client);
	return rc;
}

/* NS NAME HOLDER: releases a Lease HOLDER holds (taking it again first, as
 * a process that still held it would have its handle). */
static int run_lease_release(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_lease *lease = NULL;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = lease_take(args, client, &lease, NULL);
	if (!rc)
		rc = report(kube_lease_release(client, lease));
	if (!rc)
		printf("lease %s/%s released\n", args->positional[0], args->positional[1]);
	kube_lease_free(lease);
	disconnect(config, client);
	return rc;
}

static int run_lease_holder(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_lease_holder held;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_lease_get_holder(&held, client, args->positional[0], args->positional[1]));
	if (!rc)
		printf("%s %d %lld\n", held.holder[0] ? held.holder : "-", held.duration_s, held.expires_in_ms);
	disconnect(config, client);
	return rc;
}

/* RESOURCE NAME --reason R --message M: an Event about the object. */
static int run_event(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	kube_event_options opts = KUBE_EVENT_OPTIONS_INIT;
	json_t *object = NULL;
	opts.reason = cli_flag_string(args, "reason");
	opts.message = cli_flag_string(args, "message");
	opts.type = cli_flag_string(args, "type");
	opts.action = cli_flag_string(args, "action");
	opts.component = "kube-driver";
	opts.dry_run = cli_flag_given(args, "dry-run");
	if (!opts.reason || !opts.message)
		return cli_usage_error(args, "--reason and --message are required");
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(
		        kube_client_get(client, &object, &res, namespace_of(args, client), args->positional[1], NULL));
	if (!rc)
		rc = report(kube_event_record(client, object, &opts));
	if (!rc)
		printf("event %s recorded on %s/%s%s\n", opts.reason, res.resource, args->positional[1],
		       opts.dry_run ? " (dry run)" : "");
	json_decref(object);
	disconnect(config, client);
	return rc;
}

static int run_raw(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_response resp = {0, KUBE_BUF_INIT, NULL, -1};
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(
		        kube_client_request(client, &resp, args->positional[0], args->positional[1], NULL, NULL, 0));
	if (!rc)
		printf("%s\n", kube_buf_cstr(&resp.body));
	fprintf(stderr, "kube-driver: %lu requests\n", client ? kube_client_request_count(client) : 0UL);
	kube_response_dispose(&resp);
	disconnect(config, client);
	return rc;
}

static int read_file(kube_buf *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_error("open %s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	char chunk[8192];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = kube_buf_put(out, chunk, n);
	fclose(f);
	return rc;
}

static int print_object_summary(const json_t *object)
{
	json_t *meta = json_object_get(object, "metadata");
	printf("%s resourceVersion=%s\n", json_string_value(json_object_get(meta, "name")),
	       json_string_value(json_object_get(meta, "resourceVersion")));
	return 0;
}

static int run_patch(const cli_args *args)
{
	static const struct {
		const char *name;
		enum kube_patch_type type;
	} types[] = {{"json", KUBE_PATCH_JSON}, {"merge", KUBE_PATCH_MERGE}, {"strategic", KUBE_PATCH_STRATEGIC}};
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	json_t *result = NULL;
	const char *type_name = cli_flag_string(args, "type");
	int type = -1;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (type_name && strcmp(type_name, types[i].name) == 0)
			type = (int)types[i].type;
	if (type < 0)
		return cli_usage_error(args, "--type must be json, merge or strategic");
	json_error_t err;
	json_t *patch = json_loads(cli_flag_string(args, "patch"), 0, &err);
	if (!patch)
		return cli_usage_error(args, "--patch is not JSON: %s", err.text);
	opts.subresource = cli_flag_string(args, "subresource");
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(kube_client_patch(client, &result, &res, namespace_of(args, client), args->positional[1],
		                              (enum kube_patch_type)type, patch, &opts));
	if (!rc)
		print_object_summary(result);
	json_decref(result);
	json_decref(patch);
	disconnect(config, client);
	return rc;
}

/* PUT the object read from -f (JSON or YAML) as it is: its
 * metadata.resourceVersion makes the update conditional. */
static int run_update(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_resource res;
	kube_write_options opts = KUBE_WRITE_OPTIONS_INIT;
	kube_buf data = KUBE_BUF_INIT;
	json_t *object = NULL, *result = NULL;
	int rc = read_file(&data, cli_flag_string(args, "filename"));
	if (!rc && kube_yaml_parse_one(&object, kube_buf_cstr(&data), data.len) != 0) {
		cli_error("%s: %s", cli_flag_string(args, "filename"), kube_error_last()->message);
		rc = CLI_EXIT_USAGE;
	}
	opts.subresource = cli_flag_string(args, "subresource");
	if (!rc)
		rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_discovery_resolve(client, &res, args->positional[0]));
	if (!rc)
		rc = report(kube_client_update(client, &result, &res, namespace_of(args, client), object, &opts));
	if (!rc)
		print_object_summary(result);
	json_decref(object);
	json_decref(result);
	kube_buf_dispose(&data);
	disconnect(config, client);
	return rc;
}

static int run_logs(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	kube_log_options opts = KUBE_LOG_OPTIONS_INIT;
	kube_buf text = KUBE_BUF_INIT;
	opts.container = cli_flag_string(args, "container");
	opts.tail_lines = cli_flag_long(args, "tail", -1);
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(
		        kube_client_pod_log(client, &text, kube_client_namespace(client), args->positional[0], &opts));
	if (!rc)
		fputs(kube_buf_cstr(&text), stdout);
	kube_buf_dispose(&text);
	disconnect(config, client);
	return rc;
}

static int run_evict(const cli_args *args)
{
	kube_config *config = NULL;
	kube_client *client = NULL;
	int rc = driver_connect(args, &config, &client);
	if (!rc)
		rc = report(kube_client_evict(client, kube_client_namespace(client), args->positional[0],
		                              cli_flag_given(args, "dry-run")));
	if (!rc)
		printf("pod/%s evicted\n", args->positional[0]);
	disconnect(config, client);
	return rc;
}

/* exec POD -- CMD...: the command's stdout and stderr, its exit status as
 * ours, and what the library saw on stderr. */
static const cli_flag list_flags[] = {
        {"limit", 0, CLI_FLAG_INT, "N", "page size", NULL},
        {"selector", 'l', CLI_FLAG_STRING, "SELECTOR", "label selector", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag apply_flags[] = {
        {"filename", 'f', CLI_FLAG_STRING, "FILE", "manifest to apply server-side", NULL},
        {"force-conflicts", 0, CLI_FLAG_BOOL, NULL, "take ownership of conflicting fields", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE", "server: dryRun=All", "server"},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag watch_flags[] = {
        {"timeout", 0, CLI_FLAG_DURATION, "DUR", "deadline of the whole watch", NULL},
        {"until", 0, CLI_FLAG_STRING, "NAME", "stop after an event on this object", NULL},
        {"selector", 'l', CLI_FLAG_STRING, "SELECTOR", "label selector", NULL},
        {"resource-version", 0, CLI_FLAG_STRING, "RV", "start after this version", NULL},
        {"initial-events", 0, CLI_FLAG_BOOL, NULL, "relist through the watch (sendInitialEvents)", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag lease_flags[] = {
        {"hold", 0, CLI_FLAG_DURATION, "DUR", "keep the Lease this long, then release it", NULL},
        {"owner", 0, CLI_FLAG_STRING, "RESOURCE/NAME", "the object the Lease serves", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag event_flags[] = {
        {"reason", 0, CLI_FLAG_STRING, "REASON", "the Event's reason", NULL},
        {"message", 0, CLI_FLAG_STRING, "TEXT", "the Event's message", NULL},
        {"type", 0, CLI_FLAG_STRING, "TYPE", "Normal or Warning", NULL},
        {"action", 0, CLI_FLAG_STRING, "ACTION", "the Event's action", NULL},
        {"dry-run", 0, CLI_FLAG_STRING, "MODE", "server: dryRun=All", "server"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_command cmd_whoami = {"whoami",   "whoami", "who the server says we are", NULL, NULL, NULL, 0, 0, 0, 0,
                                       run_whoami, NULL};
static const cli_command cmd_resolve = {"resolve",
                                        "resolve NAME...",
                                        "resolve resource names through discovery",
                                        NULL,
                                        NULL,
                                        NULL,
                                        0,
                                        0,
                                        1,
                                        -1,
                                        run_resolve,
                                        NULL};
static const cli_command cmd_list = {
        "list", "list RESOURCE", "list (paginated)", NULL, NULL, list_flags, 0, CLI_CMD_ALL_NAMESPACES, 1, 1, run_list,
        NULL};
static const cli_command cmd_get = {
        "get", "get RESOURCE NAME", "get one object", NULL, NULL, NULL, CLI_OUTPUTS_STANDARD, 0, 2, 2, run_get, NULL};
static const cli_command cmd_apply = {
        "apply", "apply -f FILE", "server-side apply", NULL, NULL, apply_flags, 0, 0, 0, 0, run_apply, NULL};
static const cli_command cmd_delete = {
        "delete", "delete RESOURCE NAME", "delete one object", NULL, NULL, NULL, 0, 0, 2, 2, run_delete, NULL};
static const cli_command cmd_watch = {"watch",
                                      "watch RESOURCE",
                                      "print watch events",
                                      NULL,
                                      NULL,
                                      watch_flags,
                                      0,
                                      CLI_CMD_ALL_NAMESPACES,
                                      1,
                                      1,
                                      run_watch,
                                      NULL};
static const cli_command cmd_raw = {"raw", "raw VERB PATH", "one raw request", NULL, NULL, NULL, 0, 0, 2, 2, run_raw,
                                    NULL};
static const cli_command cmd_whoami_cached = {"whoami-cached",
                                              "whoami-cached",
                                              "kube_whoami (cached SelfSubjectReview)",
                                              NULL,
                                              NULL,
                                              NULL,
                                              0,
                                              0,
                                              0,
                                              0,
                                              run_whoami_cached,
                                              NULL};
static const cli_command cmd_lease_acquire = {"lease-acquire",
                                              "lease-acquire NS NAME HOLDER [DURATION] [--hold DUR] [--owner R/N]",
                                              "take a Lease",
                                              NULL,
                                              NULL,
                                              lease_flags,
                                              0,
                                              0,
                                              3,
                                              4,
                                              run_lease_acquire,
                                              NULL};
static const cli_command cmd_lease_release = {"lease-release",
                                              "lease-release NS NAME HOLDER",
                                              "release a Lease HOLDER holds",
                                              NULL,
                                              NULL,
                                              NULL,
                                              0,
                                              0,
                                              3,
                                              3,
                                              run_lease_release,
                                              NULL};
static const cli_command cmd_lease_holder = {"lease-holder",
                                             "lease-holder NS NAME",
                                             "who holds a Lease",
                                             NULL,
                                             NULL,
                                             NULL,
                                             0,
                                             0,
                                             2,
                                             2,
                                             run_lease_holder,
                                             NULL};
static const cli_command cmd_event = {"event",
                                      "event RESOURCE NAME --reason R --message M",
                                      "record an Event about an object",
                                      NULL,
                                      NULL,
                                      event_flags,
                                      0,
                                      0,
                                      2,
                                      2,
                                      run_event,
                                      NULL};

static const cli_flag patch_flags[] = {
        {"type", 0, CLI_FLAG_STRING, "TYPE", "json, merge or strategic", NULL},
        {"patch", 'p', CLI_FLAG_STRING, "JSON", "the patch", NULL},
        {"subresource", 0, CLI_FLAG_STRING, "NAME", "status, scale, ...", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag update_flags[] = {
        {"filename", 'f', CLI_FLAG_STRING, "FILE", "object to PUT", NULL},
        {"subresource", 0, CLI_FLAG_STRING, "NAME", "status, scale, ...", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag logs_flags[] = {
        {"container", 'c', CLI_FLAG_STRING, "NAME", "container", NULL},
        {"tail", 0, CLI_FLAG_INT, "N", "last N lines", NULL},
        {NULL, 0, 0, NULL, NULL, NULL},
};
static const cli_flag evict_flags[] = {
        {"dry-run", 0, CLI_FLAG_STRING, "MODE", "server: dryRun=All", "server"},
        {NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_command cmd_patch = {"patch",
                                      "patch RESOURCE NAME --type T -p JSON",
                                      "patch one object",
                                      NULL,
                                      NULL,
                                      patch_flags,
                                      0,
                                      0,
                                      2,
                                      2,
                                      run_patch,
                                      NULL};
static const cli_command cmd_update = {
        "update", "update RESOURCE -f FILE", "PUT one object", NULL, NULL, update_flags, 0, 0, 1, 1, run_update, NULL};
static const cli_command cmd_logs = {"logs", "logs POD", "a pod's log", NULL, NULL, logs_flags, 0, 0,
                                     1,      1,          run_logs,      NULL};
static const cli_command cmd_evict = {"evict", "evict POD", "evict a pod", NULL, NULL, evict_flags, 0, 0,
                                      1,       1,           run_evict,     NULL};

static const cli_command *const commands[] = {&cmd_whoami,
                                              &cmd_resolve,
                                              &cmd_list,
                                              &cmd_get,
                                              &cmd_apply,
                                              &cmd_delete,
                                              &cmd_watch,
                                              &cmd_raw,
                                              &cmd_patch,
                                              &cmd_update,
                                              &cmd_logs,
                                              &cmd_evict,
                                              &cmd_whoami_cached,
                                              &cmd_lease_acquire,
                                              &cmd_lease_release,
                                              &cmd_lease_holder,
                                              &cmd_event,
                                              &driver_exec_command,
                                              &driver_portforward_http_command,
                                              &driver_portforward_tcp_command,
                                              NULL};

static const cli_program driver = {
        "kube-driver",
        "kube-driver",
        "exercises libkube against a real API server (tests only)",
        NULL,
        NULL,
        commands,
        NULL,
        0,
};

int main(int argc, char **argv)
{
	return cli_main(&driver, argc, argv);
}
