/* YAML 1.1 scalar typing: go-yaml v2's resolve() as vendored by
 * sigs.k8s.io/yaml (goyaml.v2/resolve.go), with Go's strconv number
 * syntax, and Go's shortest float formatting. */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "yaml_resolve.h"

#define LONG_TAG "tag:yaml.org,2002:"

enum tag_id { TAG_NONE, TAG_STR, TAG_BOOL, TAG_INT, TAG_FLOAT, TAG_NULL, TAG_TIMESTAMP, TAG_OTHER };

static const char *const tag_names[] = {"", "str", "bool", "int", "float", "null", "timestamp"};

/* The tag each kind resolves to, and its short name for messages. */
static const enum tag_id kind_tags[] = {TAG_STR, TAG_NULL, TAG_BOOL, TAG_INT, TAG_FLOAT, TAG_TIMESTAMP, TAG_OTHER};
static const char *const kind_names[] = {"!!str", "!!null", "!!bool", "!!int", "!!float", "!!timestamp", "!!merge"};

/* resolve.go's resolveMap: the words that are not strings when plain. */
static const struct {
	const char *text;
	enum kube_yaml_kind kind;
	int boolean;
	double real;
} words[] = {
        {"y", KUBE_YAML_BOOL, 1, 0},
        {"Y", KUBE_YAML_BOOL, 1, 0},
        {"yes", KUBE_YAML_BOOL, 1, 0},
        {"Yes", KUBE_YAML_BOOL, 1, 0},
        {"YES", KUBE_YAML_BOOL, 1, 0},
        {"true", KUBE_YAML_BOOL, 1, 0},
        {"True", KUBE_YAML_BOOL, 1, 0},
        {"TRUE", KUBE_YAML_BOOL, 1, 0},
        {"on", KUBE_YAML_BOOL, 1, 0},
        {"On", KUBE_YAML_BOOL, 1, 0},
        {"ON", KUBE_YAML_BOOL, 1, 0},
        {"n", KUBE_YAML_BOOL, 0, 0},
        {"N", KUBE_YAML_BOOL, 0, 0},
        {"no", KUBE_YAML_BOOL, 0, 0},
        {"No", KUBE_YAML_BOOL, 0, 0},
        {"NO", KUBE_YAML_BOOL, 0, 0},
        {"false", KUBE_YAML_BOOL, 0, 0},
        {"False", KUBE_YAML_BOOL, 0, 0},
        {"FALSE", KUBE_YAML_BOOL, 0, 0},
        {"off", KUBE_YAML_BOOL, 0, 0},
        {"Off", KUBE_YAML_BOOL, 0, 0},
        {"OFF", KUBE_YAML_BOOL, 0, 0},
        {"", KUBE_YAML_NULL, 0, 0},
        {"~", KUBE_YAML_NULL, 0, 0},
        {"null", KUBE_YAML_NULL, 0, 0},
        {"Null", KUBE_YAML_NULL, 0, 0},
        {"NULL", KUBE_YAML_NULL, 0, 0},
        {".nan", KUBE_YAML_FLOAT, 0, NAN},
        {".NaN", KUBE_YAML_FLOAT, 0, NAN},
        {".NAN", KUBE_YAML_FLOAT, 0, NAN},
        {".inf", KUBE_YAML_FLOAT, 0, INFINITY},
        {".Inf", KUBE_YAML_FLOAT, 0, INFINITY},
        {".INF", KUBE_YAML_FLOAT, 0, INFINITY},
        {"+.inf", KUBE_YAML_FLOAT, 0, INFINITY},
        {"+.Inf", KUBE_YAML_FLOAT, 0, INFINITY},
        {"+.INF", KUBE_YAML_FLOAT, 0, INFINITY},
        {"-.inf", KUBE_YAML_FLOAT, 0, -INFINITY},
        {"-.Inf", KUBE_YAML_FLOAT, 0, -INFINITY},
        {"-.INF", KUBE_YAML_FLOAT, 0, -INFINITY},
        {"<<", KUBE_YAML_MERGE, 0, 0},
};

