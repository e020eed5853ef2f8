/* YAML 1.1 scalar typing as go-yaml v2 (sigs.k8s.io/yaml) applies it,
 * shared by the reader (yaml.c) and the writer (yaml_emit.c). */
#ifndef KUBE_YAML_RESOLVE_H
#define KUBE_YAML_RESOLVE_H

#include <stddef.h>

enum kube_yaml_kind {
	KUBE_YAML_STR,
	KUBE_YAML_NULL,
	KUBE_YAML_BOOL,
	KUBE_YAML_INT,
	KUBE_YAML_FLOAT,
	KUBE_YAML_TIMESTAMP, /* looks like a timestamp; kept as its text */
	KUBE_YAML_MERGE      /* the merge key "<<" */
};

struct kube_yaml_scalar {
	enum kube_yaml_kind kind;
	int boolean;
	long long integer;
	int integer_too_big; /* INT beyond int64 (go-yaml: uint64 or big.Int); value in real */
	double real;         /* FLOAT (may be infinite or NaN for .inf/.nan) */
};

/* Resolves len bytes of scalar text carrying tag (NULL for an untagged
 * plain scalar; libyaml's long form "tag:yaml.org,2002:int" otherwise).
 * Tags other than str/bool/int/float/null/timestamp leave the text a
 * string. Returns 0; KUBE_EINVALID when the text contradicts the tag, with
 * go-yaml's "cannot decode !!str `x` as a !!int" in problem; KUBE_ENOMEM. */
int kube_yaml_resolve(struct kube_yaml_scalar *out, const char *tag, const char *text, size_t len, char *problem,
                      size_t problem_size);

/* Whether text may be written as a plain scalar and read back as the same
 * string (go-yaml's canUsePlain: resolves to !!str and is not a YAML 1.1
 * base-60 number). Returns 1, 0, or KUBE_ENOMEM. */
int kube_yaml_plain_is_string(const char *text, size_t len);

/* Go's strconv.FormatFloat(value, 'g', -1, bits) with go-yaml's spelling
 * of infinities and NaN (.inf, -.inf, .nan); bits is 32 or 64. */
void kube_yaml_format_float(char *out, size_t size, double value, int bits);

#endif
