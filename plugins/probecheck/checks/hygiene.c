/* Rollout hygiene: resources, root, image tags, literal secrets, replicas, rollout strategy, PDBs, grace periods. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/checks.h"

#define LONG_GRACE_S 60

static const char *resource(const probecheck_container *c, const char *group, const char *name)
{
	const json_t *resources = probecheck_json_object(c->spec, "resources");
	const json_t *value = json_object_get(probecheck_json_object(resources, group), name);
	if (json_is_string(value))
		return json_string_value(value);
	return json_is_number(value) ? "set" : NULL;
}

static int resources(probecheck_ctx *ctx, const probecheck_container *c)
{
	const char *memory_limit = resource(c, "limits", "memory");
	const char *memory_request = resource(c, "requests", "memory");
	const char *cpu_limit = resource(c, "limits", "cpu");
	const char *cpu_request = resource(c, "requests", "cpu");
	int rc = 0, indent;
	if (!memory_limit) {
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		/* Without a number to start from the keys are comments too: an empty
		 * "limits:" reads as null and would delete the map when applied. */
		if (memory_request && strcmp(memory_request, "set") != 0) {
			probecheck_fix_line(ctx->fix, indent, "resources:");
			probecheck_fix_line(ctx->fix, indent + 2, "limits:");
			probecheck_fix_line(ctx->fix, indent + 4,
			                    "memory: %s  # its request; raise to the observed peak", memory_request);
		} else {
			probecheck_fix_line(ctx->fix, indent, "# resources:");
			probecheck_fix_line(ctx->fix, indent, "#   limits:");
			probecheck_fix_line(ctx->fix, indent, "#     memory: the observed peak of %s plus headroom",
			                    c->name);
		}
		rc = probecheck_emit(ctx, PROBECHECK_RES_LIMITS_MISSING, PROBECHECK_SEV_WARNING, c, -1, 0,
		                     "container %s has no memory limit", c->name);
	}
	/* The API server defaults a missing request to the limit, so only both missing is a gap. */
	int no_cpu = !cpu_request && !cpu_limit, no_memory = !memory_request && !memory_limit;
	if (!rc && (no_cpu || no_memory)) {
		indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "# resources:");
		probecheck_fix_line(ctx->fix, indent, "#   requests:");
		if (no_cpu)
			probecheck_fix_line(ctx->fix, indent, "#     cpu: the typical usage of %s", c->name);
		if (no_memory)
			probecheck_fix_line(ctx->fix, indent, "#     memory: the typical usage of %s", c->name);
		rc = probecheck_emit(ctx, PROBECHECK_RES_REQUESTS_MISSING, PROBECHECK_SEV_WARNING, c, -1, 0,
		                     "container %s has no %s request (nor a limit it would default to)", c->name,
		                     no_cpu && no_memory ? "CPU or memory"
		                     : no_cpu            ? "CPU"
		                                         : "memory");
	}
	return rc;
}

static const json_t *security_field(const json_t *container_sc, const json_t *pod_sc, const char *key)
{
	const json_t *value = json_object_get(container_sc, key);
	if (!value || json_is_null(value))
		value = json_object_get(pod_sc, key);
	return value && !json_is_null(value) ? value : NULL;
}

static int run_as_root(probecheck_ctx *ctx, const probecheck_container *c)
{
	const json_t *pod_sc = probecheck_json_object(ctx->workload->pod_spec, "securityContext");
	const json_t *sc = probecheck_json_object(c->spec, "securityContext");
	const json_t *non_root = security_field(sc, pod_sc, "runAsNonRoot");
	const json_t *user = security_field(sc, pod_sc, "runAsUser");
	const char *os = probecheck_json_string(probecheck_json_object(ctx->workload->pod_spec, "os"), "name");
	if (os && strcmp(os, "windows") == 0)
		return 0;
	int uid_zero = json_is_integer(user) && json_integer_value(user) == 0;
	if (!uid_zero && (user || json_is_true(non_root)))
		return 0;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "securityContext:");
	probecheck_fix_line(ctx->fix, indent + 2, "runAsNonRoot: true");
	if (uid_zero)
		probecheck_fix_line(ctx->fix, indent + 2, "runAsUser: null  # 0 is root; let the image's user apply");
	if (uid_zero)
		return probecheck_emit(ctx, PROBECHECK_RUN_AS_ROOT, PROBECHECK_SEV_WARNING, c, -1, 0,
		                       "container %s runs as root: runAsUser is 0", c->name);
	return probecheck_emit(ctx, PROBECHECK_RUN_AS_ROOT, PROBECHECK_SEV_WARNING, c, -1, 0,
	                       "container %s may run as root: neither runAsNonRoot: true nor a runAsUser is set",
	                       c->name);
}

