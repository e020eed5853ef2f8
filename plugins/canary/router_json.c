/* The traffic routers' JSON transformations (no I/O): which routing
 * object sends to a Service, the weighted specs, the nginx canary Ingress
 * and merge patches. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "router_json.h"

#define LABEL_MANAGED_BY    "app.kubernetes.io/managed-by"
#define LABEL_TRACK         "rollguard.io/track"
#define ANNOTATION_OF       "rollguard.io/canary-of"
#define ANNOTATION_CLASS    "kubernetes.io/ingress.class"
#define ANNOTATION_CANARY   "nginx.ingress.kubernetes.io/canary"
#define ANNOTATION_WEIGHT   "nginx.ingress.kubernetes.io/canary-weight"
#define ISTIO_ROUTE_KINDS   3
#define ISTIO_TOTAL_WEIGHT  100
#define PERCENT             100
#define SMI_DEFAULT_WEIGHT  1
#define GATEWAY_DEF_WEIGHT  1
#define NGINX_NAME_SUFFIX   "-canary"
#define NGINX_WEIGHT_DIGITS 8

static const char *const istio_route_kinds[ISTIO_ROUTE_KINDS] = {"http", "tcp", "tls"};

static void say(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static const char *str(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static const char *meta_str(const json_t *object, const char *key)
{
	const char *value = str(json_object_get(object, "metadata"), key);
	return value ? value : "";
}

int canary_host_is_service(const char *host, const char *ns, const char *service)
{
	size_t len = strlen(service), ns_len = strlen(ns);
	if (!host || strncmp(host, service, len) != 0)
		return 0;
	host += len;
	if (!*host)
		return 1;
	if (*host != '.' || strncmp(host + 1, ns, ns_len) != 0)
		return 0;
	host += 1 + ns_len;
	/* "web.ns", "web.ns.svc", "web.ns.svc.cluster.local" */
	return !*host || !strcmp(host, ".svc") || !strncmp(host, ".svc.", 5);
}

/* --- HTTPRoute ------------------------------------------------------------ */

/* 1 when ref (a backendRef) is Service service of namespace ns. */
static int backend_is_service(const json_t *ref, const char *ns, const char *service)
{
	const char *group = str(ref, "group"), *kind = str(ref, "kind"), *ref_ns = str(ref, "namespace");
	const char *name = str(ref, "name");
	return name && !strcmp(name, service) && (!group || !group[0]) && (!kind || !strcmp(kind, "Service")) &&
	       (!ref_ns || !strcmp(ref_ns, ns));
}

int canary_httproute_routes_to(const json_t *route, const char *service)
{
	const char *ns = meta_str(route, "namespace");
	size_t i, j;
	json_t *rule, *ref;
	json_array_foreach(json_object_get(json_object_get(route, "spec"), "rules"), i, rule)
	{
		json_array_foreach(json_object_get(rule, "backendRefs"), j, ref)
		{
			if (backend_is_service(ref, ns, service))
				return 1;
		}
	}
	return 0;
}

/* A weight as a whole number: an integer, or for SMI v1alpha1's
 * quantities a string of digits; absent: fallback. -1 when it is neither. */
static long long weight_of(const json_t *object, long long fallback)
{
	const json_t *weight = json_object_get(object, "weight");
	if (!weight || json_is_null(weight))
		return fallback;
	if (json_is_integer(weight))
		return json_integer_value(weight) >= 0 ? json_integer_value(weight) : -1;
	const char *text = json_string_value(weight);
	if (!text || !*text || strlen(text) > 12)
		return -1;
	long long value = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		value = value * 10 + (*c - '0');
	}
	return value;
}

/* Splits the stable entries of a list of weighted backends (HTTPRoute
 * backendRefs, TrafficSplit backends) in place: a copy named canary after
 * each stable one; weights 100 - weight / weight when the stable entries
 * are all there is, otherwise every weight times 100 with the stable
 * share split. name_key is the member naming the Service. Returns the
 * number of stable entries, or -1 with err. */
