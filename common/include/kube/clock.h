/* The monotonic clock and sleeping, as libkube uses them for deadlines,
 * backoff and waits, for programs that wait the same way. */
#ifndef KUBE_CLOCK_H
#define KUBE_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds on the monotonic clock. */
long long kube_now_ms(void);

/* Sleeps for ms milliseconds; a sleep interrupted by a signal resumes
 * until the time is up. */
void kube_sleep_ms(long ms);

#ifdef __cplusplus
}
#endif
#endif