enum { NUM_OK, NUM_SYNTAX, NUM_RANGE };

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static enum tag_id tag_id(const char *tag)
{
	size_t prefix = strlen(LONG_TAG);
	if (!tag)
		return TAG_NONE;
	if (strncmp(tag, LONG_TAG, prefix) != 0)
		return TAG_OTHER;
	for (size_t i = 1; i < KUBE_ARRAY_SIZE(tag_names); i++)
		if (strcmp(tag + prefix, tag_names[i]) == 0)
			return (enum tag_id)i;
	return TAG_OTHER;
}

/* resolveTable: the first byte says what a plain scalar might be. */
static char hint_of(char c)
{
	if (c == '+' || c == '-')
		return 'S';
	if (is_digit(c))
		return 'D';
	if (c && strchr("yYnNtTfFoO~", c))
		return 'M';
	return c == '.' ? '.' : 0;
}

/* strtod in the C locale's syntax whatever LC_NUMERIC says (as jansson
 * does); text is modified. */
static double strtod_c(char *text)
{
	char point = *localeconv()->decimal_point;
	char *dot = strchr(text, '.');
	if (dot && point && point != '.')
		*dot = point;
	return strtod(text, NULL);
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (yamlStyleFloat) */
static int is_yaml_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && is_digit(s[i]); i++)
		digits++;
	if (i < n && s[i] == '.') {
		size_t fraction = 0;
		for (i++; i < n && is_digit(s[i]); i++)
			fraction++;
		if (!digits && !fraction)
			return 0;
	} else if (!digits) {
		return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exponent = 0;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && is_digit(s[i]); i++)
			exponent++;
		if (!exponent)
			return 0;
	}
	return i == n;
}

/* strconv's underscoreOK for a number without base prefix: each '_' sits
 * between two digits. */
static int underscores_ok(const char *s, size_t n)
{
	char saw = '^';
	for (size_t i = 0; i < n; i++) {
		if (is_digit(s[i])) {
			saw = '0';
		} else if (s[i] == '_') {
			if (saw != '0')
				return 0;
			saw = '_';
		} else {
			if (saw == '_')
				return 0;
			saw = '!';
		}
	}
	return saw != '_';
}

/* strconv.ParseUint(s, 0, 64): 0x/0o/0b prefixes, a leading 0 for octal,
 * no sign. approx gets the value as a double even when out of range. */
static int parse_uint_base0(const char *s, size_t n, unsigned long long *out, double *approx)
{
	unsigned base = 10;
	size_t i = 0;
	int range = 0;
	*out = 0;
	*approx = 0;
	if (n == 0)
		return NUM_SYNTAX;
	if (s[0] == '0' && n > 1) {
		char prefix = (char)(s[1] | 0x20);
		base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 8;
		i = (prefix == 'x' || prefix == 'o' || prefix == 'b') ? 2 : 1;
		if (i == n)
			return NUM_SYNTAX;
	}
	for (; i < n; i++) {
		char c = (char)(s[i] | 0x20);
		unsigned digit = is_digit(s[i])           ? (unsigned)(s[i] - '0')
		                 : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
		                                          : 99;
		if (digit >= base)
			return NUM_SYNTAX;
		if (*out > (ULLONG_MAX - digit) / base)
			range = 1;
		else
			*out = *out * base + digit;
		*approx = *approx * base + digit;
	}
	return range ? NUM_RANGE : NUM_OK;
}

/* The 'D'/'S' branch of resolve(): int64, then uint64, then a float, then
 * a big integer; otherwise a string. plain has no underscores. */
static void resolve_number(struct kube_yaml_scalar *out, char *plain, size_t n)
{
	int has_sign = plain[0] == '+' || plain[0] == '-';
	int negative = plain[0] == '-';
	unsigned long long magnitude;
	double approx;
	int rc = parse_uint_base0(plain + has_sign, n - (size_t)has_sign, &magnitude, &approx);
	if (rc == NUM_OK && magnitude <= (unsigned long long)LLONG_MAX) {
		out->kind = KUBE_YAML_INT;
		out->integer = negative ? -(long long)magnitude : (long long)magnitude;
		return;
	}
	if (rc == NUM_OK && negative && magnitude == (unsigned long long)LLONG_MAX + 1) {
		out->kind = KUBE_YAML_INT;
		out->integer = LLONG_MIN;
		return;
	}
	if (has_sign) /* ParseUint takes no sign */
		rc = NUM_SYNTAX;
	if (rc == NUM_OK) {
		out->kind = KUBE_YAML_INT;
		out->integer_too_big = 1;
		out->real = (double)magnitude;
		return;
	}
	if (is_yaml_float(plain, n)) {
		double value = strtod_c(plain);
		if (isfinite(value)) { /* ParseFloat fails on overflow: a string */
			out->kind = KUBE_YAML_FLOAT;
			out->real = value;
			return;
		}
	}
	if (rc == NUM_RANGE) {
		out->kind = KUBE_YAML_INT;
		out->integer_too_big = 1;
		out->real = approx;
	}
}