static int split_relative(json_t *list, int (*is_stable)(const json_t *, const void *), const void *match,
                          const char *name_key, const char *canary, int weight, long long default_weight,
                          long long max_weight, char *err, size_t err_size)
{
	size_t count = json_array_size(list), stable = 0;
	for (size_t i = 0; i < count; i++)
		if (is_stable(json_array_get(list, i), match))
			stable++;
	if (stable == 0)
		return 0;
	int only = stable == count;
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *entry = json_array_get(list, i);
		long long w0 = weight_of(entry, default_weight);
		if (w0 < 0) {
			say(err, err_size, "weight %zu is not a whole number", i);
			return -1;
		}
		if (!is_stable(entry, match)) {
			if (w0 * PERCENT > max_weight) {
				say(err, err_size, "weight %lld is too large to split (at most %lld)", w0,
				    max_weight / PERCENT);
				return -1;
			}
			if (!only && json_object_set_new(entry, "weight", json_integer(w0 * PERCENT)))
				goto nomem;
			continue;
		}
		long long stable_weight = only ? PERCENT - weight : w0 * (PERCENT - weight);
		long long canary_weight = only ? weight : w0 * weight;
		if (stable_weight > max_weight || canary_weight > max_weight) {
			say(err, err_size, "weight %lld is too large to split (at most %lld)", w0,
			    max_weight / PERCENT);
			return -1;
		}
		json_t *copy = json_deep_copy(entry);
		if (!copy || json_object_set_new(copy, name_key, json_string(canary)) ||
		    json_object_set_new(copy, "weight", json_integer(canary_weight)) ||
		    json_object_set_new(entry, "weight", json_integer(stable_weight))) {
			json_decref(copy);
			goto nomem;
		}
		/* json_array_insert_new takes copy, also when it fails */
		if (json_array_insert_new(list, i + 1, copy))
			goto nomem;
		i++; /* past the copy */
	}
	return (int)stable;
nomem:
	say(err, err_size, "out of memory");
	return -1;
}

struct ref_match {
	const char *ns, *service;
};

static int ref_is_stable(const json_t *ref, const void *match)
{
	const struct ref_match *m = match;
	return backend_is_service(ref, m->ns, m->service);
}

int canary_httproute_weighted(json_t **out, const json_t *spec, const char *ns, const char *service, const char *canary,
                              int weight, char *err, size_t err_size)
{
	struct ref_match match = {ns, service};
	json_t *copy = json_deep_copy(spec);
	size_t i;
	json_t *rule;
	int found = 0;
	*out = NULL;
	if (!copy) {
		say(err, err_size, "out of memory");
		return -1;
	}
	json_array_foreach(json_object_get(copy, "rules"), i, rule)
	{
		int n = split_relative(json_object_get(rule, "backendRefs"), ref_is_stable, &match, "name", canary,
		                       weight, GATEWAY_DEF_WEIGHT, CANARY_GATEWAY_MAX_WEIGHT, err, err_size);
		if (n < 0) {
			json_decref(copy);
			return -1;
		}
		found += n;
	}
	if (!found) {
		json_decref(copy);
		say(err, err_size, "no rule sends to service %s", service);
		return -1;
	}
	*out = copy;
	return 0;
}

/* --- VirtualService ------------------------------------------------------- */

int canary_virtualservice_routes_to(const json_t *vs, const char *service)
{
	const char *ns = meta_str(vs, "namespace");
	const json_t *spec = json_object_get(vs, "spec");
	for (int k = 0; k < ISTIO_ROUTE_KINDS; k++) {
		size_t i, j;
		json_t *entry, *dest;
		json_array_foreach(json_object_get(spec, istio_route_kinds[k]), i, entry)
		{
			json_array_foreach(json_object_get(entry, "route"), j, dest)
			{
				if (canary_host_is_service(str(json_object_get(dest, "destination"), "host"), ns,
				                           service))
					return 1;
			}
		}
	}
	return 0;
}

