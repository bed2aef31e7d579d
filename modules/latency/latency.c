/* latency: a teaching module that makes each request wait without blocking
 * the worker. The handler asks the core to call it again after the wait
 * (portico_request_yield_for) and returns PORTICO_YIELD; meanwhile the
 * worker's one thread serves every other connection. Compare blocking-io,
 * which waits as long by blocking that thread. */
#include "pdk/portico.h"
#include "latency-logic.h"

/* How long the request really waited, in ms, on the client's response. */
#define LATENCY_HEADER "X-Portico-Latency-Waited"

static const char *const latency_phases[] = { "access", "rewrite", NULL };

static const PorticoSchemaField latency_schema[] = {
  { .name = "ms", .type = PORTICO_FIELD_INTEGER, .required = TRUE, .min = 0, .max = 60000,
    .description = "how long each request waits, in milliseconds" },
  { .name = "phase", .type = PORTICO_FIELD_STRING, .default_json = "\"access\"",
    .allowed = latency_phases,
    .description = "the phase that waits: access, or rewrite (global plugins only)" },
  { .name = "jitter_ms", .type = PORTICO_FIELD_INTEGER, .default_json = "0", .min = 0, .max = 60000,
    .description = "up to this many more milliseconds, picked at random per request" },
  { NULL },
};

static gpointer
latency_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  return latency_conf_new (config);
}

/* Both rewrite and access: the configured one waits. */
static PorticoResult
latency_handler (PorticoRequest *r, gpointer data)
{
  const LatencyConf *conf = data;
  if (portico_request_get_phase (r) != conf->phase)
    return PORTICO_CONTINUE;

  LatencyWait *wait = portico_request_get_ctx (r);
  if (wait == NULL)
    {
      wait = portico_request_alloc (r, sizeof *wait);
      *wait = (LatencyWait){ 0 };
      portico_request_set_ctx (r, wait, NULL);
    }

  guint ms;
  guint32 random = conf->jitter_ms > 0 ? g_random_int () : 0; /* no lock taken without jitter */
  if (latency_step (wait, conf, g_get_monotonic_time (), random, &ms))
    return portico_request_yield_for (r, ms) ? PORTICO_YIELD : PORTICO_ERROR;

  char value[16];
  g_snprintf (value, sizeof value, "%u", ms);
  portico_response_set_header (r, LATENCY_HEADER, value);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "latency",
  .version = "1.0.0",
  .priority = 1000,
  .schema = latency_schema,
  .configure = latency_configure,
  .free_config = g_free,
  .rewrite = latency_handler,
  .access = latency_handler,
};
