/* Monotonic time, sleeping, backoff jitter and RFC 3339 timestamps. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

long long kube_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kube_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

long kube_jitter_ms(long max_ms)
{
	/* xorshift64, seeded once per process from the clock and pid so that
	 * many clients started together do not retry in step */
	static _Thread_local unsigned long long state;
	if (max_ms <= 0)
		return 0;
	if (!state) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
		        ((unsigned long long)getpid() << 40) ^ 0x9E3779B97F4A7C15ULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (long)(state % (unsigned long long)(max_ms + 1));
}

static int parse_digits(const char *s, int count, int *out)
{
	int value = 0;
	for (int i = 0; i < count; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		value = value * 10 + (s[i] - '0');
	}
	*out = value;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil); POSIX has no timegm. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t year_of_era = year - era * 400;
	int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

int kube_time_parse_rfc3339(int64_t *out_s, long *out_ns, const char *text)
{
	static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year, month, day, hour, minute, second;
	if (!text || strlen(text) < 20 || parse_digits(text, 4, &year) || text[4] != '-' ||
	    parse_digits(text + 5, 2, &month) || text[7] != '-' || parse_digits(text + 8, 2, &day) || text[10] != 'T' ||
	    parse_digits(text + 11, 2, &hour) || text[13] != ':' || parse_digits(text + 14, 2, &minute) ||
	    text[16] != ':' || parse_digits(text + 17, 2, &second))
		return -1;
	const char *p = text + 19;
	long nanos = 0;
	if (*p == '.' || *p == ',') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 9)
				nanos = nanos * 10 + (*p - '0');
		}
		if (digits == 0)
			return -1;
		for (; digits < 9; digits++)
			nanos *= 10;
	}
	int offset_s = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int off_hour, off_minute;
		if (parse_digits(p + 1, 2, &off_hour) || p[3] != ':' || parse_digits(p + 4, 2, &off_minute) ||
		    off_hour > 23 || off_minute > 59)
			return -1;
		offset_s = (off_hour * 60 + off_minute) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59)
		return -1;
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > month_days[month - 1] + (month == 2 && leap))
		return -1;
	*out_s = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
	*out_ns = nanos;
	return 0;
}

long kube_backoff_ms(int attempt)
{
	long base = 100L << (attempt < 6 ? attempt : 6);
	if (base > 5000)
		base = 5000;
	return base / 2 + kube_jitter_ms(base / 2);
}
