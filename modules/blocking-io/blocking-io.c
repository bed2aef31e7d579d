/* blocking-io: a teaching module that makes each request wait by blocking
 * the worker's thread, as a module doing blocking I/O would. While it
 * sleeps, no other connection of that worker is read, answered or
 * accepted, and the worker's timers fire late (the loop lag in /status).
 * Compare latency, which waits as long without blocking. */
#include "pdk/portico.h"
#include "blocking-io-logic.h"

/* How long the worker was blocked for this request, in ms. */
#define BLOCKING_IO_HEADER "X-Portico-Blocking-IO-Waited"

static const char *const blocking_io_phases[] = { "access", "rewrite", NULL };

static const PorticoSchemaField blocking_io_schema[] = {
  { .name = "ms", .type = PORTICO_FIELD_INTEGER, .required = TRUE, .min = 0, .max = 60000,
    .description = "how long each request blocks the worker, in milliseconds" },
  { .name = "phase", .type = PORTICO_FIELD_STRING, .default_json = "\"access\"",
    .allowed = blocking_io_phases,
    .description = "the phase that blocks: access, or rewrite (global plugins only)" },
  { NULL },
};

static gpointer
blocking_io_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  return blocking_io_conf_new (config);
}

/* Both rewrite and access: the configured one blocks. */
static PorticoResult
blocking_io_handler (PorticoRequest *r, gpointer data)
{
  const BlockingIoConf *conf = data;
  if (portico_request_get_phase (r) != conf->phase)
    return PORTICO_CONTINUE;
  char value[16];
  g_snprintf (value, sizeof value, "%u", blocking_io_wait (conf));
  portico_response_set_header (r, BLOCKING_IO_HEADER, value);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "blocking-io",
  .version = "1.0.0",
  .priority = 1000,
  .schema = blocking_io_schema,
  .configure = blocking_io_configure,
  .free_config = g_free,
  .rewrite = blocking_io_handler,
  .access = blocking_io_handler,
};
