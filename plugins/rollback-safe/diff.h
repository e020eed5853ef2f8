/* What applying a rollback's target object would change in the live
 * object: the three-way diff (target manifest against the live object,
 * with the current manifest for what the patch removes) as pure functions
 * over JSON, and the Kubernetes quantities it compares by amount. */
#ifndef ROLLBACK_DIFF_H
#define ROLLBACK_DIFF_H

#include <stddef.h>

#include <jansson.h>

/* One field the apply would change: path as a user reads it
 * ("spec.template.spec.containers[app].image"; list items by their name
 * where the list's items all have one, else by index), and the live and
 * target values (borrowed from the objects diffed; live NULL when the
 * field is absent live, target NULL when the apply removes it). */
typedef struct rollback_change {
	char *path;
	const json_t *live;
	const json_t *target;
} rollback_change;

typedef struct rollback_diff {
	rollback_change *items;
	size_t count;
	size_t cap;
} rollback_diff;

#define ROLLBACK_DIFF_INIT                                                                                             \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}

/* What applying target (an object of the target manifest) changes in live
 * (the object as the cluster has it), with current the same object in the
 * current revision's manifest (NULL when it is not there): every field
 * target sets whose value live does not have (target is a "subset" of
 * live when there is none), and every field current set that target
 * drops and live still has (Helm's three-way patch removes those).
 * Objects compare key-wise; lists item-wise by index (a list of another
 * length is one change of the whole list), or by name for lists whose
 * target items all have distinct names (containers, env, volumes, ports,
 * volumeClaimTemplates by metadata.name). Fields the server owns are not
 * compared: top-level apiVersion, kind and status, and metadata's
 * namespace, uid, resourceVersion, generation, creationTimestamp and
 * managedFields. target's null means "no opinion"; target's empty values
 * (false, 0, "", {}, []) match an absent live field (the API drops them).
 * Numbers compare by value; quantities (resources limits/requests, hard,
 * capacity, storage, sizeLimit, or a number against a string) compare by
 * the amount they mean ("500m" = "0.5", "1Gi" = "1024Mi"). A Service's
 * server-allocated clusterIP, clusterIPs, nodePort and healthCheckNodePort
 * left empty in target keep their live values. The diff borrows from the
 * three objects. Returns 0 or KUBE_ENOMEM (out then holds a partial
 * list, disposed as usual). */
int rollback_diff_objects(rollback_diff *out, const json_t *target, const json_t *live, const json_t *current);

/* 1 when path is prefix or lies under it (prefix followed by '.' or '['),
 * else 0: "spec.template.spec" lies under "spec.template", not under
 * "spec.temp". */
int rollback_diff_path_under(const char *path, const char *prefix);

/* 1 when some change's path is prefix or lies under it
 * (rollback_diff_path_under), else 0. */
int rollback_diff_touches(const rollback_diff *diff, const char *prefix);

/* Writes the paths of up to max_paths changes into out ("spec.replicas,
 * metadata.labels.version and 3 more"); "" when there are none. */
void rollback_diff_describe(char *out, size_t size, const rollback_diff *diff, size_t max_paths);

void rollback_diff_dispose(rollback_diff *diff);

/* Parses a Kubernetes quantity ("500m", "1.5Gi", "10G", "1e3", "100") into
 * its amount in base units. Returns 0, or -1 when text is not a quantity. */
int rollback_quantity_parse(long double *out, const char *text);

/* Compares two quantities given as JSON strings or numbers: *out is <0,
 * 0 or >0 as a is less than, equal to or greater than b. Returns 0, or -1
 * when either is not a quantity. */
int rollback_quantity_cmp(int *out, const json_t *a, const json_t *b);

#endif
