/* The clocks libkube times things with: the monotonic clock for
 * deadlines and durations and sleeping (public, kube/clock.h), jitter for
 * retry backoff, and the RFC 3339 timestamps in which the API server
 * writes wall-clock times. */
#ifndef KUBE_CLOCK_INTERNAL_H
#define KUBE_CLOCK_INTERNAL_H

#include <stdint.h>

#include <kube/clock.h>

/* A random delay in [0, max_ms] for backoff jitter. */
long kube_jitter_ms(long max_ms);

/* The wait before the attempt-th retry (0 first) of a request or a stream
 * upgrade: 100 ms doubling to 5 s, each wait between half and all of it. */
long kube_backoff_ms(int attempt);

/* Parses text as Go's time.Parse(time.RFC3339, text) does, which
 * metav1.Time and metav1.MicroTime use:
 * 2006-01-02T15:04:05[.fraction](Z|+hh:mm|-hh:mm), a fraction of any
 * length after '.' or ','. Writes the seconds since the epoch to *out_s and
 * the nanoseconds past them to *out_ns. Returns 0, or -1 (nothing written)
 * when text is NULL or not such a time. */
int kube_time_parse_rfc3339(int64_t *out_s, long *out_ns, const char *text);

#endif
