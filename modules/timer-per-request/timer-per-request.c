/* timer-per-request: a teaching module that does what Kong once did for
 * health checks: every request starts its own recurring timer on the
 * worker. Each timer does a little work (it counts a check in /metrics),
 * lives lifetime_ms, then ends itself. Under traffic they pile up:
 * requests per second x lifetime pending timers per worker, each run
 * taking the worker's thread from its connections. /timers shows the pile
 * under this module's name. The fix is one timer per worker (init_worker),
 * not one per request. */
#include "pdk/portico.h"
#include "timer-per-request-logic.h"

/* Not "portico_...": /metrics keeps that prefix for the core's own families. */
#define CHECKS_METRIC "timer_per_request_checks_total"

static const PorticoSchemaField timer_per_request_schema[] = {
  { .name = "interval_ms", .type = PORTICO_FIELD_INTEGER, .default_json = "1000", .min = 1, .max = 3600000,
    .description = "how often each request's timer runs, in milliseconds" },
  { .name = "lifetime_ms", .type = PORTICO_FIELD_INTEGER, .default_json = "60000", .min = 1,
    .max = 86400000, .description = "how long each request's timer lives, in milliseconds" },
  { NULL },
};

static gpointer
timer_per_request_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  return timer_per_request_conf_new (config, error);
}

static gboolean
timer_per_request_tick (gpointer data)
{
  const TimerPerRequestCheck *check = data;
  /* The "health check": small, but it runs once per pending timer. */
  portico_metric_add ("counter", CHECKS_METRIC, 1);
  return timer_per_request_check_again (check, g_get_monotonic_time ());
}

static PorticoResult
timer_per_request_access (PorticoRequest *r, gpointer conf)
{
  const TimerPerRequestConf *c = conf;
  /* Outlives the request, so not portico_request_alloc: the timer frees it. */
  TimerPerRequestCheck *check = g_new (TimerPerRequestCheck, 1);
  timer_per_request_check_init (check, c, g_get_monotonic_time ());
  /* At the worker's cap the core refuses (and logs) the timer; the request
   * itself goes on, its health check is what is lost. portico.h does not
   * say who frees @check then, so it is not freed here: a leak at the cap
   * beats a double free. */
  portico_timer_add ("health-check", c->interval_ms, c->interval_ms, timer_per_request_tick, check, g_free);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "timer-per-request",
  .version = "1.0.0",
  .priority = 1000,
  .schema = timer_per_request_schema,
  .configure = timer_per_request_configure,
  .free_config = g_free,
  .access = timer_per_request_access,
};