/* 1 or 2 digits, as time.Parse's getnum(value, false). */
static int time_field(const char *s, size_t n, size_t *i, int *out)
{
	if (*i >= n || !is_digit(s[*i]))
		return 0;
	*out = s[(*i)++] - '0';
	if (*i < n && is_digit(s[*i]))
		*out = *out * 10 + (s[(*i)++] - '0');
	return 1;
}

/* parseTimestamp: "2006-1-2T15:4:5.999999999Z07:00" (or lower-case t),
 * "2006-1-2 15:4:5.999999999" and "2006-1-2", with time.Parse's ranges. */
static int is_timestamp(const char *s, size_t n)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year = 0, month, day, hour, minute, second, zone_hour, zone_minute;
	size_t i = 5;
	char separator;
	if (n < 5 || s[4] != '-')
		return 0;
	for (int k = 0; k < 4; k++) {
		if (!is_digit(s[k]))
			return 0;
		year = year * 10 + (s[k] - '0');
	}
	if (!time_field(s, n, &i, &month) || i >= n || s[i++] != '-' || !time_field(s, n, &i, &day))
		return 0;
	if (month < 1 || month > 12 || day < 1 || day > days[month - 1])
		return 0;
	if (month == 2 && day == 29 && (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0)))
		return 0;
	if (i == n)
		return 1;
	separator = s[i++];
	if (separator == ' ')
		while (i < n && s[i] == ' ')
			i++;
	else if (separator != 'T' && separator != 't')
		return 0;
	if (!time_field(s, n, &i, &hour) || i >= n || s[i++] != ':' || !time_field(s, n, &i, &minute) || i >= n ||
	    s[i++] != ':' || !time_field(s, n, &i, &second))
		return 0;
	if (hour > 23 || minute > 59 || second > 59)
		return 0;
	if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1]))
		for (i++; i < n && is_digit(s[i]);)
			i++;
	if (separator == ' ')
		return i == n;
	if (i < n && s[i] == 'Z')
		return i + 1 == n;
	if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' || !is_digit(s[i + 1]) ||
	    !is_digit(s[i + 2]) || !is_digit(s[i + 4]) || !is_digit(s[i + 5]))
		return 0;
	zone_hour = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
	zone_minute = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
	return zone_hour <= 24 && zone_minute <= 60;
}

