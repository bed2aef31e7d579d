/* test-teaching-gateway.h: what the gateway tests of the teaching modules
 * (latency, blocking-io, timer-per-request) share: a one-worker gateway in
 * front of a mock with the module's plugin on it, a burst of concurrent
 * requests, the admin API, and `portico check`. */
#pragma once

#include <json-glib/json-glib.h>
#include "harness.h"

G_BEGIN_DECLS

typedef struct {
  PorticoProc *mock;
  PorticoProc *gw;
  const char *addr; /* the proxy listener */
  char *admin;      /* the admin API */
} TeachingGateway;

/* The configuration: one worker, the bundled modules' directory
 * ($PORTICO_BUNDLED_MODULE_DIR), one service to @upstream routed at
 * "/echo", @service_plugins in the service and @global_plugins at the top
 * level (each the inside of a JSON array; NULL for none). */
char *teaching_gateway_config (const char *upstream, const char *service_plugins,
                               const char *global_plugins);

/* Starts a mock and a gateway with teaching_gateway_config(), and waits for
 * one request through it (200) so timings start with a serving worker. */
TeachingGateway *teaching_gateway_start (const char *service_plugins, const char *global_plugins);
void teaching_gateway_free (TeachingGateway *tg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TeachingGateway, teaching_gateway_free)

/* Opens @n connections, sends "GET @path" on each, then reads every
 * response, all of which must have @status. Returns the time from the first
 * connect to the last response, in microseconds. @values (NULL, or @n
 * entries): each response's @header as an integer, -1 when absent. */
gint64 teaching_gateway_burst (TeachingGateway *tg, const char *path, guint n, int status,
                               const char *header, gint64 *values);

/* GET @path on the admin API: must be 200; returns its JSON. */
JsonNode *teaching_gateway_admin_get (TeachingGateway *tg, const char *path);
/* The same, the body as text. */
char *teaching_gateway_admin_text (TeachingGateway *tg, const char *path);

/* `portico check` on teaching_gateway_config() with @plugin as the one
 * global plugin: with @error_path NULL it must pass, else fail (exit 1)
 * with an error that names @error_path. */
void teaching_check_plugin (const char *plugin, const char *error_path);

G_END_DECLS
