/* The canary's pod template: D's template with the user's change applied
 * (--image, --set-env), and the hash that names a template revision. */
#ifndef CANARY_TEMPLATE_H
#define CANARY_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#define CANARY_LABEL_TRACK    "rollguard.io/track"
#define CANARY_LABEL_REVISION "rollguard.io/revision"

/* The hash of a pod template: FNV-1a (32 bits) over a canonical walk of
 * the JSON (object keys sorted, types tagged), written as 10 characters of
 * the alphabet Kubernetes uses for pod-template-hash
 * ("bcdfghjklmnpqrstvwxz2456789"). Labels rollguard.io/track and
 * rollguard.io/revision in metadata.labels are skipped, so a canary pod
 * template hashes like the template it was made from. out must hold 11
 * bytes. Returns 0 or KUBE_ENOMEM. */
int canary_template_hash(char *out, const json_t *pod_template);

/* Applies --image "[CONTAINER=]IMAGE" to pod_template (modified in
 * place). Without CONTAINER the template must have exactly one container.
 * Init containers are matched by name too. Returns 0, or -1 with err:
 * "container \"x\" not found in deployment/web (containers: app, sidecar)",
 * "deployment/web has 2 containers (app, sidecar): name one as
 * CONTAINER=IMAGE", an empty image. what names the object for messages
 * ("deployment/web"). */
int canary_template_set_image(json_t *pod_template, const char *spec, const char *what, char *err, size_t err_size);

/* Applies --set-env "NAME=VALUE" to every container of pod_template
 * (replacing an existing variable of that name, else appending), as
 * `kubectl set env` does; "NAME-" removes it. Returns 0, or -1 with err
 * for a spec without "=" or "-", or an invalid variable name. */
int canary_template_set_env(json_t *pod_template, const char *spec, char *err, size_t err_size);

#endif
