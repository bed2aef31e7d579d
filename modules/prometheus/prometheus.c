/* prometheus.c: Kong's prometheus plugin. In the log phase it adds the
 * request to counters and histograms in the node's shared dictionary
 * (portico_metric_add); the admin process renders them, with the node's own
 * figures, on GET /metrics. Which series exist, and their names, are
 * prometheus-logic.c's business.
 */
#include "pdk/portico.h"

#include "prometheus-logic.h"

/* Label sets (service, route) whose histograms this worker has filled
 * with every bucket; past this many, new ones get only the buckets they hit. */
#define PROMETHEUS_MAX_FILLED 4096

typedef struct {
  PrometheusOptions options;
  /* Per worker (each has its copy after the fork): "service\nroute" ->
   * PROMETHEUS_FILLED_* bits; NULL until the first histogram. */
  GHashTable *filled;
  gboolean warned;
} Prometheus;

static const PorticoSchemaField prometheus_schema[] = {
  { .name = "per_consumer", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Fill the consumer label of kong_http_requests_total and kong_bandwidth_bytes." },
  { .name = "status_code_metrics", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Count requests by status code: kong_http_requests_total." },
  { .name = "latency_metrics", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Latency histograms: kong_request_latency_ms, kong_upstream_latency_ms, kong_kong_latency_ms." },
  { .name = "bandwidth_metrics", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Bytes in and out: kong_bandwidth_bytes." },
  { .name = "upstream_health_metrics", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Accepted for Kong compatibility; there is no target health to report yet." },
  { NULL },
};

static gpointer
prometheus_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  Prometheus *p = g_new0 (Prometheus, 1);

  p->options.per_consumer = json_object_get_boolean_member (config, "per_consumer");
  p->options.status_code_metrics = json_object_get_boolean_member (config, "status_code_metrics");
  p->options.latency_metrics = json_object_get_boolean_member (config, "latency_metrics");
  p->options.bandwidth_metrics = json_object_get_boolean_member (config, "bandwidth_metrics");
  return p;
}

static void
prometheus_free_config (gpointer conf)
{
  Prometheus *p = conf;

  g_clear_pointer (&p->filled, g_hash_table_unref);
  g_free (p);
}

static gboolean
prometheus_emit (const char *type, const char *series, gint64 delta, gpointer data)
{
  return portico_metric_add (type, series, delta);
}

/* The PROMETHEUS_FILLED_* bits of this label set, or NULL when the worker
 * has stopped tracking new ones. */
static guint *
prometheus_filled (Prometheus *p, const char *service, const char *route)
{
  char key[512];

  if (p->filled == NULL)
    p->filled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if ((gsize) g_snprintf (key, sizeof key, "%s\n%s", service, route) >= sizeof key)
    return NULL;
  guint *bits = g_hash_table_lookup (p->filled, key);
  if (bits == NULL && g_hash_table_size (p->filled) < PROMETHEUS_MAX_FILLED)
    {
      bits = g_new0 (guint, 1);
      g_hash_table_insert (p->filled, g_strdup (key), bits);
    }
  return bits;
}

static PorticoResult
prometheus_log (PorticoRequest *r, gpointer conf)
{
  Prometheus *p = conf;
  const char *service = portico_request_get_service_name (r);

  /* Kong records nothing for a request that reached no service. */
  if (service == NULL)
    return PORTICO_CONTINUE;

  PorticoTimings t;
  portico_request_get_timings (r, &t);
  const PorticoConsumer *consumer = portico_request_get_consumer (r);
  const char *route = portico_request_get_route_name (r);
  PrometheusObservation obs = {
    .service = service,
    .route = route != NULL ? route : "",
    .consumer = consumer != NULL ? portico_consumer_get_id (consumer) : NULL,
    .status = portico_response_get_status (r),
    .from_service = t.upstream_us >= 0,
    .request_ms = t.request_us / 1000,
    .upstream_ms = t.upstream_us < 0 ? -1 : t.upstream_us / 1000,
    .kong_ms = t.gateway_us / 1000,
    .ingress_bytes = t.bytes_received,
    .egress_bytes = t.bytes_sent,
  };
  guint *filled = p->options.latency_metrics ? prometheus_filled (p, obs.service, obs.route) : NULL;

  if (prometheus_observe (&p->options, &obs, filled, prometheus_emit, NULL) > 0 && !p->warned)
    {
      /* Once per worker: the cause (a long name, a full dictionary) stays. */
      p->warned = TRUE;
      portico_log (r, G_LOG_LEVEL_WARNING,
                   "some series were not counted: longer than %d bytes (service \"%s\", route \"%s\") "
                   "or the shared dictionary is full",
                   PROMETHEUS_SERIES_MAX, obs.service, obs.route);
    }
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "prometheus",
  .version = "1.0.0",
  .priority = 13,
  .schema = prometheus_schema,
  .configure = prometheus_configure,
  .free_config = prometheus_free_config,
  .log = prometheus_log,
};
