/* prometheus-logic.h: which series the prometheus module adds to for one
 * request, and how a series is spelt (label values escaped), without a
 * request or a shared dictionary, so its unit test can check every name.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest series portico_metric_add takes. */
#define PROMETHEUS_SERIES_MAX 150

/* A series being spelt into a fixed buffer: name{k="v",...}. Too long a
 * series is noticed, not cut: prometheus_series_end() returns NULL. */
typedef struct {
  char text[PROMETHEUS_SERIES_MAX + 1];
  gsize len;
  guint labels;
  gboolean overflow;
} PrometheusSeries;

void prometheus_series_start (PrometheusSeries *s, const char *name);
/* Adds key="value" with backslash, double quote and newline escaped, as
 * the exposition format asks. */
void prometheus_series_label (PrometheusSeries *s, const char *key, const char *value);
/* The series, or NULL when it does not fit in PROMETHEUS_SERIES_MAX. */
const char *prometheus_series_end (PrometheusSeries *s);

/* Kong 3's bucket bounds in ms: kong_kong_latency_ms uses the first, the
 * request and upstream latency histograms the second. */
extern const gint64 prometheus_kong_buckets[];
extern const guint prometheus_n_kong_buckets;
extern const gint64 prometheus_upstream_buckets[];
extern const guint prometheus_n_upstream_buckets;

/* The index of the first bound @value_ms is at or under; @n (the +Inf
 * bucket) when it is over all of them. */
guint prometheus_bucket_index (const gint64 *bounds, guint n, gint64 value_ms);

typedef struct {
  gboolean per_consumer;
  gboolean status_code_metrics;
  gboolean latency_metrics;
  gboolean bandwidth_metrics;
} PrometheusOptions;

/* What one request contributes. */
typedef struct {
  const char *service;   /* NULL: nothing is recorded (Kong's rule) */
  const char *route;     /* NULL: "" */
  const char *consumer;  /* NULL: none */
  int status;
  gboolean from_service; /* the response came from the upstream: source="service", else "kong" */
  gint64 request_ms;
  gint64 upstream_ms;    /* -1: no upstream */
  gint64 kong_ms;
  guint64 ingress_bytes;
  guint64 egress_bytes;
} PrometheusObservation;

/* Receives each addition; @type is "counter" or "histogram" (the PDK's
 * portico_metric_add has this shape). Returns FALSE when it failed. */
typedef gboolean (*PrometheusEmit) (const char *type, const char *series, gint64 delta, gpointer data);

/* Adds @obs to the series the options turn on:
 *   kong_http_requests_total{service,route,code,source,consumer}
 *   kong_request_latency_ms, kong_upstream_latency_ms, kong_kong_latency_ms
 *     _bucket{service,route,le} (the one bucket the value falls in: not
 *     cumulative, the admin side adds them up), _sum, _count
 *   kong_bandwidth_bytes{service,route,direction,consumer}
 * @filled (may be NULL) holds PROMETHEUS_FILLED_* bits for the label set
 * (service, route): a histogram whose bit is clear gets every one of its
 * buckets emitted (0 for the others) and its bit set, so each label set
 * shows all of Kong's bounds from its first observation on. Returns how
 * many emits failed or were too long. */
enum {
  PROMETHEUS_FILLED_REQUEST = 1 << 0,
  PROMETHEUS_FILLED_UPSTREAM = 1 << 1,
  PROMETHEUS_FILLED_KONG = 1 << 2,
};
guint prometheus_observe (const PrometheusOptions *options, const PrometheusObservation *obs, guint *filled,
                          PrometheusEmit emit, gpointer data);

G_END_DECLS
