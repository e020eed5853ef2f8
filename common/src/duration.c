/* kubectl's --request-timeout format (clientcmd helpers.go ParseTimeout):
 * a bare non-negative integer is seconds, anything else a Go duration. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <kube/config.h>

#include "internal.h"

#define NS_PER_MS 1000000ull

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
        {"ns", 1ull},
        {"us", 1000ull},
        {"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000ull}, /* U+03BC Greek mu */
        {"ms", NS_PER_MS},
        {"s", 1000ull * NS_PER_MS},
        {"m", 60ull * 1000ull * NS_PER_MS},
        {"h", 3600ull * 1000ull * NS_PER_MS},
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* strconv.ParseInt(text, 10, 64) >= 0: seconds. Returns 1 when text is
 * such an integer (and fits), 0 when it is not an integer at all. */
static int parse_seconds(long *out_ms, const char *text)
{
	const char *digit = text + (*text == '+' || *text == '-');
	int negative = *text == '-';
	long seconds = 0;
	if (!*digit)
		return 0;
	for (const char *c = digit; *c; c++) {
		if (!is_digit(*c))
			return 0;
		if (seconds > (LONG_MAX / 1000 - (*c - '0')) / 10)
			return -1;
		seconds = seconds * 10 + (*c - '0');
	}
	if (negative && seconds != 0)
		return -1;
	*out_ms = seconds * 1000;
	return 1;
}

/* time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?unit)+ or "0". */
static int parse_go_duration(uint64_t *out_ns, int *negative, const char *text)
{
	const uint64_t max = (uint64_t)INT64_MAX;
	uint64_t total = 0;
	*negative = *text == '-';
	if (*text == '-' || *text == '+')
		text++;
	if (strcmp(text, "0") == 0) {
		*out_ns = 0;
		return 0;
	}
	if (!*text)
		return -1;
	while (*text) {
		uint64_t whole = 0, fraction = 0, scale = 1;
		int digits = 0;
		for (; is_digit(*text); text++, digits++) {
			if (whole > (max - 9) / 10)
				return -1;
			whole = whole * 10 + (uint64_t)(*text - '0');
		}
		if (*text == '.') {
			for (text++; is_digit(*text); text++, digits++) {
				/* Digits past nanosecond precision do not matter. */
				if (scale < 1000000000000000000ull) {
					fraction = fraction * 10 + (uint64_t)(*text - '0');
					scale *= 10;
				}
			}
		}
		if (digits == 0)
			return -1;
		const char *unit_start = text;
		while (*text && *text != '.' && !is_digit(*text))
			text++;
		size_t unit_len = (size_t)(text - unit_start);
		uint64_t unit = 0;
		for (size_t i = 0; i < KUBE_ARRAY_SIZE(units); i++) {
			if (strlen(units[i].name) == unit_len && memcmp(units[i].name, unit_start, unit_len) == 0)
				unit = units[i].ns;
		}
		if (!unit || whole > max / unit)
			return -1;
		uint64_t value = whole * unit;
		if (fraction)
			value += (uint64_t)((double)fraction * ((double)unit / (double)scale));
		if (value > max || total > max - value)
			return -1;
		total += value;
	}
	*out_ns = total;
	return 0;
}

int kube_duration_parse(long *out_ms, const char *text)
{
	uint64_t ns = 0;
	int negative = 0;
	if (!text)
		return kube_error_set(KUBE_EINVALID, "invalid duration: empty");
	int seconds = parse_seconds(out_ms, text);
	if (seconds == 1)
		return 0;
	if (seconds == 0 && parse_go_duration(&ns, &negative, text) == 0 && (!negative || ns == 0)) {
		/* Round up so a sub-millisecond timeout does not become "none". */
		uint64_t ms = ns / NS_PER_MS + (ns % NS_PER_MS != 0);
		if (ms <= (uint64_t)LONG_MAX) {
			*out_ms = (long)ms;
			return 0;
		}
	}
	return kube_error_set(KUBE_EINVALID,
	                      "invalid duration \"%s\": must be a non-negative integer in seconds or a number "
	                      "with a unit (e.g. 1s, 2m, 3h)",
	                      text);
}