/* Splits the destinations of one route list (spec.http[i].route) in
 * place. Returns how many were stable, or -1. */
static int split_istio(json_t *route, const char *ns, const char *service, const char *canary, int weight, char *err,
                       size_t err_size)
{
	size_t count = json_array_size(route);
	int stable = 0;
	for (size_t i = 0; i < json_array_size(route); i++) {
		json_t *dest = json_array_get(route, i);
		json_t *destination = json_object_get(dest, "destination");
		const char *host = str(destination, "host");
		if (!canary_host_is_service(host, ns, service))
			continue;
		stable++;
		/* one destination without a weight takes everything */
		long long w0 = weight_of(dest, count == 1 ? ISTIO_TOTAL_WEIGHT : 0);
		if (w0 < 0) {
			say(err, err_size, "a destination's weight is not a whole number");
			return -1;
		}
		long long canary_weight = (w0 * weight + PERCENT / 2) / PERCENT;
		char canary_host[512];
		if (snprintf(canary_host, sizeof(canary_host), "%s%s", canary, host + strlen(service)) >=
		    (int)sizeof(canary_host)) {
			say(err, err_size, "host %s is too long", host);
			return -1;
		}
		json_t *copy = json_deep_copy(dest);
		json_t *copy_destination = json_object_get(copy, "destination");
		if (!copy || !json_is_object(copy_destination) ||
		    json_object_set_new(copy_destination, "host", json_string(canary_host)) ||
		    json_object_set_new(copy, "weight", json_integer(canary_weight)) ||
		    json_object_set_new(dest, "weight", json_integer(w0 - canary_weight))) {
			json_decref(copy);
			say(err, err_size, "out of memory");
			return -1;
		}
		/* json_array_insert_new takes copy, also when it fails */
		if (json_array_insert_new(route, i + 1, copy)) {
			say(err, err_size, "out of memory");
			return -1;
		}
		json_object_del(copy_destination, "subset"); /* the stable host's subsets are not the canary's */
		i++;
	}
	return stable;
}

int canary_virtualservice_weighted(json_t **out, const json_t *spec, const char *ns, const char *service,
                                   const char *canary, int weight, char *err, size_t err_size)
{
	json_t *copy = json_deep_copy(spec);
	int found = 0;
	*out = NULL;
	if (!copy) {
		say(err, err_size, "out of memory");
		return -1;
	}
	for (int k = 0; k < ISTIO_ROUTE_KINDS; k++) {
		size_t i;
		json_t *entry;
		json_array_foreach(json_object_get(copy, istio_route_kinds[k]), i, entry)
		{
			int n = split_istio(json_object_get(entry, "route"), ns, service, canary, weight, err,
			                    err_size);
			if (n < 0) {
				json_decref(copy);
				return -1;
			}
			found += n;
		}
	}
	if (!found) {
		json_decref(copy);
		say(err, err_size, "no route has a destination host %s", service);
		return -1;
	}
	*out = copy;
	return 0;
}

/* --- TrafficSplit --------------------------------------------------------- */

int canary_trafficsplit_routes_to(const json_t *split, const char *service)
{
	const json_t *spec = json_object_get(split, "spec");
	const char *root = str(spec, "service");
	size_t i;
	json_t *backend;
	if (root && !strcmp(root, service))
		return 1;
	json_array_foreach(json_object_get(spec, "backends"), i, backend)
	{
		const char *name = str(backend, "service");
		if (name && !strcmp(name, service))
			return 1;
	}
	return 0;
}

static int backend_named(const json_t *backend, const void *service)
{
	const char *name = str(backend, "service");
	return name && !strcmp(name, (const char *)service);
}