static int image_unpinned(probecheck_ctx *ctx, const probecheck_container *c)
{
	const char *image = probecheck_json_string(c->spec, "image");
	if (!image || !*image || strchr(image, '@'))
		return 0;
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	const char *colon = strchr(last, ':');
	size_t repo_len = colon ? (size_t)(colon - image) : strlen(image);
	if (colon && strcmp(colon + 1, "latest") != 0)
		return 0;
	int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
	probecheck_fix_line(ctx->fix, indent, "# image: %.*s:<version> or %.*s@sha256:<digest>", (int)repo_len, image,
	                    (int)repo_len, image);
	return probecheck_emit(ctx, PROBECHECK_IMAGE_UNPINNED, PROBECHECK_SEV_WARNING, c, -1, 0,
	                       "container %s uses image %s, %s", c->name, image,
	                       colon ? "the latest tag" : "without a tag (so latest)");
}

static int name_looks_secret(const char *name)
{
	static const char *const words[] = {"PASSWORD", "PASSWD",      "SECRET",     "TOKEN",     "API_KEY",
	                                    "APIKEY",   "PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY"};
	static const char *const harmless_suffixes[] = {"_FILE", "_PATH", "_DIR", "_NAME", "_ENABLED", "_TTL", "_URL"};
	char upper[128];
	size_t len = strlen(name);
	if (len >= sizeof(upper))
		len = sizeof(upper) - 1;
	for (size_t i = 0; i < len; i++)
		upper[i] = (char)toupper((unsigned char)(name[i] == '-' ? '_' : name[i]));
	upper[len] = '\0';
	for (size_t i = 0; i < sizeof(harmless_suffixes) / sizeof(harmless_suffixes[0]); i++) {
		size_t n = strlen(harmless_suffixes[i]);
		if (len > n && strcmp(upper + len - n, harmless_suffixes[i]) == 0)
			return 0;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(upper, words[i]))
			return 1;
	return 0;
}

static int value_is_private_key(const char *value)
{
	const char *begin = strstr(value, "-----BEGIN ");
	return begin && strstr(begin, "PRIVATE KEY-----") != NULL;
}

