/* test-teaching-gateway.h: what the gateway tests of the teaching modules
 * (latency, blocking-io, timer-per-request) share on top of
 * harness-gateway.h: their configuration, a serving worker before timings
 * start, and a burst of concurrent requests. */
#pragma once

#include "harness-gateway.h"

G_BEGIN_DECLS

/* Starts a mock and a one-worker gateway with the admin API and one service
 * routed at "/echo", @service_plugins in the service and @global_plugins at
 * the top level (each the inside of a JSON array; NULL for none), and waits
 * for one request through it (200) so timings start with a serving worker. */
PorticoTestGateway *teaching_gateway_start (const char *service_plugins, const char *global_plugins);

/* Opens @n connections, sends "GET @path" on each, then reads every
 * response, all of which must have @status. Returns the time from the first
 * connect to the last response, in microseconds. @values (NULL, or @n
 * entries): each response's @header as an integer, -1 when absent. */
gint64 teaching_gateway_burst (const PorticoTestGateway *g, const char *path, guint n, int status,
                               const char *header, gint64 *values);

/* `portico check` on the same configuration with @plugin as the one global
 * plugin: with @error_path NULL it must pass, else fail (exit 1) with an
 * error that names @error_path. */
void teaching_check_plugin (const char *plugin, const char *error_path);

G_END_DECLS
