/* What the test driver's command files share: connecting, reporting the
 * library's error code beside the CLI's error line, and the commands each
 * file defines. Tests only; never installed. */
#ifndef DRIVER_H
#define DRIVER_H

#include <kube/client.h>
#include <kube/config.h>

#include "cli/command.h"

/* Milliseconds on the monotonic clock. */
long long now_ms(void);
/* Prints "kube-driver: code=... http=... reason=..." for a negative rc; returns rc. */
int report(int rc);
int driver_connect(const cli_args *args, kube_config **config, kube_client **client);
void disconnect(kube_config *config, kube_client *client);
/* NULL with -A, else the resolved namespace. */
const char *namespace_of(const cli_args *args, kube_client *client);

/* driver_streams.c: exec and port-forward over WebSocket. */
extern const cli_command driver_exec_command;
extern const cli_command driver_portforward_http_command;
extern const cli_command driver_portforward_tcp_command;

#endif