/* resolve() for an untagged (or !!timestamp-tagged) scalar. */
static int resolve_text(struct kube_yaml_scalar *out, const char *text, size_t len, int try_timestamp)
{
	char stack[128];
	char *plain = stack;
	size_t n = 0;
	char hint = len ? hint_of(text[0]) : 'N';
	if (!hint)
		return 0;
	for (size_t i = 0; i < KUBE_ARRAY_SIZE(words); i++) {
		if (strlen(words[i].text) == len && memcmp(words[i].text, text, len) == 0) {
			out->kind = words[i].kind;
			out->boolean = words[i].boolean;
			out->real = words[i].real;
			return 0;
		}
	}
	if (hint == 'M' || hint == 'N')
		return 0;
	if (try_timestamp && hint == 'D' && is_timestamp(text, len)) {
		out->kind = KUBE_YAML_TIMESTAMP;
		return 0;
	}
	if (len >= sizeof(stack) && !(plain = kube_malloc(len + 1)))
		return kube_error_set(KUBE_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		if (text[i] != '_')
			plain[n++] = text[i];
	plain[n] = '\0';
	if (hint != '.') {
		resolve_number(out, plain, n);
	} else if (underscores_ok(text, len) && is_yaml_float(plain, n)) {
		/* strconv.ParseFloat(text): fails (a string) on overflow */
		double value = strtod_c(plain);
		if (isfinite(value)) {
			out->kind = KUBE_YAML_FLOAT;
			out->real = value;
		}
	}
	if (plain != stack)
		kube_free(plain);
	return 0;
}

int kube_yaml_resolve(struct kube_yaml_scalar *out, const char *tag, const char *text, size_t len, char *problem,
                      size_t problem_size)
{
	enum tag_id want = tag_id(tag);
	memset(out, 0, sizeof(*out));
	out->kind = KUBE_YAML_STR;
	if (want == TAG_STR || want == TAG_OTHER)
		return 0;
	/* a NUL byte can be part of a string only */
	if (!memchr(text, '\0', len)) {
		int rc = resolve_text(out, text, len, want == TAG_NONE || want == TAG_TIMESTAMP);
		if (rc)
			return rc;
	}
	if (want == TAG_NONE || kind_tags[out->kind] == want)
		return 0;
	if (want == TAG_FLOAT && out->kind == KUBE_YAML_INT) {
		if (!out->integer_too_big)
			out->real = (double)out->integer;
		out->kind = KUBE_YAML_FLOAT;
		out->integer_too_big = 0;
		return 0;
	}
	(void)snprintf(problem, problem_size, "cannot decode %s `%.*s` as a !!%s", kind_names[out->kind],
	               (int)(len > 40 ? 40 : len), text, tag_names[want]);
	return KUBE_EINVALID;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ (encode.go's
 * base60float): YAML 1.1 sexagesimal, which go-yaml quotes on output. */
static int is_base60_float(const char *s, size_t n)
{
	size_t i = 0;
	int groups = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	while (i < n && (is_digit(s[i]) || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		if (++i >= n || !is_digit(s[i]))
			return 0;
		i += (i + 1 < n && is_digit(s[i + 1]) && s[i] <= '5') ? 2 : 1;
		groups++;
	}
	if (!groups)
		return 0;
	if (i < n && s[i] == '.')
		for (i++; i < n && (is_digit(s[i]) || s[i] == '_');)
			i++;
	return i == n;
}

int kube_yaml_plain_is_string(const char *text, size_t len)
{
	struct kube_yaml_scalar scalar;
	char problem[8];
	int rc = kube_yaml_resolve(&scalar, NULL, text, len, problem, sizeof(problem));
	if (rc)
		return rc;
	/* "<<" resolves as a string (its first byte is no hint) but a plain
	 * "<<" key would merge */
	if (len == 2 && memcmp(text, "<<", 2) == 0)
		return 0;
	return scalar.kind == KUBE_YAML_STR && !is_base60_float(text, len);
}

/* Go's shortest 'g' format: the fewest digits that read back as the same
 * float32/float64, in %e form when the exponent is < -4 or >= 6. */
void kube_yaml_format_float(char *out, size_t size, double value, int bits)
{
	char digits[48];
	char point = *localeconv()->decimal_point;
	int precision, exponent;
	if (bits == 32 && isfinite(value))
		value = fabs(value) > FLT_MAX ? copysign(INFINITY, value) : (double)(float)value;
	if (isnan(value)) {
		(void)snprintf(out, size, ".nan");
		return;
	}
	if (isinf(value)) {
		(void)snprintf(out, size, value > 0 ? ".inf" : "-.inf");
		return;
	}
	for (precision = 1; precision < 17; precision++) {
		char back[48];
		double parsed;
		(void)snprintf(digits, sizeof(digits), "%.*e", precision - 1, value);
		memcpy(back, digits, sizeof(back));
		parsed = strtod_c(back);
		if (bits == 32 ? fabs(parsed) <= FLT_MAX && (float)parsed == (float)value : parsed == value)
			break;
	}
	(void)snprintf(digits, sizeof(digits), "%.*e", precision - 1, value);
	exponent = (int)strtol(strchr(digits, 'e') + 1, NULL, 10);
	if (exponent < -4 || exponent >= 6)
		(void)snprintf(out, size, "%s", digits);
	else
		(void)snprintf(out, size, "%.*f", precision - 1 - exponent > 0 ? precision - 1 - exponent : 0, value);
	for (char *c = out; *c; c++)
		if (*c == point && point != '.')
			*c = '.';
}
