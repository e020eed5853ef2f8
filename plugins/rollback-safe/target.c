/* Target selection. Helm's own rollback goes to current-1 whatever its
 * status (helm/helm#1796, #5237); a safe rollback goes to the newest
 * revision that was actually running: deployed or superseded. */
#include <stdio.h>
#include <string.h>

#include "target.h"

int rollback_status_is_good(enum rollback_status status)
{
	return status == ROLLBACK_STATUS_DEPLOYED || status == ROLLBACK_STATUS_SUPERSEDED;
}

void rollback_target_reason(char *buf, size_t size, enum rollback_status status, const char *description)
{
	const char *desc = description && description[0] ? description : NULL;
	switch (status) {
	case ROLLBACK_STATUS_DEPLOYED:
	case ROLLBACK_STATUS_SUPERSEDED:
		snprintf(buf, size, "%s", "");
		break;
	case ROLLBACK_STATUS_FAILED:
		snprintf(buf, size, "failed%s%.140s", desc ? ": " : "", desc ? desc : "");
		break;
	case ROLLBACK_STATUS_PENDING_INSTALL:
	case ROLLBACK_STATUS_PENDING_UPGRADE:
	case ROLLBACK_STATUS_PENDING_ROLLBACK:
		snprintf(buf, size, "%s: the operation never finished", rollback_status_name(status));
		break;
	case ROLLBACK_STATUS_UNINSTALLED:
	case ROLLBACK_STATUS_UNINSTALLING:
		snprintf(buf, size, "%s", rollback_status_name(status));
		break;
	case ROLLBACK_STATUS_UNKNOWN:
	default:
		snprintf(buf, size, "%s", "status unknown");
		break;
	}
}

static void skip(rollback_target *out, const rollback_record *rec)
{
	if (out->skipped_count >= ROLLBACK_MAX_SKIPPED)
		return;
	rollback_skip *s = &out->skipped[out->skipped_count++];
	s->revision = rec->revision;
	s->status = rec->status;
	rollback_target_reason(s->reason, sizeof(s->reason), rec->status,
	                       rec->release ? rollback_release_description(rec->release) : NULL);
}

int rollback_target_choose(rollback_target *out, const rollback_history *history, long long requested, int allow_failed)
{
	memset(out, 0, sizeof(*out));
	if (history->count == 0)
		return ROLLBACK_TARGET_NONE;
	out->current = history->items[history->count - 1].revision;
	if (requested > 0) {
		for (size_t i = 0; i < history->count; i++) {
			const rollback_record *rec = &history->items[i];
			if (rec->revision != requested)
				continue;
			out->target = requested;
			if (!rollback_status_is_good(rec->status) && !allow_failed) {
				skip(out, rec);
				return ROLLBACK_TARGET_UNSAFE;
			}
			return ROLLBACK_TARGET_OK;
		}
		return ROLLBACK_TARGET_MISSING;
	}
	for (size_t i = history->count - 1; i-- > 0;) {
		const rollback_record *rec = &history->items[i];
		if (rollback_status_is_good(rec->status)) {
			out->target = rec->revision;
			return ROLLBACK_TARGET_OK;
		}
		skip(out, rec);
	}
	return ROLLBACK_TARGET_NONE;
}
