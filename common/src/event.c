/* Kubernetes Events (core/v1) about an object, written as client-go's
 * event recorder writes them, so kubectl describe and kubectl events show
 * them. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kube/event.h>

#include "internal.h"

#define EVENT_MESSAGE_MAX  1024 /* what the contract keeps of a message */
#define EVENT_INSTANCE_MAX 128  /* the server's limit on reportingInstance */
#define EVENT_NAME_MAX     253  /* a DNS subdomain */

static const kube_resource events = {"", "v1", "events", "Event", 1};

/* Length of the longest prefix of s[0..len) that is well-formed UTF-8 and
 * at most max bytes, never cutting a character in two. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = p[i] < 0x80             ? 1
		           : (p[i] & 0xe0) == 0xc0 ? 2
		           : (p[i] & 0xf0) == 0xe0 ? 3
		           : (p[i] & 0xf8) == 0xf0 ? 4
		                                   : 0;
		if (n == 0 || i + n > len || i + n > max || (n == 2 && p[i] < 0xc2))
			break;
		size_t k = 1;
		while (k < n && (p[i + k] & 0xc0) == 0x80)
			k++;
		if (k < n)
			break;
		i += n;
	}
	return i;
}

/* ms since the epoch as a metav1.Time: "2026-11-24T05:40:00Z". */
static void time_format(char *out, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	(void)snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	               tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "<object name>.<hex nanoseconds>" as client-go names events, with the
 * object's part shortened (and no trailing '.' or '-' left) so the whole
 * stays a DNS subdomain. */
static char *event_name(const char *object_name)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned long long nanos = (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
	char suffix[32];
	int suffix_len = snprintf(suffix, sizeof(suffix), ".%llx", nanos);
	size_t keep = strlen(object_name);
	if (keep > EVENT_NAME_MAX - (size_t)suffix_len)
		keep = EVENT_NAME_MAX - (size_t)suffix_len;
	while (keep > 1 && (object_name[keep - 1] == '.' || object_name[keep - 1] == '-'))
		keep--;
	return kube_asprintf("%.*s%s", (int)keep, object_name, suffix);
}

int kube_event_record(kube_client *client, const json_t *object, const kube_event_options *opts)
{
	kube_write_options write_opts = KUBE_WRITE_OPTIONS_INIT;
	json_t *event = NULL, *involved = NULL;
	char *name = NULL;
	char host[EVENT_INSTANCE_MAX + 1] = "";
	char now[64];
	int rc = 0;

	assert(client && object && opts && opts->reason && opts->message && opts->component);
	const json_t *meta = json_object_get(object, "metadata");
	const char *api_version = json_string_value(json_object_get(object, "apiVersion"));
	const char *kind = json_string_value(json_object_get(object, "kind"));
	const char *object_name = json_string_value(json_object_get(meta, "name"));
	const char *object_ns = json_string_value(json_object_get(meta, "namespace"));
	if (!api_version || !kind || !object_name || !*object_name)
		return kube_error_set(KUBE_EINVALID, "event: the object needs apiVersion, kind and metadata.name");
	if (object_ns && !*object_ns)
		object_ns = NULL;
	size_t message_len = strlen(opts->message);
	size_t kept = utf8_prefix(opts->message, message_len, EVENT_MESSAGE_MAX);
	if (kept < message_len && kept < EVENT_MESSAGE_MAX - 3)
		return kube_error_set(KUBE_EINVALID, "event: the message is not valid UTF-8");

	/* A cluster-scoped object's events live in "default", as client-go
	 * puts them. */
	const char *ns = object_ns ? object_ns : "default";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	time_format(now, sizeof(now), kube_client_server_now_ms(client));
	if (!(name = event_name(object_name))) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	/* "s*" leaves absent values out */
	involved =
	        json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:s*}", "apiVersion", api_version, "kind", kind, "name",
	                  object_name, "namespace", object_ns, "uid", json_string_value(json_object_get(meta, "uid")),
	                  "resourceVersion", json_string_value(json_object_get(meta, "resourceVersion")));
	/* "o" steals involved, also when packing fails */
	event = involved ? json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s#, s:s, s:{s:s, s:s*}, s:s, s:s, s:i, "
	                             "s:s, s:s*, s:s*}",
	                             "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
	                             "involvedObject", involved, "reason", opts->reason, "message", opts->message,
	                             (int)kept, "type", opts->type ? opts->type : "Normal", "source", "component",
	                             opts->component, "host", host[0] ? host : NULL, "firstTimestamp", now,
	                             "lastTimestamp", now, "count", 1, "reportingComponent", opts->component,
	                             "reportingInstance", host[0] ? host : NULL, "action", opts->action)
	                 : NULL;
	involved = NULL;
	if (!event) {
		rc = kube_error_set(KUBE_ENOMEM, "out of memory");
		goto done;
	}
	write_opts.dry_run = opts->dry_run;
	rc = kube_client_create(client, NULL, &events, ns, event, &write_opts);
	if (rc)
		kube_error_wrap("event %s on %s %s/%s", opts->reason, kind, ns, object_name);
	else
		kube_log(KUBE_LOG_DECISION, "event %s%s on %s %s/%s: %s", opts->reason,
		         opts->dry_run ? " (dry run)" : "", kind, ns, object_name, opts->message);
done:
	json_decref(event);
	kube_free(name);
	return rc;
}
