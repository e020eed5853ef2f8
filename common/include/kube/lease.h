/* Leases (coordination.k8s.io/v1) as a lock between processes that act on
 * the same object: taken for one short step, renewed while a step waits,
 * released at its end. Expiry is judged on the API server's clock (the Date
 * header of its replies), never on the local one, so clock skew between
 * operators' machines does not break the lock. */
#ifndef KUBE_LEASE_H
#define KUBE_LEASE_H

#include <jansson.h>
#include <kube/client.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_lease kube_lease;

typedef struct kube_lease_options {
	const char *holder; /* holderIdentity; required, unique per process (e.g. "user@host/pid/runid") */
	int duration_s;     /* leaseDurationSeconds; 0 = 15 */
	/* The object the Lease serves (apiVersion, kind, metadata.name and
	 * .uid are read); it becomes the Lease's ownerReference so deleting
	 * the object deletes the Lease. NULL: no owner. */
	const json_t *owner;
	/* Labels put on the Lease (borrowed object of string values), e.g.
	 * {"app.kubernetes.io/managed-by": "rollguard"}. NULL: none. */
	const json_t *labels;
	/* A holder whose hold has ended although its Lease was never released:
	 * the caller learnt it elsewhere (the holder's last commit says its
	 * work is done), so a Lease it holds is taken over at once, as if it
	 * had expired. This is how a holder releases without a request of its
	 * own. NULL: none. */
	const char *released_holder;
} kube_lease_options;

#define KUBE_LEASE_OPTIONS_INIT                                                                                        \
	{                                                                                                              \
		NULL, 0, NULL, NULL, NULL                                                                              \
	}

/* Who holds a Lease that could not be taken. */
typedef struct kube_lease_holder {
	char holder[256];        /* holderIdentity ("" when none) */
	long long renew_ms;      /* renewTime (or acquireTime), ms since the epoch; 0 when unset */
	int duration_s;          /* leaseDurationSeconds */
	long long expires_in_ms; /* on the server's clock; <= 0 when already expired */
	char resource_version[64];
} kube_lease_holder;

/* One attempt to take the Lease ns/name for opts->holder: creates it when
 * absent; takes it over when it has no holder, its holder's time ran out
 * (renewTime + duration before the server's now) or its holder is
 * opts->released_holder; renews it when
 * opts->holder already holds it. *out (owned, free with kube_lease_free)
 * is set on success. Errors: KUBE_ECONFLICT when someone else holds it and
 * it has not expired (held_by, when not NULL, says who and for how long),
 * or when another process won a race for it; KUBE_EFORBIDDEN when the user
 * may not get/create/update Leases (the caller may fall back to another
 * lock); request errors. When the client already knows the server's
 * clock (an earlier reply carried a Date), a free lock costs one request:
 * a create, then a GET and an update only when the Lease exists (with
 * opts->released_holder the GET comes first: that Lease is expected).
 * Otherwise the GET comes first, because its reply's Date is the server's
 * clock that the times written are taken from. A lost race costs one more
 * GET, to name the winner. */
int kube_lease_acquire(kube_lease **out, kube_client *client, const char *ns, const char *name,
                       const kube_lease_options *opts, kube_lease_holder *held_by);

/* Renews a held Lease (renewTime = the server's now), conditional on its
 * resourceVersion. KUBE_ECONFLICT when it was lost meanwhile. */
int kube_lease_renew(kube_client *client, kube_lease *lease);

/* Renews only when at least a third of the duration has passed since the
 * last renewal, so a caller may call this from any wait loop; 0 when
 * nothing was needed. */
int kube_lease_keep(kube_client *client, kube_lease *lease);

/* Releases a held Lease by deleting it (preconditioned on its
 * resourceVersion, so a Lease someone else took over is left alone;
 * KUBE_ENOTFOUND and KUBE_ECONFLICT then count as released: 0). */
int kube_lease_release(kube_client *client, kube_lease *lease);

/* Reads the Lease ns/name into *out without taking it. KUBE_ENOTFOUND
 * when absent. */
int kube_lease_get_holder(kube_lease_holder *out, kube_client *client, const char *ns, const char *name);

/* The holder identity of a held Lease (borrowed). */
const char *kube_lease_holder_identity(const kube_lease *lease);

void kube_lease_free(kube_lease *lease);

#ifdef __cplusplus
}
#endif
#endif