int canary_trafficsplit_weighted(json_t **out, const json_t *spec, const char *service, const char *canary, int weight,
                                 char *err, size_t err_size)
{
	json_t *copy = json_deep_copy(spec);
	*out = NULL;
	if (!copy) {
		say(err, err_size, "out of memory");
		return -1;
	}
	int n = split_relative(json_object_get(copy, "backends"), backend_named, service, "service", canary, weight,
	                       SMI_DEFAULT_WEIGHT, (long long)1 << 31, err, err_size);
	if (n <= 0) {
		json_decref(copy);
		if (n == 0)
			say(err, err_size, "no backend is service %s", service);
		return -1;
	}
	*out = copy;
	return 0;
}

/* --- nginx ---------------------------------------------------------------- */

static int contains_nginx(const char *text)
{
	return text && strstr(text, "nginx") != NULL;
}

int canary_ingress_is_nginx(const json_t *ingress)
{
	const json_t *annotations = json_object_get(json_object_get(ingress, "metadata"), "annotations");
	return contains_nginx(str(json_object_get(ingress, "spec"), "ingressClassName")) ||
	       contains_nginx(str(annotations, ANNOTATION_CLASS));
}

/* 1 when backend (an IngressBackend) is Service service. */
static int ingress_backend_is(const json_t *backend, const char *service)
{
	const char *name = str(json_object_get(backend, "service"), "name");
	return name && !strcmp(name, service);
}

int canary_ingress_routes_to(const json_t *ingress, const char *service)
{
	const json_t *spec = json_object_get(ingress, "spec");
	size_t i, j;
	json_t *rule, *path;
	if (ingress_backend_is(json_object_get(spec, "defaultBackend"), service))
		return 1;
	json_array_foreach(json_object_get(spec, "rules"), i, rule)
	{
		json_array_foreach(json_object_get(json_object_get(rule, "http"), "paths"), j, path)
		{
			if (ingress_backend_is(json_object_get(path, "backend"), service))
				return 1;
		}
	}
	return 0;
}

