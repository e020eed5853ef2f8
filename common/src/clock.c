/* Monotonic time, sleeping and backoff jitter. */
#include <errno.h>
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
