/* Small text helpers the canary modules share for their one-line error
 * messages. */
#ifndef CANARY_TEXT_H
#define CANARY_TEXT_H

#include <stddef.h>

/* Formats a message into err (err_size bytes); nothing when err is NULL. */
void canary_set_err(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies at most max bytes of text (len bytes) into buf, which holds
 * max + 4, anything but printable ASCII as '?' and "..." when cut, so a
 * message stays one line whatever a flag or an annotation held. Returns
 * buf. */
const char *canary_quote(char *buf, size_t max, const char *text, size_t len);

#endif