/* A copy of backend pointing at canary (port kept). */
static json_t *canary_backend(const json_t *backend, const char *canary)
{
	json_t *copy = json_deep_copy(backend);
	if (!copy || json_object_set_new(json_object_get(copy, "service"), "name", json_string(canary))) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* The rules of spec whose paths send to service, with canary as their
 * backend (owned; an empty array when none). */
static json_t *canary_rules(const json_t *spec, const char *service, const char *canary)
{
	json_t *rules = json_array();
	size_t i, j;
	json_t *rule, *path;
	json_array_foreach(json_object_get(spec, "rules"), i, rule)
	{
		json_t *paths = json_array();
		json_array_foreach(json_object_get(json_object_get(rule, "http"), "paths"), j, path)
		{
			if (!paths || !ingress_backend_is(json_object_get(path, "backend"), service))
				continue;
			json_t *copy = json_deep_copy(path);
			json_t *backend = copy ? canary_backend(json_object_get(copy, "backend"), canary) : NULL;
			/* each _set_new and _append_new takes its value, also when
			 * it fails */
			if (!backend || json_object_set_new(copy, "backend", backend)) {
				json_decref(copy);
				json_decref(paths);
				paths = NULL;
			} else if (json_array_append_new(paths, copy)) {
				json_decref(paths);
				paths = NULL;
			}
		}
		if (!paths || !rules) {
			json_decref(paths);
			json_decref(rules);
			return NULL;
		}
		if (json_array_size(paths) == 0) {
			json_decref(paths);
			continue;
		}
		json_t *copy = json_deep_copy(rule);
		if (!copy) {
			json_decref(paths);
			json_decref(rules);
			return NULL;
		}
		/* each _set_new and _append_new takes its value, also when it
		 * fails */
		if (json_object_set_new(json_object_get(copy, "http"), "paths", paths)) {
			json_decref(copy);
			json_decref(rules);
			return NULL;
		}
		if (json_array_append_new(rules, copy)) {
			json_decref(rules);
			return NULL;
		}
	}
	return rules;
}

json_t *canary_ingress_copy(const json_t *ingress, const char *service, const char *canary, int weight,
                            const char *owner_name, const char *owner_uid)
{
	const json_t *spec = json_object_get(ingress, "spec");
	const json_t *annotations = json_object_get(json_object_get(ingress, "metadata"), "annotations");
	char name[300], weight_text[NGINX_WEIGHT_DIGITS];
	snprintf(name, sizeof(name), "%s%s", meta_str(ingress, "name"), NGINX_NAME_SUFFIX);
	snprintf(weight_text, sizeof(weight_text), "%d", weight);
	json_t *object = json_pack(
	        "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:{}}",
	        "apiVersion", "networking.k8s.io/v1", "kind", "Ingress", "metadata", "name", name, "namespace",
	        meta_str(ingress, "namespace"), "labels", LABEL_MANAGED_BY, "rollguard", LABEL_TRACK, "canary",
	        "annotations", ANNOTATION_CANARY, "true", ANNOTATION_WEIGHT, weight_text, ANNOTATION_OF, owner_name,
	        "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name", owner_name, "uid", owner_uid,
	        "controller", 0, "blockOwnerDeletion", 0, "spec");
	json_t *new_spec = json_object_get(object, "spec");
	json_t *rules = canary_rules(spec, service, canary);
	const json_t *default_backend = json_object_get(spec, "defaultBackend");
	if (!object || !rules)
		goto fail;
	if (json_array_size(rules) > 0 && json_object_set(new_spec, "rules", rules))
		goto fail;
	if (ingress_backend_is(default_backend, service)) {
		json_t *backend = canary_backend(default_backend, canary);
		if (!backend || json_object_set_new(new_spec, "defaultBackend", backend))
			goto fail;
	} else if (json_array_size(rules) == 0) {
		goto fail; /* nothing sends to service */
	}
	if (str(spec, "ingressClassName") &&
	    json_object_set(new_spec, "ingressClassName", json_object_get(spec, "ingressClassName")))
		goto fail;
	if (json_object_get(spec, "tls") && json_object_set(new_spec, "tls", json_object_get(spec, "tls")))
		goto fail;
	if (str(annotations, ANNOTATION_CLASS) &&
	    json_object_set(json_object_get(json_object_get(object, "metadata"), "annotations"), ANNOTATION_CLASS,
	                    json_object_get(annotations, ANNOTATION_CLASS)))
		goto fail;
	json_decref(rules);
	return object;
fail:
	json_decref(rules);
	json_decref(object);
	return NULL;
}

/* --- merge patches -------------------------------------------------------- */

json_t *canary_merge_patch(const json_t *current, const json_t *want)
{
	if (!json_is_object(current) || !json_is_object(want))
		return json_deep_copy(want);
	json_t *patch = json_object();
	const char *key;
	json_t *value;
	if (!patch)
		return NULL;
	json_object_foreach((json_t *)want, key, value)
	{
		json_t *have = json_object_get(current, key);
		json_t *member = NULL;
		if (json_is_object(have) && json_is_object(value)) {
			member = canary_merge_patch(have, value);
			if (member && json_object_size(member) == 0) {
				json_decref(member);
				continue;
			}
		} else if (have && json_equal(have, value)) {
			continue;
		} else {
			member = json_deep_copy(value);
		}
		if (!member || json_object_set_new(patch, key, member)) {
			json_decref(patch);
			return NULL;
		}
	}
	json_object_foreach((json_t *)current, key, value)
	{
		if (!json_object_get(want, key) && json_object_set_new(patch, key, json_null())) {
			json_decref(patch);
			return NULL;
		}
	}
	return patch;
}

json_t *canary_merge_apply(const json_t *target, const json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *key;
	json_t *value;
	if (!out)
		return NULL;
	json_object_foreach((json_t *)patch, key, value)
	{
		if (json_is_null(value)) {
			json_object_del(out, key);
			continue;
		}
		json_t *merged = canary_merge_apply(json_object_get(out, key), value);
		if (!merged || json_object_set_new(out, key, merged)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
