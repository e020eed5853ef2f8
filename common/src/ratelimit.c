/* The client-side token bucket. */
#include "ratelimit.h"

void kube_ratelimit_init(struct kube_ratelimit *rl, double qps, int burst, long long now_ms)
{
	rl->qps = qps > 0 ? qps : 50;
	rl->burst = burst > 0 ? burst : 300;
	rl->tokens = rl->burst;
	rl->last_ms = now_ms;
}

long kube_ratelimit_take(struct kube_ratelimit *rl, long long now_ms)
{
	if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->qps / 1000.0;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ms = now_ms;
	}
	rl->tokens -= 1.0;
	if (rl->tokens >= 0)
		return 0;
	/* In debt: wait until the bucket refills to zero. */
	return (long)(-rl->tokens * 1000.0 / rl->qps + 0.999);
}