static int secret_env(probecheck_ctx *ctx, const probecheck_container *c)
{
	const json_t *env = probecheck_json_array(c->spec, "env");
	size_t index;
	const json_t *var;
	json_array_foreach(env, index, var)
	{
		const char *name = probecheck_json_string(var, "name");
		const char *value = probecheck_json_string(var, "value");
		if (!name || !value || !*value || strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
			continue;
		int pem = value_is_private_key(value);
		if (!pem && !name_looks_secret(name))
			continue;
		char key[128];
		size_t len = strlen(name) < sizeof(key) - 1 ? strlen(name) : sizeof(key) - 1;
		for (size_t i = 0; i < len; i++)
			key[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
		key[len] = '\0';
		int indent = probecheck_fix_container(ctx->fix, ctx->workload, c);
		probecheck_fix_line(ctx->fix, indent, "env:");
		probecheck_fix_line(ctx->fix, indent, "- name: %s", name);
		probecheck_fix_line(ctx->fix, indent + 2, "value: null");
		probecheck_fix_line(ctx->fix, indent + 2, "valueFrom:");
		probecheck_fix_line(ctx->fix, indent + 4, "secretKeyRef:");
		probecheck_fix_line(ctx->fix, indent + 6,
		                    "name: %s-env  # kubectl create secret generic %s-env "
		                    "--from-literal=%s=...",
		                    ctx->workload->name, ctx->workload->name, key);
		probecheck_fix_line(ctx->fix, indent + 6, "key: %s", key);
		/* Never echo the value. */
		int rc = probecheck_emit(ctx, PROBECHECK_SECRET_IN_ENV, PROBECHECK_SEV_WARNING, c, -1, 0,
		                         pem ? "env %s of container %s holds a literal PEM private key"
		                             : "env %s of container %s has a literal value and looks like a secret",
		                         name, c->name);
		if (rc)
			return rc;
	}
	return 0;
}

/* An IntOrString as the deployment controller resolves it: a percentage
 * of total, rounded up or down. Returns -1 when value is malformed. */
static long resolve_int_or_percent(const json_t *value, long fallback_percent, long total, int round_up)
{
	long percent = fallback_percent;
	if (json_is_integer(value))
		return json_integer_value(value) < 0 ? -1 : (long)json_integer_value(value);
	if (json_is_string(value)) {
		const char *s = json_string_value(value);
		char *end = NULL;
		errno = 0;
		percent = strtol(s, &end, 10);
		if (errno || end == s || strcmp(end, "%") != 0 || percent < 0)
			return -1;
	} else if (value && !json_is_null(value)) {
		return -1;
	}
	return round_up ? (percent * total + 99) / 100 : percent * total / 100;
}

static int single_replica(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	if (w->replicas != 1)
		return 0;
	for (size_t i = 0; i < w->container_count; i++) {
		if (!probecheck_container_runs(&w->containers[i]) ||
		    !probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS)->json)
			continue;
		int indent = probecheck_fix_spec(ctx->fix);
		probecheck_fix_line(ctx->fix, indent, "replicas: 2");
		return probecheck_emit(
		        ctx, PROBECHECK_REPLICAS_SINGLE, PROBECHECK_SEV_INFO, NULL, -1, 0,
		        "%s %s has 1 replica and container %s has a livenessProbe: every restart is an outage",
		        w->kind_name, w->name, w->containers[i].name);
	}
	return 0;
}

static void rollout_fix(probecheck_ctx *ctx, const char *strategy_key, long replicas)
{
	int indent = probecheck_fix_spec(ctx->fix);
	long unavailable = replicas > 1 ? (replicas / 4 > 1 ? replicas / 4 : 1) : 0;
	probecheck_fix_line(ctx->fix, indent, "%s:", strategy_key);
	probecheck_fix_line(ctx->fix, indent + 2, "type: RollingUpdate");
	probecheck_fix_line(ctx->fix, indent + 2, "rollingUpdate:");
	if (strcmp(strategy_key, "strategy") == 0)
		probecheck_fix_line(ctx->fix, indent + 4, "maxSurge: %ld", unavailable ? unavailable : 1);
	probecheck_fix_line(ctx->fix, indent + 4, "maxUnavailable: %ld", unavailable);
}

static int rollout_all_down(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	const json_t *spec = probecheck_json_object(w->object, "spec");
	const char *key = w->kind == PROBECHECK_KIND_DEPLOYMENT ? "strategy" : "updateStrategy";
	const json_t *strategy = probecheck_json_object(spec, key);
	const char *type = probecheck_json_string(strategy, "type");
	const json_t *rolling = probecheck_json_object(strategy, "rollingUpdate");
	const json_t *max_unavailable = json_object_get(rolling, "maxUnavailable");
	long replicas = w->replicas;

	if (w->kind == PROBECHECK_KIND_DEPLOYMENT) {
		if (type && strcmp(type, "Recreate") == 0) {
			rollout_fix(ctx, key, replicas);
			return probecheck_emit(
			        ctx, PROBECHECK_ROLLOUT_ALL_DOWN, PROBECHECK_SEV_INFO, NULL, -1, 0,
			        "Deployment %s uses the Recreate strategy: every update stops all %ld pods "
			        "before starting new ones (keep it only if two versions must never run "
			        "together)",
			        w->name, replicas);
		}
		if (replicas < 1)
			return 0;
		long surge = resolve_int_or_percent(json_object_get(rolling, "maxSurge"), 25, replicas, 1);
		long unavailable = resolve_int_or_percent(max_unavailable, 25, replicas, 0);
		if (surge < 0 || unavailable < 0)
			return 0;
		if (surge == 0 && unavailable == 0)
			unavailable = 1; /* what the deployment controller does */
		if (unavailable < replicas)
			return 0;
		rollout_fix(ctx, key, replicas);
		return probecheck_emit(
		        ctx, PROBECHECK_ROLLOUT_ALL_DOWN, PROBECHECK_SEV_WARNING, NULL, -1, 0,
		        "maxUnavailable resolves to %ld of %ld replicas: a rollout may stop every old pod "
		        "before a new one is ready",
		        unavailable, replicas);
	}
	if (type && strcmp(type, "RollingUpdate") != 0)
		return 0;
	if (w->kind == PROBECHECK_KIND_STATEFULSET) {
		/* The StatefulSet controller rounds a percentage up. */
		long unavailable = resolve_int_or_percent(max_unavailable, 0, replicas, 1);
		if (!max_unavailable || unavailable < 0 || replicas < 1 || unavailable < replicas)
			return 0;
		rollout_fix(ctx, key, replicas);
		return probecheck_emit(
		        ctx, PROBECHECK_ROLLOUT_ALL_DOWN, PROBECHECK_SEV_WARNING, NULL, -1, 0,
		        "updateStrategy.rollingUpdate.maxUnavailable resolves to %ld of %ld replicas: an "
		        "update may stop every pod at once",
		        unavailable, replicas);
	}
	/* DaemonSet: only a percentage says anything without knowing the nodes. */
	long unavailable = resolve_int_or_percent(max_unavailable, 0, 100, 0);
	if (!json_is_string(max_unavailable) || unavailable < 100)
		return 0;
	int indent = probecheck_fix_spec(ctx->fix);
	probecheck_fix_line(ctx->fix, indent, "updateStrategy:");
	probecheck_fix_line(ctx->fix, indent + 2, "rollingUpdate:");
	probecheck_fix_line(ctx->fix, indent + 4, "maxUnavailable: 10%%");
	return probecheck_emit(ctx, PROBECHECK_ROLLOUT_ALL_DOWN, PROBECHECK_SEV_WARNING, NULL, -1, 0,
	                       "DaemonSet %s has maxUnavailable %s: an update may stop the pod on every node at once",
	                       w->name, json_string_value(max_unavailable));
}

static int pdb_missing(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	if (w->replicas <= 1)
		return 0;
	const json_t *spec = probecheck_json_object(w->object, "spec");
	const json_t *selector = probecheck_json_object(spec, "selector");
	const json_t *match = probecheck_json_object(selector, "matchLabels");
	if (!match) /* a ReplicationController's selector is a plain map; else the pod labels */
		match = selector && !json_object_get(selector, "matchExpressions") ? selector : w->labels;
	probecheck_fix_line(ctx->fix, 0, "apiVersion: policy/v1");
	probecheck_fix_line(ctx->fix, 0, "kind: PodDisruptionBudget");
	probecheck_fix_line(ctx->fix, 0, "metadata:");
	probecheck_fix_line(ctx->fix, 2, "name: %s", w->name);
	if (*w->namespace_name)
		probecheck_fix_line(ctx->fix, 2, "namespace: %s", w->namespace_name);
	probecheck_fix_line(ctx->fix, 0, "spec:");
	probecheck_fix_line(ctx->fix, 2, "maxUnavailable: 1");
	probecheck_fix_line(ctx->fix, 2, "selector:");
	if (json_object_size(match))
		probecheck_fix_yaml(ctx->fix, 4, "matchLabels", match);
	return probecheck_emit(ctx, PROBECHECK_PDB_MISSING, PROBECHECK_SEV_WARNING, NULL, -1,
	                       PROBECHECK_DEFER_DROP_IF_PDB,
	                       "%s %s has %ld replicas and no PodDisruptionBudget selects its pods", w->kind_name,
	                       w->name, w->replicas);
}

static int grace_vs_liveness(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	const json_t *grace = json_object_get(w->pod_spec, "terminationGracePeriodSeconds");
	if (!json_is_integer(grace) || json_integer_value(grace) <= LONG_GRACE_S)
		return 0;
	long pod_grace = (long)json_integer_value(grace);
	for (size_t i = 0; i < w->container_count; i++) {
		const probecheck_probe *live = probecheck_ctx_probe(ctx, i, PROBECHECK_LIVENESS);
		const probecheck_container *c = &w->containers[i];
		if (!probecheck_container_runs(c) || !live->json || live->grace_period >= 0)
			continue;
		int indent = probecheck_fix_container(ctx->fix, w, c);
		probecheck_fix_line(ctx->fix, indent, "livenessProbe:");
		probecheck_fix_line(ctx->fix, indent + 2,
		                    "terminationGracePeriodSeconds: 30  # probe kills only; shutdowns keep %ld s",
		                    pod_grace);
		int rc = probecheck_emit(
		        ctx, PROBECHECK_GRACE_VS_LIVENESS, PROBECHECK_SEV_INFO, c, PROBECHECK_LIVENESS, 0,
		        "a liveness kill of container %s waits the pod's terminationGracePeriodSeconds "
		        "%ld before SIGKILL",
		        c->name, pod_grace);
		if (rc)
			return rc;
	}
	return 0;
}

int probecheck_check_hygiene(probecheck_ctx *ctx)
{
	const probecheck_workload *w = ctx->workload;
	int rc = 0;
	for (size_t i = 0; i < w->container_count && !rc; i++) {
		const probecheck_container *c = &w->containers[i];
		if (probecheck_container_runs(c))
			rc = resources(ctx, c);
		if (!rc)
			rc = run_as_root(ctx, c);
		if (!rc)
			rc = image_unpinned(ctx, c);
		if (!rc)
			rc = secret_env(ctx, c);
	}
	if (!rc && probecheck_applies(ctx, PROBECHECK_REPLICAS_SINGLE))
		rc = single_replica(ctx);
	if (!rc && probecheck_applies(ctx, PROBECHECK_ROLLOUT_ALL_DOWN))
		rc = rollout_all_down(ctx);
	if (!rc && probecheck_applies(ctx, PROBECHECK_PDB_MISSING))
		rc = pdb_missing(ctx);
	if (!rc)
		rc = grace_vs_liveness(ctx);
	return rc;
}
