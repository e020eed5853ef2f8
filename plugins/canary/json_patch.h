/* JSON Patches (RFC 6902) of D, without I/O: the merge patches (RFC 7386)
 * the canary steps compose, translated against D as read; the test
 * operations that make such a patch conditional on what a run owns (its
 * spec, rollguard's annotations and labels) instead of on the
 * resourceVersion, which the Deployment controller bumps with every status
 * write; and the encoding the API server's test operations compare. */
#ifndef CANARY_JSON_PATCH_H
#define CANARY_JSON_PATCH_H

#include <jansson.h>
#include <kube/buf.h>

/* Appends to pointer (a JSON Pointer being built) "/" and token, with '~'
 * and '/' escaped as "~0" and "~1". Returns 0 or KUBE_ENOMEM. */
int canary_json_pointer_append(kube_buf *pointer, const char *token);

/* Appends to ops (an array) the operations that do to target what
 * merge_patch (an object) would, RFC 7386 translated against target as it
 * is: a null member is a "remove" when target has that member, nothing
 * otherwise; an object member whose target member is an object recurses;
 * any other member is an "add" (which replaces) of its value with the
 * nulls of its objects dropped. Arrays are replaced whole. Applied to a
 * document that differs from target, the operations may fail (a "remove"
 * of a member that went away) or replace what merge_patch would have
 * merged into (an object that appeared where target had none): callers
 * guard them with test operations. Returns 0 or KUBE_ENOMEM (ops may then
 * hold some operations). */
int canary_json_patch_from_merge(json_t *ops, const json_t *target, const json_t *merge_patch);

/* Appends to ops the test operations that hold while object still has
 * the metadata.uid, the spec and every rollguard.io/ annotation and label
 * (each with its value) it has now. A key rollguard.io/ that object lacks
 * cannot be tested for. Returns 0 or KUBE_ENOMEM. */
int canary_json_patch_guard(json_t *ops, const json_t *object);

/* Encodes ops into out as the API server encodes an object: compact, with
 * '<', '>', '&', U+2028 and U+2029 escaped and \u escapes in lower case
 * (Go's encoding/json). A test operation compares its value with the
 * object's encoding byte for byte, so "a&b" would not match the "a\u0026b"
 * the server holds. Returns 0 or KUBE_ENOMEM. */
int canary_json_patch_encode(kube_buf *out, const json_t *ops);

#endif
