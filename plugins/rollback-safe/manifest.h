/* Helm release manifests: the rendered documents a release stores
 * ("---\n# Source: chart/templates/x.yaml\n..."), split into Kubernetes
 * objects, the identity Helm matches objects by between a release's
 * revisions and the cluster, and the accessors the plan and its preflight
 * read those objects with. */
#ifndef ROLLBACK_MANIFEST_H
#define ROLLBACK_MANIFEST_H

#include <stddef.h>

#include <jansson.h>

/* Splits manifest (NULL or "" is an empty manifest) into a JSON array of
 * its objects, in manifest order, as Kubernetes' YAML reader splits a
 * stream: at lines that start with "---" followed by nothing but spaces or
 * a comment. Documents are read with Kubernetes' typing rules
 * (kube_yaml_parse_stream); empty and null documents are skipped; the
 * items of a `kind: List` (or any kind ending in "List" with an items
 * array) take the List's place. Every object must have a string
 * apiVersion, kind and metadata.name. Namespaces are left as written: only
 * discovery knows whether a kind is namespaced (see rollback_object_ns).
 * release_ns is not applied here and may be NULL.
 *
 * The caller owns *out (json_decref). Returns 0; -1 with a one-line reason
 * in err naming the manifest line and the document's "# Source:" ("manifest
 * line 12 (mychart/templates/web.yaml): object has no metadata.name"), for
 * a YAML error or an object missing a required field; or KUBE_ENOMEM with
 * "out of memory" in err. On error *out is NULL. */
int rollback_manifest_objects(json_t **out, const char *manifest, const char *release_ns, char *err, size_t err_size);

/* The namespace a namespaced object goes to: its metadata.namespace when
 * that is a non-empty string, else release_ns (borrowed from obj or the
 * caller). */
const char *rollback_object_ns(const json_t *obj, const char *release_ns);

/* Copies text (NULL reads as "") into out, cut to size - 1 bytes and
 * NUL-terminated; does nothing when size is 0. */
void rollback_copy_text(char *out, size_t size, const char *text);

/* obj's member key when it is a string (borrowed from obj), else "". */
const char *rollback_string_member(const json_t *obj, const char *key);

/* obj's metadata.name (borrowed from obj), or "" when it has none. */
const char *rollback_object_name(const json_t *obj);

/* Writes "Kind/name" of obj into out as messages name objects
 * ("Deployment/web"; the kind cut to 127 bytes, the name to 253). */
void rollback_object_label(char *out, size_t size, const json_t *obj);

/* Writes the API group of api_version ("apps/v1" -> "apps", "v1" -> "")
 * into out (size bytes, truncated when longer). */
void rollback_api_group(char *out, size_t size, const char *api_version);

/* An object's identity as Helm matches objects between two manifests and
 * the cluster (pkg/kube ResourceList): API group (the version does not
 * count), kind, namespace ("" for cluster-scoped kinds) and name. */
typedef struct rollback_object_key {
	char group[256];
	char kind[128];
	char ns[254];
	char name[254];
} rollback_object_key;

/* Fills out from obj's apiVersion, kind and metadata.name, and ns (the
 * namespace the object goes to, "" or NULL for cluster-scoped kinds).
 * Missing fields are "". */
void rollback_object_key_of(rollback_object_key *out, const json_t *obj, const char *ns);

/* 1 when a and b name the same object, else 0. */
int rollback_object_key_equal(const rollback_object_key *a, const rollback_object_key *b);

/* The key as one string usable as a map key: group, kind, namespace and
 * name joined by the unit separator 0x1f. Returns a newly allocated string
 * (kube_free), or NULL when memory runs out. */
char *rollback_object_key_string(const rollback_object_key *key);

#endif
