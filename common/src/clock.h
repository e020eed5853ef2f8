/* The clocks libkube times things with: the monotonic clock for
 * deadlines and durations, sleeping, and jitter for retry backoff. */
#ifndef KUBE_CLOCK_H
#define KUBE_CLOCK_H

/* Milliseconds on the monotonic clock. */
long long kube_now_ms(void);

/* Sleeps for ms milliseconds (interrupted sleeps resume). */
void kube_sleep_ms(long ms);

/* A random delay in [0, max_ms] for backoff jitter. */
long kube_jitter_ms(long max_ms);

#endif
