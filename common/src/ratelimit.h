/* A token bucket limiting requests per second, as client-go's
 * flowcontrol.NewTokenBucketRateLimiter(qps, burst). */
#ifndef KUBE_RATELIMIT_H
#define KUBE_RATELIMIT_H

struct kube_ratelimit {
	double qps;
	double burst;
	double tokens;
	long long last_ms;
};

void kube_ratelimit_init(struct kube_ratelimit *rl, double qps, int burst, long long now_ms);

/* Takes one token; returns how many milliseconds the caller must wait
 * before sending (0 when a token was available). */
long kube_ratelimit_take(struct kube_ratelimit *rl, long long now_ms);

#endif
